import type { Client } from '../db/connect.js';
import { tableKey, type TableRef, type TableStats } from './context.js';
import type { TableStatsLookup } from './runner.js';

/**
 * The planner's row estimate and the size on disk (table, indexes and TOAST) of each named table
 * that exists, in one round trip. Tables that do not exist (yet) are absent. `rows` is
 * pg_class.reltuples: -1 on PostgreSQL 14+ for a table never vacuumed or analysed.
 */
export async function liveTableStats(
  client: Pick<Client, 'query'>,
  tables: readonly TableRef[],
): Promise<Map<string, TableStats>> {
  const stats = new Map<string, TableStats>();
  if (tables.length === 0) return stats;
  const { rows } = await client.query<{ schema: string; table: string; rows: number; bytes: string }>(
    `SELECT n.nspname AS schema, c.relname AS table, c.reltuples::float8 AS rows,
            pg_total_relation_size(c.oid)::text AS bytes
       FROM unnest($1::text[], $2::text[]) AS wanted(schema, name)
       JOIN pg_catalog.pg_namespace n ON n.nspname = wanted.schema
       JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = wanted.name
      WHERE c.relkind IN ('r', 'p', 'm')`,
    [tables.map((t) => t.schema), tables.map((t) => t.table)],
  );
  for (const row of rows) {
    stats.set(tableKey({ schema: row.schema, table: row.table }), {
      rows: Number(row.rows),
      bytes: Number(row.bytes),
    });
  }
  return stats;
}

/** `lintMigrations`' `loadTableStats` option for a connected client. */
export function liveStatsLoader(
  client: Pick<Client, 'query'>,
): (tables: TableRef[]) => Promise<TableStatsLookup> {
  return async (tables) => {
    const stats = await liveTableStats(client, tables);
    return (schema, table) => stats.get(tableKey({ schema, table }));
  };
}
