import { describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { databaseState, query, testServers, databasesFor } from '../helpers/db.js';
import { addFiles, migrationsDir } from '../helpers/migrations.js';
import { runGuard } from '../helpers/run.js';
import { spawnSync } from 'node:child_process';
import { tempDirsFor } from '../helpers/temp.js';

const tempDir = tempDirsFor();

/** The major version of the pg_dump on PATH (what this machine's backups can reach). */
const localPgDumpMajor = Number(
  /(\d+)\.\d+/.exec(spawnSync('pg_dump', ['--version'], { encoding: 'utf8' }).stdout)?.[1] ?? 0,
);

describe.each(testServers())('backup stage on $name', (server) => {
  const newDb = databasesFor(server);
  const serverMajor = async (url: string) =>
    Number((await query(url, "select current_setting('server_version_num')::int / 10000 as m"))[0].m);

  it('apply takes a verified pg_dump backup before any change when pg_dump is new enough, and stops before any change when it is not', async () => {
    const db = await newDb();
    const backupDir = tempDir('mg-backups-');
    const dir = migrationsDir({ '1_one.sql': 'create table one (id int);\ninsert into one values (1);' });
    await runGuard('apply', db.url, dir);
    addFiles(dir, { '2_two.sql': 'create table two (id int);' });
    const major = await serverMajor(db.url);
    const { result } = await runGuard('apply', db.url, dir, {
      backup: 'required',
      'backup-dir': backupDir,
      environment: 'staging',
    });
    if (localPgDumpMajor >= major) {
      expect(result.status).toBe('success');
      expect(result.backup?.path).toMatch(new RegExp(`^${backupDir}/staging-\\d{8}T\\d{6}Z.*\\.dump$`));
      expect(result.backup?.sha256).toBe(
        createHash('sha256').update(readFileSync(result.backup!.path)).digest('hex'),
      );
      expect(result.backup?.entries).toBeGreaterThan(0);
      expect(result.backup?.pgDumpVersion).toMatch(new RegExp(`^${localPgDumpMajor}\\.`));
    } else {
      expect(result.status).toBe('failed');
      expect(result.message).toMatch(/No change was made: backup is required and it failed/);
      expect(result.message).toContain(`${major}`);
      expect(readdirSync(backupDir)).toEqual([]);
      expect(await query(db.url, "select tablename from pg_tables where schemaname = 'public'")).toEqual([
        { tablename: 'one' },
      ]);

      const optional = await runGuard('apply', db.url, dir, { backup: 'optional', 'backup-dir': backupDir });
      expect(optional.result.status).toBe('success');
      expect(optional.result.findings.find((f) => f.code === 'backup-failed')?.message).toMatch(
        /Backup failed \(backup: optional\)/,
      );
    }
  });

  it('an unwritable backup directory or a missing pg-dump-path stops the run before any change', async () => {
    const db = await newDb();
    const dir = migrationsDir({ '1_one.sql': 'create table one (id int);' });
    const file = join(tempDir('mg-file-'), 'not-a-dir');
    writeFileSync(file, 'x');
    const unwritable = await runGuard('apply', db.url, dir, {
      backup: 'required',
      'backup-dir': join(file, 'backups'),
    });
    expect(unwritable.result.status).toBe('failed');
    expect(unwritable.result.message).toMatch(/No change was made: backup is required/);
    const missing = await runGuard('apply', db.url, dir, {
      backup: 'required',
      'pg-dump-path': '/nonexistent/bin/pg_dump',
    });
    expect(missing.result.status).toBe('failed');
    expect(missing.result.message).toMatch(/\/nonexistent\/bin\/pg_dump/);
    expect(existsSync(join(file, 'backups'))).toBe(false);
    expect(await query(db.url, "select tablename from pg_tables where schemaname = 'public'")).toEqual([]);
  });

  it('backup, then change data and schema, then rollback with strategy restore: the database equals the backup', async () => {
    const db = await newDb();
    const dir = migrationsDir({
      '1_accounts.sql':
        "create table accounts (id int primary key, name text);\ninsert into accounts values (1, 'a'), (2, 'b');",
    });
    await runGuard('apply', db.url, dir);
    const backupDir = tempDir('mg-backups-');
    const backup = await runGuard('backup', db.url, dir, { 'backup-dir': backupDir });
    if (localPgDumpMajor < (await serverMajor(db.url))) {
      // This machine's pg_dump cannot read this server: the backup command says so and writes nothing.
      expect(backup.result.status).toBe('failed');
      expect(backup.result.message).toMatch(/pg_dump/);
      expect(readdirSync(backupDir)).toEqual([]);
      return;
    }
    expect(backup.result.status).toBe('success');
    const atBackup = await databaseState(db.url);

    addFiles(dir, {
      '2_more.sql':
        "alter table accounts add column email text;\ncreate table extra (id int);\ndelete from accounts where id = 1;\ninsert into accounts values (3, 'c', 'c@x');",
    });
    expect((await runGuard('apply', db.url, dir)).result.status).toBe('success');
    expect(await databaseState(db.url)).not.toEqual(atBackup);

    const refused = await runGuard('rollback', db.url, dir, {
      strategy: 'restore',
      'backup-path': backup.result.backup!.path,
    });
    expect(refused.result.status).toBe('failed');
    expect(refused.result.message).toMatch(/needs confirm-restore: mg_/);

    const { result } = await runGuard('rollback', db.url, dir, {
      strategy: 'restore',
      'backup-path': backup.result.backup!.path,
      'confirm-restore': db.name,
      'backup-dir': backupDir,
      backup: 'required',
    });
    expect(result.error).toBeUndefined();
    expect(result.status).toBe('success');
    expect(result.rollback).toMatchObject({
      kind: 'restore',
      succeeded: true,
      backupPath: backup.result.backup!.path,
    });
    expect(result.backup?.path).toBeDefined(); // a safety copy of what the restore discarded
    expect(await databaseState(db.url)).toEqual(atBackup);
    const restoreRun = (
      await query(
        db.url,
        'select command, status, details from migration_guard.runs order by id desc limit 1',
      )
    )[0];
    expect(restoreRun).toMatchObject({
      command: 'rollback',
      status: 'success',
      details: {
        strategy: 'restore',
        restoredBackup: backup.result.backup!.path,
        confirmedDatabase: db.name,
        safetyBackup: result.backup!.path,
      },
    });
    // the restored history and our checksums agree: version 2 is pending again
    const status = await runGuard('status', db.url, dir);
    expect(status.result.status_rows?.map((r) => [r.version, r.state, r.checksum])).toEqual([
      ['1', 'applied', 'ok'],
      ['2', 'pending', undefined],
    ]);
  });
});
