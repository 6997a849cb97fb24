import type { Migration } from './discover.js';
import { parseInPieces } from './parse-pieces.js';
import { loadParser, type PgParser } from './parser.js';
import { copyFromStdinError, isCopyFromStdin } from './psql-features.js';
import type { SourceText } from './source-text.js';
import { timeoutChange } from './timeout-settings.js';
import {
  absorbTransactionBlocks,
  beginOptionsOf,
  transactionKind,
  type TransactionBlock,
} from './transaction-blocks.js';

/** `chain` is COMMIT AND CHAIN; `prepared` is two-phase commit (PREPARE TRANSACTION, COMMIT/ROLLBACK PREPARED). */
export type TransactionControl = 'begin' | 'commit' | 'chain' | 'rollback' | 'savepoint' | 'prepared';

export interface Statement {
  /** The statement as sent to the server: first token to last, without the `;`. */
  sql: string;
  /** As the Supabase CLI stores it in schema_migrations.statements: leading comments kept, trimmed. */
  historyText: string;
  /** Byte offset of `sql` in the file. */
  startByte: number;
  line: number;
  column: number;
  nodeType: string;
  /** Why the statement cannot run inside a transaction block, when it cannot. */
  nonTransactional?: string;
  /** The value an `ALTER TYPE … ADD VALUE` adds: usable only once its transaction has committed. */
  addsEnumValue?: { type: string; value: string };
  transactionControl?: TransactionControl;
  /** What the statement does to the lock or statement timeout, when it can change them (timeout-settings.ts). */
  touchesTimeouts?: string;
}

export interface SplitSql {
  statements: Statement[];
  /** The file wrapped itself in BEGIN … COMMIT; the wrapper statements are removed from `statements`. */
  wrapped: boolean;
  /** BEGIN … COMMIT blocks inside the file (present when there are any), removed from `statements` likewise. */
  absorbed?: TransactionBlock[];
}

/**
 * Splits part of a file (bytes start..end of `source`) into statements with the real PostgreSQL
 * parser, and classifies each. Errors name file:line:column.
 */
export async function splitStatements(
  source: SourceText,
  start: number,
  end: number,
  file: string,
): Promise<SplitSql> {
  return splitStatementsWith(await loadParser(), source, start, end, file);
}

/** `splitStatements` with the parser already loaded: synchronous, so parsing can be interleaved with server work. */
export function splitStatementsWith(
  parser: PgParser,
  source: SourceText,
  start: number,
  end: number,
  file: string,
): SplitSql {
  return splitClassified(classifiedStatements(parser, source, start, end, file), file);
}

/**
 * What the split needs of a classified statement (its type is the statement's): its node only
 * where it reads one (COPY, BEGIN), so that statements kept from an earlier parse (the linter's,
 * KeptStatements) hold no other tree.
 */
export interface SplitInput {
  statement: Statement;
  node?: Record<string, unknown>;
}

/**
 * Up sections already parsed and classified, by migration (the linter's parse in apply, where
 * every pending file is linted first): the engine splits them without parsing them again.
 */
export type KeptStatements = Map<Migration, SplitInput[]>;

/** The nodes the split reads (splitClassified); every other statement is kept without its node. */
export function splitReadsNode(nodeType: string): boolean {
  return nodeType === 'CopyStmt' || nodeType === 'TransactionStmt';
}

/** `splitStatementsWith` over statements already parsed and classified (in order, the whole range). */
export function splitClassified(classified: Iterable<SplitInput>, file: string): SplitSql {
  const statements: Statement[] = [];
  const beginOptions = new Map<Statement, string>();
  for (const { statement, node = {} } of classified) {
    const { nodeType } = statement;
    if (isCopyFromStdin(nodeType, node))
      throw copyFromStdinError(file, { line: statement.line, column: statement.column });
    statements.push(statement);
    const options = nodeType === 'TransactionStmt' ? beginOptionsOf(node, statement.sql) : undefined;
    if (options) beginOptions.set(statement, options);
  }
  const { absorbed, ...split } = absorbTransactionBlocks(statements, file, beginOptions);
  return absorbed.length > 0 ? { ...split, absorbed } : split;
}

/** A statement with the parser's node it came from (the linter reads the node; the runner does not keep it). */
export interface ParsedStatement {
  statement: Statement;
  nodeType: string;
  node: Record<string, unknown>;
  /** Byte offset in the file that `location` fields inside `node` count from. */
  nodeBase: number;
}

/**
 * The statements of bytes start..end of `source`, classified, one at a time and with their parse
 * node, as the parser reaches them: nothing is refused here (no COPY check, no transaction-block
 * check), so the linter can report what `splitStatementsWith` would refuse. Errors of the parse
 * itself (syntax, psql meta-commands, size) are GuardErrors naming file:line:column.
 */
export function* classifiedStatements(
  parser: PgParser,
  source: SourceText,
  start: number,
  end: number,
  file: string,
): Generator<ParsedStatement> {
  // Piece by piece, so a large file never reaches the parser whole; the pieces are parsed as the
  // loop below takes them, and their errors (syntax, psql features, size) are GuardErrors naming
  // file:line:column (parse-pieces.ts). A file with nothing in it is a no-op migration.
  const parsed = parseInPieces(parser, source, start, end, file);
  let previousEnd = start;
  for (const raw of parsed.stmts ?? []) {
    const location = start + (raw.stmt_location ?? 0);
    const stmtEnd = raw.stmt_len ? location + raw.stmt_len : end;
    let nodeType = '';
    let node: Record<string, unknown> = {};
    // The one key of the wrapper: its type (without building the entries of every statement).
    for (const key in raw.stmt) {
      nodeType = key;
      node = raw.stmt[key] as Record<string, unknown>;
      break;
    }
    const statement = new ParsedStatementText(source, location, stmtEnd, previousEnd, nodeType, node);
    yield { statement, nodeType, node, nodeBase: raw.nodeBase ?? start };
    previousEnd = stmtEnd;
  }
}

/**
 * A statement as the parser placed it. Its text, history text, line and column, and what it does
 * to the timeouts are made when first asked for, once: the executor sends every statement, the
 * linter reads few (a decode, a binary search and a text scan for each of ~50,000 statements of a
 * long history). A class, not an object of getters: a long history makes ~50,000 of them, and
 * getters on the prototype cost nothing per statement. What it derives from the tree is settled
 * here, so no tree is kept alive.
 */
class ParsedStatementText implements Statement {
  readonly nonTransactional?: string;
  readonly addsEnumValue?: Statement['addsEnumValue'];
  readonly transactionControl?: TransactionControl;
  private decoded?: string;
  private history?: string;
  private place?: { line: number; column: number };
  private timeouts?: { change: string | undefined };

  constructor(
    private readonly source: SourceText,
    readonly startByte: number,
    private readonly end: number,
    /** Where the text before it (its leading comments) starts: the end of the previous statement. */
    private readonly historyStart: number,
    readonly nodeType: string,
    node: Record<string, unknown>,
  ) {
    this.nonTransactional = nonTransactionalReason(nodeType, node);
    if (nodeType === 'AlterEnumStmt') this.addsEnumValue = enumAddition(node);
    if (nodeType === 'TransactionStmt') this.transactionControl = transactionKind(node);
    // Only SET reads the tree for the timeouts.
    if (nodeType === 'VariableSetStmt') this.timeouts = { change: timeoutChange(nodeType, node, this.sql) };
  }

  get sql(): string {
    return (this.decoded ??= this.source.slice(this.startByte, this.end).trim());
  }

  /** One string when both are the same (no comment before the statement): a data file holds many. */
  get historyText(): string {
    if (this.history === undefined) {
      const withComments = this.source.slice(this.historyStart, this.end).replace(/^\s*;/, '').trim();
      this.history = withComments === this.sql ? this.sql : withComments;
    }
    return this.history;
  }

  get line(): number {
    return (this.place ??= this.source.position(this.startByte)).line;
  }

  get column(): number {
    return (this.place ??= this.source.position(this.startByte)).column;
  }

  get touchesTimeouts(): string | undefined {
    return (this.timeouts ??= { change: timeoutChange(this.nodeType, undefined, this.sql) }).change;
  }
}

function enumAddition(node: Record<string, unknown>): Statement['addsEnumValue'] {
  // RENAME VALUE (oldVal set) is transaction-safe; only ADD VALUE creates an unusable-until-commit value.
  if (typeof node.newVal !== 'string' || node.oldVal !== undefined) return undefined;
  const names = (node.typeName as Array<{ String?: { sval: string } }> | undefined) ?? [];
  return { type: names.map((n) => n.String?.sval ?? '').join('.'), value: node.newVal };
}

function hasConcurrentlyOption(node: Record<string, unknown>): boolean {
  const params = (node.params as Array<{ DefElem?: { defname?: string } }> | undefined) ?? [];
  return params.some((p) => p.DefElem?.defname === 'concurrently');
}

/** PostgreSQL refuses these inside a transaction block (error 25001). */
export function nonTransactionalReason(nodeType: string, node: Record<string, unknown>): string | undefined {
  switch (nodeType) {
    case 'IndexStmt':
      return node.concurrent ? 'CREATE INDEX CONCURRENTLY' : undefined;
    case 'DropStmt':
      return node.concurrent ? 'DROP INDEX CONCURRENTLY' : undefined;
    case 'ReindexStmt':
      if (hasConcurrentlyOption(node)) return 'REINDEX CONCURRENTLY';
      return node.kind === 'REINDEX_OBJECT_DATABASE' || node.kind === 'REINDEX_OBJECT_SYSTEM'
        ? 'REINDEX DATABASE/SYSTEM'
        : undefined;
    case 'VacuumStmt':
      return node.is_vacuumcmd ? 'VACUUM' : undefined;
    case 'AlterSystemStmt':
      return 'ALTER SYSTEM';
    case 'CreatedbStmt':
      return 'CREATE DATABASE';
    case 'DropdbStmt':
      return 'DROP DATABASE';
    case 'CreateTableSpaceStmt':
      return 'CREATE TABLESPACE';
    case 'DropTableSpaceStmt':
      return 'DROP TABLESPACE';
    case 'ClusterStmt':
      return node.relation ? undefined : 'CLUSTER (all tables)';
    case 'CreateSubscriptionStmt':
      return 'CREATE SUBSCRIPTION';
    case 'DropSubscriptionStmt':
      return 'DROP SUBSCRIPTION';
    case 'AlterDatabaseStmt': {
      const options = (node.options as Array<{ DefElem?: { defname?: string } }> | undefined) ?? [];
      return options.some((o) => o.DefElem?.defname === 'tablespace')
        ? 'ALTER DATABASE … SET TABLESPACE'
        : undefined;
    }
    case 'AlterTableStmt': {
      const cmds =
        (node.cmds as Array<{ AlterTableCmd?: { subtype?: string; def?: Record<string, unknown> } }>) ?? [];
      const detach = cmds.some((c) => {
        const partition = c.AlterTableCmd?.def?.PartitionCmd as { concurrent?: boolean } | undefined;
        return c.AlterTableCmd?.subtype === 'AT_DetachPartition' && partition?.concurrent;
      });
      return detach ? 'ALTER TABLE … DETACH PARTITION CONCURRENTLY' : undefined;
    }
    default:
      return undefined;
  }
}
