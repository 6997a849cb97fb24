import { ensureGuardSchema, finishRunRecord, forgetMigrations } from '../db/guard-store.js';
import { GuardError } from '../errors.js';
import { executeUnits } from '../engine/execute.js';
import type { RunResult } from '../engine/result.js';
import { buildRevertUnit } from '../engine/revert.js';
import { compareVersions, isNumericVersion } from '../migrations/discover.js';
import { runBackupStage } from './backup-stage.js';
import type { CommandContext } from './context.js';
import { restoreCommand } from './restore.js';
import { startRun } from './run-record.js';
import { executionOptions, withSession } from './session.js';

/**
 * rollback: revert the newest `count` applied migrations (default 1), or every one newer than
 * `target-version`, with their down migrations, newest first, in one transaction. With
 * `strategy: restore` it restores a backup instead.
 */
export async function rollbackCommand(ctx: CommandContext, result: RunResult): Promise<RunResult> {
  if (ctx.settings.strategy === 'restore') return restoreCommand(ctx, result);
  const { settings, logger } = ctx;
  return withSession(ctx, result, { lock: true }, async (session) => {
    const { plan, set, client, runner } = session;
    const recorded = plan.rows.filter((r) => r.state !== 'pending').map((r) => r.version);
    // A history row whose version is not all digits has no place in the order and no file: it is
    // never a rollback target, and rollback (an emergency tool) is not blocked by it either.
    const unordered = recorded.filter((v) => !isNumericVersion(v));
    if (unordered.length > 0) {
      logger.warn(
        `Ignored ${unordered.length} history row(s) whose version is not a migration version (${unordered.map((v) => JSON.stringify(v)).join(', ')}): rollback neither counts nor removes them`,
      );
    }
    const applied = recorded.filter(isNumericVersion).sort(compareVersions);
    let targets: string[];
    if (settings.targetVersion) {
      if (!applied.includes(settings.targetVersion)) {
        throw new GuardError(
          'invalid-input',
          `target-version ${settings.targetVersion} is not an applied migration`,
          {
            hint: `Applied versions: ${applied.slice(-10).join(', ') || 'none'}. target-version is the newest migration to KEEP.`,
          },
        );
      }
      targets = applied.filter((v) => compareVersions(v, settings.targetVersion!) > 0);
    } else {
      const count = settings.count ?? 1;
      if (count > applied.length) {
        throw new GuardError(
          'invalid-input',
          `count ${count} is more than the ${applied.length} applied migration(s)`,
        );
      }
      targets = applied.slice(applied.length - count);
    }
    if (targets.length === 0) {
      result.status = 'nothing-to-do';
      result.message = `Nothing to roll back: ${settings.targetVersion} is already the newest applied version.`;
      return result;
    }
    const onDisk = new Map(set.migrations.map((m) => [m.version, m]));
    const missingFiles = targets.filter((v) => !onDisk.has(v));
    if (missingFiles.length > 0) {
      throw new GuardError(
        'rollback-impossible',
        `No migration file (and so no down migration) for applied version(s) ${missingFiles.join(', ')}`,
        {
          hint: 'Restore the files, or restore a backup with strategy: restore.',
        },
      );
    }
    const migrations = targets.map((v) => onDisk.get(v)!);
    const unit = await buildRevertUnit(migrations); // refuses before any change when a down is missing
    await runner.start();
    await runBackupStage(ctx, result, session);
    await ensureGuardSchema(client);
    const runId = await startRun(ctx, client, 'rollback');
    result.runId = runId;
    logger.info(`Reverting ${[...targets].reverse().join(', ')} (newest first, one transaction)`);
    const outcome = await executeUnits(
      [unit],
      executionOptions(ctx, session, (items) =>
        forgetMigrations(
          client,
          items.map((i) => i.migration.migration.version),
        ),
      ),
    );
    if (result.lock) result.lock.retries = outcome.retries;
    result.migrations = migrations.map((m) => ({
      version: m.version,
      name: m.name,
      file: m.down!.path,
      status: outcome.failure
        ? outcome.failure.version === m.version
          ? 'failed'
          : 'not-run'
        : 'rolled-back',
      durationMs: Math.round(outcome.durations.get(m.version) ?? 0),
      statements: 0,
      atomic: true,
      nonAtomicReasons: [],
      error: outcome.failure?.version === m.version ? outcome.failure.error : undefined,
    }));
    if (outcome.failure) {
      result.status = outcome.failure.cancelled ? 'cancelled' : 'failed';
      result.cancelled = outcome.failure.cancelled || undefined;
      result.error = outcome.failure.error;
      result.rollback = {
        kind: 'command',
        reverted: [],
        succeeded: false,
        error: outcome.failure.error,
        stillApplied: targets,
      };
      result.message = `${outcome.failure.error.file}:${outcome.failure.error.line ?? ''}: ${outcome.failure.error.message}. The rollback transaction was rolled back: ${targets.join(', ')} are still applied.`;
    } else {
      const reverted = [...targets].reverse();
      result.status = 'success';
      result.rollback = { kind: 'command', reverted, succeeded: true };
      result.currentVersion = applied.filter((v) => !targets.includes(v)).pop();
      result.pendingCount = plan.pending.length + targets.length;
      result.message = `Rolled back ${reverted.join(', ')}; current version ${result.currentVersion ?? 'none'}.`;
    }
    ctx.events?.emit({
      type: 'rolled-back',
      versions: result.rollback?.succeeded ? result.rollback.reverted : targets,
      how: 'down-migrations',
      succeeded: result.rollback?.succeeded ?? false,
    });
    if (outcome.failure?.cancelled)
      ctx.events?.emit({ type: 'cancelled', reason: outcome.failure.error.message });
    await finishRunRecord(client, ctx.scrubber, runId, {
      status: result.status,
      applied: [],
      error: result.error?.message,
      details: {
        strategy: 'down',
        reverted: result.rollback?.reverted ?? [],
        backup: result.backup?.path ?? null,
      },
    });
    logger.info(result.message);
    return result;
  });
}
