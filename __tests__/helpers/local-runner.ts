/**
 * Runs one job of a workflow file here, the way GitHub's runner would, so tests exercise our
 * workflows and not only lint them:
 * - a local action (`uses: ./` or `uses: ./.migration-guard`) is `node <dir>/dist/index.js` with an
 *   `INPUT_<NAME>` variable for every input of its action.yml (the step's `with:` value, its
 *   expressions evaluated, or the input's default); outputs come back through GITHUB_OUTPUT;
 * - `run:` is bash (`--noprofile --norc -eo pipefail`, the runner's default) with the step's `env:`;
 * - `actions/upload-artifact` and `actions/download-artifact` copy files to and from a folder that
 *   stands for the run's artifact store (names must be unique unless `overwrite`; `pattern` and
 *   `merge-multiple` as documented);
 * - `actions/checkout` and `actions/setup-node` do nothing (the test prepares the workspace);
 * - `if:` and `continue-on-error` decide as on GitHub. Any other step throws.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parse } from 'yaml';
import { condition, interpolate, type Contexts, type Value } from './expressions.js';
import { parseOutputs } from './github-output.js';

export interface Step {
  id?: string;
  name?: string;
  if?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, unknown>;
  'continue-on-error'?: boolean;
}

export interface Job {
  env?: Record<string, string>;
  steps: Step[];
}

export interface StepRecord {
  label: string;
  outcome: 'success' | 'failure' | 'skipped';
  out: string;
  summary?: string;
}

export interface LocalRun {
  records: StepRecord[];
  /** The `steps` context at the end: outputs and outcome of each step with an id. */
  steps: Record<string, Value>;
  status: 'success' | 'failure';
  /** `with:` keys the action does not declare (the runner warns "Unexpected input(s)" and goes on). */
  unexpectedInputs: string[];
}

export interface RunnerOptions {
  /** The job's working directory (GITHUB_WORKSPACE). */
  workspace: string;
  /** A scratch folder of the job: RUNNER_TEMP and the runner's own files go under it. */
  temp: string;
  /** The run's artifact store, shared by the jobs of one run. */
  artifacts: string;
  /** Contexts other than `steps`, `runner` and `env` (github, inputs, matrix, secrets, needs). */
  contexts: Contexts;
  /** The job's `env:` as it should be (evaluated, or replaced by the test). */
  env?: Record<string, string>;
  /** Folder (holding action.yml and dist/) of each local action, by its `uses:` value. */
  actions: Record<string, string>;
  /** An input the action does not declare throws (default), or is only collected, as GitHub warns. */
  strictInputs?: boolean;
}

function exec(file: string, args: string[], cwd: string, env: NodeJS.ProcessEnv) {
  return new Promise<{ code: number; out: string }>((resolve) => {
    execFile(file, args, { cwd, env, timeout: 120_000, maxBuffer: 32 << 20 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, out: `${stdout}${stderr}` });
    });
  });
}

const glob = (pattern: string) =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );

export async function runJobLocally(job: Job, options: RunnerOptions): Promise<LocalRun> {
  const { workspace, temp, artifacts } = options;
  const runnerTemp = join(temp, 'runner-temp');
  mkdirSync(runnerTemp, { recursive: true });
  mkdirSync(artifacts, { recursive: true });
  const github = (options.contexts.github ?? {}) as Record<string, string>;
  const eventPath = join(temp, 'event.json');
  writeFileSync(eventPath, JSON.stringify({}));
  const jobEnv = options.env ?? {};
  const runnerEnv: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: temp,
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    GITHUB_EVENT_NAME: github.event_name ?? 'push',
    GITHUB_EVENT_PATH: eventPath,
    GITHUB_REPOSITORY: github.repository ?? 'acme/app',
    GITHUB_RUN_ID: github.run_id ?? '4242',
    GITHUB_RUN_ATTEMPT: github.run_attempt ?? '1',
    GITHUB_SHA: github.sha ?? 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678',
    GITHUB_REF: github.ref ?? 'refs/heads/main',
    GITHUB_ACTOR: 'octocat',
    GITHUB_WORKSPACE: workspace,
    RUNNER_TEMP: runnerTemp,
    ...jobEnv,
  };
  const steps: Record<string, Value> = {};
  const records: StepRecord[] = [];
  let status: 'success' | 'failure' = 'success';
  const unexpectedInputs: string[] = [];
  for (const [index, step] of job.steps.entries()) {
    const label = step.id ?? step.name ?? step.uses ?? `step ${index}`;
    const ctx: Contexts = {
      ...options.contexts,
      env: jobEnv,
      runner: { temp: runnerTemp, os: 'Linux' },
      steps,
    };
    if (!condition(step.if, ctx, { status })) {
      records.push({ label, outcome: 'skipped', out: '' });
      if (step.id) steps[step.id] = { outputs: {}, outcome: 'skipped', conclusion: 'skipped' };
      continue;
    }
    const given = (name: string) =>
      step.with && name in step.with ? interpolate(step.with[name], ctx) : undefined;
    const uses = step.uses?.replace(/@.*$/, '');
    let result: { code: number; out: string };
    let outputs: Record<string, string> = {};
    let summary: string | undefined;
    if (uses === 'actions/checkout' || uses === 'actions/setup-node') {
      result = { code: 0, out: '' };
    } else if (step.uses && step.uses in options.actions) {
      const dir = options.actions[step.uses];
      const action = parse(readFileSync(join(dir, 'action.yml'), 'utf8')) as {
        inputs: Record<string, { default?: string }>;
      };
      const env: NodeJS.ProcessEnv = { ...runnerEnv };
      for (const name of Object.keys(step.with ?? {})) {
        if (name in action.inputs) continue;
        if (options.strictInputs !== false)
          throw new Error(`${label}: "${name}" is not an input of ${dir}/action.yml`);
        unexpectedInputs.push(name);
      }
      for (const [name, spec] of Object.entries(action.inputs)) {
        const value = step.with && name in step.with ? step.with[name] : (spec.default ?? '');
        env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = String(interpolate(value, ctx) ?? '');
      }
      const outputFile = join(temp, `output-${index}`);
      const summaryFile = join(temp, `summary-${index}`);
      writeFileSync(outputFile, '');
      writeFileSync(summaryFile, '');
      env.GITHUB_OUTPUT = outputFile;
      env.GITHUB_STEP_SUMMARY = summaryFile;
      result = await exec(process.execPath, [join(dir, 'dist', 'index.js')], workspace, env);
      outputs = parseOutputs(readFileSync(outputFile, 'utf8'));
      summary = readFileSync(summaryFile, 'utf8');
    } else if (uses === 'actions/upload-artifact') {
      const name = String(given('name') ?? 'artifact');
      const path = String(given('path') ?? '');
      const target = join(artifacts, name);
      if (!existsSync(path) || !statSync(path).isFile()) {
        const fail = given('if-no-files-found') === 'error';
        result = { code: fail ? 1 : 0, out: `No files were found with the provided path: ${path}` };
      } else if (existsSync(target) && given('overwrite') !== true) {
        result = { code: 1, out: `An artifact with the name ${name} already exists` };
      } else {
        mkdirSync(target, { recursive: true });
        cpSync(path, join(target, basename(path)));
        result = { code: 0, out: `uploaded ${name}` };
      }
    } else if (uses === 'actions/download-artifact') {
      const pattern = glob(String(given('pattern') ?? '*'));
      const into = String(given('path') ?? workspace);
      const names = readdirSync(artifacts).filter((n) => pattern.test(n));
      for (const name of names) {
        const dest = given('merge-multiple') === true ? into : join(into, name);
        mkdirSync(dest, { recursive: true });
        cpSync(join(artifacts, name), dest, { recursive: true });
      }
      result = { code: 0, out: `downloaded ${names.length} artifact(s)` };
    } else if (step.run !== undefined) {
      const env: NodeJS.ProcessEnv = { ...runnerEnv };
      for (const [name, value] of Object.entries(step.env ?? {}))
        env[name] = String(interpolate(value, ctx) ?? '');
      const summaryFile = join(temp, `summary-${index}`);
      writeFileSync(summaryFile, '');
      env.GITHUB_STEP_SUMMARY = summaryFile;
      const script = join(temp, `step-${index}.sh`);
      writeFileSync(script, step.run);
      result = await exec('bash', ['--noprofile', '--norc', '-eo', 'pipefail', script], workspace, env);
      summary = readFileSync(summaryFile, 'utf8');
    } else {
      throw new Error(`${label}: a step this runner does not know how to run (${step.uses})`);
    }
    const outcome = result.code === 0 ? 'success' : 'failure';
    const conclusion = outcome === 'failure' && step['continue-on-error'] ? 'success' : outcome;
    if (conclusion === 'failure') status = 'failure';
    if (step.id) steps[step.id] = { outputs, outcome, conclusion };
    records.push({ label, outcome, out: result.out, summary });
  }
  return { records, steps, status, unexpectedInputs };
}
