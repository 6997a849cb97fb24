import { GuardError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Client } from './connect.js';
import { seeTroubleshooting } from '../docs-links.js';

/**
 * The advisory lock every run of this tool takes on the target database: the bytes of the ASCII
 * string "mguard" read as one big-endian integer (0x6d6775617264), so it is recognisable in
 * pg_locks (classid 0x6d67, objid 0x75617264) and unlikely to collide with an application's keys.
 */
export const MIGRATION_LOCK_ID = 120291118379620n;

/**
 * A select-list item that tries the lock (`locked`), for a caller that asks it in the same
 * statement as other things (session.ts, one round trip fewer); its answer goes to
 * withAdvisoryLock as `tried`.
 */
export const TRY_LOCK_ITEM = `pg_try_advisory_lock(${MIGRATION_LOCK_ID}::bigint) AS locked`;

export interface LockHolder {
  pid: number;
  applicationName: string;
  user: string | null;
  clientAddress: string | null;
  connectedSeconds: number | null;
}

export interface LockResult {
  waitedMs: number;
  /** The run we waited for, if any. */
  waitedFor?: LockHolder;
}

export interface HeldLock extends LockResult {
  /**
   * Releases the lock before `fn` returns and says whether this session still held it (false
   * when a migration released it, pg_advisory_unlock_all say): one round trip for the question
   * and the release. Asked again, the same answer; withAdvisoryLock then does not release it again.
   */
  release(): Promise<boolean>;
}

/**
 * Runs `fn` while holding the session-level migration lock. A second run waits up to `timeoutMs`
 * (PostgreSQL's own lock_timeout bounds the wait, so waiters queue fairly) and then fails naming
 * the session that holds it.
 */
export async function withAdvisoryLock<T>(
  client: Client,
  options: {
    timeoutMs: number;
    logger: Logger;
    /** Aborting stops the wait (a cancelled job should not sit in the queue). */
    signal?: AbortSignal;
    /** Cancels this session's running query from another connection (pg_cancel_backend). */
    cancelWait?: () => Promise<void>;
    /** What TRY_LOCK_ITEM answered, when the caller tried already: not tried again. */
    tried?: boolean;
  },
  fn: (lock: HeldLock) => Promise<T>,
): Promise<T> {
  const started = Date.now();
  let released: Promise<boolean> | undefined;
  const release = () =>
    (released ??= client
      .query<{ held: boolean }>('SELECT pg_advisory_unlock($1::bigint) AS held', [
        MIGRATION_LOCK_ID.toString(),
      ])
      .then(({ rows }) => rows[0].held));
  const lock: HeldLock = { waitedMs: 0, release };
  const locked =
    options.tried ?? (await client.query<{ locked: boolean }>(`SELECT ${TRY_LOCK_ITEM}`)).rows[0].locked;
  if (!locked) {
    lock.waitedFor = await findLockHolder(client);
    options.logger.info(
      `Another migration run holds the lock on this database (${describeHolder(lock.waitedFor)}); ` +
        `waiting up to ${Math.round(options.timeoutMs / 1000)} s`,
    );
    const stopWaiting = () => void options.cancelWait?.().catch(() => {});
    options.signal?.addEventListener('abort', stopWaiting, { once: true });
    try {
      if (options.signal?.aborted) throw new Error('aborted');
      await client.query(`SET lock_timeout = ${Math.max(1, Math.floor(options.timeoutMs))}`);
      await client.query('SELECT pg_advisory_lock($1::bigint)', [MIGRATION_LOCK_ID.toString()]);
    } catch (error) {
      if (options.signal?.aborted) {
        throw new GuardError(
          'cancelled',
          `Cancelled (${String(options.signal.reason)}) while waiting for the migration lock; nothing was changed`,
          {
            cause: error,
          },
        );
      }
      if ((error as { code?: string }).code !== '55P03') throw error;
      const holder = (await findLockHolder(client)) ?? lock.waitedFor;
      throw new GuardError(
        'lock-timeout',
        `Another migration run still holds the lock on this database after ${Math.round(options.timeoutMs / 1000)} s: ${describeHolder(holder)}`,
        {
          hint: `Wait for that run to finish (or cancel it), then run again. Use a GitHub concurrency group per environment to queue runs instead.${seeTroubleshooting('another-run-holds-the-lock')}`,
          cause: error,
        },
      );
    } finally {
      options.signal?.removeEventListener('abort', stopWaiting);
      await client.query('RESET lock_timeout').catch(() => {});
    }
    lock.waitedMs = Date.now() - started;
  }
  try {
    return await fn(lock);
  } finally {
    if (!released) await release().catch(() => false);
  }
}

export async function findLockHolder(client: Client): Promise<LockHolder | undefined> {
  const { rows } = await client.query(
    `SELECT a.pid, a.application_name, a.usename, a.client_addr::text AS client_addr,
            extract(epoch FROM now() - a.backend_start)::int AS connected_seconds
       FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND l.classid = ($1::bigint >> 32)::oid AND l.objid = ($1::bigint & 4294967295)::oid AND l.objsubid = 1
        AND l.pid <> pg_backend_pid()
      LIMIT 1`,
    [MIGRATION_LOCK_ID.toString()],
  );
  const row = rows[0];
  if (!row) return undefined;
  return {
    pid: row.pid,
    applicationName: row.application_name ?? '',
    user: row.usename ?? null,
    clientAddress: row.client_addr ?? null,
    connectedSeconds: row.connected_seconds ?? null,
  };
}

export function describeHolder(holder: LockHolder | undefined): string {
  if (!holder) return 'the holder could not be read from pg_stat_activity';
  const parts = [
    `pid ${holder.pid}`,
    holder.applicationName ? `"${holder.applicationName}"` : 'unnamed session',
  ];
  const extra = [
    holder.user ? `user ${holder.user}` : undefined,
    holder.clientAddress ? `from ${holder.clientAddress}` : undefined,
    holder.connectedSeconds !== null ? `connected ${holder.connectedSeconds} s ago` : undefined,
  ].filter(Boolean);
  return `${parts.join(' ')}${extra.length ? ` (${extra.join(', ')})` : ''}`;
}
