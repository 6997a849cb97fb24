import { describe, expect, it } from '@jest/globals';
import { createServer, type Socket } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { MIGRATION_LOCK_ID } from '../../src/db/lock.js';
import { databaseState, freshDatabase, query, testServers, databasesFor } from '../helpers/db.js';
import { addFiles, migrationsDir } from '../helpers/migrations.js';
import { runGuard } from '../helpers/run.js';

describe('files are read while the connection opens', () => {
  it('reports a problem with the files first and drops a connection that never answered', async () => {
    // A server that accepts TCP connections and never says a word: a blackholed database.
    const sockets: Socket[] = [];
    const closed: Socket[] = [];
    const silent = createServer((socket) => {
      sockets.push(socket);
      socket.on('close', () => closed.push(socket));
      socket.resume(); // read (and ignore) what arrives, so the end of the stream is seen
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = silent.address() as { port: number };
      const dir = migrationsDir({ '1_a.sql': 'select 1;', '1_b.sql': 'select 2;' });
      const { result } = await runGuard('apply', `postgres://u:p@127.0.0.1:${port}/none`, dir);
      expect(result.status).toBe('failed');
      expect(result.message).toMatch(/Duplicate migration versions/);
      // The attempt was under way and is given up now, not when the 15 s connect timeout fires.
      for (let i = 0; i < 100 && closed.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(sockets).toHaveLength(1);
      expect(closed).toHaveLength(1);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});

describe.each(testServers())('checks before any change, on $name', (server) => {
  const newDb = databasesFor(server);

  const base = () =>
    migrationsDir({
      '1_one.sql': 'create table one (id int);',
      '3_three.sql': 'create table three (id int);',
    });

  it('refuses to apply when an applied file changed, naming the file, and changes nothing', async () => {
    const db = await newDb();
    const dir = base();
    await runGuard('apply', db.url, dir);
    writeFileSync(join(dir, '1_one.sql'), 'create table one (id bigint);');
    addFiles(dir, { '4_four.sql': 'create table four (id int);' });
    const before = await databaseState(db.url);
    const { result } = await runGuard('apply', db.url, dir);
    expect(result.status).toBe('failed');
    expect(result.message).toMatch(/1_one\.sql was changed after it was applied/);
    expect(result.findings.find((f) => f.code === 'drift')?.version).toBe('1');
    expect(await databaseState(db.url)).toEqual(before);
  });

  it('treats CRLF line endings and a BOM as the same file, not as drift', async () => {
    const db = await newDb();
    const dir = migrationsDir({ '1_one.sql': 'create table one (id int);\nselect 1;\n' });
    await runGuard('apply', db.url, dir);
    writeFileSync(join(dir, '1_one.sql'), '\uFEFFcreate table one (id int);\r\nselect 1;\r\n');
    const { result } = await runGuard('apply', db.url, dir);
    expect(result.status).toBe('nothing-to-do');
  });

  it('refuses to apply when an applied version has no file on disk', async () => {
    const db = await newDb();
    const dir = base();
    await runGuard('apply', db.url, dir);
    const other = migrationsDir({
      '3_three.sql': 'create table three (id int);',
      '5_five.sql': 'create table five (id int);',
    });
    const before = await databaseState(db.url);
    const { result } = await runGuard('apply', db.url, other);
    expect(result.status).toBe('failed');
    expect(result.message).toMatch(/version 1 \(one\) is applied on the database but has no file/);
    expect(await databaseState(db.url)).toEqual(before);
  });

  it('refuses an out-of-order pending file unless allow-out-of-order is set', async () => {
    const db = await newDb();
    const dir = base();
    await runGuard('apply', db.url, dir);
    addFiles(dir, { '2_two.sql': 'create table two (id int);' });
    const before = await databaseState(db.url);
    const refused = await runGuard('apply', db.url, dir);
    expect(refused.result.status).toBe('failed');
    expect(refused.result.message).toMatch(
      /2_two\.sql is pending but older than the newest applied version 3/,
    );
    expect(await databaseState(db.url)).toEqual(before);

    const allowed = await runGuard('apply', db.url, dir, { 'allow-out-of-order': 'true' });
    expect(allowed.result.status).toBe('success');
    expect(allowed.result.applied).toEqual(['2']);
  });

  it('refuses duplicate versions, naming both files, before connecting', async () => {
    const dir = migrationsDir({ '1_a.sql': 'select 1;', '1_b.sql': 'select 2;' });
    const { result } = await runGuard('apply', 'postgres://u:p@127.0.0.1:1/none', dir);
    expect(result.status).toBe('failed');
    expect(result.message).toMatch(/Duplicate migration versions:\n {2}version 1: .*1_a\.sql, .*1_b\.sql/);
  });

  it('reports transaction control in the middle of a file before running anything', async () => {
    const db = await newDb();
    const dir = migrationsDir({
      '1_ok.sql': 'create table ok (id int);',
      '2_bad.sql': 'create table x (id int);\ncommit;\ncreate table y (id int);',
    });
    const { result } = await runGuard('apply', db.url, dir);
    expect(result.status).toBe('failed');
    expect(result.error).toMatchObject({ file: expect.stringContaining('2_bad.sql'), line: 2, column: 1 });
    expect(result.message).toMatch(/2_bad\.sql:2:1: COMMIT without a BEGIN before it/);
    expect(await query(db.url, "select tablename from pg_tables where schemaname = 'public'")).toEqual([]);
  });

  it('fails clearly when the migrations directory is missing', async () => {
    const db = await newDb();
    const { result } = await runGuard('apply', db.url, '/nonexistent/supabase/migrations');
    expect(result.status).toBe('failed');
    expect(result.message).toMatch(
      /Migrations directory "\/nonexistent\/supabase\/migrations" does not exist/,
    );
  });

  it('baseline marks existing versions applied without running them, up to target-version', async () => {
    const db = await newDb();
    const dir = migrationsDir({
      '1_one.sql': 'select 1/0;',
      '2_two.sql': 'select 1/0;',
      '3_three.sql': 'create table three (id int);',
    });
    const { result } = await runGuard('baseline', db.url, dir, { 'target-version': '2' });
    expect(result.status).toBe('success');
    expect(result.applied).toEqual(['1', '2']);
    expect(
      await query(db.url, 'select version, name from supabase_migrations.schema_migrations order by version'),
    ).toEqual([
      { version: '1', name: 'one' },
      { version: '2', name: 'two' },
    ]);
    const applied = await runGuard('apply', db.url, dir);
    expect(applied.result.applied).toEqual(['3']);
    const again = await runGuard('baseline', db.url, dir, { 'target-version': 'all' });
    expect(again.result.status).toBe('nothing-to-do');
  });
});

describe.each(testServers())('one run at a time, on $name', (server) => {
  it('two applies started together apply every migration exactly once; one waits for the other', async () => {
    const db = await freshDatabase(server);
    try {
      const dir = migrationsDir({
        '1_slow.sql': 'create table slow (id int);\nselect pg_sleep(0.7);',
        '2_counter.sql': 'create table counter (n int);\ninsert into counter values (1);',
      });
      const [a, b] = await Promise.all([runGuard('apply', db.url, dir), runGuard('apply', db.url, dir)]);
      const statuses = [a.result.status, b.result.status].sort();
      expect(statuses).toEqual(['nothing-to-do', 'success']);
      const waiter = a.result.status === 'nothing-to-do' ? a : b;
      expect(waiter.result.lock?.waitedMs).toBeGreaterThan(0);
      expect(waiter.logs.join('\n')).toMatch(
        /Another migration run holds the lock on this database \(pid \d+ "migration-guard apply default jest@test"/,
      );
      expect(await query(db.url, 'select count(*)::int as n from counter')).toEqual([{ n: 1 }]);
      expect(
        await query(db.url, 'select count(*)::int as n from supabase_migrations.schema_migrations'),
      ).toEqual([{ n: 2 }]);
    } finally {
      await db.drop();
    }
  });

  it('fails after run-lock-timeout, naming the session that holds the lock, and changes nothing', async () => {
    const db = await freshDatabase(server);
    const holder = new pg.Client({ connectionString: db.url, application_name: 'nightly-maintenance-job' });
    await holder.connect();
    try {
      await holder.query('select pg_advisory_lock($1::bigint)', [MIGRATION_LOCK_ID.toString()]);
      const holderPid = (await holder.query('select pg_backend_pid() as pid')).rows[0].pid;
      const dir = migrationsDir({ '1_one.sql': 'create table one (id int);' });
      const { result } = await runGuard('apply', db.url, dir, { 'run-lock-timeout': '300ms' });
      expect(result.status).toBe('failed');
      expect(result.message).toContain(`pid ${holderPid} "nightly-maintenance-job"`);
      expect(result.message).toMatch(/still holds the lock/);
      expect(await query(db.url, "select tablename from pg_tables where schemaname = 'public'")).toEqual([]);
    } finally {
      await holder.end();
      await db.drop();
    }
  });
});

describe.each(testServers())('plan on $name', (server) => {
  it('rehearses pending migrations, reports what would fail, and changes nothing', async () => {
    const db = await freshDatabase(server);
    try {
      const dir = migrationsDir({ '1_one.sql': 'create table one (id int primary key);' });
      await runGuard('apply', db.url, dir);
      addFiles(dir, {
        '2_two.sql':
          'create table two (id int references one (id));\ncreate index concurrently two_id on two (id);',
        '3_three.sql': 'alter table one add column name text;',
      });
      const before = await databaseState(db.url);
      const ok = await runGuard('plan', db.url, dir, { lint: 'off' }); // the linter is tested elsewhere
      expect(ok.result.status).toBe('success');
      expect(ok.result.migrations.map((m) => [m.version, m.status, m.atomic])).toEqual([
        ['2', 'pending', false],
        ['3', 'pending', true],
      ]);
      expect(ok.result.rehearsal?.notRehearsed).toEqual([
        expect.stringMatching(/2_two\.sql:2: CREATE INDEX CONCURRENTLY/),
      ]);

      addFiles(dir, { '4_four.sql': 'alter table one add column name text;' });
      const bad = await runGuard('plan', db.url, dir, { lint: 'off' });
      expect(bad.result.status).toBe('failed');
      expect(bad.result.error).toMatchObject({
        sqlstate: '42701',
        file: expect.stringContaining('4_four.sql'),
        line: 1,
      });
      expect(await databaseState(db.url)).toEqual(before);
    } finally {
      await db.drop();
    }
  });
});
