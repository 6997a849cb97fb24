import { applicationName } from '../config/run-context.js';
import { connect, type Client } from '../db/connect.js';
import { ensureGuardSchema, finishRunRecord, startRunRecord, type RunOutcome } from '../db/guard-store.js';
import type { CommandContext } from './context.js';

/** Opens this run's row in migration_guard.runs (committed at once, so a failed run is on record too). */
export function startRun(
  ctx: CommandContext,
  client: Client,
  command: string,
  sessionPid?: number,
): Promise<number> {
  return startRunRecord(client, ctx.scrubber, {
    sessionPid,
    command,
    environment: ctx.settings.environment,
    transactionMode: ctx.settings.transactionMode,
    actor: ctx.run.actor,
    runUrl: ctx.run.runUrl,
    repository: ctx.run.repository,
    ref: ctx.run.ref,
    sha: ctx.run.sha,
  });
}

/** Each session's backend pid as the server reported it (pg_backend_pid()), noted by withSession. */
const sessionPids = new WeakMap<Client, number>();

export function noteSessionPid(client: Client, pid: number): void {
  sessionPids.set(client, pid);
}

/**
 * The pid of the session that runs the migrations: as the server reported it, else the one pg
 * received at connect time (BackendKeyData; behind a pooler that may not be the server's).
 */
function backendPidOf(client: Client): number | undefined {
  const pid = sessionPids.get(client) ?? (client as unknown as { processID?: unknown }).processID;
  return typeof pid === 'number' ? pid : undefined;
}

const UNDEFINED_TABLE = '42P01';

/** A lost connection (no SQLSTATE from a live server, or the server ending the session). */
function isConnectionLoss(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) return true;
  return code.startsWith('08') || code.startsWith('57P');
}

/**
 * This run's row, opened once: before anything runs, or (when the run streams, see
 * engine/stream.ts) from the control connection as soon as every file has parsed, so a file that
 * does not parse leaves no trace, not even our own schema. Either way the row is committed before
 * the migrations' history rows, which name it.
 */
export class RunRecord {
  private opening?: Promise<number>;
  private openingOn?: Client;

  constructor(
    private readonly ctx: CommandContext,
    private readonly client: Client,
  ) {}

  /** Whether the row is open or being opened. */
  get started(): boolean {
    return this.opening !== undefined;
  }

  /**
   * Opens the row on `on` (default: the session's connection) unless it is open or opening. When
   * an opening under way on another connection fails (the control connection, terminated by a
   * migration, say), the row is opened on `on` instead of failing the caller with that error.
   */
  async open(on: Client = this.client): Promise<number> {
    if (!this.opening) {
      const opening = (async () => {
        await ensureGuardSchema(on);
        // The row names the session that runs the migrations, whichever connection writes it.
        return startRun(this.ctx, on, 'apply', backendPidOf(this.client));
      })();
      // A failed attempt (say, on the control connection) may be retried on the session's connection.
      opening.catch(() => {
        if (this.opening === opening) this.opening = undefined;
      });
      this.opening = opening;
      this.openingOn = on;
    }
    const opening = this.opening;
    const openingOn = this.openingOn;
    try {
      return await opening;
    } catch (error) {
      if (openingOn === on) throw error;
      if (this.opening === opening) this.opening = undefined;
      return this.open(on);
    }
  }

  /**
   * Closes the row with the run's outcome, on `on`, and returns its id. When the control
   * connection could not open it, the row was opened inside the migration transaction; if that
   * transaction failed, the row went with it, and a new one is opened so the failure is on record.
   */
  async finish(outcome: RunOutcome, on: Client = this.client): Promise<number> {
    try {
      return await this.finishOn(on, outcome);
    } catch (error) {
      if (!isConnectionLoss(error)) throw error;
    }
    // The connection is gone (a migration may have terminated its own session): the outcome is
    // recorded on a new one rather than left `running`.
    const settings = this.ctx.settings;
    const fresh = await connect(settings.database, {
      applicationName: `${applicationName(settings.command, settings.environment, this.ctx.run)} recovery`,
    });
    try {
      return await this.finishOn(fresh, outcome);
    } finally {
      await fresh.end().catch(() => {});
    }
  }

  private async finishOn(on: Client, outcome: RunOutcome): Promise<number> {
    const id = await this.open(on);
    // On a fresh database our schema itself may have gone with that transaction.
    const { scrubber } = this.ctx;
    const closed = await finishRunRecord(on, scrubber, id, outcome).catch((error: { code?: string }) => {
      if (error?.code === UNDEFINED_TABLE) return false;
      throw error;
    });
    if (closed) return id;
    this.opening = undefined;
    const reopened = await this.open(on);
    await finishRunRecord(on, scrubber, reopened, outcome);
    return reopened;
  }
}
