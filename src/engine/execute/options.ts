import type { Settings } from '../../config/settings.js';
import type { Logger } from '../../logger.js';
import type { StatementRunner } from '../statement-runner.js';
import type { PreparedMigration } from '../units.js';

export interface ExecuteOptions {
  runner: StatementRunner;
  logger: Logger;
  lockTimeoutMs: number;
  statementTimeoutMs?: number;
  lockRetries: number;
  /**
   * Writes the history rows of the migrations whose statements a transaction ran, inside that
   * transaction just before COMMIT: one call (one round trip) per transaction, not per file.
   */
  record: (items: Array<{ migration: PreparedMigration; durationMs: number }>) => Promise<void>;
  /**
   * When given, consecutive transactions travel together as one message (chain.ts) and their
   * history rows are staged beforehand: for per-file runs, one round trip per 32 KB of SQL instead
   * of four per file.
   */
  chain?: {
    stage: (records: Array<{ ordinal: number; migration: PreparedMigration }>) => Promise<void>;
    /** Clears the rows staged under ordinals 1..count, once the run is done with them. */
    unstage: (count: number) => Promise<void>;
    recordSql: (ordinal: number) => string;
    /** An SQL expression, evaluated as each transaction opens, noting the start its record measures from. */
    markStart: string;
  };
  /** Backoff base; tests shorten it. */
  retryBaseMs?: number;
  /**
   * Bookkeeping DDL run first in every transaction until one commits: creating the history table
   * on a fresh database then shares the fate of the first migration instead of outliving a failure.
   */
  prelude?: readonly string[];
  /**
   * Told, right after each commit, which files' history rows it committed (in order) and how long
   * each took: the staged apply turns this into `file-applied` events.
   */
  onCommitted?: (files: Array<{ version: string; durationMs: number }>) => void;
  /** Told before each wait for a lock-timeout retry: the staged apply turns this into `lock-retry` events. */
  onRetry?: (retry: { version: string; attempt: number; delayMs: number; blocker?: string }) => void;
  /** Commit without waiting for the WAL flush (set per unit by executeUnits: all but the last). */
  asynchronousCommit?: boolean;
}

/** What every command's execution shares: the runner, the logger and the lock/timeout inputs. */
export function baseExecuteOptions(
  settings: Pick<Settings, 'lockTimeoutMs' | 'statementTimeoutMs' | 'lockRetries' | 'lockRetryBaseMs'>,
  logger: Logger,
  runner: StatementRunner,
  record: ExecuteOptions['record'],
): ExecuteOptions {
  return {
    runner,
    logger,
    lockTimeoutMs: settings.lockTimeoutMs,
    statementTimeoutMs: settings.statementTimeoutMs,
    lockRetries: settings.lockRetries,
    retryBaseMs: settings.lockRetryBaseMs,
    record,
  };
}
