import { createHash } from 'node:crypto';
import { constants, createReadStream, existsSync } from 'node:fs';
import { access, open, rename, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { DatabaseTarget } from '../config/database-url.js';
import { GuardError, type GuardErrorCode } from '../errors.js';
import type { Logger } from '../logger.js';
import { SecretScrubber } from '../secrets.js';
import { checkRecipients } from './age-crypto.js';
import { readBackEncrypted, writeEncryptedDump } from './encrypted-dump.js';
import { fixHint, type PgTools } from './pg-tools.js';
import { createPrivateFile, preparePrivateDir } from './private-dir.js';
import type { ProcessResult, ProcessRunner } from './process.js';

export interface TakeBackupOptions {
  target: DatabaseTarget;
  /** Created when missing; must belong to this user, and is made private (0700). */
  dir: string;
  /** The environment label; it starts the file name. */
  environment: string;
  /** The commit being deployed; its first 7 characters end the file name. */
  sha?: string;
  now?: Date;
  tools: PgTools;
  runner: ProcessRunner;
  logger: Logger;
  /** Bound for the whole pg_dump run (default 2 hours). */
  timeoutMs?: number;
  /** How long pg_dump waits for a table lock before failing instead of queueing (default 60 s). */
  lockWaitTimeoutMs?: number;
  /**
   * age recipients (age1… public keys): when given, the archive is encrypted to them as pg_dump
   * writes it and only the age file (…dump.age) is stored.
   */
  encryptTo?: string[];
}

export interface BackupInfo {
  path: string;
  fileName: string;
  sha256: string;
  sizeBytes: number;
  durationMs: number;
  /** "15.18" */
  pgDumpVersion: string;
  /** Number of TOC entries `pg_restore --list` read back from the file. */
  entries: number;
  /** The server version recorded in the archive, e.g. "15.18". */
  serverVersion?: string;
  /** Set when the file is age-encrypted: `sha256` and `sizeBytes` are then the encrypted file's. */
  encrypted?: {
    recipients: number;
    /** sha256 and size of the archive inside (what pg_dump produced, read back decrypted). */
    clearSha256: string;
    clearSizeBytes: number;
  };
}

/** One line of `pg_restore --list`: "218; 1259 16424 TABLE public a postgres". */
export interface TocEntry {
  line: string;
  id: number;
  tableoid: number;
  oid: number;
  desc: string;
  /** "-" for objects outside any schema (schemas themselves, extensions, …). */
  namespace: string;
  tag: string;
  owner: string;
}

export interface Toc {
  entries: TocEntry[];
  serverVersion?: string;
  pgDumpVersion?: string;
}

const DEFAULT_TIMEOUT_MS = 2 * 60 * 60_000;
const DEFAULT_LOCK_WAIT_MS = 60_000;

/** How long pg_dump waits for each table's share lock (its --lock-wait-timeout), in ms. */
function lockWaitOf(options: Pick<TakeBackupOptions, 'lockWaitTimeoutMs'>): number {
  return options.lockWaitTimeoutMs ?? DEFAULT_LOCK_WAIT_MS;
}

export const LIST_TIMEOUT_MS = 10 * 60_000;

/**
 * Takes a custom-format backup that counts only once it has been read back: pg_dump writes a hidden
 * temporary file, `pg_restore --list` must read its table of contents, its sha256 is computed, and
 * only then is it renamed to its final name. Any failure removes the partial file. The folder is
 * private (0700) and the file is created 0600 before pg_dump opens it.
 */
export async function takeBackup(options: TakeBackupOptions): Promise<BackupInfo> {
  const { target, tools, runner, logger } = options;
  const started = Date.now();
  const scrub = passwordScrubber(target);
  const recipients = options.encryptTo?.length ? options.encryptTo : undefined;
  // A key the library refuses stops the run before any folder or file is made.
  if (recipients) await checkRecipients(recipients);
  const dir = await prepareDir(resolve(options.dir), logger);
  const fileName = await freeName(
    dir,
    backupFileName(options.environment, options.now ?? new Date(), options.sha) + (recipients ? '.age' : ''),
  );
  const path = join(dir, fileName);
  const partial = join(dir, `.${fileName}.partial`);

  try {
    // A partial file left by a run that died is ours (the folder is private): replace it.
    await rm(partial, { force: true });
    await createPrivateFile(partial);
    const lockWait = lockWaitOf(options);
    const dumpArgs = ['--format=custom', '--no-password', `--lock-wait-timeout=${lockWait}`];
    const env = pgEnv(target, tools.pgDump.major);
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (recipients) {
      logger.info(
        `Backing up ${target.display} with pg_dump ${tools.pgDump.version}, encrypted with age to ${recipients.length} recipient${recipients.length > 1 ? 's' : ''}, to ${path}`,
      );
      const info = await encryptedBackup(partial, recipients, dumpArgs, env, timeoutMs, options, dir, scrub);
      await rename(partial, path);
      return finish({ ...info, path, fileName, durationMs: Date.now() - started }, logger);
    }
    logger.info(`Backing up ${target.display} with pg_dump ${tools.pgDump.version} to ${path}`);
    const dump = await runner.run(tools.pgDump.path, [...dumpArgs, `--file=${partial}`], { env, timeoutMs });
    if (dump.code !== 0) throw dumpFailure(dump.stderr, dump.timedOut, options, dir, scrub);

    const sizeBytes = (await stat(partial)).size;
    if (sizeBytes === 0)
      throw new GuardError('backup-failed', 'pg_dump exited successfully but wrote an empty file');
    // pg_restore reads the archive while we hash and sync it: three passes over the file at once.
    const [toc, sha256] = await Promise.all([
      readToc(partial, tools, runner, 'backup-failed'),
      sha256File(partial),
      syncFile(partial),
    ]);
    await rename(partial, path);

    return finish(
      {
        path,
        fileName,
        sha256,
        sizeBytes,
        durationMs: Date.now() - started,
        pgDumpVersion: tools.pgDump.version,
        entries: toc.entries.length,
        serverVersion: toc.serverVersion,
      },
      logger,
    );
  } catch (error) {
    await rm(partial, { force: true }).catch(() => {});
    if (error instanceof GuardError) throw error;
    throw fsFailure(error, dir);
  }
}

function finish(info: BackupInfo, logger: Logger): BackupInfo {
  const clear = info.encrypted
    ? ` (age-encrypted; the archive inside: ${formatBytes(info.encrypted.clearSizeBytes)}, sha256 ${info.encrypted.clearSha256})`
    : '';
  logger.info(
    `Backup ${info.fileName}: ${formatBytes(info.sizeBytes)}, ${info.entries} entries, sha256 ${info.sha256}${clear}`,
  );
  return info;
}

/**
 * The encrypted variant of the write and the read-back: pg_dump streams into the age encrypter and
 * only ciphertext reaches `partial`; then the file is read back from disk, decrypted in memory and
 * must give the very bytes pg_dump produced (same sha256), which `pg_restore --list` must read.
 */
async function encryptedBackup(
  partial: string,
  recipients: string[],
  dumpArgs: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
  options: TakeBackupOptions,
  dir: string,
  scrub: (text: string) => string,
): Promise<Omit<BackupInfo, 'path' | 'fileName' | 'durationMs'>> {
  const { tools } = options;
  const written = await writeEncryptedDump({
    pgDump: tools.pgDump.path,
    args: dumpArgs,
    env,
    timeoutMs,
    recipients,
    path: partial,
  });
  try {
    const { dump } = written;
    if (dump.code !== 0) throw dumpFailure(dump.stderr, dump.timedOut, options, dir, scrub);
    if (written.clearBytes === 0)
      throw new GuardError('backup-failed', 'pg_dump exited successfully but wrote nothing');
    const [back] = await Promise.all([
      readBackEncrypted({
        path: partial,
        identities: [written.readBack],
        pgRestore: tools.pgRestore.path,
        timeoutMs: LIST_TIMEOUT_MS,
        code: 'backup-failed',
      }),
      syncFile(partial),
    ]);
    if (back.clearSha256 !== written.clearSha256 || back.clearBytes !== written.clearBytes) {
      throw new GuardError(
        'backup-failed',
        `The encrypted backup read back from disk does not decrypt to what pg_dump wrote (sha256 ${back.clearSha256}, ${back.clearBytes} bytes; expected ${written.clearSha256}, ${written.clearBytes} bytes)`,
        {
          hint: 'The disk or file system corrupted the file: take the backup again, on another volume if it repeats.',
        },
      );
    }
    const toc = tocOf(back.listing, `${partial} (decrypted)`, 'backup-failed');
    return {
      sha256: back.sha256,
      sizeBytes: (await stat(partial)).size,
      pgDumpVersion: tools.pgDump.version,
      entries: toc.entries.length,
      serverVersion: toc.serverVersion,
      encrypted: {
        recipients: recipients.length,
        clearSha256: back.clearSha256,
        clearSizeBytes: back.clearBytes,
      },
    };
  } finally {
    written.forget();
  }
}

/** `production-20261124T210102Z-abc1234.dump` */
export function backupFileName(environment: string, now: Date, sha?: string): string {
  const label = environment.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[-.]+|[-.]+$/g, '') || 'default';
  const stamp = now
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replace(/[-:]/g, '');
  const short = sha
    ?.toLowerCase()
    .replace(/[^0-9a-f]/g, '')
    .slice(0, 7);
  return `${label}-${stamp}${short ? `-${short}` : ''}.dump`;
}

/**
 * The environment for a libpq program: the connection travels in PG* variables (never on the
 * command line, where `ps` would show it); inherited PG* variables that could redirect it are dropped.
 */
export function pgEnv(
  target: DatabaseTarget,
  toolMajor: number,
  base: NodeJS.ProcessEnv = process.env,
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(base)) if (!CONNECTION_VARIABLES.has(key)) env[key] = value;
  env.PGHOST = target.host;
  env.PGPORT = String(target.port);
  env.PGUSER = target.user;
  env.PGDATABASE = target.database;
  env.PGSSLMODE = target.sslmode;
  env.PGAPPNAME = 'supabase-migration-guard';
  env.PGCONNECT_TIMEOUT = '15';
  if (target.password !== undefined) env.PGPASSWORD = target.password;
  if (target.sslRootCert) env.PGSSLROOTCERT = target.sslRootCert;
  // Node checks certificates against its CA bundle; libpq only against ~/.postgresql/root.crt unless
  // told to use the system store (libpq 16+), so do that when the user gave no CA of their own.
  else if (
    target.sslmode === 'verify-full' &&
    toolMajor >= 16 &&
    !existsSync(join(homedir(), '.postgresql', 'root.crt'))
  ) {
    env.PGSSLROOTCERT = 'system';
  }
  return env;
}

const CONNECTION_VARIABLES = new Set([
  'PGHOST',
  'PGHOSTADDR',
  'PGPORT',
  'PGDATABASE',
  'PGUSER',
  'PGPASSWORD',
  'PGPASSFILE',
  'PGSERVICE',
  'PGSERVICEFILE',
  'PGSSLMODE',
  'PGSSLROOTCERT',
  'PGREQUIRESSL',
  'PGTARGETSESSIONATTRS',
  'PGCLUSTER',
  'PGOPTIONS',
]);

/** Reads an archive's table of contents; a file it cannot read is not a backup. */
export async function readToc(
  path: string,
  tools: PgTools,
  runner: ProcessRunner,
  code: GuardErrorCode,
): Promise<Toc> {
  const result = await runner.run(tools.pgRestore.path, ['--list', path], { timeoutMs: LIST_TIMEOUT_MS });
  return tocOf(result, path, code);
}

/** The table of contents `pg_restore --list` printed, or the error for an archive it could not read. */
export function tocOf(result: ProcessResult, path: string, code: GuardErrorCode): Toc {
  if (result.code !== 0 || !/^;\s+Format: CUSTOM/m.test(result.stdout)) {
    throw new GuardError(
      code,
      `${path} cannot be read back as a pg_dump custom-format archive: ${lastLines(result.stderr) || `pg_restore --list exited with ${result.code}`}`,
      {
        hint: 'The file is damaged or incomplete (disk full, interrupted copy). Take a new backup, or restore a copy whose sha256 matches the recorded one.',
      },
    );
  }
  return parseToc(result.stdout);
}

export function parseToc(listing: string): Toc {
  const header = (name: string) => new RegExp(`^;\\s+${name}:\\s*(\\S+)`, 'm').exec(listing)?.[1];
  const raw: Array<Omit<TocEntry, 'namespace' | 'tag'> & { body: string }> = [];
  for (const line of listing.split('\n')) {
    const match = /^(\d+); (\d+) (\d+) (.*)$/.exec(line);
    if (!match) continue;
    const rest = match[4];
    const desc = KNOWN_DESCS.find((d) => rest.startsWith(`${d} `)) ?? rest.split(' ')[0];
    const afterDesc = rest.slice(desc.length + 1);
    const cut = afterDesc.lastIndexOf(' ');
    raw.push({
      line,
      id: Number(match[1]),
      tableoid: Number(match[2]),
      oid: Number(match[3]),
      desc,
      owner: cut < 0 ? '' : afterDesc.slice(cut + 1),
      body: cut < 0 ? afterDesc : afterDesc.slice(0, cut),
    });
  }
  // Names are printed unquoted, so a schema name with spaces is recognised by the SCHEMA entries.
  const schemas = raw
    .filter((e) => e.desc === 'SCHEMA' && e.body.startsWith('- '))
    .map((e) => e.body.slice(2))
    .concat('public')
    .sort((a, b) => b.length - a.length);
  const entries = raw.map(({ body, ...entry }): TocEntry => {
    const namespace = body.startsWith('- ')
      ? '-'
      : (schemas.find((s) => body.startsWith(`${s} `)) ?? body.split(' ')[0]);
    return { ...entry, namespace, tag: body.slice(namespace.length + 1) };
  });
  return {
    entries,
    serverVersion: header('Dumped from database version'),
    pgDumpVersion: header('Dumped by pg_dump version'),
  };
}

/** pg_dump's object descriptions (pg_backup_archiver/pg_dump.c), longest first so prefixes do not win. */
const KNOWN_DESCS =
  'ACCESS METHOD,ACL,AGGREGATE,BLOB,BLOB METADATA,BLOBS,CAST,CHECK CONSTRAINT,COLLATION,COMMENT,CONSTRAINT,CONVERSION,DATABASE,DATABASE PROPERTIES,DEFAULT,DEFAULT ACL,DOMAIN,ENCODING,EVENT TRIGGER,EXTENSION,FK CONSTRAINT,FOREIGN DATA WRAPPER,FOREIGN TABLE,FUNCTION,INDEX,INDEX ATTACH,LARGE OBJECT,LARGE OBJECTS,MATERIALIZED VIEW,MATERIALIZED VIEW DATA,OPERATOR,OPERATOR CLASS,OPERATOR FAMILY,POLICY,PROCEDURAL LANGUAGE,PROCEDURE,PUBLICATION,PUBLICATION TABLE,PUBLICATION TABLES IN SCHEMA,ROW SECURITY,RULE,SCHEMA,SEARCHPATH,SECURITY LABEL,SEQUENCE,SEQUENCE OWNED BY,SEQUENCE SET,SERVER,SHELL TYPE,STATISTICS,STATISTICS DATA,STDSTRINGS,SUBSCRIPTION,SUBSCRIPTION TABLE,TABLE,TABLE ATTACH,TABLE DATA,TEXT SEARCH CONFIGURATION,TEXT SEARCH DICTIONARY,TEXT SEARCH PARSER,TEXT SEARCH TEMPLATE,TRANSFORM,TRIGGER,TYPE,USER MAPPING,VIEW'
    .split(',')
    .sort((a, b) => b.length - a.length);

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  // 1 MiB reads: hashing a large dump with the default 64 KiB chunks costs twice as long.
  await pipeline(createReadStream(path, { highWaterMark: 1024 * 1024 }), hash);
  return hash.digest('hex');
}

export function passwordScrubber(target: DatabaseTarget): (text: string) => string {
  const scrubber = new SecretScrubber();
  scrubber.add(target.password);
  return scrubber.scrub;
}

/**
 * Whether pg_dump stopped because --lock-wait-timeout ran out. It applies the timeout as a
 * statement timeout on its LOCK TABLE, so that is what it reports ("canceling statement due to
 * statement timeout", then "Query was: LOCK TABLE …"); a lock timeout set on the server says so.
 */
export function isLockWaitFailure(stderr: string): boolean {
  return /lock timeout|could not obtain lock|statement timeout[\s\S]*LOCK TABLE/i.test(stderr);
}

export function lastLines(text: string, count = 15): string {
  return text.trim().split('\n').slice(-count).join('\n');
}

async function prepareDir(dir: string, logger: Logger): Promise<string> {
  try {
    const real = await preparePrivateDir(dir, logger);
    await access(real, constants.W_OK);
    return real;
  } catch (error) {
    if (error instanceof GuardError) throw error;
    throw fsFailure(error, dir);
  }
}

async function freeName(dir: string, name: string): Promise<string> {
  for (let n = 1; ; n++) {
    const candidate = n === 1 ? name : name.replace(/\.dump(\.age)?$/, `-${n}.dump$1`);
    if (!existsSync(join(dir, candidate))) return candidate;
  }
}

async function syncFile(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function dumpFailure(
  stderr: string,
  timedOut: boolean | undefined,
  options: TakeBackupOptions,
  dir: string,
  scrub: (text: string) => string,
): GuardError {
  const said = scrub(lastLines(stderr));
  const tool = `pg_dump ${options.tools.pgDump.version}`;
  const fail = (message: string, hint: string) =>
    new GuardError(
      'backup-failed',
      `${message}. Nothing was changed.${said ? `\npg_dump said:\n${said}` : ''}`,
      { hint },
    );
  if (timedOut) {
    return fail(
      `${tool} did not finish within ${Math.round((options.timeoutMs ?? DEFAULT_TIMEOUT_MS) / 1000)} s`,
      'Check the database size and network speed, or run the backup separately.',
    );
  }
  if (/server version mismatch/i.test(stderr)) {
    const server = /server version:\s*(\d+)/i.exec(stderr)?.[1];
    return fail(
      `${tool} cannot back up this server: it aborted because of a server version mismatch${server ? ` (server version ${server})` : ''}`,
      fixHint(server ? Number(server) : options.tools.pgDump.major + 1),
    );
  }
  if (/No space left on device|could not write|could not close/i.test(stderr)) {
    return fail(
      `The backup could not be written to ${dir}: the disk is full or failing`,
      'Free disk space or point backup-dir at a larger volume.',
    );
  }
  if (/could not open output file/i.test(stderr)) {
    return fail(`pg_dump cannot create its file in ${dir}`, 'Point backup-dir at a writable directory.');
  }
  if (isLockWaitFailure(stderr)) {
    return fail(
      `pg_dump gave up: another session holds a lock on a table (it waited ${lockWaitOf(options)} ms, ` +
        'the lock-timeout, for a share lock rather than queue behind it)',
      'Retry once the transaction holding the lock (often DDL, VACUUM FULL or a session left idle in a transaction) ' +
        'has finished; `SELECT pid, application_name, state, xact_start FROM pg_stat_activity WHERE pid IN ' +
        "(SELECT pid FROM pg_locks WHERE relation = 'the_table'::regclass)` names it.",
    );
  }
  if (/permission denied/i.test(stderr)) {
    return fail(
      `The database user "${options.target.user}" cannot read everything pg_dump must back up`,
      'Use a role that can read every schema (on Supabase the postgres user), or grant it SELECT on the objects named above.',
    );
  }
  if (
    /connection to server|could not connect|password authentication failed|could not translate host/i.test(
      stderr,
    )
  ) {
    return fail(
      `pg_dump cannot connect to ${options.target.display}`,
      'Check database-url (host, port, password, sslmode) and that this runner can reach the server.',
    );
  }
  return fail(`${tool} failed`, "Read pg_dump's message above; the run stopped before any change.");
}

function fsFailure(error: unknown, dir: string): GuardError {
  const err = error as NodeJS.ErrnoException;
  const reasons: Record<string, string> = {
    ENOTDIR: 'a part of that path is a file, not a directory',
    EEXIST: 'a file of that name is in the way',
    EACCES: 'permission denied',
    EPERM: 'permission denied',
    EROFS: 'the file system is read-only',
    ENOSPC: 'the disk is full',
    EDQUOT: 'the disk quota is exhausted',
  };
  const reason = (err?.code && reasons[err.code]) || err?.message || String(error);
  return new GuardError(
    'backup-failed',
    `Cannot write the backup to ${dir}: ${reason}. Nothing was changed.`,
    {
      hint: "Set backup-dir to a writable directory with enough free space (the runner's temp directory works: ${{ runner.temp }}/backups).",
      cause: error,
    },
  );
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
