import {
  alterTableCmds,
  constraintsOf,
  funcCalls,
  funcName,
  list,
  location,
  names,
  sqlTypeName,
  typeInfo,
  wrapped,
  type Node,
} from '../ast.js';
import { tableOf, tableKey, type LintContext, type LintRule, type RuleHit } from '../context.js';
import { typeChangeRewrites } from '../type-change.js';

/**
 * Locks and rewrites: statements that hold a lock blocking reads or writes for as long as they scan
 * or rewrite the table. Each hit names the table, so the runner drops it when the table is new in
 * the release and, with live sizes, grades it by the table's size.
 */

function alterCommands(node: Node): Array<{ cmd: Node; def?: Node }> {
  return alterTableCmds(node).map((cmd) => ({ cmd, def: cmd.def as Node | undefined }));
}

export const indexWithoutConcurrently: LintRule = {
  id: 'index-without-concurrently',
  family: 'locks',
  defaultSeverity: 'warning',
  summary: 'CREATE INDEX without CONCURRENTLY blocks writes to an existing table for the whole build',
  nodeTypes: ['IndexStmt'],
  check(stmt) {
    if (stmt.nodeType !== 'IndexStmt' || stmt.node.concurrent) return;
    const table = tableOf(stmt.node.relation);
    if (!table) return;
    return {
      message: `CREATE ${stmt.node.unique ? 'UNIQUE ' : ''}INDEX on ${tableKey(table)} without CONCURRENTLY blocks writes to the table while the index builds: use CREATE INDEX CONCURRENTLY (in a file of its own, outside a transaction block)`,
      location: location(stmt.node.relation),
      table,
    };
  },
};

export const dropIndexWithoutConcurrently: LintRule = {
  id: 'drop-index-without-concurrently',
  family: 'locks',
  defaultSeverity: 'warning',
  summary: 'DROP INDEX without CONCURRENTLY locks the table against reads and writes',
  nodeTypes: ['DropStmt'],
  check(stmt, ctx) {
    const { node } = stmt;
    if (stmt.nodeType !== 'DropStmt' || node.removeType !== 'OBJECT_INDEX' || node.concurrent) return;
    return list(node.objects).map((object) => {
      const parts = names(wrapped(object, 'List')?.items);
      const schema = parts.length > 1 ? parts[0] : 'public';
      // Known only for an index created earlier in the linted files: then it is sized (or silent when new).
      const table = ctx.tableOfIndex(schema, parts[parts.length - 1]);
      return {
        message: `DROP INDEX ${parts.join('.')} without CONCURRENTLY locks its table against reads and writes until the drop completes: use DROP INDEX CONCURRENTLY (outside a transaction block)`,
        table,
      };
    });
  },
};

export const constraintWithoutNotValid: LintRule = {
  id: 'constraint-without-not-valid',
  family: 'locks',
  defaultSeverity: 'warning',
  summary: 'ADD FOREIGN KEY or CHECK (on a table or a domain) without NOT VALID scans the table under a lock',
  nodeTypes: ['AlterTableStmt', 'AlterDomainStmt'],
  check(stmt) {
    if (stmt.nodeType === 'AlterDomainStmt') return domainConstraint(stmt.node);
    if (stmt.nodeType !== 'AlterTableStmt') return;
    const table = tableOf(stmt.node.relation);
    if (!table) return;
    const hits: RuleHit[] = [];
    for (const { cmd, def } of alterCommands(stmt.node)) {
      const column = cmd.subtype === 'AT_AddColumn' ? wrapped(def, 'ColumnDef') : undefined;
      const reference = constraintsOf(column?.constraints).find((k) => k.contype === 'CONSTR_FOREIGN');
      if (column && reference) {
        const target = tableOf(reference.pktable);
        hits.push({
          message: `ADD COLUMN ${String(column.colname)} … REFERENCES ${target ? tableKey(target) : ''} adds a validated foreign key at once, locking writes to ${tableKey(table)}${target ? ` and ${tableKey(target)}` : ''}: add the column, then ADD FOREIGN KEY … NOT VALID and VALIDATE CONSTRAINT in a later statement`,
          location: location(reference),
          table,
        });
      }
      if (cmd.subtype !== 'AT_AddConstraint') continue;
      const constraint = wrapped(def, 'Constraint');
      if (!constraint || constraint.skip_validation) continue;
      if (constraint.contype === 'CONSTR_FOREIGN') {
        const target = tableOf(constraint.pktable);
        hits.push({
          message: `ADD FOREIGN KEY on ${tableKey(table)} without NOT VALID checks every row while holding locks that block writes to ${tableKey(table)}${target ? ` and ${tableKey(target)}` : ''}: add it NOT VALID, then VALIDATE CONSTRAINT in a later statement (it takes a weaker lock)`,
          location: location(constraint),
          table,
        });
      } else if (constraint.contype === 'CONSTR_CHECK') {
        hits.push({
          message: `ADD CHECK on ${tableKey(table)} without NOT VALID scans every row under an ACCESS EXCLUSIVE lock: add it NOT VALID, then VALIDATE CONSTRAINT in a later statement (it takes a weaker lock)`,
          location: location(constraint),
          table,
        });
      }
    }
    return hits;
  },
};

/** ALTER DOMAIN … ADD CONSTRAINT checks every column of the domain's type, in every table. */
function domainConstraint(node: Node): RuleHit | undefined {
  const constraint = wrapped(node.def, 'Constraint');
  if (node.subtype !== 'C' || !constraint || constraint.skip_validation) return undefined;
  const domain = names(node.typeName).join('.');
  return {
    message:
      constraint.contype === 'CONSTR_CHECK'
        ? `ALTER DOMAIN ${domain} ADD CHECK without NOT VALID checks every column of this type in every table, under locks: add it NOT VALID, then VALIDATE CONSTRAINT in a later statement`
        : `ALTER DOMAIN ${domain} ADD NOT NULL checks every column of this type in every table, under locks, and has no NOT VALID form: add CHECK (value IS NOT NULL) NOT VALID instead, then VALIDATE CONSTRAINT`,
    location: location(constraint),
  };
}

interface NotNullChecks {
  /** `schema.table.column` → names of CHECK (column IS NOT NULL) constraints added NOT VALID. */
  unvalidated: Map<string, Set<string>>;
  /** `schema.table.column` proven non-null by a validated CHECK. */
  validated: Set<string>;
}

/** The column a `CHECK (column IS NOT NULL)` is about, if that is all it says. */
function notNullColumn(constraint: Node): string | undefined {
  const test = wrapped(constraint.raw_expr, 'NullTest');
  if (!test || test.nulltesttype !== 'IS_NOT_NULL') return undefined;
  const fields = names(wrapped(test.arg, 'ColumnRef')?.fields);
  return fields.length === 1 ? fields[0] : undefined;
}

export const setNotNullWithoutCheck: LintRule = {
  id: 'set-not-null-without-check',
  family: 'locks',
  defaultSeverity: 'warning',
  summary: 'SET NOT NULL scans the table under an ACCESS EXCLUSIVE lock unless a validated CHECK proves it',
  nodeTypes: ['AlterTableStmt'],
  check(stmt, ctx: LintContext) {
    if (stmt.nodeType !== 'AlterTableStmt') return;
    const table = tableOf(stmt.node.relation);
    if (!table) return;
    const checks = ctx.state<NotNullChecks>('set-not-null-without-check', () => ({
      unvalidated: new Map(),
      validated: new Set(),
    }));
    const hits: RuleHit[] = [];
    for (const { cmd, def } of alterCommands(stmt.node)) {
      const constraint = wrapped(def, 'Constraint');
      if (cmd.subtype === 'AT_AddConstraint' && constraint?.contype === 'CONSTR_CHECK') {
        const column = notNullColumn(constraint);
        if (!column) continue;
        const key = `${tableKey(table)}.${column}`;
        if (!constraint.skip_validation) checks.validated.add(key);
        else if (typeof constraint.conname === 'string') {
          const set = checks.unvalidated.get(key) ?? new Set<string>();
          set.add(constraint.conname);
          checks.unvalidated.set(key, set);
        }
      } else if (cmd.subtype === 'AT_ValidateConstraint') {
        for (const [key, set] of checks.unvalidated) {
          if (key.startsWith(`${tableKey(table)}.`) && set.has(String(cmd.name))) checks.validated.add(key);
        }
      } else if (cmd.subtype === 'AT_SetNotNull') {
        const key = `${tableKey(table)}.${String(cmd.name)}`;
        if (checks.validated.has(key)) continue;
        hits.push({
          message: `SET NOT NULL on ${tableKey(table)}.${String(cmd.name)} scans every row under an ACCESS EXCLUSIVE lock: first ADD CONSTRAINT … CHECK (${String(cmd.name)} IS NOT NULL) NOT VALID and VALIDATE CONSTRAINT it, then SET NOT NULL skips the scan (PostgreSQL 12+)`,
          table,
        });
      }
    }
    return hits;
  },
};

export const uniqueWithoutIndex: LintRule = {
  id: 'unique-without-index',
  family: 'locks',
  defaultSeverity: 'warning',
  summary:
    'ADD UNIQUE / PRIMARY KEY builds its index under a lock: build it CONCURRENTLY and add USING INDEX',
  nodeTypes: ['AlterTableStmt'],
  check(stmt) {
    if (stmt.nodeType !== 'AlterTableStmt') return;
    const table = tableOf(stmt.node.relation);
    if (!table) return;
    const hits: RuleHit[] = [];
    for (const { cmd, def } of alterCommands(stmt.node)) {
      const constraints =
        cmd.subtype === 'AT_AddConstraint'
          ? [wrapped(def, 'Constraint')].filter((c): c is Node => !!c)
          : cmd.subtype === 'AT_AddColumn'
            ? constraintsOf(wrapped(def, 'ColumnDef')?.constraints)
            : [];
      for (const constraint of constraints) {
        if (constraint.contype !== 'CONSTR_UNIQUE' && constraint.contype !== 'CONSTR_PRIMARY') continue;
        if (constraint.indexname) continue;
        const kind = constraint.contype === 'CONSTR_UNIQUE' ? 'UNIQUE' : 'PRIMARY KEY';
        hits.push({
          message: `ADD ${kind} on ${tableKey(table)} builds its index while blocking reads and writes: CREATE UNIQUE INDEX CONCURRENTLY first, then ADD CONSTRAINT … ${kind} USING INDEX`,
          location: location(constraint),
          table,
        });
      }
    }
    return hits;
  },
};

export const columnTypeRewrite: LintRule = {
  id: 'column-type-rewrite',
  family: 'locks',
  defaultSeverity: 'warning',
  summary: 'ALTER COLUMN … TYPE that rewrites the table and its indexes under an ACCESS EXCLUSIVE lock',
  nodeTypes: ['AlterTableStmt'],
  check(stmt, ctx) {
    if (stmt.nodeType !== 'AlterTableStmt') return;
    const table = tableOf(stmt.node.relation);
    if (!table) return;
    const hits: RuleHit[] = [];
    for (const { cmd, def } of alterCommands(stmt.node)) {
      if (cmd.subtype !== 'AT_AlterColumnType') continue;
      const column = wrapped(def, 'ColumnDef');
      const to = typeInfo(column?.typeName);
      if (!column || !to) continue;
      const from = ctx.columnType(table, String(cmd.name));
      const verdict = typeChangeRewrites(from, to, column.raw_default !== undefined);
      if (verdict === 'no') continue;
      const what = `ALTER COLUMN ${String(cmd.name)} TYPE ${sqlTypeName(to.text)} on ${tableKey(table)}`;
      hits.push({
        message:
          verdict === 'yes'
            ? `${what}${from ? ` (from ${sqlTypeName(from)})` : ''} rewrites the table and its indexes under an ACCESS EXCLUSIVE lock: add a new column, backfill it in batches and switch over`
            : `${what} rewrites the table and its indexes under an ACCESS EXCLUSIVE lock unless ${verdict}: check the current type, or add a new column, backfill it and switch over`,
        location: location(column),
        table,
      });
    }
    return hits;
  },
};

/** Functions PostgreSQL marks volatile that migrations use as defaults (a default from any of them fills every row). */
const VOLATILE = new Set([
  'random',
  'gen_random_uuid',
  'uuidv4',
  'uuidv7',
  'uuid_generate_v1',
  'uuid_generate_v1mc',
  'uuid_generate_v4',
  'clock_timestamp',
  'timeofday',
  'nextval',
  'txid_current',
  'gen_random_bytes',
  'random_normal',
]);
const SERIAL = new Set(['serial', 'serial4', 'bigserial', 'serial8', 'smallserial', 'serial2']);

export const volatileDefault: LintRule = {
  id: 'volatile-default',
  family: 'locks',
  defaultSeverity: 'warning',
  summary:
    'ADD COLUMN with a volatile default (random(), gen_random_uuid(), clock_timestamp(), serial) rewrites the table',
  nodeTypes: ['AlterTableStmt'],
  check(stmt) {
    if (stmt.nodeType !== 'AlterTableStmt') return;
    const table = tableOf(stmt.node.relation);
    if (!table) return;
    const hits: RuleHit[] = [];
    for (const { cmd, def } of alterCommands(stmt.node)) {
      const column = cmd.subtype === 'AT_AddColumn' ? wrapped(def, 'ColumnDef') : undefined;
      if (!column) continue;
      const name = String(column.colname);
      const type = typeInfo(column.typeName);
      const found = rewritingDefault(column, type?.name);
      if (!found) continue;
      hits.push({
        message: `ADD COLUMN ${name} on ${tableKey(table)} with ${found.why} rewrites the whole table under an ACCESS EXCLUSIVE lock${found.unsure ? ')' : ''} (a constant or stable default such as now() does not, since PostgreSQL 11): add the column without it, set the default afterwards and backfill existing rows in batches`,
        location: location(column),
        table,
        severity: found.unsure ? 'info' : undefined,
      });
    }
    return hits;
  },
};

/** Built-ins a default commonly calls that are stable or immutable: no rewrite (PostgreSQL 11+). */
const NOT_VOLATILE = new Set([
  'now',
  'statement_timestamp',
  'transaction_timestamp',
  'current_setting',
  'lower',
  'upper',
  'jsonb_build_object',
  'json_build_object',
  'jsonb_build_array',
  'json_build_array',
  'array_fill',
  'make_interval',
  'to_jsonb',
  'to_json',
  'timezone',
  'date_trunc',
  'concat',
  'length',
  'md5',
  'uid',
]);

function rewritingDefault(
  column: Node,
  typeName: string | undefined,
): { why: string; unsure?: boolean } | undefined {
  if (typeName && SERIAL.has(typeName)) return { why: `type ${typeName} (a nextval() default)` };
  for (const constraint of constraintsOf(column.constraints)) {
    if (constraint.contype === 'CONSTR_IDENTITY') return { why: 'GENERATED … AS IDENTITY (a value per row)' };
    if (constraint.contype === 'CONSTR_GENERATED') return { why: 'a stored generated expression' };
    if (constraint.contype !== 'CONSTR_DEFAULT') continue;
    const calls = funcCalls(constraint.raw_expr);
    const volatile = calls.find((call) => VOLATILE.has(funcName(call)));
    if (volatile) return { why: `the volatile default ${funcName(volatile)}()` };
    const unknown = calls.find((call) => !NOT_VOLATILE.has(funcName(call)));
    if (unknown) {
      return {
        why: `the default ${names(unknown.funcname).join('.')}(), whose volatility is not known here (if it is volatile, it`,
        unsure: true,
      };
    }
  }
  return undefined;
}

export const vacuumFull: LintRule = {
  id: 'vacuum-full',
  family: 'locks',
  defaultSeverity: 'warning',
  summary: 'VACUUM FULL rewrites the table under an ACCESS EXCLUSIVE lock',
  nodeTypes: ['VacuumStmt'],
  check(stmt) {
    if (stmt.nodeType !== 'VacuumStmt' || !stmt.node.is_vacuumcmd) return;
    const full = list(stmt.node.options).some((o) => {
      const option = wrapped(o, 'DefElem');
      return option?.defname === 'full' && !isFalse(option.arg);
    });
    if (!full) return;
    const relations = list(stmt.node.rels).map((r) => tableOf(wrapped(r, 'VacuumRelation')?.relation));
    const message = (what: string) =>
      `VACUUM FULL ${what} rewrites it under an ACCESS EXCLUSIVE lock (no reads, no writes) and needs room for a full copy: use plain VACUUM, or pg_repack / pg_squeeze to reclaim space online`;
    if (relations.length === 0) return { message: message('of the whole database') };
    return relations.map((table) => ({ message: message(table ? tableKey(table) : 'of the table'), table }));
  },
};

function isFalse(arg: unknown): boolean {
  const c = wrapped(arg, 'A_Const') as
    { boolval?: { boolval?: boolean }; ival?: { ival?: number } } | undefined;
  const s = wrapped(arg, 'String') as { sval?: string } | undefined;
  return (
    (c?.boolval !== undefined && !c.boolval.boolval) ||
    (c?.ival !== undefined && !c.ival.ival) ||
    /^(false|off|no)$/i.test(s?.sval ?? '')
  );
}

export const cluster: LintRule = {
  id: 'cluster',
  family: 'locks',
  defaultSeverity: 'warning',
  summary: 'CLUSTER rewrites the table under an ACCESS EXCLUSIVE lock',
  nodeTypes: ['ClusterStmt'],
  check(stmt) {
    if (stmt.nodeType !== 'ClusterStmt') return;
    const table = tableOf(stmt.node.relation);
    return {
      message: `CLUSTER ${table ? tableKey(table) : '(every clustered table)'} rewrites it in index order under an ACCESS EXCLUSIVE lock (no reads, no writes): run it in a maintenance window outside migrations, or use pg_repack`,
      location: location(stmt.node.relation),
      table,
    };
  },
};

export const reindexWithoutConcurrently: LintRule = {
  id: 'reindex-without-concurrently',
  family: 'locks',
  defaultSeverity: 'warning',
  summary: 'REINDEX without CONCURRENTLY blocks writes to the table while it rebuilds',
  nodeTypes: ['ReindexStmt'],
  check(stmt) {
    const { node } = stmt;
    const concurrent = list(node.params).some((p) => wrapped(p, 'DefElem')?.defname === 'concurrently');
    if (concurrent) return;
    const what: Record<string, string> = {
      REINDEX_OBJECT_TABLE: 'TABLE',
      REINDEX_OBJECT_INDEX: 'INDEX',
      REINDEX_OBJECT_SCHEMA: 'SCHEMA',
      REINDEX_OBJECT_DATABASE: 'DATABASE',
      REINDEX_OBJECT_SYSTEM: 'SYSTEM',
    };
    const table = node.kind === 'REINDEX_OBJECT_TABLE' ? tableOf(node.relation) : undefined;
    const target = tableOf(node.relation);
    return {
      message: `REINDEX ${what[String(node.kind)] ?? ''} ${target ? tableKey(target) : String(node.name ?? '')} without CONCURRENTLY blocks writes to each table (and reads that use the index) while it rebuilds: use REINDEX … CONCURRENTLY (outside a transaction block)`,
      location: location(node.relation),
      table,
    };
  },
};

export const refreshWithoutConcurrently: LintRule = {
  id: 'refresh-matview-without-concurrently',
  family: 'locks',
  defaultSeverity: 'warning',
  summary: 'REFRESH MATERIALIZED VIEW without CONCURRENTLY blocks reads of the view',
  nodeTypes: ['RefreshMatViewStmt'],
  check(stmt) {
    if (stmt.nodeType !== 'RefreshMatViewStmt' || stmt.node.concurrent || stmt.node.skipData) return;
    const table = tableOf(stmt.node.relation);
    if (!table) return;
    return {
      message: `REFRESH MATERIALIZED VIEW ${tableKey(table)} without CONCURRENTLY blocks every read of the view until it finishes: use REFRESH MATERIALIZED VIEW CONCURRENTLY (needs a unique index on the view)`,
      location: location(stmt.node.relation),
      table,
    };
  },
};

export const LOCK_RULES: LintRule[] = [
  indexWithoutConcurrently,
  dropIndexWithoutConcurrently,
  constraintWithoutNotValid,
  setNotNullWithoutCheck,
  uniqueWithoutIndex,
  columnTypeRewrite,
  volatileDefault,
  vacuumFull,
  cluster,
  reindexWithoutConcurrently,
  refreshWithoutConcurrently,
];
