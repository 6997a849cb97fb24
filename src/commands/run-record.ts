import type { Client } from '../db/connect.js';
import { ensureGuardSchema, startRunRecord } from '../db/guard-store.js';
import type { CommandContext } from './context.js';

/** Opens this run's row in migration_guard.runs (committed at once, so a failed run is on record too). */
export function startRun(ctx: CommandContext, client: Client, command: string): Promise<number> {
  return startRunRecord(client, {
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

/**
 * This run's row, opened once: before anything runs, or (when the run streams, see
 * engine/stream.ts) from the control connection as soon as every file has parsed, so a file that
 * does not parse leaves no trace, not even our own schema. Either way the row is committed before
 * the migrations' history rows, which name it.
 */
export class RunRecord {
  private opening?: Promise<number>;

  constructor(
    private readonly ctx: CommandContext,
    private readonly client: Client,
  ) {}

  /** Whether the row is open or being opened. */
  get started(): boolean {
    return this.opening !== undefined;
  }

  /** Opens the row on `on` (default: the session's connection) unless it is open or opening. */
  open(on: Client = this.client): Promise<number> {
    if (!this.opening) {
      const opening = (async () => {
        await ensureGuardSchema(on);
        return startRun(this.ctx, on, 'apply');
      })();
      // A failed attempt (say, on the control connection) may be retried on the session's connection.
      opening.catch(() => {
        if (this.opening === opening) this.opening = undefined;
      });
      this.opening = opening;
    }
    return this.opening;
  }
}
