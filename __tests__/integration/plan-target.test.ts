import { describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { databaseState, databasesFor, query, testServers } from '../helpers/db.js';
import { migrationsDir } from '../helpers/migrations.js';
import { runGuard } from '../helpers/run.js';
import { schemaDump } from '../backup/support.js';

describe.each(testServers())('plan on the target ($name)', (server) => {
  const newDb = databasesFor(server);

  it('gives up within the lock timeout when another session holds an ACCESS EXCLUSIVE lock on a table the file alters, names the wait, and changes nothing', async () => {
    const db = await newDb();
    await query(db.url, 'create table accounts (id int primary key); insert into accounts values (1)');
    const dir = migrationsDir({
      '1_add.sql': 'create table other (id int);\nalter table accounts add column plan text;\n',
    });
    const before = await databaseState(db.url);
    const holder = new pg.Client({ connectionString: db.url, application_name: 'nightly-maintenance' });
    await holder.connect();
    try {
      await holder.query('begin; lock table accounts in access exclusive mode');
      const { result } = await runGuard('plan', db.url, dir, { 'lock-timeout': '500ms' });
      expect(result.status).toBe('failed');
      expect(result.rehearsal).toMatchObject({ ran: true, on: 'target' });
      expect(result.error).toMatchObject({ sqlstate: '55P03', line: 2 });
      expect(result.message).toMatch(
        /1_add\.sql:2:1: canceling statement due to lock timeout \(the rehearsal waited 500 ms, the lock-timeout, for a lock held by pid \d+ "nightly-maintenance" \(idle in transaction.*\): .*LOCK TABLE accounts.*, then gave up rather than queue\)\. apply would fail here; nothing was changed\./i,
      );
      expect(result.migrations[0]).toMatchObject({ status: 'failed' });
    } finally {
      await holder.query('rollback');
      await holder.end();
    }
    expect(await databaseState(db.url)).toEqual(before);
  });

  it('without a shadow database rehearses on the target and leaves its schema, by pg_dump, as it was', async () => {
    const db = await newDb();
    await query(db.url, 'create table accounts (id int primary key)');
    const dir = migrationsDir({
      '1_add.sql': 'alter table accounts add column plan text;\ncreate index on accounts (plan);\n',
    });
    const before = await databaseState(db.url);
    const dump = server.name === 'pg15' ? schemaDump(db.url) : undefined;
    const { result } = await runGuard('plan', db.url, dir);
    expect(result.status).toBe('success');
    expect(result.rehearsal).toMatchObject({ on: 'target' });
    expect(result.shadow).toBeUndefined();
    expect(await databaseState(db.url)).toEqual(before);
    if (dump !== undefined) expect(schemaDump(db.url)).toEqual(dump);
  });
});
