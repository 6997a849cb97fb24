/**
 * Issue 12, item 2: no secret is ever persisted. Failing runs whose server errors quote the
 * password (raw, URL-encoded, the whole URL, and straddling the 500-character cut of the reported
 * statement) must leave no trace of it in any migration_guard table, the JSON report, the job
 * summary, the outputs or the logs: in-process (both modes, apply, plan and rollback) and through
 * the real entry points (the action's run() and the CLI's main()).
 */
import { afterAll, afterEach, describe, expect, it, jest } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main as cliMain } from '../../src/cli.js';
import type { RunResult } from '../../src/engine/result.js';
import { run as actionRun } from '../../src/main.js';
import { STATEMENT_EXCERPT_CHARS } from '../../src/outbound.js';
import { renderSummary } from '../../src/report/summary.js';
import { renderText } from '../../src/report/text.js';
import { databaseState, freshDatabase, query, testServers, withPg, type TestServer } from '../helpers/db.js';
import { addFiles, migrationsDir } from '../helpers/migrations.js';
import { runGuard } from '../helpers/run.js';
import { tempDirsFor } from '../helpers/temp.js';

/** Where the password starts in the long statements: 8 characters of it fall before the cut. */
const AT_CUT = STATEMENT_EXCERPT_CHARS - 8;
/** A leak is any 8 consecutive characters of a secret form (so the part a cut leaves is found too). */
const WINDOW = 8;

interface SecretDatabase {
  url: string;
  name: string;
  /** The password, raw and as it is written in the URL. */
  raw: string;
  encoded: string;
}

/**
 * A fresh database owned by a new role whose password holds URL-special characters, so that its
 * URL-encoded form differs from the raw one; the run connects as that role with the encoded URL.
 */
async function secretDatabase(
  server: TestServer,
  cleanups: Array<() => Promise<void>>,
): Promise<SecretDatabase> {
  const db = await freshDatabase(server);
  const role = `mg_secret_${randomBytes(4).toString('hex')}`;
  const raw = `${randomBytes(3).toString('hex')}@ss/w:rd%41?#&${randomBytes(3).toString('hex')}`;
  const encoded = encodeURIComponent(raw);
  await withPg(server.url, async (c) => {
    await c.query(`CREATE ROLE ${role} LOGIN PASSWORD '${raw}'`);
    await c.query(`ALTER DATABASE ${db.name} OWNER TO ${role}`);
  });
  cleanups.push(async () => {
    await db.drop();
    await withPg(server.url, (c) => c.query(`DROP ROLE IF EXISTS ${role}`));
  });
  const url = new URL(server.url);
  url.username = role;
  url.password = encoded;
  url.pathname = `/${db.name}`;
  expect(url.toString()).toContain(`:${encoded}@`);
  return { url: url.toString(), name: db.name, raw, encoded };
}

/** A statement longer than the excerpt with `secret` starting at AT_CUT: a cut before scrubbing splits it. */
function statementAtCut(secret: string): string {
  const head = `select '${'x'.repeat(AT_CUT - "select '".length - "', '".length)}', '`;
  const sql = `${head}${secret}'::int, '${'y'.repeat(40)}' as tail`;
  expect(sql.indexOf(secret)).toBe(AT_CUT);
  return sql;
}

/** Failing migrations whose server error (message, detail, hint) or statement quotes the password. */
function hostileFiles(db: SecretDatabase): Record<string, string> {
  const { raw, encoded, url } = db;
  return {
    'a cast quoting the raw password': `select '${raw}'::int;\n`,
    'a cast quoting the URL-encoded password': `select '${encoded}'::int;\n`,
    'a cast quoting the whole URL': `select '${url}'::int;\n`,
    'an exception with the password in message, detail and hint': `do $$ begin raise exception 'failed: %', '${raw}' using detail = '${encoded}', hint = '${raw}'; end $$;\n`,
    'the raw password straddling the statement cut': `${statementAtCut(raw)};\n`,
    'the URL-encoded password straddling the statement cut': `${statementAtCut(encoded)};\n`,
  };
}

/** Every WINDOW-character piece of the password's forms found in `text`. */
function leaksIn(text: string, db: SecretDatabase): string[] {
  const found = new Set<string>();
  for (const form of [db.raw, db.encoded])
    for (let i = 0; i + WINDOW <= form.length; i++)
      if (text.includes(form.slice(i, i + WINDOW))) found.add(form.slice(i, i + WINDOW));
  return [...found];
}

/**
 * Every row of every table in migration_guard, whole (row text covers each column, text, json
 * and arrays alike), and the names in the Supabase history (its statements are the files' text).
 */
async function persisted(db: SecretDatabase, adminUrl: string): Promise<string> {
  const url = new URL(adminUrl);
  url.pathname = `/${db.name}`;
  return withPg(url.toString(), async (c) => {
    const tables = await c.query<{ t: string }>(
      "SELECT format('%I.%I', schemaname, tablename) AS t FROM pg_tables WHERE schemaname = 'migration_guard'",
    );
    expect(tables.rows.map((r) => r.t)).toEqual(
      expect.arrayContaining(['migration_guard.runs', 'migration_guard.migrations']),
    );
    const rows: string[] = [];
    for (const { t } of tables.rows)
      rows.push(...(await c.query<{ r: string }>(`SELECT x::text AS r FROM ${t} x`)).rows.map((r) => r.r));
    const history = (await c.query("SELECT to_regclass('supabase_migrations.schema_migrations') AS t"))
      .rows[0].t
      ? await c.query<{ name: string }>('SELECT name FROM supabase_migrations.schema_migrations')
      : { rows: [] };
    return [...rows, ...history.rows.map((r) => r.name)].join('\n');
  });
}

/** Everything a user can read of one in-process run: logs, JSON report, summary, CLI text. */
function written(result: RunResult, logs: string[]): string {
  return [logs.join('\n'), JSON.stringify(result, null, 2), renderSummary(result), renderText(result)].join(
    '\n',
  );
}

async function noAdvisoryLockHeld(url: string): Promise<void> {
  expect(
    await query(
      url,
      "SELECT count(*)::int AS n FROM pg_locks l JOIN pg_database d ON d.oid = l.database WHERE l.locktype = 'advisory' AND d.datname = current_database()",
    ),
  ).toEqual([{ n: 0 }]);
}

async function latestRun(url: string): Promise<{ command: string; status: string; error: string | null }> {
  const rows = await query<{ command: string; status: string; error: string | null }>(
    url,
    'SELECT command, status, error FROM migration_guard.runs ORDER BY id DESC LIMIT 1',
  );
  return rows[0];
}

const MODES = ['all', 'per-file'] as const;

/**
 * One job summary file for every action run of this file: @actions/core keeps the path it first
 * saw (the runner gives one per step); each run starts it empty.
 */
const SUMMARY_DIR = mkdtempSync(join(tmpdir(), 'mg-secrets-summary-'));
const SUMMARY_FILE = join(SUMMARY_DIR, 'summary.md');
afterAll(() => rmSync(SUMMARY_DIR, { recursive: true, force: true }));

/** A workflow command's value as the runner reads it (@actions/core escapes %, CR and LF). */
function unescapeCommand(value: string): string {
  return value.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%');
}

describe.each(testServers())('secrets are never persisted, on $name', (server) => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!();
  });
  const tempDir = tempDirsFor();

  it.each(MODES)(
    'apply and plan in %s mode: errors quoting the password leave it nowhere, and the database unchanged',
    async (mode) => {
      const db = await secretDatabase(server, cleanups);
      const dir = migrationsDir({ '1_t.sql': 'create table t1 (id int);\ninsert into t1 values (1);\n' });
      // A first file applied, so the guard's tables exist and hold rows before the failures.
      expect((await runGuard('apply', db.url, dir, { 'transaction-mode': mode })).result.status).toBe(
        'success',
      );
      const before = await databaseState(db.url);
      const outputs: string[] = [];
      for (const [what, sql] of Object.entries(hostileFiles(db))) {
        addFiles(dir, { '2_fail.sql': sql });
        for (const command of ['apply', 'plan']) {
          const { result, logs } = await runGuard(command, db.url, dir, { 'transaction-mode': mode });
          const context = `${command} with ${what}`;
          expect({ context, status: result.status }).toEqual({
            context,
            status: command === 'apply' && mode === 'all' ? 'rolled-back' : 'failed',
          });
          expect(result.error?.file).toMatch(/2_fail\.sql$/);
          // The password was there and was replaced: the user sees where, not what.
          expect({ context, shown: written(result, logs).includes('***') }).toEqual({ context, shown: true });
          const statement = result.error?.statement ?? '';
          if (what.includes('straddling')) {
            expect(statement.length).toBeLessThanOrEqual(STATEMENT_EXCERPT_CHARS + 1);
            expect(statement.endsWith('…')).toBe(true);
            expect(statement).toContain("', '***'::in");
          }
          expect(await databaseState(db.url)).toEqual(before);
          if (command === 'apply') {
            const record = await latestRun(db.url);
            expect(record).toMatchObject({ command: 'apply', status: result.status });
            expect(record.error).toContain('***');
          }
          outputs.push(written(result, logs));
        }
      }
      await noAdvisoryLockHeld(db.url);
      expect(leaksIn(outputs.join('\n'), db)).toEqual([]);
      expect(leaksIn(await persisted(db, server.url), db)).toEqual([]);
    },
  );

  it('per-file apply: a failed revert quoting the password leaves it out of the run record details', async () => {
    const db = await secretDatabase(server, cleanups);
    const dir = migrationsDir({
      '1_t.sql': 'create table t1 (id int);\ninsert into t1 values (1);\n',
      '1_t.down.sql': `select '${db.raw}'::int;\n`,
      // VACUUM cannot run in a transaction, so the rehearsal skips it: it fails only for real,
      // after 1_t committed, and the automatic revert then runs (and fails in) 1_t's down file.
      '2_vacuum.sql': 'vacuum no_such_table;\n',
    });
    const { result, logs } = await runGuard('apply', db.url, dir, { 'transaction-mode': 'per-file' });
    expect(result.status).toBe('failed');
    expect(result.rollback).toMatchObject({ kind: 'automatic', succeeded: false });
    expect(result.rollback?.error?.message).toContain('"***"');
    expect(result.rollback?.error?.statement).toBe("select '***'::int");
    expect((await databaseState(db.url)).history).toEqual(['1']);
    const record = await query<{ status: string; details: { rollback?: { error?: { message: string } } } }>(
      db.url,
      "SELECT status, details FROM migration_guard.runs WHERE command = 'apply' ORDER BY id DESC LIMIT 1",
    );
    expect(record[0].status).toBe('failed');
    expect(record[0].details.rollback?.error?.message).toContain('"***"');
    await noAdvisoryLockHeld(db.url);
    expect(leaksIn(written(result, logs), db)).toEqual([]);
    expect(leaksIn(await persisted(db, server.url), db)).toEqual([]);
  });

  it('rollback: a down migration quoting the password leaves it out of the run record and report', async () => {
    const db = await secretDatabase(server, cleanups);
    const dir = migrationsDir({
      '1_t.sql': 'create table t1 (id int);\n',
      '1_t.down.sql': `drop table t1;\n${statementAtCut(db.raw)};\n`,
    });
    expect((await runGuard('apply', db.url, dir)).result.status).toBe('success');
    const before = await databaseState(db.url);
    const { result, logs } = await runGuard('rollback', db.url, dir);
    expect(result.status).toBe('failed');
    expect(result.error?.file).toMatch(/1_t\.down\.sql$/);
    expect(result.error?.statement?.endsWith('…')).toBe(true);
    expect(await databaseState(db.url)).toEqual(before);
    expect(await latestRun(db.url)).toMatchObject({ command: 'rollback', status: 'failed' });
    expect((await latestRun(db.url)).error).toContain('"***"');
    await noAdvisoryLockHeld(db.url);
    expect(leaksIn(written(result, logs), db)).toEqual([]);
    expect(leaksIn(await persisted(db, server.url), db)).toEqual([]);
  });

  /** Runs `fn` with process.stdout/stderr captured, the environment extended, and the exit code kept. */
  async function captured(
    env: Record<string, string>,
    fn: () => Promise<unknown>,
  ): Promise<{ stdout: string; stderr: string; exitCode: typeof process.exitCode }> {
    const out: string[] = [];
    const err: string[] = [];
    const saved = { ...process.env };
    const exitBefore = process.exitCode;
    const stdout = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      out.push(String(chunk));
      return true;
    });
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      err.push(String(chunk));
      return true;
    });
    Object.assign(process.env, env);
    try {
      await fn();
      return { stdout: out.join(''), stderr: err.join(''), exitCode: process.exitCode };
    } finally {
      stdout.mockRestore();
      stderr.mockRestore();
      for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
      Object.assign(process.env, saved);
      process.exitCode = exitBefore;
    }
  }

  it.each(MODES)(
    'the action entry point (%s mode): report, summary, outputs and log hold no trace of the password',
    async (mode) => {
      const db = await secretDatabase(server, cleanups);
      const work = tempDir('mg-secrets-action-');
      const dir = migrationsDir({ '1_t.sql': 'create table t1 (id int);\n' });
      const leaks: string[] = [];
      for (const [what, sql] of Object.entries(hostileFiles(db))) {
        addFiles(dir, { '2_fail.sql': sql });
        for (const command of ['apply', 'plan']) {
          const files = {
            report: join(work, 'report.json'),
            summary: SUMMARY_FILE,
            output: join(work, 'output.txt'),
          };
          for (const file of Object.values(files)) writeFileSync(file, '');
          const run = await captured(
            {
              INPUT_COMMAND: command,
              'INPUT_DATABASE-URL': db.url,
              'INPUT_MIGRATIONS-DIR': dir,
              'INPUT_TRANSACTION-MODE': mode,
              INPUT_BACKUP: 'off',
              'INPUT_REPORT-PATH': files.report,
              GITHUB_STEP_SUMMARY: files.summary,
              GITHUB_OUTPUT: files.output,
              RUNNER_TEMP: work,
            },
            actionRun,
          );
          const context = `${command} with ${what}`;
          expect({ context, exitCode: run.exitCode }).toEqual({ context, exitCode: 1 });
          const report = readFileSync(files.report, 'utf8');
          const summary = readFileSync(files.summary, 'utf8');
          const outputs = readFileSync(files.output, 'utf8');
          expect(JSON.parse(report).error.file).toMatch(/2_fail\.sql$/);
          expect(summary).toContain('2_fail.sql');
          expect(outputs).toContain('status<<');
          expect(`${report}${summary}${run.stdout}`).toContain('***');
          // The runner is told to mask every form of the password (GitHub hides them in its log);
          // those commands are the only lines that may name it.
          const masks = run.stdout.split('\n').filter((l) => l.startsWith('::add-mask::'));
          expect(masks.map((l) => unescapeCommand(l.slice('::add-mask::'.length)))).toEqual(
            expect.arrayContaining([db.url, db.encoded, db.raw]),
          );
          const log = run.stdout
            .split('\n')
            .filter((l) => !l.startsWith('::add-mask::'))
            .join('\n');
          leaks.push(...leaksIn([report, summary, outputs, log, run.stderr].join('\n'), db));
        }
      }
      expect(await latestRun(db.url)).toMatchObject({ command: 'apply' });
      expect(leaks).toEqual([]);
      expect(leaksIn(await persisted(db, server.url), db)).toEqual([]);
    },
  );

  it.each(MODES)(
    'the CLI entry point (%s mode): report file, stdout (text and --json) and stderr hold no trace of the password',
    async (mode) => {
      const db = await secretDatabase(server, cleanups);
      const work = tempDir('mg-secrets-cli-');
      const dir = migrationsDir({ '1_t.sql': 'create table t1 (id int);\n' });
      const leaks: string[] = [];
      for (const [what, sql] of Object.entries(hostileFiles(db))) {
        addFiles(dir, { '2_fail.sql': sql });
        for (const [command, json] of [
          ['apply', false],
          ['plan', true],
          ['apply', true],
        ] as const) {
          const report = join(work, `${command}-${json}.json`);
          let code: number | undefined;
          const argv = [command, '--migrations-dir', dir, '--transaction-mode', mode, '--backup', 'off'];
          const run = await captured({}, async () => {
            code = await cliMain([...argv, '--report-path', report, ...(json ? ['--json'] : [])], {
              DATABASE_URL: db.url,
            });
          });
          const context = `${command}${json ? ' --json' : ''} with ${what}`;
          expect({ context, code }).toEqual({ context, code: 1 });
          const written = readFileSync(report, 'utf8');
          expect(JSON.parse(written).error.file).toMatch(/2_fail\.sql$/);
          expect(`${written}${run.stdout}`).toContain('***');
          leaks.push(...leaksIn([written, run.stdout, run.stderr].join('\n'), db));
        }
      }
      expect(leaks).toEqual([]);
      expect(leaksIn(await persisted(db, server.url), db)).toEqual([]);
    },
  );
});
