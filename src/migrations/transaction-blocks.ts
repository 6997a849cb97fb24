import { GuardError } from '../errors.js';
import type { Statement, TransactionControl } from './statements.js';

/** A balanced `BEGIN … COMMIT` block inside a file, taken into the migration's own transaction. */
export interface TransactionBlock {
  beginLine: number;
  endLine: number;
  /** How the file spells it, e.g. `START TRANSACTION … END`. */
  keywords: string;
  /** Options of the BEGIN (`ISOLATION LEVEL SERIALIZABLE`, …) that the migration's transaction does not take on. */
  ignoredOptions?: string;
}

export interface AbsorbedStatements {
  /** The file's statements without the BEGIN/COMMIT of its blocks. */
  statements: Statement[];
  /** The whole file is one block (`BEGIN; … COMMIT;`): the historic, unremarkable case. */
  wrapped: boolean;
  /** Blocks inside the file (not a whole-file wrapper): reported, since they no longer commit on their own. */
  absorbed: TransactionBlock[];
}

/**
 * Every statement of a file already runs inside the runner's transaction, so a balanced
 * `BEGIN … COMMIT` (or `START TRANSACTION … END`) block asks for nothing more: its statements
 * run where they stand and commit with the file. What the runner cannot honour is refused before
 * anything runs, naming the line: ROLLBACK (it would discard the run's work, not the block's),
 * a COMMIT without BEGIN, a BEGIN without COMMIT or inside another block, two-phase commit, and a
 * statement inside a block that cannot run in a transaction at all. Savepoints pass unchanged.
 */
export function absorbTransactionBlocks(
  statements: Statement[],
  file: string,
  beginOptions: ReadonlyMap<Statement, string> = new Map(),
): AbsorbedStatements {
  const blocks: Array<{ begin: Statement; end: Statement }> = [];
  let open: Statement | undefined;
  for (const statement of statements) {
    switch (statement.transactionControl) {
      case 'begin':
        if (open) throw nestedBegin(statement, open, file);
        open = statement;
        break;
      case 'commit':
        if (!open) throw commitWithoutBegin(statement, file);
        blocks.push({ begin: open, end: statement });
        open = undefined;
        break;
      case 'chain':
        // COMMIT AND CHAIN ends one block and opens the next at once: inside our transaction, both
        // are the same transaction, so the block simply goes on.
        if (!open) throw commitWithoutBegin(statement, file);
        break;
      case 'rollback':
        throw refused(
          statement,
          file,
          `${keywordOf(statement)} inside a migration: the runner owns the transaction, so a ROLLBACK here would discard the work of the whole run (or of a block it cannot undo on its own), not just the statements before it`,
          'Remove it; to undo part of a file conditionally, use SAVEPOINT … ROLLBACK TO SAVEPOINT.',
        );
      case 'prepared':
        throw refused(
          statement,
          file,
          `${keywordOf(statement)} inside a migration: two-phase commit hands a transaction over to a later COMMIT PREPARED, while the runner owns the migration's transaction and commits it itself`,
          'Remove it.',
        );
      default:
        break;
    }
  }
  if (open) {
    throw refused(
      open,
      file,
      `${keywordOf(open)} without a matching COMMIT: the transaction block it opens is never closed`,
      `Add COMMIT; where the block ends, or remove the ${keywordOf(open)}.`,
    );
  }

  const wrapped =
    blocks.length === 1 &&
    blocks[0].begin === statements[0] &&
    blocks[0].end === statements[statements.length - 1];
  for (const { begin, end } of blocks) {
    const inside = statements.slice(statements.indexOf(begin) + 1, statements.indexOf(end));
    const outside = inside.find((s) => s.nonTransactional);
    if (!outside) continue;
    const where = wrapped
      ? 'the BEGIN … COMMIT this file wraps itself in'
      : `the BEGIN … COMMIT block of lines ${begin.line}–${end.line}`;
    throw new GuardError('transaction-control', `${outside.nonTransactional} cannot run inside ${where}`, {
      location: { file, line: outside.line, column: outside.column },
      hint: wrapped
        ? 'Move the statement to its own migration file without BEGIN/COMMIT. Nothing has been run.'
        : 'Move the statement out of the block (or to its own migration file). Nothing has been run.',
    });
  }
  const control = new Set<TransactionControl | undefined>(['begin', 'commit', 'chain']);
  return {
    statements: statements.filter((s) => !control.has(s.transactionControl)),
    wrapped,
    absorbed: wrapped
      ? []
      : blocks.map(({ begin, end }) => ({
          beginLine: begin.line,
          endLine: end.line,
          keywords: `${keywordOf(begin)} … ${keywordOf(end)}`,
          ignoredOptions: beginOptions.get(begin),
        })),
  };
}

/** The report's note on a block that was absorbed. */
export function describeAbsorbedBlock(block: TransactionBlock): string {
  const options = block.ignoredOptions ? ` (its options "${block.ignoredOptions}" do not apply)` : '';
  return `${block.keywords} block at lines ${block.beginLine}–${block.endLine} absorbed: it runs inside the migration's transaction and commits with it, not on its own${options}`;
}

/** How the file's PostgreSQL parse tree names a transaction statement, for `Statement.transactionControl`. */
export function transactionKind(node: Record<string, unknown>): TransactionControl {
  switch (node.kind) {
    case 'TRANS_STMT_BEGIN':
    case 'TRANS_STMT_START':
      return 'begin';
    case 'TRANS_STMT_COMMIT':
      return node.chain ? 'chain' : 'commit';
    case 'TRANS_STMT_SAVEPOINT':
    case 'TRANS_STMT_RELEASE':
    case 'TRANS_STMT_ROLLBACK_TO':
      return 'savepoint';
    case 'TRANS_STMT_ROLLBACK':
      return 'rollback';
    default:
      return 'prepared';
  }
}

/** A BEGIN's options as written (`isolation level serializable`), when it has any. */
export function beginOptionsOf(node: Record<string, unknown>, sql: string): string | undefined {
  if (transactionKind(node) !== 'begin' || !Array.isArray(node.options) || node.options.length === 0)
    return undefined;
  return sql.replace(/^(begin|start\s+transaction)(\s+(work|transaction)\b)?\s*/i, '') || undefined;
}

function nestedBegin(statement: Statement, open: Statement, file: string): GuardError {
  return refused(
    statement,
    file,
    `${keywordOf(statement)} inside the transaction block opened at line ${open.line}: PostgreSQL does not nest transactions (it ignores this ${keywordOf(statement)}, and the first COMMIT ends both)`,
    `Remove this ${keywordOf(statement)}, or close the block of line ${open.line} with COMMIT first.`,
  );
}

function commitWithoutBegin(statement: Statement, file: string): GuardError {
  return refused(
    statement,
    file,
    `${keywordOf(statement)} without a BEGIN before it: the runner owns the transaction, so a COMMIT here would commit the first part of the file on its own and break the all-or-nothing guarantee`,
    'Remove it, or open the block it closes with BEGIN.',
  );
}

function refused(statement: Statement, file: string, message: string, hint: string): GuardError {
  return new GuardError('transaction-control', message, {
    location: { file, line: statement.line, column: statement.column },
    hint: `${hint} Nothing has been run.`,
  });
}

/** `BEGIN`, `START TRANSACTION`, `END`, `ABORT`, `PREPARE TRANSACTION`, `COMMIT PREPARED`, … as written. */
function keywordOf(statement: Statement): string {
  const [first = '', second = '', third = ''] = (statement.sql.match(/[a-z]+/gi) ?? []).map((w) =>
    w.toUpperCase(),
  );
  if (first === 'START' || first === 'PREPARE' || second === 'PREPARED') return `${first} ${second}`;
  if (second === 'AND') return `${first} AND ${third === 'NO' ? 'NO ' : ''}CHAIN`;
  return first;
}
