import { afterAll, describe, expect, it } from '@jest/globals';
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { RunRecord } from '../../src/commands/run-record.js';
import { ensureGuardSchema, startRunRecord } from '../../src/db/guard-store.js';
import { scrubberForInputs } from '../../src/config/run-scrubber.js';
import { parseSettings } from '../../src/config/settings.js';
import { MIGRATION_LOCK_ID } from '../../src/db/lock.js';
import {
  databaseState,
  databasesFor,
  query,
  testServers,
  withPg,
  migrationLockIsFree,
  ADVISORY_LOCKS,
} from '../helpers/db.js';
import { migrationsDir } from '../helpers/migrations.js';
import { capturingLogger, runGuard } from '../helpers/run.js';
import { tempDirsFor } from '../helpers/temp.js';

const tempDir = tempDirsFor();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A SIGKILL cannot be sent to an in-process run: the CLI runs as a child process, from a private
 * bundle of the current sources (dist/ is rebuilt only at release time).
 */
let bundle: string | undefined;
/** Built once, by the first test that needs it (~10 s). */
function cliBundle(): string {
  if (bundle) return bundle;
  const out = mkdtempSync(join(tmpdir(), 'mg-abandoned-cli-'));
  execFileSync(
    join('node_modules', '.bin', 'ncc'),
    ['build', 'src/cli-entry.ts', '-o', join(out, 'cli'), '--quiet'],
    {
      stdio: 'pipe',
    },
  );
  const wasm = join(dirname(createRequire(import.meta.url).resolve('libpg-query')), 'libpg-query.wasm');
  copyFileSync(wasm, join(out, 'libpg-query.wasm'));
  writeFileSync(join(out, 'package.json'), '{ "type": "module" }\n');
  return (bundle = out);
}
afterAll(() => {
  if (bundle) rmSync(bundle, { recursive: true, force: true });
});

async function waitFor(
  what: string | (() => string),
  condition: () => Promise<boolean>,
  tries = 800,
): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await condition()) return;
    await sleep(25);
  }
  throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
}

/** Whether the migration lock is free, asked from a session that stays open while it checks. */
const lockIsFree = migrationLockIsFree;

/** Runs the CLI in a child process and sends it `signal` once `ready` holds. */
async function runThenSignal(
  args: string[],
  url: string,
  signal: NodeJS.Signals,
  ready: () => Promise<boolean>,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; output: string }> {
  const child = spawn(process.execPath, [join(cliBundle(), 'cli', 'index.js'), ...args], {
    env: { PATH: process.env.PATH, DATABASE_URL: url },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let output = '';
  child.stdout.on('data', (d) => {
    stdout += d;
    output += d;
  });
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, s) => resolve({ code, signal: s })),
  );
  try {
    await waitFor(() => `the run to reach its ${signal} point (output so far: ${output})`, ready);
  } finally {
    child.kill(signal);
  }
  const end = await exited;
  return { ...end, stdout, output };
}

/** Starts `apply` in a child process and kills it with SIGKILL once `ready` holds. */
async function applyThenKill(
  url: string,
  dir: string,
  mode: 'all' | 'per-file',
  ready: () => Promise<boolean>,
): Promise<{ signal: NodeJS.Signals | null; output: string }> {
  const args = ['apply', '--migrations-dir', dir, '--transaction-mode', mode, '--backup', 'off'];
  return runThenSignal(args, url, 'SIGKILL', ready);
}

// pg_stat_activity shows the whole cluster: other test files run beside this one.
const SLEEPING_MIGRATION = `select pid from pg_stat_activity
  where datname = current_database() and query like '%pg_sleep%' and state = 'active' and application_name like 'migration-guard%' and pid <> pg_backend_pid()`;

const REAL_PASS_AT_WORK = `select pid from pg_stat_activity
  where datname = current_database() and query like '%migration_guard.file_started%' and state = 'active' and application_name like 'migration-guard%'
    and application_name not like '%control' and pid <> pg_backend_pid()`;

async function runsOf(url: string) {
  return query(
    url,
    'select id::int, status, applied, session_pid, finished_at is not null as finished, error from migration_guard.runs order by id',
  );
}

describe.each(testServers())('runs that die without a word, on $name', (server) => {
  const newDb = databasesFor(server);

  it('kill -9 in per-file mode: the server commits what it was sent; status reports the dead run, the next apply closes it as abandoned with what the history shows', async () => {
    const db = await newDb();
    const dir = migrationsDir({
      '1_a.sql': 'create table a (id int);\n',
      // Sleeps in the real pass only (the rehearsal draws 1 from the sequence, which no rollback undoes).
      '2_slow.sql':
        "create table b (id int);\nselect pg_sleep(case when nextval('s') > 1 then 4 else 0 end);\n",
      '3_c.sql': 'create table c (id int);\n',
    });
    await query(db.url, 'create sequence s');
    let sessionPid = 0;
    // The real pass: file 1 is committed and the message carrying files 2 and 3 is at work (its
    // text is too long for pg_stat_activity to show the pg_sleep; it names file_started).
    const killed = await applyThenKill(db.url, dir, 'per-file', async () => {
      const rows = await query(
        db.url,
        `select to_regclass('public.a') is not null as a, (${REAL_PASS_AT_WORK} limit 1) as pid`,
      );
      sessionPid = rows[0].pid;
      return rows[0].a && rows[0].pid !== null;
    });
    expect(killed.signal).toBe('SIGKILL');

    // The killed client's backend is still at work: the run is not abandoned yet.
    const [open] = await runsOf(db.url);
    expect(open).toMatchObject({ status: 'running', session_pid: sessionPid, finished: false });
    expect(
      await query(db.url, 'select count(*)::int as n from pg_stat_activity where pid = $1', [sessionPid]),
    ).toEqual([{ n: 1 }]);
    const early = await runGuard('status', db.url, dir);
    expect(early.result.abandonedRuns).toBeUndefined();

    await waitFor(
      'the dead client’s backend to end',
      async () =>
        (
          await query(db.url, 'select count(*)::int as n from pg_stat_activity where pid = $1', [sessionPid])
        )[0].n === 0,
    );
    expect(await lockIsFree(db.url)).toBe(true);
    // What was sent in one message went on committing after the client died.
    const history = (
      await query(db.url, 'select version from supabase_migrations.schema_migrations order by version')
    ).map((r) => r.version);
    expect(history).toEqual(['1', '2', '3']);

    // status reports it and writes nothing.
    const status = await runGuard('status', db.url, dir);
    expect(status.result.status).toBe('success');
    expect(status.result.abandonedRuns).toEqual([
      expect.objectContaining({ id: open.id, sessionPid, applied: ['1', '2', '3'], closed: false }),
    ]);
    expect(status.result.message).toMatch(
      new RegExp(`1 run\\(s\\) ended without finishing .*#${open.id} \\(applied 1, 2, 3\\)`),
    );
    expect(status.logs.join('\n')).toMatch(
      new RegExp(
        `warn: Run #${open.id} \\(apply on default, per-file mode.*its session \\(pid ${sessionPid}\\) is gone; the history shows it applied 1, 2, 3\\. It is still recorded as running`,
      ),
    );
    expect(await runsOf(db.url)).toEqual([open]);

    // The next apply closes it, and says so.
    const next = await runGuard('apply', db.url, dir);
    expect(next.result.status).toBe('nothing-to-do');
    expect(next.result.abandonedRuns).toEqual([
      expect.objectContaining({ id: open.id, applied: ['1', '2', '3'], closed: true }),
    ]);
    expect(next.logs.join('\n')).toMatch(
      new RegExp(`warn: Run #${open.id} .*Its record is now closed as abandoned`),
    );
    expect(await runsOf(db.url)).toEqual([
      expect.objectContaining({
        id: open.id,
        status: 'abandoned',
        applied: ['1', '2', '3'],
        finished: true,
        error: expect.stringMatching(/ended without finishing/),
      }),
    ]);
    expect((await runGuard('status', db.url, dir)).result.abandonedRuns).toBeUndefined();
    expect(await lockIsFree(db.url)).toBe(true);
  }, 60_000);

  it('a run left running by an older version (no session recorded) is judged by the lock: reported while no session holds it, closed by the next apply', async () => {
    const db = await newDb();
    const dir = migrationsDir({ '1_a.sql': 'create table a (id int);\n' });
    expect((await runGuard('apply', db.url, dir)).result.status).toBe('success');
    // The table as the previous release left it, with a run that never finished and applied 1.
    await query(
      db.url,
      `alter table migration_guard.runs drop column session_pid, drop column session_started;
       insert into migration_guard.runs (command, environment, transaction_mode) values ('apply', 'default', 'per-file');
       update migration_guard.migrations set run_id = (select max(id) from migration_guard.runs);`,
    );
    const [{ id }] = await query(
      db.url,
      "select max(id)::int as id from migration_guard.runs where status = 'running'",
    );
    // While some session holds the migration lock, the row may belong to a live run.
    await withPg(db.url, async (holder) => {
      await holder.query('select pg_advisory_lock($1::bigint)', [MIGRATION_LOCK_ID.toString()]);
      expect((await runGuard('status', db.url, dir)).result.abandonedRuns).toBeUndefined();
    });
    const status = await runGuard('status', db.url, dir);
    expect(status.result.abandonedRuns).toEqual([
      expect.objectContaining({ id, sessionPid: null, applied: ['1'], closed: false }),
    ]);
    expect(status.logs.join('\n')).toMatch(
      new RegExp(`Run #${id} .*no session holds the lock; the history shows it applied 1`),
    );
    const next = await runGuard('apply', db.url, dir);
    expect(next.result.status).toBe('nothing-to-do');
    expect(next.result.abandonedRuns).toEqual([expect.objectContaining({ id, closed: true })]);
    expect(
      await query(db.url, 'select status, applied from migration_guard.runs where id = $1', [id]),
    ).toEqual([{ status: 'abandoned', applied: ['1'] }]);
  });

  it('a session a connection pooler kept after the client died (idle, without the lock) does not keep its run alive', async () => {
    const db = await newDb();
    const dir = migrationsDir({ '1_a.sql': 'create table a (id int);\n' });
    const pooled = new pg.Client({ connectionString: db.url });
    await pooled.connect();
    try {
      await ensureGuardSchema(pooled);
      const id = await startRunRecord(pooled, scrubberForInputs({}), {
        command: 'apply',
        environment: 'default',
      });
      const [{ pid }] = (await pooled.query('select pg_backend_pid() as pid')).rows;
      // While the session holds the lock, it is the run's.
      await pooled.query('select pg_advisory_lock($1::bigint)', [MIGRATION_LOCK_ID.toString()]);
      expect((await runGuard('status', db.url, dir)).result.abandonedRuns).toBeUndefined();
      // What a pooler's reset (DISCARD ALL) leaves: the same session, idle, without the lock.
      await pooled.query('DISCARD ALL');
      const status = await runGuard('status', db.url, dir);
      expect(status.result.abandonedRuns).toEqual([
        expect.objectContaining({ id, sessionPid: pid, sessionLingers: true, applied: [], closed: false }),
      ]);
      expect(status.logs.join('\n')).toMatch(
        new RegExp(`Run #${id} .*its session \\(pid ${pid}\\) is idle without the migration lock`),
      );
      const next = await runGuard('apply', db.url, dir);
      expect(next.result.status).toBe('success');
      expect(await query(db.url, 'select status from migration_guard.runs where id = $1', [id])).toEqual([
        { status: 'abandoned' },
      ]);
    } finally {
      await pooled.end();
    }
  });

  it('kill -9 in all mode: nothing stays applied; the next apply closes the dead run with nothing applied, then applies', async () => {
    const db = await newDb();
    const dir = migrationsDir({
      '1_a.sql': 'create table a (id int);\n',
      '2_slow.sql': 'create table b (id int);\nselect pg_sleep(2);\n',
    });
    const before = await databaseState(db.url);
    let sessionPid = 0;
    const killed = await applyThenKill(db.url, dir, 'all', async () => {
      const rows = await query(
        db.url,
        `select (${SLEEPING_MIGRATION} limit 1) as pid, to_regclass('migration_guard.runs') is not null as recorded`,
      );
      sessionPid = rows[0].pid;
      // The row is opened on the control connection while the migrations run: wait for it.
      return (
        rows[0].pid !== null &&
        rows[0].recorded &&
        (await query(db.url, 'select 1 from migration_guard.runs')).length === 1
      );
    });
    expect(killed.signal).toBe('SIGKILL');
    const [open] = await runsOf(db.url);
    // The row names the session that ran the migrations, not the connection that wrote it.
    expect(open).toMatchObject({ status: 'running', session_pid: sessionPid });
    await waitFor(
      'the dead client’s backend to end',
      async () =>
        (
          await query(db.url, 'select count(*)::int as n from pg_stat_activity where pid = $1', [sessionPid])
        )[0].n === 0,
    );
    expect(await databaseState(db.url)).toEqual(before);
    expect(await lockIsFree(db.url)).toBe(true);

    const next = await runGuard('apply', db.url, dir);
    expect(next.result.status).toBe('success');
    expect(next.result.applied).toEqual(['1', '2']);
    expect(next.result.abandonedRuns).toEqual([
      expect.objectContaining({ id: open.id, applied: [], closed: true }),
    ]);
    expect(next.logs.join('\n')).toMatch(
      /the history shows it applied nothing\. Its record is now closed as abandoned/,
    );
    expect(await runsOf(db.url)).toEqual([
      expect.objectContaining({ id: open.id, status: 'abandoned', applied: [], finished: true }),
      expect.objectContaining({ id: next.result.runId, status: 'success', applied: ['1', '2'] }),
    ]);
  }, 60_000);
});

/** The database's advisory locks held by anyone (ours has no other user here). */

describe.each(testServers())('migrations that reach outside their transaction, on $name', (server) => {
  const newDb = databasesFor(server);
  const files = (middle: string) =>
    migrationsDir({
      '1_a.sql': 'create table a (id int);\n',
      '2_x.sql': `create table b (id int);\n${middle}`,
      '3_c.sql': 'create table c (id int);\n',
    });
  const detailsOf = async (url: string) =>
    (await query(url, 'select status, details from migration_guard.runs order by id desc limit 1'))[0];

  it.each(['all', 'per-file'])(
    'pg_advisory_unlock_all() in %s mode: the lock really is free while the run goes on, and the run says which file released it',
    async (mode) => {
      const db = await newDb();
      await query(db.url, 'create sequence s');
      // The sleep (real pass only) leaves time to look at the lock while the migration session is open.
      // per-file: the rehearsal draws 1 from the sequence and does not sleep; the real pass does.
      const sleep = mode === 'all' ? '3' : "case when nextval('s') > 1 then 3 else 0 end";
      const dir = files(`select pg_advisory_unlock_all();\nselect pg_sleep(${sleep});\n`);
      const run = runGuard('apply', db.url, dir, { 'transaction-mode': mode });
      // The real pass is at work after the unlock (all mode: the sleep itself is on show).
      const realPass = mode === 'all' ? SLEEPING_MIGRATION : REAL_PASS_AT_WORK;
      await waitFor('the real pass to sleep after the unlock', async () => {
        if ((await query(db.url, realPass)).length === 0) return false;
        return (
          mode === 'all' || (await query(db.url, "select to_regclass('public.a') is not null as a"))[0].a
        );
      });
      const migrating = await query(
        db.url,
        "select count(*)::int as n from pg_stat_activity where datname = current_database() and application_name like 'migration-guard%' and application_name not like '%control' and state = 'active'",
      );
      expect(migrating).toEqual([{ n: 1 }]);
      expect(await lockIsFree(db.url)).toBe(true);
      const { result, logs } = await run;
      expect(result.status).toBe('success');
      expect(result.applied).toEqual(['1', '2', '3']);
      const blamed = {
        effect: 'lock-released',
        file: expect.stringMatching(/2_x\.sql$/),
        line: 2,
        call: 'pg_advisory_unlock_all',
      };
      expect(result.sessionEffects).toEqual([expect.objectContaining(blamed)]);
      expect(result.message).toMatch(
        /^Applied 3 migration\(s\)\. Warning: \S*2_x\.sql:2 released the migration lock \(pg_advisory_unlock_all\(\)\) during the run.*The lock was not held when the run ended\.$/,
      );
      // Said before the run, and after it.
      expect(logs).toContainEqual(
        expect.stringMatching(/^warn: \S*2_x\.sql:2: calls pg_advisory_unlock_all\(\)/),
      );
      expect(logs).toContainEqual(expect.stringMatching(/^warn: \S*2_x\.sql:2 released the migration lock/));
      expect(await detailsOf(db.url)).toMatchObject({
        status: 'success',
        details: { sessionEffects: [expect.objectContaining(blamed)] },
      });
      expect(
        (await query(db.url, 'select version from supabase_migrations.schema_migrations order by 1')).map(
          (r) => r.version,
        ),
      ).toEqual(['1', '2', '3']);
      expect(await query(db.url, ADVISORY_LOCKS)).toEqual([{ n: 0 }]);
    },
    30_000,
  );

  it.each(['all', 'per-file'])(
    "pg_terminate_backend() of every other session in %s mode ends this run's control connection: the run finishes and says which file did it",
    async (mode) => {
      const db = await newDb();
      const dir = files(
        'select count(pg_terminate_backend(pid)) from pg_stat_activity\n  where datname = current_database() and pid <> pg_backend_pid();\n',
      );
      const { result, logs } = await runGuard('apply', db.url, dir, { 'transaction-mode': mode });
      expect(result.status).toBe('success');
      const blamed = {
        effect: 'control-connection-terminated',
        file: expect.stringMatching(/2_x\.sql$/),
        line: 2,
        call: 'pg_terminate_backend',
      };
      expect(result.sessionEffects).toEqual([expect.objectContaining(blamed)]);
      expect(logs).toContainEqual(
        expect.stringMatching(/^warn: \S*2_x\.sql:2 terminated this run's control connection/),
      );
      expect(await detailsOf(db.url)).toMatchObject({
        status: 'success',
        details: { sessionEffects: [expect.objectContaining(blamed)] },
      });
      expect(await query(db.url, ADVISORY_LOCKS)).toEqual([{ n: 0 }]);
    },
  );

  it("the run's row, being opened on a control connection that a migration terminates, is opened on the session instead", async () => {
    const db = await newDb();
    const session = new pg.Client({ connectionString: db.url });
    const control = new pg.Client({ connectionString: db.url });
    control.on('error', () => {});
    await session.connect();
    await control.connect();
    try {
      const inputs = { command: 'apply', 'database-url': db.url };
      const settings = parseSettings(inputs);
      const record = new RunRecord(
        {
          settings,
          logger: capturingLogger([]),
          run: { actor: 'jest' },
          scrubber: scrubberForInputs(inputs),
        },
        session,
      );
      const [{ pid: controlPid }] = await query(
        db.url,
        'select pg_terminate_backend(pid), pid from pg_stat_activity where pid = $1',
        [(control as unknown as { processID: number }).processID],
      );
      await waitFor(
        'the control connection to end',
        async () =>
          (
            await query(db.url, 'select count(*)::int as n from pg_stat_activity where pid = $1', [
              controlPid,
            ])
          )[0].n === 0,
      );
      // The streamed run starts opening the row on the control connection; the migrations'
      // history rows then need its id on the session.
      const onControl = record.open(control);
      const id = await record.open(session);
      await expect(onControl).rejects.toThrow();
      const [{ pid: sessionPid }] = (await session.query('select pg_backend_pid() as pid')).rows;
      expect(await query(db.url, 'select id::int, status, session_pid from migration_guard.runs')).toEqual([
        { id, status: 'running', session_pid: sessionPid },
      ]);
    } finally {
      await session.end();
      await control.end().catch(() => {});
    }
  });

  it.each([
    ['all', 'rolled-back', /The run was rolled back/],
    ['per-file', 'failed', /The rehearsal found this before anything was applied/],
  ] as const)(
    "pg_terminate_backend(pg_backend_pid()) in %s mode ends the run's own session: %s, the file blamed, the record closed, the lock free",
    async (mode, status, outcome) => {
      const db = await newDb();
      const dir = files('select pg_terminate_backend(pg_backend_pid());\n');
      const before = await databaseState(db.url);
      const { result, logs } = await runGuard('apply', db.url, dir, { 'transaction-mode': mode });
      expect(result.status).toBe(status);
      expect(result.message).toMatch(
        /^\S*2_x\.sql:2:1: terminating connection due to administrator command\./,
      );
      expect(result.message).toMatch(outcome);
      expect(result.sessionEffects).toEqual([
        expect.objectContaining({
          effect: 'session-terminated',
          file: expect.stringMatching(/2_x\.sql$/),
          line: 2,
        }),
      ]);
      expect(logs).toContainEqual(
        expect.stringMatching(/^warn: \S*2_x\.sql:2 terminated this run's own session/),
      );
      expect(await databaseState(db.url)).toEqual(before);
      // Recorded on a new connection, not left `running` for the next run to find.
      expect(await query(db.url, 'select status, error from migration_guard.runs')).toEqual([
        { status, error: result.message.replace(/ Warning: .*$/, '') },
      ]);
      expect(await query(db.url, ADVISORY_LOCKS)).toEqual([{ n: 0 }]);
    },
  );
});

describe.each(testServers())('a cancelled job (SIGTERM to the CLI), on $name', (server) => {
  const newDb = databasesFor(server);

  it.each([
    ['apply', 'all', 'the real pass'],
    ['apply', 'per-file', 'the real pass'],
    ['apply', 'per-file', 'the rehearsal'],
    ['plan', 'all', 'the rehearsal'],
  ])(
    '%s in %s mode, stopped during %s: the CLI, the JSON report and the run record all say cancelled',
    async (command, mode, stage) => {
      const db = await newDb();
      await query(db.url, 'create sequence s');
      // The sleep happens in the stage under test only: the rehearsal draws 1 from the sequence.
      const sleepIn =
        stage === 'the rehearsal'
          ? "nextval('s') = 1"
          : command === 'apply' && mode === 'per-file'
            ? "nextval('s') > 1"
            : 'true';
      const dir = migrationsDir({
        '1_a.sql': 'create table a (id int);\n',
        '2_slow.sql': `create table b (id int);\nselect pg_sleep(case when ${sleepIn} then 30 else 0 end);\n`,
      });
      const before = await databaseState(db.url);
      const report = join(tempDir('mg-cancel-report-'), 'report.json');
      const args = [
        command,
        '--migrations-dir',
        dir,
        '--transaction-mode',
        mode,
        '--backup',
        'off',
        '--report-path',
        report,
      ];
      const sleeping =
        stage === 'the real pass' && mode === 'per-file' ? REAL_PASS_AT_WORK : SLEEPING_MIGRATION;
      const stopped = await runThenSignal(args, db.url, 'SIGTERM', async () => {
        const rows = await query(db.url, sleeping);
        // per-file real pass: file 1 committed first.
        if (stage === 'the real pass' && mode === 'per-file')
          return (
            rows.length > 0 && (await query(db.url, "select to_regclass('public.a') is not null as a"))[0].a
          );
        return rows.length > 0;
      });
      expect(stopped.code).toBe(1);
      const lastLine = stopped.stdout.trim().split('\n').pop();
      expect(lastLine).toMatch(/^cancelled: Cancelled \(SIGTERM\)/);
      const json = JSON.parse(readFileSync(report, 'utf8'));
      expect(json).toMatchObject({ status: 'cancelled', cancelled: true });
      expect(lastLine).toBe(`cancelled: ${json.message}`);
      const perFileCommitted = stage === 'the real pass' && mode === 'per-file';
      if (command === 'apply') {
        expect(await query(db.url, 'select status, applied, error from migration_guard.runs')).toEqual([
          { status: 'cancelled', applied: perFileCommitted ? ['1'] : [], error: json.message },
        ]);
      } else {
        expect(await query(db.url, "select to_regclass('migration_guard.runs') as runs")).toEqual([
          { runs: null },
        ]);
      }
      if (perFileCommitted) {
        expect(json.message).toMatch(/Still applied from this run: 1\./);
        expect((await databaseState(db.url)).history).toEqual(['1']);
      } else {
        expect(await databaseState(db.url)).toEqual(before);
      }
      expect(await query(db.url, ADVISORY_LOCKS)).toEqual([{ n: 0 }]);
    },
    60_000,
  );
});
