import { outbound } from '../outbound.js';
import type { SecretScrubber } from '../secrets.js';
import { binaryTextArray } from './binary-array.js';
import { readOne, type BatchRead } from './batch-read.js';
import type { Client } from './connect.js';
import { tablesPresent, type TablesPresent } from './guard-tables.js';

/**
 * Our own bookkeeping beside the Supabase history: a checksum per applied migration (the Supabase
 * table has none) and one row per run. Created with IF NOT EXISTS so later versions can add
 * columns the same way without a migration framework of their own.
 */
const CREATE_GUARD_SCHEMA = [
  'CREATE SCHEMA IF NOT EXISTS migration_guard',
  `CREATE TABLE IF NOT EXISTS migration_guard.runs (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     command text NOT NULL,
     environment text NOT NULL,
     status text NOT NULL DEFAULT 'running',
     transaction_mode text,
     started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
     finished_at timestamptz,
     actor text,
     run_url text,
     repository text,
     ref text,
     sha text,
     applied text[] NOT NULL DEFAULT '{}',
     error text
   )`,
  `CREATE TABLE IF NOT EXISTS migration_guard.migrations (
     version text PRIMARY KEY,
     name text NOT NULL,
     checksum text NOT NULL,
     applied_at timestamptz NOT NULL DEFAULT clock_timestamp(),
     applied_by text,
     run_id bigint,
     duration_ms integer,
     method text NOT NULL DEFAULT 'applied' CHECK (method IN ('applied', 'baseline'))
   )`,
  // Added after the first release: each later column gets its own ADD COLUMN IF NOT EXISTS, and
  // NEWEST_COLUMN below names the last one so existing databases are upgraded once.
  'ALTER TABLE migration_guard.runs ADD COLUMN IF NOT EXISTS details jsonb',
  // The session that runs the migrations (and holds the lock): a run whose session is gone died
  // without a word (db/abandoned-runs.ts). The start time tells a reused pid from the original.
  'ALTER TABLE migration_guard.runs ADD COLUMN IF NOT EXISTS session_pid integer',
  'ALTER TABLE migration_guard.runs ADD COLUMN IF NOT EXISTS session_started timestamptz',
];

/** The most recently added column: when it exists, the schema is current and no DDL runs. */
const NEWEST_COLUMN = { table: 'migration_guard.runs', column: 'session_started' };

export interface ChecksumRow {
  version: string;
  checksum: string;
  /** ISO 8601 in UTC, as the reports show it. */
  appliedAt: string;
  appliedBy: string | null;
  method: 'applied' | 'baseline';
}

/**
 * Taken (transaction-level) by everything that creates our schema's objects: two connections
 * running CREATE … IF NOT EXISTS at once can both decide to create and one then fails.
 */
export const GUARD_DDL_LOCK = 0x6d6764646c;

export async function ensureGuardSchema(client: Client): Promise<void> {
  // Checked first: on an adopted database the DDL (and its catalogue locks) is skipped entirely.
  const { rows } = await client.query<{ ready: boolean }>(
    `SELECT to_regclass('migration_guard.migrations') IS NOT NULL
        AND EXISTS (SELECT 1 FROM pg_attribute
                     WHERE attrelid = to_regclass($1) AND attname = $2 AND NOT attisdropped) AS ready`,
    [NEWEST_COLUMN.table, NEWEST_COLUMN.column],
  );
  if (rows[0].ready) return;
  // One message: one implicit transaction (or part of the caller's) holding the DDL lock.
  await client.query([`SELECT pg_advisory_xact_lock(${GUARD_DDL_LOCK})`, ...CREATE_GUARD_SCHEMA].join(';\n'));
}

export async function readChecksums(
  client: Client,
  tables?: Pick<TablesPresent, 'checksums'>,
): Promise<Map<string, ChecksumRow>> {
  return readOne(client, checksumsRead(tables ?? (await tablesPresent(client))));
}

/** readChecksums as a read a session sends with others (batch-read.ts). */
export function checksumsRead(tables: Pick<TablesPresent, 'checksums'>): BatchRead<Map<string, ChecksumRow>> {
  if (!tables.checksums) return { value: new Map() };
  // applied_at as the reports' ISO text, formatted by the server: parsing 500 timestamps into
  // Dates and back cost a run with nothing to do ~2 ms. The rows come as one JSON array, parsed
  // by JSON.parse, not as a row object each.
  return {
    sql: `SELECT coalesce(json_agg(json_build_array(version, checksum,
                   to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), applied_by, method)), '[]') AS list
            FROM migration_guard.migrations`,
    answer: ([{ list }]) =>
      new Map(
        (list as Array<[string, string, string, string | null, ChecksumRow['method']]>).map(
          ([version, checksum, appliedAt, appliedBy, method]) => [
            version,
            { version, checksum, appliedAt, appliedBy, method },
          ],
        ),
      ),
  };
}

/** A version applied again (after a rollback, say) replaces its old checksum row. */
const REPLACE_CHECKSUM_ROW = `ON CONFLICT (version) DO UPDATE SET name = EXCLUDED.name, checksum = EXCLUDED.checksum,
       applied_at = clock_timestamp(), applied_by = EXCLUDED.applied_by, run_id = EXCLUDED.run_id,
       duration_ms = EXCLUDED.duration_ms, method = EXCLUDED.method`;

export async function recordChecksum(
  client: Client,
  row: {
    version: string;
    name: string;
    checksum: string;
    appliedBy: string;
    runId?: number;
    durationMs?: number;
    method: 'applied' | 'baseline';
  },
): Promise<void> {
  await client.query(
    `INSERT INTO migration_guard.migrations (version, name, checksum, applied_by, run_id, duration_ms, method)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ${REPLACE_CHECKSUM_ROW}`,
    [
      row.version,
      row.name,
      row.checksum,
      row.appliedBy,
      row.runId ?? null,
      row.durationMs ?? null,
      row.method,
    ],
  );
}

/** After a restore: checksum rows whose version the (restored) history no longer has. */
export async function forgetChecksumsNotIn(client: Client, versions: string[]): Promise<void> {
  await client.query('DELETE FROM migration_guard.migrations WHERE NOT (version = ANY ($1::text[]))', [
    versions,
  ]);
}

/**
 * Records applied migrations in both histories (Supabase's and our checksum table) in one round
 * trip, inside the migrations' own transaction. PostgreSQL arrays cannot be ragged, so every
 * file's statements travel in one flat text[] (binary: see binary-array.ts) beside the index of
 * the file each belongs to, and are gathered back per file on the server.
 */
export async function recordAppliedMigrations(
  client: Client,
  rows: Array<{ version: string; name: string; statements: string[]; checksum: string; durationMs: number }>,
  run: { appliedBy: string; runId: number },
): Promise<void> {
  // A named statement: parsed and planned once per connection, not once per file in per-file mode.
  await client.query({
    name: 'migration-guard-record-applied',
    text: `WITH input AS (
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[]) WITH ORDINALITY
                AS t(version, name, checksum, duration_ms, file)
     ), statements AS (
       SELECT file, array_agg(statement ORDER BY position) AS statements
         FROM unnest($7::text[], $8::int[]) WITH ORDINALITY AS s(statement, file, position)
        GROUP BY file
     ), history AS (
       INSERT INTO supabase_migrations.schema_migrations (version, name, statements)
       SELECT version, name, coalesce(statements.statements, '{}') FROM input LEFT JOIN statements USING (file)
     )
     INSERT INTO migration_guard.migrations (version, name, checksum, applied_by, run_id, duration_ms, method)
     SELECT version, name, checksum, $5, $6, duration_ms, 'applied' FROM input
     ${REPLACE_CHECKSUM_ROW}`,
    values: [
      rows.map((r) => r.version),
      rows.map((r) => r.name),
      rows.map((r) => r.checksum),
      rows.map((r) => r.durationMs),
      run.appliedBy,
      run.runId,
      binaryTextArray(rows.flatMap((r) => r.statements)),
      rows.flatMap((r, index) => r.statements.map(() => index + 1)),
    ],
  });
}

/**
 * Per-file runs send many transactions in one simple-protocol message (engine/chain.ts), where
 * bind parameters cannot go. Their history rows are staged first, with parameters, as session
 * settings named by ordinal; each transaction's record command copies its own row. Settings
 * rather than a temporary table: no catalogue writes, no TEMP privilege, gone with the session.
 */
export async function stageAppliedMigrations(
  client: Client,
  rows: Array<{ ordinal: number; version: string; name: string; statements: string[]; checksum: string }>,
  run: { appliedBy: string; runId: number },
): Promise<void> {
  if (rows.length === 0) return;
  // The row is built as JSON on the server: statements travel as in recordAppliedMigrations.
  await client.query(
    `WITH statements AS (
       SELECT file, array_agg(statement ORDER BY position) AS statements
         FROM unnest($5::text[], $6::int[]) WITH ORDINALITY AS s(statement, file, position)
        GROUP BY file
     )
     SELECT count(set_config('migration_guard.record_' || ordinal, jsonb_build_object(
              'version', version, 'name', name, 'statements', coalesce(statements.statements, '{}'),
              'checksum', checksum, 'applied_by', $7::text, 'run_id', $8::bigint)::text, false))
       FROM unnest($1::int[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS t(ordinal, version, name, checksum, file)
       LEFT JOIN statements USING (file)`,
    [
      rows.map((r) => r.ordinal),
      rows.map((r) => r.version),
      rows.map((r) => r.name),
      rows.map((r) => r.checksum),
      binaryTextArray(rows.flatMap((r) => r.statements)),
      rows.flatMap((r, index) => r.statements.map(() => index + 1)),
      run.appliedBy,
      run.runId,
    ],
  );
}

/**
 * Clears staged rows 1..`count` once the run is done with them: the session may go back to a
 * pooler and on to another client, which should not find our migrations' text in its settings.
 */
export async function unstageAppliedMigrations(client: Client, count: number): Promise<void> {
  if (count <= 0) return;
  await client.query(
    `SELECT count(set_config('migration_guard.record_' || n, '', false)) FROM generate_series(1, $1::int) AS n`,
    [count],
  );
}

/**
 * An expression that notes when a file's transaction started its work. Not transaction_timestamp(): in a message
 * holding several transactions that is when the message arrived, for all of them.
 */
export const MARK_FILE_START =
  "set_config('migration_guard.file_started', extract(epoch FROM clock_timestamp())::text, true)";

/**
 * The command that writes staged row `ordinal` to both histories, inside the migration's own
 * transaction, with its duration since MARK_FILE_START by the server's clock, which it also
 * returns (the report shows it). The ordinal is a
 * number the executor hands out; it is checked here because it becomes part of the SQL text.
 */
export function recordStagedMigrationSql(ordinal: number): string {
  if (!Number.isSafeInteger(ordinal) || ordinal < 0) throw new Error(`invalid record ordinal ${ordinal}`);
  return `WITH input AS (
  SELECT * FROM jsonb_to_record(current_setting('migration_guard.record_${ordinal}')::jsonb)
    AS r(version text, name text, statements text[], checksum text, applied_by text, run_id bigint)
), history AS (
  INSERT INTO supabase_migrations.schema_migrations (version, name, statements)
  SELECT version, name, statements FROM input
)
INSERT INTO migration_guard.migrations (version, name, checksum, applied_by, run_id, duration_ms, method)
SELECT version, name, checksum, applied_by, run_id,
       round((extract(epoch FROM clock_timestamp())
              - current_setting('migration_guard.file_started')::float8) * 1000), 'applied' FROM input
${REPLACE_CHECKSUM_ROW}
RETURNING duration_ms`;
}

/** A revert's bookkeeping: the migrations are no longer applied (both histories, one round trip). */
export async function forgetMigrations(client: Client, versions: string[]): Promise<void> {
  await client.query(
    `WITH history AS (DELETE FROM supabase_migrations.schema_migrations WHERE version = ANY ($1::text[]))
     DELETE FROM migration_guard.migrations WHERE version = ANY ($1::text[])`,
    [versions],
  );
}

export interface RunRecordStart {
  command: string;
  environment: string;
  transactionMode?: string;
  actor?: string;
  runUrl?: string;
  repository?: string;
  ref?: string;
  sha?: string;
  /**
   * The backend pid of the session that runs the migrations and holds the lock, when the row is
   * written on another connection (the control connection); default: the writing session.
   */
  sessionPid?: number;
}

/** Opens a run's row; every text is scrubbed as it is written (a row outlives the job's log masking). */
export async function startRunRecord(
  client: Client,
  scrubber: SecretScrubber,
  start: RunRecordStart,
): Promise<number> {
  const run = scrubber.scrubValue(start);
  const { rows } = await client.query<{ id: string }>(
    `WITH session AS (SELECT coalesce($9::int, pg_backend_pid()) AS pid)
     INSERT INTO migration_guard.runs (command, environment, transaction_mode, actor, run_url, repository, ref, sha,
                                       session_pid, session_started)
     SELECT $1, $2, $3, $4, $5, $6, $7, $8, session.pid,
            (SELECT backend_start FROM pg_stat_activity WHERE pid = session.pid)
       FROM session RETURNING id`,
    [
      run.command,
      run.environment,
      run.transactionMode ?? null,
      run.actor ?? null,
      run.runUrl ?? null,
      run.repository ?? null,
      run.ref ?? null,
      run.sha ?? null,
      run.sessionPid ?? null,
    ],
  );
  return Number(rows[0].id);
}

/**
 * Closes a run's row; false when there is no such row (it was rolled back with a failed
 * transaction). The error and details are scrubbed, then cut, as they are written: a server error
 * can quote the password (say, a migration casting a string that holds it).
 */
export async function finishRunRecord(
  client: Client,
  scrubber: SecretScrubber,
  id: number,
  closing: RunOutcome,
): Promise<boolean> {
  const outcome = outbound(closing, scrubber);
  const { rowCount } = await client.query(
    `UPDATE migration_guard.runs SET status = $2, applied = $3, error = $4, details = $5,
            finished_at = clock_timestamp() WHERE id = $1`,
    [
      id,
      outcome.status,
      outcome.applied,
      outcome.error ?? null,
      outcome.details ? JSON.stringify(outcome.details) : null,
    ],
  );
  return (rowCount ?? 0) > 0;
}

/** Adds keys to a run's details after it closed (what was found out once its result was built). */
export async function noteOnRunRecord(
  client: Client,
  id: number,
  details: Record<string, unknown>,
): Promise<void> {
  await client.query(
    `UPDATE migration_guard.runs SET details = coalesce(details, '{}'::jsonb) || $2::jsonb WHERE id = $1`,
    [id, JSON.stringify(details)],
  );
}

export interface RunOutcome {
  status: string;
  applied: string[];
  error?: string;
  details?: Record<string, unknown>;
}
