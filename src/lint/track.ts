import { list, names, wrapped } from './ast.js';
import { declaredColumns } from './columns.js';
import { tableOf, type LintContext, type LintStatement } from './context.js';

/**
 * Records what a statement does to the release's picture of the schema, after the rules have seen
 * it: tables it creates are new from the next statement on, column types it declares are known
 * (to judge a later type change), indexes it creates on new tables may be dropped freely.
 */
export function track(stmt: LintStatement, ctx: LintContext): void {
  const { node } = stmt;
  switch (stmt.nodeType) {
    case 'CreateStmt': {
      const ref = tableOf(node.relation);
      if (!ref) return;
      ctx.markNewTable(ref);
      const types = ctx.columnTypesOf(ref);
      for (const { name, type } of declaredColumns(stmt)) if (type) types.set(name, type.text);
      return;
    }
    case 'CreateTableAsStmt': {
      const into = node.into as { rel?: unknown } | undefined;
      const ref = tableOf(into?.rel);
      if (ref) ctx.markNewTable(ref);
      return;
    }
    case 'IndexStmt': {
      const ref = tableOf(node.relation);
      if (ref && ctx.isNewTable(ref) && typeof node.idxname === 'string') {
        ctx.markNewIndex(ref.schema, node.idxname, ref);
      }
      return;
    }
    case 'AlterTableStmt': {
      const ref = tableOf(node.relation);
      if (!ref) return;
      for (const { name, type, how } of declaredColumns(stmt)) {
        if (!type) continue;
        ctx.setColumnType(ref, name, type.text);
        if (how === 'add') ctx.markAddedColumn(ref, name);
      }
      return;
    }
    case 'RenameStmt': {
      // A renamed table is no longer known under its old name; under its new name it is as new as it was.
      if (node.renameType !== 'OBJECT_TABLE') return;
      const ref = tableOf(node.relation);
      if (!ref || typeof node.newname !== 'string') return;
      const wasNew = ctx.isNewTable(ref);
      ctx.forgetTable(ref);
      if (wasNew) ctx.markNewTable({ schema: ref.schema, table: node.newname });
      return;
    }
    case 'DropStmt': {
      if (node.removeType !== 'OBJECT_TABLE') return;
      for (const object of list(node.objects)) {
        const parts = names(wrapped(object, 'List')?.items);
        const table = parts[parts.length - 1];
        if (table) ctx.forgetTable({ schema: parts.length > 1 ? parts[0] : 'public', table });
      }
      return;
    }
    default:
      return;
  }
}
