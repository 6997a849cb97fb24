import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * What loading libpg-query's WASM module needs first (byte-parser.ts, on the main thread and in
 * the lint worker).
 */

/**
 * V8 compiles WebAssembly with its baseline compiler first and recompiles hot functions with its
 * optimising one in the background. The parser's state machine is one huge function: optimising
 * it takes a core for ~1.8 s (on this project's 2-core machine), far longer than a run parses,
 * so it never pays off; it only takes the CPU from the database server beside us, and Node 24
 * waits for it to finish before the process can exit (+1 s on every apply). These flags are read
 * when a module is compiled, so setting them before the parser's first (and only) compilation is
 * enough; the V8 flags of anything else are untouched. Measured with 500 files: the same parse
 * time, exit right after the work instead of ~1 s later. They stay set (tiering is also decided
 * while the parser runs); the bundle's code cache sets them back at exit (V8_FLAGS_AT_START in
 * src/startup/compile-cache.ts).
 */
export const BASELINE_WASM_FLAGS = ['--no-wasm-tier-up', '--no-wasm-dynamic-tiering'] as const;

/** The folder of the bundle's copy of the parser's WASM: the CLI bundle sits in dist/cli/ and shares the action's in dist/. */
function wasmDir(): string | undefined {
  const here = dirname(fileURLToPath(import.meta.url));
  return [here, dirname(here)].find((dir) => existsSync(join(dir, 'libpg-query.wasm')));
}

async function keepWasmOnBaselineTier(): Promise<void> {
  // Imported here: node:v8 costs ~1.5 ms to load, and most runs never parse.
  const { setFlagsFromString } = await import('node:v8');
  for (const flag of BASELINE_WASM_FLAGS) setFlagsFromString(flag);
}

/**
 * Sets V8's WASM flags (above) and, inside the ncc bundle, where the module's loader looks for
 * its .wasm: beside `__dirname`, which ESM lacks, so it is pointed at the bundle's folder when the
 * build copied the file there. Returns that folder.
 */
export async function prepareWasmLoad(): Promise<string | undefined> {
  const dir = wasmDir();
  if (dir) (globalThis as { __dirname?: string }).__dirname = dir;
  await keepWasmOnBaselineTier();
  return dir;
}
