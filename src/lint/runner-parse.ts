import { GuardError } from '../errors.js';
import type { Migration } from '../migrations/discover.js';
import type { PgParser } from '../migrations/parser.js';
import type { SourceText } from '../migrations/source-text.js';
import { classifiedStatements, type ParsedStatement } from '../migrations/statements.js';

/** What stopped the parser, as the linter reports it instead of throwing. */
export interface ParseProblem {
  kind: 'psql' | 'syntax';
  message: string;
  line: number;
  column: number;
}

/**
 * The up migration's statements, with their nodes. Where the parser stops, the problem is handed
 * to `onProblem` (with the splitter's own message and position) instead of thrown. After a psql
 * meta-command (a line of its own) or the data lines of a `COPY … FROM stdin` (up to `\.`), the
 * rest of the file is still linted; after a syntax error nothing more can be trusted, so linting
 * the file stops there.
 */
export function* parsedStatementsOf(
  parser: PgParser,
  migration: Migration,
  onProblem: (problem: ParseProblem) => void,
): Generator<ParsedStatement> {
  const { source, start, end } = migration.up;
  const file = migration.path;
  let from = start;
  let to = end;
  // Once the text before a parse problem has been linted: where to go on, or stop (syntax error).
  let after: number | 'stop' | undefined;
  // The last statement handed out: where it ends is needed only when a problem follows it.
  let last: ParsedStatement['statement'] | undefined;
  while (from < end) {
    try {
      for (const parsed of classifiedStatements(parser, source, from, to, file)) {
        yield parsed;
        last = parsed.statement;
      }
      if (after === undefined || after === 'stop') return;
      [from, to, after, last] = [after, end, undefined, undefined];
    } catch (error) {
      if (last) [from, last] = [last.startByte + Buffer.byteLength(last.sql, 'utf8'), undefined];
      if (!(error instanceof GuardError) || error.location?.line === undefined) throw error;
      // The text before a problem is linted on its own; if it does not parse either (the problem
      // sits inside a statement), its statements are given up rather than reported twice.
      if (after !== undefined) {
        if (after === 'stop') return;
        [from, to, after] = [after, end, undefined];
        continue;
      }
      const { line, column = 1 } = error.location;
      const at = byteOf(source, line, column);
      const psql = psqlFeature(source, error, at, to);
      onProblem({ kind: psql ? 'psql' : 'syntax', message: oneLine(error), line, column });
      // The statements of the piece the problem sat in never reached the rules: lint the text up to it.
      to = psql ? lineStart(source, at) : lastSemicolon(source, from, at);
      after = psql ? psql.resume : 'stop';
      if (to <= from) {
        if (after === 'stop') return;
        [from, to, after] = [after, end, undefined];
      }
    }
  }
}

/** Just after the last `;` before `at` (a guess at where the broken statement starts), or `from`. */
function lastSemicolon(source: SourceText, from: number, at: number): number {
  const semicolon = source.bytes.lastIndexOf(0x3b, at - 1);
  return semicolon < from ? from : semicolon + 1;
}

/** The splitter's message with its hint, on one line. */
function oneLine(error: GuardError): string {
  const hint = error.hint?.replace(/\s*Nothing has been run\.\s*$/, '');
  return `${error.message}${hint ? `: ${hint}` : ''}`.replace(/\s*\n\s*/g, ' ');
}

/** Where linting can go on after a psql feature at `at`, or undefined when it is not one. */
function psqlFeature(
  source: SourceText,
  error: GuardError,
  at: number,
  end: number,
): { resume: number } | undefined {
  if (source.bytes[at] === 0x5c) return { resume: nextLine(source, at, end) };
  if (!/COPY … FROM stdin/.test(error.message)) return undefined;
  // The data runs to a line holding only `\.`; without one, the rest of the file is data.
  const text = source.slice(at, end);
  const terminator = /^\\\.[ \t]*\r?$/m.exec(text);
  if (!terminator) return { resume: end };
  return { resume: nextLine(source, at + Buffer.byteLength(text.slice(0, terminator.index), 'utf8'), end) };
}

function lineStart(source: SourceText, byte: number): number {
  return byte <= 0 ? 0 : source.bytes.lastIndexOf(0x0a, byte - 1) + 1;
}

function nextLine(source: SourceText, byte: number, end: number): number {
  const newline = source.bytes.indexOf(0x0a, byte);
  return newline === -1 || newline >= end ? end : newline + 1;
}

/** Byte offset of a 1-based line and (code point) column. */
function byteOf(source: SourceText, line: number, column: number): number {
  let offset = 0;
  for (let l = 1; l < line; l++) {
    const newline = source.bytes.indexOf(0x0a, offset);
    if (newline === -1) break;
    offset = newline + 1;
  }
  return source.byteOffsetOfChar(offset, column - 1);
}
