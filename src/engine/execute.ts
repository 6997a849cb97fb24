import type { Step, Unit } from './units.js';
import type { ExecuteOptions } from './execute/options.js';
import { runOutsideTransaction } from './execute/outside-transaction.js';
import {
  addDurations,
  emptyOutcome,
  settleUnit,
  type Attempt,
  type ExecutionOutcome,
  type StepFailure,
} from './execute/outcome.js';
import { waitToRetry } from './execute/retry.js';
import { runChain, travelsAlone } from './execute/run-chain.js';
import { runTransaction } from './execute/transaction.js';

/*
 * The executor, one concern per module under execute/: options.ts (what a caller passes),
 * outcome.ts (what it gets back), transaction.ts (one transaction), run-chain.ts (consecutive
 * per-file transactions as one message), outside-transaction.ts (statements that cannot run in a
 * transaction), retry.ts (lock-timeout retries and backoff), sql-error.ts (file:line:column of a
 * server error), connection-loss.ts, settings-sql.ts (the timeouts as SQL). This file runs the
 * units in order.
 */
export type { ExecuteOptions } from './execute/options.js';
export type { ExecutionOutcome } from './execute/outcome.js';
export { PlanNeededError } from './execute/plan-needed.js';
export { isConnectionLoss } from './execute/connection-loss.js';
export { describeSqlError } from './execute/sql-error.js';
export { sessionSettings } from './execute/settings-sql.js';

/**
 * Runs the units in order; stops at the first failure, whose transaction is rolled back. A
 * transaction that times out waiting for a lock is retried (with backoff) from where it stopped.
 */
export async function executeUnits(units: Unit[], options: ExecuteOptions): Promise<ExecutionOutcome> {
  const outcome = emptyOutcome();
  const startedVersions = new Set<string>();
  let prelude = options.prelude;
  let attempt = 0;
  const ordinals = { next: 1 };
  for (let index = 0; index < units.length;) {
    const unit = units[index];
    if (unit.kind === 'autocommit') {
      const tried = await runOutsideTransaction(unit.step, attempt, options, outcome);
      if (tried === 'retry') {
        attempt++;
        continue;
      }
      if (!settleUnit(outcome, [unit.step], tried.failure)) break;
      startedVersions.add(unit.step.migration.migration.version);
      attempt = 0;
      index++;
      continue;
    }
    const timings = new Map<string, number>();
    const tried =
      options.chain && !travelsAlone(unit)
        ? await runChain(units, index, { ...options, prelude }, options.chain, ordinals, timings)
        : await runTransaction(
            unit.steps,
            { ...options, prelude, asynchronousCommit: index < units.length - 1 },
            timings,
          ).then((failure): Attempt => ({ committed: failure ? 0 : 1, failure }));
    addDurations(outcome.durations, timings);
    // The history rows that committed (not every step: spreading a data file's hundreds of
    // thousands of statements into one call would overflow the stack).
    const committedRecords: Step[] = [];
    for (const done of units.slice(index, index + tried.committed)) {
      const steps = done.kind === 'transaction' ? done.steps : [done.step];
      settleUnit(outcome, steps, undefined);
      for (const step of steps) {
        startedVersions.add(step.migration.migration.version);
        if (step.kind === 'record') committedRecords.push(step);
      }
    }
    announceCommitted(options, outcome, committedRecords);
    if (tried.committed > 0) [attempt, prelude] = [0, undefined];
    index += tried.committed;
    if (!tried.failure) continue;
    const finalFailure = await waitToRetry(tried.failure, attempt, options, outcome);
    if (!finalFailure) {
      attempt++;
      continue;
    }
    const failed = units[index];
    settleUnit(outcome, failed.kind === 'transaction' ? failed.steps : [failed.step], finalFailure);
    break;
  }
  outcome.partiallyCommitted = [...startedVersions].filter((v) => !outcome.committed.includes(v));
  // Best effort: after a lost connection there is nothing left to clear.
  await options.chain?.unstage(ordinals.next - 1).catch(() => {});
  return outcome;
}

/**
 * The whole run as one transaction whose steps are produced while it runs (stream.ts): the same
 * outcome as `executeUnits` with a single transaction unit.
 */
export async function executeStreamedTransaction(
  source: { steps(): Iterable<Step>; produced(): Step[]; whileWaiting(): void },
  options: ExecuteOptions,
): Promise<ExecutionOutcome> {
  const outcome = emptyOutcome();
  let failure: StepFailure | undefined;
  for (let attempt = 0; ; attempt++) {
    const timings = new Map<string, number>();
    failure = await runTransaction(source.steps(), options, timings, source.whileWaiting);
    addDurations(outcome.durations, timings);
    if (!failure) break;
    failure = await waitToRetry(failure, attempt, options, outcome);
    if (failure) break;
  }
  settleUnit(outcome, source.produced(), failure);
  if (!failure) announceCommitted(options, outcome, source.produced());
  return outcome;
}

/** Tells `onCommitted` which files the steps just committed (those whose history row was among them). */
function announceCommitted(options: ExecuteOptions, outcome: ExecutionOutcome, steps: Step[]): void {
  if (!options.onCommitted) return;
  const files = steps
    .filter((step) => step.kind === 'record')
    .map((step) => {
      const version = step.migration.migration.version;
      return { version, durationMs: Math.round(outcome.durations.get(version) ?? 0) };
    });
  if (files.length > 0) options.onCommitted(files);
}
