import { GuardError, formatLocation } from '../errors.js';
import { notesOf, prepareMigrations } from '../engine/prepare.js';
import { rehearse } from '../engine/rehearse.js';
import { reportTimeoutChanges } from '../engine/timeouts.js';
import type { ErrorDetail, RunResult } from '../engine/result.js';
import { describeBlocker, type Blocker } from '../engine/statement-runner.js';
import type { PreparedMigration } from '../engine/units.js';
import { buildExecutionPlan } from '../engine/units.js';
import { refuseOversizedFiles } from '../migrations/limits.js';
import type { CommandContext } from './context.js';
import { resumePartialFiles } from '../engine/staged-apply/partial-files.js';
import { catalogCheck } from '../lint/catalog-check.js';
import { catalogSeverity, withCatalogFindings } from '../lint/catalog.js';
import { lintConfigFor } from '../lint/config.js';
import { rehearseOnShadow, type ShadowHooks } from './plan-shadow.js';
import { withSession, type Session } from './session.js';
import { lintPending, withLintVerdict } from './lint-stage.js';
import type { KeptStatements } from '../migrations/statements.js';

/**
 * plan: what apply would do, proven by running it: drift and order checks, then every pending
 * statement in a transaction that is always rolled back, under the lock timeout. Changes nothing
 * (except sequences, which PostgreSQL never rolls back). With shadow-database-url the files run
 * for real on a copy of the target's schema instead (plan-shadow.ts), and the target is only read.
 */
export async function planCommand(ctx: CommandContext, result: RunResult): Promise<RunResult> {
  const { settings, logger } = ctx;
  result.transactionMode = settings.transactionMode;
  const level = settings.lint;
  const planned = await withSession(ctx, result, { lock: false }, async (session) => {
    const { plan, runner } = session;
    result.status_rows = plan.rows;
    const blocking = result.findings.filter((f) => f.severity === 'error');
    if (blocking.length > 0) {
      throw new GuardError(
        'drift',
        `apply would refuse to run: the migration history and the files disagree:\n${blocking.map((f) => `  - ${f.message}`).join('\n')}`,
      );
    }
    if (plan.pending.length === 0) {
      result.status = 'nothing-to-do';
      result.message = 'Nothing to apply: every migration is already applied.';
      return result;
    }
    refuseOversizedFiles(plan.pending);
    // Read once: the linter and the catalog security checks of the rehearsed schema (on the
    // target's rolled-back transaction or on the shadow database) follow it; off with lint.
    const lintConfig = level === 'off' ? undefined : await lintConfigFor(settings, ctx.cwd);
    // Before the rehearsal, so the findings are reported whatever it meets; sizes are the target's.
    // The files the linter parsed are split from that parse, not parsed again.
    const kept: KeptStatements = new Map();
    if (lintConfig)
      result.lint = await lintPending(ctx, plan.pending, {
        client: session.client,
        config: lintConfig,
        keep: kept,
      });
    const keptFiles = kept.size;
    const prepared = await prepareMigrations(plan.pending, kept);
    logger.debug(
      `Split from the linter's parse: ${keptFiles - kept.size} of ${plan.pending.length} pending file(s)`,
    );
    // A file an earlier run left partly applied is rehearsed from where apply would resume it.
    const resumed = resumePartialFiles(prepared, plan.partial);
    const execution = buildExecutionPlan(resumed, settings.transactionMode);
    reportTimeoutChanges(result, logger, prepared, settings);
    result.migrations = prepared.map((p) => {
      const reasons = execution.nonAtomic.get(p.migration.version) ?? [];
      const notes = notesOf(p);
      return {
        version: p.migration.version,
        name: p.migration.name,
        file: p.migration.path,
        status: 'pending',
        durationMs: 0,
        statements: p.statements.length,
        atomic: reasons.length === 0,
        nonAtomicReasons: reasons,
        ...(notes && { notes }),
      };
    });
    const catalog = catalogCheck({
      exposedSchemas: lintConfig?.exposedSchemas,
      severityOf: catalogSeverity(lintConfig?.rules),
    });
    const hooks = lintConfig && catalog.hooks;
    const addCatalogFindings = () => {
      const catalogFindings = catalog.findings();
      if (catalogFindings) result.lint = withCatalogFindings(result.lint, catalogFindings);
      if (catalog.problem()) logger.warn(catalog.problem()!);
    };
    if (settings.shadowDatabase) {
      const shadowed = await shadowPlan(ctx, result, session, resumed, hooks);
      addCatalogFindings();
      return shadowed;
    }
    await runner.start();
    const rehearsal = await rehearse(execution.units, {
      runner,
      lockTimeoutMs: settings.lockTimeoutMs,
      statementTimeoutMs: settings.statementTimeoutMs,
      hooks,
    });
    result.rehearsal = { ran: true, on: 'target', notRehearsed: rehearsal.notRehearsed };
    addCatalogFindings();
    if (rehearsal.failure) {
      const { error, version } = rehearsal.failure;
      const failed = result.migrations.find((m) => m.version === version);
      if (failed) Object.assign(failed, { status: 'failed', error });
      result.error = error;
      if (ctx.signal?.aborted) {
        result.status = 'cancelled';
        result.cancelled = true;
        result.message = `${error.message}. The rehearsal was rolled back; nothing was changed.`;
        return result;
      }
      result.status = 'failed';
      result.message = `${formatLocation(error)}${error.message}${lockWaitNote(error, settings.lockTimeoutMs, runner.blockers())}. apply would fail here; nothing was changed.`;
      return result;
    }
    result.status = 'success';
    result.message = `${plan.pending.length} pending migration(s) rehearsed and rolled back without error${rehearsal.notRehearsed.length ? ` (${rehearsal.notRehearsed.length} statement(s) could not be rehearsed)` : ''}; nothing was changed.`;
    logger.info(result.message);
    return result;
  });
  return withLintVerdict(planned, level, logger);
}

/**
 * A rehearsal that met a lock another session holds gave up after lock-timeout rather than queue
 * (and make the application's queries queue behind it): said in words, naming the holder when the
 * control connection saw it.
 */
function lockWaitNote(error: ErrorDetail, lockTimeoutMs: number, blockers: Blocker[]): string {
  if (error.sqlstate !== LOCK_NOT_AVAILABLE) return '';
  const who = blockers.length
    ? ` held by ${blockers.map(describeBlocker).join('; ')}`
    : ' another session holds';
  return ` (the rehearsal waited ${lockTimeoutMs} ms, the lock-timeout, for a lock${who}, then gave up rather than queue)`;
}

const LOCK_NOT_AVAILABLE = '55P03';

/** The rehearsal on the shadow database (plan-shadow.ts), reported per file. */
async function shadowPlan(
  ctx: CommandContext,
  result: RunResult,
  session: Session,
  prepared: PreparedMigration[],
  hooks?: ShadowHooks,
): Promise<RunResult> {
  const { logger } = ctx;
  const shadow = await logger.group('Rehearsal on the shadow database', () =>
    rehearseOnShadow(ctx, session, prepared, hooks),
  );
  result.shadow = shadow.report;
  result.rehearsal = { ran: true, on: 'shadow', notRehearsed: [] };
  const ran = new Map(shadow.files.map((f) => [f.version, f]));
  let failedSeen = false;
  for (const row of result.migrations) {
    const file = ran.get(row.version);
    if (file) {
      row.durationMs = file.durationMs;
      row.objects = file.objects;
      if (file.error) Object.assign(row, { status: 'failed', error: file.error });
      failedSeen ||= file.error !== undefined;
    } else if (failedSeen) row.status = 'not-run';
  }
  const where = `the shadow database ${shadow.report.display}`;
  if (shadow.failure) {
    const { error } = shadow.failure;
    result.error = error;
    if (shadow.failure.cancelled || ctx.signal?.aborted) {
      result.status = 'cancelled';
      result.cancelled = true;
      result.message = `${error.message} (on ${where}). The target was not changed.`;
      return result;
    }
    result.status = 'failed';
    result.message = `${formatLocation(error)}${error.message}. apply would fail here (rehearsed for real on ${where}); the target was not changed.`;
    if (shadow.report.notCopied.length)
      result.message += ` Note: ${shadow.report.notCopied.length} part(s) of the schema could not be copied into the shadow database; see the report.`;
    return result;
  }
  result.status = 'success';
  result.message = `${prepared.length} pending migration(s) applied without error on ${where} (a copy of the target's schema); the target was not changed.`;
  logger.info(result.message);
  return result;
}
