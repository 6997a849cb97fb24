import type { TransactionMode } from '../../config/settings.js';
import type { Migration } from '../../migrations/discover.js';
import type { ExecutionOutcome } from '../execute.js';
import type {
  BackupReport,
  ErrorDetail,
  Finding,
  MigrationOutcome,
  RollbackReport,
  RunResult,
} from '../result.js';

/**
 * What the staged apply did, stage by stage: plain values the report is built from in one place
 * (result.ts). `stage` is how far it got:
 * - `nothing-to-do`: no pending file;
 * - `rehearsal-failed`: the rehearsal found a failure (or was cancelled) before anything committed;
 * - `applied`: every pending file committed;
 * - `apply-failed`: the apply stage failed; what committed, what was reverted and what is left
 *   partly applied are below;
 * - `stopped`: an error ended the run outside those rules (a file that does not parse, a required
 *   backup that failed); `error` is it, and the caller rethrows it once the report is built.
 */
export interface StagedApplyOutcome {
  stage: 'nothing-to-do' | 'rehearsal-failed' | 'applied' | 'apply-failed' | 'stopped';
  transactionMode: TransactionMode;
  pending: Migration[];
  /** How many migrations the plan knows (applied and pending), for the nothing-to-do message. */
  known: number;
  /** The newest applied version before the run. */
  currentVersionBefore?: string;
  /** One row per pending file: what it holds (statements, atomicity, notes); its status is decided by the report. */
  files: MigrationOutcome[];
  /** Findings the run itself added (a failed optional backup, timeout settings in the files). */
  findings: Finding[];
  backup?: BackupReport;
  rehearsal?: { ran: boolean; reason?: string; notRehearsed: string[] };
  rehearsalFailure?: { version?: string; error: ErrorDetail };
  /** The apply stage's outcome; after a lost connection, `committed` is what the database says it has. */
  execution?: ExecutionOutcome;
  /** The automatic revert, by down migrations, of files this run committed before it failed. */
  rollback?: RollbackReport;
  partiallyApplied?: RunResult['partiallyApplied'];
  fingerprint?: { before: string; after: string };
  /** The job was stopped (SIGINT/SIGTERM) during the run. */
  cancelled: boolean;
  /** migration_guard.runs id of this run, once its row is open. */
  runId?: number;
  error?: unknown;
}
