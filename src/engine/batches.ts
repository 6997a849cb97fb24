import type { BatchError } from './statement-runner.js';
import type { Step, StatementStep } from './units.js';

/**
 * Statements go to the server as multi-statement messages: a few round trips for the whole run
 * instead of one per statement (or per file), which is what makes a remote database (5-50 ms
 * away) fast and spares the server a wake-up per file. A message spans files (the records of the
 * files it covers are written separately, before COMMIT) up to a size that keeps the client's
 * parsing ahead of the server in a streamed run. The separator starts on a new line so a trailing
 * `-- comment` cannot swallow it.
 */
export const SEPARATOR = '\n;\n';
export const MESSAGE_BYTES = 32 * 1024;

export type Batch =
  | {
      kind: 'statements';
      first: number;
      steps: StatementStep[];
      /** Each statement's index among the transaction's steps (records interleave). */
      indices: number[];
      sql: string;
    }
  | { kind: 'record'; first: number; step: Extract<Step, { kind: 'record' }> };

export function batchesOf(steps: Step[]): Batch[] {
  return [...batchesFrom(steps)];
}

/**
 * Lazily, for steps produced while the transaction runs: record steps are passed on at once, and
 * a message is sent when it is full or the steps end.
 */
export function* batchesFrom(steps: Iterable<Step>): Generator<Batch> {
  let current: StatementStep[] = [];
  let indices: number[] = [];
  let length = 0;
  let index = 0;
  const take = (): Batch => {
    const batch: Batch = {
      kind: 'statements',
      first: indices[0],
      steps: current,
      indices,
      sql: current.map((s) => s.statement.sql).join(SEPARATOR),
    };
    current = [];
    indices = [];
    length = 0;
    return batch;
  };
  for (const step of steps) {
    if (step.kind === 'record') {
      yield { kind: 'record', first: index++, step };
      if (length >= MESSAGE_BYTES) yield take();
      continue;
    }
    current.push(step);
    indices.push(index++);
    length += step.statement.sql.length + SEPARATOR.length;
  }
  if (current.length > 0) yield take();
}

/**
 * Which statement of a failed batch failed (PostgreSQL stops at the first error; the runner counts
 * the statements that completed) and where inside it: the server's position counts code points
 * from the start of the whole message.
 */
export function locateFailure(
  batch: Extract<Batch, { kind: 'statements' }>,
  error: unknown,
): { index: number; step: StatementStep; positionInStatement?: number } {
  const err = error as BatchError & { position?: string };
  const position = err.position ? Number(err.position) : NaN;
  if (Number.isInteger(position) && position > 0) {
    let start = 0;
    for (let i = 0; i < batch.steps.length; i++) {
      const length = Array.from(batch.steps[i].statement.sql).length;
      if (position - 1 < start + length + Array.from(SEPARATOR).length || i === batch.steps.length - 1) {
        return {
          index: batch.indices[i],
          step: batch.steps[i],
          positionInStatement: Math.max(1, position - start),
        };
      }
      start += length + SEPARATOR.length;
    }
  }
  const i = Math.min(err.completedStatements ?? 0, batch.steps.length - 1);
  return { index: batch.indices[i], step: batch.steps[i] };
}
