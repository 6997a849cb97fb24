import { describe, expect, it } from '@jest/globals';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { databaseState, query, testServers, databasesFor } from '../helpers/db.js';
import { addFiles, migrationsDir } from '../helpers/migrations.js';
import { runGuard } from '../helpers/run.js';
import { tempDirsFor } from '../helpers/temp.js';

const tempDir = tempDirsFor();

const EXAMPLE = join(process.cwd(), 'migrations');

describe.each(testServers())('apply on $name', (server) => {
  const newDb = databasesFor(server);

  it('applies the example schema, records Supabase history and checksums, and does nothing the second time', async () => {
    const db = await newDb();
    const first = await runGuard('apply', db.url, EXAMPLE);
    expect(first.result.status).toBe('success');
    expect(first.result.applied).toEqual(['20240101000000', '20240102000000', '20240103000000']);
    expect(first.result.currentVersion).toBe('20240103000000');

    const history = await query(
      db.url,
      'SELECT version, name, statements FROM supabase_migrations.schema_migrations ORDER BY version',
    );
    expect(history.map((r) => [r.version, r.name])).toEqual([
      ['20240101000000', 'create_users'],
      ['20240102000000', 'create_vaults'],
      ['20240103000000', 'create_artifacts'],
    ]);
    expect(history[0].statements).toHaveLength(4);
    expect(history[0].statements[3]).toMatch(/alter table public\.users enable row level security$/);
    expect(history[0].statements[1]).toMatch(
      /^-- Keeps updated_at honest on every UPDATE\.\ncreate or replace function/,
    );

    const columns = await query(
      db.url,
      "SELECT column_name FROM information_schema.columns WHERE table_name = 'artifacts' ORDER BY ordinal_position",
    );
    expect(columns.map((c) => c.column_name)).toEqual([
      'id',
      'vault_id',
      'name',
      'content',
      'metadata',
      'content_hash',
      'version',
      'created_at',
      'updated_at',
    ]);

    const before = await databaseState(db.url);
    const second = await runGuard('apply', db.url, EXAMPLE);
    expect(second.result.status).toBe('nothing-to-do');
    expect(second.result.applied).toEqual([]);
    expect(second.result.message).toMatch(/already applied/);
    expect(await databaseState(db.url)).toEqual(before);

    const status = await runGuard('status', db.url, EXAMPLE);
    expect(status.result.status_rows?.map((r) => [r.version, r.state, r.checksum])).toEqual([
      ['20240101000000', 'applied', 'ok'],
      ['20240102000000', 'applied', 'ok'],
      ['20240103000000', 'applied', 'ok'],
    ]);
    const runs = await query(db.url, 'SELECT command, status, applied FROM migration_guard.runs ORDER BY id');
    expect(runs).toEqual([
      {
        command: 'apply',
        status: 'success',
        applied: ['20240101000000', '20240102000000', '20240103000000'],
      },
    ]);
  });

  it('upgrades the bookkeeping schema of a database set up by an earlier release (runs without details)', async () => {
    const db = await newDb();
    await query(db.url, 'create schema migration_guard');
    await query(
      db.url,
      "create table migration_guard.runs (id bigint generated always as identity primary key, command text not null, environment text not null, status text not null default 'running', transaction_mode text, started_at timestamptz not null default clock_timestamp(), finished_at timestamptz, actor text, run_url text, repository text, ref text, sha text, applied text[] not null default '{}', error text)",
    );
    const { result } = await runGuard('apply', db.url, EXAMPLE);
    expect(result.status).toBe('success');
    const runs = await query(db.url, 'select status, details from migration_guard.runs');
    expect(runs).toEqual([{ status: 'success', details: expect.objectContaining({ backup: null }) }]);
  });

  it('status on an empty database lists everything as pending and creates nothing', async () => {
    const db = await newDb();
    const { result } = await runGuard('status', db.url, EXAMPLE);
    expect(result.status).toBe('success');
    expect(result.pendingCount).toBe(3);
    expect(result.status_rows?.every((r) => r.state === 'pending')).toBe(true);
    const schemas = await query(
      db.url,
      "SELECT nspname FROM pg_namespace WHERE nspname IN ('supabase_migrations', 'migration_guard')",
    );
    expect(schemas).toEqual([]);
  });

  it('in all mode a failure in the middle leaves schema, data and history exactly as before', async () => {
    const db = await newDb();
    const dir = tempDir('mg-all-');
    cpSync(EXAMPLE, dir, { recursive: true });
    expect((await runGuard('apply', db.url, dir)).result.status).toBe('success');
    await query(db.url, "INSERT INTO users (email) VALUES ('a@example.com'), ('b@example.com')");
    addFiles(dir, {
      '20240201000000_add_bio.sql':
        'alter table users add column bio text;\nupdate users set bio = $$hi$$;\n',
      '20240202000000_broken.sql':
        'create table tags (id int primary key);\ninsert into tags values (1), (1);\n',
      '20240203000000_after.sql': 'create table never (id int);\n',
    });
    const before = await databaseState(db.url);
    const { result } = await runGuard('apply', db.url, dir);
    expect(result.status).toBe('rolled-back');
    expect(result.applied).toEqual([]);
    expect(result.error).toMatchObject({
      sqlstate: '23505',
      line: 2,
      file: expect.stringContaining('20240202000000_broken.sql'),
    });
    expect(result.migrations.map((m) => m.status)).toEqual(['rolled-back', 'failed', 'not-run']);
    expect(result.schemaFingerprint?.before).toBe(result.schemaFingerprint?.after);
    expect(await databaseState(db.url)).toEqual(before);
    const runs = await query(
      db.url,
      "SELECT status, error FROM migration_guard.runs WHERE status <> 'success'",
    );
    expect(runs).toEqual([{ status: 'rolled-back', error: expect.stringContaining('duplicate key') }]);
  });

  it('in per-file mode the rehearsal finds a broken file before anything commits', async () => {
    const db = await newDb();
    const dir = migrationsDir({
      '1_one.sql': 'create table one (id int);',
      '2_two.sql': 'create table two (id int);',
      '3_three.sql': 'create table three (id int);\nselect 1/0;',
      '4_four.sql': 'create table four (id int);',
    });
    const { result } = await runGuard('apply', db.url, dir, { 'transaction-mode': 'per-file' });
    expect(result.status).toBe('failed');
    expect(result.applied).toEqual([]);
    expect(result.rehearsal?.ran).toBe(true);
    expect(result.error).toMatchObject({
      sqlstate: '22012',
      line: 2,
      column: 1,
      file: expect.stringContaining('3_three.sql'),
    });
    expect(result.message).toMatch(/rehearsal found this before anything was applied/);
    expect(await query(db.url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).toEqual([]);
    // Not even an empty history table: it is created inside the first migration transaction.
    expect(await query(db.url, "SELECT to_regclass('supabase_migrations.schema_migrations') AS t")).toEqual([
      { t: null },
    ]);
  });

  it('in per-file mode a failure the rehearsal could not see leaves earlier files applied and recorded when they have no down migration', async () => {
    const db = await newDb();
    // A sequence advances even in a rolled-back transaction: the rehearsal sees 1, the real run 2.
    const dir = migrationsDir({ '0_seq.sql': 'create sequence flaky;' });
    expect((await runGuard('apply', db.url, dir)).result.status).toBe('success');
    addFiles(dir, {
      '1_one.sql': 'create table one (id int);',
      '2_two.sql': 'create table two (id int);',
      '3_three.sql': "create table three (id int);\nselect 1 / (nextval('flaky') - 2);",
      '4_four.sql': 'create table four (id int);',
    });
    const { result } = await runGuard('apply', db.url, dir, { 'transaction-mode': 'per-file' });
    expect(result.status).toBe('failed');
    expect(result.applied).toEqual(['1', '2']);
    expect(result.committedBeforeFailure).toEqual(['1', '2']);
    expect(result.migrations.map((m) => m.status)).toEqual(['applied', 'applied', 'failed', 'not-run']);
    expect(result.rollback).toMatchObject({ kind: 'automatic', succeeded: false, stillApplied: ['1', '2'] });
    expect(result.message).toMatch(
      /Still applied from this run: 1, 2\. Applied and NOT reverted: 1, 2\. Add the missing down migration/,
    );
    const tables = await query(
      db.url,
      "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
    );
    expect(tables.map((t) => t.tablename)).toEqual(['one', 'two']);
    const history = await query(
      db.url,
      'SELECT version FROM supabase_migrations.schema_migrations ORDER BY version',
    );
    expect(history.map((h) => h.version)).toEqual(['0', '1', '2']);

    const rerun = await runGuard('apply', db.url, dir, { 'transaction-mode': 'per-file' });
    expect(rerun.result.migrations.map((m) => m.version)).toEqual(['3', '4']);
    expect(rerun.result.status).toBe('success');
  });
});
