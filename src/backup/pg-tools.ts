import { constants } from 'node:fs';
import { access, mkdtemp, readdir, readFile, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import { GuardError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { ProcessRunner } from './process.js';
import { seeTroubleshooting } from '../docs-links.js';

/** One PostgreSQL client program and the version it reports. */
export interface PgTool {
  path: string;
  /** "15.18" */
  version: string;
  major: number;
  /** The whole first line of `--version`, e.g. "pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)". */
  banner: string;
}

export interface PgTools {
  pgDump: PgTool;
  pgRestore: PgTool;
  /** psql from the same directory (the same client package); restore needs it, backup does not. */
  psql?: string;
}

/** Installs the PostgreSQL client of one major version (apt on Linux runners). */
export interface ClientInstaller {
  available(): Promise<boolean>;
  install(major: number): Promise<void>;
}

export interface FindPgToolsOptions {
  /** The pg-dump-path input: a pg_dump binary (or its directory); pg_restore must sit beside it. */
  explicitPath?: string;
  serverMajor: number;
  /** Directories to search, PATH-style (default: process.env.PATH). */
  searchPath?: string;
  /** More directories; one `*` per path segment is expanded (default: DEFAULT_TOOL_DIRS). */
  extraDirs?: string[];
  installer?: ClientInstaller;
  runner: ProcessRunner;
  logger: Logger;
  /** Default process.platform; the installer is only used on Linux. */
  platform?: NodeJS.Platform;
}

/** Debian/Ubuntu (apt.postgresql.org and distribution packages), Homebrew, Postgres.app. */
export const DEFAULT_TOOL_DIRS = [
  '/usr/lib/postgresql/*/bin',
  '/opt/homebrew/opt/postgresql@*/bin',
  '/usr/local/opt/postgresql@*/bin',
  '/opt/homebrew/opt/libpq/bin',
  '/usr/local/opt/libpq/bin',
  '/Applications/Postgres.app/Contents/Versions/*/bin',
];

const VERSION_TIMEOUT_MS = 15_000;

interface Candidate {
  dir: string;
  pgDump?: PgTool;
  pgRestore?: PgTool;
  problem?: string;
  /** false for Debian's pg_wrapper, whose version depends on the environment it runs in. */
  direct: boolean;
  order: number;
}

/**
 * Finds pg_dump and pg_restore of at least the server's major version, the newest first. pg_dump
 * refuses to dump a server newer than itself, so a mismatch must stop a run before anything changes.
 */
export async function findPgTools(options: FindPgToolsOptions): Promise<PgTools> {
  const { serverMajor, runner, logger } = options;
  if (options.explicitPath) {
    const tools = await explicitTools(options.explicitPath, serverMajor, runner);
    logger.info(
      `Using ${tools.pgDump.path} (${tools.pgDump.version}, from pg-dump-path) for PostgreSQL ${serverMajor}`,
    );
    return tools;
  }

  let candidates = await discover(options);
  let chosen = pickNewest(candidates, serverMajor);
  let installNote = '';
  if (!chosen && options.installer && (options.platform ?? process.platform) === 'linux') {
    if (await options.installer.available()) {
      logger.info(
        `No pg_dump ${serverMajor} or newer found (${describeFound(candidates)}); installing postgresql-client-${serverMajor}`,
      );
      try {
        await options.installer.install(serverMajor);
      } catch (error) {
        installNote = ` Installing postgresql-client-${serverMajor} failed: ${(error as Error).message}`;
      }
      candidates = await discover(options);
      chosen = pickNewest(candidates, serverMajor);
      if (!chosen && !installNote)
        installNote = ` postgresql-client-${serverMajor} was installed, but no suitable pg_dump appeared.`;
    } else {
      installNote =
        ' It cannot be installed automatically here: that needs root or passwordless sudo with apt-get.';
    }
  }
  if (!chosen) {
    throw new GuardError(
      'pg-tools',
      `No pg_dump of PostgreSQL ${serverMajor} or newer was found: the server runs PostgreSQL ${serverMajor} and ` +
        `pg_dump refuses to dump a server newer than itself. Found: ${describeFound(candidates)}.${installNote}`,
      { hint: fixHint(serverMajor) },
    );
  }
  const tools = {
    pgDump: chosen.pgDump!,
    pgRestore: chosen.pgRestore!,
    psql: await executable(join(chosen.dir, 'psql')),
  };
  logger.info(`Using ${tools.pgDump.path} (${tools.pgDump.version}) for PostgreSQL ${serverMajor}`);
  return tools;
}

export function fixHint(major: number): string {
  return (
    `Set the pg-dump-path input to a pg_dump ${major} (or newer) binary, or install the client before this step: ` +
    `on Ubuntu/Debian add the PostgreSQL apt repository (https://wiki.postgresql.org/wiki/Apt) and run ` +
    `"sudo apt-get install postgresql-client-${major}"; on macOS run "brew install postgresql@${major}".` +
    seeTroubleshooting('pg_dump-is-older-than-the-server')
  );
}

/** Parses `pg_dump --version` output: "pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)". */
export function parsePgVersion(
  output: string,
): { version: string; major: number; banner: string } | undefined {
  const banner = output.trim().split('\n')[0]?.trim() ?? '';
  const match = /\(PostgreSQL\)\s+(\d+(?:\.\d+)*)(\w*)/.exec(banner);
  if (!match) return undefined;
  return { version: match[1] + match[2], major: Number(match[1].split('.')[0]), banner };
}

async function explicitTools(given: string, serverMajor: number, runner: ProcessRunner): Promise<PgTools> {
  let path = resolve(given);
  const info = await stat(path).catch(() => undefined);
  if (!info)
    throw new GuardError('pg-tools', `pg-dump-path "${given}" does not exist`, {
      hint: fixHint(serverMajor),
    });
  if (info.isDirectory()) path = join(path, 'pg_dump');
  const pgDump = await probeTool(path, runner);
  if ('problem' in pgDump) {
    throw new GuardError('pg-tools', `pg-dump-path "${given}" cannot be used: ${pgDump.problem}`, {
      hint: fixHint(serverMajor),
    });
  }
  if (pgDump.major < serverMajor) {
    throw new GuardError(
      'pg-tools',
      `pg-dump-path "${given}" is pg_dump ${pgDump.version}, but the server runs PostgreSQL ${serverMajor}: ` +
        `pg_dump must be version ${serverMajor} or newer`,
      { hint: fixHint(serverMajor) },
    );
  }
  const restorePath = join(dirname(path), 'pg_restore');
  const pgRestore = await probeTool(restorePath, runner);
  if ('problem' in pgRestore || pgRestore.major < serverMajor) {
    const why = 'problem' in pgRestore ? pgRestore.problem : `it is version ${pgRestore.version}`;
    throw new GuardError(
      'pg-tools',
      `pg-dump-path "${given}": pg_restore ${serverMajor}+ must sit beside it (${restorePath}), but ${why}`,
      {
        hint: `Point pg-dump-path at the bin directory of a complete PostgreSQL ${serverMajor} client installation.`,
      },
    );
  }
  return { pgDump, pgRestore, psql: await executable(join(dirname(path), 'psql')) };
}

async function probeTool(path: string, runner: ProcessRunner): Promise<PgTool | { problem: string }> {
  if (!(await executable(path))) return { problem: `${path} is missing or not executable` };
  const result = await runner.run(path, ['--version'], { timeoutMs: VERSION_TIMEOUT_MS });
  const parsed = result.code === 0 ? parsePgVersion(result.stdout) : undefined;
  if (!parsed) {
    const said = (result.stdout + result.stderr).trim().split('\n')[0] ?? '';
    return {
      problem: `"${basename(path)} --version" did not report a PostgreSQL version (exit ${result.code}: ${said})`,
    };
  }
  return { path, ...parsed };
}

async function discover(options: FindPgToolsOptions): Promise<Candidate[]> {
  const pathDirs = (options.searchPath ?? process.env.PATH ?? '')
    .split(delimiter)
    .filter((d) => d && isAbsolute(d));
  const extra = await expandPatterns(options.extraDirs ?? DEFAULT_TOOL_DIRS);
  const seen = new Set<string>();
  const dirs: Array<{ dir: string; real: string }> = [];
  for (const dir of [...pathDirs, ...extra]) {
    const real = await realpath(join(dir, 'pg_dump')).catch(() => undefined);
    if (!real || seen.has(real) || !(await executable(join(dir, 'pg_dump')))) continue;
    seen.add(real);
    dirs.push({ dir, real });
  }
  return Promise.all(
    dirs.map(async ({ dir, real }, order): Promise<Candidate> => {
      const direct = basename(real) === 'pg_dump';
      const [pgDump, pgRestore] = await Promise.all([
        probeTool(join(dir, 'pg_dump'), options.runner),
        probeTool(join(dir, 'pg_restore'), options.runner),
      ]);
      if ('problem' in pgDump) return { dir, direct, order, problem: pgDump.problem };
      if ('problem' in pgRestore)
        return { dir, direct, order, pgDump, problem: `no usable pg_restore beside it` };
      return { dir, direct, order, pgDump, pgRestore };
    }),
  );
}

function pickNewest(candidates: Candidate[], serverMajor: number): Candidate | undefined {
  return candidates
    .filter(
      (c) => c.pgDump && c.pgRestore && c.pgDump.major >= serverMajor && c.pgRestore.major >= serverMajor,
    )
    .sort(
      (a, b) =>
        compareVersions(b.pgDump!.version, a.pgDump!.version) ||
        Number(b.direct) - Number(a.direct) ||
        a.order - b.order,
    )[0];
}

function compareVersions(a: string, b: string): number {
  const pa = a.split(/[^\d]+/).map(Number);
  const pb = b.split(/[^\d]+/).map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const diff = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (diff) return diff;
  }
  return 0;
}

function describeFound(candidates: Candidate[]): string {
  if (candidates.length === 0) return 'no pg_dump at all (searched PATH and the usual install directories)';
  return candidates
    .map((c) => {
      const where = join(c.dir, 'pg_dump');
      if (!c.pgDump) return `${where} (${c.problem})`;
      return `${where} (${c.pgDump.version}${c.problem ? `; ${c.problem}` : ''})`;
    })
    .join(', ');
}

/** Expands `*` (at most one per path segment), e.g. /usr/lib/postgresql/*\/bin. */
async function expandPatterns(patterns: string[]): Promise<string[]> {
  return (await Promise.all(patterns.map(expandPattern))).flat();
}

async function expandPattern(pattern: string): Promise<string[]> {
  const star = pattern.indexOf('*');
  if (star < 0) return [pattern];
  const cut = pattern.lastIndexOf('/', star);
  const parent = pattern.slice(0, cut) || '/';
  const rest = pattern.slice(cut + 1);
  const slash = rest.indexOf('/');
  const segment = slash < 0 ? rest : rest.slice(0, slash);
  const after = slash < 0 ? '' : rest.slice(slash);
  const [prefix, suffix] = [segment.slice(0, segment.indexOf('*')), segment.slice(segment.indexOf('*') + 1)];
  const names = await readdir(parent).catch(() => [] as string[]);
  const matches = names
    .filter((n) => n.length >= prefix.length + suffix.length && n.startsWith(prefix) && n.endsWith(suffix))
    .sort();
  return (await Promise.all(matches.map((n) => expandPattern(join(parent, n) + after)))).flat();
}

async function executable(path: string): Promise<string | undefined> {
  try {
    await access(path, constants.X_OK);
    return (await stat(path)).isFile() ? path : undefined;
  } catch {
    return undefined;
  }
}

const PGDG_KEY_URL = 'https://www.postgresql.org/media/keys/ACCC4CF8.asc';
const PGDG_KEY_DIR = '/usr/share/postgresql-common/pgdg';
const PGDG_KEY = `${PGDG_KEY_DIR}/apt.postgresql.org.asc`;
const PGDG_LIST = '/etc/apt/sources.list.d/pgdg.list';
const APT_TIMEOUT_MS = 10 * 60_000;

/**
 * Installs postgresql-client-<major> with apt-get (root, or passwordless sudo as on GitHub's runners),
 * first adding the PostgreSQL apt repository the way https://wiki.postgresql.org/wiki/Apt documents
 * when the distribution has no such package.
 */
export function aptInstaller(
  runner: ProcessRunner,
  logger: Logger,
  options: { isRoot?: boolean; osReleasePath?: string } = {},
): ClientInstaller {
  const root = options.isRoot ?? process.getuid?.() === 0;
  const privileged = (args: string[]) =>
    root
      ? runner.run(args[0], args.slice(1), { timeoutMs: APT_TIMEOUT_MS })
      : runner.run('sudo', ['-n', ...args], { timeoutMs: APT_TIMEOUT_MS });
  const step = async (what: string, args: string[]) => {
    logger.info(`${root ? '' : 'sudo '}${args.join(' ')}`);
    const result = await privileged(args);
    if (result.code !== 0)
      throw new Error(`${what} failed (exit ${result.code}): ${tail(result.stderr || result.stdout)}`);
  };
  const aptGet = (...args: string[]) => ['env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', '-q', ...args];
  const hasCandidate = async (pkg: string) => {
    const policy = await runner.run('apt-cache', ['policy', pkg], { timeoutMs: APT_TIMEOUT_MS });
    const candidate = /Candidate:\s*(\S+)/.exec(policy.stdout)?.[1];
    return policy.code === 0 && candidate !== undefined && candidate !== '(none)';
  };

  return {
    async available() {
      if ((await runner.run('apt-get', ['--version'], { timeoutMs: VERSION_TIMEOUT_MS })).code !== 0)
        return false;
      return root || (await runner.run('sudo', ['-n', 'true'], { timeoutMs: VERSION_TIMEOUT_MS })).code === 0;
    },
    async install(major) {
      const pkg = `postgresql-client-${major}`;
      if (!(await hasCandidate(pkg))) {
        const codename = await releaseCodename(options.osReleasePath ?? '/etc/os-release');
        logger.info(
          `${pkg} is not in the configured apt sources; adding the PostgreSQL apt repository (${codename}-pgdg)`,
        );
        if ((await runner.run('curl', ['--version'], { timeoutMs: VERSION_TIMEOUT_MS })).code !== 0) {
          await step('apt-get update', aptGet('update'));
          await step(
            'installing curl',
            aptGet('install', '-y', '--no-install-recommends', 'curl', 'ca-certificates'),
          );
        }
        await step('creating the key directory', ['install', '-d', PGDG_KEY_DIR]);
        await step('downloading the repository signing key', ['curl', '-fsSL', '-o', PGDG_KEY, PGDG_KEY_URL]);
        const tmp = await mkdtemp(join(tmpdir(), 'mg-pgdg-'));
        try {
          const list = join(tmp, 'pgdg.list');
          await writeFile(
            list,
            `deb [signed-by=${PGDG_KEY}] https://apt.postgresql.org/pub/repos/apt ${codename}-pgdg main\n`,
          );
          await step('adding the repository', ['install', '-m', '0644', list, PGDG_LIST]);
        } finally {
          await rm(tmp, { recursive: true, force: true });
        }
        await step('apt-get update', aptGet('update'));
        if (!(await hasCandidate(pkg)))
          throw new Error(`the PostgreSQL apt repository offers no ${pkg} for ${codename}`);
      }
      await step(`installing ${pkg}`, aptGet('install', '-y', '--no-install-recommends', pkg));
    },
  };
}

async function releaseCodename(osReleasePath: string): Promise<string> {
  const text = await readFile(osReleasePath, 'utf8').catch(() => '');
  const value = (key: string) => new RegExp(`^${key}=["']?([a-z]+)["']?$`, 'm').exec(text)?.[1];
  const codename = value('VERSION_CODENAME') ?? value('UBUNTU_CODENAME');
  if (!codename) throw new Error(`cannot tell the distribution release from ${osReleasePath}`);
  return codename;
}

function tail(text: string): string {
  return text.trim().split('\n').slice(-5).join(' | ');
}
