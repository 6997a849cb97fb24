import { randomUUID } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import type { CommandContext } from '../commands/context.js';
import { applicationName } from '../config/run-context.js';
import { connect, type Client } from '../db/connect.js';
import { errorMessage } from '../errors.js';
import type { RunResult } from '../engine/result.js';
import type { AuditEvent } from './chain.js';
import { eventsOfResult, runIdentity, startedEvent, type RunIdentity } from './events.js';
import { auditLogExists, ensureAuditLog } from './schema.js';
import { appendAuditEvents } from './store.js';

export interface AuditRecorderOptions {
  /** Applied to every event before it is hashed and written. */
  scrubValue: <T>(value: T) => T;
}

/**
 * Writes one run's audit rows on a connection of its own, so they commit whatever happens to
 * the migration transaction. "Run started" goes out as soon as that connection is up, beside the
 * run (it never waits for it); everything else is one batch when the run is over.
 *
 * The log is created only by a run that itself left a trace in the database (a run record,
 * applied versions): a run refused before it touched anything on a fresh database, or a backup
 * (which writes nothing there), leaves nothing, as before; once the log exists, they are recorded. Writing the audit log never fails a run: a problem is a warning.
 */
export class AuditRecorder {
  private readonly identity: RunIdentity;
  private readonly startedAt: string;
  private client?: Promise<Client>;
  /** Whether the log existed when the run connected, and "run started" is written. */
  private started?: Promise<{ existed: boolean; written: boolean }>;
  /** "Run started" was written before the run began, by the manual-run guard (markStarted). */
  private startWritten = false;

  constructor(
    private readonly ctx: CommandContext,
    private readonly options: AuditRecorderOptions,
    startedAt = new Date(),
  ) {
    this.startedAt = startedAt.toISOString();
    const local = ctx.run.runUrl ? undefined : localIdentity();
    this.identity = runIdentity(ctx, randomUUID(), local);
  }

  /** Connects and writes "run started" when the log exists; returns at once. Once per run. */
  start(): void {
    if (this.client) return;
    const { settings, run } = this.ctx;
    this.client = connect(settings.database, {
      applicationName: `${applicationName(settings.command, settings.environment, run)} audit`,
    });
    this.started = this.client.then(async (client) => {
      if (this.startWritten) return { existed: true, written: true };
      if (!(await auditLogExists(client))) return { existed: false, written: false };
      const written = await this.append(client, [startedEvent(this.identity, this.startedAt)]).then(
        () => true,
        () => false, // written with the other rows at the end
      );
      return { existed: true, written };
    });
    this.started.catch(() => {}); // reported by finish()
  }

  /** Writes the rest of the run's rows and closes the connection. Never throws. */
  async finish(result: RunResult): Promise<void> {
    const { logger } = this.ctx;
    let client: Client | undefined;
    const began = Date.now();
    try {
      // A run that never reached the database changed nothing there, and has nowhere to write;
      // unless its start is on record already (a manual run): then its end is written too.
      if (!this.client && this.startWritten) this.start();
      if (!this.client) return;
      client = await this.client;
      const started = await this.started!.catch(() => ({ existed: false, written: false }));
      const leftATrace = result.runId !== undefined || result.applied.length > 0;
      if (!started.existed && !leftATrace && !(await auditLogExists(client))) return;
      // This is the part of the audit log a run waits for: three round trips (store.ts). A log
      // missing when the run connected is created in the same transaction; should that fail (it
      // appeared meanwhile, owned by another role), the log is checked for first, as elsewhere.
      const events = eventsOfResult(this.identity, result);
      // Scrubbed as one value: one search of its JSON text settles that it holds no secret.
      const rows = this.options.scrubValue(
        started.written ? events : [startedEvent(this.identity, this.startedAt), ...events],
      );
      await appendAuditEvents(client, rows, { create: !started.existed }).catch(async (error: unknown) => {
        if (started.existed) throw error;
        await ensureAuditLog(client!);
        await appendAuditEvents(client!, rows);
      });
      logger.debug(`Audit log: ${rows.length} rows written in ${Date.now() - began} ms after the run`);
    } catch (error) {
      logger.warn(`Could not write the audit log (migration_guard.audit_log): ${errorMessage(error)}`);
    } finally {
      await client?.end().catch(() => {});
    }
  }

  /**
   * This run's "run started" row, scrubbed, for the manual-run guard: it writes it itself, in the
   * transaction that checks the rate limit (guard/manual-run.ts), then calls markStarted().
   */
  startedRow(): AuditEvent {
    return this.options.scrubValue(startedEvent(this.identity, this.startedAt));
  }

  /** "Run started" is on record: it is not written again, and the run's end is written in any case. */
  markStarted(): void {
    this.startWritten = true;
  }

  private async append(client: Client, events: AuditEvent[]): Promise<void> {
    await appendAuditEvents(
      client,
      events.map((e) => this.options.scrubValue(e)),
    );
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
