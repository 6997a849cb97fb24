import { randomUUID } from 'node:crypto';
import { refusedEvent, runIdentity } from '../audit/events.js';
import { recentManualRuns } from '../audit/manual-runs.js';
import { auditLogExists } from '../audit/schema.js';
import { appendAuditEvents } from '../audit/store.js';
import type { CommandContext } from '../commands/context.js';
import { applicationName } from '../config/run-context.js';
import { withClient, type Client } from '../db/connect.js';
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

/**
 * The manual-run guard, before any migration work: for a workflow_dispatch or repository_dispatch
 * run, the person who triggered it must hold one of `allowed-roles` (read from GitHub; an answer
 * that cannot be had refuses), give a `reason` for an apply or rollback, and stay within
 * `rate-limit` (counted from the audit log). Returns the refusal, already recorded in the audit
 * log where the database allowed it, or undefined when the run may go on. Other events return at
 * once, without a call to GitHub.
 */
export async function guardManualRun(
  ctx: CommandContext,
  readPermission: PermissionReader,
): Promise<ManualRunRefusal | undefined> {
  const { settings, run, logger } = ctx;
  const event = run.eventName ?? '';
  if (!MANUAL_EVENTS.has(event)) return undefined;
  // A re-run is triggered by whoever re-ran it: that is the person whose role counts.
  const actor = run.triggeringActor || run.actor;
  const refuse = (
    rule: RefusalRule,
    facts: Partial<ManualRunRefusal> & { problem?: string },
    client?: Client,
  ) =>
    recordRefusal(
      ctx,
      { rule, actor, event, allowedRoles: settings.allowedRoles, reason: settings.reason, ...facts },
      client,
    );

  let role: string;
  try {
    role = effectiveRole(await readPermission(actor));
  } catch (error) {
    return refuse('permission-unknown', { problem: errorMessage(error) });
  }
  if (!settings.allowedRoles.includes(role)) return refuse('role', { role });
  if (REASON_REQUIRED.has(settings.command) && !settings.reason) return refuse('reason', { role });

  const limit = settings.rateLimit;
  if (limit && RATE_LIMITED.has(settings.command)) {
    // A database that cannot be read here fails the run as any run fails on it: nothing is run.
    const refusal = await withClient(settings.database, { applicationName: appName(ctx) }, async (client) => {
      const now = new Date();
      const recent = await recentManualRuns(client, {
        environment: settings.environment,
        commands: [...RATE_LIMITED],
        events: [...MANUAL_EVENTS],
        since: new Date(now.getTime() - limit.windowMs),
        limit: limit.count,
      });
      const next = nextAllowedAt(recent, limit, now);
      if (!next) return undefined;
      return refuse(
        'rate-limit',
        { role, rateLimit: limit.text, nextAllowedAt: next.toISOString(), recentRuns: recent.length },
        client,
      );
    });
    if (refusal) return refusal;
  }
  logger.info(
    `Manual ${settings.command} by ${actor} (role ${role}, ${event}) allowed${settings.reason ? `; reason: ${settings.reason}` : ''}`,
  );
  return undefined;
}

/**
 * Writes the refusal to the audit log (its only write: the log is created if it is missing, so a
 * refusal on a fresh database is kept too) and returns it. A database that cannot be reached does
 * not lift the refusal: it is reported with a warning that it could not be recorded.
 */
async function recordRefusal(
  ctx: CommandContext,
  facts: Omit<ManualRunRefusal, 'message' | 'hint' | 'recorded'> & { problem?: string },
  client?: Client,
): Promise<ManualRunRefusal> {
  const { settings, logger, scrubber } = ctx;
  const { message, hint } = describeRefusal({
    ...facts,
    command: settings.command,
    environment: settings.environment,
  });
  // `problem` (what GitHub answered) is in the message; the refusal keeps only its own fields.
  const refusal: ManualRunRefusal = { ...facts, message, hint, recorded: false };
  delete (refusal as { problem?: string }).problem;
  const row = outbound(
    refusedEvent(runIdentity(ctx, randomUUID(), undefined), new Date().toISOString(), refusal),
    scrubber,
  );
  const write = async (c: Client) => {
    await appendAuditEvents(c, [row], { create: !(await auditLogExists(c)) });
  };
  try {
    if (client) await write(client);
    else
      await withClient(
        settings.database,
        { applicationName: appName(ctx), connectTimeoutMs: RECORD_CONNECT_TIMEOUT_MS },
        write,
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
