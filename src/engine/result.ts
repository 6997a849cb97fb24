import type { CommandName, TransactionMode } from '../config/settings.js';
import type { AbandonedRun } from '../db/abandoned-runs.js';
import type { LintReport } from '../lint/types.js';
import type { ManualRunRefusal } from '../guard/policy.js';

/**
 * The full result of a run: what the JSON report holds and what every renderer reads.
 * Plain data only (no class instances), so it serialises as is.
 */
/**
 * `cancelled`: the job was stopped (SIGINT/SIGTERM); whatever the run had committed is in `applied`
 * (per-file mode), and the same word is in the run record and the CLI's closing line.
 */
export type RunStatus = 'success' | 'nothing-to-do' | 'failed' | 'rolled-back' | 'cancelled';

export type MigrationStatus =
  | 'applied' // committed by this run
  | 'failed' // the statement that failed belongs to this file
  | 'rolled-back' // ran in the failed transaction and was undone with it
  | 'partially-applied' // part of it was committed before a later part failed (non-atomic file)
  | 'not-run' // after the failure point
  | 'pending' // would run (plan/status)
  | 'baselined'; // marked applied without running

export interface ErrorDetail {
  message: string;
  file?: string;
  line?: number;
  column?: number;
  sqlstate?: string;
  detail?: string;
  hint?: string;
  statement?: string;
}

export interface MigrationOutcome {
  version: string;
  name: string;
  file: string;
  status: MigrationStatus;
  durationMs: number;
  statements: number;
  /** False when the file could not run in one transaction; `nonAtomicReasons` says why. */
  atomic: boolean;
  nonAtomicReasons: string[];
  /** What the run did with the file that the user should know (e.g. a BEGIN … COMMIT block absorbed). */
  notes?: string[];
  error?: ErrorDetail;
  /**
   * `plan` on a shadow database: what the file created, altered and dropped there, from the
   * catalog read before and after it ("table public.t", "index public.t_idx", …).
   */
  objects?: { created: string[]; altered: string[]; dropped: string[] };
}

/** `plan` with `shadow-database-url`: where the rehearsal ran and what the copy of the schema left out. */
export interface ShadowReport {
  display: string;
  serverVersion?: string;
  /** TOC entries of the schema-only archive copied from the target. */
  entries: number;
  /** History rows copied from the target (so the shadow counts the same files pending). */
  historyRows: number;
  /** Whether the copy kept the target's owners and grants (false: --no-owner / --no-privileges, and why). */
  owners: boolean;
  privileges: boolean;
  /** Roles the schema names that were created (NOLOGIN) in the shadow's server. */
  rolesCreated: string[];
  /** What pg_restore could not create, and other limits of the copy the reader should know. */
  notCopied: string[];
  notes: string[];
  copyMs: number;
}

export interface Finding {
  code:
    | 'drift'
    | 'missing-locally'
    | 'invalid-version'
    | 'out-of-order'
    | 'skipped-file'
    | 'backup-failed'
    | 'backup-unencrypted'
    | 'timeout-setting';
  severity: 'error' | 'warning';
  version?: string;
  file?: string;
  /** Where in `file`, when the finding is about one statement (annotations point there). */
  line?: number;
  column?: number;
  message: string;
}

export interface StatusRow {
  version: string;
  name: string;
  file?: string;
  state: 'applied' | 'pending' | 'missing-locally';
  appliedAt?: string;
  appliedBy?: string;
  checksum?: 'ok' | 'changed' | 'unverified';
  /** A pending file an earlier failed run left partly applied (some statements committed, no history row). */
  partial?: {
    statementsDone: number;
    statementsTotal: number;
    runId?: number;
    recordedAt?: string;
    /** Lines of the committed statements that ran outside a transaction. */
    outsideTransaction: number[];
    description: string;
  };
}

export interface RollbackReport {
  /** automatic: a failed per-file run undoing its own earlier files; command: the rollback command. */
  kind: 'automatic' | 'command' | 'restore';
  reverted: string[];
  succeeded: boolean;
  error?: ErrorDetail;
  /** What is applied now, and what the user should do, when the rollback could not complete. */
  stillApplied?: string[];
  nextStep?: string;
  backupPath?: string;
}

export interface BackupReport {
  path: string;
  sha256: string;
  sizeBytes: number;
  durationMs: number;
  pgDumpVersion: string;
  entries: number;
  /** An age-encrypted backup: `sha256`/`sizeBytes` are the encrypted file's; these describe the archive inside. */
  encrypted?: { recipients: number; clearSha256: string; clearSizeBytes: number };
}

export interface LockReport {
  waitedMs: number;
  waitedFor?: string;
  retries: Array<{ attempt: number; delayMs: number; message: string; blocker?: string }>;
}

/** What a migration did outside its transaction to the run's own lock or connections. */
export interface SessionEffect {
  effect: 'lock-released' | 'session-terminated' | 'control-connection-terminated';
  /** The file (and line) whose statement calls the function that did it, when one does. */
  file?: string;
  line?: number;
  call?: string;
  message: string;
}

export interface RunResult {
  tool: { name: 'supabase-migration-guard'; version: string };
  command: CommandName;
  environment: string;
  status: RunStatus;
  /**
   * Whether the run left the database different from before it (commands/changed.ts): migrations
   * committed and not undone, statements outside a transaction that nothing undid, history rows
   * written, a rollback or restore that went through. The tool's own records do not count.
   */
  changed: boolean;
  transactionMode?: TransactionMode;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  database?: { display: string; serverVersion?: string };
  runId?: number;
  /** The GitHub Actions run that ran this command (absent for a local CLI run). */
  runUrl?: string;
  migrations: MigrationOutcome[];
  applied: string[];
  pendingCount: number;
  currentVersion?: string;
  status_rows?: StatusRow[];
  findings: Finding[];
  skippedFiles: Array<{ fileName: string; reason: string }>;
  lock?: LockReport;
  schemaFingerprint?: { before?: string; after?: string };
  /** Files committed by this run before it failed (and not reverted). */
  committedBeforeFailure?: string[];
  /** Whether the run was rehearsed (in a transaction always rolled back) before anything committed, and why (not). */
  rehearsal?: {
    ran: boolean;
    reason?: string;
    notRehearsed: string[];
    /** `plan`: where the files ran: in a rolled-back transaction on the target, or for real on the shadow database. */
    on?: 'target' | 'shadow';
  };
  /** `plan` with `shadow-database-url`: the shadow database and the copy of the schema. */
  shadow?: ShadowReport;
  /**
   * The linter's findings over the pending files (`plan`, `apply`; absent when `lint: off`), and in
   * `plan` the catalog checks of the rehearsed schema.
   */
  lint?: LintReport;
  /** `plan`: how many findings (not ignored) reached the `lint` fail level and so failed the plan. */
  lintFailing?: number;
  /**
   * Statements that ran outside a transaction and so could not be undone by a rollback; `failed`
   * for the one that failed (it may still have left something behind, such as an INVALID index).
   */
  nonTransactional?: Array<{
    version: string;
    file: string;
    line: number;
    statement: string;
    down?: string;
    failed?: boolean;
    /** What a failed one left behind (an INVALID index) and what became of it. */
    leftBehind?: string;
    /** Whether nothing of what it left behind remains (the INVALID index was dropped). */
    cleanedUp?: boolean;
  }>;
  /**
   * Files left partly applied (some statements committed, no history row), as recorded in
   * migration_guard.partial_migrations, and what the next run does with them.
   */
  partiallyApplied?: Array<{
    version: string;
    file: string;
    statementsDone: number;
    statementsTotal: number;
    nextStep: string;
  }>;
  rollback?: RollbackReport;
  backup?: BackupReport;
  cancelled?: boolean;
  /** The `audit` command: chain verification and the exported compliance report. */
  audit?: {
    rows: number;
    valid: boolean;
    head?: string;
    firstBroken?: { id: number; at: string; event: string; problem: string };
    runs: number;
    events: number;
    range: { since?: string; until?: string };
    files: { markdown: string; csv: string; json: string };
    /** The Markdown export, shown in the job summary. */
    markdown: string;
  };
  /** Earlier runs that died without a word, found by this one (closed as `abandoned` under the lock). */
  abandonedRuns?: AbandonedRun[];
  /** The migration lock released, or the control connection terminated, by a migration. */
  sessionEffects?: SessionEffect[];
  /** A manual run refused by the guard (role, reason, rate limit): nothing was run. */
  refusal?: ManualRunRefusal;
  message: string;
  error?: ErrorDetail;
}
