import { describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { executeStreamedTransaction } from '../../src/engine/execute.js';
import { StatementRunner } from '../../src/engine/statement-runner.js';
import { StreamedRun } from '../../src/engine/stream.js';
import { GuardError } from '../../src/errors.js';
import { loadParser } from '../../src/migrations/parser.js';
import { databaseState, databasesFor, query, testServers } from '../helpers/db.js';
import { migrationOf, migrationsDir, tableMigrations } from '../helpers/migrations.js';
import { capturingLogger, runGuard } from '../helpers/run.js';

/**
 * A run that fits in one transaction starts before every file is parsed (src/engine/stream.ts):
 * these pin down that it still behaves exactly like a run planned up front.
 */
describe.each(testServers())('a run streamed while it parses, on $name', (server) => {
  const newDb = databasesFor(server);

  it('leaves no trace, not even its own bookkeeping schema, when a later file does not parse', async () => {
    const db = await newDb();
    const before = await databaseState(db.url);
    const dir = migrationsDir({
      ...tableMigrations(3),
      '4_broken.sql': 'select 1;\n\ncreate tabel oops (id int);\n',
    });
    const { result } = await runGuard('apply', db.url, dir);
    expect(result.status).toBe('failed');
    expect(result.error).toMatchObject({ line: 3, column: 8, file: expect.stringContaining('4_broken.sql') });
    expect(result.message).toMatch(/4_broken\.sql:3:8: SQL syntax error/);
    expect(await databaseState(db.url)).toEqual(before);
    expect(
      await query(
        db.url,
        "select nspname from pg_namespace where nspname in ('supabase_migrations', 'migration_guard')",
      ),
    ).toEqual([]);
  });

  it('records a run that failed at run time, with the files rolled back, on a fresh database', async () => {
    const db = await newDb();
    const before = await databaseState(db.url);
    const dir = migrationsDir({
      ...tableMigrations(2),
      '3_fails.sql': 'select 1/0;',
      ...{ '4_after.sql': 'select 1;' },
    });
    const { result } = await runGuard('apply', db.url, dir);
    expect(result.status).toBe('rolled-back');
    expect(result.error).toMatchObject({ sqlstate: '22012', file: expect.stringContaining('3_fails.sql') });
    expect(await databaseState(db.url)).toEqual(before);
    const runs = await query(db.url, 'select id, status, command from migration_guard.runs');
    expect(runs).toEqual([{ id: String(result.runId), status: 'rolled-back', command: 'apply' }]);
  });

  it('stops a per-file run at its rehearsal, with the files it parsed counted in the report', async () => {
    const db = await newDb();
    const before = await databaseState(db.url);
    const dir = migrationsDir({ ...tableMigrations(2), '3_fails.sql': 'select 1;\nselect 1/0;' });
    const { result } = await runGuard('apply', db.url, dir, { 'transaction-mode': 'per-file' });
    expect(result.status).toBe('failed');
    expect(result.message).toMatch(/3_fails\.sql:2:\d+: division by zero.*rehearsal/);
    expect(result.migrations.map((m) => [m.version, m.statements, m.status])).toEqual([
      ['1', 2, 'not-run'],
      ['2', 2, 'not-run'],
      ['3', 2, 'failed'],
    ]);
    expect(await databaseState(db.url)).toEqual(before);
  });

  it('records the run and every file when it succeeds, with per-file statement counts in the report', async () => {
    const db = await newDb();
    const dir = migrationsDir(tableMigrations(4));
    const { result } = await runGuard('apply', db.url, dir);
    expect(result.status).toBe('success');
    expect(result.migrations.map((m) => [m.version, m.statements, m.status])).toEqual([
      ['1', 2, 'applied'],
      ['2', 2, 'applied'],
      ['3', 2, 'applied'],
      ['4', 2, 'applied'],
    ]);
    const runs = await query(db.url, 'select id, status, applied from migration_guard.runs');
    expect(runs).toEqual([{ id: String(result.runId), status: 'success', applied: ['1', '2', '3', '4'] }]);
    const checksums = await query(db.url, 'select run_id from migration_guard.migrations order by version');
    expect(checksums.map((r) => String(r.run_id))).toEqual(Array(4).fill(String(result.runId)));
  });

  it('commits every per-file transaction but the last without waiting for the WAL flush', async () => {
    // A deferred constraint trigger fires at COMMIT, after the runner's SET LOCAL: it records the
    // synchronous_commit setting each file's transaction committed with.
    const db = await newDb();
    // The test servers run with synchronous_commit off; this database gets the usual default.
    const name = new URL(db.url).pathname.slice(1);
    await query(db.url, `alter database "${name}" set synchronous_commit = on`);
    await query(
      db.url,
      `create table commit_log (version int, sync text);
       create function log_commit() returns trigger language plpgsql as $$
       begin insert into commit_log values (new.v, current_setting('synchronous_commit')); return null; end $$;
       create table marks (v int);
       create constraint trigger at_commit after insert on marks deferrable initially deferred
         for each row execute function log_commit();`,
    );
    const dir = migrationsDir(
      Object.fromEntries([1, 2, 3].map((v) => [`${v}_mark.sql`, `insert into marks values (${v});`])),
    );
    const { result } = await runGuard('apply', db.url, dir, { 'transaction-mode': 'per-file' });
    expect(result.status).toBe('success');
    const log = await query(db.url, 'select version, sync from commit_log order by version');
    expect(log).toEqual([
      { version: 1, sync: 'off' },
      { version: 2, sync: 'off' },
      { version: 3, sync: 'on' },
    ]);
  });

  it('a cancellation before the transaction opened says so and that nothing was applied', async () => {
    const db = await newDb();
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const run = new StreamedRun([migrationOf('1', 'create table one (id int);')], await loadParser());
      const signal = AbortSignal.abort('SIGTERM');
      const outcome = executeStreamedTransaction(run, {
        runner: new StatementRunner(client, { lockTimeoutMs: 2000, signal }),
        logger: capturingLogger([]),
        lockTimeoutMs: 2000,
        lockRetries: 0,
        record: () => Promise.resolve(),
      });
      await expect(outcome).rejects.toThrow(GuardError);
      await expect(outcome).rejects.toMatchObject({
        code: 'cancelled',
        message: expect.stringMatching(/^Cancelled \(SIGTERM\).*; nothing was applied$/),
      });
      expect((await client.query("select to_regclass('one') is null as none")).rows).toEqual([
        { none: true },
      ]);
    } finally {
      await client.end();
    }
  });
});
