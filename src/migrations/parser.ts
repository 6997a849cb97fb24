import type { SourceText } from './source-text.js';
import type { Piece } from './sql-pieces.js';

export interface ParseResult {
  stmts?: Array<{ stmt: Record<string, unknown>; stmt_location?: number; stmt_len?: number }>;
}

/** The subset of libpg-query we use. */
export interface PgParser {
  parseSync(sql: string): ParseResult;
  /**
   * Parses bytes start..end of `source`, as `parseSync(source.slice(start, end))` would, without
   * decoding the text: the parser itself (loadParser) hands the bytes over as they are; the
   * linter's replay of its parse worker (parse-ahead.ts) knows the parse by its place.
   */
  parseRange?(source: SourceText, start: number, end: number): ParseResult;
  /**
   * The pieces (sql-pieces.ts) of bytes start..end, when they were cut already: the linter's
   * parse worker hands the main thread the pieces it cut along with their parses (parse-ahead.ts).
   */
  knownPieces?(start: number, end: number): Iterable<Piece> | undefined;
}

export interface PgParseError extends Error {
  sqlDetails?: { cursorPosition: number; message: string };
}

let loading: Promise<PgParser> | undefined;

/**
 * Loads the PostgreSQL parser (WASM) on first use only: status and no-op runs never pay for it.
 * It answers as libpg-query's `parseSync` does, through the module's byte interface
 * (byte-parser.ts): a piece of a file is handed over as its bytes, never decoded into a string
 * and encoded again.
 */
export function loadParser(): Promise<PgParser> {
  loading ??= (async () => {
    const { loadBytesParser } = await import('./byte-parser.js');
    const bytes = await loadBytesParser();
    const parse = (sql: Uint8Array) => JSON.parse(bytes.parseToJson(sql)) as ParseResult;
    return {
      parseSync(sql) {
        // As libpg-query's parseSync: an empty text is refused, not parsed.
        if (sql === '') throw new Error('Query cannot be empty');
        return parse(Buffer.from(sql, 'utf8'));
      },
      parseRange: (source, start, end) => parse(source.bytes.subarray(start, end)),
    };
  })();
  return loading;
}
