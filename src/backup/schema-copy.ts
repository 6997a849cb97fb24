import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatabaseTarget } from '../config/database-url.js';
import { GuardError } from '../errors.js';
import type { Logger } from '../logger.js';
import { isLockWaitFailure, lastLines, passwordScrubber, pgEnv, readToc } from './backup.js';
import { fixHint, type PgTools } from './pg-tools.js';
import type { ProcessRunner } from './process.js';

export interface SchemaCopyOptions {
  source: DatabaseTarget;
  destination: DatabaseTarget;
  tools: PgTools;
  runner: ProcessRunner;
  logger: Logger;
  /** pg_dump's --lock-wait-timeout: it gives up rather than queue behind a lock held on the source. */
  lockWaitTimeoutMs: number;
  /** false: --no-owner (the destination's user cannot set other roles as owners). */
  keepOwners: boolean;
  /** false: --no-privileges (roles the grants name are missing in the destination). */
  keepPrivileges: boolean;
  /** Schemas not copied (our own bookkeeping). */
  excludeSchemas: string[];
  timeoutMs?: number;
  /** A cancelled job stops pg_dump / pg_restore. */
  signal?: AbortSignal;
}

export interface SchemaCopyResult {
  /** TOC entries in the schema-only archive. */
  entries: number;
  /** What pg_restore could not create (an extension missing on the destination, say): the errors it reported. */
  notCopied: string[];
  durationMs: number;
}

const DEFAULT_TIMEOUT_MS = 30 * 60_000;
/** How many of pg_restore's errors the report lists; the count says how many there were. */
const ERRORS_LISTED = 20;

/**
 * Copies the source's schema (no data) into the destination: `pg_dump --schema-only` in the custom
 * format, then `pg_restore` into the destination. Subscriptions are never copied (the destination
 * would start replicating from the publisher), nor publications. pg_restore goes on past an entry
 * it cannot create, so one missing extension does not lose the rest of the schema; what it could
 * not create is returned for the report. The archive lives in a private temporary folder, removed
 * at the end. Nothing is written to the source.
 */
export async function copySchema(options: SchemaCopyOptions): Promise<SchemaCopyResult> {
  const { source, destination, tools, runner, logger } = options;
  const started = Date.now();
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const work = await mkdtemp(join(tmpdir(), 'mg-shadow-'));
  try {
    const archive = join(work, 'schema.dump');
    logger.info(`Copying the schema of ${source.display} with pg_dump ${tools.pgDump.version} (schema only)`);
    const dump = await runner.run(
      tools.pgDump.path,
      [
        '--schema-only',
        '--format=custom',
        `--file=${archive}`,
        '--no-password',
        `--lock-wait-timeout=${Math.max(1, Math.round(options.lockWaitTimeoutMs))}`,
        '--no-subscriptions',
        '--no-publications',
        ...options.excludeSchemas.map((s) => `--exclude-schema=${s}`),
      ],
      { env: pgEnv(source, tools.pgDump.major), timeoutMs, signal: options.signal },
    );
    throwIfCancelled(options.signal);
    if (dump.code !== 0) throw dumpFailure(dump.stderr, options, passwordScrubber(source));
    const toc = await readToc(archive, tools, runner, 'shadow-database');

    const restore = await runner.run(
      tools.pgRestore.path,
      [
        `--dbname=${conninfoDbname(destination.database)}`,
        '--no-password',
        '--no-subscriptions',
        '--no-publications',
        ...(options.keepOwners ? [] : ['--no-owner']),
        ...(options.keepPrivileges ? [] : ['--no-privileges']),
        archive,
      ],
      { env: pgEnv(destination, tools.pgRestore.major), timeoutMs, signal: options.signal },
    );
    throwIfCancelled(options.signal);
    const scrub = passwordScrubber(destination);
    const notCopied = restoreErrors(scrub(restore.stderr));
    if (restore.code !== 0 && notCopied.length === 0) {
      throw new GuardError(
        'shadow-database',
        `pg_restore could not copy the schema into the shadow database ${destination.display}: ${scrub(lastLines(restore.stderr)) || `exit ${restore.code}`}. The target was not changed.`,
        {
          hint: 'Check shadow-database-url (host, port, password) and that its user may create objects there.',
        },
      );
    }
    return { entries: toc.entries.length, notCopied, durationMs: Date.now() - started };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted)
    throw new GuardError(
      'cancelled',
      'Cancelled while copying the schema into the shadow database; the target was not changed',
    );
}

/**
 * A database name as a libpq conninfo value: pg_restore reads a --dbname holding "=" as a
 * connection string, so the name is always given as one, quoted. Host, user and password travel
 * in the environment (pgEnv), never on the command line.
 */
export function conninfoDbname(name: string): string {
  return `dbname='${name.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** pg_restore's "could not execute query: ERROR: …" lines, one per entry it could not create. */
export function restoreErrors(stderr: string): string[] {
  const errors = [...stderr.matchAll(/could not execute query: (?:ERROR|FATAL):\s*(.*)/g)].map((m) =>
    m[1].trim(),
  );
  if (errors.length <= ERRORS_LISTED) return errors;
  return [...errors.slice(0, ERRORS_LISTED), `… and ${errors.length - ERRORS_LISTED} more`];
}

function dumpFailure(stderr: string, options: SchemaCopyOptions, scrub: (t: string) => string): GuardError {
  const said = scrub(lastLines(stderr));
  const fail = (message: string, hint: string) =>
    new GuardError(
      'shadow-database',
      `${message}. Nothing was changed.${said ? `\npg_dump said:\n${said}` : ''}`,
      { hint },
    );
  if (isLockWaitFailure(stderr)) {
    return fail(
      `pg_dump gave up copying the schema of ${options.source.display}: another session holds a lock on a table ` +
        `(pg_dump waited ${options.lockWaitTimeoutMs} ms, the lock-timeout, for a share lock rather than queue behind it)`,
      'Run plan again once the transaction holding the lock (often DDL or a long maintenance command) has finished.',
    );
  }
  if (/server version mismatch/i.test(stderr)) {
    const server = /server version:\s*(\d+)/i.exec(stderr)?.[1];
    return fail(
      `pg_dump ${options.tools.pgDump.version} cannot copy the schema of this server: server version mismatch`,
      fixHint(server ? Number(server) : options.tools.pgDump.major + 1),
    );
  }
  return fail(
    `pg_dump could not copy the schema of ${options.source.display}`,
    'Read pg_dump’s message above: database-url must reach the target with a user that can read every schema.',
  );
}
