/**
 * Fault injection: after every fault the database is either exactly as before the run or exactly
 * fully applied, the migration lock is free, and the message says what happened.
 */
import { describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { MIGRATION_LOCK_ID } from '../../src/db/lock.js';
import {
  databaseState,
  query,
  testServers,
  databasesFor,
  migrationLockIsFree,
  waitForMigrationQuery,
} from '../helpers/db.js';
import { addFiles, migrationsDir } from '../helpers/migrations.js';
import { startProxy } from '../helpers/proxy.js';
import { runGuard } from '../helpers/run.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const lockIsFree = migrationLockIsFree;

/** Waits until a session of ours is running a statement that matches `pattern`; returns its pid. */
const waitForQuery = waitForMigrationQuery;

describe.each(testServers())('faults on $name', (server) => {
  const newDb = databasesFor(server);

  /** A database with one applied migration and some data, and a folder to add files to. */
  async function baseline() {
    const db = await newDb();
    const dir = migrationsDir({
      '1_base.sql':
        'create table accounts (id int primary key, name text);\ninsert into accounts values (1, $$a$$), (2, $$b$$);\ncreate sequence flaky;',
      '1_base.down.sql': 'drop table accounts;\ndrop sequence flaky;',
    });
    expect((await runGuard('apply', db.url, dir)).result.status).toBe('success');
    return { db, dir };
  }

  const pendingWithDowns = {
    '2_add_email.sql':
      // The backfill has no WHERE on purpose: accepted, so apply's destructive-change guard lets it through.
      'alter table accounts add column email text;\nupdate accounts set email = name || $$@example.com$$;',
    '2_add_email.down.sql': 'alter table accounts drop column email;',
    '3_audit.sql': 'create table audit (id serial primary key, at timestamptz default now());',
    '3_audit.down.sql': 'drop table audit;',
    // Passes the rehearsal (sequence value 1), fails for real (value 2): a failure only a real run can hit.
    '4_flaky.sql': 'create table flaky_marker (id int);\nselect 1 / (nextval($$flaky$$) - 2);',
    '4_flaky.down.sql': 'drop table flaky_marker;',
    '5_later.sql': 'create table later (id int);',
  };

  it.each(['all', 'per-file'])(
    'failing migration k of N with down files (%s mode): the database is as before',
    async (mode) => {
      const { db, dir } = await baseline();
      // per-file rehearses first (the sequence's first value); all mode runs the statement once.
      const flaky =
        mode === 'all' ? 'select 1 / (nextval($$flaky$$) - 1);' : 'select 1 / (nextval($$flaky$$) - 2);';
      addFiles(dir, { ...pendingWithDowns, '4_flaky.sql': `create table flaky_marker (id int);\n${flaky}` });
      const before = await databaseState(db.url);
      const { result } = await runGuard('apply', db.url, dir, { 'transaction-mode': mode });
      expect(result.status).toBe('rolled-back');
      expect(result.error).toMatchObject({
        sqlstate: '22012',
        file: expect.stringContaining('4_flaky.sql'),
        line: 2,
      });
      if (mode === 'per-file') {
        expect(result.rollback).toMatchObject({ kind: 'automatic', succeeded: true, reverted: ['3', '2'] });
        expect(result.message).toMatch(
          /The run was rolled back \(files committed earlier in this run, 3, 2, were reverted by their down migrations\)/,
        );
      }
      expect(result.migrations.map((m) => m.status)).toEqual([
        'rolled-back',
        'rolled-back',
        'failed',
        'not-run',
      ]);
      expect(await databaseState(db.url)).toEqual(before);
      expect(await lockIsFree(db.url)).toBe(true);
    },
  );

  it('failing migration k of N without down files in per-file mode: stops and says exactly what is applied', async () => {
    const { db, dir } = await baseline();
    const files = Object.fromEntries(
      Object.entries(pendingWithDowns).filter(([name]) => name !== '3_audit.down.sql'),
    );
    addFiles(dir, files);
    const { result } = await runGuard('apply', db.url, dir, { 'transaction-mode': 'per-file' });
    expect(result.status).toBe('failed');
    expect(result.rollback).toMatchObject({ succeeded: false, stillApplied: ['2', '3'] });
    expect(result.rollback?.error?.message).toMatch(/No down migration for 3/);
    expect(result.message).toMatch(
      /Applied and NOT reverted: 2, 3\. Add the missing down migration\(s\) and run rollback with count: 2/,
    );
    expect(
      (await query(db.url, 'select version from supabase_migrations.schema_migrations order by 1')).map(
        (r) => r.version,
      ),
    ).toEqual(['1', '2', '3']);
    expect(await lockIsFree(db.url)).toBe(true);
  });

  it('a failing verify script fails the run and leaves nothing behind', async () => {
    const { db, dir } = await baseline();
    addFiles(dir, {
      '2_add_email.sql': 'alter table accounts add column email text;',
      '2_add_email.verify.sql':
        "do $$ begin\n  if exists (select 1 from accounts where email is null) then\n    raise exception 'accounts without email';\n  end if;\nend $$;",
    });
    const before = await databaseState(db.url);
    const { result } = await runGuard('apply', db.url, dir);
    expect(result.status).toBe('rolled-back');
    expect(result.error?.message).toMatch(/^verify script failed: accounts without email/);
    expect(result.error?.file).toMatch(/2_add_email\.verify\.sql$/);
    expect(await databaseState(db.url)).toEqual(before);
  });

  it('a passing verify script runs inside the migration transaction', async () => {
    const { db, dir } = await baseline();
    addFiles(dir, {
      '2_add_email.sql': "alter table accounts add column email text not null default 'x';",
      '2_add_email.verify.sql': "select 1 / (select count(*) from accounts where email = 'x')::int;",
    });
    const { result } = await runGuard('apply', db.url, dir);
    expect(result.status).toBe('success');
  });

  it('the server killing the connection mid-run (pg_terminate_backend) leaves nothing half done; the next run completes', async () => {
    const { db, dir } = await baseline();
    addFiles(dir, {
      '2_slow.sql': 'create table slow (id int);\nselect pg_sleep(30);',
      '3_after.sql': 'create table after_slow (id int);',
    });
    const before = await databaseState(db.url);
    const run = runGuard('apply', db.url, dir);
    const pid = await waitForQuery(db.url, '%pg_sleep(30)%');
    await query(db.url, 'select pg_terminate_backend($1)', [pid]);
    const { result, logs } = await run;
    expect(result.status).toBe('rolled-back');
    expect(logs.join('\n')).toMatch(/connection was lost/);
    expect(await databaseState(db.url)).toEqual(before);
    expect(await lockIsFree(db.url)).toBe(true);
    const runs = await query(db.url, 'select status from migration_guard.runs order by id desc limit 1');
    expect(runs).toEqual([{ status: 'rolled-back' }]);

    addFiles(dir, { '2_slow.sql': 'create table slow (id int);' });
    const again = await runGuard('apply', db.url, dir);
    expect(again.result.status).toBe('success');
    expect(again.result.applied).toEqual(['2', '3']);
  });

  it('a network drop (loopback proxy cutting the TCP connection) leaves nothing half done; the next run completes', async () => {
    const { db, dir } = await baseline();
    const port = Number(new URL(db.url).port);
    const proxy = await startProxy(port);
    try {
      const viaProxy = proxy.url(db.url);
      addFiles(dir, { '2_slow.sql': 'create table slow (id int);\nselect pg_sleep(30);' });
      const before = await databaseState(db.url);
      const run = runGuard('apply', viaProxy, dir);
      const pid = await waitForQuery(db.url, '%pg_sleep(30)%');
      proxy.dropAll();
      const { result } = await run;
      expect(result.status).toBe('rolled-back');
      // The server notices the dead client when the sleep ends; end it now rather than wait.
      await query(db.url, 'select pg_cancel_backend($1)', [pid]);
      for (let i = 0; i < 100 && !(await lockIsFree(db.url)); i++) await sleep(50);
      expect(await lockIsFree(db.url)).toBe(true);
      expect(await databaseState(db.url)).toEqual(before);
      addFiles(dir, { '2_slow.sql': 'create table slow (id int);' });
      const again = await runGuard('apply', viaProxy, dir);
      expect(again.result.status).toBe('success');
    } finally {
      await proxy.close();
    }
  });

  it('an abort (what SIGTERM triggers) cancels the running statement, rolls back, records the cancellation and frees the lock', async () => {
    const { db, dir } = await baseline();
    addFiles(dir, { '2_slow.sql': 'create table slow (id int);\nselect pg_sleep(30);' });
    const before = await databaseState(db.url);
    const controller = new AbortController();
    const run = runGuard('apply', db.url, dir, {}, { signal: controller.signal });
    await waitForQuery(db.url, '%pg_sleep(30)%');
    controller.abort('SIGTERM');
    const { result } = await run;
    expect(result.status).toBe('cancelled');
    expect(result.cancelled).toBe(true);
    expect(result.message).toMatch(/^Cancelled \(SIGTERM\)/);
    expect(await databaseState(db.url)).toEqual(before);
    expect(await lockIsFree(db.url)).toBe(true);
    expect(await query(db.url, 'select status from migration_guard.runs order by id desc limit 1')).toEqual([
      { status: 'cancelled' },
    ]);
  });

  it("an abort while waiting for another run's lock stops the wait and changes nothing", async () => {
    const { db, dir } = await baseline();
    addFiles(dir, { '2_two.sql': 'create table two (id int);' });
    const holder = new pg.Client({ connectionString: db.url, application_name: 'other-run' });
    await holder.connect();
    try {
      await holder.query('select pg_advisory_lock($1::bigint)', [MIGRATION_LOCK_ID.toString()]);
      const before = await databaseState(db.url);
      const controller = new AbortController();
      const run = runGuard(
        'apply',
        db.url,
        dir,
        { 'run-lock-timeout': '10m' },
        { signal: controller.signal },
      );
      for (let i = 0; i < 200; i++) {
        const waiting = await query(
          db.url,
          "select 1 from pg_stat_activity where query like '%pg_advisory_lock(%' and wait_event_type = 'Lock' and pid <> pg_backend_pid()",
        );
        if (waiting.length) break;
        await sleep(25);
      }
      controller.abort('SIGTERM');
      const { result } = await run;
      expect(result.status).toBe('cancelled');
      expect(result.message).toMatch(
        /^Cancelled \(SIGTERM\) while waiting for the migration lock; nothing was changed/,
      );
      expect(await databaseState(db.url)).toEqual(before);
    } finally {
      await holder.end();
    }
  });

  it('five concurrent applies apply every migration exactly once', async () => {
    const { db, dir } = await baseline();
    addFiles(dir, {
      '2_two.sql': 'create table two (id int);\nselect pg_sleep(0.3);',
      '3_three.sql': 'insert into accounts values (3, $$c$$);',
    });
    const runs = await Promise.all([1, 2, 3, 4, 5].map(() => runGuard('apply', db.url, dir)));
    expect(runs.map((r) => r.result.status).sort()).toEqual([
      'nothing-to-do',
      'nothing-to-do',
      'nothing-to-do',
      'nothing-to-do',
      'success',
    ]);
    expect(await query(db.url, 'select count(*)::int as n from accounts')).toEqual([{ n: 3 }]);
    expect(
      (await query(db.url, 'select version from supabase_migrations.schema_migrations order by 1')).map(
        (r) => r.version,
      ),
    ).toEqual(['1', '2', '3']);
    expect(await lockIsFree(db.url)).toBe(true);
  });

  async function holdTableLock(url: string) {
    const blocker = new pg.Client({ connectionString: url, application_name: 'long-report-query' });
    await blocker.connect();
    await blocker.query('begin');
    await blocker.query('select count(*) from accounts');
    const pid = (await blocker.query('select pg_backend_pid() as pid')).rows[0].pid as number;
    return {
      pid,
      release: async () => {
        await blocker.query('commit');
        await blocker.end();
      },
    };
  }

  it('a long transaction holding a lock: retries with backoff, names the blocker, succeeds once it ends', async () => {
    const { db, dir } = await baseline();
    addFiles(dir, { '2_alter.sql': 'alter table accounts add column note text;' });
    const blocker = await holdTableLock(db.url);
    const run = runGuard(
      'apply',
      db.url,
      dir,
      { 'lock-timeout': '200ms', 'lock-retries': '8' },
      { overrides: { lockRetryBaseMs: 100 } },
    );
    await sleep(700);
    await blocker.release();
    const { result } = await run;
    expect(result.status).toBe('success');
    expect(result.lock?.retries.length).toBeGreaterThanOrEqual(1);
    expect(result.lock?.retries[0].blocker).toMatch(
      new RegExp(`^pid ${blocker.pid} "long-report-query" \\(idle in transaction`),
    );
  });

  it('a long transaction that never ends: fails cleanly after the retries, changes nothing, frees the lock', async () => {
    const { db, dir } = await baseline();
    addFiles(dir, { '2_alter.sql': 'alter table accounts add column note text;' });
    const blocker = await holdTableLock(db.url);
    try {
      const before = await databaseState(db.url);
      const { result } = await runGuard(
        'apply',
        db.url,
        dir,
        { 'lock-timeout': '100ms', 'lock-retries': '2' },
        { overrides: { lockRetryBaseMs: 50 } },
      );
      expect(result.status).toBe('rolled-back');
      expect(result.lock?.retries).toHaveLength(2);
      expect(result.error).toMatchObject({ sqlstate: '55P03' });
      expect(result.message).toMatch(/lock timeout/);
      expect(await lockIsFree(db.url)).toBe(true);
      await blocker.release();
      expect(await databaseState(db.url)).toEqual(before);
    } catch (error) {
      await blocker.release().catch(() => {});
      throw error;
    }
  });
});
