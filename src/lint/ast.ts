/** Small readers of libpg-query's parse tree, shared by the rules. */

export type Node = Record<string, unknown>;

/** `{ String: { sval } }` lists (qualified names) as plain strings. */
export function names(list: unknown): string[] {
  return ((list as Array<{ String?: { sval?: string } }> | undefined) ?? []).map((n) => n.String?.sval ?? '');
}

/** The one key of a wrapped node (`{ Constraint: {...} }` → ['Constraint', {...}]). */
export function unwrap(node: unknown): [string, Node] | undefined {
  if (!node || typeof node !== 'object') return undefined;
  // The first key without building every entry (this runs for every node the rules look at).
  for (const key in node as Node) return [key, (node as Node)[key] as Node];
  return undefined;
}

/** libpg-query wraps each node in an object with one key, its type: `{ ColumnDef: {…} }`. */
export function wrapped(node: unknown, type: string): Node | undefined {
  if (!node || typeof node !== 'object' || Array.isArray(node)) return undefined;
  const inner = (node as Node)[type];
  return inner && typeof inner === 'object' ? (inner as Node) : undefined;
}

export function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** The commands of an ALTER TABLE (`AlterTableStmt.cmds`), unwrapped. */
export function alterTableCmds(node: Node): Node[] {
  return list(node.cmds)
    .map((c) => wrapped(c, 'AlterTableCmd'))
    .filter((c): c is Node => !!c);
}

/** A type as written, normalised: `varchar(20)`, `numeric(10,2)`, `timestamp`, `int4`, `text[]`. */
export interface TypeInfo {
  name: string;
  mods: number[];
  array: boolean;
  text: string;
}

export function typeInfo(typeName: unknown): TypeInfo | undefined {
  const t = typeName as { names?: unknown; typmods?: unknown; arrayBounds?: unknown } | undefined;
  if (!t?.names) return undefined;
  const name = typeNameOf(t.names as Array<{ String?: { sval?: string } }>);
  const mods = t.typmods === undefined ? NO_MODS : list(t.typmods).map(modOf);
  const array = list(t.arrayBounds).length > 0;
  const text =
    mods.length === 0 && !array
      ? name
      : `${name}${mods.length ? `(${mods.join(',')})` : ''}${array ? '[]' : ''}`;
  return { name, mods, array, text };
}

// Shared by every type without modifiers (frozen: no one may add to it).
const NO_MODS = Object.freeze([]) as unknown as number[];

function modOf(m: unknown): number {
  const c = wrapped(m, 'A_Const') as { ival?: { ival?: number } } | undefined;
  return c?.ival ? (c.ival.ival ?? 0) : NaN;
}

/** The name without pg_catalog, lower-cased; one or two parts (nearly every type) without a join. */
function typeNameOf(parts: Array<{ String?: { sval?: string } }>): string {
  const first = parts[0]?.String?.sval ?? '';
  if (parts.length === 1) return first.toLowerCase();
  if (parts.length === 2 && first === 'pg_catalog') return (parts[1].String?.sval ?? '').toLowerCase();
  const all = parts.map((n) => n.String?.sval ?? '');
  return (first === 'pg_catalog' ? all.slice(1) : all).join('.').toLowerCase();
}

/** Lower-case function name without schema (`pg_catalog.now` → `now`). */
export function funcName(call: Node): string {
  const parts = names(call.funcname);
  return (parts[parts.length - 1] ?? '').toLowerCase();
}

/** Every FuncCall node under `node` (depth first). */
export function funcCalls(node: unknown, out: Node[] = []): Node[] {
  if (Array.isArray(node)) {
    for (const item of node) funcCalls(item, out);
  } else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node as Node)) {
      if (key === 'FuncCall') out.push(value as Node);
      funcCalls(value, out);
    }
  }
  return out;
}

/** Constraints of a column definition or a table's element list. */
export function constraintsOf(defs: unknown): Node[] {
  return list(defs)
    .map((c) => wrapped(c, 'Constraint'))
    .filter((c): c is Node => !!c);
}

export function location(node: unknown): number | undefined {
  const l = (node as { location?: number } | undefined)?.location;
  return typeof l === 'number' && l >= 0 ? l : undefined;
}

const SQL_NAMES: Record<string, string> = {
  int2: 'smallint',
  int4: 'integer',
  int8: 'bigint',
  float4: 'real',
  float8: 'double precision',
  bool: 'boolean',
  bpchar: 'char',
};

/** A type as users write it (`bigint`, not the catalog's `int8`), for messages. */
export function sqlTypeName(text: string): string {
  const m = /^([^([]+)(.*)$/.exec(text);
  return m ? `${SQL_NAMES[m[1]] ?? m[1]}${m[2]}` : text;
}
