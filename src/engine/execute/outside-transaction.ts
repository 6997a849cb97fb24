import { MAY_HAVE_LEFT_INVALID_INDEX, watchInvalidIndexes } from '../invalid-index.js';
import type { StatementStep } from '../units.js';
import type { ExecuteOptions } from './options.js';
import type { ExecutionOutcome, StepFailure } from './outcome.js';
import { waitToRetry } from './retry.js';
import { sessionSettings } from './settings-sql.js';
import { failureOf } from './sql-error.js';

/**
 * One statement that cannot run in a transaction. A failed CONCURRENTLY's INVALID index is dropped
 * (invalid-index.ts); a lock timeout that left nothing behind is retried with backoff, like a
 * transaction's. The attempt that stands (committed, or failed for good) is booked for the report.
 */
export async function runOutsideTransaction(
  step: StatementStep,
  attempt: number,
  options: ExecuteOptions,
  outcome: ExecutionOutcome,
): Promise<'retry' | { failure?: StepFailure }> {
  const { migration, statement } = step;
  const watch = await watchInvalidIndexes(options.runner.client, statement.nonTransactional).catch(
    () => undefined,
  );
  let failure = await runAutocommit(step, options, outcome);
  const left =
    failure && watch
      ? failure.cancelled || failure.connectionLost
        ? { note: MAY_HAVE_LEFT_INVALID_INDEX, clean: false }
        : await watch.cleanUp(options.lockTimeoutMs)
      : undefined;
  if (failure && (!left || left.clean)) {
    const final = await waitToRetry(failure, attempt, options, outcome);
    if (!final) return 'retry';
    failure = final;
  }
  outcome.nonTransactionalDone.push({
    version: migration.migration.version,
    file: migration.migration.path,
    line: statement.line,
    statement: statement.sql,
    failed: failure ? true : undefined,
    leftBehind: left?.note,
    cleanedUp: left?.note ? left.clean : undefined,
  });
  return { failure };
}

async function runAutocommit(
  step: StatementStep,
  options: ExecuteOptions,
  outcome: ExecutionOutcome,
): Promise<StepFailure | undefined> {
  const { runner } = options;
  const version = step.migration.migration.version;
  const started = performance.now();
  try {
    await runner.query(sessionSettings(options, 'SESSION'));
    await runner.query(step.statement.sql);
    return undefined;
  } catch (error) {
    return failureOf(error, step, 0);
  } finally {
    outcome.durations.set(version, (outcome.durations.get(version) ?? 0) + performance.now() - started);
    await runner.client.query('RESET lock_timeout; RESET statement_timeout').catch(() => {});
  }
}
