import type { Client } from '../db/connect.js';
import type { TablesPresent } from '../db/guard-tables.js';
import { closeAbandonedRuns, describeAbandonedRun, findAbandonedRuns } from '../db/abandoned-runs.js';
import { ensureGuardSchema } from '../db/guard-store.js';
import type { RunResult } from '../engine/result.js';
import type { CommandContext } from './context.js';

/**
 * Finds runs that died without a word and says so. Under the migration lock (`close`) no other
 * live run can be among them, so their rows are closed as `abandoned`; without it (status, plan)
 * they are only reported. A failure here is a warning: it must not stop the command itself.
 */
export async function reconcileAbandonedRuns(
  ctx: CommandContext,
  result: RunResult,
  client: Client,
  options: { close: boolean; tables?: TablesPresent; anyOpen?: boolean },
): Promise<void> {
  try {
    const found = await findAbandonedRuns(client, [], options.tables, options.anyOpen);
    if (found.length === 0) return;
    // Rows of an older version's table: brought up to date first (additive columns only).
    if (options.close) await ensureGuardSchema(client);
    const runs = options.close ? await closeAbandonedRuns(client, found) : found;
    result.abandonedRuns = runs;
    for (const run of runs) {
      ctx.logger.warn(
        `${describeAbandonedRun(run)}. ${
          run.closed
            ? 'Its record is now closed as abandoned.'
            : 'It is still recorded as running; the next apply (or rollback) closes it as abandoned.'
        }${run.applied.length ? ' Check that what it applied is what you expect (status lists it).' : ''}`,
      );
    }
  } catch (error) {
    ctx.logger.warn(`Could not check for runs that ended without finishing: ${(error as Error).message}`);
  }
}
