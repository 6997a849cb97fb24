import type { CommandName } from '../config/settings.js';
import { GuardError, errorMessage } from '../errors.js';
import type { ErrorDetail, RunResult } from '../engine/result.js';
import { AuditRecorder } from '../audit/recorder.js';
import { StageEvents } from '../engine/events.js';
import { scrubbingLogger, type Logger } from '../logger.js';
import { consoleLogListener } from '../report/console-log.js';
import { guardManualRun } from '../guard/manual-run.js';
import { outbound } from '../outbound.js';
import { applyCommand } from './apply.js';
import { auditCommand } from './audit.js';
import { backupCommand } from './backup.js';
import { baselineCommand } from './baseline.js';
import { databaseChanged } from './changed.js';
import { newResult, type CommandContext, type CommandHandler } from './context.js';
import { planCommand } from './plan.js';
import { rollbackCommand } from './rollback.js';
import { statusCommand } from './status.js';

const HANDLERS: Partial<Record<CommandName, CommandHandler>> = {
  plan: planCommand,
  apply: applyCommand,
  status: statusCommand,
  rollback: rollbackCommand,
  backup: backupCommand,
  baseline: baselineCommand,
  audit: auditCommand,
};

/** Commands whose runs are written to the audit log: the ones that can change the database. */
const AUDITED: ReadonlySet<CommandName> = new Set(['apply', 'rollback', 'baseline', 'backup']);

/**
 * A benchmarking aid, not an input: bench/apply-bench.mjs sets it to measure what the audit log
 * costs a run (the same build with and without it). A run that honours it says so in its log.
 */
export const AUDIT_OFF_FOR_BENCHMARK = 'MIGRATION_GUARD_BENCHMARK_AUDIT_OFF';

/**
 * Runs one command and always returns a result: an error becomes a failed result carrying the
 * message, location and hint, so every run can be reported the same way. The command logs through
 * the scrubber, and the result it returns is scrubbed (then its statements cut): whatever the
 * caller writes from it (report, summary, outputs, stdout) holds no secret.
 */
export async function runCommand(command: CommandContext): Promise<RunResult> {
  const { result, audited } = await runCommandBeforeAudit(command);
  await audited;
  return result;
}

/**
 * runCommand, returning as soon as the result is final: the audit log's last write (the run's end)
 * may still be going on, and `audited` settles (never rejects) once it is done. The action writes
 * its report, outputs and summary meanwhile, and waits for it before it ends.
 */
export async function runCommandBeforeAudit(
  command: CommandContext,
): Promise<{ result: RunResult; audited: Promise<void> }> {
  const { scrubber } = command;
  const logger = scrubbingLogger(command.logger, scrubber.scrub);
  // Who started the run ends up in run records, checksum rows and application_name: scrubbed once here.
  const ctx = {
    ...command,
    logger,
    run: scrubber.scrubValue(command.run),
    events: runEvents(command, logger),
  };
  const started = new Date();
  const result = newResult(ctx, started);
  const auditOff = AUDITED.has(ctx.settings.command) && process.env[AUDIT_OFF_FOR_BENCHMARK] === '1';
  if (auditOff)
    ctx.logger.warn(`The audit log is off for this run: ${AUDIT_OFF_FOR_BENCHMARK}=1 (a benchmarking aid)`);
  const audit =
    AUDITED.has(ctx.settings.command) && !auditOff
      ? new AuditRecorder(ctx, { scrubValue: (value) => outbound(value, scrubber) }, started)
      : undefined;
  if (audit) ctx.events.on(audit.listener);
  // An apply opens the audit log's connection once it knows it has work: one with nothing to do
  // writes its two rows on the session's connection when the session is over. Other commands
  // (rollback, baseline, backup) open it as soon as they reach the database.
  const openWhenPlanned = ctx.settings.command === 'apply';
  ctx.onConnected = () => {
    audit?.markReached();
    if (!openWhenPlanned) audit?.start();
  };
  ctx.onPlanned = (pendingCount) => {
    if (openWhenPlanned && pendingCount > 0) audit?.start();
  };
  ctx.adoptSession = (client, auditLogExists) => audit?.adopt(client, auditLogExists) ?? false;
  try {
    const handler = HANDLERS[ctx.settings.command];
    if (!handler) {
      throw new GuardError(
        'not-implemented',
        `The "${ctx.settings.command}" command is not available in this version`,
        {
          hint: `Available commands: ${Object.keys(HANDLERS).join(', ')}.`,
        },
      );
    }
    // Before any migration work: a refused manual run writes its refusal to the audit log, nothing else.
    // A manual run that passes has its "run started" row written by the guard, with the rate-limit check.
    const refusal = ctx.permissions ? await guardManualRun(ctx, ctx.permissions, audit) : undefined;
    if (refusal) {
      result.status = 'failed';
      result.refusal = refusal;
      result.message = refusal.message;
      result.error = { message: refusal.message, hint: refusal.hint };
    } else await handler(ctx, result);
  } catch (error) {
    // A stopped job is `cancelled` whatever stage it was stopped in (lock wait, backup, parsing).
    const cancelled = (error instanceof GuardError && error.code === 'cancelled') || ctx.signal?.aborted;
    result.status = cancelled ? 'cancelled' : 'failed';
    result.cancelled = cancelled || undefined;
    result.error = toErrorDetail(error);
    result.message = errorMessage(error);
  }
  // Decided once, from the result as it ends: what stayed committed, whatever path the run took.
  result.changed = databaseChanged(result);
  const finished = new Date();
  result.finishedAt = finished.toISOString();
  result.durationMs = finished.getTime() - started.getTime();
  const scrubbed = outbound(result, scrubber);
  // The last stage event carries the final, scrubbed result (the engine emits the others).
  ctx.events.emit({ type: 'run-finished', result: scrubbed });
  return { result: scrubbed, audited: audit?.finish(scrubbed) ?? Promise.resolve() };
}

/**
 * The run's stage events as every listener gets them: scrubbed once (an error message can quote
 * a connection string), shown in the console log, then handed to the entry point's listeners
 * (the pull request comment) in the same order.
 */
function runEvents(command: CommandContext, logger: Logger): StageEvents {
  const { scrubber } = command;
  const events = new StageEvents(
    (error) => logger.warn(`A run listener failed: ${errorMessage(error)}`),
    // run-finished carries the result, scrubbed already (and cut): not searched twice.
    (event) => (event.type === 'run-finished' ? event : scrubber.scrubValue(event)),
  );
  events.on(consoleLogListener(logger));
  const outer = command.events;
  if (outer) events.on((event) => outer.emit(event));
  return events;
}

function toErrorDetail(error: unknown): ErrorDetail {
  if (error instanceof GuardError) {
    return {
      message: error.message,
      file: error.location?.file,
      line: error.location?.line,
      column: error.location?.column,
      hint: error.hint,
      sqlstate: error.options.sqlstate,
    };
  }
  const err = error as { message?: string; code?: string };
  return {
    message: err?.message ?? String(error),
    sqlstate: typeof err?.code === 'string' ? err.code : undefined,
  };
}
