import { randomUUID } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import type { CommandContext } from '../commands/context.js';
import { applicationName } from '../config/run-context.js';
import { closeClient, connect, type Client } from '../db/connect.js';
import { errorMessage } from '../errors.js';
import type { RunResult } from '../engine/result.js';
import type { AuditEvent } from './chain.js';
import type { StageListener } from '../engine/events.js';
import {
  appliedEvent,
  backupEvent,
  eventsOfResult,
  factKey,
  lockRetryEvent,
  runIdentity,
  startedEvent,
  type RunIdentity,
} from './events.js';
import { auditLogExists, ensureAuditLog } from './schema.js';
import { appendAuditEvents } from './store.js';

export interface AuditRecorderOptions {
  /** Applied to every event before it is hashed and written. */
  scrubValue: <T>(value: T) => T;
}

/**
 * Writes one run's audit rows on a connection of its own, so they commit whatever happens to
 * the migration transaction. It listens to the run's stage events: "run started" goes out as soon
 * as that connection is up, and each committed file, backup and lock retry is written as its
 * event comes (in batches: one write in flight at a time, the rows that come meanwhile go in the
 * next), beside the run, never waiting for it. When the run is over, the rest (failures,
 * rollbacks, the run's end) is one batch from the result, leaving out what was already written.
 *
 * A run that opens no connection of its own (an apply with nothing to do, or one stopped before
 * it knew: commands/index.ts starts one only for work) writes its rows, "run started" with the
 * rest, on the session's connection once the session is over (`adopt`): nothing of a migration
 * is open there any more, and the run saves a login. Should that write fail (the connection
 * died), they go out on a connection of their own, as for any run.
 *
 * The log is created only by a run that itself left a trace in the database (a run record,
 * applied versions): a run refused before it touched anything on a fresh database, or a backup
 * (which writes nothing there), leaves nothing, as before; once the log exists, they are
 * recorded. Writing the audit log never fails a run: a problem is a warning.
 */
export class AuditRecorder {
  private readonly identity: RunIdentity;
  private readonly startedAt: string;
  private client?: Promise<Client>;
  /** Settles once the connection is up and "run started" was written if the log existed. */
  private opened?: Promise<void>;
  /** Whether the log is known to exist (it did when the run connected, or this run created it). */
  private logExists = false;
  /** Whether "run started" is in the log; if not, it goes first in the next write. */
  private startWritten = false;
  /** The hash of the row this run wrote last: the next write goes after it in one round trip (store.ts). */
  private newest?: string;
  /** Rows from stage events not written yet, and the facts already written (events.ts `factKey`). */
  private readonly queued: AuditEvent[] = [];
  private readonly written = new Set<string>();
  /** The live write in flight; once one fails, the rest waits for the end of the run. */
  private writing?: Promise<void>;
  private live = true;
  /** A file committed: the run has left a trace, and the log may be created for it. */
  private traced = false;
  /** The run reached the database: its rows are written, if not on its own connection then at the end. */
  private reached = false;
  /** The session's connection, kept to write on (`adopt`) instead of opening one. */
  private adopted = false;

  constructor(
    private readonly ctx: CommandContext,
    private readonly options: AuditRecorderOptions,
    startedAt = new Date(),
  ) {
    this.startedAt = startedAt.toISOString();
    const local = ctx.run.runUrl ? undefined : localIdentity();
    this.identity = runIdentity(ctx, randomUUID(), local);
  }

  /** The run has reached the database (its session logged in and read the files). */
  markReached(): void {
    this.reached = true;
  }

  /**
   * Keeps the session's connection (idle, its lock released) for the run's rows, when this run
   * opened no connection of its own; true when it took it. `logExists` as the session saw it.
   */
  adopt(client: Client, logExists: boolean): boolean {
    if (this.client) return false;
    this.client = Promise.resolve(client);
    this.opened = Promise.resolve();
    this.logExists = logExists;
    this.adopted = true;
    return true;
  }

  /** Connects and writes "run started" when the log exists; returns at once. Once per run. */
  start(): void {
    if (this.client) return;
    this.client = connect(this.ctx.settings.database, { applicationName: this.applicationName() });
    // Never rejects: a connection that failed is reported by finish(), a check that failed
    // means "create it if need be" (IF NOT EXISTS) with the first rows.
    this.opened = this.client.then(
      async (client) => {
        this.logExists = await auditLogExists(client).catch(() => false);
        if (this.logExists) await this.write(client, []).catch(() => {}); // else with the next rows
      },
      () => {},
    );
  }

  private applicationName(): string {
    const { settings, run } = this.ctx;
    return `${applicationName(settings.command, settings.environment, run)} audit`;
  }

  /** The stage events the log records as they happen (the rest comes from the result). */
  readonly listener: StageListener = (event) => {
    const at = new Date().toISOString();
    if (event.type === 'backup-taken') this.queued.push(backupEvent(this.identity, at, null, event.backup));
    else if (event.type === 'lock-retry') this.queued.push(lockRetryEvent(this.identity, at, null, event));
    else if (event.type === 'file-applied' && event.committed) {
      this.traced = true;
      this.queued.push(appliedEvent(this.identity, at, event.runId ?? null, event));
    } else return;
    // Rows before the first commit wait for it (or the end): a run refused later leaves no log.
    if (this.traced && this.live) this.writing ??= this.writeLive();
  };

  /** Writes what is queued, batch after batch, until the queue is empty or a write fails. */
  private async writeLive(): Promise<void> {
    try {
      const client = await this.client;
      await this.opened;
      while (client && this.live && this.queued.length > 0) {
        const batch = this.queued.splice(0);
        await this.write(client, batch).catch(() => {
          this.live = false; // the end of the run tries again, with the rest
          this.queued.unshift(...batch);
        });
      }
    } catch {
      // no connection: finish() says so
    } finally {
      this.writing = undefined;
    }
  }

  /**
   * Appends `events` (after "run started" when that is not in yet), creating the log in the same
   * transaction when it did not exist; should that fail (it appeared meanwhile, owned by another
   * role), the log is checked for first, as elsewhere. Scrubbed as one value: one search of its
   * JSON text settles that it holds no secret.
   */
  private async write(client: Client, events: AuditEvent[]): Promise<number> {
    const all = this.startWritten ? events : [startedEvent(this.identity, this.startedAt), ...events];
    if (all.length === 0) return 0;
    const rows = this.options.scrubValue(all);
    const chained = await appendAuditEvents(client, rows, {
      create: !this.logExists,
      after: this.newest,
    }).catch(async (error: unknown) => {
      if (this.logExists) throw error;
      await ensureAuditLog(client);
      return appendAuditEvents(client, rows);
    });
    this.newest = chained[chained.length - 1]?.hash;
    this.logExists = true;
    this.startWritten = true;
    for (const row of events) this.written.add(factKey(row));
    return rows.length;
  }

  /**
   * This run's "run started" row, scrubbed, for the manual-run guard: it writes it itself, in the
   * transaction that checks the rate limit (guard/manual-run.ts), then calls markStarted().
   */
  startedRow(): AuditEvent {
    return this.options.scrubValue(startedEvent(this.identity, this.startedAt));
  }

  /** "Run started" is on record (so the log exists): not written again; the run's end is written in any case. */
  markStarted(): void {
    this.startWritten = true;
    this.logExists = true;
  }

  /** Writes the rest of the run's rows and closes the connection. Never throws. */
  async finish(result: RunResult): Promise<void> {
    const { logger } = this.ctx;
    let client: Client | undefined;
    const began = Date.now();
    try {
      // A run that never reached the database changed nothing there, and has nowhere to write;
      // unless its start is on record already (a manual run): then its end is written too.
      if (!this.client && (this.startWritten || this.reached)) this.start();
      if (!this.client) return;
      client = await this.client;
      await this.opened;
      await this.writing;
      const leftATrace = result.runId !== undefined || result.applied.length > 0;
      if (!this.logExists && !leftATrace && !(await auditLogExists(client))) return;
      // This is the part of the audit log a run waits for: two round trips (store.ts). What
      // the result says, less what was written as it happened; rows a failed live write left
      // queued go first (they happened first).
      const rest = [
        ...this.queued.splice(0),
        ...eventsOfResult(this.identity, result).filter((e) => !this.written.has(factKey(e))),
      ];
      const writtenLive = this.written.size;
      let count: number;
      try {
        count = await this.write(client, rest);
      } catch (error) {
        if (!this.adopted) throw error;
        // The session's connection failed under the write: the rows go out on one of their own.
        await closeClient(client);
        [client, this.adopted] = [undefined, false];
        client = await connect(this.ctx.settings.database, { applicationName: this.applicationName() });
        count = await this.write(client, rest);
      }
      logger.debug(
        `Audit log: ${count} rows written in ${Date.now() - began} ms after the run ` +
          `(${writtenLive} while it ran)`,
      );
    } catch (error) {
      logger.warn(`Could not write the audit log (migration_guard.audit_log): ${errorMessage(error)}`);
    } finally {
      if (client) await closeClient(client);
    }
  }
}

function localIdentity(): { osUser: string; host: string } {
  let osUser = 'unknown';
  try {
    osUser = userInfo().username;
  } catch {
    // no passwd entry (some containers)
  }
  return { osUser, host: hostname() };
}
