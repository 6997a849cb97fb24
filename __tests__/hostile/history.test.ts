/**
 * Issue 12, item 7 (any history table the Supabase CLI ever wrote) and the input parts of item 10
 * (`baseline --target-version ""`, sub-millisecond statement-timeout), against a real server.
 *
 * An older Supabase CLI created `supabase_migrations.schema_migrations` with `version` only, a
 * later one added `statements`, the current one `name`. Every command used to fail on such a table
 * with `column "name" does not exist`; a history row whose version is not all digits crashed every
 * command with `Cannot convert … to a BigInt`.
 */
import { describe, expect, it, jest } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../../src/cli.js';
import { databaseState, databasesFor, query, testServers, withPg } from '../helpers/db.js';
import { migrationsDir, tableMigrations } from '../helpers/migrations.js';
import { runGuard } from '../helpers/run.js';
import { tempDirsFor } from '../helpers/temp.js';

const SUPABASE = join(process.cwd(), 'node_modules', '.bin', 'supabase');
/** The Supabase CLI takes a second or two per call. */
const SUPABASE_TIMEOUT = 180_000;

/** The table as the current Supabase CLI creates it (and as its upgrade leaves an older one). */
const CLI_COLUMNS = [
  { column_name: 'version', data_type: 'text', is_nullable: 'NO', column_default: null },
  { column_name: 'statements', data_type: 'ARRAY', is_nullable: 'YES', column_default: null },
  { column_name: 'name', data_type: 'text', is_nullable: 'YES', column_default: null },
];

type Shape = 'version' | 'version+statements';

const FILES = tableMigrations(3); // 1_t1.sql, 2_t2.sql, 3_t3.sql: create and fill t1, t2, t3

const tempDir = tempDirsFor();

async function columns(url: string) {
  return query(
    url,
    `SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns
      WHERE table_schema = 'supabase_migrations' AND table_name = 'schema_migrations' ORDER BY ordinal_position`,
  );
}

/** Everything about the history table a reader could change: columns, constraints, rows. */
async function historyTable(url: string) {
  return {
    columns: await columns(url),
    constraints: await query(
      url,
      `SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint
        WHERE conrelid = 'supabase_migrations.schema_migrations'::regclass ORDER BY conname`,
    ),
    rows: await query(
      url,
      'SELECT to_jsonb(h) AS row FROM supabase_migrations.schema_migrations h ORDER BY version',
    ),
  };
}

/**
 * A database an older Supabase CLI migrated: files 1..applied ran (their tables exist) and the
 * history table has the older shape, holding those versions.
 */
async function olderCliDatabase(url: string, shape: Shape, applied: number): Promise<void> {
  await withPg(url, async (c) => {
    await c.query('CREATE SCHEMA supabase_migrations');
    await c.query(
      `CREATE TABLE supabase_migrations.schema_migrations (version text NOT NULL PRIMARY KEY${shape === 'version+statements' ? ', statements text[]' : ''})`,
    );
    for (let i = 1; i <= applied; i++) {
      await c.query(FILES[`${i}_t${i}.sql`]);
      if (shape === 'version')
        await c.query('INSERT INTO supabase_migrations.schema_migrations VALUES ($1)', [String(i)]);
      else
        await c.query('INSERT INTO supabase_migrations.schema_migrations VALUES ($1, $2)', [
          String(i),
          [FILES[`${i}_t${i}.sql`]],
        ]);
    }
  });
}

async function runs(url: string) {
  const exists = await query(url, "SELECT to_regclass('migration_guard.runs') IS NOT NULL AS e");
  if (!exists[0].e) return [];
  return query(url, 'SELECT command, status, applied FROM migration_guard.runs ORDER BY id');
}

async function advisoryLocks(url: string): Promise<number> {
  return Number(
    (
      await query(
        url,
        "SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
      )
    )[0].n,
  );
}

function supabase(
  args: string[],
  cwd: string,
): Promise<{ code: number | null; out: string; stdout: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [SUPABASE, ...args],
      {
        cwd,
        env: {
          PATH: process.env.PATH,
          HOME: tempDir('mg-sb-home-'),
          DO_NOT_TRACK: '1',
          SUPABASE_TELEMETRY_DISABLED: '1',
        },
        timeout: 120_000,
      },
      (error, stdout, stderr) => {
        const code = error ? ((error as { code?: unknown }).code as number | null) : 0;
        resolve({
          code: typeof code === 'number' ? code : null,
          out: `${stdout}${stderr}`,
          stdout: String(stdout),
        });
      },
    );
  });
}

function supabaseUrl(url: string): string {
  const u = new URL(url);
  u.searchParams.set('sslmode', 'disable');
  return u.toString();
}

/** A Supabase project folder holding `files` in supabase/migrations. */
function supabaseProject(files: Record<string, string>): string {
  const cwd = tempDir('mg-sb-project-');
  mkdirSync(join(cwd, 'supabase', 'migrations'), { recursive: true });
  for (const [name, sql] of Object.entries(files))
    writeFileSync(join(cwd, 'supabase', 'migrations', name), sql);
  return cwd;
}

/** Runs the CLI entry point in-process; returns its exit code and what it wrote to stderr. */
async function cli(argv: string[]): Promise<{ code: number; stderr: string }> {
  const written: string[] = [];
  const spy = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: unknown) => {
    written.push(String(chunk));
    return true;
  });
  const out = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
  try {
    const code = await main(argv, {});
    return { code, stderr: written.join('') };
  } finally {
    spy.mockRestore();
    out.mockRestore();
  }
}

describe.each(testServers())('history tables of older Supabase CLIs, on $name', (server) => {
  const newDb = databasesFor(server);

  it.each<Shape>(['version', 'version+statements'])(
    'status and plan read a "%s" table without changing it',
    async (shape) => {
      const db = await newDb();
      await olderCliDatabase(db.url, shape, 2);
      const dir = migrationsDir(FILES);
      const before = await databaseState(db.url);
      const tableBefore = await historyTable(db.url);

      const status = await runGuard('status', db.url, dir);
      expect(status.result.status).toBe('success');
      expect(status.result.message).toBe('2 applied, 1 pending; current version 2');
      expect(status.result.status_rows?.map((r) => [r.version, r.name, r.state, r.checksum])).toEqual([
        ['1', 't1', 'applied', 'unverified'],
        ['2', 't2', 'applied', 'unverified'],
        ['3', 't3', 'pending', undefined],
      ]);

      const plan = await runGuard('plan', db.url, dir, { lint: 'off' }); // the linter is tested elsewhere
      expect(plan.result.status).toBe('success');
      expect(plan.result.message).toMatch(
        /^1 pending migration\(s\) rehearsed and rolled back without error/,
      );

      // Read-only: not one column added, nothing else created.
      expect(await historyTable(db.url)).toEqual(tableBefore);
      expect(await databaseState(db.url)).toEqual(before);
      expect(
        await query(db.url, "SELECT nspname FROM pg_namespace WHERE nspname = 'migration_guard'"),
      ).toEqual([]);
    },
  );

  it.each<[Shape, 'all' | 'per-file']>([
    ['version', 'all'],
    ['version+statements', 'all'],
    ['version', 'per-file'],
    ['version+statements', 'per-file'],
  ])(
    'apply upgrades a "%s" table as the Supabase CLI does (%s mode) and records the new file with its name and statements',
    async (shape, mode) => {
      const db = await newDb();
      await olderCliDatabase(db.url, shape, 1);
      const dir = migrationsDir(FILES);

      const { result } = await runGuard('apply', db.url, dir, { 'transaction-mode': mode });
      expect(result.status).toBe('success');
      expect(result.applied).toEqual(['2', '3']);
      expect(await columns(db.url)).toEqual(CLI_COLUMNS);
      expect(
        await query(
          db.url,
          'SELECT version, name, statements FROM supabase_migrations.schema_migrations ORDER BY version',
        ),
      ).toEqual([
        // The older CLI's row is kept as it was.
        { version: '1', name: null, statements: shape === 'version' ? null : [FILES['1_t1.sql']] },
        {
          version: '2',
          name: 't2',
          statements: ['create table t2 (id int primary key)', 'insert into t2 values (2)'],
        },
        {
          version: '3',
          name: 't3',
          statements: ['create table t3 (id int primary key)', 'insert into t3 values (3)'],
        },
      ]);
      expect(await query(db.url, 'SELECT id FROM t3')).toEqual([{ id: 3 }]);
      expect(await runs(db.url)).toEqual([{ command: 'apply', status: 'success', applied: ['2', '3'] }]);
      expect(await advisoryLocks(db.url)).toBe(0);

      const again = await runGuard('apply', db.url, dir);
      expect(again.result.status).toBe('nothing-to-do');
    },
  );

  it.each<'all' | 'per-file'>(['all', 'per-file'])(
    'a failed apply (%s mode) leaves an older table exactly as it was: the upgrade is part of the run',
    async (mode) => {
      const db = await newDb();
      await olderCliDatabase(db.url, 'version', 1);
      const dir = migrationsDir({ ...FILES, '3_t3.sql': 'create table t3 (id int);\nselect 1/0;' });
      const before = await databaseState(db.url);
      const tableBefore = await historyTable(db.url);

      const { result } = await runGuard('apply', db.url, dir, { 'transaction-mode': mode });
      expect(result.error?.message).toBe('division by zero');
      expect(result.error?.file).toMatch(/3_t3\.sql$/);
      // per-file rehearses first: the failure is found before anything commits.
      expect(result.status).toBe(mode === 'all' ? 'rolled-back' : 'failed');
      expect(await historyTable(db.url)).toEqual(tableBefore);
      expect(await databaseState(db.url)).toEqual(before);
      expect((await runs(db.url)).map((r) => r.status)).toEqual([mode === 'all' ? 'rolled-back' : 'failed']);
      expect(await advisoryLocks(db.url)).toBe(0);
    },
  );

  it('baseline upgrades an older table and marks the files up to target-version', async () => {
    const db = await newDb();
    await olderCliDatabase(db.url, 'version', 1);
    await withPg(db.url, (c) => c.query(FILES['2_t2.sql'])); // applied by hand, never recorded
    const dir = migrationsDir(FILES);

    const { result } = await runGuard('baseline', db.url, dir, { 'target-version': '2' });
    expect(result.status).toBe('success');
    expect(result.applied).toEqual(['2']);
    expect(result.currentVersion).toBe('2');
    expect(await columns(db.url)).toEqual(CLI_COLUMNS);
    expect(
      await query(
        db.url,
        'SELECT version, name, statements FROM supabase_migrations.schema_migrations ORDER BY version',
      ),
    ).toEqual([
      { version: '1', name: null, statements: null },
      { version: '2', name: 't2', statements: [] },
    ]);
    expect(await query(db.url, "SELECT to_regclass('public.t3') AS t")).toEqual([{ t: null }]);
    expect(await runs(db.url)).toEqual([{ command: 'baseline', status: 'success', applied: ['2'] }]);
  });

  it('rollback works on an older table and leaves its shape alone (it only deletes rows)', async () => {
    const db = await newDb();
    await olderCliDatabase(db.url, 'version', 2);
    const dir = migrationsDir({ ...FILES, '2_t2.down.sql': 'drop table t2;' });

    const { result } = await runGuard('rollback', db.url, dir);
    expect(result.status).toBe('success');
    expect(result.rollback?.reverted).toEqual(['2']);
    expect(await columns(db.url)).toEqual([CLI_COLUMNS[0]]);
    expect(await query(db.url, 'SELECT version FROM supabase_migrations.schema_migrations')).toEqual([
      { version: '1' },
    ]);
    expect(await query(db.url, "SELECT to_regclass('public.t2') AS t")).toEqual([{ t: null }]);
  });

  it('a table of that name without a version column (not the CLI’s) stops every command that reads the history, with a clear message; backup only warns', async () => {
    const db = await newDb();
    await query(
      db.url,
      'CREATE SCHEMA supabase_migrations; CREATE TABLE supabase_migrations.schema_migrations (id int)',
    );
    const dir = migrationsDir(FILES);
    // (databaseState reads the version column: compare the catalogue directly.)
    const state = () =>
      query(
        db.url,
        `SELECT n.nspname, c.relname, a.attname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0
          WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') ORDER BY 1, 2, 3`,
      );
    const before = await state();
    for (const [command, extra] of [
      ['status', {}],
      ['plan', {}],
      ['apply', {}],
      ['baseline', { 'target-version': 'all' }],
      ['rollback', {}],
    ] as const) {
      const { result } = await runGuard(command, db.url, dir, extra);
      expect({ command, status: result.status }).toEqual({ command, status: 'failed' });
      // Found once connected (the report names the server), not before.
      expect({ command, server: result.database?.serverVersion }).toEqual({
        command,
        server: expect.any(String),
      });
      expect(result.message).toBe(
        'supabase_migrations.schema_migrations has no "version" column: it was not created by the Supabase CLI, so its history cannot be read\n' +
          '  Rename or drop that table (it holds no history this tool or the Supabase CLI can read), then run baseline to record what the database already has.',
      );
    }
    // backup never compares files with the history: it warns and goes on (to pg_dump, which this
    // machine may lack for this server: either outcome is fine here, the history message is not).
    const backup = await runGuard('backup', db.url, dir, { 'backup-dir': tempDir('mg-history-backup-') });
    expect(backup.logs).toContain(
      'warn: supabase_migrations.schema_migrations has no "version" column: it was not created by the Supabase CLI, so its history cannot be read\n' +
        '  Rename or drop that table (it holds no history this tool or the Supabase CLI can read), then run baseline to record what the database already has.',
    );
    expect(backup.result.message ?? '').not.toMatch(/version" column/);
    expect(await state()).toEqual(before);
    expect(before).toEqual([{ nspname: 'supabase_migrations', relname: 'schema_migrations', attname: 'id' }]);
    expect(await advisoryLocks(db.url)).toBe(0);
  });

  it(
    'our upgrade equals the Supabase CLI’s own, and `supabase migration list` / `db push` agree with us afterwards',
    async () => {
      const ours = await newDb();
      const theirs = await newDb();
      await olderCliDatabase(ours.url, 'version', 1);
      await olderCliDatabase(theirs.url, 'version', 1);
      const project = supabaseProject(FILES);
      const dir = join(project, 'supabase', 'migrations');

      expect((await runGuard('apply', ours.url, dir)).result.status).toBe('success');
      const push = await supabase(['db', 'push', '--yes', '--db-url', supabaseUrl(theirs.url)], project);
      expect({ code: push.code, out: push.out }).toMatchObject({ code: 0 });
      const [a, b] = [await historyTable(ours.url), await historyTable(theirs.url)];
      expect(a.columns).toEqual(b.columns);
      expect(a.constraints).toEqual(b.constraints);
      expect(a.rows).toEqual(b.rows); // the kept old row, and the new ones with the CLI's name and statements

      const list = await supabase(
        ['migration', 'list', '--db-url', supabaseUrl(ours.url), '--output-format', 'json'],
        project,
      );
      expect({ code: list.code, out: list.out }).toMatchObject({ code: 0 });
      const listed = JSON.parse(list.stdout) as {
        migrations: Array<{ local: string; remote: string }>;
      };
      expect(listed.migrations.map((m) => [m.local, m.remote])).toEqual([
        ['1', '1'],
        ['2', '2'],
        ['3', '3'],
      ]);
      const dryRun = await supabase(['db', 'push', '--dry-run', '--db-url', supabaseUrl(ours.url)], project);
      expect(dryRun.out).toMatch(/Remote database is up to date/);
    },
    SUPABASE_TIMEOUT,
  );
});

describe.each(testServers())('history versions that are not migration versions, on $name', (server) => {
  const newDb = databasesFor(server);

  /** Files 1 and 2 applied by us, then rows with an empty and a non-numeric version added by hand. */
  async function pollutedDatabase() {
    const db = await newDb();
    const dir = migrationsDir({ ...tableMigrations(2), '2_t2.down.sql': 'drop table t2;' });
    expect((await runGuard('apply', db.url, dir)).result.status).toBe('success');
    await query(
      db.url,
      "INSERT INTO supabase_migrations.schema_migrations (version, name) VALUES ('', 'blank'), ('abc', NULL), ('2024-01-01', 'dashed')",
    );
    return { db, dir };
  }

  const EMPTY = `supabase_migrations.schema_migrations has a row with an empty version (name "blank"), which is not a migration version (digits only, the start of a file name): no file can match it, it was written by hand or by another tool. Check what it records, then delete it deliberately (DELETE FROM supabase_migrations.schema_migrations WHERE version = '')`;
  const ABC = `supabase_migrations.schema_migrations has a row with version "abc", which is not a migration version`;

  it('status reports them, orders them after the numeric versions and never crashes', async () => {
    const { db, dir } = await pollutedDatabase();
    const before = await databaseState(db.url);
    const { result } = await runGuard('status', db.url, dir);
    expect(result.status).toBe('success');
    expect(result.message).toBe(
      '2 applied, 0 pending, 3 problem(s) that would stop apply; current version 2',
    );
    expect(result.status_rows?.map((r) => [r.version, r.state])).toEqual([
      ['1', 'applied'],
      ['2', 'applied'],
      ['', 'missing-locally'],
      ['2024-01-01', 'missing-locally'],
      ['abc', 'missing-locally'],
    ]);
    expect(result.findings.map((f) => [f.code, f.severity, f.version])).toEqual([
      ['invalid-version', 'error', ''],
      ['invalid-version', 'error', '2024-01-01'],
      ['invalid-version', 'error', 'abc'],
    ]);
    expect(result.findings[0].message).toBe(EMPTY);
    expect(result.findings[2].message).toMatch(new RegExp(`^${ABC}`));
    expect(await databaseState(db.url)).toEqual(before);
  });

  it('plan, apply and baseline refuse before any change, quoting every such row', async () => {
    const { db, dir } = await pollutedDatabase();
    const before = await databaseState(db.url);
    const runsBefore = await runs(db.url);
    for (const [command, extra] of [
      ['plan', {}],
      ['apply', {}],
      ['baseline', { 'target-version': 'all' }],
    ] as const) {
      const { result } = await runGuard(command, db.url, dir, extra);
      expect({ command, status: result.status }).toEqual({ command, status: 'failed' });
      // Found once connected (the report names the server), not before.
      expect({ command, server: result.database?.serverVersion }).toEqual({
        command,
        server: expect.any(String),
      });
      expect(result.message).toContain(EMPTY);
      expect(result.message).toContain(ABC);
      expect(result.message).toContain('version "2024-01-01"');
    }
    expect(await databaseState(db.url)).toEqual(before);
    expect(await runs(db.url)).toEqual(runsBefore);
    expect(await advisoryLocks(db.url)).toBe(0);
  });

  it('rollback reverts the newest numeric version and leaves the unordered rows alone, saying so', async () => {
    const { db, dir } = await pollutedDatabase();
    const { result, logs } = await runGuard('rollback', db.url, dir);
    expect(result.status).toBe('success');
    expect(result.rollback?.reverted).toEqual(['2']);
    expect(result.currentVersion).toBe('1');
    expect(logs).toContain(
      'warn: Ignored 3 history row(s) whose version is not a migration version ("", "2024-01-01", "abc"): rollback neither counts nor removes them',
    );
    expect(
      (await query(db.url, 'SELECT version FROM supabase_migrations.schema_migrations ORDER BY version')).map(
        (r) => r.version,
      ),
    ).toEqual(['', '1', '2024-01-01', 'abc']);
    expect(await query(db.url, "SELECT to_regclass('public.t2') AS t")).toEqual([{ t: null }]);

    // A count reaching past the numeric versions does not take an unordered row for one.
    const tooMany = await runGuard('rollback', db.url, dir, { count: '2' });
    expect(tooMany.result.status).toBe('failed');
    expect(tooMany.result.message).toBe('count 2 is more than the 1 applied migration(s)');
  });

  it('once the rows are deleted as the message says, apply proceeds', async () => {
    const { db, dir } = await pollutedDatabase();
    const { result } = await runGuard('status', db.url, dir);
    for (const finding of result.findings) {
      const statement = /\((DELETE FROM .*)\)$/.exec(finding.message)![1];
      await query(db.url, statement);
    }
    expect((await runGuard('apply', db.url, dir)).result.status).toBe('nothing-to-do');
  });
});

describe.each(testServers())('inputs that must never reach the database, on $name', (server) => {
  const newDb = databasesFor(server);

  it('baseline with an empty target-version marks nothing: refused by the CLI and by the settings', async () => {
    const db = await newDb();
    const dir = migrationsDir(FILES);
    const before = await databaseState(db.url);

    for (const argv of [
      ['baseline', '--target-version', ''],
      ['baseline', '--target-version='],
      ['baseline', '--target-version', '   '],
    ]) {
      const { code, stderr } = await cli([...argv, '--database-url', db.url, '--migrations-dir', dir]);
      expect(code).toBe(2);
      expect(stderr).toMatch(
        /^--target-version was given an empty value: give a value, or leave the flag out\n/,
      );
    }
    // Without the flag (and from the action, where an unset input is blank): target-version is required.
    const { code, stderr } = await cli(['baseline', '--database-url', db.url, '--migrations-dir', dir]);
    expect(code).toBe(2);
    expect(stderr).toContain('target-version: baseline needs it');
    await expect(runGuard('baseline', db.url, dir, { 'target-version': '' })).rejects.toThrow(
      /target-version: baseline needs it: the newest migration version the database already has/,
    );
    expect(await databaseState(db.url)).toEqual(before);
    expect(before.history).toEqual([]);
    expect(await query(db.url, "SELECT nspname FROM pg_namespace WHERE nspname LIKE '%migration%'")).toEqual(
      [],
    );

    // With all, every file is marked, as asked.
    for (const sql of Object.values(FILES)) await query(db.url, sql);
    const all = await cli([
      'baseline',
      '--target-version',
      'all',
      '--database-url',
      db.url,
      '--migrations-dir',
      dir,
    ]);
    expect(all.code).toBe(0);
    expect((await databaseState(db.url)).history).toEqual(['1', '2', '3']);
  });

  it.each([
    ['not digits', 'abc'],
    ['an inner blank', '1 2'],
    ['a sign', '-1'],
  ])(
    'rollback and baseline refuse a target-version with %s, naming the input and the value',
    async (_what, value) => {
      const db = await newDb();
      const dir = migrationsDir(FILES);
      for (const command of ['rollback', 'baseline']) {
        const { code, stderr } = await cli([
          command,
          '--target-version',
          value,
          '--database-url',
          db.url,
          '--migrations-dir',
          dir,
        ]);
        expect(code).toBe(2);
        expect(stderr).toContain(`target-version: "${value}" is not a migration version: digits only`);
      }
      expect((await databaseState(db.url)).history).toEqual([]);
    },
  );

  it('a sub-millisecond statement-timeout is refused before connecting; 0 means none', async () => {
    const db = await newDb();
    const dir = migrationsDir({ '1_slow.sql': 'create table slow (id int);\nselect pg_sleep(0.05);' });
    const refused = await cli([
      'apply',
      '--statement-timeout',
      '0.4ms',
      '--backup',
      'off',
      '--database-url',
      db.url,
      '--migrations-dir',
      dir,
    ]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(
      'statement-timeout: "0.4ms" is shorter than 1ms: PostgreSQL counts whole milliseconds, so it would become 0, which means no timeout at all (write 0 to mean that)',
    );
    expect(await query(db.url, "SELECT to_regclass('public.slow') AS t")).toEqual([{ t: null }]);

    // 1ms is a real limit: pg_sleep outlasts it.
    const tight = await runGuard('apply', db.url, dir, { 'statement-timeout': '1ms' });
    expect(tight.result.error?.message).toMatch(/canceling statement due to statement timeout$/);
    expect(await query(db.url, "SELECT to_regclass('public.slow') AS t")).toEqual([{ t: null }]);

    const none = await runGuard('apply', db.url, dir, { 'statement-timeout': '0' });
    expect(none.result.status).toBe('success');
    expect(await query(db.url, "SELECT to_regclass('public.slow') AS t")).toEqual([{ t: 'slow' }]);
  });
});
