import pg from 'pg';
import type { Client } from '../db/connect.js';
import { normaliseQueryText } from './query-text.js';

/** What a lock wait was stuck behind, read from pg_stat_activity while the wait was still on. */
export interface Blocker {
  pid: number;
  applicationName: string;
  /** The role it runs as. */
  user: string | null;
  state: string | null;
  ageSeconds: number | null;
  /** Its query normalised (no literal values, see query-text.ts): never the raw text. */
  query: string;
  /** Identifies the blocking transaction (not just the session) so its end can be seen. */
  xactStart?: string | null;
}

export class CancelledError extends Error {
  constructor(
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(
      `Cancelled (${reason}): the running statement was cancelled and its transaction rolled back`,
      options,
    );
    this.name = 'CancelledError';
  }
}

/**
 * How much of a blocker's query is read for normalising: more than a report shows, so the parser
 * sees whole statements more often (pg_stat_activity holds at most track_activity_query_size,
 * 1 KB by default), and bounded, so a server configured to keep megabytes costs nothing.
 */
const BLOCKER_QUERY_READ = 4096;

const BLOCKERS_SQL = `
SELECT pid, application_name, usename, state, xact_start::text AS xact_start,
       extract(epoch FROM now() - coalesce(xact_start, query_start))::int AS age_seconds,
       left(query, ${BLOCKER_QUERY_READ}) AS query
  FROM pg_stat_activity WHERE pid = ANY (pg_blocking_pids($1))`;

/** How many of the given transactions (pid + start time) are still open. */
const STILL_OPEN_SQL = `
SELECT count(*)::int AS open FROM pg_stat_activity
 WHERE pid = ANY ($1::int[]) AND xact_start::text = ANY ($2::text[])`;

/**
 * Runs statements on the migration connection while a second, idle "control" connection stands
 * by: it cancels the running statement when the run is aborted (a cancelled GitHub job), and
 * shortly before a lock wait would time out it reads who the statement is waiting for.
 */
export class StatementRunner {
  private lastBlockers: Blocker[] = [];
  private control?: Client;

  constructor(
    readonly client: Client,
    private readonly options: {
      /** Opens the control connection; called by `start()` only, so no-op runs never pay for it. */
      openControl?: () => Promise<Client>;
      backendPid?: number;
      signal?: AbortSignal;
      lockTimeoutMs: number;
    },
  ) {}

  /** Opens the control connection before real work begins. */
  async start(): Promise<void> {
    if (!this.control && this.options.openControl) this.control = await this.options.openControl();
  }

  async close(): Promise<void> {
    await this.control?.end().catch(() => {});
    this.control = undefined;
  }

  /** Runs `fn` on the control connection (opened by `start()`), beside the migration connection. */
  async withControl<T>(fn: (control: Client) => Promise<T>): Promise<T> {
    if (!this.control) throw new Error('the control connection is not open');
    return fn(this.control);
  }

  get signal(): AbortSignal | undefined {
    return this.options.signal;
  }

  /** The blockers seen during the most recent statement, if it waited on a lock. */
  blockers(): Blocker[] {
    return this.lastBlockers;
  }

  throwIfCancelled(): void {
    const { signal } = this.options;
    if (signal?.aborted) throw new CancelledError(String(signal.reason ?? 'aborted'));
  }

  /**
   * Sends `sql` as one message; resolves with what its commands returned.
   * `meanwhile` runs once the message is on its way, before the reply is awaited: client work that
   * overlaps the server's.
   */
  async query(sql: string, meanwhile?: () => void): Promise<Reply> {
    this.throwIfCancelled();
    const { backendPid, signal, lockTimeoutMs } = this.options;
    const control = this.control;
    this.lastBlockers = [];
    if (!control || backendPid === undefined) {
      const reply = sendCounted(this.client, sql);
      meanwhile?.();
      return reply;
    }
    const cancel = () => {
      control.query('SELECT pg_cancel_backend($1)', [backendPid]).catch(() => {});
    };
    signal?.addEventListener('abort', cancel, { once: true });
    // Any lock wait that times out lasts lock_timeout, so a peek at this period lands inside it
    // wherever in a long message it happens. An empty answer (no wait at that moment) keeps what
    // an earlier peek found. The last peek is awaited (briefly) before returning, so the blockers
    // it found (normalising takes a moment) are there for whoever asks about this statement.
    let peeking: Promise<void> = Promise.resolve();
    const peek = setInterval(
      () => {
        peeking = control
          .query<BlockerRow>(BLOCKERS_SQL, [backendPid])
          .then(async ({ rows }) => {
            if (rows.length === 0) return;
            // Normalised as soon as it is read: the raw text is never kept, so nothing can report it.
            this.lastBlockers = await Promise.all(rows.map(blockerOf));
          })
          .catch(() => {});
      },
      Math.max(20, lockTimeoutMs - 150),
    );
    try {
      const reply = sendCounted(this.client, sql);
      meanwhile?.();
      return await reply;
    } catch (error) {
      if (signal?.aborted) throw new CancelledError(String(signal.reason ?? 'aborted'), { cause: error });
      throw error;
    } finally {
      clearInterval(peek);
      signal?.removeEventListener('abort', cancel);
      await settledWithin(peeking, PEEK_SETTLE_MS);
    }
  }

  /** Waits, but wakes at once when the run is cancelled. */
  async sleep(ms: number): Promise<void> {
    const { signal } = this.options;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      }
      signal?.addEventListener('abort', done, { once: true });
    });
    this.throwIfCancelled();
  }

  /**
   * Waits up to `ms` for the transactions that blocked the last statement to end, without taking
   * any lock: queueing again while they are open would stall application queries behind us for
   * another lock timeout. Returns early (after a little jitter) once they are gone.
   */
  async waitForBlockers(ms: number): Promise<void> {
    const control = this.control;
    const blockers = this.lastBlockers.filter((b) => b.xactStart);
    if (!control || blockers.length === 0) return this.sleep(ms);
    const deadline = Date.now() + ms;
    const pids = blockers.map((b) => b.pid);
    const starts = blockers.map((b) => b.xactStart as string);
    while (Date.now() < deadline) {
      const { rows } = await control
        .query<{ open: number }>(STILL_OPEN_SQL, [pids, starts])
        .catch(() => ({ rows: [{ open: 1 }] }));
      if (rows[0].open === 0) return this.sleep(Math.round(Math.random() * 100));
      await this.sleep(Math.min(200, Math.max(0, deadline - Date.now())));
    }
  }
}

/** The longest a finished statement waits for a peek still under way (a stalled control connection). */
const PEEK_SETTLE_MS = 1000;

function settledWithin(promise: Promise<void>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    void promise.finally(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** What a multi-statement message returned. */
export interface Reply {
  /** How many of its commands completed. */
  completed: number;
  /** The first row each command returned, by command index (clock readings, history rows). */
  rows: Array<Record<string, unknown> | undefined>;
}

/** The parts of pg's (untyped) Query internals this relies on. */
interface PgQueryInternals {
  handleCommandComplete(message: unknown, connection: unknown): void;
  on(event: 'row', listener: (row: Record<string, unknown>) => void): void;
  callback?: (error: Error | null) => void;
}
const PgQuery = pg.Query as unknown as new (text: string) => PgQueryInternals;

/**
 * pg's Query, counting the commands of a multi-statement message that completed: when the message
 * fails, that count is the index of the failing command (PostgreSQL stops at the first error and
 * reports no index of its own). The server sends its replies when the whole message is done, so
 * their arrival says nothing about how long each command took; commands that read the clock
 * return that instead, and their rows are kept.
 */
class CountingQuery extends PgQuery {
  readonly reply: Reply = { completed: 0, rows: [] };

  constructor(text: string) {
    super(text);
    this.on('row', (row) => {
      this.reply.rows[this.reply.completed] ??= row;
    });
  }

  handleCommandComplete(message: unknown, connection: unknown): void {
    this.reply.completed++;
    super.handleCommandComplete(message, connection);
  }
}

/** An error from a multi-statement message, with what its completed commands returned. */
export interface BatchError extends Error {
  reply?: Reply;
  /** Where in the message the server located the error (code points from 1), when it did. */
  position?: string;
}

/** The server's error behind `error` (a cancellation wraps it), with the message's partial reply. */
export function batchErrorOf(error: unknown): BatchError {
  return (error instanceof CancelledError && error.cause ? error.cause : error) as BatchError;
}

/** Sends `sql` (one or more statements) as one simple-protocol message. */
function sendCounted(client: Client, sql: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const query = new CountingQuery(sql);
    query.callback = (error: Error | null) => {
      if (!error) return resolve(query.reply);
      (error as BatchError).reply = query.reply;
      reject(error);
    };
    client.query(query as unknown as pg.Submittable);
  });
}

interface BlockerRow {
  pid: number;
  application_name: string | null;
  usename: string | null;
  state: string | null;
  xact_start: string | null;
  age_seconds: number | null;
  query: string | null;
}

async function blockerOf(r: BlockerRow): Promise<Blocker> {
  return {
    pid: r.pid,
    applicationName: r.application_name ?? '',
    user: r.usename,
    state: r.state,
    ageSeconds: r.age_seconds,
    query: await normaliseQueryText(r.query ?? ''),
    xactStart: r.xact_start,
  };
}

/** `pid 4242 "billing-api" (idle in transaction, user app, transaction open 12 s): SELECT … = $1` */
export function describeBlocker(b: Blocker): string {
  const who = b.applicationName ? `"${b.applicationName}"` : 'an unnamed session';
  const about = [
    b.state ?? undefined,
    b.user ? `user ${b.user}` : undefined,
    b.ageSeconds !== null ? `transaction open ${b.ageSeconds} s` : undefined,
  ].filter(Boolean);
  return `pid ${b.pid} ${who}${about.length ? ` (${about.join(', ')})` : ''}: ${b.query || '(no query text)'}`;
}
