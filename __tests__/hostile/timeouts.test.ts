import { describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { setTimeout as sleep } from 'node:timers/promises';
import { executeUnits, type ExecuteOptions } from '../../src/engine/execute.js';
import type { RunResult } from '../../src/engine/result.js';
import { prepareMigrations } from '../../src/engine/prepare.js';
import { StatementRunner } from '../../src/engine/statement-runner.js';
import { buildExecutionPlan } from '../../src/engine/units.js';
import { silentLogger } from '../../src/logger.js';
import { renderSummary } from '../../src/report/summary.js';
import {
  databaseState,
  databasesFor,
  query,
  testServers,
  withPg,
  migrationLockIsFree,
} from '../helpers/db.js';
import { migrationOf, migrationsDir } from '../helpers/migrations.js';
import { runGuard } from '../helpers/run.js';

/**
 * A file must not switch off the engine's lock and statement timeouts: the forms real histories
 * carry (a `supabase db pull` / pg_dump header) and the other ways to change a setting. Each
 * `lines` lists the statements a warning must name.
 */
const FORMS = [
  {
    form: 'pg_dump header',
    sql: 'SET statement_timeout = 0;\nSET lock_timeout = 0;\n',
    lines: [1, 2],
    says: /sets lock_timeout for the session/,
  },
  { form: 'RESET ALL', sql: 'RESET ALL;\n', lines: [1], says: /resets every setting/ },
  {
    form: 'SET LOCAL',
    sql: "SET LOCAL lock_timeout = '0';\n",
    lines: [1],
    says: /sets lock_timeout for the rest of the transaction/,
  },
  {
    form: 'set_config',
    sql: "select set_config('lock_timeout','0',false);\n",
    lines: [1],
    says: /sets lock_timeout with set_config/,
  },
];

const LOCK_TIMEOUT_MS = 1000;
/** What the issue demands: an application query waits at most the lock timeout and half a second. */
const APP_WAIT_BOUND_MS = LOCK_TIMEOUT_MS + 500;
const FAST = { 'lock-timeout': '1s', 'lock-retries': '3' };
const FAST_RETRIES = { overrides: { lockRetryBaseMs: 100 } };

const lockIsFree = migrationLockIsFree;

/** A report query holding its transaction open on `t` (an ACCESS SHARE lock), until released. */
async function longReader(url: string, waitFor?: string) {
  const client = new pg.Client({ connectionString: url, application_name: 'long-reader' });
  await client.connect();
  let released = false;
  const hold = (async () => {
    // Only the real pass commits `waitFor`: the reader starts after the rehearsal.
    for (let i = 0; waitFor && i < 2000; i++) {
      const { rows } = await client.query('select to_regclass($1) is not null as there', [waitFor]);
      if (rows[0].there) break;
      await sleep(10);
    }
    await client.query('begin');
    await client.query('select count(*) from t');
  })();
  return {
    holding: hold,
    release: async () => {
      if (released) return;
      released = true;
      await hold.catch(() => {});
      await client.query('commit').catch(() => {});
      await client.end();
    },
  };
}

/** Waits until some session queues for a lock on `t` (the migration, blocked by the reader). */
async function migrationQueued(url: string): Promise<void> {
  await withPg(url, async (c) => {
    for (let i = 0; i < 1000; i++) {
      const { rows } = await c.query(
        "select count(*)::int as n from pg_locks where relation = 't'::regclass and not granted",
      );
      if (rows[0].n > 0) return;
      await sleep(10);
    }
    throw new Error('the migration never queued for a lock on t');
  });
}

/**
 * The application's query, timed. Its own 5 s statement timeout keeps a broken engine (whose ALTER
 * would wait forever) from hanging the test: it then measures 5 s.
 */
async function applicationSelectMs(url: string): Promise<number> {
  const app = new pg.Client({ connectionString: url, application_name: 'app', statement_timeout: 5000 });
  await app.connect();
  try {
    const started = performance.now();
    await app.query('select * from t').catch(() => {});
    return performance.now() - started;
  } finally {
    await app.end();
  }
}

async function columnsOf(url: string, table: string): Promise<string[]> {
  const rows = await query<{ c: string }>(
    url,
    'select column_name as c from information_schema.columns where table_name = $1 order by ordinal_position',
    [table],
  );
  return rows.map((r) => r.c);
}

async function history(url: string): Promise<string[]> {
  const rows = await query<{ version: string }>(
    url,
    'select version from supabase_migrations.schema_migrations order by 1',
  ).catch(() => []); // no history table yet
  return rows.map((r) => r.version);
}

describe.each(testServers())('a file cannot switch off the timeouts, on $name', (server) => {
  const newDb = databasesFor(server);

  async function withTable() {
    const db = await newDb();
    await query(db.url, 'create table t (id int primary key); insert into t values (1), (2)');
    return db;
  }

  function expectWarnings(result: RunResult, logs: string[], file: string, form: (typeof FORMS)[number]) {
    const warnings = result.findings.filter((f) => f.code === 'timeout-setting');
    expect(warnings.map((f) => f.message.split(': ')[0])).toEqual(
      form.lines.map((line) => `${file}:${line}`),
    );
    expect(warnings[warnings.length - 1].message).toMatch(
      /ignored: the run's lock_timeout \(1s\) and statement_timeout \(off\) are set again right after it and between files/,
    );
    if (form.lines.length === 1) expect(warnings[0].message).toMatch(form.says);
    for (const w of warnings) expect(logs).toContain(`warn: ${w.message}`);
    const summary = renderSummary(result);
    for (const w of warnings) expect(summary).toContain(`- ⚠️ ${w.message}`);
  }

  describe.each(FORMS)('$form', (form) => {
    it('apply, all mode: the ALTER after it gives up after the lock timeout and retries; the application waits no longer', async () => {
      const db = await withTable();
      const dir = migrationsDir({
        '1_remote_schema.sql': `${form.sql}alter table t add column a int;\n`,
        '2_later.sql': 'alter table t add column b int;\n',
      });
      const reader = await longReader(db.url);
      try {
        await reader.holding;
        const run = runGuard('apply', db.url, dir, FAST, FAST_RETRIES);
        await migrationQueued(db.url);
        const waitedMs = await applicationSelectMs(db.url);
        await reader.release();
        const { result, logs } = await run;
        expect(waitedMs).toBeLessThanOrEqual(APP_WAIT_BOUND_MS);
        expect(result.status).toBe('success');
        expect(result.applied).toEqual(['1', '2']);
        expect(result.lock?.retries.length).toBeGreaterThanOrEqual(1);
        expect(result.lock?.retries[0].blocker).toMatch(/"long-reader"/);
        expectWarnings(result, logs, `${dir}/1_remote_schema.sql`, form);
        expect(await columnsOf(db.url, 't')).toEqual(['id', 'a', 'b']);
        expect(await history(db.url)).toEqual(['1', '2']);
        expect(await query(db.url, 'select status, applied from migration_guard.runs')).toEqual([
          { status: 'success', applied: ['1', '2'] },
        ]);
        expect(await lockIsFree(db.url)).toBe(true);
      } finally {
        await reader.release();
      }
    });

    it('apply, per-file mode: the file’s own transaction in the chain keeps the lock timeout', async () => {
      const db = await withTable();
      // The reader takes its lock once file 1 is committed (the real pass, not the rehearsal), while
      // file 2 sleeps.
      const dir = migrationsDir({
        '1_marker.sql': 'create table marker (id int);\n',
        '2_remote_schema.sql': `${form.sql}select pg_sleep(0.5);\nalter table t add column a int;\n`,
        '3_later.sql': 'alter table t add column b int;\n',
      });
      const reader = await longReader(db.url, 'marker');
      try {
        const run = runGuard('apply', db.url, dir, { ...FAST, 'transaction-mode': 'per-file' }, FAST_RETRIES);
        await migrationQueued(db.url);
        const waitedMs = await applicationSelectMs(db.url);
        await reader.release();
        const { result, logs } = await run;
        expect(waitedMs).toBeLessThanOrEqual(APP_WAIT_BOUND_MS);
        expect(result.status).toBe('success');
        expect(result.applied).toEqual(['1', '2', '3']);
        expect(result.lock?.retries.length).toBeGreaterThanOrEqual(1);
        expect(result.lock?.retries[0].message).toMatch(/lock timeout/);
        expectWarnings(result, logs, `${dir}/2_remote_schema.sql`, form);
        expect(await columnsOf(db.url, 't')).toEqual(['id', 'a', 'b']);
        expect(await history(db.url)).toEqual(['1', '2', '3']);
        expect(await query(db.url, 'select status, applied from migration_guard.runs')).toEqual([
          { status: 'success', applied: ['1', '2', '3'] },
        ]);
        expect(await lockIsFree(db.url)).toBe(true);
      } finally {
        await reader.release();
      }
    });

    it('apply, per-file mode: the rehearsal keeps the lock timeout, fails there and changes nothing', async () => {
      const db = await withTable();
      const dir = migrationsDir({
        '1_remote_schema.sql': form.sql,
        '2_alter.sql': 'alter table t add column a int;\n',
      });
      const before = await databaseState(db.url);
      const reader = await longReader(db.url);
      try {
        await reader.holding;
        const run = runGuard('apply', db.url, dir, { ...FAST, 'transaction-mode': 'per-file' }, FAST_RETRIES);
        await migrationQueued(db.url);
        const waitedMs = await applicationSelectMs(db.url);
        await reader.release();
        const { result, logs } = await run;
        expect(waitedMs).toBeLessThanOrEqual(APP_WAIT_BOUND_MS);
        expect(result.status).toBe('failed');
        expect(result.error).toMatchObject({ sqlstate: '55P03', file: `${dir}/2_alter.sql`, line: 1 });
        expect(result.message).toMatch(/lock timeout.*The rehearsal found this before anything was applied/);
        expectWarnings(result, logs, `${dir}/1_remote_schema.sql`, form);
        expect(await databaseState(db.url)).toEqual(before);
        expect(await query(db.url, 'select status, applied from migration_guard.runs')).toEqual([
          { status: 'failed', applied: [] },
        ]);
        expect(await lockIsFree(db.url)).toBe(true);
        // Once the reader is gone, the same files apply.
        const again = await runGuard('apply', db.url, dir, { ...FAST, 'transaction-mode': 'per-file' });
        expect(again.result.status).toBe('success');
        expect(await columnsOf(db.url, 't')).toEqual(['id', 'a']);
      } finally {
        await reader.release();
      }
    });

    it('plan: the rehearsal on the target keeps the lock timeout, reports it and changes nothing', async () => {
      const db = await withTable();
      const dir = migrationsDir({
        '1_remote_schema.sql': `${form.sql}alter table t add column a int;\n`,
      });
      const before = await databaseState(db.url);
      const reader = await longReader(db.url);
      try {
        await reader.holding;
        const run = runGuard('plan', db.url, dir, FAST);
        await migrationQueued(db.url);
        const waitedMs = await applicationSelectMs(db.url);
        await reader.release();
        const { result, logs } = await run;
        expect(waitedMs).toBeLessThanOrEqual(APP_WAIT_BOUND_MS);
        expect(result.status).toBe('failed');
        const alterLine = form.sql.split('\n').length;
        expect(result.error).toMatchObject({ sqlstate: '55P03', line: alterLine });
        expect(result.message).toMatch(/lock timeout.*apply would fail here; nothing was changed/);
        expectWarnings(result, logs, `${dir}/1_remote_schema.sql`, form);
        expect(await databaseState(db.url)).toEqual(before);
        expect(await lockIsFree(db.url)).toBe(true);
      } finally {
        await reader.release();
      }
    });

    it('apply: a statement that runs outside a transaction keeps the lock timeout after it', async () => {
      const db = await withTable();
      const dir = migrationsDir({ '1_remote_schema.sql': `${form.sql}vacuum full t;\n` });
      const reader = await longReader(db.url);
      try {
        await reader.holding;
        const run = runGuard('apply', db.url, dir, FAST, FAST_RETRIES);
        await migrationQueued(db.url);
        const waitedMs = await applicationSelectMs(db.url);
        await reader.release();
        const { result, logs } = await run;
        expect(waitedMs).toBeLessThanOrEqual(APP_WAIT_BOUND_MS);
        // Outside a transaction a lock timeout is retried like a transaction's (with backoff), and
        // the run goes through once the reader is gone; meanwhile the application never waited
        // longer than the lock timeout.
        const vacuumLine = form.sql.split('\n').length;
        expect(result.status).toBe('success');
        expect(result.lock?.retries.length).toBeGreaterThanOrEqual(1);
        expect(result.lock?.retries[0].message).toMatch(/lock timeout/);
        expect(logs.join('\n')).toMatch(
          new RegExp(`1_remote_schema\\.sql:${vacuumLine}: no lock within 1000 ms`),
        );
        expectWarnings(result, logs, `${dir}/1_remote_schema.sql`, form);
        expect(await history(db.url)).toEqual(['1']);
        expect(await query(db.url, 'select status from migration_guard.runs')).toEqual([
          { status: 'success' },
        ]);
        expect(await lockIsFree(db.url)).toBe(true);
      } finally {
        await reader.release();
      }
    });
  });

  describe('statement_timeout', () => {
    const files = {
      '1_remote_schema.sql': 'SET statement_timeout = 0;\nSET lock_timeout = 0;\n',
      '2_slow.sql': 'create table slow (id int);\nselect pg_sleep(3);\n',
    };
    const inputs = { 'statement-timeout': '1s' };

    it.each([['all'], ['per-file']])(
      'apply, %s mode: a later slow statement is still cancelled at statement-timeout, and nothing is left',
      async (mode) => {
        const db = await newDb();
        const dir = migrationsDir(files);
        const before = await databaseState(db.url);
        const { result } = await runGuard('apply', db.url, dir, { ...inputs, 'transaction-mode': mode });
        expect(result.status).toBe(mode === 'all' ? 'rolled-back' : 'failed');
        expect(result.error).toMatchObject({ sqlstate: '57014', file: `${dir}/2_slow.sql`, line: 2 });
        expect(result.message).toMatch(/statement timeout/);
        expect(result.findings.map((f) => f.message)).toEqual([
          expect.stringMatching(
            /1_remote_schema\.sql:1: `SET statement_timeout = 0` sets statement_timeout for the session; ignored: the run's lock_timeout \(2s\) and statement_timeout \(1s\)/,
          ),
          expect.stringMatching(/1_remote_schema\.sql:2: `SET lock_timeout = 0` sets lock_timeout/),
        ]);
        expect(await databaseState(db.url)).toEqual(before);
        expect(await lockIsFree(db.url)).toBe(true);
      },
    );

    it('plan: the rehearsal cancels the slow statement too', async () => {
      const db = await newDb();
      const dir = migrationsDir(files);
      const before = await databaseState(db.url);
      const { result } = await runGuard('plan', db.url, dir, inputs);
      expect(result.status).toBe('failed');
      expect(result.error).toMatchObject({ sqlstate: '57014', file: `${dir}/2_slow.sql`, line: 2 });
      expect(await databaseState(db.url)).toEqual(before);
    });
  });

  it('later statements and files see the engine values, whatever a file set (all and per-file)', async () => {
    for (const mode of ['all', 'per-file']) {
      const db = await newDb();
      const observe = (table: string) =>
        `create table ${table} as select current_setting('lock_timeout') as lock, current_setting('statement_timeout') as stmt;\n`;
      const dir = migrationsDir({
        '1_loosen.sql': `SET lock_timeout = '7s';\nSET LOCAL statement_timeout = '9s';\n${observe('seen_same_file')}`,
        '2_reset.sql': `RESET ALL;\nselect set_config('statement_timeout', '9s', false);\n${observe('seen_next_file')}`,
      });
      const { result } = await runGuard('apply', db.url, dir, {
        'transaction-mode': mode,
        'lock-timeout': '1500ms',
        'statement-timeout': '30s',
      });
      expect(result.status).toBe('success');
      for (const table of ['seen_same_file', 'seen_next_file'])
        expect(await query(db.url, `select lock, stmt from ${table}`)).toEqual([
          { lock: '1500ms', stmt: '30s' },
        ]);
    }
  });

  it('a session-level SET does not outlive its transaction on the connection (SHOW after the run)', async () => {
    const db = await newDb();
    const prepared = await prepareMigrations([
      migrationOf('1', "SET lock_timeout = '7s';\nSET statement_timeout = '9s';\ncreate table a (id int);"),
      migrationOf('2', "select set_config('lock_timeout', '8s', false);\ncreate table b (id int);"),
    ]);
    for (const mode of ['all', 'per-file'] as const) {
      await withPg(db.url, async (client) => {
        const runner = new StatementRunner(client, { lockTimeoutMs: 1000 });
        const options: ExecuteOptions = {
          runner,
          logger: silentLogger,
          lockTimeoutMs: 1000,
          statementTimeoutMs: 20_000,
          lockRetries: 0,
          record: async () => {},
          chain:
            mode === 'per-file'
              ? {
                  stage: async () => {},
                  unstage: async () => {},
                  recordSql: () => 'select 0 as duration_ms',
                  markStart: 'now()',
                }
              : undefined,
        };
        const outcome = await executeUnits(buildExecutionPlan(prepared, mode).units, options);
        expect(outcome.failure).toBeUndefined();
        const show = async (name: string) => (await client.query(`SHOW ${name}`)).rows[0][name];
        // The values the session had before the run (the server's defaults), not the file's.
        expect([await show('lock_timeout'), await show('statement_timeout')]).toEqual(['0', '0']);
        await client.query('drop table a, b');
      });
    }
  });

  it('a change no parser can see (a function defined earlier) lasts only until the end of its own file', async () => {
    const db = await withTable();
    await query(
      db.url,
      "create function loosen() returns void language sql as $$ select set_config('lock' || '_timeout', '0', false) $$",
    );
    const dir = migrationsDir({
      '1_calls.sql': 'select loosen();\n',
      '2_alter.sql': 'alter table t add column a int;\n',
    });
    for (const command of ['plan', 'apply']) {
      const reader = await longReader(db.url);
      try {
        await reader.holding;
        const run = runGuard(command, db.url, dir, FAST, FAST_RETRIES);
        await migrationQueued(db.url);
        const waitedMs = await applicationSelectMs(db.url);
        await reader.release();
        const { result } = await run;
        expect(waitedMs).toBeLessThanOrEqual(APP_WAIT_BOUND_MS);
        expect(result.findings).toEqual([]); // nothing in the files says so
        if (command === 'plan') {
          expect(result.error).toMatchObject({ sqlstate: '55P03', file: `${dir}/2_alter.sql` });
        } else {
          expect(result.status).toBe('success');
          expect(await columnsOf(db.url, 't')).toEqual(['id', 'a']);
          expect(await history(db.url)).toEqual(['1', '2']);
        }
      } finally {
        await reader.release();
      }
    }
  });
});
