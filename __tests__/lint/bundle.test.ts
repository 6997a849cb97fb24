import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LintReport } from '../../src/lint/types.js';
import { migrationsDir } from '../helpers/migrations.js';
import { tempDirsFor } from '../helpers/temp.js';

/**
 * The bundled action (`command: lint`) and CLI (`dist/cli.js lint`): no database-url, findings as
 * annotations / lines, the exit status following the fail level. Needs a dist built from these
 * sources (`npm run build`).
 */
const ROOT = process.cwd();
const tempDir = tempDirsFor();

function runNode(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd: ROOT, env, timeout: 60_000 }, (error, stdout, stderr) => {
      const err = error as (Error & { code?: unknown }) | null;
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr });
    });
  });
}

async function action(inputs: Record<string, string>) {
  const dir = tempDir('mg-lint-action-');
  const runnerTemp = join(dir, 'temp');
  mkdirSync(runnerTemp);
  const outputFile = join(dir, 'output');
  writeFileSync(outputFile, '');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: dir,
    GITHUB_ACTIONS: 'true',
    GITHUB_EVENT_NAME: 'pull_request',
    GITHUB_OUTPUT: outputFile,
    GITHUB_WORKSPACE: ROOT,
    RUNNER_TEMP: runnerTemp,
  };
  for (const [name, value] of Object.entries(inputs)) env[`INPUT_${name.toUpperCase()}`] = value;
  const run = await runNode([join(ROOT, 'dist', 'index.js')], env);
  return { ...run, outputs: readFileSync(outputFile, 'utf8'), runnerTemp };
}

describe('lint from the bundle', () => {
  const files = { '1_a.sql': 'create index i on t (a);\ndrop table t;' };

  it('the action runs command lint without a database: annotations at file:line:column, report, failure at the fail level', async () => {
    const dir = migrationsDir(files);
    const run = await action({ command: 'lint', 'migrations-dir': dir });
    expect(run.code).toBe(1);
    const file = join(dir, '1_a.sql');
    expect(run.stdout).toContain(
      `::warning title=index-without-concurrently (locks),file=${file},line=1,col=19::CREATE INDEX on public.t without CONCURRENTLY`,
    );
    expect(run.stdout).toContain(
      `::error title=drop-table (destructive),file=${file},line=2,col=1::DROP TABLE public.t`,
    );
    expect(run.stdout).toMatch(/::error::lint: 1 error, 1 warning, 0 info in 1 files \(fail level error\)/);
    expect(run.outputs).toMatch(/status<<.*\nfailed\n/);
    const report = JSON.parse(
      readFileSync(join(run.runnerTemp, 'migration-guard-default-lint.json'), 'utf8'),
    ) as LintReport;
    expect(report.counts).toEqual({ error: 1, warning: 1, info: 0 });
  });

  it('the action passes with lint off, and with a fail level the findings do not reach', async () => {
    const dir = migrationsDir({ '1_a.sql': 'create index i on t (a);' });
    expect((await action({ command: 'lint', 'migrations-dir': dir, lint: 'off' })).code).toBe(0);
    const run = await action({ command: 'lint', 'migrations-dir': dir });
    expect(run.code).toBe(0);
    expect(run.outputs).toMatch(/status<<.*\nsuccess\n/);
  });

  it('the CLI: exit 1 with the lines on stdout, 2 for a bad flag value; no DATABASE_URL needed', async () => {
    const dir = migrationsDir(files);
    const env = { PATH: process.env.PATH, HOME: tempDir('mg-lint-home-') };
    const run = await runNode([join(ROOT, 'dist', 'cli.js'), 'lint', '--migrations-dir', dir], env);
    expect(run.code).toBe(1);
    expect(
      run.stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split(' ').slice(0, 3).join(' ')),
    ).toEqual([
      `${join(dir, '1_a.sql')}:1:19 warning index-without-concurrently`,
      `${join(dir, '1_a.sql')}:2:1 error drop-table`,
    ]);
    const bad = await runNode(
      [join(ROOT, 'dist', 'cli.js'), 'lint', '--migrations-dir', dir, '--lint', 'loud'],
      env,
    );
    expect(bad.code).toBe(2);
  });
});
