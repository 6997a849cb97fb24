import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { verifyChain, type AuditEvent } from '../../src/audit/chain.js';
import { ensureAuditLog } from '../../src/audit/schema.js';
import { appendAuditEvents, readAuditLog } from '../../src/audit/store.js';
import { databasesFor, query, testServers, withPg, waitForMigrationQuery } from '../helpers/db.js';
import { addFiles, migrationsDir } from '../helpers/migrations.js';
import { runGuard } from '../helpers/run.js';
import { startProxy } from '../helpers/proxy.js';
import { AuditRecorder } from '../../src/audit/recorder.js';
import { scrubberForInputs } from '../../src/config/run-scrubber.js';
import { parseSettings } from '../../src/config/settings.js';
import { closeClient, connect } from '../../src/db/connect.js';
import { MIGRATION_LOCK_ID } from '../../src/db/lock.js';
import { newResult } from '../../src/commands/context.js';
import { silentLogger } from '../../src/logger.js';
import { tempDirsFor } from '../helpers/temp.js';

async function auditRows(
  url: string,
): Promise<
  Array<{ id: string; event: string; outcome: string | null; version: string | null; error: string | null }>
> {
  return query(url, 'select id, event, outcome, version, error from migration_guard.audit_log order by id');
}

const waitForQuery = waitForMigrationQuery;

/** Text that would end or corrupt a literal of any kind, were it not quoted safely. */
const QUOTING = `it's a \\ back'slash'; $$ $mg_rows$ $mg_rows_1$ E'\\x' "; COMMIT; --`;

function event(
  at: string,
  runKey: string,
  name: AuditEvent['event'],
  extra: Partial<AuditEvent> = {},
): AuditEvent {
  return {
    at,
    runKey,
    runId: null,
    event: name,
    environment: 'production',
    command: 'apply',
    outcome: null,
    version: null,
    durationMs: null,
    actor: 'octocat',
    triggeringActor: 'octocat',
    eventName: 'push',
    repository: 'acme/app',
    ref: 'refs/heads/main',
    sha: 'abc123',
    prNumber: null,
    runUrl: null,
    osUser: null,
    host: null,
    reason: null,
    error: null,
    details: null,
    ...extra,
  };
}

describe.each(testServers())('audit log on $name', (server) => {
  const newDb = databasesFor(server);
  const tempDir = tempDirsFor();

  it('writes each committed file as it happens, while the run goes on (live, from the stage events)', async () => {
    const db = await newDb();
    // The sequence makes file 2 wait for a lock only in the real pass, not in the rehearsal.
    const dir = migrationsDir({ '0_seq.sql': 'create sequence flaky;' });
    expect((await runGuard('apply', db.url, dir)).result.status).toBe('success');
    addFiles(dir, {
      '1_a.sql': 'create table a (id int);',
      '2_wait.sql': "select pg_advisory_xact_lock(4242) where nextval('flaky') >= 2;",
    });
    await withPg(db.url, async (holder) => {
      await holder.query('select pg_advisory_lock(4242)');
      let settled = false;
      const run = runGuard('apply', db.url, dir, {
        'transaction-mode': 'per-file',
        'lock-timeout': '300ms',
        'lock-retries': '30',
      }).finally(() => (settled = true));
      // File 1 and the first lock retry reach the log while file 2 still waits for the lock.
      let live: Array<{ event: string; version: string | null }> = [];
      for (let i = 0; i < 400 && !live.some((r) => r.event === 'lock-retry'); i++) {
        await new Promise((r) => setTimeout(r, 25));
        live = await query(
          db.url,
          "select event, version from migration_guard.audit_log where run_id is distinct from 1 and event <> 'run-ended' order by id",
        ).then(
          (rows) => rows as typeof live,
          () => [],
        );
      }
      expect(settled).toBe(false);
      expect(live.map((r) => r.event)).toEqual(expect.arrayContaining(['migration-applied', 'lock-retry']));
      expect(live.find((r) => r.event === 'migration-applied')).toEqual({
        event: 'migration-applied',
        version: '1',
      });
      await holder.query('select pg_advisory_unlock(4242)');
      expect((await run).result.status).toBe('success');
    });
    const rows = await auditRows(db.url);
    const second = rows.slice(rows.map((r) => r.event).lastIndexOf('run-started'));
    // Written once each: the rows that went out live are not repeated from the result.
    expect(second.filter((r) => r.event !== 'lock-retry').map((r) => [r.event, r.version])).toEqual([
      ['run-started', null],
      ['migration-applied', '1'],
      ['migration-applied', '2'],
      ['run-ended', null],
    ]);
    expect(second.filter((r) => r.event === 'lock-retry').length).toBeGreaterThan(0);
    const verified = await runGuard('audit', db.url, dir, {
      'report-path': join(tempDir('mg-audit-'), 'r.json'),
    });
    expect(verified.result.audit?.valid).toBe(true);
  });

  it('records a successful apply as run started, one row per applied file and run ended, in one valid chain', async () => {
    const db = await newDb();
    const dir = migrationsDir({
      '1_a.sql': 'create table a (id int);',
      '2_b.sql': 'create table b (id int);',
    });
    const { result } = await runGuard('apply', db.url, dir, { reason: 'release 42' });
    expect(result.status).toBe('success');
    const rows = await auditRows(db.url);
    expect(rows.map((r) => [r.event, r.version, r.outcome])).toEqual([
      ['run-started', null, null],
      ['migration-applied', '1', null],
      ['migration-applied', '2', null],
      ['run-ended', null, 'success'],
    ]);
    const stored = await query(
      db.url,
      'select reason, run_id, os_user, host, environment, command from migration_guard.audit_log',
    );
    expect(new Set(stored.map((r) => r.reason))).toEqual(new Set(['release 42']));
    // A local run names the OS user and host.
    expect(stored.every((r) => r.os_user && r.host)).toBe(true);
    expect(Number(stored[stored.length - 1].run_id)).toBe(result.runId);
    expect(verifyChain(await withPg(db.url, (c) => readAuditLog(c as never)))).toBeUndefined();
  });

  it('refuses UPDATE, DELETE and TRUNCATE, also for the table owner who is not a superuser', async () => {
    const db = await newDb();
    const role = `mg_owner_${Math.random().toString(36).slice(2, 8)}`;
    await query(db.url, `create role ${role} login password 'owner-pass'`);
    await query(db.url, `grant create on database ${db.name} to ${role}`);
    try {
      const url = new URL(db.url);
      url.username = role;
      url.password = 'owner-pass';
      const dir = migrationsDir({ '1_a.sql': 'create schema app;\ncreate table app.a (id int);' });
      const applied = await runGuard('apply', url.toString(), dir);
      expect(applied.result.message).toMatch(/^Applied 1/);
      const owner = await query(
        db.url,
        "select tableowner from pg_tables where schemaname = 'migration_guard' and tablename = 'audit_log'",
      );
      expect(owner).toEqual([{ tableowner: role }]);
      for (const sql of [
        "update migration_guard.audit_log set error = 'x'",
        'delete from migration_guard.audit_log',
        'truncate migration_guard.audit_log',
      ]) {
        await expect(query(url.toString(), sql)).rejects.toThrow(/append-only|permission denied/);
      }
      // Even a superuser meets the trigger (ENABLE ALWAYS: session_replication_role does not silence it).
      await expect(
        withPg(db.url, async (c) => {
          await c.query('set session_replication_role = replica');
          await c.query("update migration_guard.audit_log set error = 'x'");
        }),
      ).rejects.toThrow(/append-only/);
      await expect(query(db.url, 'truncate migration_guard.audit_log')).rejects.toThrow(/append-only/);
      expect((await auditRows(db.url)).length).toBe(3);
    } finally {
      await query(db.url, `drop owned by ${role} cascade`).catch(() => {});
      await withPg(server.url, (c) => c.query(`drop database if exists ${db.name} with (force)`));
      await query(server.url, `drop role if exists ${role}`);
    }
  });

  it('keeps the rows of a failed and rolled-back run, with the error', async () => {
    const db = await newDb();
    const dir = migrationsDir({ '1_a.sql': 'create table a (id int);' });
    await runGuard('apply', db.url, dir);
    addFiles(dir, { '2_b.sql': 'create table b (id int);', '3_bad.sql': 'select 1/0;' });
    const { result } = await runGuard('apply', db.url, dir);
    expect(result.status).toBe('rolled-back');
    const rows = (await auditRows(db.url)).slice(3);
    expect(rows.map((r) => [r.event, r.version, r.outcome])).toEqual([
      ['run-started', null, null],
      ['migration-rolled-back', '2', 'undone with the failed transaction'],
      ['migration-failed', '3', 'failed'],
      ['run-ended', null, 'rolled-back'],
    ]);
    expect(rows[2].error).toMatch(/3_bad\.sql:1: division by zero/);
    expect(rows[3].error).toMatch(/division by zero/);
  });

  it('keeps the rows of a cancelled run and of a run whose connection was killed', async () => {
    const db = await newDb();
    const dir = migrationsDir({ '1_slow.sql': 'create table s (id int);\nselect pg_sleep(30);' });
    const controller = new AbortController();
    const cancelled = runGuard('apply', db.url, dir, {}, { signal: controller.signal });
    // The run record and audit log need our schema first: the first run creates it.
    await waitForQuery(db.url, '%pg_sleep(30)%');
    controller.abort('SIGTERM');
    expect((await cancelled).result.cancelled).toBe(true);

    const killed = runGuard('apply', db.url, dir);
    const pid = await waitForQuery(db.url, '%pg_sleep(30)%');
    await query(db.url, 'select pg_terminate_backend($1)', [pid]);
    expect((await killed).result.status).toBe('rolled-back');

    const ends = (await auditRows(db.url)).filter((r) => r.event === 'run-ended');
    expect(ends.map((r) => r.outcome)).toEqual(['cancelled', 'rolled-back']);
    const all = await auditRows(db.url);
    expect(all.filter((r) => r.event === 'run-started')).toHaveLength(2);
  });

  it('ten writers at once keep one valid chain', async () => {
    const db = await newDb();
    await withPg(db.url, (c) => ensureAuditLog(c as never));
    await Promise.all(
      Array.from({ length: 10 }, (_, w) =>
        withPg(db.url, async (c) => {
          for (let batch = 0; batch < 3; batch++) {
            const at = new Date().toISOString();
            await appendAuditEvents(c as never, [
              event(at, `writer-${w}`, 'run-started'),
              event(at, `writer-${w}`, 'run-ended', {
                outcome: 'success',
                details: { batch, w, nested: { b: 1, a: [2, 'x'] } },
              }),
            ]);
          }
        }),
      ),
    );
    const rows = await withPg(db.url, (c) => readAuditLog(c as never));
    expect(rows).toHaveLength(60);
    expect(verifyChain(rows)).toBeUndefined();
  });

  it('a writer that names the row it wrote last appends in one message, and after the real newest row when another writer came in between', async () => {
    const db = await newDb();
    await withPg(db.url, (c) => ensureAuditLog(c as never));
    const at = new Date().toISOString();
    const [mine] = await withPg(db.url, (c) =>
      appendAuditEvents(c as never, [event(at, 'mine', 'run-started')]),
    );
    const [other] = await withPg(db.url, (c) =>
      appendAuditEvents(c as never, [event(at, 'other', 'run-started')]),
    );
    // Values every row of a batch shares go to the server once: quoting characters among them.
    const shared = { reason: QUOTING, ref: QUOTING, details: { note: QUOTING } };
    const count = async (fn: (c: never) => Promise<unknown>) =>
      withPg(db.url, async (c) => {
        let calls = 0;
        const counted = new Proxy(c, {
          get: (target, key) =>
            key === 'query'
              ? (...args: unknown[]) => {
                  calls++;
                  return (target.query as (...a: unknown[]) => unknown).apply(target, args);
                }
              : Reflect.get(target, key),
        });
        const result = await fn(counted as never);
        return { calls, result };
      });
    // Stale: "other" came after "mine"; nothing goes in after "mine", the rows follow "other".
    const stale = await count((c) =>
      appendAuditEvents(
        c,
        [
          event(at, 'mine', 'migration-applied', { version: '1', ...shared }),
          event(at, 'mine', 'migration-applied', { version: '2', ...shared }),
        ],
        { after: mine.hash },
      ),
    );
    const afterStale = stale.result as Array<{ prevHash: string; hash: string }>;
    expect(stale.calls).toBe(3); // the attempt, then BEGIN with the newest hash, then the rows
    expect(afterStale[0].prevHash).toBe(other.hash);
    // Fresh: the newest row is the writer's own; one message.
    const fresh = await count((c) =>
      appendAuditEvents(c, [event(at, 'mine', 'run-ended', { outcome: 'success' })], {
        after: afterStale[1].hash,
      }),
    );
    expect(fresh.calls).toBe(1);
    expect((fresh.result as Array<{ prevHash: string }>)[0].prevHash).toBe(afterStale[1].hash);
    const rows = await withPg(db.url, (c) => readAuditLog(c as never));
    expect(rows.map((r) => [r.runKey, r.event, r.version])).toEqual([
      ['mine', 'run-started', null],
      ['other', 'run-started', null],
      ['mine', 'migration-applied', '1'],
      ['mine', 'migration-applied', '2'],
      ['mine', 'run-ended', null],
    ]);
    expect(rows[2].reason).toBe(QUOTING);
    expect(rows[3].ref).toBe(QUOTING);
    expect(rows[3].details).toEqual({ note: QUOTING });
    expect(verifyChain(rows)).toBeUndefined();
    await expect(
      withPg(db.url, (c) =>
        appendAuditEvents(c as never, [event(at, 'x', 'run-started')], { after: "0'; DROP TABLE x; --" }),
      ),
    ).rejects.toThrow('not an audit row hash');
  });

  it('stores a large batch exactly as it hashed it: nulls, numbers, nested details, non-ASCII, a cut emoji, quoting characters', async () => {
    const db = await newDb();
    await withPg(db.url, (c) => ensureAuditLog(c as never));
    const at = new Date().toISOString();
    const events = Array.from({ length: 3000 }, (_, i) =>
      event(at, 'big-run', 'migration-applied', {
        version: String(i),
        durationMs: i * 7,
        prNumber: i % 2 ? 42 : null,
        // A lone high surrogate; the characters of SQL quoting, the rows' own dollar-quote tag among them.
        error: i === 7 ? `failed near "😀`.slice(0, -1) : i === 8 ? QUOTING : null,
        details:
          i % 3 ? { file: `${i}_straße_日本.sql`, list: [1, null, 'x'], deep: { z: 1, a: true } } : null,
      }),
    );
    await withPg(db.url, (c) => appendAuditEvents(c as never, events));
    const rows = await withPg(db.url, (c) => readAuditLog(c as never));
    expect(rows).toHaveLength(3000);
    expect(rows.map((r) => r.version)).toEqual(events.map((e) => e.version));
    expect(rows[7].error).toBe('failed near "\uFFFD');
    expect(rows[8].error).toBe(QUOTING);
    expect(rows[1].details).toEqual({
      file: '1_straße_日本.sql',
      list: [1, null, 'x'],
      deep: { z: 1, a: true },
    });
    expect(verifyChain(rows)).toBeUndefined();
  });

  it('audit fails and names the row a superuser edited with the trigger disabled', async () => {
    const db = await newDb();
    const dir = migrationsDir({
      '1_a.sql': 'create table a (id int);',
      '2_b.sql': 'create table b (id int);',
    });
    await runGuard('apply', db.url, dir);
    const good = await runGuard('audit', db.url, dir, {
      'report-path': join(tempDir('mg-audit-'), 'r.json'),
    });
    expect(good.result.status).toBe('success');
    expect(good.result.audit?.valid).toBe(true);
    const target = (await auditRows(db.url)).find((r) => r.version === '2')!;
    await withPg(db.url, async (c) => {
      await c.query('alter table migration_guard.audit_log disable trigger all');
      await c.query("update migration_guard.audit_log set actor = 'someone-else' where id = $1", [target.id]);
      await c.query('alter table migration_guard.audit_log enable always trigger audit_log_no_change');
    });
    const bad = await runGuard('audit', db.url, dir, { 'report-path': join(tempDir('mg-audit-'), 'r.json') });
    expect(bad.result.status).toBe('failed');
    expect(bad.result.audit?.firstBroken?.id).toBe(Number(target.id));
    expect(bad.result.message).toMatch(new RegExp(`broken at row ${target.id} \\(migration-applied`));
    expect(bad.result.message).toMatch(/changed after it was written/);
  });

  it('exports exactly the runs of a time range as Markdown, CSV and JSON', async () => {
    const db = await newDb();
    await withPg(db.url, async (c) => {
      await ensureAuditLog(c as never);
      for (const [day, key] of [
        ['2026-01-01', 'run-jan-01'],
        ['2026-01-15', 'run-jan-15'],
        ['2026-02-01', 'run-feb-01'],
      ]) {
        await appendAuditEvents(c as never, [
          event(`${day}T10:00:00.000Z`, key, 'run-started', {
            eventName: 'workflow_dispatch',
            reason: `reason ${key}`,
          }),
          event(`${day}T10:00:01.000Z`, key, 'migration-rolled-back', {
            version: '7',
            outcome: 'rollback command',
          }),
          event(`${day}T10:00:02.000Z`, key, 'run-ended', { outcome: 'failed', error: `boom ${key}` }),
        ]);
      }
    });
    const dir = tempDir('mg-audit-');
    const { result } = await runGuard('audit', db.url, dir, {
      since: '2026-01-10',
      until: '2026-01-20T00:00:00Z',
      'report-path': join(dir, 'report.json'),
    });
    expect(result.status).toBe('success');
    expect(result.audit).toMatchObject({ rows: 9, valid: true, runs: 1, events: 3 });
    const files = result.audit!.files;
    const markdown = readFileSync(files.markdown, 'utf8');
    const csv = readFileSync(files.csv, 'utf8');
    const json = JSON.parse(readFileSync(files.json, 'utf8'));
    for (const text of [markdown, csv, JSON.stringify(json)]) {
      expect(text).toContain('boom run-jan-15');
      expect(text).not.toContain('run-jan-01');
      expect(text).not.toContain('run-feb-01');
    }
    expect(json.runs.map((r: { runKey: string }) => r.runKey)).toEqual(['run-jan-15']);
    expect(csv.trim().split('\r\n')).toHaveLength(4);
    expect(markdown).toMatch(/### Rollbacks\n\n- 2026-01-15T10:00:00.000Z production: 7/);
    expect(markdown).toMatch(/### Manual operations\n\n- .* by octocat: failed; reason: reason run-jan-15/);
    expect(markdown).toMatch(/### Failed runs\n\n- .*: failed: boom run-jan-15/);
  });

  it('a run that touched nothing on a fresh database leaves no audit log; a failure quoting the password is scrubbed', async () => {
    const db = await newDb();
    const unparsable = migrationsDir({ '1_bad.sql': 'create tabel x (id int);' });
    expect((await runGuard('apply', db.url, unparsable)).result.status).toBe('failed');
    expect(await query(db.url, "select to_regclass('migration_guard.audit_log') as t")).toEqual([
      { t: null },
    ]);

    const password = new URL(db.url).password;
    const dir = migrationsDir({ '1_leak.sql': `select '${password}'::int;` });
    const { result } = await runGuard('apply', db.url, dir);
    expect(result.status).toBe('rolled-back');
    const text = JSON.stringify(await query(db.url, 'select * from migration_guard.audit_log'));
    expect(text).toContain('invalid input syntax');
    expect(text).not.toContain(password);

    // The compliance exports hold the failed run's error, scrubbed too.
    const exportDir = tempDir('mg-audit-');
    const audit = await runGuard('audit', db.url, dir, { 'report-path': join(exportDir, 'r.json') });
    expect(audit.result.status).toBe('success');
    for (const file of Object.values(audit.result.audit!.files)) {
      const exported = readFileSync(file, 'utf8');
      expect(exported).toMatch(/invalid input syntax/);
      expect(exported).not.toContain(password);
      expect(exported).not.toContain(encodeURIComponent(password));
    }
  });

  it('an apply with nothing to do, or stopped before it planned, logs in once: its rows go out on the session', async () => {
    const db = await newDb();
    const dir = migrationsDir({ '1_a.sql': 'create table a (id int);' });
    expect((await runGuard('apply', db.url, dir)).result.status).toBe('success');
    const proxy = await startProxy(Number(new URL(db.url).port));
    try {
      const via = proxy.url(db.url);
      const before = (await auditRows(db.url)).length;
      expect((await runGuard('apply', via, dir)).result.status).toBe('nothing-to-do');
      expect(proxy.connections()).toBe(1);
      // Another session holds the migration lock: the run gives up waiting before it plans.
      await withPg(db.url, async (holder) => {
        await holder.query('select pg_advisory_lock($1::bigint)', [MIGRATION_LOCK_ID.toString()]);
        const { result } = await runGuard('apply', via, dir, { 'run-lock-timeout': '200ms' });
        expect(result.status).toBe('failed');
      });
      expect(proxy.connections()).toBe(2);
      const rows = (await auditRows(db.url)).slice(before);
      expect(rows.map((r) => [r.event, r.outcome])).toEqual([
        ['run-started', null],
        ['run-ended', 'nothing-to-do'],
        ['run-started', null],
        ['run-ended', 'failed'],
      ]);
      expect(rows[3].error).toMatch(/lock/i);
      expect(verifyChain(await withPg(db.url, (c) => readAuditLog(c as never)))).toBeUndefined();
    } finally {
      await proxy.close();
    }
  });

  it('when the session it kept has died, the rows go out on a connection of their own', async () => {
    const db = await newDb();
    await withPg(db.url, (c) => ensureAuditLog(c as never));
    const raw = {
      command: 'apply',
      'database-url': db.url,
      'migrations-dir': tempDir('mg-audit-'),
      backup: 'off',
    };
    const settings = parseSettings(raw);
    const ctx = {
      settings,
      logger: silentLogger,
      run: { actor: 'jest@test' },
      scrubber: scrubberForInputs(raw),
    };
    const recorder = new AuditRecorder(ctx, { scrubValue: (v) => v });
    recorder.markReached();
    const session = await connect(settings.database, { applicationName: 'mg adopted' });
    session.on('error', () => {});
    await session.query('select pg_terminate_backend(pg_backend_pid())').catch(() => undefined);
    expect(recorder.adopt(session, true)).toBe(true);
    const result = { ...newResult(ctx), status: 'nothing-to-do' as const };
    await recorder.finish(result);
    expect((await auditRows(db.url)).map((r) => [r.event, r.outcome])).toEqual([
      ['run-started', null],
      ['run-ended', 'nothing-to-do'],
    ]);
    await closeClient(session).catch(() => undefined);
  });

  it('status and plan write nothing to the audit log', async () => {
    const db = await newDb();
    const dir = migrationsDir({ '1_a.sql': 'create table a (id int);' });
    await runGuard('apply', db.url, dir);
    const before = (await auditRows(db.url)).length;
    addFiles(dir, { '2_b.sql': 'create table b (id int);' });
    await runGuard('status', db.url, dir);
    await runGuard('plan', db.url, dir);
    expect((await auditRows(db.url)).length).toBe(before);
  });
});
