import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SourceText } from './source-text.js';
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

/**
 * Loads the PostgreSQL parser (WASM) on first use only: status and no-op runs never pay for it.
 * Inside the ncc bundle the library looks for its .wasm beside `__dirname`, which ESM lacks,
 * so point it at the bundle's folder when the build copied the file there.
 */
export function loadParser(): Promise<PgParser> {
  loading ??= (async () => {
    const bundleDir = wasmDir();
    if (bundleDir) (globalThis as { __dirname?: string }).__dirname = bundleDir;
    await keepWasmOnBaselineTier();
    const lib = await import('libpg-query');
    await lib.loadModule();
    return lib as unknown as PgParser;
  })();
  return loading;
}

/**
 * V8 compiles WebAssembly with its baseline compiler first and recompiles hot functions with its
 * optimising one in the background. The parser's state machine is one huge function: optimising
 * it takes a core for ~1.8 s (on this project's 2-core machine), far longer than a run parses,
 * so it never pays off; it only takes the CPU from the database server beside us, and Node 24
 * waits for it to finish before the process can exit (+1 s on every apply). These flags are read
 * when a module is compiled, so setting them before the parser's first (and only) compilation is
 * enough; the V8 flags of anything else are untouched. Measured with 500 files: the same parse
 * time, exit right after the work instead of ~1 s later.
 */
const BASELINE_WASM_FLAGS = ['--no-wasm-tier-up', '--no-wasm-dynamic-tiering'] as const;

/** The folder of the bundle's copy of the parser's WASM: the CLI bundle sits in dist/cli/ and shares the action's in dist/. */
export function wasmDir(): string | undefined {
  const here = dirname(fileURLToPath(import.meta.url));
  return [here, dirname(here)].find((dir) => existsSync(join(dir, 'libpg-query.wasm')));
}

export async function keepWasmOnBaselineTier(): Promise<void> {
  // Imported here: node:v8 costs ~1.5 ms to load, and most runs never parse.
  const { setFlagsFromString } = await import('node:v8');
  for (const flag of BASELINE_WASM_FLAGS) setFlagsFromString(flag);
}
