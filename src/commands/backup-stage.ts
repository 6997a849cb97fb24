import { homedir } from 'node:os';
import { basename, isAbsolute, join } from 'node:path';
import type { PgTools } from '../backup/pg-tools.js';
import { errorMessage, GuardError } from '../errors.js';
import type { BackupReport, Finding, RunResult } from '../engine/result.js';
import type { CommandContext } from './context.js';
import type { Session } from './session.js';

/**
 * Where backups go unless `backup-dir` says otherwise: on a runner, its temp folder (the job's own,
 * kept for the job); elsewhere (the CLI), a folder of the user's own, never a shared, guessable
 * one in /tmp that another user could create first. Backups are kept there until removed.
 */
export function defaultBackupDir(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
): string {
  if (env.RUNNER_TEMP) return join(env.RUNNER_TEMP, 'migration-guard-backups');
  if (platform === 'win32' && env.LOCALAPPDATA)
    return join(env.LOCALAPPDATA, 'supabase-migration-guard', 'backups');
  // XDG Base Directory: state that outlives a reboot, per user; a relative value is to be ignored.
  const state =
    env.XDG_STATE_HOME && isAbsolute(env.XDG_STATE_HOME)
      ? env.XDG_STATE_HOME
      : join(env.HOME || homedir(), '.local', 'state');
  return join(state, 'supabase-migration-guard', 'backups');
}

/**
 * Finds a pg_dump/pg_restore at least as new as the server. Installs the client with apt only on
 * GitHub-hosted Linux runners (passwordless sudo, disposable machine); never on other machines.
 */
export async function resolvePgTools(ctx: CommandContext, serverMajor: number): Promise<PgTools> {
  const { aptInstaller, createProcessRunner, findPgTools } = await import('../backup/index.js');
  const runner = createProcessRunner();
  const hosted = process.env.RUNNER_ENVIRONMENT === 'github-hosted';
  return findPgTools({
    explicitPath: ctx.settings.pgDumpPath,
    serverMajor,
    runner,
    logger: ctx.logger,
    installer: hosted ? aptInstaller(runner, ctx.logger) : undefined,
  });
}

/** pg_dump custom format, read back by pg_restore --list, sha256 recorded: only then does it count. */
export async function takeVerifiedBackup(
  ctx: CommandContext,
  serverMajor: number,
  found?: PgTools,
): Promise<BackupReport> {
  const tools = found ?? (await resolvePgTools(ctx, serverMajor));
  const { createProcessRunner, takeBackup } = await import('../backup/index.js');
  const info = await ctx.logger.group('Backup', () =>
    takeBackup({
      target: ctx.settings.database,
      dir: ctx.settings.backupDir ?? defaultBackupDir(),
      environment: ctx.settings.environment,
      sha: ctx.run.sha,
      tools,
      runner: createProcessRunner(),
      logger: ctx.logger,
      encryptTo: ctx.settings.backupEncryptionKey,
    }),
  );
  return {
    path: info.path,
    sha256: info.sha256,
    sizeBytes: info.sizeBytes,
    durationMs: info.durationMs,
    pgDumpVersion: info.pgDumpVersion,
    entries: info.entries,
    ...(info.encrypted ? { encrypted: info.encrypted } : {}),
  };
}

/**
 * A backup written unencrypted while the event says the repository is public: an artifact of it
 * could be downloaded by anyone who can read the repository. Warned in the log, listed in the report.
 */
export function unencryptedBackupFinding(ctx: CommandContext, report: BackupReport): Finding | undefined {
  if (report.encrypted || !ctx.run.publicRepository) return undefined;
  const message = `The backup ${basename(report.path)} is not encrypted and this repository is public: anyone who can read the repository can download it if it is uploaded as an artifact. Set backup-encryption-key to an age public key.`;
  ctx.logger.warn(message);
  return { code: 'backup-unencrypted', severity: 'warning', message };
}

/**
 * The backup stage of changing commands. `required`: no change happens without a verified backup.
 * `optional`: a failed backup is a warning. `off`: skipped, and the report says so.
 */
export async function runBackupStage(
  ctx: CommandContext,
  result: RunResult,
  session: Session,
  /** Already found by the caller (restore needs them too): not looked up twice. */
  tools?: PgTools,
): Promise<void> {
  const { report, finding } = await backupStage(ctx, session.serverMajor, tools);
  if (report) result.backup = report;
  if (finding) result.findings.push(finding);
}

/** The backup stage as values: the backup taken, or the warning an optional one that failed leaves. */
export async function backupStage(
  ctx: CommandContext,
  serverMajor: number,
  tools?: PgTools,
): Promise<{ report?: BackupReport; finding?: Finding }> {
  const mode = ctx.settings.backup;
  if (mode === 'off') {
    ctx.logger.info('Backup: off (backup input)');
    return {};
  }
  try {
    const report = await takeVerifiedBackup(ctx, serverMajor, tools);
    return { report, finding: unencryptedBackupFinding(ctx, report) };
  } catch (error) {
    if (mode === 'required') {
      const hint = error instanceof GuardError ? error.hint : undefined;
      throw new GuardError(
        'backup-failed',
        `No change was made: backup is required and it failed. ${error instanceof Error ? error.message : String(error)}`,
        {
          hint:
            hint ??
            'Fix the backup (pg-dump-path, backup-dir), or set backup: optional or off to proceed without one.',
          cause: error,
        },
      );
    }
    ctx.logger.warn(`Backup failed, continuing because backup is optional: ${errorMessage(error)}`);
    return {
      finding: {
        code: 'backup-failed',
        severity: 'warning',
        message: `Backup failed (backup: optional): ${errorMessage(error)}`,
      },
    };
  }
}
