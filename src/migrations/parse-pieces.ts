import { GuardError } from '../errors.js';
import { psqlFeatureError } from './psql-features.js';
import type { ParseResult, PgParseError, PgParser } from './parser.js';
import type { SourceText } from './source-text.js';
import { MAX_STATEMENT_BYTES, PIECE_BYTES, sqlPieces, type Piece } from './sql-pieces.js';

/** One statement as libpg-query reports it, with offsets from the start of the parsed range. */
export interface RawStatement {
  stmt: Record<string, unknown>;
  stmt_location?: number;
  /** Absent (or 0) for a last statement without `;`: it runs to the end of the range. */
  stmt_len?: number;
  /** Byte offset in the file that the `location` fields inside `stmt` count from (the parsed piece's start). */
  nodeBase?: number;
}

/**
 * Parses bytes start..end of `source` as `parser.parseSync` would parse them whole, but piece by
 * piece (sql-pieces.ts): the parser is handed one piece at a time (~16 KB, or one statement up to
 * MAX_STATEMENT_BYTES), and each piece's syntax tree is dropped once its statements are consumed,
 * so memory stays bounded whatever the file's size. Offsets are shifted to be relative to `start`,
 * exactly as a whole parse gives them.
 *
 * Errors are GuardErrors naming file:line:column: a syntax error as the whole parse reports it,
 * a statement too large to parse, or (above that size) a quote or comment that never closes.
 */
export function parseInPieces(
  parser: PgParser,
  source: SourceText,
  start: number,
  end: number,
  file: string,
  /** Piece size (tests use tiny pieces to cut at every boundary). */
  pieceBytes = PIECE_BYTES,
): { stmts: Iterable<RawStatement> } {
  // Where the statements handed out so far end (a fallback parses the rest of the range at once).
  let parsedTo = start;
  return { stmts: statements() };

  function* statements(): Generator<RawStatement> {
    for (const piece of parser.knownPieces?.(start, end) ?? piecesOf(source, start, end, pieceBytes)) {
      if (piece.start < parsedTo) continue;
      if (piece.firstToken < 0 && !piece.unclosed) continue; // whitespace and (closed) comments only
      yield* parsePiece(piece);
    }
  }

  function parseBytes(from: number, to: number): ParseResult {
    return parser.parseRange ? parser.parseRange(source, from, to) : parser.parseSync(source.slice(from, to));
  }

  function parsePiece(piece: Piece): RawStatement[] {
    refuseOversized(piece);
    let parsed;
    try {
      parsed = parseBytes(piece.start, piece.end);
    } catch (error) {
      // The lexer cut where it was sure; should it have been wrong, the rest of the file parsed
      // whole (as before pieces existed) is the reference, when it is small enough to parse.
      if (piece.end === end || end - piece.start > MAX_STATEMENT_BYTES) {
        throw syntaxError(error, piece.start, piece.end);
      }
      try {
        parsed = parseBytes(piece.start, end);
      } catch (wholeError) {
        throw syntaxError(wholeError, piece.start, end);
      }
      piece = { ...piece, end };
    }
    parsedTo = piece.end;
    const shift = piece.start - start;
    return (parsed.stmts ?? []).map((raw) => {
      const location = raw.stmt_location ?? 0;
      // Only the range's very last statement may run to its end without a length.
      const length = raw.stmt_len || (piece.end === end ? undefined : piece.end - piece.start - location);
      return { stmt: raw.stmt, stmt_location: shift + location, stmt_len: length, nodeBase: piece.start };
    });
  }

  function refuseOversized(piece: Piece): void {
    const size = piece.end - piece.start;
    if (size <= MAX_STATEMENT_BYTES) return;
    if (piece.unclosed) {
      // What the parser would report, found without handing it the rest of the file.
      throw new GuardError(
        'parse-error',
        `SQL syntax error: ${piece.unclosed.what} opened here is never closed: the rest of the file (${megabytes(end - piece.unclosed.at)}) would be part of it`,
        {
          location: { file, ...source.position(piece.unclosed.at) },
          hint: 'Close it; nothing has been run.',
        },
      );
    }
    throw new GuardError(
      'too-large',
      `Statement of ${megabytes(size)} is larger than the ${megabytes(MAX_STATEMENT_BYTES)} a single statement may have: the SQL parser needs about 65 times a statement's size in memory to split and classify it`,
      {
        location: { file, ...source.position(piece.firstToken < 0 ? piece.start : piece.firstToken) },
        hint:
          'Split it into smaller statements (for example INSERTs of fewer rows each; a file may hold any number of them), ' +
          'or load the data outside the migration (COPY, psql). Nothing has been run.',
      },
    );
  }

  function syntaxError(error: unknown, from: number, to: number): GuardError {
    const details = (error as PgParseError).sqlDetails;
    if (!details) {
      // Not a syntax error (the parser itself failed): say so rather than blame the SQL.
      return new GuardError(
        'parse-error',
        `The SQL parser failed on the ${megabytes(to - from)} of SQL starting here: ${(error as Error).message}`,
        {
          location: { file, ...source.position(from) },
          hint: 'This is not known to be an error in the file: split the file and report the problem. Nothing has been run.',
          cause: error,
        },
      );
    }
    // cursorPosition counts characters (code points) from the start of the text parsed.
    const at = source.byteOffsetOfChar(from, details.cursorPosition, to);
    // Where the parser stopped at a psql meta-command (or the data of a COPY … FROM stdin), say so.
    const psqlFeature = psqlFeatureError(parser, source, start, at, file);
    if (psqlFeature) return psqlFeature;
    return new GuardError('parse-error', `SQL syntax error: ${(error as Error).message}`, {
      location: { file, ...source.position(at) },
      hint: 'Fix the statement at this position; nothing has been run.',
      cause: error,
    });
  }
}

/**
 * The pieces of bytes start..end. A range under the piece size is one piece whatever it holds (the
 * lexer would cut nowhere before its end), so it goes to the parser whole without being lexed:
 * most migration files are that small.
 */
export function piecesOf(
  source: SourceText,
  start: number,
  end: number,
  pieceBytes = PIECE_BYTES,
): Iterable<Piece> {
  if (end <= start) return []; // the parser refuses empty text
  if (end - start < pieceBytes) return [{ start, end, firstToken: start, statements: 1 }];
  return sqlPieces(source.bytes, start, end, pieceBytes);
}

function megabytes(bytes: number): string {
  const mb = bytes / (1024 * 1024);
  return `${mb >= 10 ? Math.round(mb) : Math.round(mb * 10) / 10} MB`;
}
