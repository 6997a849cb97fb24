import type { Client } from '../db/connect.js';
import { tableKey, type TableSecurity } from './context.js';

/**
 * Row-level security of every ordinary and partitioned table outside the system schemas, with its
 * number of policies, in one round trip: `lintMigrations`' `tableSecurity` option (plan). The
 * security rules ask about tables the release did not create while they read the files, before
 * any finding names them, so the lookup covers every table up front (a catalog read, cheap even
 * for thousands of tables).
 */
export async function liveTableSecurity(
  client: Pick<Client, 'query'>,
): Promise<(schema: string, table: string) => TableSecurity | undefined> {
  const { rows } = await client.query<{ schema: string; table: string; rls: boolean; policies: number }>(
    `SELECT n.nspname AS schema, c.relname AS table, c.relrowsecurity AS rls,
            (SELECT count(*)::int FROM pg_catalog.pg_policy p WHERE p.polrelid = c.oid) AS policies
       FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'`,
  );
  const byTable = new Map<string, TableSecurity>();
  for (const row of rows)
    byTable.set(tableKey({ schema: row.schema, table: row.table }), {
      rowSecurity: row.rls,
      policies: row.policies,
    });
  return (schema, table) => byTable.get(tableKey({ schema, table }));
}
