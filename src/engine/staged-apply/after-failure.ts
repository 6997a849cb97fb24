import type { Client } from '../../db/connect.js';
import { schemaFingerprint } from '../../db/fingerprint.js';
import { readHistory } from '../../db/history.js';
import type { StageEvent } from '../events.js';
import type { ExecutionOutcome } from '../execute.js';
import type { RollbackReport, RunResult } from '../result.js';
import type { ExecutionPlan } from '../units.js';
import type { StagedApplyDeps } from './deps.js';
import { bookPartialFiles } from './partial-files.js';

/** What the stage after a failure found and did. */
export interface FailureSettled {
  /** The apply stage's outcome; after a lost connection, `committed` is what the database says it has. */
  execution: ExecutionOutcome;
  rollback?: RollbackReport;
  partiallyApplied?: RunResult['partiallyApplied'];
  fingerprintAfter: string;
}

/**
 * After a failure: find out what committed (on a new connection when the session's was lost),
 * undo this run's own committed files with their down migrations, book the files left partly
 * applied, and hand what was found to `record`, on the connection that is still up (closed after).
 */
export async function settleFailure<T>(
  deps: StagedApplyDeps,
  ran: ExecutionOutcome,
  run: { plan?: ExecutionPlan; emit: (event: StageEvent) => void },
  record: (found: FailureSettled, client: Client) => Promise<T>,
): Promise<T> {
  const { logger, session, runRecord } = deps;
  const { plan } = session;
  const failure = ran.failure!;
  let client: Client = session.client;
  let reconnected: Client | undefined;
  try {
    let execution = ran;
    if (failure.connectionLost) {
      // The session is gone (and with it the lock). A COMMIT may or may not have landed: ask the
      // database what it has, on a new connection, rather than trusting what we sent.
      logger.warn(
        'The database connection was lost during the run; reconnecting to check what was committed',
      );
      reconnected = await deps.reconnect();
      client = reconnected;
      const applied = new Set(((await readHistory(client)) ?? []).map((r) => r.version));
      execution = { ...ran, committed: plan.pending.map((m) => m.version).filter((v) => applied.has(v)) };
    }
    announceFailure(execution, run.emit);
    // Files this run committed (per-file mode, or all mode cut by an enum value) are undone by their
    // down migrations. Not after a cancellation (the job is being stopped: finish fast and report)
    // nor a lost connection (the session, and with it the lock, is gone).
    let rollback: RollbackReport | undefined;
    if (execution.committed.length > 0 && !failure.cancelled && !failure.connectionLost) {
      const toRevert = plan.pending.filter((m) => execution.committed.includes(m.version));
      rollback = await deps.revert(toRevert);
      run.emit({
        type: 'rolled-back',
        versions: rollback.succeeded ? rollback.reverted : toRevert.map((m) => m.version),
        how: 'down-migrations',
        succeeded: rollback.succeeded,
      });
    }
    if (failure.cancelled) run.emit({ type: 'cancelled', reason: failure.error.message });
    // Files left partly applied are booked in migration_guard.partial_migrations (status shows
    // them, the next apply resumes them); files that are now whole, or were reverted whole, lose theirs.
    const partiallyApplied = await bookPartialFiles(logger, client, {
      outcome: execution,
      execution: run.plan,
      known: plan.partial,
      runId: await runRecord.open(client).catch(() => undefined),
    });
    const fingerprintAfter = await schemaFingerprint(client);
    return await record({ execution, rollback, partiallyApplied, fingerprintAfter }, client);
  } finally {
    await reconnected?.end().catch(() => {});
  }
}

/** The failed file, and what its transaction took with it. */
function announceFailure(execution: ExecutionOutcome, emit: (event: StageEvent) => void): void {
  const failure = execution.failure!;
  if (!failure.cancelled) emit({ type: 'file-failed', version: failure.version, error: failure.error });
  // A statement that failed outside a transaction had nothing to roll back with it.
  const outside = execution.nonTransactionalDone.some((n) => n.failed && n.version === failure.version);
  if (!outside)
    emit({
      type: 'rolled-back',
      versions: [...failure.rolledBack, failure.version],
      how: 'transaction',
      succeeded: true,
    });
}
