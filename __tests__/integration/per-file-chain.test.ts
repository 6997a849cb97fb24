import { describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { databaseState, databasesFor, query, testServers } from '../helpers/db.js';
import {
  ensureGuardSchema,
  MARK_FILE_START,
  recordStagedMigrationSql,
  stageAppliedMigrations,
  unstageAppliedMigrations,
} from '../../src/db/guard-store.js';
import { ensureHistoryTable } from '../../src/db/history.js';
import { executeUnits } from '../../src/engine/execute.js';
import { prepareMigrations } from '../../src/engine/prepare.js';
import { StatementRunner } from '../../src/engine/statement-runner.js';
import { buildExecutionPlan } from '../../src/engine/units.js';
import { migrationOf, migrationsDir, tableMigrations } from '../helpers/migrations.js';
import { startProxy } from '../helpers/proxy.js';
import { capturingLogger, runGuard } from '../helpers/run.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A deferred foreign key is checked at COMMIT. This file leaves it violated and a later file
 * (REPAIRS_IT) repairs it: the rehearsal (one transaction, deferred constraints checked at its end)
 * passes, and only the real pass, committing file by file, fails, at this file's COMMIT.
 */
const FAILS_AT_COMMIT =
  'create table parent (id int primary key);\ncreate table child (parent_id int references parent deferrable initially deferred);\ninsert into child values (42);\n';
const REPAIRS_IT = 'insert into parent values (42);\n';

/**
 * A per-file run sends consecutive transactions as one message (src/engine/chain.ts). These pin
 * down that it still commits, records, fails and retries file by file.
 */
describe.each(testServers())('per-file transactions sent together, on $name', (server) => {
  const newDb = databasesFor(server);

  it('needs far fewer messages than files: transactions are not sent one round trip at a time', async () => {
    const db = await newDb();
    const counts = new Map<string, number>();
    const proxy = await startProxy(Number(new URL(db.url).port), {
      onClientMessage: (type) => counts.set(type, (counts.get(type) ?? 0) + 1),
    });
    try {
      const viaProxy = proxy.url(db.url);
      const files = 40;
      const { result } = await runGuard('apply', viaProxy, migrationsDir(tableMigrations(files)), {
        'transaction-mode': 'per-file',
      });
      expect(result.status).toBe('success');
      expect(result.applied).toHaveLength(files);
      // Everything the run sent: preflight, bookkeeping, rehearsal and the real pass. One
      // transaction per round trip would be at least 4 per file (BEGIN, statements, row, COMMIT).
      const sent = (counts.get('Q') ?? 0) + (counts.get('E') ?? 0);
      expect(sent).toBeGreaterThan(0);
      expect(sent).toBeLessThan(files);
    } finally {
      await proxy.close();
    }
    expect(
      await query(db.url, 'select count(*)::int as n from pg_tables where tablename ~ $1', ['^t\\d+$']),
    ).toEqual([{ n: 40 }]);
  });

  it('writes exactly the history rows a single-transaction run writes, and its own rows per file', async () => {
    const files = {
      '20240101000000_first.sql':
        "create table docs (id int, body text);\ninsert into docs values (1, 'ünïcödé 🎉; not a split');\n",
      '20240102000000_second_one.sql':
        'create function f() returns int language plpgsql as $body$\nbegin\n  return 1; -- ; inside\nend\n$body$;\n',
      '20240103000000_third.sql': '-- only a comment and a statement\nalter table docs add column n int;\n',
    };
    const history =
      'select version, name, statements from supabase_migrations.schema_migrations order by version';
    const inOne = await newDb();
    const perFile = await newDb();
    expect((await runGuard('apply', inOne.url, migrationsDir(files))).result.status).toBe('success');
    const { result } = await runGuard('apply', perFile.url, migrationsDir(files), {
      'transaction-mode': 'per-file',
    });
    expect(result.status).toBe('success');
    const rows = await query(perFile.url, history);
    expect(rows).toEqual(await query(inOne.url, history));
    expect(rows.map((r) => r.name)).toEqual(['first', 'second_one', 'third']);
    expect(rows[1].statements).toHaveLength(1);
    const own = await query(
      perFile.url,
      'select version, checksum, applied_by, run_id::text, duration_ms, method from migration_guard.migrations order by version',
    );
    const expectedChecksums = await query(
      inOne.url,
      'select checksum from migration_guard.migrations order by version',
    );
    expect(own.map((r) => r.checksum)).toEqual(expectedChecksums.map((r) => r.checksum));
    for (const row of own) {
      expect(row).toMatchObject({ applied_by: 'jest@test', run_id: String(result.runId), method: 'applied' });
      expect(row.duration_ms).toEqual(expect.any(Number));
      expect(row.duration_ms).toBeGreaterThanOrEqual(0);
    }
  });

  it.each(['all', 'per-file'])(
    'reports each file with its own duration, by the server clock, though files share messages (%s)',
    async (mode) => {
      const db = await newDb();
      const dir = migrationsDir({
        '1_first.sql': 'create table first_one (id int);\n',
        '2_slow.sql': 'select pg_sleep(0.3);\n',
        '3_third.sql': 'create table third_one (id int);\n',
      });
      const { result } = await runGuard('apply', db.url, dir, { 'transaction-mode': mode });
      expect(result.status).toBe('success');
      const [first, slow, third] = result.migrations.map((m) => m.durationMs);
      expect(slow).toBeGreaterThanOrEqual(300);
      // Replies arrive together at the end of a message: timing them would give the whole
      // message to the first file and nothing to the others.
      expect(first).toBeLessThan(300);
      expect(third).toBeLessThan(300);
      const recorded = await query(
        db.url,
        'select version, duration_ms from migration_guard.migrations order by version',
      );
      expect(recorded.map((r) => r.duration_ms >= 300)).toEqual([false, true, false]);
    },
  );

  it('a file that fails at its COMMIT, after earlier files of the same message committed: those stay, recorded, and the report says so', async () => {
    // Only the real pass fails, in the middle of a message.
    const db = await newDb();
    const dir = migrationsDir({
      ...tableMigrations(2),
      '3_deferred.sql': FAILS_AT_COMMIT,
      '4_after.sql': `create table after_failure (id int);\n${REPAIRS_IT}`,
    });
    const { result } = await runGuard('apply', db.url, dir, { 'transaction-mode': 'per-file' });
    expect(result.status).toBe('failed');
    expect(result.error).toMatchObject({
      sqlstate: '23503',
      file: expect.stringContaining('3_deferred.sql'),
    });
    expect(result.migrations.map((m) => [m.version, m.status])).toEqual([
      ['1', 'applied'],
      ['2', 'applied'],
      ['3', 'failed'],
      ['4', 'not-run'],
    ]);
    expect(result.message).toMatch(/Applied and NOT reverted: 1, 2\./);
    const applied = await query(
      db.url,
      'select version from supabase_migrations.schema_migrations order by 1',
    );
    expect(applied.map((r) => r.version)).toEqual(['1', '2']);
    expect(
      await query(
        db.url,
        "select to_regclass('child') is null as gone, to_regclass('after_failure') is null as never",
      ),
    ).toEqual([{ gone: true, never: true }]);
  });

  it.each([
    ['apply', 'per-file'],
    ['plan', 'all'],
  ])(
    '%s (%s) finds a deferred constraint left violated before anything commits: the rehearsal checks them at its end',
    async (command, mode) => {
      const db = await newDb();
      const before = await databaseState(db.url);
      const dir = migrationsDir({
        ...tableMigrations(1),
        '2_deferred.sql': FAILS_AT_COMMIT,
        '3_after.sql': 'create table after_failure (id int);\n',
      });
      const { result } = await runGuard(command, db.url, dir, { 'transaction-mode': mode });
      expect(result.status).toBe('failed');
      expect(result.error).toMatchObject({
        sqlstate: '23503',
        message: expect.stringMatching(
          /^a deferred constraint is violated once every pending file has run \(checked at the end of the rehearsal\): insert or update on table "child" violates foreign key constraint/,
        ),
      });
      expect(result.message).toMatch(/before anything was applied|nothing was changed/);
      expect(await databaseState(db.url)).toEqual(before);
    },
  );

  it('a lock wait in the middle of a message: retries from the blocked file, the files before it committed once', async () => {
    const db = await newDb();
    await query(db.url, 'create table busy (id int)');
    // File 1 commits a marker; the blocker, waiting for it, locks `busy` while file 2 sleeps, so
    // file 2's ALTER times out waiting. Re-running file 1 would fail ("already exists").
    const dir = migrationsDir({
      '1_marker.sql': 'create table marker (id int);\n',
      '2_alter_busy.sql': 'select pg_sleep(1);\nalter table busy add column note text;\n',
      '3_after.sql': 'create table after_busy (id int);\n',
    });
    const blocker = new pg.Client({ connectionString: db.url, application_name: 'nightly-report' });
    await blocker.connect();
    const holdLock = (async () => {
      for (let i = 0; i < 1000; i++) {
        const { rows } = await blocker.query("select to_regclass('marker') is not null as committed");
        if (rows[0].committed) break;
        await sleep(10);
      }
      await blocker.query('begin');
      await blocker.query('lock table busy in access share mode');
      await sleep(2000);
      await blocker.query('commit');
    })();
    try {
      const { result } = await runGuard(
        'apply',
        db.url,
        dir,
        { 'transaction-mode': 'per-file', 'lock-timeout': '300ms', 'lock-retries': '10' },
        { overrides: { lockRetryBaseMs: 100 } },
      );
      expect(result.status).toBe('success');
      expect(result.applied).toEqual(['1', '2', '3']);
      expect(result.lock?.retries.length).toBeGreaterThanOrEqual(1);
      expect(result.lock?.retries[0].blocker).toMatch(/"nightly-report"/);
      expect(
        await query(
          db.url,
          "select count(*)::int as n from information_schema.columns where table_name = 'busy' and column_name = 'note'",
        ),
      ).toEqual([{ n: 1 }]);
    } finally {
      await holdLock.catch(() => {});
      await blocker.end();
    }
  });

  it('on a fresh database, creates the history table with the first file: a failure there leaves nothing', async () => {
    const db = await newDb();
    const before = await databaseState(db.url);
    const dir = migrationsDir({
      '1_deferred.sql': FAILS_AT_COMMIT,
      '2_after.sql': `create table after_failure (id int);\n${REPAIRS_IT}`,
    });
    const { result } = await runGuard('apply', db.url, dir, { 'transaction-mode': 'per-file' });
    expect(result.status).toBe('rolled-back');
    expect(result.error).toMatchObject({
      sqlstate: '23503',
      file: expect.stringContaining('1_deferred.sql'),
    });
    expect(await databaseState(db.url)).toEqual(before);
    expect(
      await query(db.url, "select to_regclass('supabase_migrations.schema_migrations') is null as none"),
    ).toEqual([{ none: true }]);
  });

  /**
   * Waits until `table` is committed (by the real pass: the rehearsal commits nothing) and our
   * session is still busy with the same message. (pg_stat_activity shows only the start of a long
   * message, so its text cannot say which statement runs.)
   */
  async function waitForRealPassAfter(url: string, table: string): Promise<void> {
    for (let i = 0; i < 400; i++) {
      const rows = await query(
        url,
        `select 1 from pg_stat_activity where application_name like 'migration-guard%'
            and application_name not like '%control' and state = 'active'
            and query like '%migration_guard.file_started%' and to_regclass($1) is not null`,
        [table],
      );
      if (rows.length > 0) return;
      await sleep(25);
    }
    throw new Error(`the real pass never committed ${table}`);
  }

  // Statements that only the real pass finds slow or failing: the rehearsal sees the sequence's
  // first value, the real pass its second.
  const slowForReal = (seconds: number) =>
    `select pg_sleep(case when nextval('s') > 1 then ${seconds} else 0 end);\n`;

  it("runs verify scripts inside each file's transaction: one failing for real fails its file and the earlier files are reverted", async () => {
    const db = await newDb();
    await query(db.url, 'create sequence s');
    const dir = migrationsDir({
      '1_first.sql': 'create table first_one (id int);\n',
      '1_first.down.sql': 'drop table first_one;\n',
      '2_second.sql': 'create table second_one (id int);\n',
      '2_second.verify.sql': "select 1 / (nextval('s') - 2);\n",
      '3_third.sql': 'create table third_one (id int);\n',
    });
    const { result } = await runGuard('apply', db.url, dir, { 'transaction-mode': 'per-file' });
    expect(result.status).toBe('rolled-back');
    expect(result.error).toMatchObject({
      sqlstate: '22012',
      file: expect.stringMatching(/2_second\.verify\.sql$/),
    });
    expect(result.error?.message).toMatch(/^verify script failed: division by zero/);
    expect(result.rollback).toMatchObject({ succeeded: true, reverted: ['1'] });
    expect(
      await query(
        db.url,
        "select to_regclass('first_one') is null as a, to_regclass('second_one') is null as b",
      ),
    ).toEqual([{ a: true, b: true }]);
    expect(await query(db.url, 'select version from supabase_migrations.schema_migrations')).toEqual([]);
  });

  it('applies statement-timeout to each statement of a message, not to the message', async () => {
    const db = await newDb();
    await query(db.url, 'create sequence s');
    const dir = migrationsDir({
      // 0.4 s in all, each statement well under the timeout: must pass.
      '1_first.sql': 'select pg_sleep(0.2);\nselect pg_sleep(0.2);\ncreate table first_one (id int);\n',
      '2_slow.sql': slowForReal(2),
      '3_third.sql': 'create table third_one (id int);\n',
    });
    const { result } = await runGuard('apply', db.url, dir, {
      'transaction-mode': 'per-file',
      'statement-timeout': '300ms',
    });
    expect(result.status).toBe('failed');
    expect(result.error).toMatchObject({ sqlstate: '57014', file: expect.stringContaining('2_slow.sql') });
    expect(result.migrations.map((m) => m.status)).toEqual(['applied', 'failed', 'not-run']);
    const applied = await query(db.url, 'select version from supabase_migrations.schema_migrations');
    expect(applied).toEqual([{ version: '1' }]);
  });

  it('a cancellation in the middle of a message: the files before it stay committed and recorded, the run is recorded as cancelled', async () => {
    const db = await newDb();
    await query(db.url, 'create sequence s');
    const dir = migrationsDir({
      '1_first.sql': 'create table first_one (id int);\n',
      '2_slow.sql': slowForReal(30),
      '3_third.sql': 'create table third_one (id int);\n',
    });
    const controller = new AbortController();
    const run = runGuard(
      'apply',
      db.url,
      dir,
      { 'transaction-mode': 'per-file' },
      { signal: controller.signal },
    );
    await waitForRealPassAfter(db.url, 'first_one');
    controller.abort('SIGTERM');
    const { result } = await run;
    expect(result.cancelled).toBe(true);
    expect(result.message).toMatch(/^Cancelled \(SIGTERM\).*Still applied from this run: 1\./);
    expect(result.migrations.map((m) => m.status)).toEqual(['applied', 'failed', 'not-run']);
    expect(await query(db.url, 'select version from supabase_migrations.schema_migrations')).toEqual([
      { version: '1' },
    ]);
    expect(await query(db.url, 'select status from migration_guard.runs order by id desc limit 1')).toEqual([
      { status: 'cancelled' },
    ]);
    const advisoryLocksHere =
      "select count(*)::int as n from pg_locks where locktype = 'advisory' and database = (select oid from pg_database where datname = current_database())";
    expect(await query(db.url, advisoryLocksHere)).toEqual([{ n: 0 }]);
  });

  it('clears the history rows it staged on the session once the run is done with them', async () => {
    const db = await newDb();
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      await ensureGuardSchema(client);
      await ensureHistoryTable(client);
      const prepared = await prepareMigrations([
        migrationOf('1', 'create table one (id int);'),
        migrationOf('2', 'create table two (id int);'),
      ]);
      const staged: string[] = [];
      const outcome = await executeUnits(buildExecutionPlan(prepared, 'per-file').units, {
        runner: new StatementRunner(client, { lockTimeoutMs: 2000 }),
        logger: capturingLogger([]),
        lockTimeoutMs: 2000,
        lockRetries: 0,
        record: () => Promise.reject(new Error('transactions sent together stage their rows instead')),
        chain: {
          stage: async (records) => {
            staged.push(...records.map((r) => r.migration.migration.version));
            const rows = records.map(({ ordinal, migration }) => ({
              ordinal,
              version: migration.migration.version,
              name: migration.migration.name,
              statements: migration.statements.map((st) => st.historyText),
              checksum: migration.migration.checksum,
            }));
            await stageAppliedMigrations(client, rows, { appliedBy: 'jest', runId: 1 });
          },
          unstage: (count) => unstageAppliedMigrations(client, count),
          recordSql: recordStagedMigrationSql,
          markStart: MARK_FILE_START,
        },
      });
      expect(outcome.committed).toEqual(['1', '2']);
      expect(staged).toEqual(['1', '2']);
      const { rows } = await client.query(
        "select current_setting('migration_guard.record_1', true) as one, current_setting('migration_guard.record_2', true) as two",
      );
      expect(rows).toEqual([{ one: '', two: '' }]);
      expect(
        (await client.query('select version from supabase_migrations.schema_migrations order by 1')).rows,
      ).toEqual([{ version: '1' }, { version: '2' }]);
    } finally {
      await client.end();
    }
  });
});
