import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, watch, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as age from 'age-encryption';
import { takeBackup } from '../../src/backup/backup.js';
import { assertDecryptable } from '../../src/backup/encrypted-restore.js';
import { parseIdentities, parseRecipients } from '../../src/backup/age-keys.js';
import { findPgTools, type PgTools } from '../../src/backup/pg-tools.js';
import { createProcessRunner } from '../../src/backup/process.js';
import { restoreBackup } from '../../src/backup/restore.js';
import { scrubberForInputs } from '../../src/config/run-scrubber.js';
import { parseSettings } from '../../src/config/settings.js';
import { silentLogger } from '../../src/logger.js';
import { databasesFor, databaseState, freshDatabase, query, testServers } from '../helpers/db.js';
import { migrationsDir } from '../helpers/migrations.js';
import { capturingLogger, runGuard } from '../helpers/run.js';
import { runResultWith } from '../helpers/report-cases.js';
import { runCommand } from '../../src/commands/index.js';
import { runContextFromEnv } from '../../src/config/run-context.js';
import { renderSummary } from '../../src/report/summary.js';
import { renderComment } from '../../src/report/comment.js';
import { startBoard } from '../../src/report/board-state.js';
import {
  capture,
  contents,
  eachServer,
  failure,
  REAL_BIN,
  REAL_MAJOR,
  removeTempDirs,
  schemaDump,
  serverMajor,
  targetOf,
  tempDir,
} from './support.js';

afterAll(removeTempDirs);

const runner = createProcessRunner();
const servers = testServers().map((s) => ({ ...s, major: serverMajor(s) }));
const NOW = new Date('2026-11-24T21:01:02.345Z');

async function keyPair() {
  const identity = await age.generateIdentity();
  return { identity, recipient: await age.identityToRecipient(identity) };
}

async function decrypt(path: string, identity: string): Promise<Buffer> {
  const d = new age.Decrypter();
  d.addIdentity(identity);
  return Buffer.from(await d.decrypt(new Uint8Array(readFileSync(path))));
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

async function state(url: string) {
  return { schema: schemaDump(url), data: await contents(url) };
}

const SCHEMA = `
  CREATE TYPE mood AS ENUM ('happy', 'sad');
  CREATE TABLE users (id serial PRIMARY KEY, email text UNIQUE NOT NULL, mood mood, bio text);
  CREATE TABLE posts (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                      user_id int REFERENCES users (id) ON DELETE CASCADE, body text);
  CREATE INDEX posts_user ON posts (user_id);
  CREATE VIEW user_posts AS SELECT u.email, count(p.id) AS n FROM users u LEFT JOIN posts p ON p.user_id = u.id GROUP BY u.email;
  CREATE SCHEMA app;
  CREATE TABLE app.settings (key text PRIMARY KEY, value jsonb);
  INSERT INTO users (email, mood, bio) SELECT 'user' || g || '@example.com', 'happy', md5(g::text) FROM generate_series(1, 3000) g;
  INSERT INTO posts (user_id, body) SELECT (g % 3000) + 1, repeat(md5(g::text), 8) FROM generate_series(1, 20000) g;
  INSERT INTO app.settings VALUES ('theme', '{"dark": true}');`;

const CHANGES = `
  INSERT INTO users (email) VALUES ('new@example.com');
  DELETE FROM posts WHERE id <= 100;
  UPDATE users SET email = 'changed@example.com', mood = 'sad' WHERE id = 2;
  ALTER TABLE users ADD COLUMN age int;
  CREATE TABLE brand_new (x int);
  DROP VIEW user_posts;
  CREATE SCHEMA later;
  UPDATE app.settings SET value = '{}';`;

describe('age key inputs', () => {
  it('accepts one or several age public keys and refuses anything else with the reason', async () => {
    const a = (await keyPair()).recipient;
    const b = (await keyPair()).recipient;
    expect(parseRecipients(a)).toEqual({ ok: true, recipients: [a] });
    expect(parseRecipients(` ${a}, ${b}\n`)).toEqual({ ok: true, recipients: [a, b] });
    const wrong = parseRecipients('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI');
    expect(wrong).toMatchObject({ ok: false });
    expect(!wrong.ok && wrong.reason).toMatch(/key 1 of 2 .* is not an age public key/);
  });

  it('names a private key given as the public key without repeating it, and the run scrubs it', async () => {
    const { identity, recipient } = await keyPair();
    const raw = { 'database-url': 'postgres://u:p@localhost/db', 'backup-encryption-key': identity };
    const error = (() => {
      try {
        parseSettings(raw);
      } catch (e) {
        return e as Error;
      }
    })();
    expect(error?.message).toMatch(/backup-encryption-key: the value is an age identity .*the private key/);
    expect(error?.message).not.toContain(identity);
    expect(error?.message).not.toContain(identity.slice(16, 40));
    expect(scrubberForInputs(raw).scrub(`x ${identity} y`)).toBe('x *** y');
    // A public key where the identity belongs is refused the other way round.
    expect(() =>
      parseSettings({ 'database-url': 'postgres://u:p@localhost/db', 'backup-decryption-key': recipient }),
    ).toThrow(/backup-decryption-key: the value is an age public key/);
    expect(() =>
      parseSettings({
        'database-url': 'postgres://u:p@localhost/db',
        'backup-encryption-key': 'age1notbech32!',
      }),
    ).toThrow(/backup-encryption-key: the value \(14 characters, starting "age1"\) is not an age public key/);
  });

  it('a key of the right shape that the age library refuses (bad checksum) stops the backup before any folder is made', async () => {
    const { recipient } = await keyPair();
    const last = recipient.at(-1) === 'q' ? 'p' : 'q';
    const corrupted = recipient.slice(0, -1) + last;
    expect(parseRecipients(corrupted)).toMatchObject({ ok: true });
    const dir = join(tempDir('bad-key'), 'never');
    const error = await failure(
      takeBackup({
        target: targetOf('postgres://u:p@127.0.0.1:1/db'),
        dir,
        environment: 'p',
        tools: {} as PgTools,
        runner,
        logger: silentLogger,
        encryptTo: [corrupted],
      }),
    );
    expect(error.code).toBe('invalid-input');
    expect(error.message).toMatch(/backup-encryption-key: key 1 \(age1.{6}…\) is not a valid age public key/);
    expect(existsSync(dir)).toBe(false);
  });

  it('an identity the library refuses (bad checksum) is named without being repeated', async () => {
    const { identity, recipient } = await keyPair();
    const corrupted = identity.slice(0, -1) + (identity.at(-1) === 'Q' ? 'P' : 'Q');
    expect(parseIdentities(corrupted)).toMatchObject({ ok: true });
    const e = new age.Encrypter();
    e.addRecipient(recipient);
    const path = join(tempDir('bad-identity'), 'p.dump.age');
    writeFileSync(path, await e.encrypt('x'));
    const error = await failure(assertDecryptable(path, [corrupted], 'restore-failed'));
    expect(error.message).toBe('backup-decryption-key is not a valid age identity. Nothing was changed.');
    // A plain file needs no identity: the restore itself reports on it.
    const plain = join(tempDir('plain'), 'p.dump');
    writeFileSync(plain, 'PGDMP');
    await expect(assertDecryptable(plain, undefined, 'restore-failed')).resolves.toBeUndefined();
  });

  it('reads the identity from a whole age-keygen key file, comments skipped', async () => {
    const { identity, recipient } = await keyPair();
    const file = `# created: 2026-11-24T21:01:02Z\n# public key: ${recipient}\n${identity}\n`;
    expect(parseIdentities(file)).toEqual({ ok: true, identities: [identity] });
    const settings = parseSettings({
      'database-url': 'postgres://u:p@localhost/db',
      'backup-decryption-key': file,
      'backup-encryption-key': recipient,
    });
    expect(settings.backupDecryptionKey).toEqual([identity]);
    expect(settings.backupEncryptionKey).toEqual([recipient]);
    expect(scrubberForInputs({ 'backup-decryption-key': file }).scrub(`key=${identity}`)).toBe('key=***');
  });
});

eachServer(servers.filter((s) => s.major <= REAL_MAJOR))('encrypted backup on $name', (server) => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let tools: PgTools;
  let keys: { identity: string; recipient: string };
  beforeAll(async () => {
    db = await freshDatabase(server);
    await query(db.url, SCHEMA);
    tools = await findPgTools({ serverMajor: server.major, runner, logger: silentLogger });
    keys = await keyPair();
  });
  afterAll(async () => db?.drop());

  it('writes only an age file that pg_restore cannot read, whose content is the verified dump', async () => {
    const dir = tempDir('enc');
    const logs = capture();
    const info = await takeBackup({
      target: targetOf(db.url),
      dir,
      environment: 'production',
      sha: 'abc1234ffff',
      now: NOW,
      tools,
      runner,
      logger: logs,
      encryptTo: [keys.recipient],
    });
    expect(info.fileName).toBe('production-20261124T210102Z-abc1234.dump.age');
    expect(readdirSync(dir)).toEqual([info.fileName]);
    expect(statSync(info.path).mode & 0o777).toBe(0o600);
    const stored = readFileSync(info.path);
    expect(stored.subarray(0, 22).toString()).toBe('age-encryption.org/v1\n');
    expect(info.sha256).toBe(sha256(stored));
    expect(info.sizeBytes).toBe(stored.length);
    // Not a dump to anyone without the identity.
    const list = spawnSync(join(REAL_BIN, 'pg_restore'), ['--list', info.path], { encoding: 'utf8' });
    expect(list.status).not.toBe(0);
    expect(list.stderr).toMatch(/input file does not appear to be a valid archive/);
    // With it: exactly the archive the report describes.
    const clear = await decrypt(info.path, keys.identity);
    expect(clear.subarray(0, 5).toString()).toBe('PGDMP');
    expect(info.encrypted).toEqual({
      recipients: 1,
      clearSha256: sha256(clear),
      clearSizeBytes: clear.length,
    });
    const clearPath = join(tempDir('clear'), 'x.dump');
    writeFileSync(clearPath, clear);
    const listing = execFileSync(join(REAL_BIN, 'pg_restore'), ['--list', clearPath], { encoding: 'utf8' });
    expect(info.entries).toBe(listing.split('\n').filter((l) => /^\d+;/.test(l)).length);
    expect(listing).toMatch(/TABLE DATA public posts/);
    expect(info.serverVersion).toMatch(new RegExp(`^${server.major}\\.`));
    expect(logs.lines.join('\n')).toContain(`sha256 ${info.sha256} (age-encrypted; the archive inside`);
  });

  it('encrypts to several recipients (a post-quantum hybrid one too): each identity opens the file', async () => {
    const hybrid = await age.generateHybridIdentity();
    const other = { identity: hybrid, recipient: await age.identityToRecipient(hybrid) };
    expect(other.recipient).toMatch(/^age1pq1/);
    expect(parseRecipients(`${keys.recipient},${other.recipient}`)).toMatchObject({ ok: true });
    expect(parseIdentities(other.identity)).toMatchObject({ ok: true });
    const info = await takeBackup({
      target: targetOf(db.url),
      dir: tempDir('enc'),
      environment: 'p',
      tools,
      runner,
      logger: silentLogger,
      encryptTo: [keys.recipient, other.recipient],
    });
    expect(info.encrypted?.recipients).toBe(2);
    expect(sha256(await decrypt(info.path, keys.identity))).toBe(info.encrypted?.clearSha256);
    expect(sha256(await decrypt(info.path, other.identity))).toBe(info.encrypted?.clearSha256);
  });
  it('never lets a clear-text dump into the backup folder, not even for an instant', async () => {
    const dir = tempDir('watched');
    const seen = new Set<string>();
    const clearHeads: string[] = [];
    const watcher = watch(dir, (_event, name) => {
      if (name) seen.add(name.toString());
    });
    // Besides the names, sample what every file in the folder starts with while the backup runs.
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        for (const name of readdirSync(dir)) {
          seen.add(name);
          try {
            const head = readFileSync(join(dir, name)).subarray(0, 5).toString('latin1');
            if (head === 'PGDMP') clearHeads.push(name);
          } catch {
            // renamed or removed between the listing and the read
          }
        }
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    try {
      const info = await takeBackup({
        target: targetOf(db.url),
        dir,
        environment: 'production',
        now: NOW,
        tools,
        runner,
        logger: silentLogger,
        encryptTo: [keys.recipient],
      });
      await new Promise((r) => setTimeout(r, 50));
      expect([...seen].sort()).toEqual([`.${info.fileName}.partial`, info.fileName]);
      expect(clearHeads).toEqual([]);
      expect(info.sizeBytes).toBeGreaterThan(500_000); // large enough to take many reads of the folder
    } finally {
      sampling = false;
      await sampler;
      watcher.close();
    }
  });

  it('removes the partial file when pg_dump fails, and never prints the password', async () => {
    const dir = tempDir('enc-fail');
    const target = { ...targetOf(db.url), password: 'wrong-password-123' };
    const error = await failure(
      takeBackup({
        target,
        dir,
        environment: 'p',
        tools,
        runner,
        logger: silentLogger,
        encryptTo: [keys.recipient],
      }),
    );
    expect(error.code).toBe('backup-failed');
    expect(error.message).toContain(`pg_dump cannot connect to ${target.display}`);
    expect(error.message).not.toContain('wrong-password-123');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('restores with the identity; a wrong identity or an altered file fails before any change', async () => {
    const restored = await freshDatabase(server);
    try {
      await query(restored.url, SCHEMA);
      const info = await takeBackup({
        target: targetOf(restored.url),
        dir: tempDir('enc'),
        environment: 'p',
        tools,
        runner,
        logger: silentLogger,
        encryptTo: [keys.recipient],
      });
      const atBackup = await state(restored.url);
      await query(restored.url, CHANGES);
      const changed = await state(restored.url);
      expect(changed).not.toEqual(atBackup);
      const restore = (path: string, identities?: string[], workDir?: string) =>
        restoreBackup({
          target: targetOf(restored.url),
          path,
          tools,
          runner,
          logger: silentLogger,
          identities,
          workDir,
        });

      const stranger = await keyPair();
      const wrong = await failure(restore(info.path, [stranger.identity]));
      expect(wrong.code).toBe('restore-failed');
      expect(wrong.message).toContain(`${info.path} was not encrypted to backup-decryption-key`);
      expect(wrong.message).toContain('Nothing was changed');
      expect(await state(restored.url)).toEqual(changed);

      const missing = await failure(restore(info.path));
      expect(missing.message).toContain(`The backup ${info.path} is age-encrypted`);
      expect(missing.hint).toContain('backup-decryption-key');

      // One byte changed in the last chunk: every chunk is authenticated, so the whole file is refused.
      const altered = join(tempDir('altered'), 'altered.dump.age');
      const bytes = readFileSync(info.path);
      bytes[bytes.length - 20] ^= 1;
      writeFileSync(altered, bytes);
      const damaged = await failure(restore(altered, [keys.identity]));
      expect(damaged.message).toMatch(/cannot be decrypted: .*the file is damaged, truncated or was altered/);
      expect(await state(restored.url)).toEqual(changed);

      // The right identity: the database equals the backup, and no SQL script was written on the way.
      // Node's recursive watch on Linux lists each new folder after the event: a work folder gone
      // by then is an ENOENT error, and its files go unseen. Such a watch is tried once more.
      const watchedRestore = async () => {
        const workDir = tempDir('work');
        const written = new Set<string>();
        let missed = false;
        const watcher = watch(
          workDir,
          { recursive: true },
          (_e, name) => name && written.add(name.toString()),
        );
        watcher.on('error', () => (missed = true));
        try {
          const result = await restore(info.path, [keys.identity], workDir);
          expect(result.sha256).toBe(info.sha256);
        } finally {
          watcher.close();
        }
        return { written, missed };
      };
      let watched = await watchedRestore();
      if (watched.missed) watched = await watchedRestore();
      expect(watched.missed).toBe(false);
      expect(await state(restored.url)).toEqual(atBackup);
      const files = [...watched.written].map((n) => n.split('/').pop());
      expect(files).toContain('entries.list');
      expect(files).not.toContain('restore.sql');
    } finally {
      await restored.drop();
    }
  });

  it('commits only on the COMMIT sent last: a psql whose input ends early (as if this process died) changes nothing', async () => {
    const restored = await freshDatabase(server);
    try {
      await query(restored.url, SCHEMA);
      const info = await takeBackup({
        target: targetOf(restored.url),
        dir: tempDir('enc'),
        environment: 'p',
        tools,
        runner,
        logger: silentLogger,
        encryptTo: [keys.recipient],
      });
      await query(restored.url, CHANGES);
      const changed = await state(restored.url);
      // psql behind a pipe that lets only the first 4 KiB of the SQL through, then ends: what psql
      // sees when the process feeding it dies. The preamble (BEGIN, DROP SCHEMA …) runs in full.
      const bin = tempDir('bin');
      const psql = join(bin, 'psql');
      writeFileSync(psql, `#!/bin/sh\nhead -c 4096 | "${join(REAL_BIN, 'psql')}" "$@"\n`, { mode: 0o755 });
      const error = await failure(
        restoreBackup({
          target: targetOf(restored.url),
          path: info.path,
          tools: { ...tools, psql },
          runner,
          logger: silentLogger,
          identities: [keys.identity],
        }),
      );
      expect(error.message).toMatch(/before the restore was committed, so its transaction was rolled back/);
      expect(await state(restored.url)).toEqual(changed);
    } finally {
      await restored.drop();
    }
  });

  it('warns when a backup from a public repository is written unencrypted, and not when it is encrypted', async () => {
    const dir = migrationsDir({});
    const run = async (extra: Record<string, string>) => {
      const raw = {
        command: 'backup',
        'database-url': db.url,
        'migrations-dir': dir,
        'backup-dir': tempDir('pub'),
        ...extra,
      };
      const logs: string[] = [];
      const result = await runCommand({
        settings: parseSettings(raw),
        logger: capturingLogger(logs),
        run: { actor: 'jest@test', publicRepository: true },
        scrubber: scrubberForInputs(raw),
      });
      expect(result.status).toBe('success');
      return { warnings: logs.filter((l) => l.startsWith('warn:')).join('\n'), result };
    };
    const plain = await run({});
    expect(plain.warnings).toMatch(
      /is not encrypted and this repository is public: .*Set backup-encryption-key/,
    );
    // Listed in the report too, so the job summary and the comment show it.
    expect(plain.result.findings).toEqual([
      expect.objectContaining({ code: 'backup-unencrypted', severity: 'warning' }),
    ]);
    expect(renderSummary(plain.result)).toMatch(/is not encrypted and this repository is public/);
    const encrypted = await run({ 'backup-encryption-key': keys.recipient });
    expect(encrypted.warnings).toBe('');
    expect(encrypted.result.findings).toEqual([]);
  });

  it('apply with backup-encryption-key, then rollback with strategy restore and backup-decryption-key: the identity is in no log, report or row', async () => {
    const target = await freshDatabase(server);
    try {
      const dir = migrationsDir({
        '1_accounts.sql':
          "create table accounts (id int primary key, name text);\ninsert into accounts values (1, 'a');",
      });
      const backupDir = tempDir('run');
      const keyFile = `# created: 2026-11-24T21:01:02Z\n# public key: ${keys.recipient}\n${keys.identity}\n`;
      expect((await runGuard('apply', target.url, dir)).result.status).toBe('success');
      const taken = await runGuard('backup', target.url, dir, {
        'backup-dir': backupDir,
        'backup-encryption-key': keys.recipient,
      });
      expect(taken.result.status).toBe('success');
      expect(taken.result.backup).toMatchObject({
        path: expect.stringMatching(/\.dump\.age$/),
        encrypted: { recipients: 1 },
      });
      const atBackup = await state(target.url);
      await query(target.url, "insert into accounts values (2, 'b'); create table extra (i int);");
      const changed = await state(target.url);

      const stranger = await keyPair();
      const refused = await runGuard('rollback', target.url, dir, {
        strategy: 'restore',
        'backup-path': taken.result.backup!.path,
        'confirm-restore': target.name,
        'backup-dir': backupDir,
        'backup-decryption-key': stranger.identity,
      });
      expect(refused.result.status).toBe('failed');
      expect(refused.result.message).toContain('was not encrypted to backup-decryption-key');
      // Refused before the lock, the safety backup and the run record: not one row written.
      expect(await state(target.url)).toEqual(changed);
      expect(readdirSync(backupDir)).toEqual([taken.result.backup!.path.split('/').pop()]);

      const run = await runGuard('rollback', target.url, dir, {
        strategy: 'restore',
        'backup-path': taken.result.backup!.path,
        'confirm-restore': target.name,
        'backup-dir': backupDir,
        backup: 'required',
        'backup-encryption-key': keys.recipient,
        'backup-decryption-key': keyFile,
      });
      expect(run.result.error).toBeUndefined();
      expect(run.result.status).toBe('success');
      expect(run.result.backup?.path).toMatch(/\.dump\.age$/); // the safety copy is encrypted too
      const after = await state(target.url);
      // The run records (migration_guard) are kept across a restore: compare everything else.
      const withoutGuard = (s: typeof after) => ({
        schema: s.schema,
        data: Object.fromEntries(Object.entries(s.data).filter(([k]) => !k.includes('migration_guard'))),
      });
      expect(withoutGuard(after)).toEqual(withoutGuard(atBackup));
      const rows = await query(target.url, 'select row_to_json(r)::text as j from migration_guard.runs r');
      const everything = [
        JSON.stringify(run.result),
        JSON.stringify(refused.result),
        ...run.logs,
        ...refused.logs,
        ...rows.map((r) => r.j),
      ].join('\n');
      expect(everything).not.toContain(keys.identity);
      expect(everything).not.toContain(stranger.identity);
      expect(everything).not.toContain(keys.identity.slice(20, 50));
    } finally {
      await target.drop();
    }
  });
});

describe.each(servers)('restoring an encrypted backup with the wrong identity on $name', (server) => {
  const newDb = databasesFor(server);

  it('is refused before the lock, the safety backup or any row: the database is unchanged', async () => {
    const db = await newDb();
    const dir = migrationsDir({
      '1_t.sql': 'create table t (id int primary key);\ninsert into t values (1);',
    });
    expect((await runGuard('apply', db.url, dir)).result.status).toBe('success');
    const before = await databaseState(db.url);
    const runsBefore = await query(db.url, 'select count(*)::int as n from migration_guard.runs');
    // Any age file will do: the header decides, before a byte of the archive is read.
    const owner = await keyPair();
    const e = new age.Encrypter();
    e.addRecipient(owner.recipient);
    const path = join(tempDir('wrong'), 'p.dump.age');
    writeFileSync(path, await e.encrypt('PGDMP not really'));
    const backupDir = tempDir('safety');
    const stranger = await keyPair();
    const { result, logs } = await runGuard('rollback', db.url, dir, {
      strategy: 'restore',
      'backup-path': path,
      'confirm-restore': db.name,
      backup: 'required',
      'backup-dir': backupDir,
      'backup-decryption-key': stranger.identity,
    });
    expect(result.status).toBe('failed');
    expect(result.message).toContain(`${path} was not encrypted to backup-decryption-key`);
    expect(await databaseState(db.url)).toEqual(before);
    expect(await query(db.url, 'select count(*)::int as n from migration_guard.runs')).toEqual(runsBefore);
    expect(readdirSync(backupDir)).toEqual([]);
    expect([JSON.stringify(result), ...logs].join('\n')).not.toContain(stranger.identity);

    const none = await runGuard('rollback', db.url, dir, {
      strategy: 'restore',
      'backup-path': path,
      'confirm-restore': db.name,
      'backup-dir': backupDir,
    });
    expect(none.result.status).toBe('failed');
    expect(none.result.message).toContain(`The backup ${path} is age-encrypted`);
    expect(await databaseState(db.url)).toEqual(before);
  });
});

describe('reports and run context', () => {
  const backup = {
    path: '/b/p.dump.age',
    sha256: 'a'.repeat(64),
    sizeBytes: 2048,
    durationMs: 1500,
    pgDumpVersion: '15.18',
    entries: 9,
    encrypted: { recipients: 1, clearSha256: 'c'.repeat(64), clearSizeBytes: 1024 },
  };

  it('the job summary gives both hashes and the comment says the backup is encrypted', () => {
    const summary = renderSummary(runResultWith({ backup }));
    expect(summary).toContain(
      `/b/p.dump.age (2.0 KiB, sha256 \`${'a'.repeat(64)}\`, 15.18, 1.50 s); age-encrypted, the archive inside: 1.0 KiB, sha256 \`${'c'.repeat(64)}\``,
    );
    const plain = renderSummary(runResultWith({ backup: { ...backup, encrypted: undefined } }));
    expect(plain).not.toContain('age-encrypted');
    const state = {
      ...startBoard({ environment: 'production', command: 'apply', backupExpected: true, at: NOW }),
      result: runResultWith({ backup }),
    };
    expect(renderComment(state)).toContain(`Backup (age-encrypted): 2.0 KiB, sha256 \`${'a'.repeat(64)}\``);
  });

  it('reads whether the repository is public from the event payload, and only an explicit false counts', () => {
    const dir = tempDir('event');
    const event = (payload: unknown) => {
      const path = join(dir, `${Math.random()}.json`);
      writeFileSync(path, JSON.stringify(payload));
      return runContextFromEnv({ GITHUB_ACTIONS: 'true', GITHUB_EVENT_PATH: path }).publicRepository;
    };
    expect(event({ repository: { private: false } })).toBe(true);
    expect(event({ repository: { private: true } })).toBeUndefined();
    expect(event({ repository: {} })).toBeUndefined();
    expect(
      runContextFromEnv({ GITHUB_ACTIONS: 'true', GITHUB_EVENT_PATH: join(dir, 'missing') }).publicRepository,
    ).toBeUndefined();
  });
});

eachServer(servers.filter((s) => s.major > REAL_MAJOR))(
  'encrypted backup on $name (newer than the local pg_dump)',
  (server) => {
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
            encryptTo: [(await keyPair()).recipient],
          }),
        );
        expect(error.code).toBe('backup-failed');
        expect(error.message).toContain('aborted because of a server version mismatch');
        expect(readdirSync(dir)).toEqual([]);
      } finally {
        await db.drop();
      }
    });
  },
);
