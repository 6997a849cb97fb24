import { ensureGuardSchema, finishRunRecord, recordChecksum, startRunRecord } from '../db/guard-store.js';
import { ensureHistoryTable, insertHistoryRow } from '../db/history.js';
import { schemaFingerprint } from '../db/fingerprint.js';
import { formatLocation, GuardError } from '../errors.js';
import { executeUnits } from '../engine/execute.js';
import { prepareMigrations } from '../engine/prepare.js';
import type { MigrationOutcome, MigrationStatus, RunResult } from '../engine/result.js';
import { buildExecutionPlan, type PreparedMigration } from '../engine/units.js';
import type { CommandContext } from './context.js';
import { withSession } from './session.js';

/** apply: every pending migration, under the lock, in the configured transaction mode. */
export async function applyCommand(ctx: CommandContext, result: RunResult): Promise<RunResult> {
  const { settings, logger } = ctx;
  result.transactionMode = settings.transactionMode;
  return withSession(ctx, result, { lock: true }, async ({ client, plan }) => {
    stopOnBlockingFindings(result);
    if (plan.pending.length === 0) {
      result.status = 'nothing-to-do';
      result.message = `Nothing to apply: all ${plan.rows.length} migrations are already applied.`;
      logger.info(result.message);
      return result;
    }
    const prepared = await prepareMigrations(plan.pending);
    const execution = buildExecutionPlan(prepared, settings.transactionMode);
    result.migrations = prepared.map((p) => outcomeOf(p, 'not-run', execution.nonAtomic.get(p.migration.version)));
    for (const m of result.migrations.filter((o) => !o.atomic)) {
      logger.warn(`${m.file} is not atomic: ${m.nonAtomicReasons.join('; ')}`);
    }

    await ensureHistoryTable(client);
    await ensureGuardSchema(client);
    const runId = await startRunRecord(client, {
      command: 'apply',
      environment: settings.environment,
      transactionMode: settings.transactionMode,
      actor: ctx.run.actor,
      runUrl: ctx.run.runUrl,
      repository: ctx.run.repository,
      ref: ctx.run.ref,
      sha: ctx.run.sha,
    });
    result.runId = runId;
    const fingerprintBefore = await schemaFingerprint(client);
    logger.info(`Applying ${prepared.length} migration(s) in ${settings.transactionMode === 'all' ? 'one transaction' : 'one transaction per file'}`);

    const outcome = await executeUnits(execution.units, {
      client,
      logger,
      lockTimeoutMs: settings.lockTimeoutMs,
      statementTimeoutMs: settings.statementTimeoutMs,
      lockRetries: settings.lockRetries,
      record: async (item, durationMs) => {
        const { migration } = item;
        await insertHistoryRow(client, {
          version: migration.version,
          name: migration.name,
          statements: item.statements.map((s) => s.historyText),
        });
        await recordChecksum(client, {
          version: migration.version,
          name: migration.name,
          checksum: migration.checksum,
          appliedBy: ctx.run.actor,
          runId,
          durationMs,
          method: 'applied',
        });
      },
    });
    if (result.lock) result.lock.retries = outcome.retries;

    const committed = new Set(outcome.committed);
    const partial = new Set(outcome.partiallyCommitted);
    const rolledBack = new Set(outcome.failure?.rolledBack ?? []);
    for (const m of result.migrations) {
      m.durationMs = Math.round(outcome.durations.get(m.version) ?? 0);
      if (committed.has(m.version)) m.status = 'applied';
      else if (outcome.failure?.version === m.version) {
        m.status = partial.has(m.version) ? 'partially-applied' : 'failed';
        m.error = outcome.failure.error;
      } else if (partial.has(m.version)) m.status = 'partially-applied';
      else if (rolledBack.has(m.version)) m.status = 'rolled-back';
    }
    result.applied = outcome.committed;
    result.pendingCount = plan.pending.length - outcome.committed.length;
    if (outcome.committed.length > 0) result.currentVersion = outcome.committed[outcome.committed.length - 1];

    if (!outcome.failure) {
      result.status = 'success';
      result.message = `Applied ${outcome.committed.length} migration(s).`;
    } else {
      const failed = outcome.failure.error;
      const fingerprintAfter = await schemaFingerprint(client);
      result.schemaFingerprint = { before: fingerprintBefore, after: fingerprintAfter };
      result.error = failed;
      const changed = outcome.committed.length > 0 || outcome.partiallyCommitted.length > 0;
      result.status = changed ? 'failed' : 'rolled-back';
      result.committedBeforeFailure = changed ? [...outcome.committed, ...outcome.partiallyCommitted] : undefined;
      const where = formatLocation(failed.file ? { file: failed.file, line: failed.line, column: failed.column } : undefined);
      result.message = changed
        ? `${where}${failed.message}. ${describeCommitted(outcome.committed, outcome.partiallyCommitted)}`
        : `${where}${failed.message}. The run was rolled back: the database is as it was before (schema fingerprint ${fingerprintBefore === fingerprintAfter ? 'unchanged' : 'CHANGED'}).`;
    }
    await finishRunRecord(client, runId, { status: result.status, applied: result.applied, error: result.error?.message });
    if (result.status === 'success') logger.info(result.message);
    return result;
  });
}

function stopOnBlockingFindings(result: RunResult): void {
  const blocking = result.findings.filter((f) => f.severity === 'error');
  if (blocking.length === 0) return;
  const code = blocking.some((f) => f.code === 'out-of-order') && blocking.every((f) => f.code === 'out-of-order') ? 'out-of-order' : 'drift';
  throw new GuardError(code, `Nothing was applied: the migration history and the files disagree:\n${blocking.map((f) => `  - ${f.message}`).join('\n')}`, {
    hint: 'Fix the files listed above and run again.',
  });
}

function describeCommitted(committed: string[], partial: string[]): string {
  const parts = [];
  if (committed.length) parts.push(`Committed before the failure and still applied: ${committed.join(', ')}.`);
  if (partial.length) parts.push(`Partly applied (statements outside a transaction ran, no history row): ${partial.join(', ')}: check them by hand.`);
  return parts.join(' ');
}

function outcomeOf(item: PreparedMigration, status: MigrationStatus, nonAtomic: string[] | undefined): MigrationOutcome {
  return {
    version: item.migration.version,
    name: item.migration.name,
    file: item.migration.path,
    status,
    durationMs: 0,
    statements: item.statements.length,
    atomic: !nonAtomic || nonAtomic.length === 0,
    nonAtomicReasons: nonAtomic ?? [],
  };
}
