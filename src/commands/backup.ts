import type { RunResult } from '../engine/result.js';
import { takeVerifiedBackup, unencryptedBackupFinding } from './backup-stage.js';
import type { CommandContext } from './context.js';
import { withSession } from './session.js';

/** backup: a verified pg_dump backup and nothing else. */
export async function backupCommand(ctx: CommandContext, result: RunResult): Promise<RunResult> {
  return withSession(ctx, result, { lock: false, files: false }, async ({ serverMajor }) => {
    result.backup = await takeVerifiedBackup(ctx, serverMajor);
    const unencrypted = unencryptedBackupFinding(ctx, result.backup);
    if (unencrypted) result.findings.push(unencrypted);
    result.status = 'success';
    result.message = `Backup written to ${result.backup.path} (sha256 ${result.backup.sha256}).`;
    return result;
  });
}
