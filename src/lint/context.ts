import type { Statement } from '../migrations/statements.js';
import type { DeclaredColumn } from './columns.js';
import type { SourceText } from '../migrations/source-text.js';
import type { LintSeverity, RuleFamily } from './types.js';

/**
 * What a rule sees and returns. A rule looks at one statement at a time (`check`), at a file's
 * text (`checkFile`, for what lives outside statements: markers, comments) or at the whole
 * release once every file has been read (`finish`). It returns hits; the runner turns them into
 * findings (rule id, family, severity from the config or the table's size, file:line:column) and
 * applies ignore comments, so no rule deals with any of that.
 */
export interface LintRule {
  /** Stable, kebab-case; docs/lint/<id>.md explains it. */
  id: string;
  family: RuleFamily;
  defaultSeverity: LintSeverity;
  /** One line for the README's rules table and `lint --help`-like listings. */
  summary: string;
  /** The parse node types `check` looks at (IndexStmt, AlterTableStmt, …); absent: every statement. */
  nodeTypes?: readonly string[];
  check?(stmt: LintStatement, ctx: LintContext): RuleHits;
  checkFile?(file: LintFile, ctx: LintContext): RuleHits;
  /** After the file's last statement (what a file leaves open: a BEGIN without COMMIT). */
  endFile?(file: LintFile, ctx: LintContext): RuleHits;
  finish?(ctx: LintContext): ReleaseHit[] | undefined;
}

export type RuleHits = RuleHit | RuleHit[] | undefined | void;

export interface RuleHit {
  /** One line: the hazard and the safe pattern. The runner appends the table's size when it used one. */
  message: string;
  /** A node's `location` (from the parse tree) for a finer position than the statement's start. */
  location?: number;
  /** An exact position instead (file-level hits). */
  line?: number;
  column?: number;
  /**
   * The existing table the hazard grows with (locks, rewrites): the hit is dropped when the table
   * is new in the release, and with live sizes its severity follows the table's size.
   */
  table?: TableRef;
  /** This hit's severity when it differs from the rule's default (a config override still wins). */
  severity?: LintSeverity;
}

/** A release-level hit from `finish`: it names its file and position itself, when it has one. */
export interface ReleaseHit extends RuleHit {
  file?: string;
  version?: string;
  /** Byte offset of the statement it concerns in that file (ignore comments before it apply). */
  statementStart?: number;
}

/** A live table's row-level security (plan): whether RLS is on, and how many policies it has. */
export interface TableSecurity {
  rowSecurity: boolean;
  policies: number;
}

export interface TableRef {
  schema: string;
  table: string;
}

/** One statement of a migration with its parse node. Dropped once its rules have run. */
export interface LintStatement {
  file: string;
  version: string;
  nodeType: string;
  node: Record<string, unknown>;
  statement: Statement;
  /** 0 for the file's first statement, then 1, 2, … */
  index: number;
  /** Inside an explicit BEGIN … COMMIT block written in the file. */
  inTransactionBlock: boolean;
  /** 1-based line and column of a node's `location`; the statement's start when there is none. */
  at(location: number | undefined): { line: number; column: number };
  /** The columns it declares, once worked out (columns.ts keeps them here: several rules ask). */
  declared?: DeclaredColumn[];
}

/** A migration file's text, for rules that read what is not a statement. */
export interface LintFile {
  file: string;
  version: string;
  source: SourceText;
  /** Byte range of the up migration in the file (the part that is linted). */
  start: number;
  end: number;
}

/** A table's size as the planner knows it: `rows` is -1 when the table was never analysed. */
export interface TableStats {
  rows: number;
  bytes: number;
}

/** `public` when the statement names no schema: the default search_path migrations run with. */
export function tableOf(rangeVar: unknown): TableRef | undefined {
  const r = rangeVar as { schemaname?: string; relname?: string } | undefined;
  if (!r?.relname) return undefined;
  return { schema: r.schemaname ?? 'public', table: r.relname };
}

export function tableKey(ref: TableRef): string {
  return `${ref.schema}.${ref.table}`;
}

/**
 * What the release has done so far, as the statements are read in order: the tables it creates
 * (new tables: no lock is worth avoiding on them), the columns whose types it knows, and a store
 * for rules that need state across statements (validated CHECKs, RLS, …).
 */
export class LintContext {
  readonly exposedSchemas: string[];
  private readonly newTables = new Set<string>();
  private readonly newIndexes = new Map<string, TableRef>();
  private readonly columnTypes = new Map<string, Map<string, string>>();
  private readonly addedColumns = new Set<string>();
  private readonly store = new Map<string, unknown>();
  /** `file`: a table is new only in the file that creates it (the `lint` command: no history to tell what is pending). */
  readonly newTableScope: 'release' | 'file';
  private currentFile = '';
  private readonly createdIn = new Map<string, string>();
  /** RLS of live tables (plan); undefined without a database, or for a table the database lacks. */
  readonly tableSecurity: (schema: string, table: string) => TableSecurity | undefined;

  constructor(options: {
    exposedSchemas: string[];
    newTableScope?: 'release' | 'file';
    tableSecurity?: (schema: string, table: string) => TableSecurity | undefined;
  }) {
    this.exposedSchemas = options.exposedSchemas;
    this.newTableScope = options.newTableScope ?? 'release';
    this.tableSecurity = options.tableSecurity ?? (() => undefined);
  }

  startFile(file: string): void {
    this.currentFile = file;
  }

  get file(): string {
    return this.currentFile;
  }

  isNewTable(ref: TableRef): boolean {
    const key = tableKey(ref);
    if (!this.newTables.has(key)) return false;
    return this.newTableScope === 'release' || this.createdIn.get(key) === this.currentFile;
  }

  markNewTable(ref: TableRef): void {
    const key = tableKey(ref);
    this.newTables.add(key);
    this.createdIn.set(key, this.currentFile);
  }

  forgetTable(ref: TableRef): void {
    this.newTables.delete(tableKey(ref));
  }

  markNewIndex(schema: string, name: string, table: TableRef): void {
    this.newIndexes.set(`${schema}.${name}`, table);
  }

  /** The table of an index created earlier in the linted files, if any. */
  tableOfIndex(schema: string, name: string): TableRef | undefined {
    return this.newIndexes.get(`${schema}.${name}`);
  }

  setColumnType(ref: TableRef, column: string, type: string): void {
    this.columnTypesOf(ref).set(column, type);
  }

  /** The types of a table's columns as the linted files declared them, by column (to fill in). */
  columnTypesOf(ref: TableRef): Map<string, string> {
    const key = tableKey(ref);
    let types = this.columnTypes.get(key);
    if (!types) this.columnTypes.set(key, (types = new Map()));
    return types;
  }

  /** The column's type as an earlier statement of the linted files declared it (`varchar(20)`, `text`, …). */
  columnType(ref: TableRef, column: string): string | undefined {
    return this.columnTypes.get(tableKey(ref))?.get(column);
  }

  /** A column the release adds to a table (ALTER TABLE … ADD COLUMN): it holds no data of the application yet. */
  markAddedColumn(ref: TableRef, column: string): void {
    this.addedColumns.add(`${tableKey(ref)}.${column}`);
  }

  isAddedColumn(ref: TableRef, column: string): boolean {
    return this.addedColumns.has(`${tableKey(ref)}.${column}`);
  }

  /** Per-run state of one rule (created on first use). */
  state<T>(key: string, init: () => T): T {
    let value = this.store.get(key) as T | undefined;
    if (value === undefined) this.store.set(key, (value = init()));
    return value;
  }
}
