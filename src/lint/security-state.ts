import { alterTableCmds, list, location, names, wrapped, type Node } from './ast.js';
import { tableKey, tableOf, type LintContext, type LintStatement, type TableRef } from './context.js';

/**
 * What the Supabase security rules need to know about the release, read statement by statement:
 * the tables it creates, where it enables row-level security, the policies it creates, and its
 * definer functions and views still waiting for a fixed search_path or security_invoker. Every
 * security rule calls `observe` first; a statement is read once, whichever rules are on.
 */

/** A statement's place, for hits made once the release has been read (`finish`). */
export interface Place {
  file: string;
  version: string;
  line: number;
  column: number;
  statementStart: number;
  /** Statement number in the release, to tell "earlier" from "later". */
  seq: number;
}

export interface TableFacts {
  ref: TableRef;
  /** Where the release creates it (absent: the table existed before the release). */
  created?: Place;
  /** Whether RLS is on once the statements read so far have run. */
  rls: boolean;
  /** Every ENABLE ROW LEVEL SECURITY on it. */
  enabled: Place[];
  policies: number;
}

export interface Pending {
  key: string;
  name: string;
  place: Place;
}

export interface SecurityState {
  tables: Map<string, TableFacts>;
  /** Definer functions (schema.name) the release leaves without a fixed search_path. */
  definers: Map<string, Pending>;
  /** Views in exposed schemas the release leaves without security_invoker. */
  views: Map<string, Pending>;
  seq: number;
  last?: LintStatement;
}

export function securityState(ctx: LintContext): SecurityState {
  // A named function, not an arrow made at each call: every security rule asks for each statement.
  return ctx.state<SecurityState>('security', newSecurityState);
}

function newSecurityState(): SecurityState {
  return { tables: new Map(), definers: new Map(), views: new Map(), seq: 0 };
}

export function placeOf(stmt: LintStatement, seq: number, at?: number): Place {
  const { line, column } = stmt.at(at);
  return {
    file: stmt.file,
    version: stmt.version,
    line,
    column,
    statementStart: stmt.statement.startByte,
    seq,
  };
}

export function isExposed(ctx: LintContext, ref: TableRef): boolean {
  return ctx.exposedSchemas.includes(ref.schema);
}

export function factsOf(state: SecurityState, ref: TableRef): TableFacts {
  const key = tableKey(ref);
  let facts = state.tables.get(key);
  if (!facts) {
    facts = { ref, rls: false, enabled: [], policies: 0 };
    state.tables.set(key, facts);
  }
  return facts;
}

/**
 * The statements `observe` reads. Every security rule declares these (and its own), so each of
 * them sees the release's state whichever of the others are on, and INSERTs meet none of them.
 */
export const OBSERVED_NODE_TYPES = [
  'CreateStmt',
  'CreateTableAsStmt',
  'AlterTableStmt',
  'CreatePolicyStmt',
  'CreateFunctionStmt',
  'AlterFunctionStmt',
  'ViewStmt',
  'RenameStmt',
  'AlterObjectSchemaStmt',
  'DropStmt',
] as const;

/** Reads one statement into the state (once, however many security rules are on). */
export function observe(stmt: LintStatement, ctx: LintContext): SecurityState {
  const state = securityState(ctx);
  if (state.last === stmt) return state;
  state.last = stmt;
  const seq = ++state.seq;
  const { node } = stmt;
  switch (stmt.nodeType) {
    case 'CreateStmt':
      created(state, node.relation, stmt, seq);
      break;
    case 'CreateTableAsStmt':
      if (node.objtype === 'OBJECT_TABLE') created(state, (node.into as Node | undefined)?.rel, stmt, seq);
      break;
    case 'AlterTableStmt':
      alterTable(state, stmt, seq);
      break;
    case 'CreatePolicyStmt': {
      const ref = tableOf(node.table);
      if (ref) factsOf(state, ref).policies += 1;
      break;
    }
    case 'CreateFunctionStmt': {
      const name = functionName(node.funcname);
      const options = list(node.options)
        .map((o) => wrapped(o, 'DefElem'))
        .filter((o): o is Node => !!o);
      if (isDefiner(options) && !setsSearchPath(options))
        state.definers.set(name, { key: name, name, place: placeOf(stmt, seq) });
      else state.definers.delete(name);
      break;
    }
    case 'AlterFunctionStmt': {
      const name = functionName((node.func as Node | undefined)?.objname);
      const actions = list(node.actions)
        .map((o) => wrapped(o, 'DefElem'))
        .filter((o): o is Node => !!o);
      if (setsSearchPath(actions) || definerFlag(actions) === false) state.definers.delete(name);
      else if (definerFlag(actions) === true && !state.definers.has(name))
        state.definers.set(name, { key: name, name, place: placeOf(stmt, seq) });
      break;
    }
    case 'ViewStmt': {
      const ref = tableOf(node.view);
      const persistence = (node.view as { relpersistence?: string } | undefined)?.relpersistence;
      if (!ref || persistence === 't' || !isExposed(ctx, ref)) break;
      const key = tableKey(ref);
      if (invokerIn(list(node.options))) state.views.delete(key);
      else state.views.set(key, { key, name: key, place: placeOf(stmt, seq, location(node.view)) });
      break;
    }
    case 'RenameStmt':
      if (node.renameType === 'OBJECT_TABLE' && typeof node.newname === 'string')
        move(state, tableOf(node.relation), (ref) => ({ schema: ref.schema, table: String(node.newname) }));
      break;
    case 'AlterObjectSchemaStmt':
      if (node.objectType === 'OBJECT_TABLE' && typeof node.newschema === 'string')
        move(state, tableOf(node.relation), (ref) => ({ schema: String(node.newschema), table: ref.table }));
      break;
    case 'DropStmt':
      drop(state, node);
      break;
    default:
      break;
  }
  return state;
}

function created(state: SecurityState, relation: unknown, stmt: LintStatement, seq: number): void {
  const ref = tableOf(relation);
  const persistence = (relation as { relpersistence?: string } | undefined)?.relpersistence;
  if (!ref || persistence === 't') return;
  // A table created anew (after a drop, say) starts without RLS or policies.
  state.tables.set(tableKey(ref), {
    ref,
    created: placeOf(stmt, seq, location(relation)),
    rls: false,
    enabled: [],
    policies: 0,
  });
}

function alterTable(state: SecurityState, stmt: LintStatement, seq: number): void {
  const { node } = stmt;
  const ref = tableOf(node.relation);
  if (!ref) return;
  for (const c of alterTableCmds(node)) {
    if (node.objtype === 'OBJECT_VIEW' || state.views.has(tableKey(ref))) {
      if (c.subtype === 'AT_SetRelOptions' && invokerIn(list(wrapped(c.def, 'List')?.items)))
        state.views.delete(tableKey(ref));
      continue;
    }
    if (c.subtype === 'AT_EnableRowSecurity') {
      const facts = factsOf(state, ref);
      facts.rls = true;
      facts.enabled.push(placeOf(stmt, seq));
    } else if (c.subtype === 'AT_DisableRowSecurity') {
      factsOf(state, ref).rls = false;
    }
  }
}

function move(state: SecurityState, from: TableRef | undefined, to: (ref: TableRef) => TableRef): void {
  if (!from) return;
  const facts = state.tables.get(tableKey(from));
  if (!facts) return;
  state.tables.delete(tableKey(from));
  facts.ref = to(from);
  state.tables.set(tableKey(facts.ref), facts);
}

function drop(state: SecurityState, node: Node): void {
  for (const object of list(node.objects)) {
    const parts = names(wrapped(object, 'List')?.items);
    if (node.removeType === 'OBJECT_TABLE') {
      const table = parts[parts.length - 1];
      if (table) state.tables.delete(`${parts.length > 1 ? parts[0] : 'public'}.${table}`);
    } else if (node.removeType === 'OBJECT_VIEW') {
      const view = parts[parts.length - 1];
      if (view) state.views.delete(`${parts.length > 1 ? parts[0] : 'public'}.${view}`);
    } else if (node.removeType === 'OBJECT_POLICY' && parts.length >= 2) {
      // [schema.]table.policy
      const table = parts[parts.length - 2];
      const facts = state.tables.get(`${parts.length > 2 ? parts[0] : 'public'}.${table}`);
      if (facts && facts.policies > 0) facts.policies -= 1;
    } else if (node.removeType === 'OBJECT_FUNCTION' || node.removeType === 'OBJECT_PROCEDURE') {
      const func = wrapped(object, 'ObjectWithArgs');
      if (func) state.definers.delete(functionName(func.objname));
    }
  }
}

/** `schema.name` of a function (public when unqualified). */
export function functionName(nameList: unknown): string {
  const parts = names(nameList);
  return parts.length > 1 ? `${parts[0]}.${parts[parts.length - 1]}` : `public.${parts[0] ?? ''}`;
}

function isDefiner(options: Node[]): boolean {
  return definerFlag(options) === true;
}

/** `SECURITY DEFINER` → true, `SECURITY INVOKER` → false, absent → undefined. */
function definerFlag(options: Node[]): boolean | undefined {
  const security = options.find((o) => o.defname === 'security');
  if (!security) return undefined;
  return (wrapped(security.arg, 'Boolean') as { boolval?: boolean } | undefined)?.boolval === true;
}

/** `SET search_path …` (a value or FROM CURRENT): the function's path no longer follows the caller's. */
function setsSearchPath(options: Node[]): boolean {
  return options.some((o) => {
    if (o.defname !== 'set') return false;
    const set = wrapped(o.arg, 'VariableSetStmt') as { name?: string; kind?: string } | undefined;
    return set?.name === 'search_path' && (set.kind === 'VAR_SET_VALUE' || set.kind === 'VAR_SET_CURRENT');
  });
}

/** Whether `security_invoker` is set true among reloptions (a bare option means true). */
export function invokerIn(options: unknown[]): boolean {
  return options.some((o) => {
    const def = wrapped(o, 'DefElem');
    if (!def || String(def.defname).toLowerCase() !== 'security_invoker') return false;
    if (def.arg === undefined) return true;
    const s = (wrapped(def.arg, 'String') as { sval?: string } | undefined)?.sval;
    if (s !== undefined) return /^(t|tr|tru|true|y|ye|yes|on|1)$/i.test(s);
    const i = (wrapped(def.arg, 'Integer') as { ival?: number } | undefined)?.ival;
    if (wrapped(def.arg, 'Integer')) return i === 1;
    return (wrapped(def.arg, 'Boolean') as { boolval?: boolean } | undefined)?.boolval === true;
  });
}
