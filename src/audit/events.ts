import type { CommandContext } from '../commands/context.js';
import type { RunResult } from '../engine/result.js';
import { acceptedFindings, type AcceptedFinding } from '../engine/lint-accepted.js';
import type { AuditEvent, AuditEventName } from './chain.js';

/** What every row of one run repeats: who, where, from which workflow run. */
export type RunIdentity = Omit<
  AuditEvent,
  'at' | 'event' | 'outcome' | 'version' | 'durationMs' | 'error' | 'details' | 'runId'
>;

export function runIdentity(
  ctx: Pick<CommandContext, 'settings' | 'run'>,
  runKey: string,
  local: { osUser: string; host: string } | undefined,
): RunIdentity {
  const { settings, run } = ctx;
  return {
    runKey,
    environment: settings.environment,
    command: settings.command,
    actor: run.actor ?? null,
    triggeringActor: run.triggeringActor ?? null,
    eventName: run.eventName ?? null,
    repository: run.repository ?? null,
    ref: run.ref ?? null,
    sha: run.sha ?? null,
    prNumber: run.pullRequest ?? null,
    runUrl: run.runUrl ?? null,
    osUser: local?.osUser ?? null,
    host: local?.host ?? null,
    reason: settings.reason ?? null,
  };
}

export function startedEvent(identity: RunIdentity, at: string): AuditEvent {
  return event(identity, 'run-started', at, null, {});
}

/** The row of a verified backup. */
export function backupEvent(
  identity: RunIdentity,
  at: string,
  runId: number | null,
  backup: NonNullable<RunResult['backup']>,
): AuditEvent {
  const { path, sha256, sizeBytes, pgDumpVersion } = backup;
  return event(identity, 'backup-taken', at, runId, {
    durationMs: backup.durationMs,
    details: { path, sha256, sizeBytes, pgDumpVersion },
  });
}

/** The row of one lock-timeout retry; the blocker's query is normalised (engine/query-text.ts). */
export function lockRetryEvent(
  identity: RunIdentity,
  at: string,
  runId: number | null,
  retry: { version?: string; attempt: number; delayMs: number; blocker?: string },
): AuditEvent {
  return event(identity, 'lock-retry', at, runId, {
    version: retry.version ?? null,
    details: { attempt: retry.attempt, delayMs: retry.delayMs, blocker: retry.blocker ?? null },
  });
}

/** The row of a migration whose statements and history row committed. */
export function appliedEvent(
  identity: RunIdentity,
  at: string,
  runId: number | null,
  m: { version: string; durationMs: number; file?: string; name?: string; lintIgnored?: AcceptedFinding[] },
): AuditEvent {
  return event(identity, 'migration-applied', at, runId, {
    version: m.version,
    durationMs: m.durationMs,
    details: {
      file: m.file ?? null,
      name: m.name ?? null,
      // The ignore comments that let the file's statements through, with their reasons.
      ...(m.lintIgnored?.length && { lintIgnored: m.lintIgnored }),
    },
  });
}

/**
 * What makes two rows "the same fact": a row written live, as its stage event came, is not
 * written again from the result at the end (recorder.ts).
 */
export function factKey(e: AuditEvent): string {
  const details = (e.details ?? {}) as { attempt?: unknown; delayMs?: unknown };
  if (e.event === 'lock-retry') return `lock-retry:${String(details.attempt)}:${String(details.delayMs)}`;
  return `${e.event}:${e.version ?? ''}`;
}

/** A manual run refused by the guard (guard/manual-run.ts): the only row such a run writes. */
export function refusedEvent(
  identity: RunIdentity,
  at: string,
  refusal: {
    rule: string;
    role?: string;
    allowedRoles: string[];
    rateLimit?: string;
    nextAllowedAt?: string;
    message: string;
  },
): AuditEvent {
  return event(identity, 'manual-run-refused', at, null, {
    outcome: 'refused',
    error: refusal.message,
    details: {
      rule: refusal.rule,
      role: refusal.role ?? null,
      allowedRoles: refusal.allowedRoles,
      rateLimit: refusal.rateLimit ?? null,
      nextAllowedAt: refusal.nextAllowedAt ?? null,
    },
  });
}

/**
 * The events of a finished run, read from its result: backup, lock retries, each migration's
 * fate, rollbacks, and the run's end. What was already written as it happened is left out by
 * the recorder (`factKey`).
 */
export function eventsOfResult(identity: RunIdentity, result: RunResult): AuditEvent[] {
  const at = result.finishedAt;
  const runId = result.runId ?? null;
  const make = (name: AuditEventName, fields: Partial<AuditEvent>) =>
    event(identity, name, at, runId, fields);
  const events: AuditEvent[] = [];
  if (result.backup) events.push(backupEvent(identity, at, runId, result.backup));
  for (const retry of result.lock?.retries ?? []) events.push(lockRetryEvent(identity, at, runId, retry));
  const reverted = new Set(result.rollback?.kind === 'automatic' ? result.rollback.reverted : []);
  const accepted = acceptedFindings(result.lint);
  for (const m of result.migrations) {
    const ignored = accepted.filter((f) => f.version === m.version);
    const details = { file: m.file, name: m.name, ...(ignored.length > 0 && { lintIgnored: ignored }) };
    const base = { version: m.version, durationMs: m.durationMs, details };
    const error = m.error ? formatError(m.error) : null;
    if (m.status === 'applied')
      events.push(appliedEvent(identity, at, runId, { ...m, lintIgnored: ignored }));
    else if (m.status === 'baselined') events.push(make('migration-baselined', base));
    else if (m.status === 'failed' || m.status === 'partially-applied')
      events.push(
        make(m.error?.message.startsWith('verify script failed') ? 'verify-failed' : 'migration-failed', {
          ...base,
          outcome: m.status,
          error,
        }),
      );
    else if (m.status === 'rolled-back')
      events.push(
        make(reverted.has(m.version) ? 'migration-reverted' : 'migration-rolled-back', {
          ...base,
          outcome: reverted.has(m.version)
            ? 'reverted by its down migration'
            : 'undone with the failed transaction',
        }),
      );
  }
  if (result.rollback?.kind === 'command') {
    for (const version of result.rollback.reverted)
      events.push(make('migration-rolled-back', { version, outcome: 'rollback command' }));
  }
  if (result.rollback?.kind === 'restore' && result.rollback.succeeded)
    events.push(make('backup-restored', { details: { backupPath: result.rollback.backupPath ?? null } }));
  events.push(
    make('run-ended', {
      outcome: result.cancelled ? 'cancelled' : result.status,
      durationMs: result.durationMs,
      error: result.status === 'success' || result.status === 'nothing-to-do' ? null : result.message || null,
      details: {
        applied: result.applied,
        pendingCount: result.pendingCount,
        currentVersion: result.currentVersion ?? null,
        rollback: result.rollback ?? null,
        ...(accepted.length > 0 && { lintIgnored: accepted }),
      },
    }),
  );
  return events;
}

function formatError(error: NonNullable<RunResult['error']>): string {
  const where = error.file ? `${error.file}${error.line ? `:${error.line}` : ''}: ` : '';
  return `${where}${error.message}`;
}

function event(
  identity: RunIdentity,
  name: AuditEventName,
  at: string,
  runId: number | null,
  fields: Partial<AuditEvent>,
): AuditEvent {
  return {
    ...identity,
    at,
    runId,
    event: name,
    outcome: null,
    version: null,
    durationMs: null,
    error: null,
    details: null,
    ...fields,
  };
}
