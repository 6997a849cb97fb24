/**
 * Issue 8, item 6: `changed` says whether the run left the database different from before it.
 * Each case compares it with the database itself (schema, rows, history and checksums before and
 * after), in-process through runCommand and, for the output, through the action's entry point.
 */
import { afterAll, describe, expect, it, jest } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunResult } from '../../src/engine/result.js';
import { parse } from 'yaml';
import { main as cliMain } from '../../src/cli.js';
import { run as actionRun } from '../../src/main.js';
import { databasesFor, databaseState, query, testServers } from '../helpers/db.js';
import { addFiles, migrationsDir } from '../helpers/migrations.js';
import { runGuard } from '../helpers/run.js';

/** @actions/core reads GITHUB_STEP_SUMMARY once per process: one file for every run of this file. */
const WORK = mkdtempSync(join(tmpdir(), 'mg-changed-'));
const SUMMARY_FILE = join(WORK, 'summary.md');
afterAll(() => rmSync(WORK, { recursive: true, force: true }));

/** A file that passes its rehearsal and fails for real: a sequence advances in a rolled-back transaction too. */
const FAILS_FOR_REAL = "create table three (id int);\nselect 1 / (nextval('flaky') - 2);\n";

type State = Awaited<ReturnType<typeof databaseState>>;

/** Runs `fn` and checks `changed` against what it did to the database. */
async function expectChanged(
  url: string,
  fn: () => Promise<RunResult>,
  expected: { status: string; changed: boolean },
): Promise<{ result: RunResult; before: State; after: State }> {
  const before = await databaseState(url);
  const result = await fn();
  const after = await databaseState(url);
  expect({ status: result.status, changed: result.changed }).toEqual(expected);
  if (expected.changed) expect(after).not.toEqual(before);
  else expect(after).toEqual(before);
  return { result, before, after };
}

/** The action's outputs as the runner reads them from GITHUB_OUTPUT (`name<<delimiter` blocks). */
function outputsOf(file: string): Record<string, string> {
  const outputs: Record<string, string> = {};
  const lines = readFileSync(file, 'utf8').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^([^<]+)<<(.+)$/.exec(lines[i]);
    if (!m) continue;
    const value: string[] = [];
    while (lines[++i] !== m[2]) value.push(lines[i]);
    outputs[m[1]] = value.join('\n');
  }
  return outputs;
}

/** The action's run() with these inputs; its outputs, summary and stdout (annotations). */
async function runAction(
  inputs: Record<string, string>,
): Promise<{ outputs: Record<string, string>; summary: string; stdout: string; exitCode: number }> {
  const output = join(WORK, `output-${Math.random().toString(36).slice(2)}.txt`);
  writeFileSync(output, '');
  writeFileSync(SUMMARY_FILE, '');
  const env: Record<string, string> = {
    INPUT_BACKUP: 'off',
    GITHUB_OUTPUT: output,
    GITHUB_STEP_SUMMARY: SUMMARY_FILE,
    RUNNER_TEMP: WORK,
  };
  for (const [name, value] of Object.entries(inputs)) env[`INPUT_${name.toUpperCase()}`] = value;
  const saved = { ...process.env };
  const exitBefore = process.exitCode;
  const out: string[] = [];
  const stdout = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    out.push(String(chunk));
    return true;
  });
  Object.assign(process.env, env);
  try {
    await actionRun();
    return {
      outputs: outputsOf(output),
      summary: readFileSync(SUMMARY_FILE, 'utf8'),
      stdout: out.join(''),
      exitCode: Number(process.exitCode ?? 0),
    };
  } finally {
    stdout.mockRestore();
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
    process.exitCode = exitBefore;
  }
}

describe.each(testServers())('changed on $name', (server) => {
  const newDb = databasesFor(server);

  /** A database with `0_seq.sql` applied (the sequence FAILS_FOR_REAL uses) and its folder. */
  async function withSequence(): Promise<{ url: string; dir: string }> {
    const db = await newDb();
    const dir = migrationsDir({ '0_seq.sql': 'create sequence flaky;\n' });
    expect((await runGuard('apply', db.url, dir)).result).toMatchObject({ status: 'success', changed: true });
    return { url: db.url, dir };
  }

  it('is false after a per-file rehearsal failure: status failed, nothing applied', async () => {
    const db = await newDb();
    const dir = migrationsDir({
      '1_one.sql': 'create table one (id int);\n',
      '2_two.sql': 'create table two (id int);\nselect 1/0;\n',
    });
    const { result } = await expectChanged(
      db.url,
      async () => (await runGuard('apply', db.url, dir, { 'transaction-mode': 'per-file' })).result,
      { status: 'failed', changed: false },
    );
    expect(result.message).toMatch(/rehearsal found this before anything was applied/);
  });

  it('is false after an all-mode rollback', async () => {
    const { url, dir } = await withSequence();
    addFiles(dir, {
      '1_one.sql': 'create table one (id int);\ninsert into one values (1);\n',
      '2_dup.sql': 'create table dup (id int primary key);\ninsert into dup values (1), (1);\n',
    });
    await expectChanged(url, async () => (await runGuard('apply', url, dir)).result, {
      status: 'rolled-back',
      changed: false,
    });
  });

  it('is false after a preflight refusal (an applied file changed since)', async () => {
    const { url, dir } = await withSequence();
    addFiles(dir, {
      '0_seq.sql': 'create sequence flaky start 5;\n',
      '1_one.sql': 'create table one (id int);\n',
    });
    const { result } = await expectChanged(url, async () => (await runGuard('apply', url, dir)).result, {
      status: 'failed',
      changed: false,
    });
    expect(result.findings.map((f) => f.code)).toContain('drift');
  });

  it('is true after a per-file failure that left files applied (no down migration to revert them)', async () => {
    const { url, dir } = await withSequence();
    addFiles(dir, {
      '1_one.sql': 'create table one (id int);\n',
      '2_two.sql': 'create table two (id int);\n',
      '3_three.sql': FAILS_FOR_REAL,
    });
    const { result, after } = await expectChanged(
      url,
      async () => (await runGuard('apply', url, dir, { 'transaction-mode': 'per-file' })).result,
      { status: 'failed', changed: true },
    );
    expect(result.applied).toEqual(['1', '2']);
    expect(after.history).toEqual(['0', '1', '2']);
  });

  it('is false after a per-file failure whose earlier files were reverted by their down migrations', async () => {
    const { url, dir } = await withSequence();
    addFiles(dir, {
      '1_one.sql': 'create table one (id int);\n',
      '1_one.down.sql': 'drop table one;\n',
      '2_two.sql': 'create table two (id int);\n',
      '2_two.down.sql': 'drop table two;\n',
      '3_three.sql': FAILS_FOR_REAL,
    });
    const { result } = await expectChanged(
      url,
      async () => (await runGuard('apply', url, dir, { 'transaction-mode': 'per-file' })).result,
      { status: 'rolled-back', changed: false },
    );
    expect(result.rollback).toMatchObject({ kind: 'automatic', succeeded: true, reverted: ['2', '1'] });
  });

  it('is true after a revert whose down migration did not undo all of its file (the schema differs)', async () => {
    const { url, dir } = await withSequence();
    addFiles(dir, {
      '1_one.sql': 'create table one (id int);\ncreate table one_log (id int);\n',
      '1_one.down.sql': 'drop table one;\n',
      '3_three.sql': FAILS_FOR_REAL,
    });
    const { result } = await expectChanged(
      url,
      async () => (await runGuard('apply', url, dir, { 'transaction-mode': 'per-file' })).result,
      { status: 'rolled-back', changed: true },
    );
    expect(result.rollback).toMatchObject({ succeeded: true, reverted: ['1'] });
    expect(result.message).toMatch(/schema fingerprint CHANGED/);
  });

  it('is false after a failed unique index built outside a transaction whose INVALID index was dropped', async () => {
    const { url, dir } = await withSequence();
    await query(url, 'create table t (x int); insert into t values (1), (1)');
    addFiles(dir, { '1_idx.sql': 'create unique index concurrently t_x on t (x);\n' });
    const { result } = await expectChanged(url, async () => (await runGuard('apply', url, dir)).result, {
      status: 'rolled-back',
      changed: false,
    });
    expect(result.nonTransactional).toEqual([
      expect.objectContaining({ failed: true, leftBehind: expect.stringMatching(/was dropped$/) }),
    ]);
  });

  it('is true after a file that failed once its statement outside a transaction had committed (partly applied)', async () => {
    const { url, dir } = await withSequence();
    await query(url, 'create table t (x int)');
    addFiles(dir, {
      '1_idx.sql': `create index concurrently t_x on t (x);\n${FAILS_FOR_REAL}`,
    });
    const { result } = await expectChanged(url, async () => (await runGuard('apply', url, dir)).result, {
      status: 'failed',
      changed: true,
    });
    expect(result.applied).toEqual([]);
    expect(result.migrations.map((m) => m.status)).toEqual(['partially-applied']);
  });

  describe('after a cancellation', () => {
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    /** Sleeps 30 s on the real pass only (the rehearsal takes the first value of the sequence). */
    const SLOW_FOR_REAL = "select pg_sleep(case when nextval('s') > 1 then 30 else 0 end);\n";

    /** Waits until the run's real pass is at work (`table` committed), past its rehearsal. */
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

    it('is true when per-file files committed before the stop stay applied', async () => {
      const db = await newDb();
      await query(db.url, 'create sequence s');
      const dir = migrationsDir({
        '1_first.sql': 'create table first_one (id int);\n',
        '2_slow.sql': SLOW_FOR_REAL,
      });
      const controller = new AbortController();
      const { result } = await expectChanged(
        db.url,
        async () => {
          const run = runGuard(
            'apply',
            db.url,
            dir,
            { 'transaction-mode': 'per-file' },
            { signal: controller.signal },
          );
          await waitForRealPassAfter(db.url, 'first_one');
          controller.abort('SIGTERM');
          return (await run).result;
        },
        { status: 'cancelled', changed: true },
      );
      expect(result.applied).toEqual(['1']);
    });

    it('is false when the stopped run was one transaction', async () => {
      const db = await newDb();
      await query(db.url, 'create sequence s');
      await query(db.url, "select nextval('s')"); // no rehearsal in this mode: sleep on the first pass
      const dir = migrationsDir({
        '1_first.sql': 'create table first_one (id int);\n',
        '2_slow.sql': SLOW_FOR_REAL,
      });
      const controller = new AbortController();
      await expectChanged(
        db.url,
        async () => {
          const run = runGuard('apply', db.url, dir, {}, { signal: controller.signal });
          for (let i = 0; i < 400; i++) {
            const rows = await query(
              db.url,
              "select 1 from pg_stat_activity where application_name like 'migration-guard%' and state = 'active' and query like '%pg_sleep%'",
            );
            if (rows.length > 0) break;
            await sleep(25);
          }
          controller.abort('SIGTERM');
          return (await run).result;
        },
        { status: 'cancelled', changed: false },
      );
    });
  });

  it('follows what stayed: true for an apply, a baseline and a rollback that went through; false for plan, status, nothing to do and a failed rollback', async () => {
    const db = await newDb();
    const dir = migrationsDir({
      '1_one.sql': 'create table one (id int);\n',
      '1_one.down.sql': 'drop table one;\n',
      '2_two.sql': 'create table two (id int);\n',
      '2_two.down.sql': 'select 1/0;\n',
    });
    const run = async (command: string, extra = {}) => (await runGuard(command, db.url, dir, extra)).result;
    // The linter's verdict is not this test's subject (its tables are public, without RLS).
    await expectChanged(db.url, () => run('plan', { lint: 'off' }), { status: 'success', changed: false });
    await expectChanged(db.url, () => run('apply'), { status: 'success', changed: true });
    await expectChanged(db.url, () => run('apply'), { status: 'nothing-to-do', changed: false });
    await expectChanged(db.url, () => run('status'), { status: 'success', changed: false });
    await expectChanged(db.url, () => run('rollback'), { status: 'failed', changed: false });
    await expectChanged(db.url, () => run('rollback', { count: '2' }), { status: 'failed', changed: false });
    addFiles(dir, { '2_two.down.sql': 'drop table two;\n' });
    await expectChanged(db.url, () => run('rollback'), { status: 'success', changed: true });
    addFiles(dir, { '3_three.sql': 'create table three (id int);\n' });
    await expectChanged(db.url, () => run('baseline', { 'target-version': '3' }), {
      status: 'success',
      changed: true,
    });
  });

  describe('through the action', () => {
    it('outputs changed=false with status failed after a rehearsal failure, and the summary and annotation say so', async () => {
      const db = await newDb();
      const dir = migrationsDir({
        '1_one.sql': 'create table one (id int);\n',
        '2_two.sql': 'create table two (id int);\nselect 1/0;\n',
      });
      const before = await databaseState(db.url);
      const run = await runAction({
        command: 'apply',
        'database-url': db.url,
        'migrations-dir': dir,
        'transaction-mode': 'per-file',
      });
      expect(run.exitCode).toBe(1);
      expect(run.outputs).toMatchObject({ status: 'failed', changed: 'false', 'applied-count': '0' });
      // Every output action.yml declares is published, and nothing else.
      const declared = parse(readFileSync('action.yml', 'utf8')) as { outputs: Record<string, unknown> };
      expect(Object.keys(run.outputs).sort()).toEqual(Object.keys(declared.outputs).sort());
      expect(run.summary).toContain('| Database changed | no |');
      expect(run.stdout).toContain(
        `::error title=Migration failed,file=${join(dir, '2_two.sql')},line=2,col=1::division by zero (SQLSTATE 22012)`,
      );
      expect(JSON.parse(readFileSync(run.outputs['report-path'], 'utf8')).changed).toBe(false);
      expect(await databaseState(db.url)).toEqual(before);
    });

    it('outputs changed=true with status failed after a per-file failure that left files applied', async () => {
      const { url, dir } = await withSequence();
      addFiles(dir, { '1_one.sql': 'create table one (id int);\n', '3_three.sql': FAILS_FOR_REAL });
      const run = await runAction({
        command: 'apply',
        'database-url': url,
        'migrations-dir': dir,
        'transaction-mode': 'per-file',
      });
      expect(run.exitCode).toBe(1);
      expect(run.outputs).toMatchObject({ status: 'failed', changed: 'true', applied: '["1"]' });
      expect(run.summary).toContain('| Database changed | yes |');
      expect((await databaseState(url)).history).toEqual(['0', '1']);
    });

    it('outputs changed=false after an all-mode rollback and after a preflight refusal; true after a success', async () => {
      const { url, dir } = await withSequence();
      addFiles(dir, {
        '1_dup.sql': 'create table dup (id int primary key);\ninsert into dup values (1), (1);\n',
      });
      const inputs = { command: 'apply', 'database-url': url, 'migrations-dir': dir };
      expect((await runAction(inputs)).outputs).toMatchObject({ status: 'rolled-back', changed: 'false' });
      addFiles(dir, { '1_dup.sql': 'create table dup (id int primary key);\n' });
      expect((await runAction(inputs)).outputs).toMatchObject({ status: 'success', changed: 'true' });
      addFiles(dir, { '0_seq.sql': 'create sequence flaky start 5;\n', '2_more.sql': 'select 1;\n' });
      const refused = await runAction(inputs);
      expect(refused.outputs).toMatchObject({ status: 'failed', changed: 'false' });
      expect(refused.summary).toContain('### Drift: the history and the files disagree');
    });

    it('outputs changed=false when the inputs are refused before any connection', async () => {
      const run = await runAction({
        command: 'apply',
        'database-url': 'postgres://u:p@h/db',
        'lock-timeout': 'x',
      });
      expect(run.outputs).toMatchObject({ status: 'failed', changed: 'false' });
    });
  });
  it('the CLI ends its report with whether the database changed', async () => {
    const { url, dir } = await withSequence();
    addFiles(dir, { '1_one.sql': 'create table one (id int);\n', '3_three.sql': FAILS_FOR_REAL });
    const out: string[] = [];
    const stdout = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      out.push(String(chunk));
      return true;
    });
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    let code: number;
    try {
      code = await cliMain(
        ['apply', '--migrations-dir', dir, '--transaction-mode', 'per-file', '--backup', 'off'],
        {
          DATABASE_URL: url,
        },
      );
    } finally {
      stdout.mockRestore();
      stderr.mockRestore();
    }
    expect(code).toBe(1);
    expect(out.join('')).toMatch(/\ndatabase changed: yes\nfailed: .*Still applied from this run: 1\./);
  });
});
