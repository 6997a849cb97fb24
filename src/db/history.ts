import type { Client } from './connect.js';

/**
 * The Supabase CLI's migration history, created and written exactly as the CLI does so that
 * `supabase migration list` / `db push` and this tool agree in both directions.
 */
export const CREATE_HISTORY: readonly string[] = [
  'CREATE SCHEMA IF NOT EXISTS supabase_migrations',
  'CREATE TABLE IF NOT EXISTS supabase_migrations.schema_migrations (version text NOT NULL PRIMARY KEY)',
  'ALTER TABLE supabase_migrations.schema_migrations ADD COLUMN IF NOT EXISTS statements text[]',
  'ALTER TABLE supabase_migrations.schema_migrations ADD COLUMN IF NOT EXISTS name text',
];

export interface HistoryRow {
  version: string;
  name: string | null;
}

export async function ensureHistoryTable(client: Client): Promise<void> {
  for (const sql of CREATE_HISTORY) await client.query(sql);
}

async function historyTableExists(client: Client): Promise<boolean> {
  const { rows } = await client.query<{ exists: boolean }>(
    "SELECT to_regclass('supabase_migrations.schema_migrations') IS NOT NULL AS exists",
  );
  return rows[0].exists;
}

/** Applied versions; undefined when the table does not exist yet (read-only callers never create it). */
export async function readHistory(client: Client): Promise<HistoryRow[] | undefined> {
  if (!(await historyTableExists(client))) return undefined;
  const result = await client.query<HistoryRow>(
    'SELECT version, name FROM supabase_migrations.schema_migrations',
  );
  return result.rows;
}

export async function insertHistoryRow(
  client: Client,
  row: { version: string; name: string; statements: string[] },
): Promise<void> {
  await client.query(
    'INSERT INTO supabase_migrations.schema_migrations (version, name, statements) VALUES ($1, $2, $3)',
    [row.version, row.name, row.statements],
  );
}
