import { GuardError } from '../errors.js';
import type { Client } from './connect.js';
import { quoteIdent } from './ident.js';

/**
 * The shadow database's own bookkeeping: the schema that marks a database as prepared by `plan`
 * (so a later plan may reset it), the reset itself, roles, and the history copied from the target.
 */
export const SHADOW_MARKER_SCHEMA = 'migration_guard_shadow';

/** Schemas PostgreSQL owns in every database: never dropped, never counted as content. */
const SYSTEM_SCHEMAS = `nspname IN ('pg_catalog', 'information_schema', 'pg_toast')
  OR nspname LIKE 'pg_temp_%' OR nspname LIKE 'pg_toast_temp_%'`;

interface Identity {
  datname: string;
  oid: string;
  started: string;
}

const IDENTITY_SQL = `SELECT current_database() AS datname,
  (SELECT oid::text FROM pg_database WHERE datname = current_database()) AS oid,
  pg_postmaster_start_time()::text AS started`;

/**
 * Refuses a shadow connection that reaches the target database itself under another name (a
 * pooler, a DNS alias, an IP address): the same database in the same running server has the same
 * name, OID and server start time.
 */
export async function refuseSameDatabase(target: Client, shadow: Client, display: string): Promise<void> {
  const [a, b] = await Promise.all([
    target.query<Identity>(IDENTITY_SQL).then((r) => r.rows[0]),
    shadow.query<Identity>(IDENTITY_SQL).then((r) => r.rows[0]),
  ]);
  if (a.datname === b.datname && a.oid === b.oid && a.started === b.started) {
    throw new GuardError(
      'shadow-database',
      `shadow-database-url reaches the target database itself (${display}) under another address: plan resets the ` +
        'shadow database, so it must be a separate database. Nothing was changed.',
      {
        hint: 'Point shadow-database-url at a scratch database (an empty one, or one an earlier plan prepared).',
      },
    );
  }
}

export interface ShadowState {
  /** An earlier plan prepared it (the marker schema exists). */
  prepared: boolean;
  /** A few of the objects found in a database that is neither empty nor prepared. */
  content: string[];
}

/**
 * What the shadow database holds: nothing (a fresh database: only an empty `public` schema and
 * PL/pgSQL), our marker, or something else, which `plan` must never reset.
 */
export async function shadowState(client: Client): Promise<ShadowState> {
  const { rows } = await client.query<{ prepared: boolean; content: string[] | null }>(
    `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1) AS prepared,
       (SELECT array_agg(item ORDER BY item) FROM (
          SELECT 'schema ' || nspname AS item FROM pg_namespace
           WHERE NOT (${SYSTEM_SCHEMAS}) AND nspname <> 'public'
          UNION ALL
          SELECT 'relation ' || n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'public'
          UNION ALL
          SELECT 'function ' || n.nspname || '.' || p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
           WHERE n.nspname = 'public'
          UNION ALL
          SELECT 'type ' || n.nspname || '.' || t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
           WHERE n.nspname = 'public' AND t.typrelid = 0 AND t.typelem = 0
          UNION ALL
          SELECT 'extension ' || extname FROM pg_extension WHERE extname <> 'plpgsql'
          UNION ALL
          SELECT 'event trigger ' || evtname FROM pg_event_trigger
          LIMIT 6) items) AS content`,
    [SHADOW_MARKER_SCHEMA],
  );
  return { prepared: rows[0].prepared, content: rows[0].content ?? [] };
}

/**
 * Empties a shadow database an earlier plan prepared: every schema but PostgreSQL's own is dropped
 * with what it holds, extensions and event triggers too, and an empty `public` is created again.
 * One transaction: a failure leaves the shadow as it was.
 */
export async function resetShadow(client: Client): Promise<void> {
  const { rows } = await client.query<{ sql: string }>(
    `SELECT format('DROP EVENT TRIGGER IF EXISTS %I', evtname) AS sql FROM pg_event_trigger
     UNION ALL
     SELECT format('DROP PUBLICATION IF EXISTS %I', pubname) FROM pg_publication
     UNION ALL
     SELECT format('DROP SCHEMA IF EXISTS %I CASCADE', nspname) FROM pg_namespace WHERE NOT (${SYSTEM_SCHEMAS})
     UNION ALL
     SELECT format('DROP EXTENSION IF EXISTS %I CASCADE', extname) FROM pg_extension WHERE extname <> 'plpgsql'`,
  );
  await client.query(['BEGIN', ...rows.map((r) => r.sql), 'CREATE SCHEMA public', 'COMMIT'].join(';\n'));
}

/** Marks the shadow as ours, so the next plan may reset it: which target it copies, and when. */
export async function markShadow(client: Client, targetDisplay: string, toolVersion: string): Promise<void> {
  await client.query(
    `CREATE SCHEMA IF NOT EXISTS ${SHADOW_MARKER_SCHEMA};
     COMMENT ON SCHEMA ${SHADOW_MARKER_SCHEMA} IS 'A shadow database prepared by supabase-migration-guard plan: reset on every plan.';
     CREATE TABLE IF NOT EXISTS ${SHADOW_MARKER_SCHEMA}.prepared (target text NOT NULL, tool_version text NOT NULL, prepared_at timestamptz NOT NULL DEFAULT now());`,
  );
  await client.query(`INSERT INTO ${SHADOW_MARKER_SCHEMA}.prepared (target, tool_version) VALUES ($1, $2)`, [
    targetDisplay,
    toolVersion,
  ]);
}

/**
 * The roles the target's schema names: owners and grantees of its objects (pg_shdepend, this
 * database only) and the bootstrap superuser, whose ownership pg_shdepend does not record.
 */
export async function rolesNamedBy(target: Client): Promise<string[]> {
  const { rows } = await target.query<{ rolname: string }>(
    `SELECT rolname FROM pg_roles r
      WHERE rolname !~ '^pg_' AND (r.oid = 10 OR EXISTS (
        SELECT 1 FROM pg_shdepend d
         WHERE d.refclassid = 'pg_authid'::regclass AND d.refobjid = r.oid
           AND d.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())))
      ORDER BY 1`,
  );
  return rows.map((r) => r.rolname);
}

export interface ShadowRoles {
  /** The shadow's user is a superuser: owners can be kept as on the target. */
  superuser: boolean;
  created: string[];
  /** Roles the schema names that are missing in the shadow and could not be created. */
  missing: string[];
}

/**
 * Creates, in the shadow's server, the roles the target's schema names and the shadow lacks: as
 * NOLOGIN roles without any attribute, so they can own objects and receive grants but never be
 * used to connect. Roles belong to the whole server, so these outlive the shadow database.
 */
export async function createMissingRoles(shadow: Client, needed: string[]): Promise<ShadowRoles> {
  const { rows } = await shadow.query<{ superuser: boolean; createrole: boolean; existing: string[] | null }>(
    `SELECT rolsuper AS superuser, rolcreaterole AS createrole,
            (SELECT array_agg(rolname::text) FROM pg_roles WHERE rolname = ANY ($1::text[])) AS existing
       FROM pg_roles WHERE rolname = current_user`,
    [needed],
  );
  const { superuser, createrole } = rows[0];
  const existing = new Set(rows[0].existing ?? []);
  const absent = needed.filter((name) => !existing.has(name));
  if (absent.length === 0 || !(superuser || createrole)) return { superuser, created: [], missing: absent };
  const created: string[] = [];
  const missing: string[] = [];
  for (const name of absent) {
    try {
      await shadow.query(`CREATE ROLE ${quoteIdent(name)} NOLOGIN`);
      created.push(name);
    } catch {
      // Created meanwhile by someone else, or refused: either way it is not ours to report as made.
      missing.push(name);
    }
  }
  const recheck = await shadow.query<{ rolname: string }>(
    'SELECT rolname FROM pg_roles WHERE rolname = ANY ($1::text[])',
    [missing],
  );
  const nowThere = new Set(recheck.rows.map((r) => r.rolname));
  return { superuser, created, missing: missing.filter((m) => !nowThere.has(m)) };
}

/**
 * Copies the target's history rows into the shadow (whatever columns its history table has), so
 * the shadow counts as pending exactly the files the target does. The table itself came with the
 * schema; when the target has none, the shadow gets the Supabase CLI's.
 */
export async function copyHistory(
  target: Client,
  shadow: Client,
  createHistory: readonly string[],
): Promise<number> {
  const { rows: exists } = await target.query<{ t: string | null }>(
    "SELECT to_regclass('supabase_migrations.schema_migrations')::text AS t",
  );
  if (exists[0].t === null) {
    await shadow.query(createHistory.join(';\n'));
    return 0;
  }
  const { rows } = await target.query<{ rows: unknown[] }>(
    "SELECT coalesce(jsonb_agg(to_jsonb(h)), '[]'::jsonb) AS rows FROM supabase_migrations.schema_migrations h",
  );
  await shadow.query(
    `INSERT INTO supabase_migrations.schema_migrations
     SELECT * FROM jsonb_populate_recordset(NULL::supabase_migrations.schema_migrations, $1::jsonb)`,
    [JSON.stringify(rows[0].rows)],
  );
  return rows[0].rows.length;
}
