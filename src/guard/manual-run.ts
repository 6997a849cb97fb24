import { randomUUID } from 'node:crypto';
import { refusedEvent, runIdentity } from '../audit/events.js';
import { recentManualRuns } from '../audit/manual-runs.js';
import { auditLogExists } from '../audit/schema.js';
import type { AuditEvent } from '../audit/chain.js';
import { appendAuditEvents, appendDecidedEvents } from '../audit/store.js';
import type { CommandContext } from '../commands/context.js';
import { applicationName } from '../config/run-context.js';
import { withClient } from '../db/connect.js';
import { errorMessage } from '../errors.js';
import { outbound } from '../outbound.js';
import {
  describeRefusal,
  effectiveRole,
  MANUAL_EVENTS,
  nextAllowedAt,
  RATE_LIMITED,
  REASON_REQUIRED,
  type ManualRunRefusal,
  type PermissionReader,
  type RefusalRule,
} from './policy.js';

/** How long recording a refusal may wait for the database: the refusal itself never waits on it. */
const RECORD_CONNECT_TIMEOUT_MS = 10_000;

/** The run's audit recorder, for the guard to write its "run started" row itself (audit/recorder.ts). */
export interface RunStart {
  startedRow(): AuditEvent;
  markStarted(): void;
}

type Facts = Omit<ManualRunRefusal, 'message' | 'hint' | 'recorded'> & { problem?: string };

/**
 * The manual-run guard, before any migration work: for a workflow_dispatch or repository_dispatch
 * run, the person who triggered it must hold one of `allowed-roles` (read from GitHub; an answer
 * that cannot be had refuses), give a `reason` for an apply or rollback, and stay within
 * `rate-limit` (counted from the audit log). Returns the refusal, already recorded in the audit
 * log where the database allowed it, or undefined when the run may go on. Other events return at
 * once, without a call to GitHub.
 *
 * The rate limit is checked, and the outcome written, in one transaction under the audit chain's
 * lock: a refusal, or (given `start`) the run's own "run started" row. Two runs dispatched at the
 * same moment are so counted one after the other, and the second is refused.
 */
export async function guardManualRun(
  ctx: CommandContext,
  readPermission: PermissionReader,
  start?: RunStart,
): Promise<ManualRunRefusal | undefined> {
  const { settings, run, logger } = ctx;
  const event = run.eventName ?? '';
  if (!MANUAL_EVENTS.has(event)) return undefined;
  // A re-run is triggered by whoever re-ran it: that is the person whose role counts.
  const actor = run.triggeringActor || run.actor;
  const facts = (rule: RefusalRule, more: Partial<Facts> = {}): Facts => ({
    rule,
    actor,
    event,
    allowedRoles: settings.allowedRoles,
    reason: settings.reason,
    ...more,
  });

  let role: string;
  try {
    role = effectiveRole(await readPermission(actor));
  } catch (error) {
    return recordRefusal(ctx, describe(ctx, facts('permission-unknown', { problem: errorMessage(error) })));
  }
  if (!settings.allowedRoles.includes(role))
    return recordRefusal(ctx, describe(ctx, facts('role', { role })));
  if (REASON_REQUIRED.has(settings.command) && !settings.reason)
    return recordRefusal(ctx, describe(ctx, facts('reason', { role })));

  const limit = settings.rateLimit;
  if (limit && RATE_LIMITED.has(settings.command)) {
    // A database that cannot be read (or written) here fails the run as any run fails on it:
    // nothing is run.
    const refusal = await withClient(settings.database, { applicationName: appName(ctx) }, async (client) => {
      let refused: ManualRunRefusal | undefined;
      const written = await appendDecidedEvents(
        client,
        async (locked) => {
          const now = new Date();
          const recent = await recentManualRuns(locked, {
            environment: settings.environment,
            commands: [...RATE_LIMITED],
            events: [...MANUAL_EVENTS],
            since: new Date(now.getTime() - limit.windowMs),
            limit: limit.count,
          });
          const next = nextAllowedAt(recent, limit, now);
          if (!next) return start ? [start.startedRow()] : [];
          refused = describe(
            ctx,
            facts('rate-limit', {
              role,
              rateLimit: limit.text,
              nextAllowedAt: next.toISOString(),
              recentRuns: recent.length,
            }),
          );
          return [refusalRow(ctx, refused)];
        },
        { create: !(await auditLogExists(client)) },
      );
      if (refused) refused.recorded = written.length > 0;
      else if (written.length > 0) start?.markStarted();
      return refused;
    });
    if (refusal) return refusal;
  }
  logger.info(
    `Manual ${settings.command} by ${actor} (role ${role}, ${event}) allowed${settings.reason ? `; reason: ${settings.reason}` : ''}`,
  );
  return undefined;
}

/** The refusal with its message and hint; not recorded yet. */
function describe(ctx: CommandContext, facts: Facts): ManualRunRefusal {
  const { message, hint } = describeRefusal({
    ...facts,
    command: ctx.settings.command,
    environment: ctx.settings.environment,
  });
  // `problem` (what GitHub answered) is in the message; the refusal keeps only its own fields.
  const own: Facts = { ...facts };
  delete own.problem;
  return { ...own, message, hint, recorded: false };
}

/** The refusal's audit row, scrubbed: the run's identity (actor, event, reason), the rule and the role. */
function refusalRow(ctx: CommandContext, refusal: ManualRunRefusal): AuditEvent {
  return outbound(
    refusedEvent(runIdentity(ctx, randomUUID(), undefined), new Date().toISOString(), refusal),
    ctx.scrubber,
  );
}

/**
 * Writes the refusal to the audit log on a connection of its own (its only write: the log is
 * created if it is missing, so a refusal on a fresh database is kept too) and returns it. A
 * database that cannot be reached does not lift the refusal: it is reported with a warning that
 * it could not be recorded.
 */
async function recordRefusal(ctx: CommandContext, refusal: ManualRunRefusal): Promise<ManualRunRefusal> {
  const { settings, logger } = ctx;
  const row = refusalRow(ctx, refusal);
  try {
    await withClient(
      settings.database,
      { applicationName: appName(ctx), connectTimeoutMs: RECORD_CONNECT_TIMEOUT_MS },
      async (client) => {
        await appendAuditEvents(client, [row], { create: !(await auditLogExists(client)) });
      },
    );
    refusal.recorded = true;
  } catch (error) {
    logger.warn(
      `The refusal could not be recorded in the audit log (migration_guard.audit_log): ${errorMessage(error)}. It stands all the same: nothing was run.`,
    );
  }
  return refusal;
}

function appName(ctx: CommandContext): string {
  return `${applicationName(ctx.settings.command, ctx.settings.environment, ctx.run)} guard`;
}
