import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The subset of libpg-query we use. */
export interface PgParser {
  parseSync(sql: string): {
    stmts?: Array<{ stmt: Record<string, unknown>; stmt_location?: number; stmt_len?: number }>;
  };
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
    const here = dirname(fileURLToPath(import.meta.url));
    // The CLI bundle sits in dist/cli/ and shares the action's copy in dist/.
    const bundleDir = [here, dirname(here)].find((dir) => existsSync(join(dir, 'libpg-query.wasm')));
    if (bundleDir) (globalThis as { __dirname?: string }).__dirname = bundleDir;
    const lib = await import('libpg-query');
    await lib.loadModule();
    return lib as unknown as PgParser;
  })();
  return loading;
}
