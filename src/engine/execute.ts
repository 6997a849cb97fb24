import type { Client } from '../db/connect.js';
import { quoteLiteral } from '../db/ident.js';
import type { Logger } from '../logger.js';
import type { Statement } from '../migrations/statements.js';
import type { ErrorDetail, LockReport } from './result.js';
import type { PreparedMigration, Step, Unit } from './units.js';

export interface ExecuteOptions {
  client: Client;
  logger: Logger;
  lockTimeoutMs: number;
  statementTimeoutMs?: number;
  lockRetries: number;
  /** Writes the history rows of a migration whose statements have all run (inside the same transaction). */
  record: (migration: PreparedMigration, durationMs: number) => Promise<void>;
  sleep?: (ms: number) => Promise<void>;
}

export interface ExecutionOutcome {
  /** Versions whose history row committed, in order. */
  committed: string[];
  /** Versions with some statements committed but no history row (a failure hit a non-atomic file). */
  partiallyCommitted: string[];
  durations: Map<string, number>;
  retries: LockReport['retries'];
  failure?: { version: string; error: ErrorDetail; rolledBack: string[] };
}

const LOCK_NOT_AVAILABLE = '55P03';

interface StepFailure {
  version: string;
  error: ErrorDetail;
  /** Index of the failing step within its unit. */
  stepIndex: number;
}

/** Runs the units in order; stops at the first failure, whose transaction is rolled back. */
export async function executeUnits(units: Unit[], options: ExecuteOptions): Promise<ExecutionOutcome> {
  const outcome: ExecutionOutcome = { committed: [], partiallyCommitted: [], durations: new Map(), retries: [] };
  const startedVersions = new Set<string>();
  for (const unit of units) {
    const failure =
      unit.kind === 'transaction'
        ? await runTransactionWithRetry(unit.steps, options, outcome)
        : await runAutocommit(unit.step, options, outcome);
    const versions = unit.kind === 'transaction' ? unit.steps.map((s) => s.migration.migration.version) : [unit.step.migration.migration.version];
    if (failure) {
      const ranBefore = versions.slice(0, failure.stepIndex);
      outcome.failure = {
        version: failure.version,
        error: failure.error,
        rolledBack: [...new Set(ranBefore)].filter((v) => v !== failure.version),
      };
      break;
    }
    for (const v of versions) startedVersions.add(v);
    if (unit.kind === 'transaction') {
      for (const step of unit.steps) if (step.kind === 'record') outcome.committed.push(step.migration.migration.version);
    }
  }
  outcome.partiallyCommitted = [...startedVersions].filter((v) => !outcome.committed.includes(v));
  return outcome;
}

async function runTransactionWithRetry(
  steps: Step[],
  options: ExecuteOptions,
  outcome: ExecutionOutcome,
): Promise<StepFailure | undefined> {
  for (let attempt = 0; ; attempt++) {
    const timings = new Map<string, number>();
    const failure = await runTransaction(steps, options, timings);
    if (!failure) {
      for (const [v, ms] of timings) outcome.durations.set(v, (outcome.durations.get(v) ?? 0) + ms);
      return undefined;
    }
    if (failure.error.sqlstate !== LOCK_NOT_AVAILABLE || attempt >= options.lockRetries) {
      for (const [v, ms] of timings) outcome.durations.set(v, (outcome.durations.get(v) ?? 0) + ms);
      return failure;
    }
    // Exponential backoff with full jitter: waiters that retry in lockstep would collide again.
    const delayMs = Math.round(Math.random() * Math.min(30_000, 500 * 2 ** attempt)) + 100;
    outcome.retries.push({ attempt: attempt + 1, delayMs, message: failure.error.message });
    options.logger.warn(
      `${failure.error.file}:${failure.error.line}: could not get a lock within ${options.lockTimeoutMs} ms; ` +
        `rolled back, retrying in ${delayMs} ms (retry ${attempt + 1} of ${options.lockRetries})`,
    );
    await (options.sleep ?? defaultSleep)(delayMs);
  }
}

async function runTransaction(
  steps: Step[],
  options: ExecuteOptions,
  timings: Map<string, number>,
): Promise<StepFailure | undefined> {
  const { client } = options;
  let index = 0;
  try {
    await client.query('BEGIN');
    await client.query(sessionSettings(options, 'LOCAL'));
    for (; index < steps.length; index++) {
      const step = steps[index];
      const version = step.migration.migration.version;
      const started = performance.now();
      if (step.kind === 'statement') await client.query(step.statement.sql);
      else await options.record(step.migration, Math.round(timings.get(version) ?? 0));
      timings.set(version, (timings.get(version) ?? 0) + performance.now() - started);
    }
    await client.query('COMMIT');
    return undefined;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    const stepIndex = Math.min(index, steps.length - 1);
    const failed = steps[stepIndex];
    return { version: failed.migration.migration.version, error: describeSqlError(error, failed), stepIndex };
  }
}

async function runAutocommit(
  step: Extract<Step, { kind: 'statement' }>,
  options: ExecuteOptions,
  outcome: ExecutionOutcome,
): Promise<StepFailure | undefined> {
  const { client } = options;
  const version = step.migration.migration.version;
  const started = performance.now();
  try {
    await client.query(sessionSettings(options, 'SESSION'));
    await client.query(step.statement.sql);
    return undefined;
  } catch (error) {
    return { version, error: describeSqlError(error, step), stepIndex: 0 };
  } finally {
    outcome.durations.set(version, (outcome.durations.get(version) ?? 0) + performance.now() - started);
    await client.query('RESET lock_timeout; RESET statement_timeout').catch(() => {});
  }
}

function sessionSettings(options: ExecuteOptions, scope: 'LOCAL' | 'SESSION'): string {
  const set = scope === 'LOCAL' ? 'SET LOCAL' : 'SET';
  const statementTimeout = options.statementTimeoutMs ?? 0;
  return `${set} lock_timeout = ${quoteLiteral(`${options.lockTimeoutMs}ms`)}; ${set} statement_timeout = ${quoteLiteral(`${statementTimeout}ms`)}`;
}

/** Turns a server error into file:line:column, using PostgreSQL's error position inside the statement. */
export function describeSqlError(error: unknown, step: Step): ErrorDetail {
  const err = error as { message?: string; code?: string; position?: string; detail?: string; hint?: string };
  const message = err?.message ?? String(error);
  if (step.kind === 'record') {
    return { message: `recording ${step.migration.migration.fileName} in the history failed: ${message}`, file: step.migration.migration.path, sqlstate: err.code };
  }
  const statement: Statement = step.statement;
  const source = step.migration.migration.up.source;
  let at = { line: statement.line, column: statement.column };
  const position = err?.position ? Number(err.position) : NaN;
  if (Number.isInteger(position) && position > 0) {
    at = source.position(source.byteOffsetOfChar(statement.startByte, position - 1));
  }
  return {
    message,
    file: step.migration.migration.path,
    ...at,
    sqlstate: err.code,
    detail: err.detail,
    hint: err.hint,
    statement: statement.sql.length > 500 ? `${statement.sql.slice(0, 500)}…` : statement.sql,
  };
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
