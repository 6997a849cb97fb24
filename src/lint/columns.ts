import { alterTableCmds, list, typeInfo, wrapped, type Node, type TypeInfo } from './ast.js';
import { tableOf, type LintStatement, type TableRef } from './context.js';

/** A column a statement declares or retypes, with its type as written. */
export interface DeclaredColumn {
  column: Node;
  name: string;
  table: TableRef | undefined;
  type: TypeInfo | undefined;
  /** CREATE TABLE's column, ALTER TABLE … ADD COLUMN, or ALTER COLUMN … TYPE. */
  how: 'create' | 'add' | 'retype';
}

/**
 * The columns of a CREATE TABLE, ADD COLUMN or ALTER COLUMN TYPE, worked out once per statement:
 * three type rules, the primary-key rule and the tracking of the release's schema all ask, and
 * a long history declares ~100,000 columns.
 */
export function declaredColumns(stmt: LintStatement): DeclaredColumn[] {
  return (stmt.declared ??= columnsOf(stmt));
}

function columnsOf(stmt: LintStatement): DeclaredColumn[] {
  const { node } = stmt;
  if (stmt.nodeType === 'CreateStmt') {
    const table = tableOf(node.relation);
    const columns: DeclaredColumn[] = [];
    for (const element of list(node.tableElts)) {
      const column = wrapped(element, 'ColumnDef');
      if (column)
        columns.push({
          column,
          name: String(column.colname),
          table,
          type: typeInfo(column.typeName),
          how: 'create',
        });
    }
    return columns;
  }
  if (stmt.nodeType !== 'AlterTableStmt') return [];
  const table = tableOf(node.relation);
  const columns: DeclaredColumn[] = [];
  for (const cmd of alterTableCmds(node)) {
    const column = wrapped(cmd.def, 'ColumnDef');
    if (!column || (cmd.subtype !== 'AT_AddColumn' && cmd.subtype !== 'AT_AlterColumnType')) continue;
    const add = cmd.subtype === 'AT_AddColumn';
    columns.push({
      column,
      name: String(add ? column.colname : cmd.name),
      table,
      type: typeInfo(column.typeName),
      how: add ? 'add' : 'retype',
    });
  }
  return columns;
}
