/**
 * Interoperability with the real Supabase CLI (the `supabase` dev dependency, 2.117.0): both tools
 * share `supabase_migrations.schema_migrations`, so each must see what the other applied. Our side
 * runs through the bundled CLI (`node dist/cli.js … --json`), the code that ships.
 *
 * The Supabase CLI reads `./supabase/migrations` relative to its working directory, so each test
 * builds a temporary project holding copies of the example migrations. The `.down.sql` companions
 * are left out: the Supabase CLI takes every `<digits>_<name>.sql` file for a migration, `.down.sql`
 * included (a known limitation, documented by the last test below).
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { RunResult } from '../../src/engine/result.js';
import { tempDirsFor } from '../helpers/temp.js';
import { databaseState, query, testServers, databasesFor } from '../helpers/db.js';

const ROOT = process.cwd();
const SUPABASE = join(ROOT, 'node_modules', '.bin', 'supabase');
const SUPABASE_VERSION = '2.117.0';
const CLI = join(ROOT, 'dist', 'cli.js');
const EXAMPLE = join(ROOT, 'migrations');
const UP_FILES = readdirSync(EXAMPLE)
  .filter((f) => /^\d+_.*\.sql$/.test(f) && !/\.(down|verify)\.sql$/.test(f))
  .sort();
const VERSIONS = ['20240101000000', '20240102000000', '20240103000000'];
const NAMES = ['create_users', 'create_vaults', 'create_artifacts'];
/** The Supabase CLI takes a second or two per call. */
const TIMEOUT = 180_000;

interface ProcessResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

const tempDir = tempDirsFor();

/**
 * Runs the Supabase CLI in `cwd` with a private HOME (it writes ~/.supabase) and telemetry off.
 */
function supabase(args: string[], cwd: string): Promise<ProcessResult> {
  return run(SUPABASE, args, cwd);
}

/** `node <script> <args>` with a minimal environment; always resolves, with the exit code. */
function run(script: string, args: string[], cwd: string): Promise<ProcessResult> {
  const home = tempDir('mg-sb-home-');
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [script, ...args],
      {
        cwd,
        env: { PATH: process.env.PATH, HOME: home, DO_NOT_TRACK: '1', SUPABASE_TELEMETRY_DISABLED: '1' },
        timeout: 120_000,
        maxBuffer: 16 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        const err = error as (Error & { code?: unknown }) | null;
        resolve({
          code: err ? (typeof err.code === 'number' ? err.code : null) : 0,
          stdout: String(stdout),
          stderr: String(stderr) || (err && typeof err.code !== 'number' ? err.message : ''),
        });
      },
    );
  });
}

/**
 * Runs our side through the bundled CLI (`node dist/cli.js <command> --json`), the shipped code,
 * and returns its JSON report.
 */
async function runGuard(
  command: string,
  databaseUrl: string,
  migrationsDir: string,
): Promise<{ result: RunResult }> {
  const out = await run(
    CLI,
    // Backups are tested on their own; here they would tie the result to this machine's pg_dump.
    [
      command,
      '--database-url',
      databaseUrl,
      '--migrations-dir',
      migrationsDir,
      '--json',
      ...(command === 'status' ? [] : ['--backup', 'off']),
    ],
    ROOT,
  );
  let result: RunResult;
  try {
    result = JSON.parse(out.stdout) as RunResult;
  } catch {
    throw new Error(`dist/cli.js ${command} printed no JSON report:\n${describeRun(out)}`);
  }
  expect(out.code).toBe(result.status === 'failed' || result.status === 'rolled-back' ? 1 : 0);
  return { result };
}

/** The Supabase CLI needs sslmode=disable for a server without TLS. */
function supabaseUrl(url: string): string {
  const u = new URL(url);
  u.searchParams.set('sslmode', 'disable');
  return u.toString();
}

/** A Supabase project folder with the given files copied from the example into supabase/migrations. */
function project(files: string[]): { cwd: string; migrations: string; add(file: string): void } {
  const cwd = tempDir('mg-sb-project-');
  const migrations = join(cwd, 'supabase', 'migrations');
  mkdirSync(migrations, { recursive: true });
  const add = (file: string) => copyFileSync(join(EXAMPLE, file), join(migrations, file));
  files.forEach(add);
  return { cwd, migrations, add };
}

async function history(url: string): Promise<Array<{ version: string; name: string; statements: string[] }>> {
  return query(
    url,
    'SELECT version, name, statements FROM supabase_migrations.schema_migrations ORDER BY version',
  );
}

function describeRun(out: ProcessResult): string {
  return `exit ${out.code}\n--- stdout\n${out.stdout}\n--- stderr\n${out.stderr}`;
}

beforeAll(async () => {
  // Fail loudly (never skip) when the Supabase CLI cannot run here.
  const out = await supabase(['--version'], ROOT);
  if (out.code !== 0) throw new Error(`The Supabase CLI (${SUPABASE}) cannot run here:\n${describeRun(out)}`);
  expect(out.stdout.trim()).toBe(SUPABASE_VERSION);
  expect(UP_FILES).toEqual(VERSIONS.map((v, i) => `${v}_${NAMES[i]}.sql`));
}, TIMEOUT);

describe.each(testServers())('Supabase CLI interop on $name', (server) => {
  const newDb = databasesFor(server);

  it(
    'after our apply, `supabase migration list` shows every version applied and `supabase db push` has nothing to push',
    async () => {
      const db = await newDb();
      const proj = project(UP_FILES);
      const { result } = await runGuard('apply', db.url, EXAMPLE);
      expect(result.status).toBe('success');
      expect(result.applied).toEqual(VERSIONS);

      // The history table we created has exactly the Supabase CLI's shape.
      const columns = await query(
        db.url,
        `SELECT column_name, data_type, udt_name, is_nullable FROM information_schema.columns
          WHERE table_schema = 'supabase_migrations' AND table_name = 'schema_migrations' ORDER BY ordinal_position`,
      );
      expect(columns).toEqual([
        { column_name: 'version', data_type: 'text', udt_name: 'text', is_nullable: 'NO' },
        { column_name: 'statements', data_type: 'ARRAY', udt_name: '_text', is_nullable: 'YES' },
        { column_name: 'name', data_type: 'text', udt_name: 'text', is_nullable: 'YES' },
      ]);

      const list = await supabase(
        ['migration', 'list', '--db-url', supabaseUrl(db.url), '--output-format', 'json'],
        proj.cwd,
      );
      expect({ code: list.code, out: describeRun(list) }).toMatchObject({ code: 0 });
      const listed = JSON.parse(list.stdout) as { migrations: Array<{ local: string; remote: string }> };
      expect(listed.migrations.map((m) => ({ local: m.local, remote: m.remote }))).toEqual(
        VERSIONS.map((v) => ({ local: v, remote: v })),
      );

      const before = await databaseState(db.url);
      const dryRun = await supabase(['db', 'push', '--dry-run', '--db-url', supabaseUrl(db.url)], proj.cwd);
      expect({ code: dryRun.code, out: describeRun(dryRun) }).toMatchObject({ code: 0 });
      expect(`${dryRun.stdout}${dryRun.stderr}`).toMatch(/Remote database is up to date/);
      expect(`${dryRun.stdout}${dryRun.stderr}`).not.toMatch(/Would push/);
      expect(await databaseState(db.url)).toEqual(before);
    },
    TIMEOUT,
  );

  it(
    'after `supabase db push` of two files, our status sees them (checksum unverified) and our apply runs only the third, writing the rows the Supabase CLI writes',
    async () => {
      const db = await newDb();
      const proj = project(UP_FILES.slice(0, 2));
      const push = await supabase(['db', 'push', '--yes', '--db-url', supabaseUrl(db.url)], proj.cwd);
      expect({ code: push.code, out: describeRun(push) }).toMatchObject({ code: 0 });
      expect((await history(db.url)).map((r) => [r.version, r.name])).toEqual([
        [VERSIONS[0], NAMES[0]],
        [VERSIONS[1], NAMES[1]],
      ]);

      proj.add(UP_FILES[2]);
      const status = await runGuard('status', db.url, proj.migrations);
      expect(status.result.status).toBe('success');
      expect(status.result.status_rows?.map((r) => [r.version, r.name, r.state, r.checksum])).toEqual([
        [VERSIONS[0], NAMES[0], 'applied', 'unverified'],
        [VERSIONS[1], NAMES[1], 'applied', 'unverified'],
        [VERSIONS[2], NAMES[2], 'pending', undefined],
      ]);
      expect(status.result.pendingCount).toBe(1);
      expect(status.result.currentVersion).toBe(VERSIONS[1]);
      expect(status.result.findings.filter((f) => f.severity === 'error')).toEqual([]);

      const apply = await runGuard('apply', db.url, proj.migrations);
      expect(apply.result.status).toBe('success');
      expect(apply.result.applied).toEqual([VERSIONS[2]]);
      expect(apply.result.migrations.map((m) => m.version)).toEqual([VERSIONS[2]]);
      expect(apply.result.currentVersion).toBe(VERSIONS[2]);
      const tables = await query(
        db.url,
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
      );
      expect(tables.map((t) => t.tablename)).toEqual(['artifacts', 'users', 'vaults']);

      const after = await runGuard('status', db.url, proj.migrations);
      expect(after.result.status_rows?.map((r) => [r.version, r.state, r.checksum])).toEqual([
        [VERSIONS[0], 'applied', 'unverified'],
        [VERSIONS[1], 'applied', 'unverified'],
        [VERSIONS[2], 'applied', 'ok'],
      ]);

      // What the Supabase CLI itself writes when it pushes all three files to an empty database.
      const reference = await newDb();
      const full = project(UP_FILES);
      const refPush = await supabase(
        ['db', 'push', '--yes', '--db-url', supabaseUrl(reference.url)],
        full.cwd,
      );
      expect({ code: refPush.code, out: describeRun(refPush) }).toMatchObject({ code: 0 });
      const ours = await history(db.url);
      const theirs = await history(reference.url);
      expect(ours.map((r) => [r.version, r.name])).toEqual(theirs.map((r) => [r.version, r.name]));
      expect(ours.map((r) => [r.version, r.name])).toEqual(VERSIONS.map((v, i) => [v, NAMES[i]]));
      // The statements we record for the file we applied are the ones the Supabase CLI records.
      expect(ours[2].statements).toEqual(theirs[2].statements);

      const dryRun = await supabase(['db', 'push', '--dry-run', '--db-url', supabaseUrl(db.url)], full.cwd);
      expect({ code: dryRun.code, out: describeRun(dryRun) }).toMatchObject({ code: 0 });
      expect(`${dryRun.stdout}${dryRun.stderr}`).toMatch(/Remote database is up to date/);
    },
    TIMEOUT,
  );

  it(
    'the statements we record for every file equal the Supabase CLI’s, file by file',
    async () => {
      const ours = await newDb();
      const theirs = await newDb();
      const proj = project(UP_FILES);
      expect((await runGuard('apply', ours.url, proj.migrations)).result.status).toBe('success');
      const push = await supabase(['db', 'push', '--yes', '--db-url', supabaseUrl(theirs.url)], proj.cwd);
      expect({ code: push.code, out: describeRun(push) }).toMatchObject({ code: 0 });
      expect(await history(ours.url)).toEqual(await history(theirs.url));
    },
    TIMEOUT,
  );

  it(
    'known limitation: `.down.sql` files in supabase/migrations are taken for migrations by the Supabase CLI',
    async () => {
      const db = await newDb();
      const proj = project(readdirSync(EXAMPLE).filter((f) => f.endsWith('.sql')));
      expect(readdirSync(proj.migrations).filter((f) => f.endsWith('.down.sql'))).toHaveLength(3);

      // On an empty database the Supabase CLI would push each down file (before its up file).
      const dryRun = await supabase(['db', 'push', '--dry-run', '--db-url', supabaseUrl(db.url)], proj.cwd);
      expect({ code: dryRun.code, out: describeRun(dryRun) }).toMatchObject({ code: 0 });
      const output = `${dryRun.stdout}${dryRun.stderr}`;
      for (const [i, v] of VERSIONS.entries()) expect(output).toContain(`${v}_${NAMES[i]}.down.sql`);
      expect(output.indexOf('20240101000000_create_users.down.sql')).toBeLessThan(
        output.indexOf('20240101000000_create_users.sql'),
      );

      // We handle the same folder: down files are companions, not migrations.
      const { result } = await runGuard('apply', db.url, proj.migrations);
      expect(result.status).toBe('success');
      expect(result.applied).toEqual(VERSIONS);
      expect(result.skippedFiles).toEqual([]);

      // Afterwards the Supabase CLI lists each version twice, the down file never applied.
      const list = await supabase(
        ['migration', 'list', '--db-url', supabaseUrl(db.url), '--output-format', 'json'],
        proj.cwd,
      );
      expect({ code: list.code, out: describeRun(list) }).toMatchObject({ code: 0 });
      const listed = (JSON.parse(list.stdout) as { migrations: Array<{ local: string; remote: string }> })
        .migrations;
      expect(listed).toHaveLength(6);
      expect(listed.filter((m) => m.remote === '').map((m) => m.local)).toEqual(VERSIONS);
    },
    TIMEOUT,
  );
});
