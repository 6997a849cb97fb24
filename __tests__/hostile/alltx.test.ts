import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import pg from 'pg';
import { databasesFor, databaseState, query, testServers } from '../helpers/db.js';
import { addFiles, migrationsDir } from '../helpers/migrations.js';
import { runGuard } from '../helpers/run.js';

/**
 * `transaction-mode: all` with statements that cannot run in a transaction: the run is rehearsed
 * before anything commits; server-wide statements are refused up front; and a failure that only
 * the real pass meets leaves exactly what the report, `status` and our records say, which the
 * next run resumes.
 */

// The rehearsal sees the sequence's first value, the real pass its second: 1 / (1 - 2) passes,
// 1 / (2 - 2) fails. A later run (values 3 and 4) passes both times.
const FAILS_ONLY_FOR_REAL = "select 1 / (nextval('s') - 2);\n";

const RELEASE = {
  '1_accounts.sql': 'create table accounts (id int primary key);\ninsert into accounts values (1), (2);\n',
  '2_orders.sql':
    'create table orders (id int, account int);\n' +
    'create index concurrently orders_account on orders (account);\n' +
    'create table order_lines (id int);\n',
};

/** Every schema object, as pg_dump sees it (not only our own fingerprint). */
function schemaDump(url: string): string {
  return execFileSync('pg_dump', ['--schema-only', '--no-owner', '--exclude-schema=migration_guard', url], {
    encoding: 'utf8',
  })
    .split('\n')
    .filter((l) => !l.startsWith('--') && !/^\\(un)?restrict /.test(l))
    .join('\n');
}

async function lockIsFree(url: string): Promise<boolean> {
  const rows = await query(
    url,
    "select count(*)::int as n from pg_locks where locktype = 'advisory' and database = (select oid from pg_database where datname = current_database())",
  );
  return rows[0].n === 0;
}

async function lastRun(url: string) {
  const rows = await query(
    url,
    'select status, applied, error, details from migration_guard.runs order by id desc limit 1',
  );
  return rows[0];
}

async function partialRows(url: string) {
  const exists = await query(
    url,
    "select to_regclass('migration_guard.partial_migrations') is not null as e",
  );
  if (!exists[0].e) return [];
  return query(
    url,
    'select version, statements_done, statements_total, statements, outside_transaction from migration_guard.partial_migrations order by version',
  );
}

describe.each(testServers())('all mode with non-transactional statements on $name', (server) => {
  const newDb = databasesFor(server);
  const canDump = server.name === 'pg15'; // the machine's pg_dump is 15: it refuses a 17 server

  it('a release whose middle file has CREATE INDEX CONCURRENTLY and whose last file fails: the rehearsal finds it, nothing is left behind, and the fixed release then applies', async () => {
    const db = await newDb();
    await query(db.url, 'create sequence s');
    const dir = migrationsDir({
      ...RELEASE,
      '3_totals.sql': 'create table totals (n int);\nselect 1 / 0;\n',
    });
    const before = await databaseState(db.url);
    const dumpBefore = canDump ? schemaDump(db.url) : '';

    const { result } = await runGuard('apply', db.url, dir);
    expect(result.status).toBe('failed');
    expect(result.error).toMatchObject({
      sqlstate: '22012',
      file: expect.stringContaining('3_totals.sql'),
      line: 2,
    });
    expect(result.message).toMatch(
      /3_totals\.sql:2:1: division by zero\. The rehearsal found this before anything was applied: the database is unchanged\./,
    );
    expect(result.rehearsal).toEqual({
      ran: true,
      reason: expect.stringMatching(
        /cannot be one transaction \(2_orders\.sql: CREATE INDEX CONCURRENTLY \(line 2\) runs outside a transaction\)/,
      ),
      notRehearsed: [expect.stringMatching(/2_orders\.sql:2: CREATE INDEX CONCURRENTLY/)],
    });
    expect(result.nonTransactional ?? []).toEqual([]);
    expect(result.applied).toEqual([]);
    // Nothing left behind: schema, data, history, checksums; no partial record; no invalid index.
    expect(await databaseState(db.url)).toEqual(before);
    if (canDump) expect(schemaDump(db.url)).toBe(dumpBefore);
    expect(await partialRows(db.url)).toEqual([]);
    expect(await query(db.url, "select to_regclass('orders_account') as i")).toEqual([{ i: null }]);
    expect(await lastRun(db.url)).toMatchObject({ status: 'failed', applied: [] });
    expect(await lockIsFree(db.url)).toBe(true);

    const status = await runGuard('status', db.url, dir);
    expect(status.result.message).toBe('0 applied, 3 pending; nothing applied yet');

    // The next run, with the last file fixed, proceeds from a clean slate.
    addFiles(dir, { '3_totals.sql': 'create table totals (n int);\n' });
    const again = await runGuard('apply', db.url, dir);
    expect(again.result.status).toBe('success');
    expect(again.result.applied).toEqual(['1', '2', '3']);
    expect(
      await query(db.url, 'select version from supabase_migrations.schema_migrations order by 1'),
    ).toEqual([{ version: '1' }, { version: '2' }, { version: '3' }]);
    expect(
      await query(db.url, "select indisvalid from pg_index where indexrelid = 'orders_account'::regclass"),
    ).toEqual([{ indisvalid: true }]);
  });

  it('a run that fits in one transaction is not rehearsed, and says why', async () => {
    const db = await newDb();
    await query(db.url, 'create sequence s');
    const dir = migrationsDir({
      '1_a.sql': 'create table a (id int);\n',
      '2_b.sql': "create table b (id int);\nselect nextval('s');\n",
    });
    const { result } = await runGuard('apply', db.url, dir);
    expect(result.status).toBe('success');
    expect(result.rehearsal).toEqual({
      ran: false,
      reason:
        'the run is one transaction: a failure anywhere rolls all of it back, so no rehearsal is needed',
      notRehearsed: [],
    });
    // The statement ran exactly once: no rehearsal pass drew a value.
    expect(await query(db.url, 'select last_value::int as v from s')).toEqual([{ v: 1 }]);
    expect((await lastRun(db.url)).details.rehearsal).toEqual({
      ran: false,
      reason: result.rehearsal?.reason,
    });

    // The same kind of run cut by CONCURRENTLY is rehearsed: the statement runs twice.
    addFiles(dir, {
      '3_c.sql':
        "create table c (id int);\ncreate index concurrently c_id on c (id);\nselect nextval('s');\n",
    });
    const cut = await runGuard('apply', db.url, dir);
    expect(cut.result.status).toBe('success');
    expect(cut.result.rehearsal?.ran).toBe(true);
    expect(await query(db.url, 'select last_value::int as v from s')).toEqual([{ v: 3 }]);

    // Per-file runs are always rehearsed, and say so.
    addFiles(dir, { '4_d.sql': 'create table d (id int);\n' });
    const perFile = await runGuard('apply', db.url, dir, { 'transaction-mode': 'per-file' });
    expect(perFile.result.rehearsal).toMatchObject({
      ran: true,
      reason: expect.stringMatching(/^per-file mode/),
    });
  });

  it.each([
    ['CREATE DATABASE', 'create database other_db', 'CREATE DATABASE'],
    ['DROP DATABASE', 'drop database if exists other_db', 'DROP DATABASE'],
    ['CREATE TABLESPACE', "create tablespace ts location '/tmp'", 'CREATE TABLESPACE'],
    ['ALTER SYSTEM', "alter system set work_mem = '8MB'", 'ALTER SYSTEM'],
  ])('refuses %s before anything runs, naming file:line', async (_name, statement, reason) => {
    const db = await newDb();
    const dir = migrationsDir({
      '1_a.sql': 'create table a (id int);\n',
      '2_b.sql': `create table b (id int);\n\n${statement};\ncreate table c (id int);\n`,
    });
    const before = await databaseState(db.url);
    const { result } = await runGuard('apply', db.url, dir, { backup: 'required' });
    expect(result.status).toBe('failed');
    expect(result.error).toMatchObject({
      file: expect.stringContaining('2_b.sql'),
      line: 3,
      hint: expect.stringMatching(/^Remove the statement from 2_b\.sql: /),
    });
    expect(result.message).toContain(
      `2_b.sql:3:1: ${reason} has no place in a migration run: it acts on the whole server, runs outside any transaction and cannot be rolled back; nothing was run\n  Remove the statement from 2_b.sql: `,
    );
    // Refused before the backup (required here: none was taken) and before our own schema exists.
    expect(result.backup).toBeUndefined();
    expect(await databaseState(db.url)).toEqual(before);
    expect(await query(db.url, "select to_regnamespace('migration_guard') as s")).toEqual([{ s: null }]);
    expect(
      await query(db.url, "select count(*)::int as n from pg_database where datname = 'other_db'"),
    ).toEqual([{ n: 0 }]);
    expect(await lockIsFree(db.url)).toBe(true);
    // plan says the same.
    const plan = await runGuard('plan', db.url, dir, { lint: 'off' }); // the linter is tested elsewhere
    expect(plan.result.status).toBe('failed');
    expect(plan.result.error).toMatchObject({ file: expect.stringContaining('2_b.sql'), line: 3 });
  });

  it('a failure only the real pass meets, after CONCURRENTLY committed: the report, status and records say exactly what remains, and the next run resumes the file', async () => {
    const db = await newDb();
    await query(db.url, 'create sequence s');
    const dir = migrationsDir({
      ...RELEASE,
      '1_accounts.down.sql': 'drop table accounts;\n',
      '3_totals.sql': `create table totals (n int);\n${FAILS_ONLY_FOR_REAL}`,
    });
    const { result } = await runGuard('apply', db.url, dir);
    expect(result.status).toBe('failed');
    expect(result.rehearsal?.ran).toBe(true);
    expect(result.error).toMatchObject({
      sqlstate: '22012',
      file: expect.stringContaining('3_totals.sql'),
      line: 2,
    });
    // Exactly the statement that ran outside the transaction.
    expect(result.nonTransactional).toEqual([
      {
        version: '2',
        file: expect.stringContaining('2_orders.sql'),
        line: 2,
        statement: 'create index concurrently orders_account on orders (account)',
        down: undefined,
      },
    ]);
    expect(result.migrations.map((m) => [m.version, m.status])).toEqual([
      ['1', 'rolled-back'],
      ['2', 'partially-applied'],
      ['3', 'failed'],
    ]);
    expect(result.rollback).toMatchObject({ succeeded: true, reverted: ['1'] });
    expect(result.partiallyApplied).toEqual([
      {
        version: '2',
        file: expect.stringContaining('2_orders.sql'),
        statementsDone: 2,
        statementsTotal: 3,
        nextStep: expect.stringMatching(
          /^statements 1-2 of 3 are committed \(no history row; recorded in migration_guard\.partial_migrations\)\. The next apply resumes it at statement 3 \(line 3\) if the file is unchanged; to start it over instead, undo those statements by hand and run: DELETE FROM migration_guard\.partial_migrations WHERE version = '2'$/,
        ),
      },
    ]);
    expect(result.message).toMatch(
      /3_totals\.sql:2:1: division by zero\. Partly applied .*: 2\. .*2_orders\.sql: statements 1-2 of 3 are committed/,
    );
    expect(result.committedBeforeFailure).toEqual(['2']);

    // What remains is exactly that: file 2's first two statements; file 1 was reverted; nothing of file 3.
    const tables = await query(
      db.url,
      "select to_regclass('accounts') as a, to_regclass('orders') as o, to_regclass('orders_account') as i, to_regclass('order_lines') as l, to_regclass('totals') as t",
    );
    expect(tables).toEqual([{ a: null, o: 'orders', i: 'orders_account', l: null, t: null }]);
    expect(await query(db.url, 'select version from supabase_migrations.schema_migrations')).toEqual([]);
    expect(await partialRows(db.url)).toEqual([
      {
        version: '2',
        statements_done: 2,
        statements_total: 3,
        statements: [
          'create table orders (id int, account int)',
          'create index concurrently orders_account on orders (account)',
        ],
        outside_transaction: [
          { line: 2, statement: 'create index concurrently orders_account on orders (account)' },
        ],
      },
    ]);
    const run = await lastRun(db.url);
    expect(run).toMatchObject({ status: 'failed', applied: [] });
    expect(run.details.partiallyApplied).toEqual([
      expect.objectContaining({ version: '2', statementsDone: 2 }),
    ]);
    expect(run.details.nonTransactional).toEqual([expect.objectContaining({ version: '2', line: 2 })]);
    expect(await lockIsFree(db.url)).toBe(true);

    // status tells it.
    const status = await runGuard('status', db.url, dir);
    expect(status.result.message).toBe(
      '0 applied, 3 pending (1 of them partially applied by a failed run: 2); nothing applied yet',
    );
    expect(status.result.status_rows?.find((r) => r.version === '2')).toMatchObject({
      state: 'pending',
      partial: {
        statementsDone: 2,
        statementsTotal: 3,
        outsideTransaction: [2],
        description: expect.stringMatching(
          /^partially applied: statements 1-2 of 3 committed, 1 of them outside a transaction \(line 2\) by run \d+, no history row; the next apply resumes at statement 3/,
        ),
      },
    });

    // plan rehearses from where apply would resume, and changes nothing.
    const planned = await runGuard('plan', db.url, dir, { lint: 'off' }); // the linter is tested elsewhere
    expect(planned.result.status).toBe('success');
    expect(planned.result.migrations.find((m) => m.version === '2')?.nonAtomicReasons).toContain(
      'resumes at statement 3 (line 3): statements 1-2 were committed by an earlier run',
    );
    expect(await partialRows(db.url)).toHaveLength(1);

    // The next run (the sequence now passes both times) resumes file 2 at statement 3.
    const again = await runGuard('apply', db.url, dir);
    expect(again.result.status).toBe('success');
    expect(again.result.applied).toEqual(['1', '2', '3']);
    expect(again.result.migrations.find((m) => m.version === '2')?.nonAtomicReasons).toContain(
      'resumes at statement 3 (line 3): statements 1-2 were committed by an earlier run',
    );
    expect(await query(db.url, "select to_regclass('order_lines') as l, to_regclass('totals') as t")).toEqual(
      [{ l: 'order_lines', t: 'totals' }],
    );
    // The history lists the whole file, in the Supabase CLI's shape.
    expect(
      await query(db.url, "select statements from supabase_migrations.schema_migrations where version = '2'"),
    ).toEqual([
      {
        statements: [
          'create table orders (id int, account int)',
          'create index concurrently orders_account on orders (account)',
          'create table order_lines (id int)',
        ],
      },
    ]);
    expect(await partialRows(db.url)).toEqual([]);
    expect((await runGuard('status', db.url, dir)).result.message).toBe(
      '3 applied, 0 pending; current version 3',
    );
  });

  it('a CONCURRENTLY that fails for real: its INVALID index is dropped, the report lists it as failed, and a changed file is refused with the way out', async () => {
    const db = await newDb();
    const dir = migrationsDir({
      '1_users.sql': 'create table users (email text);\n',
      // The rehearsal skips the CONCURRENTLY; for real it meets the duplicate.
      '2_unique.sql':
        "insert into users values ('a@x'), ('a@x');\ncreate unique index concurrently users_email on users (email);\ncreate table later (id int);\n",
    });
    const { result } = await runGuard('apply', db.url, dir);
    expect(result.status).toBe('failed');
    expect(result.error).toMatchObject({
      sqlstate: '23505',
      file: expect.stringContaining('2_unique.sql'),
      line: 2,
    });
    expect(result.nonTransactional).toEqual([
      expect.objectContaining({
        version: '2',
        line: 2,
        failed: true,
        leftBehind: 'the INVALID index users_email it left behind was dropped',
      }),
    ]);
    expect(await query(db.url, 'select count(*)::int as n from pg_index where not indisvalid')).toEqual([
      { n: 0 },
    ]);
    expect(result.message).toMatch(
      /2_unique\.sql:2 failed outside a transaction: the INVALID index users_email it left behind was dropped\./,
    );
    // File 1 has no down migration: it stays applied and recorded; file 2's insert committed.
    expect(await query(db.url, 'select version from supabase_migrations.schema_migrations')).toEqual([
      { version: '1' },
    ]);
    expect(await query(db.url, 'select count(*)::int as n from users')).toEqual([{ n: 2 }]);
    expect(await partialRows(db.url)).toEqual([
      expect.objectContaining({
        version: '2',
        statements_done: 1,
        outside_transaction: [
          {
            line: 2,
            statement: 'create unique index concurrently users_email on users (email)',
            failed: true,
          },
        ],
      }),
    ]);

    // The file is changed to repair the data: it can no longer resume, and apply says what to do.
    addFiles(dir, {
      '2_unique.sql':
        "insert into users values ('a@x');\ndelete from users;\ncreate unique index concurrently users_email on users (email);\ncreate table later (id int);\n",
    });
    const refused = await runGuard('apply', db.url, dir);
    expect(refused.result.status).toBe('failed');
    expect(refused.result.message).toMatch(
      /2_unique\.sql was partly applied by run \d+ \(statements 1-1 of 3 committed; failed outside a transaction at line 2\) and has changed since \(checksum differs\), so it cannot be resumed: restore the file as it was .* or undo those statements by hand and then run: DELETE FROM migration_guard\.partial_migrations WHERE version = '2'/,
    );
    expect(await query(db.url, "select to_regclass('later') as l")).toEqual([{ l: null }]);

    // The operator undoes the insert and follows the instruction: the changed file then applies whole.
    await query(db.url, 'delete from users');
    await query(db.url, "DELETE FROM migration_guard.partial_migrations WHERE version = '2'");
    // Its `delete from users` (no WHERE) is destructive: accepted for this run (issue 9's guard).
    const again = await runGuard('apply', db.url, dir, { 'allow-destructive': 'true' });
    expect(again.result.status).toBe('success');
    expect(await query(db.url, 'select count(*)::int as n from users')).toEqual([{ n: 0 }]);
  });

  it('per-file mode: a file cut by CONCURRENTLY that fails for real after it is booked as partly applied and resumed', async () => {
    const db = await newDb();
    await query(db.url, 'create sequence s');
    const dir = migrationsDir({
      '1_p1.sql': 'create table p1 (id int);\n',
      '2_p2.sql': `create table p2 (id int);\ncreate index concurrently p2_id on p2 (id);\n${FAILS_ONLY_FOR_REAL}`,
    });
    const { result } = await runGuard('apply', db.url, dir, { 'transaction-mode': 'per-file' });
    expect(result.status).toBe('failed');
    expect(result.nonTransactional).toEqual([
      expect.objectContaining({
        version: '2',
        line: 2,
        statement: 'create index concurrently p2_id on p2 (id)',
      }),
    ]);
    // File 1 has no down migration: it stays applied and recorded.
    expect(result.applied).toEqual(['1']);
    expect(result.partiallyApplied).toEqual([
      expect.objectContaining({ version: '2', statementsDone: 2, statementsTotal: 3 }),
    ]);
    expect(await query(db.url, 'select version from supabase_migrations.schema_migrations')).toEqual([
      { version: '1' },
    ]);
    expect(await partialRows(db.url)).toEqual([
      expect.objectContaining({ version: '2', statements_done: 2, statements_total: 3 }),
    ]);
    const again = await runGuard('apply', db.url, dir, { 'transaction-mode': 'per-file' });
    expect(again.result.status).toBe('success');
    expect(again.result.applied).toEqual(['2']);
    expect(
      await query(db.url, 'select version from supabase_migrations.schema_migrations order by 1'),
    ).toEqual([{ version: '1' }, { version: '2' }]);
    expect(await partialRows(db.url)).toEqual([]);
  });

  describe('a lock that only the real pass meets (another session holds it on the table CONCURRENTLY indexes)', () => {
    const LOCKED_RELEASE = {
      '1_notes.sql': 'create table notes (id int);\n',
      '2_index.sql':
        'create table order_notes (id int);\ncreate index concurrently orders_account on orders (account);\ncreate table order_lines (id int);\n',
    };

    async function holdLock(url: string): Promise<pg.Client> {
      const holder = new pg.Client({ connectionString: url });
      await holder.connect();
      await holder.query('begin; lock table orders in share update exclusive mode');
      return holder;
    }

    it('is waited out: the CONCURRENTLY is retried with backoff like a transaction, and the run succeeds', async () => {
      const db = await newDb();
      await query(db.url, 'create table orders (id int, account int)');
      const dir = migrationsDir(LOCKED_RELEASE);
      const holder = await holdLock(db.url);
      const release = setTimeout(() => void holder.query('commit').then(() => holder.end()), 1200);
      try {
        const { result } = await runGuard(
          'apply',
          db.url,
          dir,
          { 'lock-timeout': '200ms', 'lock-retries': '8' },
          { overrides: { lockRetryBaseMs: 100 } },
        );
        expect(result.status).toBe('success');
        expect(result.lock?.retries.length).toBeGreaterThanOrEqual(1);
        expect(result.lock?.retries[0].message).toMatch(/lock timeout/);
        expect(result.nonTransactional).toEqual([
          expect.objectContaining({ version: '2', line: 2, failed: undefined }),
        ]);
        expect(
          await query(
            db.url,
            "select indisvalid from pg_index where indexrelid = 'orders_account'::regclass",
          ),
        ).toEqual([{ indisvalid: true }]);
      } finally {
        clearTimeout(release);
        await holder.end().catch(() => {});
      }
    });

    it('with retries exhausted: the report, status and records say what committed, and the next run resumes at the CONCURRENTLY', async () => {
      const db = await newDb();
      await query(db.url, 'create table orders (id int, account int)');
      const dir = migrationsDir(LOCKED_RELEASE);
      const holder = await holdLock(db.url);
      let result;
      try {
        ({ result } = await runGuard(
          'apply',
          db.url,
          dir,
          { 'lock-timeout': '200ms', 'lock-retries': '1' },
          { overrides: { lockRetryBaseMs: 100 } },
        ));
      } finally {
        await holder.query('commit');
        await holder.end();
      }
      expect(result.status).toBe('failed');
      expect(result.rehearsal?.ran).toBe(true);
      expect(result.error).toMatchObject({
        sqlstate: '55P03',
        file: expect.stringContaining('2_index.sql'),
        line: 2,
      });
      expect(result.lock?.retries).toHaveLength(1);
      // The statement that ran outside the transaction, and failed there leaving nothing behind.
      expect(result.nonTransactional).toEqual([
        {
          version: '2',
          file: expect.stringContaining('2_index.sql'),
          line: 2,
          statement: 'create index concurrently orders_account on orders (account)',
          failed: true,
          leftBehind: undefined,
          down: undefined,
        },
      ]);
      // File 1 (no down migration) stays applied; file 2's first statement committed with it.
      expect(result.applied).toEqual(['1']);
      expect(result.migrations.map((m) => [m.version, m.status])).toEqual([
        ['1', 'applied'],
        ['2', 'partially-applied'],
      ]);
      expect(result.partiallyApplied).toEqual([
        expect.objectContaining({
          version: '2',
          statementsDone: 1,
          statementsTotal: 3,
          nextStep: expect.stringMatching(
            /The next apply resumes it at statement 2 \(line 2\) if the file is unchanged/,
          ),
        }),
      ]);
      expect(result.message).toMatch(/Still applied from this run: 1\..*Partly applied .*: 2\./);
      expect(
        await query(
          db.url,
          "select to_regclass('notes') as n, to_regclass('order_notes') as o, to_regclass('orders_account') as i, to_regclass('order_lines') as l",
        ),
      ).toEqual([{ n: 'notes', o: 'order_notes', i: null, l: null }]);
      expect(await query(db.url, 'select version from supabase_migrations.schema_migrations')).toEqual([
        { version: '1' },
      ]);
      expect(await partialRows(db.url)).toEqual([
        {
          version: '2',
          statements_done: 1,
          statements_total: 3,
          statements: ['create table order_notes (id int)'],
          outside_transaction: [
            {
              line: 2,
              statement: 'create index concurrently orders_account on orders (account)',
              failed: true,
            },
          ],
        },
      ]);
      expect(await lastRun(db.url)).toMatchObject({ status: 'failed', applied: ['1'] });
      expect(await lockIsFree(db.url)).toBe(true);
      const status = await runGuard('status', db.url, dir);
      expect(status.result.message).toBe(
        '1 applied, 1 pending (1 of them partially applied by a failed run: 2); current version 1',
      );

      const again = await runGuard('apply', db.url, dir);
      expect(again.result.status).toBe('success');
      expect(again.result.applied).toEqual(['2']);
      expect(
        await query(db.url, "select to_regclass('orders_account') as i, to_regclass('order_lines') as l"),
      ).toEqual([{ i: 'orders_account', l: 'order_lines' }]);
      expect(await partialRows(db.url)).toEqual([]);
    });
  });

  it('a cancellation during the real pass, after CONCURRENTLY committed: the partly applied file is booked and the run recorded as cancelled', async () => {
    const db = await newDb();
    await query(db.url, 'create sequence s');
    const dir = migrationsDir({
      ...RELEASE,
      // Sleeps only in the first real pass (the rehearsal draws the first value; later runs draw 3 and 4).
      '3_totals.sql':
        "create table totals (n int);\nselect pg_sleep(case when nextval('s') = 2 then 30 else 0 end);\n",
    });
    const controller = new AbortController();
    const run = runGuard('apply', db.url, dir, {}, { signal: controller.signal });
    for (let i = 0; ; i++) {
      if (i > 400) throw new Error('the real pass never reached 3_totals.sql');
      const rows = await query(
        db.url,
        `select 1 from pg_stat_activity where datname = current_database() and state = 'active'
            and query like '%pg_sleep%' and application_name like 'migration-guard%'
            and to_regclass('orders_account') is not null`,
      );
      if (rows.length > 0) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    controller.abort('SIGTERM');
    const { result } = await run;
    expect(result.cancelled).toBe(true);
    expect(result.nonTransactional).toEqual([
      expect.objectContaining({
        version: '2',
        line: 2,
        statement: 'create index concurrently orders_account on orders (account)',
      }),
    ]);
    expect(result.partiallyApplied).toEqual([expect.objectContaining({ version: '2', statementsDone: 2 })]);
    expect(await partialRows(db.url)).toEqual([
      expect.objectContaining({ version: '2', statements_done: 2 }),
    ]);
    expect(await query(db.url, 'select version from supabase_migrations.schema_migrations')).toEqual([
      { version: '1' },
    ]);
    expect(await lastRun(db.url)).toMatchObject({ status: 'cancelled', applied: ['1'] });
    expect(await lockIsFree(db.url)).toBe(true);
    // The next run resumes file 2 at its third statement and applies file 3.
    const again = await runGuard('apply', db.url, dir);
    expect(again.result.status).toBe('success');
    expect(again.result.applied).toEqual(['2', '3']);
  });
});
