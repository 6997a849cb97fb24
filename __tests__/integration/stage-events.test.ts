import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import pg from 'pg';
import { StageEvents, type StageEvent } from '../../src/engine/events.js';
import { databasesFor, query, testServers } from '../helpers/db.js';
import { addFiles, migrationsDir } from '../helpers/migrations.js';
import { runGuard } from '../helpers/run.js';
import { tempDirsFor } from '../helpers/temp.js';

const tempDir = tempDirsFor();

/** The major version of the pg_dump on PATH (what this machine's backups can reach). */
const localPgDumpMajor = Number(
  /(\d+)\.\d+/.exec(spawnSync('pg_dump', ['--version'], { encoding: 'utf8' }).stdout)?.[1] ?? 0,
);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The events of a run, each reduced to what the assertions compare (no durations, no error text). */
function recorder(): { events: StageEvents; seen: StageEvent[]; summary(): unknown[] } {
  const seen: StageEvent[] = [];
  const events = new StageEvents().on((event) => void seen.push(event));
  const summary = () =>
    seen.map((e) => {
      switch (e.type) {
        case 'run-started':
          return { type: e.type, pending: e.pending.map((p) => p.version), mode: e.transactionMode };
        case 'rehearsal-done':
          return { type: e.type, ran: e.ran, failed: e.failed };
        case 'file-applied':
          return { type: e.type, version: e.version, index: e.index, total: e.total, committed: e.committed };
        case 'file-failed':
          return { type: e.type, version: e.version, line: e.error.line };
        case 'lock-retry':
          return { type: e.type, version: e.version, attempt: e.attempt };
        case 'run-finished':
          return { type: e.type, status: e.result.status };
        case 'cancelled':
          return { type: e.type };
        case 'backup-taken':
          return { type: e.type, sha256: e.backup.sha256.length };
        default:
          return e;
      }
    });
  return { events, seen, summary };
}

describe.each(testServers())('stage events on $name', (server) => {
  const newDb = databasesFor(server);

  it('a successful run in one transaction: started, no rehearsal needed, each file applied at the commit, finished', async () => {
    const db = await newDb();
    const dir = migrationsDir({
      '1_one.sql': 'create table one (id int);',
      '2_two.sql': 'create table two (id int);',
    });
    const { events, summary } = recorder();
    const { result } = await runGuard('apply', db.url, dir, {}, { events });
    expect(result.status).toBe('success');
    expect(summary()).toEqual([
      { type: 'run-started', pending: ['1', '2'], mode: 'all' },
      { type: 'rehearsal-done', ran: false, failed: false },
      { type: 'file-applied', version: '1', index: 1, total: 2, committed: true },
      { type: 'file-applied', version: '2', index: 2, total: 2, committed: true },
      { type: 'run-finished', status: 'success' },
    ]);
  });

  it('the console log follows the events: one progress line per file, the failure, the rollback', async () => {
    const db = await newDb();
    const dir = migrationsDir({
      '1_one.sql': 'create table one (id int);',
      '2_two.sql': 'create table two (id int);',
    });
    const ok = await runGuard('apply', db.url, dir, {});
    expect(ok.logs.filter((l) => l.startsWith('info: Applied ') && l.includes('/'))).toEqual([
      expect.stringMatching(/^info: Applied 1\/2: \S*1_one\.sql \(\d+ ms\)$/),
      expect.stringMatching(/^info: Applied 2\/2: \S*2_two\.sql \(\d+ ms\)$/),
    ]);
    addFiles(dir, { '3_three.sql': 'create table three (id int);\nselect 1/0;' });
    const failed = await runGuard('apply', db.url, dir, {});
    expect(failed.result.status).toBe('rolled-back');
    expect(failed.logs).toContainEqual(
      expect.stringMatching(/^info: Failed: \S*3_three\.sql:2: division by zero$/),
    );
    expect(failed.logs).toContain('info: Rolled back with the failed transaction: 3');
  });

  it('listeners get every event scrubbed: a password quoted by an error never reaches them', async () => {
    const db = await newDb();
    const url = new URL(db.url);
    const password = 'S3cret-in-an-error-42';
    const role = `events_${Date.now()}`;
    await query(db.url, `create role ${role} login superuser password '${password}'`);
    url.username = role;
    url.password = password;
    // The password is in the error message of the failing statement (a cast of it to int).
    const dir = migrationsDir({ '1_leak.sql': `select '${password}'::int;` });
    const { events, seen } = recorder();
    const { result } = await runGuard('apply', url.toString(), dir, {}, { events });
    expect(result.status).toBe('rolled-back');
    const failed = seen.find((e) => e.type === 'file-failed');
    expect(failed).toMatchObject({ error: { message: expect.stringContaining('invalid input syntax') } });
    expect(JSON.stringify(seen)).not.toContain(password);
  });

  it('a successful per-file run: the rehearsal first, then each file as it commits', async () => {
    const db = await newDb();
    const dir = migrationsDir({
      '1_one.sql': 'create table one (id int);',
      '2_two.sql': 'create table two (id int);',
    });
    const { events, summary } = recorder();
    const { result } = await runGuard('apply', db.url, dir, { 'transaction-mode': 'per-file' }, { events });
    expect(result.status).toBe('success');
    expect(summary()).toEqual([
      { type: 'run-started', pending: ['1', '2'], mode: 'per-file' },
      { type: 'rehearsal-done', ran: true, failed: false },
      { type: 'file-applied', version: '1', index: 1, total: 2, committed: true },
      { type: 'file-applied', version: '2', index: 2, total: 2, committed: true },
      { type: 'run-finished', status: 'success' },
    ]);
  });

  it('a backup: taken before the rehearsal, with its report (when this pg_dump can reach the server)', async () => {
    const db = await newDb();
    const dir = migrationsDir({ '1_one.sql': 'create table one (id int);' });
    const major = Number(
      (await query(db.url, "select current_setting('server_version_num')::int / 10000 as m"))[0].m,
    );
    const { events, seen, summary } = recorder();
    const { result } = await runGuard(
      'apply',
      db.url,
      dir,
      { backup: 'optional', 'backup-dir': tempDir('mg-backups-') },
      { events },
    );
    expect(result.status).toBe('success');
    const backup = localPgDumpMajor >= major ? [{ type: 'backup-taken', sha256: 64 }] : [];
    expect(summary()).toEqual([
      { type: 'run-started', pending: ['1'], mode: 'all' },
      ...backup,
      { type: 'rehearsal-done', ran: false, failed: false },
      { type: 'file-applied', version: '1', index: 1, total: 1, committed: true },
      { type: 'run-finished', status: 'success' },
    ]);
    if (localPgDumpMajor >= major)
      expect(seen.find((e) => e.type === 'backup-taken')).toMatchObject({
        backup: { path: result.backup!.path },
      });
  });

  it('nothing to do: started with no pending file, finished', async () => {
    const db = await newDb();
    const dir = migrationsDir({ '1_one.sql': 'create table one (id int);' });
    await runGuard('apply', db.url, dir);
    const { events, summary } = recorder();
    await runGuard('apply', db.url, dir, {}, { events });
    expect(summary()).toEqual([
      { type: 'run-started', pending: [], mode: 'all' },
      { type: 'run-finished', status: 'nothing-to-do' },
    ]);
  });

  it('an all-mode failure: the failed file, then the transaction rolled back with every file in it', async () => {
    const db = await newDb();
    const dir = migrationsDir({
      '1_one.sql': 'create table one (id int);',
      '2_two.sql': 'create table two (id int);\nselect 1/0;',
    });
    const { events, seen, summary } = recorder();
    const { result } = await runGuard('apply', db.url, dir, {}, { events });
    expect(result.status).toBe('rolled-back');
    expect(summary()).toEqual([
      { type: 'run-started', pending: ['1', '2'], mode: 'all' },
      { type: 'rehearsal-done', ran: false, failed: false },
      { type: 'file-failed', version: '2', line: 2 },
      { type: 'rolled-back', versions: ['1', '2'], how: 'transaction', succeeded: true },
      { type: 'run-finished', status: 'rolled-back' },
    ]);
    expect(seen.find((e) => e.type === 'file-failed')).toMatchObject({
      error: { message: 'division by zero' },
    });
  });

  it('a rehearsal failure: found before anything committed, no file applied, nothing rolled back', async () => {
    const db = await newDb();
    const dir = migrationsDir({
      '1_one.sql': 'create table one (id int);',
      '2_two.sql': 'create table two (id int);\nselect 1/0;',
    });
    const { events, summary } = recorder();
    const { result } = await runGuard('apply', db.url, dir, { 'transaction-mode': 'per-file' }, { events });
    expect(result.status).toBe('failed');
    expect(summary()).toEqual([
      { type: 'run-started', pending: ['1', '2'], mode: 'per-file' },
      { type: 'rehearsal-done', ran: true, failed: true },
      { type: 'file-failed', version: '2', line: 2 },
      { type: 'run-finished', status: 'failed' },
    ]);
  });

  it('a per-file failure the rehearsal could not see: the files before it are reverted by their down migrations', async () => {
    const db = await newDb();
    // A sequence advances even in a rolled-back transaction: the rehearsal sees 1, the real run 2.
    const dir = migrationsDir({ '0_seq.sql': 'create sequence flaky;' });
    expect((await runGuard('apply', db.url, dir)).result.status).toBe('success');
    addFiles(dir, {
      '1_one.sql': 'create table one (id int);',
      '1_one.down.sql': 'drop table one;',
      '2_two.sql': 'create table two (id int);',
      '2_two.down.sql': 'drop table two;',
      '3_three.sql': "create table three (id int);\nselect 1 / (nextval('flaky') - 2);",
    });
    const { events, summary } = recorder();
    const { result } = await runGuard('apply', db.url, dir, { 'transaction-mode': 'per-file' }, { events });
    expect(result.status).toBe('rolled-back');
    expect(result.rollback).toMatchObject({ succeeded: true, reverted: ['2', '1'] });
    expect(summary()).toEqual([
      { type: 'run-started', pending: ['1', '2', '3'], mode: 'per-file' },
      { type: 'rehearsal-done', ran: true, failed: false },
      { type: 'file-applied', version: '1', index: 1, total: 3, committed: true },
      { type: 'file-applied', version: '2', index: 2, total: 3, committed: true },
      { type: 'file-failed', version: '3', line: 2 },
      { type: 'rolled-back', versions: ['3'], how: 'transaction', succeeded: true },
      { type: 'rolled-back', versions: ['2', '1'], how: 'down-migrations', succeeded: true },
      { type: 'run-finished', status: 'rolled-back' },
    ]);
    expect(await query(db.url, "select tablename from pg_tables where schemaname = 'public'")).toEqual([]);
  });

  it('a lock retry names the blocking session, then the file applies', async () => {
    const db = await newDb();
    await query(db.url, 'create table busy (id int)');
    const dir = migrationsDir({ '1_alter_busy.sql': 'alter table busy add column note text;' });
    const blocker = new pg.Client({ connectionString: db.url, application_name: 'nightly-report' });
    await blocker.connect();
    await blocker.query('begin');
    await blocker.query('lock table busy in access share mode');
    const { events, seen, summary } = recorder();
    // The blocker lets go once the run has reported its first retry (or after 5 s, when no retry is reported).
    let released: Promise<unknown> | undefined;
    const release = () => (released ??= blocker.query('commit'));
    const fallback = setTimeout(release, 5000);
    events.on((event) => {
      if (event.type === 'lock-retry' && event.attempt === 1) void sleep(100).then(release);
    });
    try {
      const { result } = await runGuard(
        'apply',
        db.url,
        dir,
        { 'lock-timeout': '200ms', 'lock-retries': '10' },
        { events, overrides: { lockRetryBaseMs: 100 } },
      );
      expect(result.status).toBe('success');
      const retries = seen.filter((e) => e.type === 'lock-retry');
      expect(retries.length).toBeGreaterThanOrEqual(1);
      expect(retries[0]).toMatchObject({
        version: '1',
        attempt: 1,
        blocker: expect.stringMatching(/"nightly-report"/),
      });
      expect(summary().filter((e) => (e as { type: string }).type !== 'lock-retry')).toEqual([
        { type: 'run-started', pending: ['1'], mode: 'all' },
        { type: 'rehearsal-done', ran: false, failed: false },
        { type: 'file-applied', version: '1', index: 1, total: 1, committed: true },
        { type: 'run-finished', status: 'success' },
      ]);
      // Every retry comes before the file applies.
      const types = seen.map((e) => e.type);
      expect(types.lastIndexOf('lock-retry')).toBeLessThan(types.indexOf('file-applied'));
    } finally {
      clearTimeout(fallback);
      await released;
      await blocker.end();
    }
  });

  it('a cancellation: the transaction is rolled back, then cancelled, and the run finishes cancelled', async () => {
    const db = await newDb();
    const dir = migrationsDir({
      '1_one.sql': 'create table one (id int);',
      '2_slow.sql': 'select pg_sleep(30);',
    });
    const controller = new AbortController();
    const { events, summary } = recorder();
    const run = runGuard('apply', db.url, dir, {}, { events, signal: controller.signal });
    for (let i = 0; i < 400; i++) {
      const rows = await query(
        db.url,
        `select 1 from pg_stat_activity where application_name like 'migration-guard%'
            and application_name not like '%control' and state = 'active' and query like '%pg_sleep(30)%'`,
      );
      if (rows.length > 0) break;
      await sleep(25);
    }
    controller.abort('SIGTERM');
    const { result } = await run;
    expect(result.status).toBe('cancelled');
    expect(summary()).toEqual([
      { type: 'run-started', pending: ['1', '2'], mode: 'all' },
      { type: 'rehearsal-done', ran: false, failed: false },
      { type: 'rolled-back', versions: ['1', '2'], how: 'transaction', succeeded: true },
      { type: 'cancelled' },
      { type: 'run-finished', status: 'cancelled' },
    ]);
  });

  it('rollback command: the reverted files', async () => {
    const db = await newDb();
    const dir = migrationsDir({
      '1_one.sql': 'create table one (id int);',
      '1_one.down.sql': 'drop table one;',
    });
    await runGuard('apply', db.url, dir);
    const { events, summary } = recorder();
    const { result } = await runGuard('rollback', db.url, dir, {}, { events });
    expect(result.status).toBe('success');
    expect(summary()).toEqual([
      { type: 'rolled-back', versions: ['1'], how: 'down-migrations', succeeded: true },
      { type: 'run-finished', status: 'success' },
    ]);
  });
});
