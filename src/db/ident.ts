/** Quotes an SQL identifier. The only place identifiers are turned into SQL text. */
export function quoteIdent(name: string): string {
  if (name.includes('\0')) throw new Error('identifier contains a NUL byte');
  return `"${name.replace(/"/g, '""')}"`;
}

/** Quotes a literal for the few places (SET LOCAL …) where PostgreSQL accepts no bind parameter. */
export function quoteLiteral(value: string): string {
  if (value.includes('\0')) throw new Error('literal contains a NUL byte');
  return `'${value.replace(/'/g, "''")}'`;
}
