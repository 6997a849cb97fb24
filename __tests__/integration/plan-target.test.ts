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

  it('does not wait for a held lock to read table sizes for the linter: static severities, and the rehearsal gives up within the lock timeout', async () => {
    const db = await newDb();
    await query(db.url, 'create table accounts (id int primary key, email text)');
    const dir = migrationsDir({ '1_index.sql': 'create index accounts_email on accounts (email);\n' });
    const before = await databaseState(db.url);
    const holder = new pg.Client({ connectionString: db.url, application_name: 'nightly-maintenance' });
    await holder.connect();
    try {
      await holder.query('begin; lock table accounts in access exclusive mode');
      const { result, logs } = await runGuard('plan', db.url, dir, { 'lock-timeout': '500ms' });
      expect(result.status).toBe('failed');
      expect(result.message).toMatch(/lock timeout \(the rehearsal waited 500 ms, the lock-timeout/);
      expect(result.lint?.context).toBe('static');
      expect(logs.join('\n')).toMatch(
        /Lint: table sizes could not be read \(.*lock timeout.*\): severities are static/,
      );
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

  it('fails when the linter finds an error (the default fail level), naming the count and the first finding, and still changes nothing', async () => {
    const db = await newDb();
    await query(
      db.url,
      "create table accounts (id int primary key, legacy text); insert into accounts values (1, 'x')",
    );
    const dir = migrationsDir({
      '1_drop.sql': 'create table private.notes (id int);\nalter table accounts drop column legacy;\n',
    });
    // Not in an exposed schema: the only error is the DROP COLUMN.
    await query(db.url, 'create schema private');
    const before = await databaseState(db.url);
    const { result } = await runGuard('plan', db.url, dir);
    expect(result.status).toBe('failed');
    expect(result.message).toMatch(
      /^1 lint finding\(s\) at or above error \(the lint fail level\); the first: .*1_drop\.sql:2:\d+: \[drop-column\] .*\. 1 pending migration\(s\) rehearsed and rolled back without error; nothing was changed\.$/s,
    );
    expect(result.lint?.counts.error).toBe(1);
    expect(await databaseState(db.url)).toEqual(before);
  });

  it('passes when the finding is accepted by an ignore comment with a reason, and reports the reason', async () => {
    const db = await newDb();
    await query(db.url, 'create table accounts (id int primary key, legacy text)');
    const dir = migrationsDir({
      '1_drop.sql':
        '-- migration-guard:ignore drop-column nothing reads it since v41\nalter table accounts drop column legacy;\n',
    });
    const { result } = await runGuard('plan', db.url, dir);
    expect(result.status).toBe('success');
    expect(result.lint?.findings).toEqual([
      expect.objectContaining({
        rule: 'drop-column',
        ignored: { reason: 'nothing reads it since v41', line: 1 },
      }),
    ]);
  });

  it('follows the lint fail level: warnings pass at error, fail at warning; off skips the linter', async () => {
    const db = await newDb();
    await query(db.url, 'create table accounts (id int primary key, email text)');
    await query(db.url, "insert into accounts select g, 'x' from generate_series(1, 50) g; analyze accounts");
    const dir = migrationsDir({ '1_index.sql': 'create index accounts_email on accounts (email);\n' });
    const at = (lint: string) => runGuard('plan', db.url, dir, { lint });
    const atError = (await at('error')).result;
    expect(atError.status).toBe('success');
    // Live table sizes: 50 rows make the missing CONCURRENTLY an info, with the estimate said.
    expect(atError.lint?.context).toBe('live');
    expect(atError.lint?.findings).toEqual([
      expect.objectContaining({
        rule: 'index-without-concurrently',
        severity: 'info',
        message: expect.stringMatching(/~50 rows/),
      }),
    ]);
    const unanalysed = migrationsDir({
      '1_rename.sql': 'alter table accounts rename column email to mail;\n',
    });
    const warning = await runGuard('plan', db.url, unanalysed, { lint: 'warning' });
    expect(warning.result.status).toBe('failed');
    expect(warning.result.message).toMatch(/^1 lint finding\(s\) at or above warning .*\[rename-column\]/);
    const off = (await runGuard('plan', db.url, unanalysed, { lint: 'off' })).result;
    expect(off.status).toBe('success');
    expect(off.lint).toBeUndefined();
  });
});
