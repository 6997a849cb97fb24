import { applicationName } from '../config/run-context.js';
import { withClient, type Client } from '../db/connect.js';
import { readChecksums } from '../db/guard-store.js';
import { readHistory } from '../db/history.js';
import { withAdvisoryLock, describeHolder } from '../db/lock.js';
import { buildPlan, type Plan } from '../engine/plan.js';
import type { RunResult } from '../engine/result.js';
import { discoverMigrations, type MigrationSet } from '../migrations/discover.js';
import type { CommandContext } from './context.js';

export interface Session {
  client: Client;
  set: MigrationSet;
  plan: Plan;
}

/**
 * The common opening of every command: read the files, connect, (optionally) take the migration
 * lock, read the history and compare. Nothing here writes to the database.
 */
export async function withSession<T>(
  ctx: CommandContext,
  result: RunResult,
  options: { lock: boolean },
  fn: (session: Session) => Promise<T>,
): Promise<T> {
  const { settings, logger } = ctx;
  const set = await discoverMigrations(settings.migrationsDir, ctx.cwd);
  result.skippedFiles = set.skipped;
  for (const skipped of set.skipped) logger.warn(`Skipped ${skipped.fileName}: ${skipped.reason}`);

  const appName = applicationName(settings.command, settings.environment, ctx.run);
  return withClient(settings.database, { applicationName: appName }, async (client) => {
    const { rows } = await client.query<{ server_version: string }>('SHOW server_version');
    result.database = { display: settings.database.display, serverVersion: rows[0].server_version };
    logger.info(`Connected to ${settings.database.display} (PostgreSQL ${rows[0].server_version})`);
    const inner = async () => {
      const plan = buildPlan(set, await readHistory(client), await readChecksums(client), {
        allowOutOfOrder: settings.allowOutOfOrder,
      });
      result.findings = plan.findings;
      result.currentVersion = plan.currentVersion;
      result.pendingCount = plan.pending.length;
      return fn({ client, set, plan });
    };
    if (!options.lock) return inner();
    return withAdvisoryLock(client, { timeoutMs: settings.runLockTimeoutMs, logger }, async (lock) => {
      result.lock = {
        waitedMs: lock.waitedMs,
        waitedFor: lock.waitedFor ? describeHolder(lock.waitedFor) : undefined,
        retries: [],
      };
      return inner();
    });
  });
}
