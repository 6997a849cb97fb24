import { errorMessage, GuardError } from '../errors.js';
import { executeUnits } from '../engine/execute.js';
import type { RollbackReport } from '../engine/result.js';
import { forgetMigrations } from '../db/guard-store.js';
import { buildRevertUnit } from '../engine/revert.js';
import type { Migration } from '../migrations/discover.js';
import type { CommandContext } from './context.js';
import { executionOptions, type Session } from './session.js';

/**
 * A per-file run failed after committing some of its files: revert those with their down
 * migrations, newest first, in one transaction. Where one has no down migration nothing is
 * reverted, and the report says exactly what is applied and what to do.
 */
export async function revertAfterFailure(
  ctx: CommandContext,
  session: Session,
  committed: Migration[],
): Promise<RollbackReport> {
  const versions = committed.map((m) => m.version);
  const { logger } = ctx;
  let unit;
  try {
    unit = await buildRevertUnit(committed);
  } catch (error) {
    const reason = errorMessage(error);
    logger.error(`Automatic rollback not possible: ${reason}`);
    return {
      kind: 'automatic',
      reverted: [],
      succeeded: false,
      error: { message: reason, ...(error instanceof GuardError ? error.location : {}) },
      stillApplied: versions,
      nextStep:
        `Applied and NOT reverted: ${versions.join(', ')}. Add the missing down migration(s) and run rollback with count: ${versions.length}, ` +
        'or fix the failing migration and run apply again to finish the release.',
    };
  }
  logger.info(`Reverting ${versions.join(', ')} with their down migrations (newest first, one transaction)`);
  const outcome = await executeUnits(
    [unit],
    executionOptions(ctx, session, (items) =>
      forgetMigrations(
        session.client,
        items.map((i) => i.migration.migration.version),
      ),
    ),
  );
  if (outcome.failure) {
    return {
      kind: 'automatic',
      reverted: [],
      succeeded: false,
      error: outcome.failure.error,
      stillApplied: versions,
      nextStep: `The down migrations failed and were rolled back, so ${versions.join(', ')} are still applied. Fix the down migration named above, then run rollback with count: ${versions.length}.`,
    };
  }
  return { kind: 'automatic', reverted: [...versions].reverse(), succeeded: true };
}
