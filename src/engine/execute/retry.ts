import { describeBlocker } from '../statement-runner.js';
import type { ExecuteOptions } from './options.js';
import type { ExecutionOutcome, StepFailure } from './outcome.js';

const LOCK_NOT_AVAILABLE = '55P03';

/** Longest wait between two attempts, whatever the lock timeout and attempt number. */
const MAX_DELAY_MS = 60_000;

/**
 * The wait before retry `attempt + 1`: exponential backoff scaled to the lock timeout, with jitter
 * (between half and all of the ceiling) so runs retrying in lockstep do not collide again.
 */
export function backoffDelayMs(
  attempt: number,
  options: Pick<ExecuteOptions, 'retryBaseMs' | 'lockTimeoutMs'>,
): number {
  const base = Math.max(options.retryBaseMs ?? 500, options.lockTimeoutMs);
  const ceiling = Math.min(MAX_DELAY_MS, base * 2 ** attempt);
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

/**
 * After a failed attempt: when it was a lock timeout and retries remain, waits (backoffDelayMs)
 * and returns undefined, meaning "try again". Otherwise returns the failure to report. The wait
 * ends early once the blocking transactions are gone; while they are open we do not queue, so
 * application queries only wait behind us during the retries.
 */
export async function waitToRetry(
  failure: StepFailure,
  attempt: number,
  options: ExecuteOptions,
  outcome: ExecutionOutcome,
): Promise<StepFailure | undefined> {
  if (failure.error.sqlstate !== LOCK_NOT_AVAILABLE || failure.cancelled || attempt >= options.lockRetries)
    return failure;
  const delayMs = backoffDelayMs(attempt, options);
  const blockers = options.runner.blockers();
  const blocker = blockers.length > 0 ? blockers.map(describeBlocker).join('; ') : undefined;
  outcome.retries.push({ attempt: attempt + 1, delayMs, message: failure.error.message, blocker });
  options.onRetry?.({ version: failure.version, attempt: attempt + 1, delayMs, blocker });
  options.logger.warn(
    `${failure.error.file}:${failure.error.line}: no lock within ${options.lockTimeoutMs} ms` +
      `${blocker ? `, blocked by ${blocker}` : ''}; rolled back, retrying in ${delayMs} ms (retry ${attempt + 1} of ${options.lockRetries})`,
  );
  try {
    await options.runner.waitForBlockers(delayMs);
    return undefined;
  } catch (error) {
    return { ...failure, error: { message: (error as Error).message }, cancelled: true };
  }
}
