import type { BatchError } from './statement-runner.js';
import type { Step, StatementStep } from './units.js';

/**
 * Consecutive statements of one file go to the server as one multi-statement message: one round
 * trip per file instead of one per statement, which is what makes a remote database (5–50 ms away)
 * fast. The separator starts on a new line so a trailing `-- comment` cannot swallow it.
 */
const SEPARATOR = '\n;\n';

export type Batch =
  | { kind: 'statements'; first: number; steps: StatementStep[]; sql: string }
  | { kind: 'record'; first: number; step: Extract<Step, { kind: 'record' }> };

export function batchesOf(steps: Step[]): Batch[] {
  return [...batchesFrom(steps)];
}

/**
 * Lazily, for steps produced while the transaction runs: a batch is yielded as soon as the step
 * after it is seen, and a file's statements are followed by its own record step, so yielding them
 * never needs the next file.
 */
export function* batchesFrom(steps: Iterable<Step>): Generator<Batch> {
  let current: StatementStep[] = [];
  let first = 0;
  let index = 0;
  const take = (): Batch => {
    const batch: Batch = {
      kind: 'statements',
      first,
      steps: current,
      sql: current.map((s) => s.statement.sql).join(SEPARATOR),
    };
    current = [];
    return batch;
  };
  for (const step of steps) {
    if (step.kind === 'record') {
      if (current.length > 0) yield take();
      yield { kind: 'record', first: index++, step };
      continue;
    }
    const previous = current[current.length - 1];
    if (previous && (previous.part !== step.part || previous.migration !== step.migration)) yield take();
    if (current.length === 0) first = index;
    current.push(step);
    index++;
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
          index: batch.first + i,
          step: batch.steps[i],
          positionInStatement: Math.max(1, position - start),
        };
      }
      start += length + SEPARATOR.length;
    }
  }
  const i = Math.min(err.completedStatements ?? 0, batch.steps.length - 1);
  return { index: batch.first + i, step: batch.steps[i] };
}
