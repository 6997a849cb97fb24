import { afterEach } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export interface TestServer {
  name: string;
  url: string;
}

export function testServers(): TestServer[] {
  const raw = process.env.MG_TEST_SERVERS;
  if (!raw)
    throw new Error(
      'MG_TEST_SERVERS is not set: run the tests through jest (global setup starts the servers)',
    );
  return JSON.parse(raw) as TestServer[];
}

export function urlForDatabase(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

/** A new empty database on the server; dropped by `drop()`. */
export async function freshDatabase(
  server: TestServer,
): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const name = `mg_${randomBytes(6).toString('hex')}`;
  await withPg(server.url, (c) => c.query(`CREATE DATABASE ${name}`));
  return {
    url: urlForDatabase(server.url, name),
    name,
    drop: () =>
      withPg(server.url, async (c) => {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      }),
  };
}

/** For a describe block: `newDb()` gives a fresh database, dropped after each test. */
export function databasesFor(
  server: TestServer,
): () => Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const drops: Array<() => Promise<void>> = [];
  afterEach(async () => {
    while (drops.length) await drops.pop()!();
  });
  return async () => {
    const db = await freshDatabase(server);
    drops.push(db.drop);
    return db;
  };
}

export async function withPg<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function query<T extends pg.QueryResultRow = pg.QueryResultRow>(
  url: string,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  return withPg(url, async (c) => (await c.query<T>(sql, params)).rows);
}

/** Everything a failed run must leave unchanged: schema digest, row counts, history and checksums (run records excluded: they record the failure on purpose). */
export async function databaseState(url: string): Promise<{
  fingerprint: string;
  rowCounts: Record<string, number>;
  history: string[];
  checksums: string[];
}> {
  return withPg(url, async (c) => {
    const { schemaFingerprint } = await import('../../src/db/fingerprint.js');
    const fingerprint = await schemaFingerprint(c as never);
    const tables = await c.query<{ t: string }>(
      `SELECT format('%I.%I', schemaname, tablename) AS t FROM pg_tables
        WHERE schemaname NOT IN ('pg_catalog', 'information_schema', 'migration_guard') ORDER BY 1`,
    );
    const rowCounts: Record<string, number> = {};
    for (const { t } of tables.rows)
      rowCounts[t] = Number((await c.query(`SELECT count(*) AS n FROM ${t}`)).rows[0].n);
    const history = (await c.query("SELECT to_regclass('supabase_migrations.schema_migrations') AS t"))
      .rows[0].t
      ? (
          await c.query('SELECT version FROM supabase_migrations.schema_migrations ORDER BY version')
        ).rows.map((r) => r.version)
      : [];
    const checksums = (await c.query("SELECT to_regclass('migration_guard.migrations') AS t")).rows[0].t
      ? (
          await c.query(
            "SELECT version || ':' || checksum AS v FROM migration_guard.migrations ORDER BY version",
          )
        ).rows.map((r) => r.v)
      : [];
    return { fingerprint, rowCounts, history, checksums };
  });
}

/**
 * Whether another session could take the migration lock now: asked from a session of its own, so
 * a run that still holds it (even one whose client is gone) is seen.
 */
export async function migrationLockIsFree(url: string): Promise<boolean> {
  const { MIGRATION_LOCK_ID } = await import('../../src/db/lock.js');
  return withPg(url, async (c) => {
    const id = MIGRATION_LOCK_ID.toString();
    const { rows } = await c.query('select pg_try_advisory_lock($1::bigint) as ok', [id]);
    if (rows[0].ok) await c.query('select pg_advisory_unlock($1::bigint)', [id]);
    return rows[0].ok as boolean;
  });
}

/**
 * Waits until a migration session of ours (not its control or audit connection) runs a statement
 * matching `pattern` (SQL LIKE); returns its pid.
 */
export async function waitForMigrationQuery(url: string, pattern: string): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const rows = await query(
      url,
      "select pid from pg_stat_activity where application_name like 'migration-guard%' and application_name not like '%control' and application_name not like '%audit' and query like $1 and state = 'active' and pid <> pg_backend_pid()",
      [pattern],
    );
    if (rows.length > 0) return rows[0].pid;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no session ran ${pattern}`);
}

/** How many advisory locks are held in the current database (pg_locks is cluster-wide), as `[{ n }]`. */
export const ADVISORY_LOCKS =
  "select count(*)::int as n from pg_locks where locktype = 'advisory' and database = (select oid from pg_database where datname = current_database())";
