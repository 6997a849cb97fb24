import { GuardError } from '../errors.js';
import type { PgParser } from './parser.js';
import type { SourceText } from './source-text.js';

/**
 * Scripts written for psql may use what only psql understands: meta-commands (`\i`, `\set`,
 * `\connect`, …) and the data lines of `COPY … FROM stdin`. The server never sees those, and
 * neither does this tool, which sends SQL statements only: say so at their line instead of
 * reporting a syntax error (or, for a COPY, hanging on input that never comes).
 */

const NOTHING_RUN = 'Nothing has been run.';

/** `COPY … FROM stdin` (or `pstdin`): the server would wait for rows that only psql can send. */
export function isCopyFromStdin(nodeType: string, node: Record<string, unknown>): boolean {
  return nodeType === 'CopyStmt' && node.is_from === true && node.filename === undefined && !node.is_program;
}

export function copyFromStdinError(file: string, at: { line: number; column: number }): GuardError {
  return new GuardError(
    'parse-error',
    'COPY … FROM stdin reads its rows from psql (the data lines after the statement); this tool runs SQL statements only and has no such input',
    {
      location: { file, ...at },
      hint: `Write the rows as INSERT statements (pg_dump --inserts produces them), or load the data in a step of its own outside the migration. ${NOTHING_RUN}`,
    },
  );
}

/**
 * After the parser stopped at `errorByte`: the psql feature that made it stop, as an error
 * naming its line, or undefined for an ordinary syntax error. The parser's position is where the
 * text stopped being SQL, so nothing inside a string or a dollar-quoted body is ever mistaken for
 * a meta-command.
 */
export function psqlFeatureError(
  parser: PgParser,
  source: SourceText,
  start: number,
  errorByte: number,
  file: string,
): GuardError | undefined {
  // Rows after a COPY … FROM stdin can look like anything, a `\N` (NULL) or the closing `\.`
  // included: the COPY comes first.
  const copy = copyFromStdinBefore(parser, source, start, errorByte);
  if (copy !== undefined) return copyFromStdinError(file, source.position(copy));
  if (source.bytes[errorByte] !== 0x5c) return undefined;
  const command = /^\\([A-Za-z_]+|\S)?/.exec(source.slice(errorByte, errorByte + 64))?.[1] ?? '';
  const { message, hint } = describeMetaCommand(command);
  return new GuardError('parse-error', message, {
    location: { file, ...source.position(errorByte) },
    hint: `${hint} ${NOTHING_RUN}`,
  });
}

function describeMetaCommand(command: string): { message: string; hint: string } {
  const name = `\\${command}`;
  const only = 'this tool runs SQL statements only, not psql meta-commands';
  switch (command) {
    case 'i':
    case 'ir':
    case 'include':
    case 'include_relative':
      return {
        message: `${name} includes another file in psql; ${only}`,
        hint: "Inline the included file's statements here, or make that file a migration of its own.",
      };
    case 'set':
    case 'unset':
      return {
        message: `${name} sets a psql variable; ${only}, and :variables are never substituted`,
        hint: `Write the value into the SQL where the variable is used, and remove the ${name} line.`,
      };
    case 'c':
    case 'connect':
      return {
        message: `${name} connects psql to another database; ${only}, and a migration runs on the one database the run targets`,
        hint: 'Remove it; migrate another database with a run of its own (its own database-url).',
      };
    case 'copy':
      return {
        message: `${name} copies data through psql; ${only}`,
        hint: 'Write the rows as INSERT statements.',
      };
    case '.':
      return {
        message: `\\. ends the data of a COPY … FROM stdin in psql; ${only}`,
        hint: 'Write the rows as INSERT statements instead of COPY data.',
      };
    default:
      return {
        message: `${name} is a psql meta-command; ${only}`,
        hint: `Remove it, or do in SQL what ${name} does.`,
      };
  }
}

/** Lines to step back from the error while looking for the statement the COPY data follows. */
const COPY_SEARCH_LINES = 8;

/**
 * The byte offset of a `COPY … FROM stdin` whose data lines the parser stopped in, if any. Every
 * statement before the data parses, so the text up to the line where parsing failed (or a line
 * or so before it, when the data happened to continue a statement) parses and ends with it.
 */
function copyFromStdinBefore(
  parser: PgParser,
  source: SourceText,
  start: number,
  errorByte: number,
): number | undefined {
  const before = source.slice(start, errorByte);
  // Most syntax errors have no COPY before them: they cost no second parse.
  if (!/\bcopy\b/i.test(before) || !/\bp?stdin\b/i.test(before)) return undefined;
  let cut = lineStart(source, errorByte);
  for (let tries = 0; tries < COPY_SEARCH_LINES && cut > start; tries++) {
    const text = source.slice(start, cut);
    if (text.trim() === '') return undefined;
    let stmts;
    try {
      stmts = parser.parseSync(text).stmts ?? [];
    } catch {
      cut = lineStart(source, cut - 1);
      continue;
    }
    for (const raw of stmts) {
      const [nodeType, node] = Object.entries(raw.stmt)[0] as [string, Record<string, unknown>];
      if (isCopyFromStdin(nodeType, node)) return start + (raw.stmt_location ?? 0);
    }
    return undefined;
  }
  return undefined;
}

function lineStart(source: SourceText, byteOffset: number): number {
  return byteOffset <= 0 ? 0 : source.bytes.lastIndexOf(0x0a, byteOffset - 1) + 1;
}
