/**
 * Issue 12, items 4 and 10 (first two parts): transaction blocks inside a file, psql features,
 * and a new enum value used in the transaction that adds it. Every case checks what the database
 * holds afterwards (schema, data, history, run records), not only what the tool says.
 */
import { describe, expect, it } from '@jest/globals';
import { readdirSync } from 'node:fs';
import { databaseState, databasesFor, query, testServers } from '../helpers/db.js';
import { addFiles, migrationsDir } from '../helpers/migrations.js';
import { runGuard } from '../helpers/run.js';
import { tempDirsFor } from '../helpers/temp.js';

const MODES = ['all', 'per-file'] as const;
/** The data fixes here (UPDATE/DELETE without WHERE) are on purpose: accepted past apply's destructive-change guard. */
const DATA_FIXES = { 'allow-destructive': 'true' };

/** An applied first file: a table with data and an enum type, as a project's history would have. */
const BASE = {
  '1_base.sql': [
    "create type mood as enum ('happy');",
    'create table accounts (id int primary key, balance int not null, m mood);',
    "insert into accounts values (1, 100, 'happy'), (2, 50, 'happy');",
  ].join('\n'),
};

/** A pending file before the one under test: in per-file mode it would commit first. */
const EARLIER = { '2_earlier.sql': 'create table earlier (id int);\ninsert into earlier values (1);\n' };

async function runRecords(url: string): Promise<Array<{ status: string; applied: string[] }>> {
  return query(url, 'select status, applied from migration_guard.runs order by id');
}

async function balances(url: string): Promise<number[]> {
  return (await query(url, 'select balance from accounts order by id')).map((r) => r.balance as number);
}

describe.each(testServers())('transaction blocks and psql features on $name', (server) => {
  const newDb = databasesFor(server);
  const tempDir = tempDirsFor();

  /** A database with BASE applied, and the folder holding it. */
  async function based() {
    const db = await newDb();
    const dir = migrationsDir(BASE);
    expect((await runGuard('apply', db.url, dir)).result.status).toBe('success');
    return { db, dir };
  }

  describe.each(MODES)('in %s mode', (mode) => {
    it.each([
      ['streamed', {}],
      // A CONCURRENTLY statement elsewhere in the release makes the run planned before it starts.
      ['planned', { '6_index.sql': 'create index concurrently accounts_balance on accounts (balance);' }],
    ])(
      'applies a file with statements, a BEGIN … COMMIT data fix and more statements atomically, and says the block was absorbed (%s run)',
      async (_run, extra) => {
        const { db, dir } = await based();
        addFiles(dir, {
          '3_fix.sql': [
            'create table audit (id int);',
            'begin;',
            'update accounts set balance = balance + 10;',
            'insert into audit values (1);',
            'commit;',
            'alter table accounts add column note text;',
          ].join('\n'),
          '4_start.sql':
            'insert into audit values (2);\nSTART TRANSACTION;\nupdate accounts set balance = 0 where id = 2;\nEND;\n',
          '5_wrapped.sql': 'BEGIN;\ncreate table wrapped (id int);\nCOMMIT;\n',
          ...extra,
        });
        const { result, logs } = await runGuard('apply', db.url, dir, {
          'transaction-mode': mode,
          ...DATA_FIXES,
        });
        expect(result.error).toBeUndefined();
        expect(result.status).toBe('success');
        expect(result.applied).toEqual(['3', '4', '5', ...Object.keys(extra).map((f) => f.split('_')[0])]);

        expect(await balances(db.url)).toEqual([110, 0]);
        expect(await query(db.url, 'select id from audit order by id')).toEqual([{ id: 1 }, { id: 2 }]);
        expect(
          await query(db.url, "select 1 as ok from information_schema.columns where column_name = 'note'"),
        ).toEqual([{ ok: 1 }]);
        expect(await query(db.url, 'select count(*)::int as n from wrapped')).toEqual([{ n: 0 }]);

        const byVersion = Object.fromEntries(result.migrations.map((m) => [m.version, m]));
        expect(byVersion['3'].notes).toEqual([
          "BEGIN … COMMIT block at lines 2–5 absorbed: it runs inside the migration's transaction and commits with it, not on its own",
        ]);
        expect(byVersion['3'].statements).toBe(4);
        expect(byVersion['3'].atomic).toBe(true);
        expect(byVersion['4'].notes).toEqual([
          "START TRANSACTION … END block at lines 2–4 absorbed: it runs inside the migration's transaction and commits with it, not on its own",
        ]);
        expect(byVersion['5'].notes).toBeUndefined(); // a whole-file wrapper, as before
        expect(logs).toContainEqual(
          expect.stringMatching(/3_fix\.sql: BEGIN … COMMIT block at lines 2–5 absorbed/),
        );

        const history = await query(
          db.url,
          'select version, statements from supabase_migrations.schema_migrations order by version',
        );
        expect(history.map((h) => h.version)).toEqual(['1', ...result.applied]);
        expect(history[1].statements).toEqual([
          'create table audit (id int)',
          'update accounts set balance = balance + 10',
          'insert into audit values (1)',
          'alter table accounts add column note text',
        ]);
        expect((await runRecords(db.url)).at(-1)).toEqual({ status: 'success', applied: result.applied });
      },
    );

    it('rolls the absorbed block back with the rest of the file when a later statement of the file fails', async () => {
      const { db, dir } = await based();
      const before = await databaseState(db.url);
      addFiles(dir, {
        ...EARLIER,
        '3_fix.sql':
          'begin;\nupdate accounts set balance = 0;\ncommit;\ninsert into accounts values (1, 1);\n',
      });
      const { result } = await runGuard('apply', db.url, dir, { 'transaction-mode': mode, ...DATA_FIXES });
      expect(result.status).toBe(mode === 'all' ? 'rolled-back' : 'failed');
      expect(result.error).toMatchObject({
        sqlstate: '23505',
        line: 4,
        file: expect.stringMatching(/3_fix\.sql$/),
      });
      expect(await databaseState(db.url)).toEqual(before);
      expect(await balances(db.url)).toEqual([100, 50]);
      expect((await runRecords(db.url)).at(-1)).toEqual({ status: result.status, applied: [] });
    });

    it('keeps savepoints working, inside an absorbed block and outside one', async () => {
      const { db, dir } = await based();
      addFiles(dir, {
        '3_savepoints.sql': [
          'savepoint a;',
          'update accounts set balance = -1;',
          'rollback to savepoint a;',
          'release savepoint a;',
          'begin;',
          'savepoint b;',
          'update accounts set balance = balance * 2 where id = 1;',
          'savepoint c;',
          'delete from accounts;',
          'rollback to savepoint c;',
          'commit;',
        ].join('\n'),
      });
      const { result } = await runGuard('apply', db.url, dir, { 'transaction-mode': mode, ...DATA_FIXES });
      expect(result.error).toBeUndefined();
      expect(result.status).toBe('success');
      expect(await balances(db.url)).toEqual([200, 50]);
      expect(result.migrations[0].notes).toHaveLength(1);
    });

    it.each([
      [
        'ROLLBACK',
        'create table x (id int);\nbegin;\nupdate accounts set balance = 0;\nrollback;\n',
        4,
        /^ROLLBACK inside a migration/,
      ],
      [
        'a BEGIN without COMMIT',
        'create table x (id int);\nbegin;\nupdate accounts set balance = 0;\n',
        2,
        /^BEGIN without a matching COMMIT/,
      ],
      [
        'a COMMIT without BEGIN',
        'update accounts set balance = 0;\ncommit;\ncreate table x (id int);\n',
        2,
        /^COMMIT without a BEGIN before it/,
      ],
      [
        'a nested BEGIN',
        'begin;\nupdate accounts set balance = 0;\nbegin;\nselect 1;\ncommit;\ncommit;\n',
        3,
        /^BEGIN inside the transaction block opened at line 1/,
      ],
      [
        'PREPARE TRANSACTION',
        "begin;\nupdate accounts set balance = 0;\nprepare transaction 'fix';\n",
        3,
        /^PREPARE TRANSACTION inside a migration/,
      ],
      [
        '\\i',
        'create table x (id int);\n\\i seed.sql\n',
        2,
        /^\\i includes another file in psql; this tool runs SQL statements only/,
      ],
      ['\\set', '\\set owner admin\ncreate table x (id int);\n', 1, /^\\set sets a psql variable/],
      [
        '\\connect',
        'create table x (id int);\n\n\\connect other_db\ncreate table y (id int);\n',
        3,
        /^\\connect connects psql to another database/,
      ],
      ['\\c', 'create table x (id int);\n\\c other_db\n', 2, /^\\c connects psql to another database/],
      [
        'COPY … FROM stdin with data lines',
        'create table x (id int, name text);\nCOPY x (id, name) FROM stdin;\n1\tone\n2\ttwo\n\\.\nupdate accounts set balance = 0;\n',
        2,
        /^COPY … FROM stdin reads its rows from psql/,
      ],
    ])(
      'refuses %s at its line before anything is applied, and the next run can proceed',
      async (_label, sql, line, message) => {
        const { db, dir } = await based();
        const before = await databaseState(db.url);
        const runsBefore = await runRecords(db.url);
        addFiles(dir, { ...EARLIER, '3_bad.sql': sql });

        const { result } = await runGuard('apply', db.url, dir, { 'transaction-mode': mode, ...DATA_FIXES });
        expect(result.status).toBe('failed');
        expect(result.error).toMatchObject({ line, file: expect.stringMatching(/3_bad\.sql$/) });
        expect(result.error?.message).toMatch(message);
        expect(result.error?.hint).toMatch(/Nothing has been run\.$/);
        expect(result.message).toMatch(new RegExp(`3_bad\\.sql:${line}:\\d+: `));
        expect(result.applied).toEqual([]);
        expect(await databaseState(db.url)).toEqual(before);
        expect(await balances(db.url)).toEqual([100, 50]);
        expect(await runRecords(db.url)).toEqual(runsBefore);

        const plan = await runGuard('plan', db.url, dir, { 'transaction-mode': mode });
        expect(plan.result.status).toBe('failed');
        expect(plan.result.error).toMatchObject({ line, message: expect.stringMatching(message) });
        expect(await databaseState(db.url)).toEqual(before);

        addFiles(dir, { '3_bad.sql': 'create table fixed (id int);' });
        const next = await runGuard('apply', db.url, dir, { 'transaction-mode': mode, ...DATA_FIXES });
        expect(next.result.status).toBe('success');
        expect(next.result.applied).toEqual(['2', '3']);
      },
    );

    it('refuses a file that adds an enum value and uses it, before the backup and before the earlier files commit, naming both lines and how to split', async () => {
      const { db, dir } = await based();
      const before = await databaseState(db.url);
      const runsBefore = await runRecords(db.url);
      const enumLabels = async () =>
        (
          await query(db.url, "select enumlabel from pg_enum where enumtypid = 'mood'::regtype order by 1")
        ).map((r) => r.enumlabel);
      addFiles(dir, {
        ...EARLIER,
        '3_enum.sql': [
          'create table y (id int);',
          "alter type mood add value 'sad';",
          "update accounts set m = 'sad' where id = 2;",
        ].join('\n'),
      });
      const backupDir = tempDir('mg-statements-backup-');
      const { result } = await runGuard('apply', db.url, dir, {
        'transaction-mode': mode,
        ...DATA_FIXES,
        backup: 'optional',
        'backup-dir': backupDir,
      });
      expect(result.status).toBe('failed');
      expect(result.error).toMatchObject({
        line: 3,
        file: expect.stringMatching(/3_enum\.sql$/),
        sqlstate: '55P04',
        message: expect.stringMatching(
          /^enum value 'sad' is used here in the same transaction that adds it \(ALTER TYPE … ADD VALUE at line 2\)/,
        ),
        hint: expect.stringMatching(
          /^Split the migration after line 2 of .*3_enum\.sql: keep the ADD VALUE there and move the statements that use 'sad' \(from line 3 on\) into a new migration file with a later version/,
        ),
      });
      // Stopped before the backup stage: no dump was taken (nor attempted).
      expect(result.backup).toBeUndefined();
      expect(result.findings.filter((f) => f.code === 'backup-failed')).toEqual([]);
      expect(readdirSync(backupDir)).toEqual([]);
      expect(await databaseState(db.url)).toEqual(before);
      expect(await enumLabels()).toEqual(['happy']);
      expect(await runRecords(db.url)).toEqual(runsBefore);

      const plan = await runGuard('plan', db.url, dir, { 'transaction-mode': mode });
      expect(plan.result.status).toBe('failed');
      expect(plan.result.error).toMatchObject({ line: 3, sqlstate: '55P04' });

      // Split as the message says: the value commits in its own file, then the use applies.
      addFiles(dir, {
        '3_enum.sql': "create table y (id int);\nalter type mood add value 'sad';",
        '4_use.sql': "update accounts set m = 'sad' where id = 2;",
      });
      const next = await runGuard('apply', db.url, dir, { 'transaction-mode': mode, ...DATA_FIXES });
      expect(next.result.error).toBeUndefined();
      expect(next.result.applied).toEqual(['2', '3', '4']);
      expect(await enumLabels()).toEqual(['happy', 'sad']);
      expect(await query(db.url, 'select m::text from accounts where id = 2')).toEqual([{ m: 'sad' }]);
    });
  });

  it('plan reports an absorbed block as a note and changes nothing', async () => {
    const { db, dir } = await based();
    const before = await databaseState(db.url);
    addFiles(dir, { '3_fix.sql': 'select 1;\nbegin;\nupdate accounts set balance = 0;\ncommit;\n' });
    const { result } = await runGuard('plan', db.url, dir);
    expect(result.status).toBe('success');
    expect(result.migrations[0].notes).toEqual([
      "BEGIN … COMMIT block at lines 2–4 absorbed: it runs inside the migration's transaction and commits with it, not on its own",
    ]);
    expect(await databaseState(db.url)).toEqual(before);
  });
});
