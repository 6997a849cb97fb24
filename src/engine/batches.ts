import { batchErrorOf, type Reply } from './statement-runner.js';
import { localTimeoutCalls, reassertCommands, type EngineTimeouts } from './timeouts.js';
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
/** Where a message is cut inside a file rather than at its end. */
export const FILE_MESSAGE_BYTES = 1024 * 1024;

/**
 * The server's replies to a message all arrive when it is done, so a file's duration is read from
 * the server's clock instead: a reading opens every message and follows each file's (or each
 * part's) last statement in it. Between two readings run the statements of one file.
 */
const CLOCK_READING = 'extract(epoch FROM clock_timestamp()) * 1000 AS clock_ms';
export const CLOCK_SQL = `SELECT ${CLOCK_READING}`;
/** In `Batch.commands`: a clock reading rather than a statement. */
export const CLOCK = -1;
/** In `Batch.commands`: one of the commands that set the engine's timeouts again (timeouts.ts). */
export const GUARD = -2;

export interface BatchOptions {
  /** false leaves out the clock readings (default true). */
  clock?: boolean;
  /**
   * The engine's timeouts: when given, each clock reading sets them again, and the commands of
   * `reassertCommands` follow every statement that can change them.
   */
  timeouts?: EngineTimeouts;
}

export type Batch =
  | {
      kind: 'statements';
      first: number;
      steps: StatementStep[];
      /** Each statement's index among the transaction's steps (records interleave). */
      indices: number[];
      /** The message's commands in order: a statement's index in `steps`, CLOCK or GUARD. */
      commands: number[];
      /** The text of each command. */
      texts: string[];
      sql: string;
    }
  | { kind: 'record'; first: number; step: Extract<Step, { kind: 'record' }> };

type StatementBatch = Extract<Batch, { kind: 'statements' }>;

export function batchesOf(steps: Step[], options: BatchOptions = {}): Batch[] {
  return [...batchesFrom(steps, options)];
}

/**
 * Lazily, for steps produced while the transaction runs: record steps are passed on at once, and
 * a message is sent when it is full or the steps end.
 */
export function* batchesFrom(steps: Iterable<Step>, options: BatchOptions = {}): Generator<Batch> {
  const clock = options.clock ?? true;
  const clockSql = options.timeouts
    ? `SELECT ${localTimeoutCalls(options.timeouts)}, ${CLOCK_READING}`
    : CLOCK_SQL;
  const guard = options.timeouts ? reassertCommands(options.timeouts) : [];
  let current: StatementStep[] = [];
  let indices: number[] = [];
  let commands: number[] = [];
  let texts: string[] = [];
  const add = (command: number, text: string) => {
    commands.push(command);
    texts.push(text);
  };
  const opening = () => {
    if (clock) add(CLOCK, clockSql);
  };
  opening();
  let length = 0;
  let index = 0;
  const readClock = () => {
    if (clock && commands[commands.length - 1] !== CLOCK) add(CLOCK, clockSql);
  };
  const take = (): Batch => {
    readClock();
    const batch: Batch = {
      kind: 'statements',
      first: indices[0],
      steps: current,
      indices,
      commands,
      texts,
      sql: texts.join(SEPARATOR),
    };
    current = [];
    indices = [];
    commands = [];
    texts = [];
    opening();
    length = 0;
    return batch;
  };
  for (const step of steps) {
    if (step.kind === 'record') {
      if (current.length > 0) readClock();
      yield { kind: 'record', first: index++, step };
      if (length >= MESSAGE_BYTES) yield take();
      continue;
    }
    add(current.length, step.statement.sql);
    current.push(step);
    indices.push(index++);
    length += step.statement.sql.length + SEPARATOR.length;
    if (step.statement.touchesTimeouts) for (const sql of guard) add(GUARD, sql);
    // A file larger than a message (a data migration) goes in several: one message holding a
    // 100 MB file cost ~400 MB of client memory.
    if (length >= FILE_MESSAGE_BYTES) yield take();
  }
  if (current.length > 0) yield take();
}

/**
 * How long each file's statements in a message ran, in ms, by version: from the clock readings
 * that completed (a failed message has readings up to the failure only).
 */
export function durationsOf(batch: StatementBatch, reply: Reply): Map<string, number> {
  const durations = new Map<string, number>();
  let since: number | undefined;
  let version: string | undefined;
  batch.commands.slice(0, reply.completed).forEach((command, i) => {
    if (command === GUARD) return;
    if (command !== CLOCK) {
      version = batch.steps[command].migration.migration.version;
      return;
    }
    const now = Number(reply.rows[i]?.clock_ms);
    if (!Number.isFinite(now)) return;
    if (since !== undefined && version !== undefined)
      durations.set(version, (durations.get(version) ?? 0) + now - since);
    since = now;
    version = undefined;
  });
  return durations;
}

/**
 * Which statement of a failed batch failed (PostgreSQL stops at the first error; the runner counts
 * the commands that completed) and where inside it: the server's position counts code points
 * from the start of the whole message. A failure during a clock reading or a GUARD command (a
 * cancellation, say) is put on the statement just before it.
 */
export function locateFailure(
  batch: StatementBatch,
  error: unknown,
): { index: number; step: StatementStep; positionInStatement?: number } {
  const err = batchErrorOf(error);
  const at = Math.min(Math.max(0, err?.reply?.completed ?? 0), batch.commands.length - 1);
  const before = batch.commands.slice(0, at + 1).filter((c) => c >= 0);
  const statementAt = before.length > 0 ? before[before.length - 1] : 0;
  const located = { index: batch.indices[statementAt], step: batch.steps[statementAt] };
  if (batch.commands[at] < 0) return located;
  const positionInStatement = positionInCommand(batch.texts, at, Number(err?.position ?? NaN));
  return positionInStatement === undefined ? located : { ...located, positionInStatement };
}

/**
 * Turns the server's error position in a message of `commands` joined by SEPARATOR (code points
 * from the start of the message, from 1) into a position in command `index`; undefined when there
 * is none or it falls outside that command.
 */
export function positionInCommand(commands: string[], index: number, position: number): number | undefined {
  if (!Number.isInteger(position) || position <= 0) return undefined;
  let start = 0;
  for (let i = 0; i < index; i++) start += Array.from(commands[i]).length + Array.from(SEPARATOR).length;
  const inCommand = position - start;
  return inCommand >= 1 && inCommand <= Array.from(commands[index]).length + 1 ? inCommand : undefined;
}
