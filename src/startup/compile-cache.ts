import { createRequire } from 'node:module';
import { dirname, isAbsolute, join } from 'node:path';

// Node's fs through require: an ESM import of node:fs builds its namespace, whose getters load
// fs/promises and readline (~1.5 ms of every run, before anything else).
const require = createRequire(import.meta.url);
const { lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } =
  require('node:fs') as typeof import('node:fs');
const { homedir } = require('node:os') as typeof import('node:os');

/**
 * Node's compile cache (node:module `enableCompileCache`, Node 22.1 and later) keeps the V8 code
 * of the bundle it compiled on disk, so that the next run on the same machine loads that code
 * instead of compiling the 1.2 MB bundle again: ~10 ms of a ~110 ms run with nothing to do (the
 * CLI, self-hosted runners; a fresh GitHub-hosted runner compiles once per job). Whoever can write
 * the cache can make us run their code, so it lives only in a directory that is ours alone.
 */
export const CACHE_SWITCH = 'MIGRATION_GUARD_COMPILE_CACHE';

export interface CompileCacheApi {
  enableCompileCache?: (dir: string) => { status: number; directory?: string; message?: string };
  constants?: { compileCacheStatus?: Record<string, number> };
}

export type CompileCacheOutcome = { enabled: string } | { skipped: string };

/**
 * The cache's directory: `MIGRATION_GUARD_COMPILE_CACHE` when it names an absolute path, else
 * `$XDG_CACHE_HOME/supabase-migration-guard/compile-cache` (`~/.cache/…`); undefined when turned
 * off (`off`, `false` or `0`).
 */
export function compileCacheDir(env: NodeJS.ProcessEnv, home: string): string | undefined {
  const setting = env[CACHE_SWITCH]?.trim();
  if (setting && /^(off|false|0)$/i.test(setting)) return undefined;
  if (setting && isAbsolute(setting)) return setting;
  const cacheHome =
    env.XDG_CACHE_HOME && isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : join(home, '.cache');
  return join(cacheHome, 'supabase-migration-guard', 'compile-cache');
}

/**
 * Turns the compile cache on for everything loaded after this call. The entries (dist/index.js,
 * dist/cli.js) are this file, transpiled, plus a call to this function and the import of their
 * bundle (scripts/build.mjs): one file, as each module Node resolves before the bundle costs
 * ~1.5 ms. Never throws: a cache that cannot be used safely only costs the compile it would have
 * saved. A relative MIGRATION_GUARD_COMPILE_CACHE is not a place: the default folder is used.
 */
export function enableCompileCache(
  api: CompileCacheApi = require('node:module') as CompileCacheApi,
  env: NodeJS.ProcessEnv = process.env,
  home: string = safeHome(),
): CompileCacheOutcome {
  if (typeof api.enableCompileCache !== 'function') return { skipped: 'this Node.js has no compile cache' };
  const dir = compileCacheDir(env, home);
  if (!dir) return { skipped: `${CACHE_SWITCH} turns it off` };
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const unsafe = unsafeDirectory(dir);
    if (unsafe) return { skipped: `${dir} ${unsafe}` };
    const result = api.enableCompileCache(dir);
    const failed = api.constants?.compileCacheStatus?.FAILED;
    if (result.status === failed) return { skipped: result.message ?? 'Node.js could not use it' };
    return { enabled: result.directory ?? dir };
  } catch (error) {
    return { skipped: (error as Error).message };
  }
}

/**
 * Why `dir` is not safe to load compiled code from, if it is not: a real directory, ours, that
 * nobody else can write, in a parent where nobody else can swap it (theirs or root's, not writable
 * by others unless sticky, as /tmp). Windows has no such mode bits: only the type is checked there.
 */
function unsafeDirectory(dir: string): string | undefined {
  const stats = lstatSync(dir);
  if (stats.isSymbolicLink()) return 'is a symbolic link';
  if (!stats.isDirectory()) return 'is not a directory';
  const uid = process.getuid?.();
  if (uid === undefined || process.platform === 'win32') return undefined;
  if (stats.uid !== uid) return `belongs to user ${stats.uid}, not to this user (${uid})`;
  if ((stats.mode & 0o022) !== 0)
    return `can be written by others (mode ${(stats.mode & 0o777).toString(8)})`;
  const parent = lstatSync(dirname(dir));
  if (parent.uid !== uid && parent.uid !== 0) return `is in a folder of user ${parent.uid}`;
  if ((parent.mode & 0o022) !== 0 && (parent.mode & 0o1000) === 0)
    return `is in a folder others can write (mode ${(parent.mode & 0o777).toString(8)})`;
  return undefined;
}

function safeHome(): string {
  try {
    return homedir();
  } catch {
    return '/nonexistent';
  }
}

/**
 * Runs a bundle (dist/action/index.js, dist/cli/index.js) with its code cache. scripts/build.mjs
 * makes each bundle a script holding one async function, so that it can be compiled as a
 * vm.Script: V8 then writes a code cache after the run, holding every function the run compiled.
 * Node's compile cache (above) writes one as soon as a module is compiled, before it runs: only
 * the top-level code is in it, and every function a run calls is compiled again on every run
 * (~8 ms of a ~83 ms run with nothing to do). The cache is kept beside Node's, under the same
 * checks, in a file named after the bundle's sha256 (V8 itself only compares the source's length)
 * and the Node.js version; it is written once, by the first run that finds none (or one V8
 * refuses), when that run exits. The chunks a bundle loads on demand stay modules: the function
 * imports them through `importChunk`, from this module.
 */
export async function runBundle(
  bundle: URL,
  env: NodeJS.ProcessEnv = process.env,
  home: string = safeHome(),
): Promise<void> {
  const { Script } = require('node:vm') as typeof import('node:vm');
  const file = fileOf(bundle);
  const bytes = readFileSync(file);
  const cacheFile = bundleCacheFile(bytes, env, home);
  let cachedData: Buffer | undefined;
  try {
    if (cacheFile) cachedData = readFileSync(cacheFile);
  } catch {
    // none yet (or unreadable): this run writes it
  }
  const script = new Script(bytes.toString('utf8'), { filename: file, cachedData });
  if (cacheFile && (!cachedData || script.cachedDataRejected)) {
    process.once('exit', () => saveBundleCache(cacheFile, script));
  }
  const start = script.runInThisContext() as BundleFunction;
  await start(require, bundle.href, importChunk);
}

/** The function a bundle's script evaluates to (scripts/build.mjs writes its head). */
type BundleFunction = (
  require: NodeJS.Require,
  url: string,
  importChunk: (url: string) => Promise<unknown>,
) => Promise<void>;

const importChunk = (url: string) => import(url);

function fileOf(url: URL): string {
  const { fileURLToPath } = require('node:url') as typeof import('node:url');
  return fileURLToPath(url);
}

/** Where the bundle's code cache is (undefined when the cache is off or its folder is not safe). */
export function bundleCacheFile(source: Buffer, env: NodeJS.ProcessEnv, home: string): string | undefined {
  const dir = compileCacheDir(env, home);
  if (!dir) return undefined;
  try {
    const bundles = join(dir, 'bundles');
    mkdirSync(bundles, { recursive: true, mode: 0o700 });
    if (unsafeDirectory(dir) || unsafeDirectory(bundles)) return undefined;
    const { createHash } = require('node:crypto') as typeof import('node:crypto');
    const digest = createHash('sha256').update(source).digest('hex');
    return join(bundles, `${digest}-${process.version}-${process.arch}.bin`);
  } catch {
    return undefined;
  }
}

/**
 * The V8 flags a run may change (src/migrations/wasm-load.ts keeps the parser's WASM on its
 * baseline tier, for the whole process), as every run starts with them. V8 refuses a code cache
 * made under other flags than those of the run reading it, so they are set back before the cache
 * is made (at exit: nothing runs after it).
 */
export const V8_FLAGS_AT_START = ['--wasm-tier-up', '--wasm-dynamic-tiering'] as const;

/** Written whole or not at all: to a file of this process, then renamed over the cache's name. */
function saveBundleCache(file: string, script: import('node:vm').Script): void {
  const partial = `${file}.${process.pid}`;
  try {
    const { setFlagsFromString } = require('node:v8') as typeof import('node:v8');
    for (const flag of V8_FLAGS_AT_START) setFlagsFromString(flag);
    writeFileSync(partial, script.createCachedData(), { mode: 0o600 });
    renameSync(partial, file);
    pruneBundleCaches(dirname(file));
  } catch {
    // Never an error at exit: a cache not written is only a compile the next run pays again.
    try {
      rmSync(partial, { force: true });
    } catch {
      // left behind: not worth an error at exit
    }
  }
}

/**
 * The folder keeps the caches of the last few bundles written (a new one for each version of the
 * action or CLI and of Node.js, ~0.5 MB each), not every one a long-lived runner ever ran: the
 * oldest beyond KEPT_BUNDLE_CACHES go. One still in use is only written again by its next run.
 */
export const KEPT_BUNDLE_CACHES = 8;

export function pruneBundleCaches(dir: string): void {
  const caches = readdirSync(dir)
    .filter((name) => name.endsWith('.bin'))
    .map((name) => ({ path: join(dir, name), at: lstatSync(join(dir, name)).mtimeMs }))
    .sort((a, b) => b.at - a.at);
  for (const { path } of caches.slice(KEPT_BUNDLE_CACHES)) rmSync(path, { force: true });
}
