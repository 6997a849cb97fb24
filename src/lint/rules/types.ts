import { alterTableCmds, constraintsOf, location, names, typeInfo, wrapped } from '../ast.js';
import { declaredColumns, type DeclaredColumn } from '../columns.js';
import { tableOf, type LintContext, type LintRule, type RuleHit } from '../context.js';

/**
 * Column types that cause trouble later: they apply to new tables too (a type is cheapest to fix
 * before the table holds data).
 */

function typeRule(
  id: string,
  defaultSeverity: LintRule['defaultSeverity'],
  summary: string,
  matches: (type: NonNullable<ReturnType<typeof typeInfo>>) => string | undefined,
): LintRule {
  return {
    id,
    family: 'types',
    defaultSeverity,
    summary,
    nodeTypes: ['CreateStmt', 'AlterTableStmt'],
    check(stmt) {
      const hits: RuleHit[] = [];
      for (const { column, name, table, type } of declaredColumns(stmt)) {
        const message = type && matches(type);
        if (message)
          hits.push({
            message: `${table?.schema}.${table?.table}.${name}: ${message}`,
            location: location(column.typeName),
          });
      }
      return hits;
    },
  };
}

export const timestampWithoutTimeZone = typeRule(
  'timestamp-without-time-zone',
  'warning',
  'timestamp without time zone stores wall-clock times with no zone: use timestamptz',
  (type) =>
    type.name === 'timestamp'
      ? 'timestamp without time zone stores a wall-clock time with no zone, read differently by every client: use timestamptz'
      : undefined,
);

export const charType = typeRule(
  'char-type',
  'warning',
  'char(n) pads values with spaces and is never faster: use text (with a CHECK on length if needed)',
  (type) =>
    type.name === 'bpchar'
      ? `${type.mods.length ? `char(${type.mods[0]})` : 'char'} pads values with spaces (which comparisons then ignore) and is no faster than text: use text, with a CHECK on length if one matters`
      : undefined,
);

export const varcharLength = typeRule(
  'varchar-length',
  'info',
  'varchar(n) is no faster than text; a CHECK on char_length is as fast and easier to change',
  (type) =>
    type.name === 'varchar' && type.mods.length > 0
      ? `varchar(${type.mods[0]}) is no faster than text, and lowering the limit later rewrites the table: use text, with a CHECK (char_length(…) <= ${type.mods[0]}) if the limit matters`
      : undefined,
);

const SMALL_KEYS: Record<string, string> = {
  int4: 'integer',
  int2: 'smallint',
  serial: 'serial',
  serial4: 'serial',
  smallserial: 'smallserial',
  serial2: 'smallserial',
};

export const intPrimaryKey: LintRule = {
  id: 'int-primary-key',
  family: 'types',
  defaultSeverity: 'warning',
  summary: 'integer / serial primary keys run out at 2.1 billion: use bigint (identity) or uuid',
  nodeTypes: ['CreateStmt', 'AlterTableStmt'],
  check(stmt, ctx: LintContext) {
    const hits: RuleHit[] = [];
    const { node } = stmt;
    const report = (column: string, typeName: string, at: number | undefined, where: string) =>
      hits.push({
        message: `${where}.${column} is a ${SMALL_KEYS[typeName]} primary key: it runs out at ${typeName.endsWith('2') || typeName === 'smallserial' ? '32,767' : '2,147,483,647'} rows and widening it later rewrites the table and every referencing key: use bigint generated always as identity (or uuid)`,
        location: at,
      });
    const tableConstraints = (elements: unknown) =>
      constraintsOf(elements).filter((c) => c.contype === 'CONSTR_PRIMARY');
    if (stmt.nodeType === 'CreateStmt') {
      const table = tableOf(node.relation);
      const where = `${table?.schema}.${table?.table}`;
      const columns = new Map<string, DeclaredColumn>();
      for (const declared of declaredColumns(stmt)) {
        const { column, name, type } = declared;
        columns.set(name, declared);
        const inline = constraintsOf(column.constraints).some((c) => c.contype === 'CONSTR_PRIMARY');
        if (inline && type && SMALL_KEYS[type.name] && !type.array) {
          report(name, type.name, location(column.typeName), where);
        }
      }
      for (const pk of tableConstraints(node.tableElts)) {
        const keys = names(pk.keys);
        // A single-column key only: in a composite key each part's range matters less.
        if (keys.length !== 1) continue;
        const declared = columns.get(keys[0]);
        const type = declared?.type;
        if (declared && type && SMALL_KEYS[type.name] && !type.array)
          report(keys[0], type.name, location(declared.column.typeName), where);
      }
      return hits;
    }
    if (stmt.nodeType === 'AlterTableStmt') {
      const table = tableOf(node.relation);
      if (!table) return;
      for (const cmd of alterTableCmds(node)) {
        if (cmd.subtype !== 'AT_AddConstraint') continue;
        const pk = wrapped(cmd.def, 'Constraint');
        const keys = names(pk?.keys);
        if (pk?.contype !== 'CONSTR_PRIMARY' || keys.length !== 1) continue;
        const known = ctx.columnType(table, keys[0]);
        const name = known?.replace(/\(.*$/, '');
        if (name && SMALL_KEYS[name]) report(keys[0], name, location(pk), `${table.schema}.${table.table}`);
      }
      return hits;
    }
    return;
  },
};

export const TYPE_RULES: LintRule[] = [timestampWithoutTimeZone, charType, varcharLength, intPrimaryKey];
