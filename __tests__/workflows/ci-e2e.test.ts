/**
 * The end-to-end job of .github/workflows/ci.yml, run here step by step the way the runner runs
 * it, so the workflow is exercised and not only linted: each `uses: ./` step is `node dist/index.js`
 * with an `INPUT_<NAME>` variable for every input of action.yml (its default, or the step's `with:`
 * value with the expressions evaluated), outputs read back from GITHUB_OUTPUT; each `run:` step is
 * bash with the step's `env:`; `if:` and `continue-on-error` decide as on GitHub. The service
 * database of the job is replaced by a fresh database on the test server.
 *
 * Needs a dist/ built from the sources (`npm run build`): it runs the bundle, as the job does.
 */
import { describe, expect, it } from '@jest/globals';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { databasesFor, query, testServers } from '../helpers/db.js';
import { condition, interpolate, type Contexts, type Value } from '../helpers/expressions.js';
import { parseOutputs } from '../helpers/github-output.js';
import { tempDirsFor } from '../helpers/temp.js';

const ROOT = process.cwd();
const ACTION = join(ROOT, 'dist', 'index.js');

interface Step {
  id?: string;
  name?: string;
  if?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, unknown>;
  'continue-on-error'?: boolean;
}
interface Job {
  env?: Record<string, string>;
  steps: Step[];
}

const ci = parse(readFileSync('.github/workflows/ci.yml', 'utf8')) as { jobs: Record<string, Job> };
const action = parse(readFileSync('action.yml', 'utf8')) as {
  inputs: Record<string, { default?: string }>;
};
const tempDir = tempDirsFor();

function run(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { cwd: ROOT, env, timeout: 90_000, maxBuffer: 32 << 20 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, out: `${stdout}${stderr}` });
      },
    );
  });
}

interface StepRecord {
  label: string;
  outcome: 'success' | 'failure' | 'skipped';
  out: string;
}

/** Runs the job's steps as the runner would; returns what each step did. */
async function runJob(job: Job, jobEnv: Record<string, string>): Promise<StepRecord[]> {
  const temp = tempDir('mg-ci-e2e-');
  const runnerTemp = join(temp, 'runner-temp');
  mkdirSync(runnerTemp);
  const eventPath = join(temp, 'event.json');
  writeFileSync(eventPath, JSON.stringify({ ref: 'refs/heads/main' }));
  const github = {
    event_name: 'push',
    repository: 'acme/app',
    run_id: '4242',
    sha: 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678',
    token: 'ghs_not_used_with_comment_false',
    workspace: ROOT,
  };
  const runnerEnv = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: temp,
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    GITHUB_EVENT_NAME: github.event_name,
    GITHUB_EVENT_PATH: eventPath,
    GITHUB_REPOSITORY: github.repository,
    GITHUB_RUN_ID: github.run_id,
    GITHUB_SHA: github.sha,
    GITHUB_REF: 'refs/heads/main',
    GITHUB_ACTOR: 'octocat',
    GITHUB_WORKSPACE: ROOT,
    RUNNER_TEMP: runnerTemp,
    ...jobEnv,
  };
  const steps: Record<string, Value> = {};
  const records: StepRecord[] = [];
  let status: 'success' | 'failure' = 'success';
  for (const [index, step] of job.steps.entries()) {
    const label = step.id ?? step.name ?? step.uses ?? `step ${index}`;
    const ctx: Contexts = { github, env: jobEnv, runner: { temp: runnerTemp, os: 'Linux' }, steps };
    if (!condition(step.if, ctx, { status })) {
      records.push({ label, outcome: 'skipped', out: '' });
      if (step.id) steps[step.id] = { outputs: {}, outcome: 'skipped', conclusion: 'skipped' };
      continue;
    }
    let result: { code: number; out: string };
    let outputs: Record<string, string> = {};
    if (step.uses?.startsWith('actions/checkout@')) {
      result = { code: 0, out: 'the repository is the working directory' };
    } else if (step.uses === './') {
      const env: NodeJS.ProcessEnv = { ...runnerEnv };
      const given = step.with ?? {};
      for (const name of Object.keys(given))
        if (!(name in action.inputs)) throw new Error(`${label}: "${name}" is not an input of action.yml`);
      for (const [name, spec] of Object.entries(action.inputs)) {
        const value = name in given ? given[name] : (spec.default ?? '');
        env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = String(interpolate(value, ctx) ?? '');
      }
      const outputFile = join(temp, `output-${index}`);
      writeFileSync(outputFile, '');
      env.GITHUB_OUTPUT = outputFile;
      env.GITHUB_STEP_SUMMARY = join(temp, `summary-${index}`);
      result = await run(process.execPath, [ACTION], env);
      outputs = parseOutputs(readFileSync(outputFile, 'utf8'));
    } else if (step.run !== undefined) {
      const env: NodeJS.ProcessEnv = { ...runnerEnv };
      for (const [name, value] of Object.entries(step.env ?? {}))
        env[name] = String(interpolate(value, ctx) ?? '');
      const script = join(temp, `step-${index}.sh`);
      writeFileSync(script, step.run);
      // The runner's default shell on Linux.
      result = await run('bash', ['--noprofile', '--norc', '-eo', 'pipefail', script], env);
    } else {
      throw new Error(`${label}: a step this test does not know how to run (${step.uses})`);
    }
    const outcome = result.code === 0 ? 'success' : 'failure';
    const conclusion = outcome === 'failure' && step['continue-on-error'] ? 'success' : outcome;
    if (conclusion === 'failure') status = 'failure';
    if (step.id) steps[step.id] = { outputs, outcome, conclusion };
    records.push({ label, outcome, out: result.out });
  }
  return records;
}

function localPgDumpMajor(): number {
  const version = spawnSync('pg_dump', ['--version'], { encoding: 'utf8' }).stdout ?? '';
  return Number(/(\d+)\.\d+/.exec(version)?.[1] ?? 0);
}

describe.each(testServers())('ci.yml end-to-end job, run locally ($name)', (server) => {
  const newDb = databasesFor(server);

  it('plans, applies migrations/, reports status, rolls a failing migration back and rolls one migration back', async () => {
    expect(existsSync(ACTION)).toBe(true); // run `npm run build` first
    const job = ci.jobs.e2e;
    const db = await newDb();
    const major = Number(
      (await query(db.url, "select current_setting('server_version_num')::int / 10000 as m"))[0].m,
    );
    // The job's env, with the service database replaced by ours. On GitHub the action installs a
    // pg_dump as new as the server; it never installs anything off GitHub's runners, so where this
    // machine's pg_dump is older than the server the backups are switched off (the job's own knob).
    const jobEnv = {
      ...job.env,
      DATABASE_URL: db.url,
      E2E_BACKUP: localPgDumpMajor() >= major ? 'required' : 'off',
    };
    const records = await runJob(job, jobEnv);
    const outcomes = records.map((r) => [r.label, r.outcome]);
    expect(outcomes).toEqual([
      ['actions/checkout@v4', 'success'],
      ['plan', 'success'],
      ['apply', 'success'],
      ['status', 'success'],
      ['A release whose new migration fails', 'success'],
      ['broken', 'failure'], // continue-on-error: the check step looks at it
      ['rollback', 'success'],
      ['Every step did what it should', 'success'],
    ]);
    // What the database says after the job: the newest migration rolled back, the failed one never there.
    const history = await query<{ version: string }>(
      db.url,
      'select version from supabase_migrations.schema_migrations order by version',
    );
    expect(history.map((r) => r.version)).toEqual(['20240101000000', '20240102000000']);
    const half = await query(db.url, "select to_regclass('public.e2e_half') as t");
    expect(half[0].t).toBeNull();
  });

  it('the check step fails when an output is not what the job expects (so its pass means something)', async () => {
    const job = structuredClone(ci.jobs.e2e);
    const db = await newDb();
    // Drop the rollback: the check step must see the wrong current version and fail the job.
    job.steps = job.steps.filter((s) => s.id !== 'rollback');
    const records = await runJob(job, { ...job.env, DATABASE_URL: db.url, E2E_BACKUP: 'off' });
    const check = records.at(-1)!;
    expect(check.outcome).toBe('failure');
    expect(check.out).toContain('::error::rollback: expected "success true 20240102000000", got "  "');
  });
});
