import type { Client } from '../db/connect.js';
import { startRunRecord } from '../db/guard-store.js';
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
