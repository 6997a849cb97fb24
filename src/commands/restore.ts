import { GuardError } from '../errors.js';
import type { RunResult } from '../engine/result.js';
import type { CommandContext } from './context.js';

/** rollback with strategy restore: wired to pg_restore by the backup module. */
export async function restoreCommand(ctx: CommandContext, result: RunResult): Promise<RunResult> {
  void result;
  throw new GuardError(
    'not-implemented',
    `strategy: restore is not available in this build (${ctx.settings.backupPath ?? 'no backup-path'})`,
  );
}
