import { errorMessage, GuardError } from '../../errors.js';
import { batchesFrom, durationsOf, locateFailure, type Batch } from '../batches.js';
import { CancelledError, batchErrorOf, type Reply } from '../statement-runner.js';
import type { Step } from '../units.js';
import type { ExecuteOptions } from './options.js';
import { addDurations, type StepFailure } from './outcome.js';
import { PlanNeededError } from './plan-needed.js';
import { settingStatements } from './settings-sql.js';
import { failureOf } from './sql-error.js';

/**
 * A commit that does not wait for its WAL flush. Used for every transaction of a run except the
 * last: the last one's (synchronous) commit flushes the WAL up to itself, and with it every earlier
 * commit, before the run reports success. A server crash mid-run can lose the most recent of these
 * commits, each a whole file with its history row, never part of one.
 */
const ASYNCHRONOUS_COMMIT = 'SET LOCAL synchronous_commit = off; COMMIT';

/**
 * One attempt at a transaction. `steps` may be produced while it runs (see stream.ts): then
 * `whileWaiting` is called after each batch is sent and before its result is awaited, so the
 * client prepares the next file while the server runs this one. An error from producing the steps
 * (a GuardError, or PlanNeededError) rolls back and propagates as is.
 */
export async function runTransaction(
  steps: Iterable<Step>,
  options: ExecuteOptions,
  timings: Map<string, number>,
  whileWaiting?: () => void,
): Promise<StepFailure | undefined> {
  const { runner } = options;
  const seen: Step[] = [];
  let current: Batch | undefined;
  try {
    await runner.query(
      ['BEGIN', ...settingStatements(options, 'LOCAL'), ...(options.prelude ?? [])].join('; '),
    );
    const records: Array<Extract<Batch, { kind: 'record' }>> = [];
    for (const batch of batchesFrom(steps, { timeouts: options })) {
      if (batch.kind === 'record') {
        seen[batch.first] = batch.step;
        records.push(batch);
        continue;
      }
      batch.indices.forEach((at, i) => (seen[at] = batch.steps[i]));
      current = batch;
      let reply: Reply;
      try {
        reply = await runner.query(batch.sql, whileWaiting);
      } catch (error) {
        const partial = batchErrorOf(error)?.reply;
        if (partial) addDurations(timings, durationsOf(batch, partial));
        throw error;
      }
      addDurations(timings, durationsOf(batch, reply));
    }
    if (records.length > 0) {
      current = records[0];
      runner.throwIfCancelled();
      await options.record(
        records.map(({ step }) => ({
          migration: step.migration,
          durationMs: Math.round(timings.get(step.migration.migration.version) ?? 0),
        })),
      );
    }
    current = undefined;
    runner.throwIfCancelled();
    await runner.client.query(options.asynchronousCommit ? ASYNCHRONOUS_COMMIT : 'COMMIT');
    return undefined;
  } catch (error) {
    await runner.client.query('ROLLBACK').catch(() => {});
    if (error instanceof GuardError || error instanceof PlanNeededError) throw error;
    if (current?.kind === 'statements') {
      const located = locateFailure(current, error);
      return failureOf(error, located.step, located.index, located.positionInStatement);
    }
    if (seen.length === 0) return startFailure(error, Array.isArray(steps) ? steps : []);
    const stepIndex = current ? current.first : seen.length - 1;
    return failureOf(error, seen[stepIndex], stepIndex);
  }
}

/**
 * A failure before any statement ran (opening the transaction, staging history rows): blamed on
 * the first statement when there is one to blame it on.
 */
export function startFailure(error: unknown, steps: Step[]): StepFailure {
  if (error instanceof GuardError || error instanceof PlanNeededError) throw error;
  if (steps.length > 0) return failureOf(error, steps[0], 0);
  if (error instanceof CancelledError)
    throw new GuardError('cancelled', `${error.message}; nothing was applied`, { cause: error });
  throw new GuardError(
    'migration-failed',
    `Could not start the migration transaction: ${errorMessage(error)}`,
    {
      hint: 'Nothing was applied. Check that the database role may create the supabase_migrations schema and its table.',
      cause: error,
    },
  );
}
