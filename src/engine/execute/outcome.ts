import type { ErrorDetail, LockReport } from '../result.js';
import type { Step } from '../units.js';

export interface ExecutionOutcome {
  /** Versions whose history row committed, in order. */
  committed: string[];
  /** Versions with some statements committed but no history row (a failure hit a non-atomic file). */
  partiallyCommitted: string[];
  /**
   * Statements that ran outside a transaction, for the report: those that committed, and the one
   * that failed (`failed`), which may still have left something behind (an INVALID index).
   */
  nonTransactionalDone: Array<{
    version: string;
    file: string;
    line: number;
    statement: string;
    failed?: boolean;
    /** What a failed one left behind (an INVALID index) and what became of it. */
    leftBehind?: string;
    /** Whether nothing of what it left behind remains (every INVALID index it made was dropped). */
    cleanedUp?: boolean;
  }>;
  /** Per version, how many of its (up) statements committed in this run: a partly applied file resumes after them. */
  statementsCommitted: Map<string, number>;
  durations: Map<string, number>;
  retries: LockReport['retries'];
  failure?: {
    version: string;
    error: ErrorDetail;
    rolledBack: string[];
    cancelled: boolean;
    connectionLost: boolean;
  };
}

export interface StepFailure {
  version: string;
  error: ErrorDetail;
  /** Index of the failing step within its unit. */
  stepIndex: number;
  cancelled: boolean;
  connectionLost: boolean;
}

/** What one attempt at the transactions from a given unit on achieved. */
export interface Attempt {
  /** How many of the units, from the first one tried, committed. */
  committed: number;
  /** Why the next one did not. */
  failure?: StepFailure;
}

export function emptyOutcome(): ExecutionOutcome {
  return {
    committed: [],
    partiallyCommitted: [],
    nonTransactionalDone: [],
    statementsCommitted: new Map(),
    durations: new Map(),
    retries: [],
  };
}

/** Adds `more` (milliseconds per version) to `timings`. */
export function addDurations(timings: Map<string, number>, more: Map<string, number>): void {
  for (const [version, ms] of more) timings.set(version, (timings.get(version) ?? 0) + ms);
}

/** Books a finished unit into the outcome; false when it failed (and the run stops). */
export function settleUnit(
  outcome: ExecutionOutcome,
  steps: Step[],
  failure: StepFailure | undefined,
): boolean {
  if (failure) {
    const ranBefore = steps.slice(0, failure.stepIndex).map((s) => s.migration.migration.version);
    outcome.failure = {
      version: failure.version,
      error: failure.error,
      rolledBack: [...new Set(ranBefore)].filter((v) => v !== failure.version),
      cancelled: failure.cancelled,
      connectionLost: failure.connectionLost,
    };
    return false;
  }
  for (const step of steps) {
    const version = step.migration.migration.version;
    if (step.kind === 'record') outcome.committed.push(version);
    else if (step.role === 'up')
      outcome.statementsCommitted.set(version, (outcome.statementsCommitted.get(version) ?? 0) + 1);
  }
  return true;
}
