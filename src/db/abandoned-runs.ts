import { readOne, type BatchRead } from './batch-read.js';
import type { Client } from './connect.js';
import { tablesPresent, type TablesPresent } from './guard-tables.js';
import { MIGRATION_LOCK_ID } from './lock.js';

/**
 * Runs that died without a word (SIGKILL, a lost runner): their row in migration_guard.runs still
 * says `running` but the session that ran them is gone. A run is alive while its session (pid and
 * start time, recorded when the row opened) still exists and is the run's (holds the lock or is at
 * work): a killed client's backend may go on running, and in per-file mode committing, what it was
 * sent, holding the lock meanwhile; a session pooler may keep the session, idle, after the client died.
 */
export interface AbandonedRun {
  id: number;
  command: string;
  environment: string;
  transactionMode: string | null;
  startedAt: string;
  sessionPid: number | null;
  actor: string | null;
  runUrl: string | null;
  /** Versions the history shows this run applied (its history rows name it). */
  applied: string[];
  /** Its session still exists, idle and without the lock (a session pooler kept it). */
  sessionLingers: boolean;
  /** Whether this run closed the row as `abandoned` (false: only reported, e.g. by status). */
  closed: boolean;
}

/** The migration lock is held by a session matching `who` (an SQL condition on l.pid). $2 is the lock id. */
const lockHeldBy = (who: string) => `EXISTS (
  SELECT 1 FROM pg_locks l
   WHERE l.locktype = 'advisory' AND l.granted AND ${who}
     AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
     AND l.classid = ($2::bigint >> 32)::oid AND l.objid = ($2::bigint & 4294967295)::oid AND l.objsubid = 1)`;

/** Some session other than this one holds the migration lock. */
const LOCK_HELD = lockHeldBy('l.pid <> pg_backend_pid()');

/**
 * The run's own session still exists (a pid reused by a later session does not count) and is
 * still the run's: it holds the lock or is at work. An idle session without the lock is one a
 * session pooler kept after the client died. A session of another role may hide its start time
 * and state: then the pid alone keeps the run alive.
 */
const SESSION_ALIVE = `EXISTS (
  SELECT 1 FROM pg_stat_activity a
   WHERE a.pid = r.session_pid
     AND (a.backend_start IS NULL OR r.session_started IS NULL OR a.backend_start = r.session_started)
     AND (a.state IS DISTINCT FROM 'idle' OR ${lockHeldBy('l.pid = a.pid')}))`;

/**
 * The query for the database's shape: rows written before the session columns existed (or by a
 * version that did not fill them) are judged by the lock instead, since every run that writes a
 * row holds it: alive while some session holds it.
 */
function findSql(shape: { sessions: boolean; history: boolean }): string {
  const applied = shape.history
    ? `ARRAY(SELECT m.version FROM migration_guard.migrations m
              WHERE m.run_id = r.id AND m.method = 'applied'
                AND m.version IN (SELECT version FROM supabase_migrations.schema_migrations)
              ORDER BY m.applied_at, m.version)`
    : `'{}'::text[]`;
  const alive = shape.sessions
    ? `CASE WHEN r.session_pid IS NULL THEN ${LOCK_HELD} ELSE ${SESSION_ALIVE} END`
    : LOCK_HELD;
  return `SELECT r.id, r.command, r.environment, r.transaction_mode, r.started_at,
       ${shape.sessions ? 'r.session_pid' : 'NULL::int AS session_pid'}, r.actor, r.run_url, ${applied} AS applied,
       ${shape.sessions ? 'EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = r.session_pid AND a.backend_start = r.session_started)' : 'false'} AS session_lingers
  FROM migration_guard.runs r
 WHERE r.status = 'running' AND r.id <> ALL ($1::bigint[]) AND NOT (${alive})
 ORDER BY r.id`;
}

/**
 * Whether any run is recorded as running, as a read a session sends with others (batch-read.ts):
 * nearly always none is, and then findAbandonedRuns need not ask.
 */
export function openRunsRead(tables: Pick<TablesPresent, 'runs'>): BatchRead<boolean> {
  if (!tables.runs) return { value: false };
  return {
    sql: "SELECT EXISTS (SELECT 1 FROM migration_guard.runs WHERE status = 'running') AS any",
    answer: (rows) => rows[0].any === true,
  };
}

/**
 * Running rows whose session is gone; `except` are this run's own rows. Read-only. `present`: the
 * session's look at which tables exist (guard-tables.ts), else taken here; `anyOpen`: what
 * openRunsRead answered, when the session asked it already.
 */
export async function findAbandonedRuns(
  client: Client,
  except: number[] = [],
  present?: TablesPresent,
  anyOpen?: boolean,
): Promise<AbandonedRun[]> {
  const tables = present ?? (await tablesPresent(client));
  const shape = { sessions: tables.runSessions, history: tables.historyColumns !== undefined };
  if (!tables.runs) return [];
  // Nearly always no run is open: a plain look first, as planning the full query (the sessions
  // and locks of every open run) takes the server ~3 ms. (It counts `except` too: the full query
  // leaves them out.)
  if (!(anyOpen ?? (await readOne(client, openRunsRead(tables))))) return [];
  const found = await client.query(findSql(shape), [except, MIGRATION_LOCK_ID.toString()]);
  return found.rows.map(toAbandonedRun);
}

function toAbandonedRun(r: Record<string, unknown>): AbandonedRun {
  return {
    id: Number(r.id),
    command: String(r.command),
    environment: String(r.environment),
    transactionMode: (r.transaction_mode as string | null) ?? null,
    startedAt: (r.started_at as Date).toISOString(),
    sessionPid: (r.session_pid as number | null) ?? null,
    actor: (r.actor as string | null) ?? null,
    runUrl: (r.run_url as string | null) ?? null,
    applied: (r.applied as string[]) ?? [],
    sessionLingers: r.session_lingers === true,
    closed: false,
  };
}

/**
 * Closes abandoned rows as `abandoned` with what the history shows they applied. Only under the
 * migration lock (no live run can then be among them) and only rows still `running`.
 */
export async function closeAbandonedRuns(client: Client, runs: AbandonedRun[]): Promise<AbandonedRun[]> {
  const closed: AbandonedRun[] = [];
  for (const run of runs) {
    const { rowCount } = await client.query(
      `UPDATE migration_guard.runs
          SET status = 'abandoned', applied = $2::text[], finished_at = clock_timestamp(), error = $3,
              details = coalesce(details, '{}'::jsonb) || jsonb_build_object('abandoned',
                jsonb_build_object('detectedAt', clock_timestamp(), 'detectedBySession', pg_backend_pid()))
        WHERE id = $1 AND status = 'running'`,
      [run.id, run.applied, describeAbandonedRun(run)],
    );
    if (rowCount) closed.push({ ...run, closed: true });
  }
  return closed;
}

/** One line a person can act on: which run, when, and what it left applied. */
export function describeAbandonedRun(run: AbandonedRun): string {
  const who = [run.actor ? `by ${run.actor}` : undefined, run.runUrl ? `(${run.runUrl})` : undefined]
    .filter(Boolean)
    .join(' ');
  const mode = run.transactionMode ? `, ${run.transactionMode} mode` : '';
  const session =
    run.sessionPid === null
      ? 'no session holds the lock'
      : `its session (pid ${run.sessionPid}) ${run.sessionLingers ? 'is idle without the migration lock (a connection pooler kept it)' : 'is gone'}`;
  const applied = run.applied.length
    ? `the history shows it applied ${run.applied.join(', ')}`
    : 'the history shows it applied nothing';
  return `Run #${run.id} (${run.command} on ${run.environment}${mode}, started ${run.startedAt}${who ? ` ${who}` : ''}) ended without finishing: ${session}; ${applied}`;
}
