import { formatLocation } from '../../errors.js';
import type { ExecutionOutcome } from '../execute.js';
import type { ErrorDetail, MigrationOutcome, RunResult, RunStatus } from '../result.js';
import type { StagedApplyOutcome } from './outcome.js';

/**
 * How the run ended, decided in one place from the outcome: the report (resultOfApply) and the
 * run record (the engine's last stage) both take it from here, so they cannot disagree.
 */
export interface ApplyVerdict {
  status: RunStatus;
  message: string;
  /** Versions this run committed and left applied. */
  applied: string[];
  pendingCount: number;
  currentVersion?: string;
  migrations: MigrationOutcome[];
  error?: ErrorDetail;
  cancelled?: boolean;
  /** Files committed by this run before it failed (and not reverted), partly applied ones included. */
  committedBeforeFailure?: string[];
}

/** The verdict on a staged apply. Pure. (A `stopped` run's status and message come from its error.) */
export function verdictOf(outcome: StagedApplyOutcome): ApplyVerdict {
  const { pending, execution } = outcome;
  const unchanged = {
    applied: [],
    pendingCount: pending.length,
    currentVersion: outcome.currentVersionBefore,
    migrations: outcome.files,
  };
  switch (outcome.stage) {
    case 'nothing-to-do':
      return {
        ...unchanged,
        status: 'nothing-to-do',
        message: `Nothing to apply: all ${outcome.known} migrations are already applied.`,
        migrations: [],
      };
    case 'stopped':
      return { ...unchanged, status: outcome.cancelled ? 'cancelled' : 'failed', message: '' };
    case 'rehearsal-failed': {
      const { error, version } = outcome.rehearsalFailure!;
      return {
        ...unchanged,
        status: outcome.cancelled ? 'cancelled' : 'failed',
        cancelled: outcome.cancelled || undefined,
        error,
        migrations: outcome.files.map((m) => (m.version === version ? { ...m, status: 'failed', error } : m)),
        message: outcome.cancelled
          ? `${error.message}. The rehearsal was stopped before anything was applied: the database is unchanged.`
          : `${formatLocation(error)}${error.message}. The rehearsal found this before anything was applied: the database is unchanged.`,
      };
    }
    case 'applied':
      return {
        status: 'success',
        message: `Applied ${execution!.committed.length} migration(s).`,
        applied: execution!.committed,
        pendingCount: pending.length - execution!.committed.length,
        currentVersion: execution!.committed[execution!.committed.length - 1],
        migrations: markFiles(outcome, execution!),
      };
    case 'apply-failed':
      return failedVerdict(outcome, execution!);
  }
}

function failedVerdict(outcome: StagedApplyOutcome, execution: ExecutionOutcome): ApplyVerdict {
  const failure = execution.failure!;
  const reverted = outcome.rollback?.succeeded ? outcome.rollback.reverted : [];
  const stillApplied = execution.committed.filter((v) => !reverted.includes(v));
  const changed = stillApplied.length > 0 || execution.partiallyCommitted.length > 0;
  const where = formatLocation(failure.error);
  const what = failure.cancelled ? failure.error.message : `${where}${failure.error.message}`;
  const fingerprint = outcome.fingerprint;
  let message = changed
    ? `${what}. ${describeStillApplied(stillApplied, execution.partiallyCommitted, outcome)}`
    : `${what}. The run was rolled back${outcome.rollback?.succeeded ? ` (files committed earlier in this run, ${outcome.rollback.reverted.join(', ')}, were reverted by their down migrations)` : ''}: the database is as it was before the run (schema fingerprint ${fingerprint && fingerprint.before === fingerprint.after ? 'unchanged' : 'CHANGED: inspect it'}).`;
  for (const n of execution.nonTransactionalDone)
    if (n.leftBehind) message += ` ${n.file}:${n.line} failed outside a transaction: ${n.leftBehind}.`;
  const earlier = (outcome.partiallyApplied ?? []).filter(
    (p) => !execution.partiallyCommitted.includes(p.version),
  );
  if (earlier.length)
    message += ` Still partly applied from an earlier run: ${earlier.map((p) => `${p.file}: ${p.nextStep}.`).join(' ')}`;
  return {
    status: failure.cancelled ? 'cancelled' : changed ? 'failed' : 'rolled-back',
    message,
    applied: stillApplied,
    pendingCount: outcome.pending.length - stillApplied.length,
    currentVersion: stillApplied[stillApplied.length - 1] ?? outcome.currentVersionBefore,
    migrations: markFiles(outcome, execution).map((m) =>
      reverted.includes(m.version) ? { ...m, status: 'rolled-back' } : m,
    ),
    error: failure.error,
    cancelled: failure.cancelled || undefined,
    committedBeforeFailure: changed ? [...stillApplied, ...execution.partiallyCommitted] : undefined,
  };
}

/** Each file's status and duration from the apply stage's outcome. */
function markFiles(outcome: StagedApplyOutcome, execution: ExecutionOutcome): MigrationOutcome[] {
  const committed = new Set(execution.committed);
  const partial = new Set(execution.partiallyCommitted);
  const rolledBack = new Set(execution.failure?.rolledBack ?? []);
  return outcome.files.map((file) => {
    const m = { ...file, durationMs: Math.round(execution.durations.get(file.version) ?? 0) };
    if (committed.has(m.version)) m.status = 'applied';
    else if (execution.failure?.version === m.version) {
      m.status = partial.has(m.version) ? 'partially-applied' : 'failed';
      m.error = execution.failure.error;
    } else if (partial.has(m.version)) m.status = 'partially-applied';
    else if (rolledBack.has(m.version)) m.status = 'rolled-back';
    return m;
  });
}

function describeStillApplied(applied: string[], partial: string[], outcome: StagedApplyOutcome): string {
  const parts = [];
  if (applied.length) {
    parts.push(`Still applied from this run: ${applied.join(', ')}.`);
    if (outcome.rollback && !outcome.rollback.succeeded) parts.push(outcome.rollback.nextStep ?? '');
    else parts.push(`To undo them run rollback with count: ${applied.length}.`);
  }
  if (partial.length) {
    const booked = (outcome.partiallyApplied ?? []).filter((p) => partial.includes(p.version));
    parts.push(
      `Partly applied (statements that ran outside a transaction, and those before them, committed; no history row): ${partial.join(', ')}.`,
      ...booked.map((p) => `${p.file}: ${p.nextStep}.`),
    );
  }
  return parts.filter(Boolean).join(' ');
}

/** The statements that ran outside a transaction, with each file's down migration for the report. */
function nonTransactionalOf(outcome: StagedApplyOutcome): RunResult['nonTransactional'] {
  return outcome.execution?.nonTransactionalDone.map((n) => ({
    ...n,
    down: outcome.pending.find((m) => m.version === n.version)?.down?.path,
  }));
}

/** What the run record keeps beyond status and versions: backup, rollback, fingerprints and the rest. */
export function runDetailsOf(outcome: StagedApplyOutcome): Record<string, unknown> {
  const nonTransactional = nonTransactionalOf(outcome);
  return {
    backup: outcome.backup ? { path: outcome.backup.path, sha256: outcome.backup.sha256 } : null,
    rollback: outcome.rollback ?? null,
    schemaFingerprint: outcome.fingerprint ?? null,
    nonTransactional: nonTransactional?.length ? nonTransactional : undefined,
    partiallyApplied: outcome.partiallyApplied,
    rehearsal: outcome.rehearsal
      ? { ran: outcome.rehearsal.ran, reason: outcome.rehearsal.reason }
      : undefined,
    // Blockers with their queries normalised (engine/query-text.ts), never the raw text.
    lockRetries: outcome.execution?.retries.length ? outcome.execution.retries : undefined,
  };
}

/**
 * The report of an apply run, built once from the outcome: the fields `base` already holds (what
 * the session found: database, lock, plan findings, skipped files) are kept, every field the
 * apply decides is taken from the outcome. Pure: returns a new object.
 */
export function resultOfApply(base: RunResult, outcome: StagedApplyOutcome): RunResult {
  const verdict = verdictOf(outcome);
  const stopped = outcome.stage === 'stopped';
  const result: RunResult = {
    ...base,
    transactionMode: outcome.transactionMode,
    // A stopped run's status, message and error are its error's (runCommand decides them).
    ...(!stopped && {
      status: verdict.status,
      message: verdict.message,
      error: verdict.error,
      cancelled: verdict.cancelled,
    }),
    runId: outcome.runId ?? base.runId,
    migrations: verdict.migrations,
    applied: verdict.applied,
    pendingCount: verdict.pendingCount,
    currentVersion: verdict.currentVersion,
    findings: [...base.findings.filter((f) => f.code !== 'timeout-setting'), ...outcome.findings],
    lock: base.lock && outcome.execution ? { ...base.lock, retries: outcome.execution.retries } : base.lock,
    backup: outcome.backup ?? base.backup,
    rehearsal: outcome.rehearsal ?? base.rehearsal,
    nonTransactional: nonTransactionalOf(outcome) ?? base.nonTransactional,
    rollback: outcome.rollback ?? base.rollback,
    partiallyApplied: outcome.stage === 'apply-failed' ? outcome.partiallyApplied : base.partiallyApplied,
    schemaFingerprint: outcome.fingerprint ?? base.schemaFingerprint,
    committedBeforeFailure: verdict.committedBeforeFailure ?? base.committedBeforeFailure,
  };
  // Nothing left to say is no key at all, as in the JSON report.
  for (const key of Object.keys(result) as Array<keyof RunResult>)
    if (result[key] === undefined) delete result[key];
  return result;
}
