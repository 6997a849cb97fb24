import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
/**
 * End-to-end tests of the bundled action (`dist/index.js`) and CLI (`dist/cli.js`): each test
 * starts them as child processes, the way the GitHub runner does (inputs as `INPUT_<NAME>`
 * environment variables, outputs and summary through the files named by `GITHUB_OUTPUT` and
 * `GITHUB_STEP_SUMMARY`), against a real fresh database.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, relative } from 'node:path';
import {
  databaseState,
  freshDatabase,
  query,
  testServers,
  urlForDatabase,
  databasesFor,
} from '../helpers/db.js';
import { freePort, tempDirsFor } from '../helpers/temp.js';
import { parseOutputs } from '../helpers/github-output.js';

const ROOT = process.cwd();
const ACTION = join(ROOT, 'dist', 'index.js');
const CLI = join(ROOT, 'dist', 'cli.js');
const EXAMPLE = join(ROOT, 'migrations');
const VERSIONS = ['20240101000000', '20240102000000', '20240103000000'];
const NAMES = ['create_users', 'create_vaults', 'create_artifacts'];
/** The commands the product contract names (PRODUCT.md, "Commands"). */
const CONTRACT_COMMANDS = ['plan', 'apply', 'rollback', 'status', 'backup', 'audit', 'baseline'];

interface ProcessResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

interface ActionRun extends ProcessResult {
  outputs: Record<string, string>;
  outputsRaw: string;
  summary: string;
  runnerTemp: string;
  /** `::error` workflow commands printed on stdout, decoded. */
  errors: Array<{ properties: Record<string, string>; message: string }>;
  /** Values registered with `::add-mask::` (the runner hides them in every later log line). */
  masks: string[];
}

const tempDir = tempDirsFor();

/** Runs `node <args>` and always resolves, with the exit code (null when killed). */
function runNode(args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<ProcessResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      args,
      { cwd: options.cwd, env: options.env, timeout: 90_000, maxBuffer: 32 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const err = error as (Error & { code?: unknown; signal?: NodeJS.Signals | null }) | null;
        resolve({
          code: err ? (typeof err.code === 'number' ? err.code : null) : 0,
          signal: err?.signal ?? null,
          stdout: String(stdout),
          stderr: String(stderr),
        });
      },
    );
  });
}

/** Only what a developer's shell must give node: nothing else leaks into the child. */
function baseEnv(home: string): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin', HOME: home };
}

const unescapeData = (s: string) => s.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%');
const unescapeProperty = (s: string) => unescapeData(s.replace(/%3A/g, ':').replace(/%2C/g, ','));

function workflowCommands(
  stdout: string,
  command: string,
): Array<{ properties: Record<string, string>; message: string }> {
  const found = [];
  for (const line of stdout.split('\n')) {
    const m = new RegExp(`^::${command}(?: ([^:]*))?::(.*)$`).exec(line.replace(/\r$/, ''));
    if (!m) continue;
    const properties: Record<string, string> = {};
    for (const pair of (m[1] ?? '').split(',').filter(Boolean)) {
      const eq = pair.indexOf('=');
      properties[pair.slice(0, eq)] = unescapeProperty(pair.slice(eq + 1));
    }
    found.push({ properties, message: unescapeData(m[2]) });
  }
  return found;
}

interface ActionOptions {
  /** The job's working directory (GITHUB_WORKSPACE): where relative paths, e.g. the default migrations-dir, resolve. */
  cwd?: string;
  eventName?: string;
  event?: unknown;
  /** Run without RUNNER_TEMP (a local run of the action's entry point). */
  noRunnerTemp?: boolean;
}

/** Runs `node dist/index.js` as the runner would, with `inputs` keyed by their action.yml names. */
async function runAction(
  inputs: Record<string, string | undefined>,
  options: ActionOptions = {},
): Promise<ActionRun> {
  const dir = tempDir('mg-e2e-run-');
  const runnerTemp = join(dir, 'runner-temp');
  mkdirSync(runnerTemp);
  const outputFile = join(dir, 'github_output');
  const summaryFile = join(dir, 'step_summary');
  const eventFile = join(dir, 'event.json');
  writeFileSync(outputFile, '');
  writeFileSync(summaryFile, '');
  writeFileSync(eventFile, JSON.stringify(options.event ?? {}));
  const cwd = options.cwd ?? ROOT;
  const env: NodeJS.ProcessEnv = {
    ...baseEnv(dir),
    GITHUB_ACTIONS: 'true',
    GITHUB_EVENT_NAME: options.eventName ?? 'push',
    GITHUB_EVENT_PATH: eventFile,
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: summaryFile,
    GITHUB_REPOSITORY: 'acme/app',
    GITHUB_RUN_ID: '4242',
    GITHUB_SHA: 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678',
    GITHUB_REF: 'refs/heads/main',
    GITHUB_ACTOR: 'octocat',
    GITHUB_WORKSPACE: cwd,
    RUNNER_TEMP: runnerTemp,
  };
  if (options.noRunnerTemp) delete env.RUNNER_TEMP;
  // Backups are their own test below; elsewhere they would tie results to this machine's pg_dump.
  for (const [name, value] of Object.entries({ backup: 'off', ...inputs })) {
    if (value !== undefined) env[`INPUT_${name.toUpperCase()}`] = value;
  }
  const result = await runNode([ACTION], { cwd, env });
  const outputsRaw = readFileSync(outputFile, 'utf8');
  return {
    ...result,
    outputs: parseOutputs(outputsRaw),
    outputsRaw,
    summary: readFileSync(summaryFile, 'utf8'),
    runnerTemp,
    errors: workflowCommands(result.stdout, 'error'),
    masks: workflowCommands(result.stdout, 'add-mask').map((m) => m.message),
  };
}

/** Every file under a folder, as text: whatever the run left in RUNNER_TEMP (the JSON report). */
function filesUnder(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) Object.assign(out, filesUnder(path));
    else out[path] = readFileSync(path, 'utf8');
  }
  return out;
}

/**
 * The secrets appear in no place a user can read. `::add-mask::` lines are excluded from stdout:
 * they are how an action tells the runner what to hide, and the runner never prints them.
 */
function expectNoSecrets(run: ActionRun, secrets: string[]): void {
  const visibleStdout = run.stdout
    .split('\n')
    .filter((l) => !l.startsWith('::add-mask::'))
    .join('\n');
  const places: Record<string, string> = {
    stdout: visibleStdout,
    stderr: run.stderr,
    GITHUB_OUTPUT: run.outputsRaw,
    GITHUB_STEP_SUMMARY: run.summary,
    ...filesUnder(run.runnerTemp),
  };
  const leaks = [];
  for (const secret of secrets.filter((s) => s.length >= 3)) {
    for (const [where, text] of Object.entries(places))
      if (text.includes(secret)) leaks.push(`${where} contains ${JSON.stringify(secret)}`);
  }
  expect(leaks).toEqual([]);
}

function passwordOf(url: string): string {
  return decodeURIComponent(new URL(url).password);
}

/** Neither our schemas nor any table exist: the run changed nothing. */
async function expectUntouched(url: string): Promise<void> {
  const schemas = await query(
    url,
    "SELECT nspname FROM pg_namespace WHERE nspname IN ('supabase_migrations', 'migration_guard')",
  );
  expect(schemas).toEqual([]);
  const tables = await query(
    url,
    "SELECT schemaname, tablename FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')",
  );
  expect(tables).toEqual([]);
}

/** A copy of the example migrations as `supabase/migrations` in a temporary workspace. */
function workspaceWithExample(extra: Record<string, string> = {}): { cwd: string; dir: string } {
  const cwd = tempDir('mg-e2e-ws-');
  const dir = join(cwd, 'supabase', 'migrations');
  mkdirSync(dir, { recursive: true });
  cpSync(EXAMPLE, dir, { recursive: true });
  for (const [name, content] of Object.entries(extra)) writeFileSync(join(dir, name), content);
  return { cwd, dir };
}

const BROKEN = [
  '-- A valid statement first: it must be rolled back with everything else.',
  'create table public.extra_ok (id int);',
  '',
  'create table public.broken (',
  '  id int,',
  '  oops no_such_type',
  ');',
  '',
].join('\n');

describe.each(testServers())('the bundled action on $name', (server) => {
  const newDb = databasesFor(server);

  it('takes a verified backup before applying (backup-path, backup-sha256), or stops before any change when pg_dump is too old for the server', async () => {
    const db = await newDb();
    const major = Number(
      (await query(db.url, "select current_setting('server_version_num')::int / 10000 as m"))[0].m,
    );
    const localMajor = Number(
      /(\d+)\.\d+/.exec(spawnSync('pg_dump', ['--version'], { encoding: 'utf8' }).stdout)?.[1] ?? 0,
    );
    const run = await runAction({
      command: 'apply',
      'database-url': db.url,
      'migrations-dir': EXAMPLE,
      backup: 'required',
    });
    expectNoSecrets(run, [db.url, passwordOf(db.url)]);
    if (localMajor >= major) {
      expect(run.code).toBe(0);
      expect(run.outputs['backup-path']).toMatch(
        /migration-guard-backups\/default-\d{8}T\d{6}Z-a1b2c3d\.dump$/,
      );
      expect(run.outputs['backup-sha256']).toBe(
        createHash('sha256').update(readFileSync(run.outputs['backup-path'])).digest('hex'),
      );
      expect(run.summary).toContain(run.outputs['backup-sha256']);
    } else {
      expect(run.code).toBe(1);
      expect(run.outputs.status).toBe('failed');
      expect(run.errors.map((e) => e.message).join('\n')).toMatch(
        new RegExp(`No change was made: backup is required[\\s\\S]*${major}`),
      );
      await expectUntouched(db.url);
    }
  });

  it('applies the example migrations, publishes every output, the JSON report and the summary, then does nothing the second time', async () => {
    const db = await newDb();
    const first = await runAction({
      command: 'apply',
      'database-url': db.url,
      'migrations-dir': EXAMPLE,
      'transaction-mode': 'all',
    });
    expect({ code: first.code, stderr: first.stderr }).toEqual({ code: 0, stderr: '' });
    expect(first.errors).toEqual([]);
    // Each file parsed once: the engine split them from the linter's parse.
    expect(first.stdout).toContain("::debug::Split from the linter's parse: 3 of 3 pending file(s)");

    const { outputs } = first;
    expect(outputs.status).toBe('success');
    expect(outputs.changed).toBe('true');
    expect(outputs['applied-count']).toBe('3');
    expect(JSON.parse(outputs.applied)).toEqual(VERSIONS);
    expect(outputs['current-version']).toBe('20240103000000');
    expect(outputs['pending-count']).toBe('0');
    expect(outputs['run-id']).toMatch(/^\d+$/);
    // The status board says the database changed and links the workflow run.
    expect(first.summary).toContain('| Database changed | yes |');
    expect(first.summary).toContain(
      '| Workflow run | [https://github.com/acme/app/actions/runs/4242](https://github.com/acme/app/actions/runs/4242) |',
    );

    // report-path: an absolute path under RUNNER_TEMP to a JSON report that says the same thing.
    const reportPath = outputs['report-path'];
    expect(isAbsolute(reportPath)).toBe(true);
    expect(relative(first.runnerTemp, reportPath).startsWith('..')).toBe(false);
    const report = JSON.parse(readFileSync(reportPath, 'utf8'));
    expect(report).toMatchObject({
      tool: { name: 'supabase-migration-guard' },
      command: 'apply',
      environment: 'default',
      status: 'success',
      transactionMode: 'all',
      applied: VERSIONS,
      pendingCount: 0,
      currentVersion: '20240103000000',
      runId: Number(outputs['run-id']),
    });
    expect(
      report.migrations.map((m: { version: string; name: string; status: string }) => [
        m.version,
        m.name,
        m.status,
      ]),
    ).toEqual(VERSIONS.map((v, i) => [v, NAMES[i], 'applied']));

    // The job summary: outcome and one row per migration.
    expect(first.summary).toMatch(/^## Migration guard: `apply` on `default`.*success/m);
    for (const [i, v] of VERSIONS.entries())
      expect(first.summary).toMatch(new RegExp(`^\\| ${v} \\| ${NAMES[i]} \\| applied \\|`, 'm'));

    // The database: schema, Supabase history, and the run record with the GitHub context.
    const history = await query(
      db.url,
      'SELECT version, name FROM supabase_migrations.schema_migrations ORDER BY version',
    );
    expect(history.map((r) => [r.version, r.name])).toEqual(VERSIONS.map((v, i) => [v, NAMES[i]]));
    const tables = await query(
      db.url,
      "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
    );
    expect(tables.map((t) => t.tablename)).toEqual(['artifacts', 'users', 'vaults']);
    const runs = await query(
      db.url,
      'SELECT id, command, status, applied, actor, repository, sha, ref, run_url FROM migration_guard.runs ORDER BY id',
    );
    expect(runs).toEqual([
      {
        id: outputs['run-id'],
        command: 'apply',
        status: 'success',
        applied: VERSIONS,
        actor: 'octocat',
        repository: 'acme/app',
        sha: 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678',
        ref: 'refs/heads/main',
        run_url: 'https://github.com/acme/app/actions/runs/4242',
      },
    ]);
    const appliedBy = await query(db.url, 'SELECT DISTINCT applied_by FROM migration_guard.migrations');
    expect(appliedBy).toEqual([{ applied_by: 'octocat' }]);
    expectNoSecrets(first, [db.url, passwordOf(db.url)]);

    // Second run, command left to its default (auto → apply on a push): nothing to do, exit 0.
    const before = await databaseState(db.url);
    const second = await runAction({ 'database-url': db.url, 'migrations-dir': EXAMPLE });
    expect(second.code).toBe(0);
    expect(second.errors).toEqual([]);
    expect(second.outputs).toMatchObject({
      status: 'nothing-to-do',
      changed: 'false',
      'applied-count': '0',
      applied: '[]',
      'pending-count': '0',
      'current-version': '20240103000000',
    });
    expect(second.stdout).toMatch(/already applied/);
    expect(second.summary).toMatch(/nothing to do/);
    expect(JSON.parse(readFileSync(second.outputs['report-path'], 'utf8')).status).toBe('nothing-to-do');
    expect(await databaseState(db.url)).toEqual(before);
  });

  it('a release of over 1 MB is linted on the worker thread, and every file is applied from that parse', async () => {
    const db = await newDb();
    const dir = tempDir('mg-e2e-large-release-');
    writeFileSync(join(dir, '0001_table.sql'), 'create table items (id int primary key, note text);\n');
    // 60 files of ~20 KB of rows each (quotes and semicolons inside the values, one non-ASCII).
    for (let f = 0; f < 60; f++) {
      const rows = Array.from({ length: 400 }, (_, i) => {
        const id = f * 400 + i;
        return `insert into items values (${id}, 'row ${id}; it''s «${'x'.repeat(12)}»');`;
      });
      writeFileSync(join(dir, `${String(f + 2).padStart(4, '0')}_rows.sql`), `${rows.join('\n')}\n`);
    }
    const run = await runAction({
      command: 'apply',
      'database-url': db.url,
      'migrations-dir': dir,
      'transaction-mode': 'all',
    });
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(/::debug::Lint: \d+ of 61 file\(s\) parsed on a worker thread/);
    expect(run.stdout).toContain("::debug::Split from the linter's parse: 61 of 61 pending file(s)");
    const [{ n, notes }] = await query(
      db.url,
      "select count(*)::int as n, count(*) filter (where note like '%it''s «xxxxxxxxxxxx»')::int as notes from items",
    );
    expect({ n, notes }).toEqual({ n: 24_000, notes: 24_000 });
  });

  it('without RUNNER_TEMP the JSON report goes to a private folder of its own (0700), the file 0600', async () => {
    const db = await newDb();
    const run = await runAction(
      { 'database-url': db.url, 'migrations-dir': EXAMPLE },
      { noRunnerTemp: true },
    );
    expect(run.outputs.status).toBe('success');
    const reportPath = run.outputs['report-path'];
    const folder = dirname(reportPath);
    expect(relative(tmpdir(), folder).startsWith('..')).toBe(false);
    expect(basename(folder)).toMatch(/^migration-guard-.{6}$/);
    expect(statSync(folder).mode & 0o777).toBe(0o700);
    expect(statSync(reportPath).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(reportPath, 'utf8')).status).toBe('success');
    rmSync(folder, { recursive: true, force: true });
  });

  it('a failing migration rolls the whole run back: exit 1, status rolled-back, an annotation at file and line, no new tables', async () => {
    const db = await newDb();
    // Run from a workspace with the default layout, so the annotation's path is relative to the repository root.
    const { cwd } = workspaceWithExample({ '20240104000000_broken.sql': BROKEN });
    const run = await runAction({ command: 'apply', 'database-url': db.url }, { cwd });
    expect(run.code).toBe(1);
    expect(run.outputs).toMatchObject({
      status: 'rolled-back',
      changed: 'false',
      'applied-count': '0',
      applied: '[]',
      'pending-count': '4',
      'current-version': '',
    });

    // The annotation GitHub shows on the file: `::error title=…,file=…,line=…,col=…::message`.
    expect(run.stdout).toMatch(/^::error .*file=supabase\/migrations\/20240104000000_broken\.sql,line=6\b/m);
    const annotation = run.errors.find((e) => e.properties.file !== undefined);
    expect(annotation).toEqual({
      properties: expect.objectContaining({
        file: 'supabase/migrations/20240104000000_broken.sql',
        line: '6',
        col: '8',
      }),
      message: expect.stringContaining('type "no_such_type" does not exist'),
    });
    // And the step fails with a message that says the run was rolled back.
    expect(run.errors.some((e) => e.properties.file === undefined && /rolled back/.test(e.message))).toBe(
      true,
    );

    const report = JSON.parse(readFileSync(run.outputs['report-path'], 'utf8'));
    expect(report.status).toBe('rolled-back');
    expect(report.error).toMatchObject({
      sqlstate: '42704',
      file: 'supabase/migrations/20240104000000_broken.sql',
      line: 6,
      column: 8,
    });
    expect(report.schemaFingerprint.before).toBe(report.schemaFingerprint.after);
    expect(report.migrations.map((m: { status: string }) => m.status)).toEqual([
      'rolled-back',
      'rolled-back',
      'rolled-back',
      'failed',
    ]);
    expect(run.summary).toMatch(/rolled back/);
    expect(run.summary).toMatch(/^\| 20240104000000 \| broken \| failed \|/m);

    // Nothing the migrations create exists, and the history records nothing.
    const tables = await query(
      db.url,
      "SELECT tablename FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema', 'supabase_migrations', 'migration_guard')",
    );
    expect(tables).toEqual([]);
    const functions = await query(
      db.url,
      "SELECT proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace",
    );
    expect(functions).toEqual([]);
    expect((await databaseState(db.url)).history).toEqual([]);
    const runs = await query(db.url, 'SELECT status, error FROM migration_guard.runs');
    expect(runs).toEqual([{ status: 'rolled-back', error: expect.stringContaining('no_such_type') }]);
    expectNoSecrets(run, [db.url, passwordOf(db.url)]);
  });

  it('a failing migration on top of applied ones leaves schema, data and history exactly as before', async () => {
    const db = await newDb();
    const { cwd } = workspaceWithExample();
    expect((await runAction({ command: 'apply', 'database-url': db.url }, { cwd })).outputs.status).toBe(
      'success',
    );
    await query(db.url, "INSERT INTO users (email) VALUES ('a@example.com'), ('b@example.com')");
    writeFileSync(join(cwd, 'supabase', 'migrations', '20240104000000_broken.sql'), BROKEN);
    const before = await databaseState(db.url);

    const run = await runAction({ command: 'apply', 'database-url': db.url }, { cwd });
    expect(run.code).toBe(1);
    expect(run.outputs).toMatchObject({
      status: 'rolled-back',
      'applied-count': '0',
      'pending-count': '1',
      'current-version': '20240103000000',
    });
    expect(run.stdout).toMatch(/^::error .*file=supabase\/migrations\/20240104000000_broken\.sql,line=6\b/m);
    expect(await databaseState(db.url)).toEqual(before);
  });

  it('on a pull_request event the default command never changes the database', async () => {
    const db = await newDb();
    const run = await runAction(
      { 'database-url': db.url, 'migrations-dir': EXAMPLE },
      { eventName: 'pull_request', event: { pull_request: { number: 7 }, number: 7 } },
    );
    // auto resolves to plan on pull requests: the pending files are rehearsed and rolled back.
    expect(run.code).toBe(0);
    expect(JSON.parse(readFileSync(run.outputs['report-path'], 'utf8'))).toMatchObject({
      command: 'plan',
      status: 'success',
    });
    expect(run.outputs['applied-count']).toBe('0');
    // Each file parsed once: the rehearsal split them from the linter's parse.
    expect(run.stdout).toContain("::debug::Split from the linter's parse: 3 of 3 pending file(s)");
    const tables = await query(db.url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'");
    expect(tables).toEqual([]);
    expect((await databaseState(db.url)).history).toEqual([]);
    expectNoSecrets(run, [db.url, passwordOf(db.url)]);
  });

  describe('bad inputs stop the run with a clear message and change nothing', () => {
    /** The common checks: exit 1, status failed, one failure message matching `message`, no secret in sight, database untouched. */
    async function expectRefused(
      run: ActionRun,
      dbUrl: string,
      message: RegExp,
      secrets: string[],
    ): Promise<void> {
      expect(run.signal).toBeNull();
      expect(run.code).toBe(1);
      expect(run.outputs.status).toBe('failed');
      expect(run.outputs['applied-count'] ?? '0').toBe('0');
      expect(run.errors).toHaveLength(1);
      expect(run.errors[0].message).toMatch(message);
      expectNoSecrets(run, secrets);
      await expectUntouched(dbUrl);
    }

    it('missing database-url', async () => {
      const db = await newDb();
      const run = await runAction({ command: 'apply', 'migrations-dir': EXAMPLE });
      await expectRefused(run, db.url, /database-url: is required/, [db.url, passwordOf(db.url)]);
    });

    it('a blank database-url counts as missing', async () => {
      const db = await newDb();
      const run = await runAction({ command: 'apply', 'database-url': '   ', 'migrations-dir': EXAMPLE });
      await expectRefused(run, db.url, /database-url: is required/, [db.url, passwordOf(db.url)]);
    });

    it('malformed database-url', async () => {
      const db = await newDb();
      const malformed = `postgres//postgres:${passwordOf(db.url)}@127.0.0.1/${db.name}`;
      const run = await runAction({ command: 'apply', 'database-url': malformed, 'migrations-dir': EXAMPLE });
      await expectRefused(run, db.url, /database-url: it is not a valid URL/, [
        malformed,
        passwordOf(db.url),
      ]);
    });

    it('a URL with another scheme', async () => {
      const db = await newDb();
      const url = db.url.replace(/^postgres(ql)?:/, 'mysql:');
      const run = await runAction({ command: 'apply', 'database-url': url, 'migrations-dir': EXAMPLE });
      await expectRefused(
        run,
        db.url,
        /database-url: the scheme is "mysql:" but must be postgres:\/\/ or postgresql:\/\//,
        [url, passwordOf(db.url)],
      );
    });

    it('unreachable host (nothing listens on the port)', async () => {
      const db = await newDb();
      const port = await freePort();
      const url = `postgres://postgres:${encodeURIComponent(passwordOf(db.url))}@127.0.0.1:${port}/${db.name}`;
      const run = await runAction({ command: 'apply', 'database-url': url, 'migrations-dir': EXAMPLE });
      await expectRefused(
        run,
        db.url,
        new RegExp(`Nothing is listening at 127\\.0\\.0\\.1:${port}/${db.name}`),
        [url, passwordOf(db.url)],
      );
      expect(JSON.parse(readFileSync(run.outputs['report-path'], 'utf8')).error.message).toMatch(
        /Nothing is listening/,
      );
    });

    it('wrong password: authentication fails and the password appears nowhere', async () => {
      const db = await newDb();
      // URL-special characters, percent-encoded as a user would write them: both forms must stay hidden.
      const wrongEncoded = `wr0ng%2Fp%40ss-${Math.random().toString(36).slice(2, 10)}`;
      const wrongDecoded = decodeURIComponent(wrongEncoded);
      const url = new URL(db.url);
      url.password = wrongEncoded;
      const wrongUrl = url.toString();
      expect(wrongUrl).toContain(`:${wrongEncoded}@`);

      const run = await runAction({ command: 'apply', 'database-url': wrongUrl, 'migrations-dir': EXAMPLE });
      await expectRefused(run, db.url, /Password authentication failed for user "postgres"/, [
        wrongUrl,
        wrongEncoded,
        wrongDecoded,
        passwordOf(db.url),
      ]);
      expect(run.errors[0].message).toMatch(/Check the password in the database-url secret/);
      // The runner was told to mask the URL and the password before anything else was printed.
      expect(run.masks).toEqual(expect.arrayContaining([wrongUrl, wrongEncoded]));
      expect(run.stdout.indexOf('::add-mask::')).toBe(0);
      // The report and summary exist (the failure is reported) and name the database without the password.
      const report = readFileSync(run.outputs['report-path'], 'utf8');
      expect(JSON.parse(report)).toMatchObject({ status: 'failed', error: { sqlstate: '28P01' } });
      expect(report).toContain(`127.0.0.1:${url.port}/${db.name}`);
      expect(run.summary).toMatch(/Password authentication failed/);
    });

    it('the transaction pooler port 6543 is refused before any connection, pointing to the session pooler', async () => {
      const db = await newDb();
      // Listen on 6543 when possible, to prove the action never even connects.
      const sockets: Socket[] = [];
      const listener = createServer((socket) => {
        sockets.push(socket);
        socket.destroy();
      });
      const listening = await new Promise<boolean>((resolve) => {
        listener.once('error', () => resolve(false));
        listener.listen(6543, '127.0.0.1', () => resolve(true));
      });
      try {
        const url = `postgres://postgres.abcdefghijklmnop:${encodeURIComponent(passwordOf(db.url))}@127.0.0.1:6543/postgres`;
        const run = await runAction({ command: 'apply', 'database-url': url, 'migrations-dir': EXAMPLE });
        await expectRefused(run, db.url, /database-url: port 6543 is Supabase's transaction-mode pooler/, [
          url,
          passwordOf(db.url),
        ]);
        expect(run.errors[0].message).toMatch(/session pooler/);
        if (listening) expect(sockets).toHaveLength(0);
      } finally {
        if (listening) await new Promise((resolve) => listener.close(resolve));
      }
    });

    it('the same pooler check holds for a Supabase pooler host name', async () => {
      const db = await newDb();
      const url =
        'postgresql://postgres.abcdefghijklmnop:s3cr3t-pooler-pw@aws-0-eu-central-1.pooler.supabase.com:6543/postgres';
      const run = await runAction({ command: 'apply', 'database-url': url, 'migrations-dir': EXAMPLE });
      await expectRefused(run, db.url, /port 6543 .*session pooler/s, [url, 's3cr3t-pooler-pw']);
    });

    it('missing migrations directory', async () => {
      const db = await newDb();
      const missing = join(tempDir('mg-e2e-empty-'), 'supabase', 'migrations');
      const run = await runAction({ command: 'apply', 'database-url': db.url, 'migrations-dir': missing });
      await expectRefused(
        run,
        db.url,
        /Migrations directory ".*supabase\/migrations" does not exist or is not a directory/,
        [db.url, passwordOf(db.url)],
      );
    });

    it('the default migrations-dir (supabase/migrations) missing from the workspace', async () => {
      const db = await newDb();
      const cwd = tempDir('mg-e2e-ws-');
      const run = await runAction({ command: 'apply', 'database-url': db.url }, { cwd });
      await expectRefused(run, db.url, /Migrations directory "supabase\/migrations" does not exist/, [
        db.url,
        passwordOf(db.url),
      ]);
    });

    it('unknown command: the message lists the accepted commands', async () => {
      const db = await newDb();
      const run = await runAction({ command: 'migrate', 'database-url': db.url, 'migrations-dir': EXAMPLE });
      await expectRefused(run, db.url, /command: unknown command "migrate": use one of/, [
        db.url,
        passwordOf(db.url),
      ]);
      for (const command of ['auto', ...CONTRACT_COMMANDS])
        expect(run.errors[0].message).toMatch(new RegExp(`\\b${command}\\b`));
    });

    it('an invalid transaction-mode names the input and the accepted values', async () => {
      const db = await newDb();
      const run = await runAction({
        command: 'apply',
        'database-url': db.url,
        'migrations-dir': EXAMPLE,
        'transaction-mode': 'sometimes',
      });
      await expectRefused(
        run,
        db.url,
        /transaction-mode: "sometimes" is not accepted: use one of all, per-file/,
        [db.url, passwordOf(db.url)],
      );
    });
  });
});

describe.each(testServers())('the bundled CLI on $name', (server) => {
  const drops: Array<() => Promise<void>> = [];
  afterEach(async () => {
    while (drops.length) await drops.pop()!();
  });
  const cli = (args: string[]) =>
    runNode([CLI, ...args], { cwd: ROOT, env: baseEnv(tempDir('mg-e2e-home-')) });

  it('status prints one row per migration, before and after apply, and exits 0', async () => {
    const db = await freshDatabase(server);
    drops.push(db.drop);
    const secrets = [db.url, passwordOf(db.url)];

    const pending = await cli(['status', '--database-url', db.url, '--migrations-dir', EXAMPLE]);
    expect(pending.code).toBe(0);
    for (const [i, v] of VERSIONS.entries())
      expect(pending.stdout).toMatch(new RegExp(`^pending\\s+${v}\\s+${NAMES[i]}$`, 'm'));
    expect(pending.stdout).toMatch(/^success: 0 applied, 3 pending/m);
    await expectUntouched(db.url);

    const applied = await cli([
      'apply',
      '--database-url',
      db.url,
      '--migrations-dir',
      EXAMPLE,
      '--backup',
      'off',
    ]);
    expect(applied.code).toBe(0);
    expect(applied.stdout).toMatch(/^success: Applied 3 migration\(s\)\./m);

    const status = await cli(['status', `--database-url=${db.url}`, '--migrations-dir', EXAMPLE]);
    expect(status.code).toBe(0);
    for (const [i, v] of VERSIONS.entries())
      expect(status.stdout).toMatch(new RegExp(`^applied\\s+${v}\\s+${NAMES[i]}$`, 'm'));
    expect(status.stdout).toMatch(/^success: 3 applied, 0 pending; current version 20240103000000$/m);

    const json = await cli(['status', '--database-url', db.url, '--migrations-dir', EXAMPLE, '--json']);
    expect(json.code).toBe(0);
    const rows = JSON.parse(json.stdout).status_rows.map(
      (r: { version: string; state: string; checksum: string }) => [r.version, r.state, r.checksum],
    );
    expect(rows).toEqual(VERSIONS.map((v) => [v, 'applied', 'ok']));

    for (const out of [pending, applied, status, json]) {
      for (const secret of secrets) expect(`${out.stdout}\n${out.stderr}`).not.toContain(secret);
    }
  });

  it('the DATABASE_URL environment variable stands in for --database-url', async () => {
    const db = await freshDatabase(server);
    drops.push(db.drop);
    const out = await runNode([CLI, 'status', '--migrations-dir', EXAMPLE], {
      cwd: ROOT,
      env: { ...baseEnv(tempDir('mg-e2e-home-')), DATABASE_URL: db.url },
    });
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/^success: 0 applied, 3 pending/m);
  });

  it('a failing migration exits 1 and names file and line', async () => {
    const db = await freshDatabase(server);
    drops.push(db.drop);
    const { cwd } = workspaceWithExample({ '20240104000000_broken.sql': BROKEN });
    const out = await runNode([CLI, 'apply', '--database-url', db.url, '--backup', 'off'], {
      cwd,
      env: baseEnv(tempDir('mg-e2e-home-')),
    });
    expect(out.code).toBe(1);
    expect(out.stdout).toMatch(
      /^ {4}supabase\/migrations\/20240104000000_broken\.sql:6:8: type "no_such_type" does not exist$/m,
    );
    expect(out.stdout).toMatch(/^rolled-back: /m);
    const tables = await query(db.url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'");
    expect(tables).toEqual([]);
  });

  it('an unknown command exits 2 without touching any database', async () => {
    const db = await freshDatabase(server);
    drops.push(db.drop);
    const bare = await cli(['bogus']);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toMatch(/unknown command "bogus"/);

    const withUrl = await cli([
      'bogus',
      '--database-url',
      urlForDatabase(server.url, db.name),
      '--migrations-dir',
      EXAMPLE,
    ]);
    expect(withUrl.code).toBe(2);
    expect(withUrl.stderr).toMatch(/unknown command "bogus": use one of/);
    for (const secret of [db.url, passwordOf(db.url)])
      expect(`${withUrl.stdout}\n${withUrl.stderr}`).not.toContain(secret);
    await expectUntouched(db.url);
  });

  it('an unknown flag exits 2 with the usage', async () => {
    const out = await cli(['status', '--no-such-flag', 'x']);
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/Unknown flag --no-such-flag/);
    expect(out.stderr).toMatch(/Usage: migration-guard <command>/);
  });
});
