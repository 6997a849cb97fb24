import type { SourceText } from './source-text.js';
import { prepareWasmLoad } from './wasm-load.js';
import type { Piece } from './sql-pieces.js';

export interface ParseResult {
  stmts?: Array<{ stmt: Record<string, unknown>; stmt_location?: number; stmt_len?: number }>;
}

/** The subset of libpg-query we use. */
export interface PgParser {
  parseSync(sql: string): ParseResult;
  /**
   * Parses bytes start..end of `source`, as `parseSync(source.slice(start, end))` would. Given by
   * the linter's replay of its parse worker (parse-ahead.ts), which knows the parse by its place
   * and so need not decode the text; absent on the parser itself.
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

/** Loads the PostgreSQL parser (WASM) on first use only: status and no-op runs never pay for it. */
export function loadParser(): Promise<PgParser> {
  loading ??= (async () => {
    await prepareWasmLoad();
    const lib = await import('libpg-query');
    await lib.loadModule();
    return lib as unknown as PgParser;
  })();
  return loading;
}
