import { withTransaction } from '../db/transaction.js';
import { ensureGuardSchema, finishRunRecord, recordChecksum, startRunRecord } from '../db/guard-store.js';
import { sessionSettings } from '../engine/execute.js';
import { ensureHistoryTable, insertHistoryRow } from '../db/history.js';
import { GuardError } from '../errors.js';
import { compareVersions } from '../migrations/discover.js';
import type { RunResult } from '../engine/result.js';
import type { CommandContext } from './context.js';
import { withSession } from './session.js';

/**
 * baseline: records pending migrations up to `target-version` (`all`: every file on disk; there
 * is no default, see settings.ts) as applied without running them, for adopting a database whose
 * schema already matches the files.
 */
export async function baselineCommand(ctx: CommandContext, result: RunResult): Promise<RunResult> {
  const { settings, logger } = ctx;
  return withSession(ctx, result, { lock: true }, async ({ client, plan, set, historyReady }) => {
    const target = settings.targetVersion === 'all' ? undefined : settings.targetVersion;
    if (target && !set.migrations.some((m) => m.version === target)) {
      throw new GuardError(
        'invalid-input',
        `target-version ${target} matches no migration file in ${settings.migrationsDir}`,
        {
          hint: 'Pass the version (leading digits of the file name) of the newest migration the database already has.',
        },
      );
    }
    const drift = plan.findings.filter(
      (f) => f.code === 'drift' || f.code === 'missing-locally' || f.code === 'invalid-version',
    );
    if (drift.length > 0) {
      throw new GuardError(
        'drift',
        `Nothing was baselined: the history and the files disagree:\n${drift.map((f) => `  - ${f.message}`).join('\n')}`,
      );
    }
    const toMark = plan.pending.filter((m) => !target || compareVersions(m.version, target) <= 0);
    if (toMark.length === 0) {
      result.status = 'nothing-to-do';
      result.message = 'Nothing to baseline: those migrations are already recorded as applied.';
      logger.info(result.message);
      return result;
    }
    await ensureGuardSchema(client);
    const runId = await startRunRecord(client, ctx.scrubber, {
      command: 'baseline',
      environment: settings.environment,
      actor: ctx.run.actor,
      runUrl: ctx.run.runUrl,
      repository: ctx.run.repository,
      ref: ctx.run.ref,
      sha: ctx.run.sha,
    });
    result.runId = runId;
    await withTransaction(client, async () => {
      // The history table is created, or an older CLI's upgraded, as the CLI does it, with the rows.
      await client.query(sessionSettings(settings, 'LOCAL'));
      if (!historyReady) await ensureHistoryTable(client);
      for (const m of toMark) {
        await insertHistoryRow(client, { version: m.version, name: m.name, statements: [] });
        await recordChecksum(client, {
          version: m.version,
          name: m.name,
          checksum: m.checksum,
          appliedBy: ctx.run.actor,
          runId,
          method: 'baseline',
        });
      }
    });
    result.migrations = toMark.map((m) => ({
      version: m.version,
      name: m.name,
      file: m.path,
      status: 'baselined',
      durationMs: 0,
      statements: 0,
      atomic: true,
      nonAtomicReasons: [],
    }));
    result.applied = toMark.map((m) => m.version);
    result.pendingCount = plan.pending.length - toMark.length;
    result.currentVersion = [plan.currentVersion, ...result.applied]
      .filter((v): v is string => !!v)
      .sort(compareVersions)
      .pop();
    result.status = 'success';
    result.message = `Marked ${toMark.length} migration(s) as applied without running them (up to ${toMark[toMark.length - 1].version}).`;
    await finishRunRecord(client, ctx.scrubber, runId, { status: 'success', applied: result.applied });
    logger.info(result.message);
    return result;
  });
}
