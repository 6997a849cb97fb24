import { describe, expect, it } from '@jest/globals';
import { databaseState, databasesFor, query, testServers } from '../helpers/db.js';
import { addFiles, migrationsDir } from '../helpers/migrations.js';
import {
  ENUM_REVERT_REST,
  ENUM_REVERT_TYPE,
  ENUM_TYPE,
  ENUM_USE,
  MULTIBYTE_RUNTIME,
  MULTIBYTE_SYNTAX,
  REAL_WORLD_RELEASE,
} from '../helpers/real-world-sql.js';
import { runGuard } from '../helpers/run.js';

describe.each(testServers())('SQL that real projects write, on $name', (server) => {
  const newDb = databasesFor(server);

  it.each(['all', 'per-file'])(
    'applies dollar quotes, DO blocks, CONCURRENTLY, a wrapped file, an empty file, CRLF and non-ASCII text in one run (%s)',
    async (mode) => {
      const db = await newDb();
      const dir = migrationsDir(REAL_WORLD_RELEASE);
      const { result } = await runGuard('apply', db.url, dir, { 'transaction-mode': mode });
      expect(result.error).toBeUndefined();
      expect(result.status).toBe('success');
      expect(result.applied).toHaveLength(6);

      const notes = await query(db.url, 'select body from notes order by id');
      expect(notes.map((n) => n.body)).toEqual([
        'from a DO block; with semicolon;',
        "dollar 'quoted'; text;",
      ]);
      const index = await query(
        db.url,
        "select i.indisvalid from pg_index i join pg_class c on c.oid = i.indexrelid where c.relname = 'events_kind_idx'",
      );
      expect(index).toEqual([{ indisvalid: true }]);
      expect(await query(db.url, 'select count(*)::int as n from wrapped')).toEqual([{ n: 1 }]);
      expect(await query(db.url, 'select count(*)::int as n from crlf')).toEqual([{ n: 1 }]);

      const byVersion = Object.fromEntries(result.migrations.map((m) => [m.version, m]));
      expect(byVersion['20240102000000'].atomic).toBe(false);
      expect(byVersion['20240102000000'].nonAtomicReasons.join()).toMatch(
        /CREATE INDEX CONCURRENTLY \(line 2\)/,
      );
      expect(byVersion['20240101000000'].atomic).toBe(true);
      expect(byVersion['20240103000000'].statements).toBe(2);
      expect(byVersion['20240104000000'].statements).toBe(0);

      const history = await query(
        db.url,
        "select statements from supabase_migrations.schema_migrations where version = '20240101000000'",
      );
      expect(history[0].statements).toHaveLength(4);
      expect(history[0].statements[0]).toMatch(
        /^-- a comment with a semicolon; and 'quotes'\n\/\* block comment; still a comment \*\/\ncreate table notes/,
      );
      expect(
        await query(db.url, 'select count(*)::int as n from supabase_migrations.schema_migrations'),
      ).toEqual([{ n: 6 }]);
    },
  );

  it('commits a new enum value before a later file of the same run uses it (SQLSTATE 55P04 otherwise)', async () => {
    const db = await newDb();
    const dir = migrationsDir(ENUM_TYPE);
    expect((await runGuard('apply', db.url, dir)).result.status).toBe('success');
    addFiles(dir, ENUM_USE);
    const { result } = await runGuard('apply', db.url, dir);
    expect(result.error).toBeUndefined();
    expect(result.applied).toEqual(['2', '3', '4']);
    expect(result.migrations.find((m) => m.version === '3')?.nonAtomicReasons.join()).toMatch(
      /enum value 'sad'/,
    );
    expect(await query(db.url, 'select m::text from people')).toEqual([{ m: 'sad' }]);
  });

  it('in all mode, a failure after an enum value forced an early commit reverts the committed files with their down migrations', async () => {
    const db = await newDb();
    const dir = migrationsDir(ENUM_REVERT_TYPE);
    expect((await runGuard('apply', db.url, dir)).result.status).toBe('success');
    const before = await databaseState(db.url);
    addFiles(dir, ENUM_REVERT_REST);
    const { result } = await runGuard('apply', db.url, dir);
    expect(result.status).toBe('rolled-back');
    expect(result.rollback).toMatchObject({ kind: 'automatic', succeeded: true, reverted: ['3', '2'] });
    expect(await databaseState(db.url)).toEqual(before);
  });

  it('points runtime and syntax errors at file:line:column in characters after multi-byte text', async () => {
    const db = await newDb();
    const runtime = migrationsDir(MULTIBYTE_RUNTIME);
    const failed = await runGuard('apply', db.url, runtime);
    expect(failed.result.status).toBe('rolled-back');
    expect(failed.result.error).toMatchObject({ sqlstate: '42703', line: 2, column: 14 });

    const syntax = migrationsDir(MULTIBYTE_SYNTAX);
    const untouched = await newDb();
    const parse = await runGuard('apply', untouched.url, syntax);
    expect(parse.result.status).toBe('failed');
    expect(parse.result.error).toMatchObject({
      line: 2,
      column: 17,
      file: expect.stringContaining('1_syntax.sql'),
    });
    expect(parse.result.message).toMatch(/1_syntax\.sql:2:17: SQL syntax error/);
    expect(
      await query(
        untouched.url,
        "select nspname from pg_namespace where nspname in ('supabase_migrations', 'migration_guard')",
      ),
    ).toEqual([]);
  });
});
