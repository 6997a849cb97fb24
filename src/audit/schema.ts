import type { Client } from '../db/connect.js';
import { GUARD_DDL_LOCK } from '../db/guard-store.js';

/**
 * `migration_guard.audit_log`: append-only in the database itself. Triggers refuse UPDATE,
 * DELETE and TRUNCATE for everyone, the owner included, and are enabled ALWAYS so that
 * `session_replication_role = replica` does not silence them; the owner also gives up its own
 * UPDATE, DELETE and TRUNCATE privileges. What remains possible (a superuser disabling the
 * trigger) is what the hash chain is for: `audit` finds the first row that no longer matches.
 */
const CREATE_AUDIT_LOG = [
  'CREATE SCHEMA IF NOT EXISTS migration_guard',
  `CREATE TABLE IF NOT EXISTS migration_guard.audit_log (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     at timestamptz NOT NULL,
     run_key text NOT NULL,
     run_id bigint,
     event text NOT NULL,
     environment text NOT NULL,
     command text NOT NULL,
     outcome text,
     version text,
     duration_ms bigint,
     actor text,
     triggering_actor text,
     event_name text,
     repository text,
     ref text,
     sha text,
     pr_number integer,
     run_url text,
     os_user text,
     host text,
     reason text,
     error text,
     details jsonb,
     prev_hash text NOT NULL,
     hash text NOT NULL UNIQUE
   )`,
  'CREATE INDEX IF NOT EXISTS audit_log_at ON migration_guard.audit_log (at)',
  `CREATE OR REPLACE FUNCTION migration_guard.audit_log_append_only() RETURNS trigger
     LANGUAGE plpgsql AS $$
   BEGIN
     RAISE EXCEPTION 'migration_guard.audit_log is append-only: % refused', TG_OP
       USING ERRCODE = 'insufficient_privilege',
             HINT = 'Audit rows are never changed or removed; add a new row instead.';
   END $$`,
  `DO $$ BEGIN
     IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = 'migration_guard.audit_log'::regclass
                                          AND tgname = 'audit_log_no_change') THEN
       CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON migration_guard.audit_log
         FOR EACH ROW EXECUTE FUNCTION migration_guard.audit_log_append_only();
       CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON migration_guard.audit_log
         FOR EACH STATEMENT EXECUTE FUNCTION migration_guard.audit_log_append_only();
     END IF;
   END $$`,
  'ALTER TABLE migration_guard.audit_log ENABLE ALWAYS TRIGGER audit_log_no_change',
  'ALTER TABLE migration_guard.audit_log ENABLE ALWAYS TRIGGER audit_log_no_truncate',
  'REVOKE ALL ON migration_guard.audit_log FROM PUBLIC',
  'REVOKE UPDATE, DELETE, TRUNCATE ON migration_guard.audit_log FROM CURRENT_USER',
];

/** Whether the audit log exists (read-only callers never create it). */
export async function auditLogExists(client: Client): Promise<boolean> {
  const { rows } = await client.query<{ exists: boolean }>(
    "SELECT to_regclass('migration_guard.audit_log') IS NOT NULL AS exists",
  );
  return rows[0].exists;
}

/**
 * Creates the audit log when it is missing. One message, so the DDL is one implicit transaction
 * holding the lock that every writer of our schema takes: two runs creating it at once (or this
 * and the run record) would otherwise collide in the catalogue.
 */
export async function ensureAuditLog(client: Client): Promise<void> {
  if (await auditLogExists(client)) return;
  await client.query(CREATE_AUDIT_LOG_SQL);
}

/**
 * The creation as SQL text, under the schema's DDL lock: the statements are IF NOT EXISTS, so it
 * may also run inside a writer's transaction that found the log missing (store.ts).
 */
export const CREATE_AUDIT_LOG_SQL = [
  `SELECT pg_advisory_xact_lock(${GUARD_DDL_LOCK})`,
  ...CREATE_AUDIT_LOG,
].join(';\n');
