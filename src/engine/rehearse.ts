import { describeSqlError, sessionSettings } from './execute.js';
import type { ErrorDetail } from './result.js';
import { CancelledError, type StatementRunner } from './statement-runner.js';
import { batchesFrom, locateFailure } from './batches.js';
import type { Step, StatementStep, Unit } from './units.js';
import type { StreamedRun } from './stream.js';
import type { Client } from '../db/connect.js';

/**
 * Looks at the database inside the rehearsal's transaction (plan's catalog security checks):
 * before the first pending statement, and once every one has run without error, before the rollback.
 */
export interface RehearsalHooks {
  afterBegin?(client: Client): Promise<void>;
  beforeRollback?(client: Client): Promise<void>;
}

export interface RehearsalOutcome {
  /** What failed; `version` is missing when no single file can be named (a deferred constraint). */
  failure?: { version?: string; error: ErrorDetail };
  /** Statements that were not tried (they cannot run in a transaction, or depend on one that could not). */
  notRehearsed: string[];
}

const UNSAFE_NEW_ENUM_VALUE = '55P04';

/**
 * Runs every pending statement in one transaction that is always rolled back, so a broken file
 * is found before anything commits. What cannot run in a transaction is skipped and listed. A
 * later error that may only be the consequence of a skip (it names an object a skipped statement
 * touches, or uses an enum value added in this transaction) is not a failure: the rehearsal stops
 * there and lists the rest as not rehearsed rather than failing the run on a guess.
 */
export async function rehearse(
  units: Unit[],
  options: {
    runner: StatementRunner;
    lockTimeoutMs: number;
    statementTimeoutMs?: number;
    hooks?: RehearsalHooks;
  },
): Promise<RehearsalOutcome> {
  const { runner } = options;
  const notRehearsed: string[] = [];
  const skippedNames = new Set<string>();
  // The transactional statements in run order, cut where a non-transactional one was skipped.
  const segments: Array<{ skipped: StatementStep } | { steps: Step[] }> = units.map((u) =>
    u.kind === 'transaction' ? { steps: u.steps } : { skipped: u.step },
  );
  try {
    await runner.query(`BEGIN; ${sessionSettings(options, 'LOCAL')}`);
    await options.hooks?.afterBegin?.(runner.client);
    for (let s = 0; s < segments.length; s++) {
      const segment = segments[s];
      if ('skipped' in segment) {
        const { migration, statement } = segment.skipped;
        notRehearsed.push(`${migration.migration.path}:${statement.line}: ${statement.nonTransactional}`);
        for (const name of identifiersIn(statement.sql)) skippedNames.add(name);
        continue;
      }
      // The clock readings go unused; they set the timeouts again between files (timeouts.ts).
      for (const batch of batchesFrom(segment.steps, { timeouts: options })) {
        if (batch.kind === 'record') continue;
        try {
          await runner.query(batch.sql);
        } catch (error) {
          const located = locateFailure(batch, error);
          const code = (error as { code?: string }).code;
          const dependsOnSkipped = identifiersIn(located.step.statement.sql).some((name) =>
            skippedNames.has(name),
          );
          if (dependsOnSkipped || code === UNSAFE_NEW_ENUM_VALUE) {
            const rest = [
              ...batch.steps.slice(batch.indices.indexOf(located.index)),
              ...laterStatements(segments, s, batch),
            ];
            for (const step of rest)
              notRehearsed.push(
                `${step.part.path}:${step.statement.line}: depends on a statement that cannot be rehearsed`,
              );
            return { notRehearsed };
          }
          return { failure: failureOf(located, error), notRehearsed };
        }
      }
    }
    const deferred = await deferredConstraintFailure(runner);
    if (deferred) return { failure: deferred, notRehearsed };
    await options.hooks?.beforeRollback?.(runner.client);
    return { notRehearsed };
  } finally {
    await runner.client.query('ROLLBACK').catch(() => {});
  }
}

/**
 * Deferred constraints are checked at COMMIT, which a rehearsal never reaches: they are checked
 * here instead, in the state all pending files leave behind. A violation there means some file's
 * COMMIT would fail for real. (One that a later file repairs is not seen: in per-file mode that
 * file's COMMIT still fails, and the run is reverted.) No single file can be named.
 */
async function deferredConstraintFailure(
  runner: StatementRunner,
): Promise<RehearsalOutcome['failure'] | undefined> {
  try {
    await runner.query('SET CONSTRAINTS ALL IMMEDIATE');
    return undefined;
  } catch (error) {
    if (error instanceof CancelledError) return { error: { message: error.message } };
    const err = error as { message?: string; code?: string; detail?: string };
    return {
      error: {
        message: `a deferred constraint is violated once every pending file has run (checked at the end of the rehearsal): ${err.message}`,
        sqlstate: err.code,
        detail: err.detail,
        hint: 'A constraint declared DEFERRABLE INITIALLY DEFERRED is checked at COMMIT, so applying would fail there. Fix the file that leaves the data violating it.',
      },
    };
  }
}

function failureOf(
  located: ReturnType<typeof locateFailure>,
  error: unknown,
): NonNullable<RehearsalOutcome['failure']> {
  return {
    version: located.step.migration.migration.version,
    error: describeSqlError(error, located.step, located.positionInStatement),
  };
}

/** Every statement after `batch` (within its segment and in later segments). */
function laterStatements(
  segments: Array<{ skipped: StatementStep } | { steps: Step[] }>,
  index: number,
  batch: { indices: number[] },
): StatementStep[] {
  const out: StatementStep[] = [];
  const current = segments[index];
  if ('steps' in current) {
    for (const step of current.steps.slice(batch.indices[batch.indices.length - 1] + 1))
      if (step.kind === 'statement') out.push(step);
  }
  for (const segment of segments.slice(index + 1)) {
    if ('skipped' in segment) out.push(segment.skipped);
    else for (const step of segment.steps) if (step.kind === 'statement') out.push(step);
  }
  return out;
}

const KEYWORDS = new Set(
  'create drop index concurrently if not exists on only using btree hash gist gin brin reindex table schema database system vacuum full freeze verbose analyze alter detach partition finalize cluster set tablespace subscription connection publication with without cascade restrict unique nulls distinct include where'.split(
    ' ',
  ),
);

/** Lower-cased identifier-like words of a statement, SQL keywords removed. */
function identifiersIn(sql: string): string[] {
  return (sql.toLowerCase().match(/[a-z_][a-z0-9_$]*/g) ?? []).filter((word) => !KEYWORDS.has(word));
}

/**
 * The rehearsal of a run that fits in one transaction (stream.ts), parsing file k+1 while the
 * server runs file k. Nothing is skipped, so nothing is listed as not rehearsed. A parse error
 * propagates (after the rollback) as the GuardError it is.
 */
export async function rehearseStreamed(
  run: StreamedRun,
  options: { runner: StatementRunner; lockTimeoutMs: number; statementTimeoutMs?: number },
): Promise<RehearsalOutcome> {
  const { runner } = options;
  try {
    await runner.query(`BEGIN; ${sessionSettings(options, 'LOCAL')}`);
    for (const batch of batchesFrom(run.steps(), { timeouts: options })) {
      if (batch.kind === 'record') continue;
      try {
        await runner.query(batch.sql, run.whileWaiting);
      } catch (error) {
        return { failure: failureOf(locateFailure(batch, error), error), notRehearsed: [] };
      }
    }
    const deferred = await deferredConstraintFailure(runner);
    return deferred ? { failure: deferred, notRehearsed: [] } : { notRehearsed: [] };
  } finally {
    await runner.client.query('ROLLBACK').catch(() => {});
  }
}
