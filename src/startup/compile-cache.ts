import { createRequire } from 'node:module';
import { dirname, isAbsolute, join } from 'node:path';

// Node's fs through require: an ESM import of node:fs builds its namespace, whose getters load
// fs/promises and readline (~1.5 ms of every run, before anything else).
const require = createRequire(import.meta.url);
const { lstatSync, mkdirSync } = require('node:fs') as typeof import('node:fs');
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
