import type { TransactionMode } from '../../config/settings.js';
import type { Client } from '../../db/connect.js';
import {
  forgetPartialMigrations,
  recordPartialMigrations,
  type PartialMigration,
} from '../../db/partial-store.js';
import { errorMessage } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { ExecutionOutcome } from '../execute.js';
import { forgetPartialSql } from '../plan.js';
import type { RunResult } from '../result.js';
import type { ExecutionPlan, PreparedMigration } from '../units.js';

/**
 * Whether apply rehearses the run before anything commits, and why (the report says it). Only a
 * run that commits in more than one piece needs it: per-file runs, and `all` runs cut by a
 * statement that cannot run in a transaction or an enum value that must commit before its use.
 * A run that is one transaction keeps its speed: a failure there rolls all of it back anyway.
 */
export function rehearsalReason(
  mode: TransactionMode,
  execution: ExecutionPlan | undefined,
): { rehearse: boolean; reason: string } {
  if (mode === 'per-file')
    return {
      rehearse: true,
      reason:
        'per-file mode commits file by file, so the run is first tried in a transaction that is rolled back',
    };
  if (!execution || execution.units.length <= 1)
    return {
      rehearse: false,
      reason:
        'the run is one transaction: a failure anywhere rolls all of it back, so no rehearsal is needed',
    };
  const why = [...execution.nonAtomic].flatMap(([version, reasons]) => {
    const file = fileOf(execution, version);
    return reasons.map((r) => `${file}: ${r}`);
  });
  return {
    rehearse: true,
    reason:
      `the run cannot be one transaction (${why.join('; ')}), so it is first tried in a transaction that is ` +
      'rolled back: a failure anywhere is found before anything commits',
  };
}

/** Marks the files an earlier run left partly applied so the plan resumes each after its committed statements. */
export function resumePartialFiles(
  prepared: PreparedMigration[],
  partial: Map<string, PartialMigration>,
): PreparedMigration[] {
  return prepared.map((item) => {
    const part = partial.get(item.migration.version);
    // The plan refuses a partly applied file whose checksum changed; same file, same statements.
    if (!part || part.checksum !== item.migration.checksum) return item;
    return { ...item, resumeAfter: Math.min(part.statementsDone, item.statements.length) };
  });
}

/**
 * After a failed run: books the files it left partly applied in migration_guard.partial_migrations
 * and forgets the rows of files that are now whole (or were reverted whole). Returns, for the
 * report, every file that remains partly applied (this run's and earlier runs') and what the next
 * run does with it.
 */
export async function bookPartialFiles(
  logger: Logger,
  client: Client,
  run: {
    outcome: ExecutionOutcome;
    execution?: ExecutionPlan;
    known: Map<string, PartialMigration>;
    runId?: number;
  },
): Promise<RunResult['partiallyApplied']> {
  const { outcome, execution, known } = run;
  const items = execution ? preparedByVersion(execution) : new Map<string, PreparedMigration>();
  const rows: PartialMigration[] = [];
  for (const version of outcome.partiallyCommitted) {
    const item = items.get(version);
    if (!item) continue;
    const done = (item.resumeAfter ?? 0) + (outcome.statementsCommitted.get(version) ?? 0);
    rows.push({
      version,
      name: item.migration.name,
      checksum: item.migration.checksum,
      statementsTotal: item.statements.length,
      statementsDone: done,
      statements: item.statements.slice(0, done).map((s) => s.historyText),
      outsideTransaction: outcome.nonTransactionalDone
        .filter((n) => n.version === version)
        .map((n) => ({ line: n.line, statement: n.statement, failed: n.failed })),
      runId: run.runId,
    });
  }
  try {
    await recordPartialMigrations(client, rows);
    if (known.size > 0)
      await forgetPartialMigrations(
        client,
        outcome.committed.filter((v) => known.has(v)),
      );
  } catch (error) {
    logger.warn(
      `Could not record the partly applied file(s) ${rows.map((r) => r.version).join(', ')} in migration_guard.partial_migrations: ${errorMessage(error)}`,
    );
  }
  const booked = new Set(rows.map((r) => r.version));
  const earlier = [...known.values()].filter(
    (p) => !booked.has(p.version) && !outcome.committed.includes(p.version),
  );
  const outstanding = [...rows, ...earlier].map((part) => {
    const item = items.get(part.version);
    const next = item?.statements[part.statementsDone];
    const resumeAt = next
      ? `resumes it at statement ${part.statementsDone + 1} (line ${next.line})`
      : 'records it as applied (all its statements committed) together with the files after it';
    return {
      version: part.version,
      file: item?.migration.path ?? part.name,
      statementsDone: part.statementsDone,
      statementsTotal: part.statementsTotal,
      nextStep:
        `statements 1-${part.statementsDone} of ${part.statementsTotal} are committed (no history row; recorded in ` +
        `migration_guard.partial_migrations). The next apply ${resumeAt} if the file is unchanged; to start it ` +
        `over instead, undo those statements by hand and ${forgetPartialSql(part.version)}`,
    };
  });
  return outstanding.length > 0 ? outstanding : undefined;
}

function preparedByVersion(execution: ExecutionPlan): Map<string, PreparedMigration> {
  const items = new Map<string, PreparedMigration>();
  for (const unit of execution.units) {
    const steps = unit.kind === 'transaction' ? unit.steps : [unit.step];
    for (const step of steps) items.set(step.migration.migration.version, step.migration);
  }
  return items;
}

function fileOf(execution: ExecutionPlan, version: string): string {
  return preparedByVersion(execution).get(version)?.migration.fileName ?? version;
}
