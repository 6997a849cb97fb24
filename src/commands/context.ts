import type { RunContext } from '../config/run-context.js';
import type { Client } from '../db/connect.js';
import type { Settings } from '../config/settings.js';
import type { Logger } from '../logger.js';
import type { StageEvents } from '../engine/events.js';
import type { RunResult } from '../engine/result.js';
import type { PermissionReader } from '../guard/policy.js';
import type { SecretScrubber } from '../secrets.js';
import { TOOL_VERSION } from '../version.js';

export interface CommandContext {
  settings: Settings;
  logger: Logger;
  run: RunContext;
  cwd?: string;
  /** Aborted on SIGINT/SIGTERM: the running statement is cancelled and the run rolled back. */
  signal?: AbortSignal;
  /**
   * Called once the command has reached the database (runCommand starts the audit log's own
   * connection then: never for a run stopped by its files, never twice at a host that is down).
   */
  onConnected?: () => void;
  /**
   * Called once the session knows how many files it has pending (session.ts). runCommand opens
   * the audit log's connection for an apply then, and only when there is work: a run that applies
   * nothing writes its rows on the session's own connection (`adoptSession`).
   */
  onPlanned?: (pendingCount: number) => void;
  /**
   * Offered the session's connection as the session ends, idle and with the migration lock
   * released; returns true when it keeps it (and will close it). runCommand's audit log keeps it
   * when it opened no connection of its own; `auditLogExists` is what the session's catalog query said.
   */
  adoptSession?: (client: Client, auditLogExists: boolean) => boolean;
  /**
   * The run's one scrubber (config/run-scrubber.ts). Every sink goes through it before writing:
   * runCommand hands commands a scrubbing logger and returns a scrubbed result; run records are
   * scrubbed as they are written (db/guard-store.ts).
   */
  scrubber: SecretScrubber;
  /**
   * The run's stage events (engine/events.ts): the entry point subscribes its listeners (the pull
   * request comment) and runCommand ends every run with `run-finished` and the final result.
   */
  events?: StageEvents;
  /**
   * The action's manual-run guard (guard/manual-run.ts): reads the triggering actor's repository
   * permission from GitHub. Set by the action's entry point only; without it (the CLI) manual
   * runs are not checked.
   */
  permissions?: PermissionReader;
}

export type CommandHandler = (ctx: CommandContext, result: RunResult) => Promise<RunResult>;

/** A result with nothing decided yet; handlers fill it in. */
export function newResult(ctx: CommandContext, startedAt = new Date()): RunResult {
  return {
    tool: { name: 'supabase-migration-guard', version: TOOL_VERSION },
    command: ctx.settings.command,
    environment: ctx.settings.environment,
    status: 'failed',
    changed: false,
    startedAt: startedAt.toISOString(),
    finishedAt: startedAt.toISOString(),
    durationMs: 0,
    database: { display: ctx.settings.database.display },
    runUrl: ctx.run.runUrl,
    migrations: [],
    applied: [],
    pendingCount: 0,
    findings: [],
    skippedFiles: [],
    message: '',
  };
}
