import { readOne, type BatchRead } from './batch-read.js';
import type { Client } from './connect.js';

/**
 * Which of the tables a session reads exist, in one catalog query. The session asks once, after it
 * holds the lock (what it then reads is what the run plans from), and hands the answer to each
 * reader (abandoned runs, history, checksums, partial files): three round trips fewer on every run
 * than each asking for its own table. A reader called on its own asks here itself.
 */
export interface TablesPresent {
  /** migration_guard.runs */
  runs: boolean;
  /** Its session_pid column (runs recorded by older versions have none). */
  runSessions: boolean;
  /** The columns of supabase_migrations.schema_migrations; undefined when there is no such table. */
  historyColumns: string[] | undefined;
  /** migration_guard.migrations (checksums) */
  checksums: boolean;
  /** migration_guard.partial_migrations */
  partials: boolean;
  /** migration_guard.audit_log */
  auditLog: boolean;
}

/** The catalog query behind TablesPresent, as a read that can share a message with others. */
export const tablesRead: BatchRead<TablesPresent> = {
  sql: `SELECT to_regclass('migration_guard.runs') IS NOT NULL AS runs,
            EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass('migration_guard.runs')
                      AND attname = 'session_pid' AND NOT attisdropped) AS run_sessions,
            (SELECT array_agg(attname::text) FROM pg_attribute
              WHERE attrelid = to_regclass('supabase_migrations.schema_migrations') AND attnum > 0
                AND NOT attisdropped) AS history_columns,
            to_regclass('migration_guard.migrations') IS NOT NULL AS checksums,
            to_regclass('migration_guard.partial_migrations') IS NOT NULL AS partials,
            to_regclass('migration_guard.audit_log') IS NOT NULL AS audit_log`,
  answer: ([row]) => ({
    runs: row.runs as boolean,
    runSessions: row.run_sessions as boolean,
    historyColumns: (row.history_columns as string[] | null) ?? undefined,
    checksums: row.checksums as boolean,
    partials: row.partials as boolean,
    auditLog: row.audit_log as boolean,
  }),
};

export function tablesPresent(client: Client): Promise<TablesPresent> {
  return readOne(client, tablesRead);
}
