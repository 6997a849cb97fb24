import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { backupFileName, parseToc, pgEnv, takeBackup } from '../../src/backup/backup.js';
import { findPgTools, type PgTools } from '../../src/backup/pg-tools.js';
import { createProcessRunner } from '../../src/backup/process.js';
import { silentLogger } from '../../src/logger.js';
import { freshDatabase, query, testServers } from '../helpers/db.js';
import {
  capture,
  eachServer,
  REAL_BIN,
  REAL_MAJOR,
  recordingRunner,
  serverMajor,
  targetOf,
  tempDir,
  removeTempDirs,
  failure,
} from './support.js';

afterAll(removeTempDirs);

const runner = createProcessRunner();
const servers = testServers().map((s) => ({ ...s, major: serverMajor(s) }));
const NOW = new Date('2026-11-24T21:01:02.345Z');

describe('backup file names and connection environment', () => {
  it('names the file by environment, UTC time and short commit', () => {
    expect(backupFileName('production', NOW, 'ABC1234def5678')).toBe(
      'production-20261124T210102Z-abc1234.dump',
    );
    expect(backupFileName('staging eu/1', NOW)).toBe('staging-eu-1-20261124T210102Z.dump');
    expect(backupFileName('../..', NOW, 'zz')).toBe('default-20261124T210102Z.dump');
  });

  it('passes the connection in PG* variables and drops inherited ones that would redirect it', () => {
    const target = targetOf('postgres://app:s3cret@db.example.com:5433/main?sslmode=require');
    const env = pgEnv(target, 15, { PATH: '/bin', PGSERVICE: 'other', PGHOSTADDR: '10.0.0.1', PGTZ: 'UTC' });
    expect(env).toMatchObject({
      PATH: '/bin',
      PGTZ: 'UTC',
      PGHOST: 'db.example.com',
      PGPORT: '5433',
      PGUSER: 'app',
      PGPASSWORD: 's3cret',
      PGDATABASE: 'main',
      PGSSLMODE: 'require',
    });
    expect(env.PGSERVICE).toBeUndefined();
    expect(env.PGHOSTADDR).toBeUndefined();
  });

  it('parses TOC entries, including multi-word kinds and extensions without an owner', () => {
    const toc = parseToc(
      [
        ';     Dumped from database version: 15.18',
        '7; 2615 16422 SCHEMA - my app postgres',
        '2; 3079 16385 EXTENSION - pgcrypto ',
        '3320; 0 16424 TABLE DATA public a postgres',
        '3175; 2620 16447 TRIGGER my app b tr postgres',
        '3174; 2606 16437 FK CONSTRAINT app b b_a_id_fkey postgres',
      ].join('\n'),
    );
    expect(toc.serverVersion).toBe('15.18');
    expect(toc.entries.map((e) => [e.desc, e.namespace, e.tag, e.owner])).toEqual([
      ['SCHEMA', '-', 'my app', 'postgres'],
      ['EXTENSION', '-', 'pgcrypto', ''],
      ['TABLE DATA', 'public', 'a', 'postgres'],
      ['TRIGGER', 'my app', 'b tr', 'postgres'],
      ['FK CONSTRAINT', 'app', 'b b_a_id_fkey', 'postgres'],
    ]);
    expect(toc.entries[3]).toMatchObject({ id: 3175, tableoid: 2620, oid: 16447 });
  });
});

eachServer(servers.filter((s) => s.major <= REAL_MAJOR))('backup on $name', (server) => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let tools: PgTools;
  beforeAll(async () => {
    db = await freshDatabase(server);
    await query(
      db.url,
      `CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL);
       INSERT INTO items (name) SELECT 'item ' || g FROM generate_series(1, 500) g;
       CREATE SCHEMA app; CREATE TABLE app.notes (body text);`,
    );
    tools = await findPgTools({ serverMajor: server.major, runner, logger: silentLogger });
  });
  afterAll(async () => db?.drop());

  it('writes a verified custom-format dump named by environment, time and commit', async () => {
    const dir = join(tempDir('backups'), 'nested', 'dir');
    const info = await takeBackup({
      target: targetOf(db.url),
      dir,
      environment: 'production',
      sha: 'abc1234ffff',
      now: NOW,
      tools,
      runner,
      logger: silentLogger,
    });

    expect(info.fileName).toBe('production-20261124T210102Z-abc1234.dump');
    expect(info.path).toBe(join(dir, info.fileName));
    expect(readdirSync(dir)).toEqual([info.fileName]);
    const bytes = readFileSync(info.path);
    expect(bytes.subarray(0, 5).toString()).toBe('PGDMP');
    expect(info.sizeBytes).toBe(statSync(info.path).size);
    expect(info.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    const listing = execFileSync(join(REAL_BIN, 'pg_restore'), ['--list', info.path], { encoding: 'utf8' });
    const entries = listing.split('\n').filter((l) => /^\d+;/.test(l));
    expect(info.entries).toBe(entries.length);
    expect(info.entries).toBeGreaterThan(5);
    expect(listing).toMatch(/TABLE DATA public items/);
    expect(info.pgDumpVersion).toBe(tools.pgDump.version);
    expect(info.serverVersion).toMatch(new RegExp(`^${server.major}\\.`));
    expect(info.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('never puts the password or URL on a command line, and does not overwrite an earlier backup', async () => {
    const rec = recordingRunner();
    const dir = tempDir('backups');
    const target = targetOf(db.url);
    const first = await takeBackup({
      target,
      dir,
      environment: 'ci',
      now: NOW,
      tools,
      runner: rec,
      logger: silentLogger,
    });
    const second = await takeBackup({
      target,
      dir,
      environment: 'ci',
      now: NOW,
      tools,
      runner: rec,
      logger: silentLogger,
    });
    expect(second.fileName).toBe('ci-20261124T210102Z-2.dump');
    expect(readdirSync(dir).sort()).toEqual([first.fileName, second.fileName].sort());
    const dump = rec.calls.find((c) => c.file === tools.pgDump.path)!;
    expect(dump.env).toMatchObject({
      PGPASSWORD: target.password,
      PGHOST: target.host,
      PGDATABASE: target.database,
    });
    for (const call of rec.calls) {
      const line = [call.file, ...call.args].join(' ');
      expect(line).not.toContain(target.password!);
      expect(line).not.toContain('postgres://');
    }
    expect(rec.calls.map((c) => c.file)).toEqual([
      tools.pgDump.path,
      tools.pgRestore.path,
      tools.pgDump.path,
      tools.pgRestore.path,
    ]);
  });

  it('keeps the backup private under any umask: folder levels created 0700, the file 0600 before pg_dump opens it', async () => {
    const rec = recordingRunner(async (call) => {
      if (call.file !== tools.pgDump.path) return undefined;
      const file = call.args.find((a) => a.startsWith('--file='))!.slice('--file='.length);
      modesBeforeDump.push(statSync(file).mode & 0o777, statSync(file).size);
      return undefined;
    });
    const modesBeforeDump: number[] = [];
    const root = tempDir('private');
    const previous = process.umask(0o000);
    try {
      const info = await takeBackup({
        target: targetOf(db.url),
        dir: join(root, 'a', 'b'),
        environment: 'prod',
        tools,
        runner: rec,
        logger: silentLogger,
      });
      expect(modesBeforeDump).toEqual([0o600, 0]);
      expect(statSync(info.path).mode & 0o777).toBe(0o600);
      expect(statSync(join(root, 'a')).mode & 0o777).toBe(0o700);
      expect(statSync(join(root, 'a', 'b')).mode & 0o777).toBe(0o700);
      expect(readFileSync(info.path).subarray(0, 5).toString()).toBe('PGDMP');
    } finally {
      process.umask(previous);
    }
  });

  it('refuses a backup folder owned by another user, before pg_dump runs, leaving it as it was', async () => {
    const dir = join(tempDir('foreign'), 'backups');
    mkdirSync(dir, { mode: 0o755 });
    chmodSync(dir, 0o755);
    chownSync(dir, 65534, 65534);
    const rec = recordingRunner();
    const error = await failure(
      takeBackup({
        target: targetOf(db.url),
        dir,
        environment: 'prod',
        tools,
        runner: rec,
        logger: silentLogger,
      }),
    );
    expect(error.code).toBe('backup-failed');
    expect(error.message).toBe(
      `Backup folder ${dir} belongs to another user (uid 65534; this run is uid ${process.getuid!()}), who could read or replace a backup written there. Nothing was changed.`,
    );
    expect(error.hint).toContain('backup-dir');
    expect(rec.calls).toEqual([]);
    expect(readdirSync(dir)).toEqual([]);
    expect(statSync(dir).mode & 0o777).toBe(0o755);
    expect(statSync(dir).uid).toBe(65534);
  });

  it('refuses a link to a folder owned by another user, judging the folder it points to', async () => {
    const root = tempDir('foreign-link');
    mkdirSync(join(root, 'theirs'));
    chownSync(join(root, 'theirs'), 65534, 65534);
    symlinkSync(join(root, 'theirs'), join(root, 'backups'));
    const error = await failure(
      takeBackup({
        target: targetOf(db.url),
        dir: join(root, 'backups'),
        environment: 'prod',
        tools,
        runner,
        logger: silentLogger,
      }),
    );
    expect(error.message).toContain('belongs to another user (uid 65534');
    expect(readdirSync(join(root, 'theirs'))).toEqual([]);
  });

  it('makes its own folder that others could enter private (0700), saying so, and writes the backup there', async () => {
    const dir = join(tempDir('open'), 'backups');
    mkdirSync(dir);
    chmodSync(dir, 0o777);
    const logger = capture();
    const info = await takeBackup({
      target: targetOf(db.url),
      dir,
      environment: 'prod',
      tools,
      runner,
      logger,
    });
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(info.path).mode & 0o777).toBe(0o600);
    expect(logger.lines).toContain(
      `warn: Backup folder ${dir} was open to other users (mode 0777): made it private (0700), since a backup holds every row of the database.`,
    );
  });

  it('replaces a link planted at the partial file name instead of writing through it', async () => {
    const dir = tempDir('planted');
    const elsewhere = join(tempDir('elsewhere'), 'stolen.dump');
    symlinkSync(elsewhere, join(dir, `.${backupFileName('prod', NOW)}.partial`));
    const info = await takeBackup({
      target: targetOf(db.url),
      dir,
      environment: 'prod',
      now: NOW,
      tools,
      runner,
      logger: silentLogger,
    });
    expect(readdirSync(dir)).toEqual([info.fileName]);
    expect(statSync(info.path).mode & 0o777).toBe(0o600);
    expect(() => statSync(elsewhere)).toThrow(/ENOENT/);
  });

  it('refuses a backup directory whose parent is a file, writing nothing', async () => {
    const parent = tempDir('blocked');
    writeFileSync(join(parent, 'file'), 'not a directory');
    const error = await failure(
      takeBackup({
        target: targetOf(db.url),
        dir: join(parent, 'file', 'backups'),
        environment: 'prod',
        tools,
        runner,
        logger: silentLogger,
      }),
    );
    expect(error.code).toBe('backup-failed');
    expect(error.message).toBe(
      `Cannot write the backup to ${join(parent, 'file', 'backups')}: a part of that path is a file, not a directory. Nothing was changed.`,
    );
    expect(error.hint).toContain('backup-dir');
    expect(readdirSync(parent)).toEqual(['file']);
    expect(readFileSync(join(parent, 'file'), 'utf8')).toBe('not a directory');
  });

  it('refuses a backup-dir that is a file, leaving the file as it was', async () => {
    const file = join(tempDir('is-file'), 'backups');
    writeFileSync(file, 'not a folder');
    const error = await failure(
      takeBackup({
        target: targetOf(db.url),
        dir: file,
        environment: 'prod',
        tools,
        runner,
        logger: silentLogger,
      }),
    );
    expect(error.message).toBe(`Backup folder ${file} is a file, not a folder. Nothing was changed.`);
    expect(readFileSync(file, 'utf8')).toBe('not a folder');
  });

  it('removes the partial file and explains a full disk, with the password scrubbed from pg_dump output', async () => {
    const target = targetOf(db.url);
    const dir = tempDir('full');
    const rec = recordingRunner(async (call) => {
      if (call.file !== tools.pgDump.path) return undefined;
      const file = call.args.find((a) => a.startsWith('--file='))!.slice('--file='.length);
      writeFileSync(file, 'PGDMP partial');
      return {
        code: 1,
        stdout: '',
        stderr: `pg_dump: error: could not write to output file: No space left on device (password ${target.password})\n`,
      };
    });
    const error = await failure(
      takeBackup({ target, dir, environment: 'prod', tools, runner: rec, logger: silentLogger }),
    );
    expect(error.message).toContain(`The backup could not be written to ${dir}: the disk is full or failing`);
    expect(error.message).toContain('No space left on device (password ***)');
    expect(error.message).not.toContain(target.password!);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('does not count a backup that cannot be read back, and removes it', async () => {
    const dir = tempDir('unreadable');
    const rec = recordingRunner(async (call) => {
      if (call.file !== tools.pgRestore.path) return undefined;
      truncateSync(call.args[1], 64);
      return undefined;
    });
    const error = await failure(
      takeBackup({
        target: targetOf(db.url),
        dir,
        environment: 'prod',
        tools,
        runner: rec,
        logger: silentLogger,
      }),
    );
    expect(error.code).toBe('backup-failed');
    expect(error.message).toMatch(
      /cannot be read back as a pg_dump custom-format archive: .*could not read from input file/,
    );
    expect(readdirSync(dir)).toEqual([]);
  });

  it('gives up on a table lock another session holds within the lock wait, and says so', async () => {
    const holder = new pg.Client({ connectionString: db.url, application_name: 'nightly-maintenance' });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE app.notes IN ACCESS EXCLUSIVE MODE');
      const dir = tempDir('locked');
      const error = await failure(
        takeBackup({
          target: targetOf(db.url),
          dir,
          environment: 'prod',
          tools,
          runner,
          logger: silentLogger,
          lockWaitTimeoutMs: 300,
        }),
      );
      expect(error.message).toMatch(
        /^pg_dump gave up: another session holds a lock on a table \(it waited 300 ms, the lock-timeout, for a share lock rather than queue behind it\)\. Nothing was changed\./,
      );
      expect(error.message).toContain('LOCK TABLE app.notes');
      expect(error.hint).toMatch(/pg_locks/);
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      await holder.query('ROLLBACK').catch(() => {});
      await holder.end();
    }
  });

  it('explains a pg_dump error such as a wrong password', async () => {
    const dir = tempDir('denied');
    const target = { ...targetOf(db.url), password: 'wrong-password-123' };
    const error = await failure(
      takeBackup({ target, dir, environment: 'prod', tools, runner, logger: silentLogger }),
    );
    expect(error.message).toContain(`pg_dump cannot connect to ${target.display}`);
    expect(error.message).toMatch(/password authentication failed/);
    expect(error.message).not.toContain('wrong-password-123');
    expect(readdirSync(dir)).toEqual([]);
  });
});

eachServer(servers.filter((s) => s.major > REAL_MAJOR))(
  'backup on $name (newer than the local pg_dump)',
  (server) => {
    it('finds no suitable pg_dump and says which major is needed, what was found and how to fix it', async () => {
      const error = await failure(findPgTools({ serverMajor: server.major, runner, logger: silentLogger }));
      expect(error.code).toBe('pg-tools');
      expect(error.message).toContain(`the server runs PostgreSQL ${server.major}`);
      expect(error.message).toMatch(
        new RegExp(`/usr/lib/postgresql/${REAL_MAJOR}/bin/pg_dump \\(${REAL_MAJOR}\\.\\d+\\)`),
      );
      expect(error.hint).toContain(`postgresql-client-${server.major}`);
    });

    it('stops on the server version mismatch when pg_dump is forced, leaving no file', async () => {
      const db = await freshDatabase(server);
      try {
        const tools = await findPgTools({
          serverMajor: REAL_MAJOR,
          explicitPath: join(REAL_BIN, 'pg_dump'),
          runner,
          logger: silentLogger,
        });
        const dir = tempDir('mismatch');
        const error = await failure(
          takeBackup({
            target: targetOf(db.url),
            dir,
            environment: 'prod',
            tools,
            runner,
            logger: silentLogger,
          }),
        );
        expect(error.code).toBe('backup-failed');
        expect(error.message).toContain(
          `pg_dump ${tools.pgDump.version} cannot back up this server: it aborted because of a server version mismatch (server version ${server.major})`,
        );
        expect(error.message).toContain('pg_dump: error: aborting because of server version mismatch');
        expect(error.hint).toContain(`postgresql-client-${server.major}`);
        expect(readdirSync(dir)).toEqual([]);
      } finally {
        await db.drop();
      }
    });
  },
);
