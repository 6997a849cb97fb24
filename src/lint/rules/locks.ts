import { list, location, names, wrapped } from '../ast.js';
import { tableOf, type LintRule } from '../context.js';

/**
 * Locks and rewrites: statements that hold a lock blocking reads or writes for as long as they scan
 * or rewrite the table. Each hit names the table, so the runner drops it when the table is new in
 * the release and, with live sizes, grades it by the table's size.
 */

export const indexWithoutConcurrently: LintRule = {
  id: 'index-without-concurrently',
  family: 'locks',
  defaultSeverity: 'warning',
  summary: 'CREATE INDEX without CONCURRENTLY blocks writes to an existing table for the whole build',
  check(stmt) {
    if (stmt.nodeType !== 'IndexStmt' || stmt.node.concurrent) return;
    const table = tableOf(stmt.node.relation);
    if (!table) return;
    return {
      message: `CREATE ${stmt.node.unique ? 'UNIQUE ' : ''}INDEX on ${table.schema}.${table.table} without CONCURRENTLY blocks writes to the table while the index builds: use CREATE INDEX CONCURRENTLY (in a file of its own, outside a transaction block)`,
      location: location(stmt.node.relation),
      table,
    };
  },
};

export const dropIndexWithoutConcurrently: LintRule = {
  id: 'drop-index-without-concurrently',
  family: 'locks',
  defaultSeverity: 'warning',
  summary: 'DROP INDEX without CONCURRENTLY takes an exclusive lock on the index’s table',
  check(stmt, ctx) {
    const { node } = stmt;
    if (stmt.nodeType !== 'DropStmt' || node.removeType !== 'OBJECT_INDEX' || node.concurrent) return;
    const hits = [];
    for (const object of list(node.objects)) {
      const parts = names(wrapped(object, 'List')?.items);
      const index = parts[parts.length - 1];
      const schema = parts.length > 1 ? parts[0] : 'public';
      const table = ctx.tableOfIndex(schema, index);
      hits.push({
        message: `DROP INDEX ${parts.join('.')} without CONCURRENTLY locks its table against reads and writes until the drop completes: use DROP INDEX CONCURRENTLY (outside a transaction block)`,
        table,
      });
    }
    return hits;
  },
};

export const LOCK_RULES: LintRule[] = [indexWithoutConcurrently, dropIndexWithoutConcurrently];
