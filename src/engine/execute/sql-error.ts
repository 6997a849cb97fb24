import type { ErrorDetail } from '../result.js';
import { CancelledError } from '../statement-runner.js';
import type { Step } from '../units.js';
import { isConnectionLoss } from './connection-loss.js';
import type { StepFailure } from './outcome.js';

/** Turns a server error into file:line:column, using PostgreSQL's error position inside the statement. */
export function describeSqlError(error: unknown, step: Step, positionInStatement?: number): ErrorDetail {
  const err = error as { message?: string; code?: string; position?: string; detail?: string; hint?: string };
  const message = err?.message ?? String(error);
  if (step.kind === 'record') {
    return {
      message: `recording ${step.migration.migration.fileName} in the history failed: ${message}`,
      file: step.migration.migration.path,
      sqlstate: err?.code,
    };
  }
  const { statement, part } = step;
  let at = { line: statement.line, column: statement.column };
  const position = positionInStatement ?? (err?.position ? Number(err.position) : NaN);
  if (Number.isInteger(position) && position > 0) {
    at = part.source.position(part.source.byteOffsetOfChar(statement.startByte, position - 1));
  }
  return {
    message: step.role === 'verify' ? `verify script failed: ${message}` : message,
    file: part.path,
    ...at,
    sqlstate: err?.code,
    detail: err?.detail,
    hint: err?.hint,
    // Whole: the sinks scrub it, then cut it to an excerpt (src/outbound.ts). Cut here, a secret
    // straddling the cut would leave a fragment no scrubber could recognise.
    statement: statement.sql,
  };
}

/** A failed step as the executor books it: where, what, and whether it was a cancellation or a lost connection. */
export function failureOf(
  error: unknown,
  step: Step,
  stepIndex: number,
  positionInStatement?: number,
): StepFailure {
  const cancelled = error instanceof CancelledError;
  const detail = describeSqlError(
    cancelled && (error as CancelledError).cause ? (error as CancelledError).cause : error,
    step,
    positionInStatement,
  );
  if (cancelled) detail.message = (error as Error).message;
  return {
    version: step.migration.migration.version,
    error: detail,
    stepIndex,
    cancelled,
    connectionLost: isConnectionLoss(error),
  };
}
