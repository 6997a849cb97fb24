import { quoteLiteral } from '../db/ident.js';
import type { Logger } from '../logger.js';
import type { ErrorDetail, LockReport } from './result.js';
import {
  CancelledError,
  describeBlocker,
  batchErrorOf,
  type Reply,
  type StatementRunner,
} from './statement-runner.js';
import { chainFrom, locateChainFailure } from './chain.js';
import { errorMessage, GuardError } from '../errors.js';
import { batchesFrom, durationsOf, locateFailure, type Batch } from './batches.js';
import { reassertCommands, resetsEverySetting, timeouts } from './timeouts.js';
import type { PreparedMigration, Step, StatementStep, Unit } from './units.js';
import { MAY_HAVE_LEFT_INVALID_INDEX, watchInvalidIndexes } from './invalid-index.js';

export interface ExecuteOptions {
  runner: StatementRunner;
  logger: Logger;
  lockTimeoutMs: number;
  statementTimeoutMs?: number;
  lockRetries: number;
  /**
   * Writes the history rows of the migrations whose statements a transaction ran, inside that
   * transaction just before COMMIT: one call (one round trip) per transaction, not per file.
   */
  record: (items: Array<{ migration: PreparedMigration; durationMs: number }>) => Promise<void>;
  /**
   * When given, consecutive transactions travel together as one message (chain.ts) and their
   * history rows are staged beforehand: for per-file runs, one round trip per 32 KB of SQL instead
   * of four per file.
   */
  chain?: {
    stage: (records: Array<{ ordinal: number; migration: PreparedMigration }>) => Promise<void>;
    /** Clears the rows staged under ordinals 1..count, once the run is done with them. */
    unstage: (count: number) => Promise<void>;
    recordSql: (ordinal: number) => string;
    /** An SQL expression, evaluated as each transaction opens, noting the start its record measures from. */
    markStart: string;
  };
  /** Backoff base; tests shorten it. */
  retryBaseMs?: number;
  /**
   * Bookkeeping DDL run first in every transaction until one commits: creating the history table
   * on a fresh database then shares the fate of the first migration instead of outliving a failure.
   */
  prelude?: readonly string[];
  /** Commit without waiting for the WAL flush (set per unit by executeUnits: all but the last). */
  asynchronousCommit?: boolean;
}

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

const LOCK_NOT_AVAILABLE = '55P03';

interface StepFailure {
  version: string;
  error: ErrorDetail;
  /** Index of the failing step within its unit. */
  stepIndex: number;
  cancelled: boolean;
  connectionLost: boolean;
}

/** What one attempt at the transactions from a given unit on achieved. */
interface Attempt {
  /** How many of the units, from the first one tried, committed. */
  committed: number;
  /** Why the next one did not. */
  failure?: StepFailure;
}

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
      options.chain && !resetsEverySetting(unit)
        ? await runChain(units, index, { ...options, prelude }, options.chain, ordinals, timings)
        : await runTransaction(
            unit.steps,
            { ...options, prelude, asynchronousCommit: index < units.length - 1 },
            timings,
          ).then((failure): Attempt => ({ committed: failure ? 0 : 1, failure }));
    addTimings(outcome, timings);
    for (const done of units.slice(index, index + tried.committed)) {
      const steps = done.kind === 'transaction' ? done.steps : [done.step];
      settleUnit(outcome, steps, undefined);
      for (const step of steps) startedVersions.add(step.migration.migration.version);
    }
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
    addTimings(outcome, timings);
    if (!failure) break;
    failure = await waitToRetry(failure, attempt, options, outcome);
    if (failure) break;
  }
  settleUnit(outcome, source.produced(), failure);
  return outcome;
}

function emptyOutcome(): ExecutionOutcome {
  return {
    committed: [],
    partiallyCommitted: [],
    nonTransactionalDone: [],
    statementsCommitted: new Map(),
    durations: new Map(),
    retries: [],
  };
}

function addTimings(outcome: ExecutionOutcome, timings: Map<string, number>): void {
  for (const [v, ms] of timings) outcome.durations.set(v, (outcome.durations.get(v) ?? 0) + ms);
}

/** Books a finished unit into the outcome; false when it failed (and the run stops). */
function settleUnit(outcome: ExecutionOutcome, steps: Step[], failure: StepFailure | undefined): boolean {
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

/**
 * After a failed attempt: when it was a lock timeout and retries remain, waits (exponential
 * backoff scaled to the lock timeout, with jitter so runs retrying in lockstep do not collide
 * again) and returns undefined, meaning "try again". Otherwise returns the failure to report.
 * The wait ends early once the blocking transactions are gone; while they are open we do not
 * queue, so application queries only wait behind us during the retries.
 */
async function waitToRetry(
  failure: StepFailure,
  attempt: number,
  options: ExecuteOptions,
  outcome: ExecutionOutcome,
): Promise<StepFailure | undefined> {
  if (failure.error.sqlstate !== LOCK_NOT_AVAILABLE || failure.cancelled || attempt >= options.lockRetries)
    return failure;
  const base = Math.max(options.retryBaseMs ?? 500, options.lockTimeoutMs);
  const ceiling = Math.min(60_000, base * 2 ** attempt);
  const delayMs = Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
  const blockers = options.runner.blockers();
  const blocker = blockers.length > 0 ? blockers.map(describeBlocker).join('; ') : undefined;
  outcome.retries.push({ attempt: attempt + 1, delayMs, message: failure.error.message, blocker });
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

/**
 * A failure before any statement ran (opening the transaction, staging history rows): blamed on
 * the first statement when there is one to blame it on.
 */
function startFailure(error: unknown, steps: Step[]): StepFailure {
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

/**
 * One attempt at a transaction. `steps` may be produced while it runs (see stream.ts): then
 * `whileWaiting` is called after each batch is sent and before its result is awaited, so the
 * client prepares the next file while the server runs this one. An error from producing the steps
 * (a GuardError, or PlanNeededError) rolls back and propagates as is.
 */
async function runTransaction(
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
 * One attempt at the chain of transactions starting at unit `start` (see chain.ts): stages their
 * history rows, sends them as one message, and reports how many committed before any failure.
 */
async function runChain(
  units: Unit[],
  start: number,
  options: ExecuteOptions,
  chainOptions: NonNullable<ExecuteOptions['chain']>,
  ordinals: { next: number },
  timings: Map<string, number>,
): Promise<Attempt> {
  const { runner } = options;
  const chain = chainFrom(units, start, {
    open: (index) => [chainOpening(options, index < units.length - 1, chainOptions.markStart)],
    prelude: options.prelude,
    record: chainOptions.recordSql,
    firstOrdinal: ordinals.next,
    reassert: reassertCommands(options),
    alone: resetsEverySetting,
  });
  ordinals.next += chain.records.length;
  const firstSteps = (units[start] as Extract<Unit, { kind: 'transaction' }>).steps;
  let reply: Reply | undefined;
  try {
    runner.throwIfCancelled();
    await chainOptions.stage(
      chain.records.map(({ ordinal, step }) => ({ ordinal, migration: step.migration })),
    );
    reply = await runner.query(chain.sql);
    return { committed: chain.end - chain.first };
  } catch (error) {
    await runner.client.query('ROLLBACK').catch(() => {});
    const batchError = batchErrorOf(error);
    reply = batchError?.reply;
    if (!reply) return { committed: 0, failure: startFailure(error, firstSteps) };
    const located = locateChainFailure(chain, reply.completed, Number(batchError.position ?? NaN));
    const steps = (units[located.command.unit] as Extract<Unit, { kind: 'transaction' }>).steps;
    // BEGIN, SET and bookkeeping DDL are blamed on the file's first step, COMMIT on its history row.
    const stepIndex = located.command.stepIndex ?? (located.command.commit ? steps.length - 1 : 0);
    const failure = failureOf(
      error,
      steps[stepIndex],
      stepIndex,
      located.command.step ? located.positionInCommand : undefined,
    );
    return { committed: located.committed, failure };
  } finally {
    // Each history row returns its file's duration, by the server's clock.
    chain.commands.slice(0, reply?.completed ?? 0).forEach((command, i) => {
      const ms = Number(reply?.rows[i]?.duration_ms);
      if (command.step?.kind !== 'record' || !Number.isFinite(ms)) return;
      const version = command.step.migration.migration.version;
      timings.set(version, (timings.get(version) ?? 0) + ms);
    });
  }
}

function addDurations(timings: Map<string, number>, more: Map<string, number>): void {
  for (const [version, ms] of more) timings.set(version, (timings.get(version) ?? 0) + ms);
}

/**
 * Thrown by a step source when a file turns out to need the full plan (a statement that must run
 * outside the transaction): the attempt is rolled back and the caller plans the run properly.
 */
export class PlanNeededError extends Error {
  constructor(readonly version: string) {
    super(`migration ${version} needs a transaction of its own`);
    this.name = 'PlanNeededError';
  }
}

/**
 * A commit that does not wait for its WAL flush. Used for every transaction of a run except the
 * last: the last one's (synchronous) commit flushes the WAL up to itself, and with it every earlier
 * commit, before the run reports success. A server crash mid-run can lose the most recent of these
 * commits, each a whole file with its history row, never part of one.
 */
const ASYNCHRONOUS_COMMIT = 'SET LOCAL synchronous_commit = off; COMMIT';

/**
 * One statement that cannot run in a transaction. A failed CONCURRENTLY's INVALID index is dropped
 * (invalid-index.ts); a lock timeout that left nothing behind is retried with backoff, like a
 * transaction's. The attempt that stands (committed, or failed for good) is booked for the report.
 */
async function runOutsideTransaction(
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

function failureOf(error: unknown, step: Step, stepIndex: number, positionInStatement?: number): StepFailure {
  const cancelled = error instanceof CancelledError;
  const detail = describeSqlError(
    cancelled && (error as CancelledError).cause ? (error as CancelledError).cause : error,
    step,
    positionInStatement,
  );
  if (cancelled) detail.message = (error as Error).message;
  return {
    version: step.migration.migration.version,
    error: detail,
    stepIndex,
    cancelled,
    connectionLost: isConnectionLoss(error),
  };
}

/** Errors after which the session is gone: the server has rolled back whatever was open. */
export function isConnectionLoss(error: unknown): boolean {
  const err = error as { code?: string; message?: string };
  if (err?.code && ['57P01', '57P02', '57P03', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT'].includes(err.code))
    return true;
  return /Connection terminated|connection is closed|Client has encountered a connection error|not queryable/i.test(
    err?.message ?? '',
  );
}

/** The lock and statement timeouts every migration statement runs under (also used by the rehearsal). */
export function sessionSettings(
  options: Pick<ExecuteOptions, 'lockTimeoutMs' | 'statementTimeoutMs'>,
  scope: 'LOCAL' | 'SESSION',
): string {
  return settingStatements(options, scope).join('; ');
}

/**
 * The one command opening each transaction of a chain: what `SET LOCAL` would set, as
 * `set_config(…, true)` calls in a single SELECT (a chain of 500 files runs it 500 times), and the
 * start mark. Setting synchronous_commit here rather than just before COMMIT is the same: it is
 * read at COMMIT.
 */
function chainOpening(options: ExecuteOptions, asynchronousCommit: boolean, markStart: string): string {
  const settings: Array<[string, string]> = [
    ...timeouts(options),
    ...(asynchronousCommit ? [['synchronous_commit', 'off'] as [string, string]] : []),
  ];
  const local = settings.map(
    ([name, value]) => `set_config(${quoteLiteral(name)}, ${quoteLiteral(value)}, true)`,
  );
  return `SELECT ${[...local, markStart].join(', ')}`;
}

/** The timeouts as separate SET commands. */
function settingStatements(
  options: Pick<ExecuteOptions, 'lockTimeoutMs' | 'statementTimeoutMs'>,
  scope: 'LOCAL' | 'SESSION',
): string[] {
  const set = scope === 'LOCAL' ? 'SET LOCAL' : 'SET';
  return timeouts(options).map(([name, value]) => `${set} ${name} = ${quoteLiteral(value)}`);
}

/** Turns a server error into file:line:column, using PostgreSQL's error position inside the statement. */
export function describeSqlError(error: unknown, step: Step, positionInStatement?: number): ErrorDetail {
  const err = error as { message?: string; code?: string; position?: string; detail?: string; hint?: string };
  const message = err?.message ?? String(error);
  if (step.kind === 'record') {
    return {
      message: `recording ${step.migration.migration.fileName} in the history failed: ${message}`,
      file: step.migration.migration.path,
      sqlstate: err?.code,
    };
  }
  const { statement, part } = step;
  let at = { line: statement.line, column: statement.column };
  const position = positionInStatement ?? (err?.position ? Number(err.position) : NaN);
  if (Number.isInteger(position) && position > 0) {
    at = part.source.position(part.source.byteOffsetOfChar(statement.startByte, position - 1));
  }
  return {
    message: step.role === 'verify' ? `verify script failed: ${message}` : message,
    file: part.path,
    ...at,
    sqlstate: err?.code,
    detail: err?.detail,
    hint: err?.hint,
    // Whole: the sinks scrub it, then cut it to an excerpt (src/outbound.ts). Cut here, a secret
    // straddling the cut would leave a fragment no scrubber could recognise.
    statement: statement.sql,
  };
}
