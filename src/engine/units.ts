import type { TransactionMode } from '../config/settings.js';
import type { Migration, SqlPart } from '../migrations/discover.js';
import type { Statement } from '../migrations/statements.js';
import type { TransactionBlock } from '../migrations/transaction-blocks.js';
import { mentionsEnumValue } from './enum-use.js';
import { refuseOutOfPlaceStatements } from './refuse.js';

/** A pending migration with its statements split and classified. */
export interface PreparedMigration {
  migration: Migration;
  statements: Statement[];
  wrapped: boolean;
  /** BEGIN … COMMIT blocks inside the file, run inside its transaction (reported). */
  absorbed?: TransactionBlock[];
  /** Statements of the `.verify.sql` companion: run after the migration, inside its transaction. */
  verify?: Statement[];
  /**
   * How many leading statements an earlier, failed run already committed (a partly applied file,
   * db/partial-store.ts): the run resumes after them. The history row still lists every statement.
   */
  resumeAfter?: number;
}

export type StatementStep = {
  kind: 'statement';
  migration: PreparedMigration;
  statement: Statement;
  /** The file the statement comes from: the migration itself, or its verify script. */
  part: SqlPart;
  role: 'up' | 'verify' | 'down';
};

export type Step =
  | StatementStep
  /** Writes the history and checksum rows: always in the same transaction as the file's last statement. */
  | { kind: 'record'; migration: PreparedMigration };

/** One server round of work: a transaction, or one statement that cannot run inside one. */
export type Unit = { kind: 'transaction'; steps: Step[] } | { kind: 'autocommit'; step: StatementStep };

export interface ExecutionPlan {
  units: Unit[];
  /** Per version: why the file is not applied in one transaction (empty when it is atomic). */
  nonAtomic: Map<string, string[]>;
}

/**
 * Cuts the run into transactions. `all` keeps everything in one transaction except where
 * PostgreSQL forbids it: a statement that cannot run in a transaction block runs on its own, and
 * a file that adds an enum value is committed before a later file that uses the value. `per-file`
 * gives each file its own transaction, with the same exceptions inside a file.
 */
export function buildExecutionPlan(prepared: PreparedMigration[], mode: TransactionMode): ExecutionPlan {
  refuseOutOfPlaceStatements(prepared);
  const units: Unit[] = [];
  const nonAtomic = new Map<string, string[]>();
  let open: Step[] = [];
  const close = () => {
    if (open.length > 0) units.push({ kind: 'transaction', steps: open });
    open = [];
  };
  const note = (version: string, reason: string) =>
    nonAtomic.set(version, [...(nonAtomic.get(version) ?? []), reason]);

  prepared.forEach((item, index) => {
    const resumeAfter = item.resumeAfter ?? 0;
    if (resumeAfter > 0) {
      const next = item.statements[resumeAfter];
      note(
        item.migration.version,
        `resumes ${next ? `at statement ${resumeAfter + 1} (line ${next.line})` : 'at its history row'}: statements 1-${resumeAfter} were committed by an earlier run`,
      );
    }
    for (const statement of item.statements.slice(resumeAfter)) {
      const step = upStep(item, statement);
      if (statement.nonTransactional) {
        close();
        units.push({ kind: 'autocommit', step });
        note(
          item.migration.version,
          `${statement.nonTransactional} (line ${statement.line}) runs outside a transaction`,
        );
      } else {
        open.push(step);
      }
    }
    open.push(...verifyAndRecordSteps(item));
    const laterUse = mode === 'all' ? enumValueUsedLater(item, prepared.slice(index + 1)) : undefined;
    if (mode === 'per-file' || laterUse) close();
    if (laterUse) {
      note(
        laterUse.version,
        `commits separately: enum value '${laterUse.value}' added by ${item.migration.fileName} must be committed before this file can use it`,
      );
    }
  });
  close();
  return { units, nonAtomic };
}

/**
 * The steps of a file that runs wholly inside the open transaction, exactly as
 * `buildExecutionPlan` lays them out: statements, verify script, history row.
 */
export function stepsOfAtomicFile(item: PreparedMigration): Step[] {
  return [...item.statements.map((statement) => upStep(item, statement)), ...verifyAndRecordSteps(item)];
}

function upStep(item: PreparedMigration, statement: Statement): StatementStep {
  return { kind: 'statement', migration: item, statement, part: item.migration.up, role: 'up' };
}

function verifyAndRecordSteps(item: PreparedMigration): Step[] {
  const part = item.migration.verify;
  const verify: Step[] = part
    ? (item.verify ?? []).map((statement) => ({
        kind: 'statement',
        migration: item,
        statement,
        part,
        role: 'verify',
      }))
    : [];
  return [...verify, { kind: 'record', migration: item }];
}

/**
 * Words without which no statement can need a transaction of its own: every statement that
 * `nonTransactionalReason` names, and `ALTER TYPE … ADD VALUE`, contains one of them as a keyword.
 * A file whose text has none (comments and strings included, so this errs towards "maybe") can be
 * run before it is parsed-and-planned with the rest: the run fits in one transaction.
 */
const MAY_LEAVE_TRANSACTION =
  /\b(concurrently|vacuum|reindex|cluster|system|database|tablespace|subscription|value)\b/i;

export function mayNeedOwnTransaction(sqlText: string): boolean {
  return MAY_LEAVE_TRANSACTION.test(sqlText);
}

/**
 * PostgreSQL refuses to use an enum value in the transaction that added it (SQLSTATE 55P04).
 * A later file "uses" the value when its text mentions it as a quoted literal; a false positive
 * costs only an extra commit.
 */
function enumValueUsedLater(
  item: PreparedMigration,
  later: PreparedMigration[],
): { version: string; value: string } | undefined {
  const values = item.statements.flatMap((s) => (s.addsEnumValue ? [s.addsEnumValue.value] : []));
  if (values.length === 0) return undefined;
  for (const next of later) {
    for (const value of values) {
      if (next.statements.some((s) => mentionsEnumValue(s.sql, value))) {
        return { version: next.migration.version, value };
      }
    }
  }
  return undefined;
}
