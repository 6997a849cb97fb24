import type { Settings } from '../../config/settings.js';
import type { Client } from '../../db/connect.js';
import type { RunOutcome } from '../../db/guard-store.js';
import type { LintReport } from '../../lint/types.js';
import type { Logger } from '../../logger.js';
import type { Migration } from '../../migrations/discover.js';
import type { StageEvents } from '../events.js';
import type { Plan } from '../plan.js';
import type { BackupReport, Finding, RollbackReport } from '../result.js';
import type { StatementRunner } from '../statement-runner.js';
import type { KeptStatements } from '../../migrations/statements.js';

/** The open session the run works in: its connection (holding the migration lock), plan and runner. */
export interface ApplySession {
  client: Client;
  plan: Plan;
  runner: StatementRunner;
  /** Whether the Supabase history table exists with every column (else the first transaction creates it). */
  historyReady: boolean;
}

/** This run's row in migration_guard.runs (commands/run-record.ts). */
export interface RunRecordWriter {
  readonly started: boolean;
  open(on?: Client): Promise<number>;
  finish(outcome: RunOutcome, on?: Client): Promise<number>;
}

/**
 * Everything the staged apply needs, passed in: what lives in commands (backup, run record,
 * revert, a new connection) comes as functions and objects, so dependencies point down.
 */
export interface StagedApplyDeps {
  settings: Settings;
  logger: Logger;
  session: ApplySession;
  /** Who started the run, for the history rows' applied_by. */
  actor: string;
  signal?: AbortSignal;
  events?: StageEvents;
  runRecord: RunRecordWriter;
  /** The backup stage: its report when one was taken, a finding when an optional one failed; throws when a required one failed. */
  backup: () => Promise<{ report?: BackupReport; finding?: Finding }>;
  /** Reverts, with their down migrations, files this run committed before it failed. */
  revert: (migrations: Migration[]) => Promise<RollbackReport>;
  /** A new connection, after the session's was lost, to find out what committed. */
  reconnect: () => Promise<Client>;
  /** The linter's findings over the pending files: the preflight refuses destructive ones (preflight.ts). */
  lint?: LintReport;
  /** The pending files as the linter parsed them: split without parsing them again. */
  kept?: KeptStatements;
}
