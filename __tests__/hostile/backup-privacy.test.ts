import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { databaseState, databasesFor, query, testServers, ADVISORY_LOCKS } from '../helpers/db.js';
import { addFiles, migrationsDir } from '../helpers/migrations.js';
import { runGuard } from '../helpers/run.js';
import { tempDirsFor } from '../helpers/temp.js';

const tempDir = tempDirsFor();

/** Item 5 of issue 12: backups are private (folder 0700, file 0600, never in a folder someone else owns). */

const localPgDumpMajor = Number(
  /(\d+)\.\d+/.exec(spawnSync('pg_dump', ['--version'], { encoding: 'utf8' }).stdout)?.[1] ?? 0,
);
const NOBODY = 65534;
const mode = (path: string) => statSync(path).mode & 0o777;
const tables = (url: string) =>
  query(url, "select tablename from pg_tables where schemaname = 'public' order by 1").then((rows) =>
    rows.map((r) => r.tablename),
  );
const runs = (url: string) =>
  query(url, "select to_regclass('migration_guard.runs') is not null as t").then(async ([r]) =>
    r.t ? query(url, 'select status, applied from migration_guard.runs order by started_at') : [],
  );

describe.each(testServers())('private backups on $name', (server) => {
  const newDb = databasesFor(server);
  let canDump = false;
  let umask = 0;
  beforeEach(async () => {
    const [{ m }] = await query(server.url, "select current_setting('server_version_num')::int / 10000 as m");
    canDump = localPgDumpMajor >= Number(m);
    // The loosest umask: whatever the tool creates must be private by its own doing.
    umask = process.umask(0o000);
  });
  afterEach(() => {
    process.umask(umask);
  });

  it('apply backs up into a new folder created 0700 at every level, the dump 0600, under umask 000', async () => {
    const db = await newDb();
    const root = tempDir('mg-private-');
    const backupDir = join(root, 'a', 'b');
    const dir = migrationsDir({ '1_a.sql': 'create table a (id int);' });
    const { result } = await runGuard('apply', db.url, dir, { backup: 'required', 'backup-dir': backupDir });
    if (!canDump) {
      // This machine's pg_dump cannot read this server: the run stops before any change or file.
      expect(result.status).toBe('failed');
      expect(result.message).toMatch(/No change was made: backup is required and it failed/);
      expect(existsSync(join(root, 'a'))).toBe(false);
      expect(await tables(db.url)).toEqual([]);
      return;
    }
    expect(result.status).toBe('success');
    expect(dirname(result.backup!.path)).toBe(backupDir);
    expect(mode(result.backup!.path)).toBe(0o600);
    expect(mode(join(root, 'a'))).toBe(0o700);
    expect(mode(backupDir)).toBe(0o700);
    expect(readdirSync(backupDir)).toEqual([result.backup!.path.slice(backupDir.length + 1)]);
    expect(await tables(db.url)).toEqual(['a']);
    expect((await databaseState(db.url)).history).toEqual(['1']);
    expect(await runs(db.url)).toEqual([{ status: 'success', applied: ['1'] }]);
  });

  it('refuses a backup folder another user created first: no backup, no change, their folder untouched', async () => {
    const db = await newDb();
    const dir = migrationsDir({ '1_a.sql': 'create table a (id int);' });
    expect((await runGuard('apply', db.url, dir)).result.status).toBe('success');
    addFiles(dir, { '2_b.sql': 'create table b (id int);' });
    const theirs = join(tempDir('mg-foreign-'), 'migration-guard-backups');
    mkdirSync(theirs);
    chmodSync(theirs, 0o755);
    chownSync(theirs, NOBODY, NOBODY);
    const before = await databaseState(db.url);

    const { result } = await runGuard('apply', db.url, dir, { backup: 'required', 'backup-dir': theirs });
    expect(result.status).toBe('failed');
    expect(result.message).toMatch(/^No change was made: backup is required and it failed\. /);
    if (canDump) {
      expect(result.message).toContain(
        `Backup folder ${theirs} belongs to another user (uid ${NOBODY}; this run is uid ${process.getuid!()}), who could read or replace a backup written there. Nothing was changed.`,
      );
      expect(result.message).toContain(`Point backup-dir at a folder this user owns, or remove ${theirs}`);
    }
    expect(readdirSync(theirs)).toEqual([]);
    expect(mode(theirs)).toBe(0o755);
    expect(statSync(theirs).uid).toBe(NOBODY);
    expect(await databaseState(db.url)).toEqual(before);
    expect(await tables(db.url)).toEqual(['a']);
    expect(await runs(db.url)).toEqual([{ status: 'success', applied: ['1'] }]);
    expect(await query(db.url, ADVISORY_LOCKS)).toEqual([{ n: 0 }]);
  });

  it('makes an existing folder of ours that others can read private (0700), saying so, before writing the dump', async () => {
    const db = await newDb();
    const backupDir = join(tempDir('mg-open-'), 'backups');
    mkdirSync(backupDir);
    chmodSync(backupDir, 0o755);
    const dir = migrationsDir({ '1_a.sql': 'create table a (id int);' });
    const { result, logs } = await runGuard('apply', db.url, dir, {
      backup: 'required',
      'backup-dir': backupDir,
    });
    if (!canDump) {
      expect(result.status).toBe('failed');
      expect(readdirSync(backupDir)).toEqual([]);
      expect(await tables(db.url)).toEqual([]);
      return;
    }
    expect(result.status).toBe('success');
    expect(logs).toContain(
      `warn: Backup folder ${backupDir} was open to other users (mode 0755): made it private (0700), since a backup holds every row of the database.`,
    );
    expect(mode(backupDir)).toBe(0o700);
    expect(mode(result.backup!.path)).toBe(0o600);
    expect(await tables(db.url)).toEqual(['a']);
  });

  describe('without RUNNER_TEMP (the CLI)', () => {
    const saved = {
      HOME: process.env.HOME,
      RUNNER_TEMP: process.env.RUNNER_TEMP,
      XDG: process.env.XDG_STATE_HOME,
    };
    let home = '';
    beforeEach(() => {
      home = tempDir('mg-home-');
      process.env.HOME = home;
      delete process.env.RUNNER_TEMP;
      delete process.env.XDG_STATE_HOME;
    });
    afterEach(() => {
      for (const [key, value] of [
        ['HOME', saved.HOME],
        ['RUNNER_TEMP', saved.RUNNER_TEMP],
        ['XDG_STATE_HOME', saved.XDG],
      ] as const) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    });

    it('backs up into a folder of the user (~/.local/state/supabase-migration-guard/backups), 0700, and the backup command changes nothing', async () => {
      const db = await newDb();
      const dir = migrationsDir({ '1_a.sql': 'create table a (id int);\ninsert into a values (1);' });
      expect((await runGuard('apply', db.url, dir)).result.status).toBe('success');
      const before = await databaseState(db.url);
      const { result } = await runGuard('backup', db.url, dir);
      const expected = join(home, '.local', 'state', 'supabase-migration-guard', 'backups');
      expect(await databaseState(db.url)).toEqual(before);
      if (!canDump) {
        expect(result.status).toBe('failed');
        expect(existsSync(join(home, '.local'))).toBe(false);
        return;
      }
      expect(result.status).toBe('success');
      expect(dirname(result.backup!.path)).toBe(expected);
      expect(mode(result.backup!.path)).toBe(0o600);
      for (const level of [
        '.local',
        '.local/state',
        '.local/state/supabase-migration-guard',
        '.local/state/supabase-migration-guard/backups',
      ])
        expect([level, mode(join(home, level))]).toEqual([level, 0o700]);
      expect(
        existsSync(join(tmpdir(), 'migration-guard-backups', result.backup!.path.split('/').pop()!)),
      ).toBe(false);
    });

    it('takes the safety backup of a restore into the same private folder', async () => {
      const db = await newDb();
      const dir = migrationsDir({ '1_a.sql': 'create table a (id int);\ninsert into a values (1);' });
      expect((await runGuard('apply', db.url, dir)).result.status).toBe('success');
      const backup = await runGuard('backup', db.url, dir);
      if (!canDump) {
        expect(backup.result.status).toBe('failed');
        return;
      }
      const atBackup = await databaseState(db.url);
      addFiles(dir, { '2_b.sql': 'create table b (id int);\ndelete from a;' });
      // The DELETE is the point (a change the restore undoes): accepted past the destructive guard.
      expect((await runGuard('apply', db.url, dir, { 'allow-destructive': 'true' })).result.status).toBe(
        'success',
      );

      const { result } = await runGuard('rollback', db.url, dir, {
        strategy: 'restore',
        'backup-path': backup.result.backup!.path,
        'confirm-restore': db.name,
        backup: 'required',
      });
      expect(result.status).toBe('success');
      const folder = join(home, '.local', 'state', 'supabase-migration-guard', 'backups');
      expect(dirname(result.backup!.path)).toBe(folder);
      expect(result.backup!.path).not.toBe(backup.result.backup!.path);
      expect(mode(result.backup!.path)).toBe(0o600);
      expect(mode(folder)).toBe(0o700);
      expect(readdirSync(folder).sort()).toEqual(
        [backup.result.backup!.path, result.backup!.path].map((p) => p.slice(folder.length + 1)).sort(),
      );
      const restored = await databaseState(db.url);
      expect(restored.history).toEqual(atBackup.history);
      expect(restored.rowCounts).toEqual(atBackup.rowCounts);
      expect(await query(db.url, ADVISORY_LOCKS)).toEqual([{ n: 0 }]);
    });
  });
});
