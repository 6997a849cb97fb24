import { readOne, type BatchRead } from './batch-read.js';
import type { Client } from './connect.js';
import { tablesPresent, type TablesPresent } from './guard-tables.js';

/**
 * Files that a failed run left partly applied: some of their statements committed (a statement
 * that cannot run in a transaction, and what came before it) but the file has no history row.
 * The Supabase history keeps the CLI's exact shape, so this lives in our own schema: one row per
 * such file, naming the statements that committed, so `status` can show it and the next `apply`
 * can resume the file after them (when the file is unchanged) instead of failing on "already
 * exists". The row goes once the file is applied. Created on first use, beside the run records.
 */
const CREATE_PARTIAL_TABLE = [
  'CREATE SCHEMA IF NOT EXISTS migration_guard',
  `CREATE TABLE IF NOT EXISTS migration_guard.partial_migrations (
     version text PRIMARY KEY,
     name text NOT NULL,
     checksum text NOT NULL,
     statements_total integer NOT NULL,
     statements_done integer NOT NULL,
     statements text[] NOT NULL,
     outside_transaction jsonb NOT NULL DEFAULT '[]',
     run_id bigint,
     recorded_at timestamptz NOT NULL DEFAULT clock_timestamp()
   )`,
];

export interface PartialMigration {
  version: string;
  name: string;
  /** Checksum of the file as it was when its statements committed: resuming needs the same file. */
  checksum: string;
  statementsTotal: number;
  /** The first `statementsDone` statements of the file committed; the rest did not run. */
  statementsDone: number;
  /** Their text, as the history would list it. */
  statements: string[];
  /** Which of them ran outside a transaction (line and text); `failed` when it failed and may have left something behind. */
  outsideTransaction: Array<{ line: number; statement: string; failed?: boolean }>;
  runId?: number;
  recordedAt?: string;
}

export async function readPartialMigrations(
  client: Client,
  tables?: Pick<TablesPresent, 'partials'>,
): Promise<Map<string, PartialMigration>> {
  return readOne(client, partialsRead(tables ?? (await tablesPresent(client))));
}

/** readPartialMigrations as a read a session sends with others (batch-read.ts). */
export function partialsRead(
  tables: Pick<TablesPresent, 'partials'>,
): BatchRead<Map<string, PartialMigration>> {
  if (!tables.partials) return { value: new Map() };
  return {
    sql: `SELECT version, name, checksum, statements_total, statements_done, statements, outside_transaction,
                 run_id, recorded_at FROM migration_guard.partial_migrations ORDER BY version`,
    answer: partialsFrom,
  };
}

interface PartialRow {
  version: string;
  name: string;
  checksum: string;
  statements_total: number;
  statements_done: number;
  statements: string[];
  outside_transaction: PartialMigration['outsideTransaction'];
  run_id: string | null;
  recorded_at: unknown;
}

function partialsFrom(rows: Array<Record<string, unknown>>): Map<string, PartialMigration> {
  return new Map(
    (rows as unknown as PartialRow[]).map((r) => [
      r.version,
      {
        version: r.version,
        name: r.name,
        checksum: r.checksum,
        statementsTotal: r.statements_total,
        statementsDone: r.statements_done,
        statements: r.statements,
        outsideTransaction: r.outside_transaction,
        runId: r.run_id === null ? undefined : Number(r.run_id),
        recordedAt: r.recorded_at instanceof Date ? r.recorded_at.toISOString() : undefined,
      },
    ]),
  );
}

/** Records (or updates, after a resumed file failed again) the partly applied files of a run. */
export async function recordPartialMigrations(client: Client, rows: PartialMigration[]): Promise<void> {
  if (rows.length === 0) return;
  for (const sql of CREATE_PARTIAL_TABLE) await client.query(sql);
  await client.query(
    `INSERT INTO migration_guard.partial_migrations
       (version, name, checksum, statements_total, statements_done, statements, outside_transaction, run_id)
     SELECT version, name, checksum, total, done, ARRAY(SELECT jsonb_array_elements_text(statements)), outside, run_id
       FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::int[], $6::jsonb[], $7::jsonb[], $8::bigint[])
         AS t(version, name, checksum, total, done, statements, outside, run_id)
     ON CONFLICT (version) DO UPDATE SET name = EXCLUDED.name, checksum = EXCLUDED.checksum,
       statements_total = EXCLUDED.statements_total, statements_done = EXCLUDED.statements_done,
       statements = EXCLUDED.statements,
       outside_transaction = migration_guard.partial_migrations.outside_transaction || EXCLUDED.outside_transaction,
       run_id = EXCLUDED.run_id, recorded_at = clock_timestamp()`,
    [
      rows.map((r) => r.version),
      rows.map((r) => r.name),
      rows.map((r) => r.checksum),
      rows.map((r) => r.statementsTotal),
      rows.map((r) => r.statementsDone),
      rows.map((r) => JSON.stringify(r.statements)),
      rows.map((r) => JSON.stringify(r.outsideTransaction)),
      rows.map((r) => r.runId ?? null),
    ],
  );
}

/**
 * Forgets the rows of `versions` (applied whole, or reverted whole by their down migration) and of
 * any file that has a history row by now. Run after the files' transactions committed: a row left
 * behind by a crash in between is ignored by the plan (the file is applied) and removed here by
 * the next run that gets this far.
 */
export async function forgetPartialMigrations(client: Client, versions: string[]): Promise<void> {
  const { rows } = await client.query<{ partial: boolean; history: boolean }>(
    `SELECT to_regclass('migration_guard.partial_migrations') IS NOT NULL AS partial,
            to_regclass('supabase_migrations.schema_migrations') IS NOT NULL AS history`,
  );
  if (!rows[0].partial) return;
  await client.query(
    `DELETE FROM migration_guard.partial_migrations WHERE version = ANY ($1::text[])${
      rows[0].history ? ' OR version IN (SELECT version FROM supabase_migrations.schema_migrations)' : ''
    }`,
    [versions],
  );
}
