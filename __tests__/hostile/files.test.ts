import { describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { databaseState, databasesFor, query, testServers, ADVISORY_LOCKS } from '../helpers/db.js';
import { addFiles, migrationsDir } from '../helpers/migrations.js';
import { runGuard } from '../helpers/run.js';
import { tempDirsFor } from '../helpers/temp.js';

const tempDir = tempDirsFor();

/** Item 6 of issue 12: files are never silently skipped or altered. */

const tables = (url: string) =>
  query(url, "select tablename from pg_tables where schemaname = 'public' order by 1").then((rows) =>
    rows.map((r) => r.tablename),
  );
const runs = (url: string) =>
  query(url, "select to_regclass('migration_guard.runs') is not null as t").then(async ([r]) =>
    r.t ? query(url, 'select status, applied from migration_guard.runs order by started_at') : [],
  );

describe.each(testServers())('hostile files on $name', (server) => {
  const newDb = databasesFor(server);

  it('follows a symbolic link to a migration file: applies it, records the checksum of its content, and sees a change made through the link', async () => {
    const db = await newDb();
    const shared = tempDir('mg-shared-');
    const body = 'create table linked (id int);\ninsert into linked values (7);\n';
    writeFileSync(join(shared, 'linked.sql'), body);
    const dir = migrationsDir({ '1_plain.sql': 'create table plain (id int);' });
    symlinkSync(join(shared, 'linked.sql'), join(dir, '2_linked.sql'));

    const { result } = await runGuard('apply', db.url, dir);
    expect(result.status).toBe('success');
    expect(result.applied).toEqual(['1', '2']);
    expect(result.skippedFiles).toEqual([]);
    expect(await tables(db.url)).toEqual(['linked', 'plain']);
    expect(await query(db.url, 'select id from linked')).toEqual([{ id: 7 }]);
    expect(
      await query(db.url, 'select version, checksum from migration_guard.migrations order by 1'),
    ).toEqual([
      { version: '1', checksum: createHash('sha256').update('create table plain (id int);').digest('hex') },
      { version: '2', checksum: createHash('sha256').update(body).digest('hex') },
    ]);
    expect(await runs(db.url)).toEqual([{ status: 'success', applied: ['1', '2'] }]);

    writeFileSync(join(shared, 'linked.sql'), body.replace('7', '8'));
    const drift = await runGuard('apply', db.url, dir);
    expect(drift.result.status).toBe('failed');
    expect(drift.result.message).toContain('2_linked.sql');
    expect(drift.result.message).toMatch(/changed/i);
    expect(await query(db.url, 'select id from linked')).toEqual([{ id: 7 }]);
    expect(await query(db.url, ADVISORY_LOCKS)).toEqual([{ n: 0 }]);
  });

  it.each([
    [
      'a directory',
      (dir: string) => mkdirSync(join(dir, '2_b.sql')),
      'a directory (sub-folders are not read)',
    ],
    [
      'a dangling symbolic link',
      (dir: string) => symlinkSync('../elsewhere/2_b.sql', join(dir, '2_b.sql')),
      'a symbolic link to ../elsewhere/2_b.sql, which does not exist',
    ],
  ])(
    'stops before any change when %s is named like a migration, naming it (apply, plan and status)',
    async (_kind, make, reason) => {
      const db = await newDb();
      const dir = migrationsDir({ '1_a.sql': 'create table a (id int);' });
      expect((await runGuard('apply', db.url, dir)).result.status).toBe('success');
      addFiles(dir, { '3_c.sql': 'create table c (id int);' });
      make(dir);
      const before = await databaseState(db.url);

      for (const command of ['apply', 'plan', 'status']) {
        const { result } = await runGuard(command, db.url, dir);
        expect(result.status).toBe('failed');
        expect(result.message).toContain(
          `Entries named like migrations are not files that can be read:\n  ${join(dir, '2_b.sql')}: ${reason}\nNothing was run`,
        );
      }
      expect(await databaseState(db.url)).toEqual(before);
      expect(await tables(db.url)).toEqual(['a']);
      expect(await runs(db.url)).toEqual([{ status: 'success', applied: ['1'] }]);
      expect(await query(db.url, ADVISORY_LOCKS)).toEqual([{ n: 0 }]);
    },
  );

  it('lists a sub-folder that is not named like a migration as skipped, with a warning, and applies the rest', async () => {
    const db = await newDb();
    const dir = migrationsDir({ '1_a.sql': 'create table a (id int);' });
    mkdirSync(join(dir, 'archive'));
    writeFileSync(join(dir, 'archive', '2_old.sql'), 'create table old (id int);');
    const { result, logs } = await runGuard('apply', db.url, dir);
    expect(result.status).toBe('success');
    expect(result.skippedFiles).toEqual([
      { fileName: 'archive', reason: 'a directory (sub-folders are not read)' },
    ]);
    expect(logs).toContain('warn: Skipped archive: a directory (sub-folders are not read)');
    expect(await tables(db.url)).toEqual(['a']);
    expect((await databaseState(db.url)).history).toEqual(['1']);
  });

  it('refuses a file that is not valid UTF-8 before anything runs, naming file, line, column and byte', async () => {
    const db = await newDb();
    const dir = migrationsDir({ '1_a.sql': 'create table a (id int);' });
    expect((await runGuard('apply', db.url, dir)).result.status).toBe('success');
    addFiles(dir, {
      '2_b.sql': Buffer.from("create table b (name text);\ninsert into b values ('caf\xe9');\n", 'latin1'),
      '3_c.sql': 'create table c (id int);',
    });
    const before = await databaseState(db.url);

    for (const mode of ['all', 'per-file']) {
      const { result } = await runGuard('apply', db.url, dir, { 'transaction-mode': mode });
      expect(result.status).toBe('failed');
      expect(result.message).toBe(
        `${join(dir, '2_b.sql')}:2:27: Not valid UTF-8 at line 2, column 27 (byte offset 54 in the file: 0xE9 0x27 0x29 0x3B). PostgreSQL and psql refuse such a file; running it with the byte replaced would change the SQL, so nothing was run.\n  Save the file as UTF-8. A byte such as 0xE9 usually means Latin-1 or Windows-1252: iconv -f WINDOWS-1252 -t UTF-8 ${join(dir, '2_b.sql')} converts it.`,
      );
    }
    expect(await databaseState(db.url)).toEqual(before);
    expect(await tables(db.url)).toEqual(['a']);
    expect(await runs(db.url)).toEqual([{ status: 'success', applied: ['1'] }]);
    expect(await query(db.url, ADVISORY_LOCKS)).toEqual([{ n: 0 }]);

    // Saved as UTF-8, the same file applies, with the character it was meant to have.
    addFiles(dir, { '2_b.sql': "create table b (name text);\ninsert into b values ('café');\n" });
    expect((await runGuard('apply', db.url, dir)).result.applied).toEqual(['2', '3']);
    expect(await query(db.url, 'select name from b')).toEqual([{ name: 'café' }]);
  });

  it('refuses a NUL byte, at which the statement would silently end, applying nothing', async () => {
    const db = await newDb();
    const dir = migrationsDir({
      '1_a.sql': Buffer.from('create table a (id int);\nselect 1;\0\ndrop table a;\n'),
    });
    const { result } = await runGuard('apply', db.url, dir);
    expect(result.status).toBe('failed');
    expect(result.message).toContain(`${join(dir, '1_a.sql')}:2:10: A NUL byte at line 2, column 10`);
    expect(await tables(db.url)).toEqual([]);
    expect((await databaseState(db.url)).history).toEqual([]);
  });

  it('stores the checksum earlier versions stored for a CRLF file with a BOM, so upgrading shows no drift', async () => {
    const db = await newDb();
    const dir = migrationsDir({
      '1_t.sql': '\uFEFFcreate table t (id int);\r\ninsert into t values (1);\r\n',
    });
    expect((await runGuard('apply', db.url, dir)).result.status).toBe('success');
    // The value main computed from the decoded text before checksums were taken over bytes.
    expect(await query(db.url, 'select version, checksum from migration_guard.migrations')).toEqual([
      { version: '1', checksum: 'b649b7df2368761a70b4b00395e2e5dff8a3eb0b40bbf26fcf73e054560c4edb' },
    ]);
    addFiles(dir, { '1_t.sql': 'create table t (id int);\ninsert into t values (1);\n' });
    const again = await runGuard('apply', db.url, dir);
    expect(again.result.status).toBe('nothing-to-do');
    expect(await query(db.url, 'select id from t')).toEqual([{ id: 1 }]);
  });
});
