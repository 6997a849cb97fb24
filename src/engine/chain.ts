import { MESSAGE_BYTES, positionInCommand, SEPARATOR } from './batches.js';
import type { Step, Unit } from './units.js';

/**
 * A per-file run commits once per file. Sent one transaction at a time that is four round trips
 * per file (BEGIN, statements, history row, COMMIT): 2,000 for 500 files, most of the real pass
 * on a local server and minutes against a remote one. A chain sends consecutive transactions as
 * one message instead: `BEGIN; <settings>; <file>; <history row>; COMMIT; BEGIN; …`. PostgreSQL
 * runs such a message transaction by transaction; at the first error it aborts the open
 * transaction and skips the rest, so the files before it stay committed, exactly as if they had
 * been sent one by one, and counting the commands that completed says which ones those are.
 *
 * The history rows cannot travel as bind parameters inside a simple-protocol message, so they
 * are staged on the session beforehand (one parameterised round trip) and each transaction's
 * record command copies its own staged row by ordinal: a number the executor hands out, never
 * text from a file.
 */

type TransactionUnit = Extract<Unit, { kind: 'transaction' }>;
type RecordStep = Extract<Step, { kind: 'record' }>;

export interface ChainCommand {
  sql: string;
  /** Index, among the run's units, of the transaction this command belongs to. */
  unit: number;
  /**
   * The step this command runs and its index in the unit; BEGIN, SET and COMMIT have none. The
   * commands setting the timeouts again after a statement have its index but no step.
   */
  step?: Step;
  stepIndex?: number;
  /** The unit's COMMIT: once it has completed, the unit is committed. */
  commit?: boolean;
}

export interface Chain {
  /** The units it covers: `first` up to (not including) `end`. */
  first: number;
  end: number;
  commands: ChainCommand[];
  sql: string;
  /** The history rows to stage before sending, each with the ordinal its record command reads. */
  records: Array<{ ordinal: number; step: RecordStep }>;
}

export interface ChainText {
  /** The commands that open unit `index`'s transaction (its timeouts and commit mode, its start time). */
  open: (index: number) => readonly string[];
  /** Bookkeeping DDL run first in the chain's first transaction (the history table, on a fresh database). */
  prelude?: readonly string[];
  /** The command that writes staged history row `ordinal`. */
  record: (ordinal: number) => string;
  /** The first ordinal to hand out; the caller keeps them unique within the session. */
  firstOrdinal: number;
  /** The commands that follow a statement that can change the timeouts (engine/timeouts.ts). */
  reassert?: readonly string[];
  /** Transactions that must be sent on their own: a chain ends before one (unless it starts there). */
  alone?: (unit: Unit) => boolean;
}

/**
 * The chain of transaction units starting at `start`: as many consecutive ones as fit in a
 * message (at least one, however large), cut only between transactions.
 */
export function chainFrom(units: Unit[], start: number, text: ChainText): Chain {
  const commands: ChainCommand[] = [];
  const records: Chain['records'] = [];
  let ordinal = text.firstOrdinal;
  let length = 0;
  let end = start;
  for (; end < units.length && (end === start || length < MESSAGE_BYTES); end++) {
    const unit = units[end];
    if (unit.kind !== 'transaction' || (end > start && text.alone?.(unit))) break;
    const at = end;
    const control = (sql: string) => commands.push({ sql, unit: at });
    control('BEGIN');
    text.open(at).forEach(control);
    if (at === start) text.prelude?.forEach(control);
    (unit as TransactionUnit).steps.forEach((step, stepIndex) => {
      if (step.kind === 'record') {
        records.push({ ordinal, step });
        commands.push({ sql: text.record(ordinal++), unit: at, step, stepIndex });
      } else {
        commands.push({ sql: step.statement.sql, unit: at, step, stepIndex });
        length += step.statement.sql.length;
        if (step.statement.touchesTimeouts)
          for (const sql of text.reassert ?? []) commands.push({ sql, unit: at, stepIndex });
      }
    });
    commands.push({ sql: 'COMMIT', unit: at, commit: true });
  }
  return { first: start, end, commands, records, sql: commands.map((c) => c.sql).join(SEPARATOR) };
}

/**
 * Where a chain stopped: how many of its transactions committed, and which command failed (with
 * the error's position inside that command's text when the server gave one). `completed` is the
 * number of commands that completed before the failure.
 */
export function locateChainFailure(
  chain: Chain,
  completed: number,
  position?: number,
): { committed: number; command: ChainCommand; positionInCommand?: number } {
  const index = Math.min(Math.max(0, completed), chain.commands.length - 1);
  const committed = chain.commands.slice(0, index).filter((c) => c.commit).length;
  const command = chain.commands[index];
  const texts = chain.commands.map((c) => c.sql);
  return { committed, command, positionInCommand: positionInCommand(texts, index, position ?? NaN) };
}
