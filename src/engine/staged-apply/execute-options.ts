import {
  MARK_FILE_START,
  recordAppliedMigrations,
  recordStagedMigrationSql,
  stageAppliedMigrations,
  unstageAppliedMigrations,
} from '../../db/guard-store.js';
import { CREATE_HISTORY } from '../../db/history.js';
import type { StageEvent } from '../events.js';
import { acceptedFindings } from '../lint-accepted.js';
import type { ExecuteOptions } from '../execute.js';
import { baseExecuteOptions } from '../execute/options.js';
import type { PreparedMigration } from '../units.js';
import type { StagedApplyDeps } from './deps.js';

/**
 * How the apply stage runs the units: the history rows it writes (naming the run, opened on the
 * first one), per-file chaining, and the `file-applied` and `lock-retry` events it emits.
 */
export function applyExecuteOptions(
  deps: StagedApplyDeps,
  run: {
    emit: (event: StageEvent) => void;
    runIdentity: () => Promise<{ appliedBy: string; runId: number }>;
  },
): ExecuteOptions {
  const { settings, logger, session } = deps;
  const { client, plan } = session;
  const toRow = (item: PreparedMigration) => ({
    version: item.migration.version,
    name: item.migration.name,
    statements: item.statements.map((s) => s.historyText),
    checksum: item.migration.checksum,
  });
  const position = new Map(plan.pending.map((m, index) => [m.version, index + 1]));
  const pendingBy = new Map(plan.pending.map((m) => [m.version, m]));
  // Known once the first history row is written, which is before anything commits.
  let runId: number | undefined;
  const runIdentity = async () => {
    const identity = await run.runIdentity();
    runId = identity.runId;
    return identity;
  };
  return {
    ...baseExecuteOptions(settings, logger, session.runner, async (items) =>
      recordAppliedMigrations(
        client,
        items.map(({ migration, durationMs }) => ({ ...toRow(migration), durationMs })),
        await runIdentity(),
      ),
    ),
    prelude: session.historyReady ? undefined : CREATE_HISTORY,
    // One transaction per file: consecutive ones travel together (engine/chain.ts).
    chain:
      settings.transactionMode === 'per-file'
        ? {
            stage: async (records) =>
              stageAppliedMigrations(
                client,
                records.map(({ ordinal, migration }) => ({ ordinal, ...toRow(migration) })),
                await runIdentity(),
              ),
            unstage: (count) => unstageAppliedMigrations(client, count),
            recordSql: recordStagedMigrationSql,
            markStart: MARK_FILE_START,
          }
        : undefined,
    onCommitted: (files) => {
      for (const { version, durationMs } of files)
        run.emit({
          type: 'file-applied',
          version,
          file: pendingBy.get(version)?.path,
          name: pendingBy.get(version)?.name,
          runId,
          lintIgnored: acceptedFindings(deps.lint, version),
          durationMs,
          index: position.get(version) ?? 0,
          total: plan.pending.length,
          committed: true,
        });
    },
    onRetry: (retry) => run.emit({ type: 'lock-retry', ...retry }),
  };
}
