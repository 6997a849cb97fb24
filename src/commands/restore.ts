import { ensureGuardSchema, finishRunRecord, forgetChecksumsNotIn } from '../db/guard-store.js';
import { readHistory } from '../db/history.js';
import { GuardError } from '../errors.js';
import { compareVersions, isNumericVersion } from '../migrations/discover.js';
import type { RunResult } from '../engine/result.js';
import { resolvePgTools, runBackupStage } from './backup-stage.js';
import type { CommandContext } from './context.js';
import { startRun } from './run-record.js';
import { withSession } from './session.js';

/** The tool's own run records survive a restore: they are the record of the restore itself. */
const OWN_SCHEMA = 'migration_guard';

/**
 * rollback with strategy restore: replaces the database's contents with a backup, in one
 * transaction. Every write made since the backup is discarded, so the caller must name the
 * database in confirm-restore.
 */
export async function restoreCommand(ctx: CommandContext, result: RunResult): Promise<RunResult> {
  const { settings, logger } = ctx;
  const path = settings.backupPath!;
  if (settings.confirmRestore !== settings.database.database) {
    throw new GuardError(
      'confirmation-required',
      `Restoring ${path} discards every write made to "${settings.database.database}" since that backup was taken, so it needs confirm-restore: ${settings.database.database}` +
        (settings.confirmRestore ? ` (got "${settings.confirmRestore}")` : ''),
      { hint: 'Set confirm-restore to the database name to proceed. Nothing was changed.' },
    );
  }
  const { assertDecryptable, createProcessRunner, restoreBackup } = await import('../backup/index.js');
  // A wrong or missing identity is known before the lock, the safety backup or any row is written.
  await assertDecryptable(path, settings.backupDecryptionKey, 'restore-failed');
  return withSession(ctx, result, { lock: true, files: false }, async (session) => {
    const { client, serverMajor } = session;
    const tools = await resolvePgTools(ctx, serverMajor);
    await runBackupStage(ctx, result, session, tools); // a safety copy of what the restore will discard
    await ensureGuardSchema(client);
    const runId = await startRun(ctx, client, 'rollback');
    result.runId = runId;
    logger.warn(`Restoring ${path}: every write made since that backup is discarded`);
    const restored = await logger.group('Restore', () =>
      restoreBackup({
        target: settings.database,
        path,
        tools,
        runner: createProcessRunner(),
        logger,
        alsoKeep: [OWN_SCHEMA],
        identities: settings.backupDecryptionKey,
        lockTimeoutMs: settings.lockTimeoutMs * Math.max(1, settings.lockRetries),
      }),
    );
    // Checksums are ours (kept); the history came back from the backup: drop checksums it no longer has.
    const history = (await readHistory(client)) ?? [];
    await forgetChecksumsNotIn(
      client,
      history.map((h) => h.version),
    );
    result.rollback = {
      kind: 'restore',
      reverted: [],
      succeeded: true,
      backupPath: path,
      nextStep: `Restored ${restored.entries} entries (sha256 ${restored.sha256}); kept as they were: ${restored.keptSchemas.map((k) => k.name).join(', ') || 'none'}.`,
    };
    result.currentVersion = history
      .map((h) => h.version)
      .filter(isNumericVersion)
      .sort(compareVersions)
      .pop();
    result.status = 'success';
    result.message = `Restored ${path}: the database now equals that backup. Writes made after the backup were discarded (confirmed by confirm-restore).`;
    await finishRunRecord(client, ctx.scrubber, runId, {
      status: 'success',
      applied: [],
      // The restore discarded writes: record what was restored, on whose confirmation, and the
      // safety backup of the state it replaced.
      details: {
        strategy: 'restore',
        restoredBackup: path,
        restoredSha256: restored.sha256,
        confirmedDatabase: settings.confirmRestore,
        safetyBackup: result.backup?.path ?? null,
        keptSchemas: restored.keptSchemas.map((k) => k.name),
      },
    });
    logger.info(result.message);
    return result;
  });
}
