import { alterTableCmds, list, location, names, wrapped, type Node } from '../ast.js';
import { tableKey, tableOf, type LintRule, type RuleHit, type TableRef } from '../context.js';

/**
 * Destructive changes: they lose data or break the clients still running against the old schema
 * (apply refuses this family unless allowed or ignored with a reason). A hit naming a table new in
 * the release is dropped by the runner: nothing outside the release can depend on it yet.
 */

function droppedObjects(node: Node): string[][] {
  return list(node.objects).map((o) => {
    const items = wrapped(o, 'List')?.items;
    if (items) return names(items);
    const fn = wrapped(o, 'ObjectWithArgs');
    if (fn) return names(fn.objname);
    const single = wrapped(o, 'String') as { sval?: string } | undefined;
    return single?.sval ? [single.sval] : [];
  });
}

function refOf(parts: string[]): TableRef {
  return { schema: parts.length > 1 ? parts[parts.length - 2] : 'public', table: parts[parts.length - 1] };
}

const cascade = (node: Node) =>
  node.behavior === 'DROP_CASCADE' ? ' CASCADE also drops everything that depends on it;' : '';

export const dropTable: LintRule = {
  id: 'drop-table',
  family: 'destructive',
  defaultSeverity: 'error',
  summary: 'DROP TABLE loses its data and breaks every client that still reads it',
  nodeTypes: ['DropStmt'],
  check(stmt) {
    if (stmt.nodeType !== 'DropStmt' || stmt.node.removeType !== 'OBJECT_TABLE') return;
    return droppedObjects(stmt.node).map((parts) => {
      const table = refOf(parts);
      return {
        message: `DROP TABLE ${tableKey(table)} deletes its data and breaks clients still using it;${cascade(stmt.node)} stop using it in a release first, back it up, and drop it in a later one`,
        table,
      };
    });
  },
};

export const dropColumn: LintRule = {
  id: 'drop-column',
  family: 'destructive',
  defaultSeverity: 'error',
  summary: 'DROP COLUMN loses its data and breaks clients that select or write it',
  nodeTypes: ['AlterTableStmt'],
  check(stmt) {
    if (stmt.nodeType !== 'AlterTableStmt') return;
    const table = tableOf(stmt.node.relation);
    if (!table) return;
    return alterTableCmds(stmt.node)
      .filter((c) => c.subtype === 'AT_DropColumn')
      .map((cmd) => ({
        message: `DROP COLUMN ${String(cmd.name)} from ${tableKey(table)} deletes its data and breaks clients that still select or write it;${cascade(cmd)} deploy code that no longer uses it first, then drop it in a later release`,
        table,
      }));
  },
};

export const dropSchema: LintRule = {
  id: 'drop-schema',
  family: 'destructive',
  defaultSeverity: 'error',
  summary: 'DROP SCHEMA removes everything in it (with CASCADE) or fails',
  nodeTypes: ['DropStmt'],
  check(stmt) {
    if (stmt.nodeType !== 'DropStmt' || stmt.node.removeType !== 'OBJECT_SCHEMA') return;
    return droppedObjects(stmt.node).map((parts) => ({
      message: `DROP SCHEMA ${parts.join('.')} removes the schema${stmt.node.behavior === 'DROP_CASCADE' ? ' and, with CASCADE, every table, view and function in it with their data' : ''}: move or back up what it holds and drop it in a release of its own`,
    }));
  },
};

export const dropDatabase: LintRule = {
  id: 'drop-database',
  family: 'destructive',
  defaultSeverity: 'error',
  summary: 'DROP DATABASE inside a migration',
  nodeTypes: ['DropdbStmt'],
  check(stmt) {
    if (stmt.nodeType !== 'DropdbStmt') return;
    return {
      message: `DROP DATABASE ${String(stmt.node.dbname)} deletes a whole database (and cannot run inside the migration's transaction): do it by hand, never from a migration`,
    };
  },
};

export const dropFunction: LintRule = {
  id: 'drop-function',
  family: 'destructive',
  defaultSeverity: 'warning',
  summary: 'DROP FUNCTION breaks the triggers, policies, views and RPC clients that call it',
  nodeTypes: ['DropStmt'],
  check(stmt) {
    const kinds: Record<string, string> = {
      OBJECT_FUNCTION: 'FUNCTION',
      OBJECT_PROCEDURE: 'PROCEDURE',
      OBJECT_ROUTINE: 'ROUTINE',
    };
    const kind = kinds[String(stmt.node.removeType)];
    if (stmt.nodeType !== 'DropStmt' || !kind) return;
    return droppedObjects(stmt.node).map((parts) => ({
      message: `DROP ${kind} ${parts.join('.')} breaks whatever still calls it (triggers, policies, views, other functions, RPC clients);${cascade(stmt.node)} remove its callers first, or replace it with CREATE OR REPLACE`,
    }));
  },
};

export const truncate: LintRule = {
  id: 'truncate',
  family: 'destructive',
  defaultSeverity: 'warning',
  summary: 'TRUNCATE deletes every row (CASCADE: of every referencing table too)',
  nodeTypes: ['TruncateStmt'],
  check(stmt) {
    if (stmt.nodeType !== 'TruncateStmt') return;
    const isCascade = stmt.node.behavior === 'DROP_CASCADE';
    const hits: RuleHit[] = [];
    for (const r of list(stmt.node.relations)) {
      const rangeVar = wrapped(r, 'RangeVar');
      const table = tableOf(rangeVar);
      if (!table) continue;
      hits.push({
        message: isCascade
          ? `TRUNCATE ${tableKey(table)} CASCADE deletes every row of it and of every table with a foreign key to it, however far the chain goes: name the tables to empty and leave CASCADE out`
          : `TRUNCATE ${tableKey(table)} deletes every row under an ACCESS EXCLUSIVE lock: make sure the data is meant to go (back it up), or DELETE only the rows you mean`,
        location: location(rangeVar),
        table,
        severity: isCascade ? 'error' : undefined,
      });
    }
    return hits;
  },
};

export const deleteWithoutWhere: LintRule = {
  id: 'delete-without-where',
  family: 'destructive',
  defaultSeverity: 'error',
  summary: 'DELETE without WHERE deletes every row',
  nodeTypes: ['DeleteStmt'],
  check(stmt) {
    if (stmt.nodeType !== 'DeleteStmt' || stmt.node.whereClause) return;
    const table = tableOf(stmt.node.relation);
    if (!table) return;
    return {
      message: `DELETE FROM ${tableKey(table)} without WHERE deletes every row: add the WHERE clause you mean (WHERE true, with an ignore comment, if every row really must go)`,
      location: location(stmt.node.relation),
      table,
    };
  },
};

export const updateWithoutWhere: LintRule = {
  id: 'update-without-where',
  family: 'destructive',
  defaultSeverity: 'warning',
  summary: 'UPDATE without WHERE overwrites every row (and locks them all)',
  nodeTypes: ['UpdateStmt'],
  check(stmt, ctx) {
    if (stmt.nodeType !== 'UpdateStmt' || stmt.node.whereClause) return;
    const table = tableOf(stmt.node.relation);
    if (!table) return;
    // Filling a column this release adds (the usual backfill) overwrites no application data:
    // still a lock on every row, so said, but as info, which apply's destructive guard lets pass.
    const targets = list(stmt.node.targetList).map((t) => wrapped(t, 'ResTarget')?.name);
    if (targets.length > 0 && targets.every((c) => typeof c === 'string' && ctx.isAddedColumn(table, c)))
      return {
        message: `UPDATE ${tableKey(table)} without WHERE fills ${targets.join(', ')}, added by this release: no data is overwritten, but every row stays locked until the release commits (backfill large tables in batches)`,
        severity: 'info',
        location: location(stmt.node.relation),
        table,
      };
    return {
      message: `UPDATE ${tableKey(table)} without WHERE overwrites every row and holds a lock on each until the release commits: add the WHERE clause you mean, and backfill large tables in batches`,
      location: location(stmt.node.relation),
      table,
    };
  },
};

export const renameTable: LintRule = {
  id: 'rename-table',
  family: 'destructive',
  defaultSeverity: 'warning',
  summary: 'Renaming a table breaks every client that uses the old name',
  nodeTypes: ['RenameStmt'],
  check(stmt) {
    if (stmt.nodeType !== 'RenameStmt' || stmt.node.renameType !== 'OBJECT_TABLE') return;
    const table = tableOf(stmt.node.relation);
    if (!table) return;
    return {
      message: `Renaming ${tableKey(table)} to ${String(stmt.node.newname)} breaks every client still using the old name the moment it commits: add the new name first (a view, or a copy kept in sync), move clients over, then drop the old one`,
      location: location(stmt.node.relation),
      table,
    };
  },
};

export const renameColumn: LintRule = {
  id: 'rename-column',
  family: 'destructive',
  defaultSeverity: 'warning',
  summary: 'Renaming a column breaks every client that uses the old name',
  nodeTypes: ['RenameStmt'],
  check(stmt) {
    if (stmt.nodeType !== 'RenameStmt' || stmt.node.renameType !== 'OBJECT_COLUMN') return;
    const table = tableOf(stmt.node.relation);
    if (!table) return;
    return {
      message: `Renaming column ${tableKey(table)}.${String(stmt.node.subname)} to ${String(stmt.node.newname)} breaks every client still using the old name: add the new column, write both, move readers over, then drop the old one`,
      location: location(stmt.node.relation),
      table,
    };
  },
};

export const dropNotNull: LintRule = {
  id: 'drop-not-null',
  family: 'destructive',
  defaultSeverity: 'warning',
  summary: 'DROP NOT NULL lets NULLs in where clients (and generated types) assume there are none',
  nodeTypes: ['AlterTableStmt'],
  check(stmt) {
    if (stmt.nodeType !== 'AlterTableStmt') return;
    const table = tableOf(stmt.node.relation);
    if (!table) return;
    return alterTableCmds(stmt.node)
      .filter((c) => c.subtype === 'AT_DropNotNull')
      .map((cmd) => ({
        message: `DROP NOT NULL on ${tableKey(table)}.${String(cmd.name)} lets NULLs in where clients and generated types assume none: update every reader to handle NULL before this runs`,
        table,
      }));
  },
};

export const DESTRUCTIVE_RULES: LintRule[] = [
  dropTable,
  dropColumn,
  dropSchema,
  dropDatabase,
  dropFunction,
  truncate,
  deleteWithoutWhere,
  updateWithoutWhere,
  renameTable,
  renameColumn,
  dropNotNull,
];
