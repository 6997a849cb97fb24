import type { TypeInfo } from './ast.js';

/**
 * Whether `ALTER COLUMN … TYPE` rewrites the table: `no`, `yes`, or, when the current type is not
 * known (declared outside the linted files), the condition under which it would not ("the column
 * is varchar(n) or text now"). PostgreSQL skips the rewrite when the old type is binary-coercible
 * to the new one and the new type modifier accepts every old value.
 */
export function typeChangeRewrites(
  from: string | undefined,
  to: TypeInfo,
  using: boolean,
): 'no' | 'yes' | string {
  if (using) return 'yes';
  if (from !== undefined) return safeChange(parse(from), to) ? 'no' : 'yes';
  if (to.array) return 'yes';
  switch (to.name) {
    case 'text':
      return 'the column is varchar or text now';
    case 'varchar':
      return to.mods.length === 0
        ? 'the column is varchar or text now'
        : `the column is varchar(n) with n ≤ ${to.mods[0]} now`;
    case 'numeric':
      return to.mods.length === 0
        ? 'the column is numeric now'
        : `the column is numeric with the same scale and a precision ≤ ${to.mods[0]} now`;
    case 'varbit':
      return 'the column is a shorter varbit now';
    case 'timestamptz':
      return 'the column is timestamp now and the session TimeZone is UTC';
    case 'inet':
      return 'the column is cidr now';
    default:
      return 'yes';
  }
}

function parse(text: string): TypeInfo {
  const m = /^([^([]+)(?:\(([^)]*)\))?(\[\])?$/.exec(text);
  const mods = m?.[2] ? m[2].split(',').map(Number) : [];
  return { name: m?.[1] ?? text, mods, array: !!m?.[3], text };
}

function safeChange(from: TypeInfo, to: TypeInfo): boolean {
  if (from.array !== to.array) return false;
  if (from.name === to.name) {
    if (to.mods.length === 0)
      return ['varchar', 'numeric', 'varbit'].includes(to.name) || from.mods.length === 0;
    if (from.mods.length === 0) return false;
    if (to.name === 'numeric') return to.mods[0] >= from.mods[0] && (to.mods[1] ?? 0) === (from.mods[1] ?? 0);
    if (to.name === 'varchar' || to.name === 'varbit') return to.mods[0] >= from.mods[0];
    return to.mods.join(',') === from.mods.join(',');
  }
  if (from.name === 'varchar' && to.name === 'text') return true;
  if (from.name === 'text' && to.name === 'varchar') return to.mods.length === 0;
  if (from.name === 'cidr' && to.name === 'inet') return true;
  return false;
}
