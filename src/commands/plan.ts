import { GuardError, formatLocation } from '../errors.js';
import { notesOf, prepareMigrations } from '../engine/prepare.js';
import { rehearse } from '../engine/rehearse.js';
import { reportTimeoutChanges } from '../engine/timeouts.js';
import type { RunResult } from '../engine/result.js';
import { buildExecutionPlan } from '../engine/units.js';
import { refuseOversizedFiles } from '../migrations/limits.js';
import type { CommandContext } from './context.js';
import { resumePartialFiles } from '../engine/staged-apply/partial-files.js';
import { withSession } from './session.js';
import { catalogCheck } from '../lint/catalog-check.js';
import { catalogSeverity, withCatalogFindings } from '../lint/catalog.js';
import { lintConfigFor } from '../lint/config.js';

/**
 * plan: what apply would do, proven by running it: drift and order checks, then every pending
 * statement in a transaction that is always rolled back, under the lock timeout. Changes nothing
 * (except sequences, which PostgreSQL never rolls back).
 */
export async function planCommand(ctx: CommandContext, result: RunResult): Promise<RunResult> {
  const { settings, logger } = ctx;
  result.transactionMode = settings.transactionMode;
  return withSession(ctx, result, { lock: false }, async ({ plan, runner }) => {
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
    const prepared = await prepareMigrations(plan.pending);
    // A file an earlier run left partly applied is rehearsed from where apply would resume it.
    const execution = buildExecutionPlan(
      resumePartialFiles(prepared, plan.partial),
      settings.transactionMode,
    );
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
    await runner.start();
    // The catalog security checks follow the lint config (exposed schemas, severities); off with lint.
    const lintConfig = settings.lint === 'off' ? undefined : await lintConfigFor(settings, ctx.cwd);
    const catalog = catalogCheck({
      exposedSchemas: lintConfig?.exposedSchemas,
      severityOf: catalogSeverity(lintConfig?.rules),
    });
    const rehearsal = await rehearse(execution.units, {
      runner,
      lockTimeoutMs: settings.lockTimeoutMs,
      statementTimeoutMs: settings.statementTimeoutMs,
      hooks: lintConfig && catalog.hooks,
    });
    result.rehearsal = { ran: true, notRehearsed: rehearsal.notRehearsed };
    const catalogFindings = catalog.findings();
    if (catalogFindings) result.lint = withCatalogFindings(result.lint, catalogFindings);
    if (catalog.problem()) logger.warn(catalog.problem()!);
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
      result.message = `${formatLocation(error)}${error.message}. apply would fail here; nothing was changed.`;
      return result;
    }
    result.status = 'success';
    result.message = `${plan.pending.length} pending migration(s) rehearsed and rolled back without error${rehearsal.notRehearsed.length ? ` (${rehearsal.notRehearsed.length} statement(s) could not be rehearsed)` : ''}; nothing was changed.`;
    logger.info(result.message);
    return result;
  });
}
