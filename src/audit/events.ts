import type { CommandContext } from '../commands/context.js';
import type { RunResult } from '../engine/result.js';
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

/**
 * The events of a finished run, read from its result: backup, lock retries, each migration's
 * fate, rollbacks, and the run's end. Written together, in one batch, when the run is over.
 */
export function eventsOfResult(identity: RunIdentity, result: RunResult): AuditEvent[] {
  const at = result.finishedAt;
  const runId = result.runId ?? null;
  const make = (name: AuditEventName, fields: Partial<AuditEvent>) =>
    event(identity, name, at, runId, fields);
  const events: AuditEvent[] = [];
  if (result.backup) {
    const { path, sha256, sizeBytes, pgDumpVersion } = result.backup;
    events.push(
      make('backup-taken', {
        durationMs: result.backup.durationMs,
        details: { path, sha256, sizeBytes, pgDumpVersion },
      }),
    );
  }
  // The blocker is described with its query normalised (engine/query-text.ts): no literal values.
  for (const retry of result.lock?.retries ?? [])
    events.push(
      make('lock-retry', {
        details: { attempt: retry.attempt, delayMs: retry.delayMs, blocker: retry.blocker ?? null },
      }),
    );
  const reverted = new Set(result.rollback?.kind === 'automatic' ? result.rollback.reverted : []);
  const accepted = acceptedFindings(result);
  for (const m of result.migrations) {
    const ignored = accepted.filter((f) => f.version === m.version);
    const details = { file: m.file, name: m.name, ...(ignored.length > 0 && { lintIgnored: ignored }) };
    const base = { version: m.version, durationMs: m.durationMs, details };
    const error = m.error ? formatError(m.error) : null;
    if (m.status === 'applied') events.push(make('migration-applied', base));
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

/**
 * Lint findings an ignore comment accepted, with the reason given: the audit trail of who let a
 * destructive (or any other) statement through, and why.
 */
function acceptedFindings(result: RunResult) {
  return (result.lint?.findings ?? []).flatMap((f) =>
    f.ignored
      ? [
          {
            rule: f.rule,
            family: f.family,
            version: f.version ?? null,
            file: f.file ?? null,
            line: f.line ?? null,
            reason: f.ignored.reason,
          },
        ]
      : [],
  );
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
