import { GuardError } from '../errors.js';
import { readOne, type BatchRead } from './batch-read.js';
import type { Client } from './connect.js';
import { tablesPresent, type TablesPresent } from './guard-tables.js';

/**
 * The Supabase CLI's migration history, created and written exactly as the CLI does so that
 * `supabase migration list` / `db push` and this tool agree in both directions. These are also
 * the CLI's upgrade path: a table an older CLI made (only `version`, or `version` + `statements`)
 * gets the missing columns from the same statements, in the same order.
 */
export const CREATE_HISTORY: readonly string[] = [
  'CREATE SCHEMA IF NOT EXISTS supabase_migrations',
  'CREATE TABLE IF NOT EXISTS supabase_migrations.schema_migrations (version text NOT NULL PRIMARY KEY)',
  'ALTER TABLE supabase_migrations.schema_migrations ADD COLUMN IF NOT EXISTS statements text[]',
  'ALTER TABLE supabase_migrations.schema_migrations ADD COLUMN IF NOT EXISTS name text',
];

/** The columns the current CLI's table has, beyond `version`, which every CLI version created. */
const CLI_COLUMNS = ['statements', 'name'] as const;

export interface HistoryRow {
  version: string;
  name: string | null;
}

export interface HistoryTable {
  rows: HistoryRow[];
  /** Columns the current Supabase CLI adds that this table lacks (an older CLI created it). */
  missingColumns: string[];
}

export async function ensureHistoryTable(client: Client): Promise<void> {
  for (const sql of CREATE_HISTORY) await client.query(sql);
}

/**
 * The history table as it is, without changing it: read-only commands (status, plan) must not
 * upgrade an older CLI's table, so only the columns that exist are read. Undefined when the
 * table does not exist yet.
 */
export async function readHistoryTable(
  client: Client,
  tables?: Pick<TablesPresent, 'historyColumns'>,
): Promise<HistoryTable | undefined> {
  return readOne(client, historyRead(tables ?? (await tablesPresent(client))));
}

/** readHistoryTable as a read a session sends with others (batch-read.ts); throws as it does. */
export function historyRead(
  tables: Pick<TablesPresent, 'historyColumns'>,
): BatchRead<HistoryTable | undefined> {
  const columns = tables.historyColumns;
  if (!columns || columns.length === 0) return { value: undefined };
  const present = new Set(columns);
  if (!present.has('version')) {
    throw new GuardError(
      'drift',
      'supabase_migrations.schema_migrations has no "version" column: it was not created by the Supabase CLI, so its history cannot be read',
      {
        hint: 'Rename or drop that table (it holds no history this tool or the Supabase CLI can read), then run baseline to record what the database already has.',
      },
    );
  }
  // version::text: every CLI made it text; the cast keeps a hand-made table from changing types.
  // The rows come as one JSON array of [version, name] pairs: one value parsed by JSON.parse
  // instead of a row object built per row (~2 ms of a no-op run over 500 files).
  return {
    sql: `SELECT coalesce(json_agg(json_build_array(version::text, ${present.has('name') ? 'name' : 'NULL::text'})), '[]') AS pairs
            FROM supabase_migrations.schema_migrations`,
    answer: ([{ pairs }]) => ({
      rows: (pairs as Array<[string, string | null]>).map(([version, name]): HistoryRow => ({
        version,
        name,
      })),
      missingColumns: CLI_COLUMNS.filter((c) => !present.has(c)),
    }),
  };
}

/** Applied versions; undefined when the table does not exist yet (read-only callers never create it). */
export async function readHistory(client: Client): Promise<HistoryRow[] | undefined> {
  return (await readHistoryTable(client))?.rows;
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
