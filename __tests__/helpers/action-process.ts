import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The bundled action, as the runner starts it (`runs.main`). */
export const ACTION_ENTRY = join(process.cwd(), 'dist', 'index.js');

export interface ActionProcess {
  code: number | null;
  stdout: string;
  stderr: string;
  /** GITHUB_OUTPUT as the action left it. */
  outputs: string;
  /** GITHUB_STEP_SUMMARY as the action left it. */
  summary: string;
}

/**
 * Runs `node dist/index.js` the way the runner does: inputs as INPUT_* variables, the event in a
 * file, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files, RUNNER_TEMP and HOME in `dir`; nothing of
 * this shell's environment but PATH. `env` adds to (or overrides) the GITHUB_* variables.
 */
export function runActionProcess(options: {
  /** A fresh folder for the runner's files. */
  dir: string;
  /** The job's working directory (GITHUB_WORKSPACE). */
  cwd: string;
  event: { name: string; payload: unknown };
  inputs: Record<string, string>;
  env?: NodeJS.ProcessEnv;
}): Promise<ActionProcess> {
  const { dir, cwd, event } = options;
  const files = {
    output: join(dir, 'github_output'),
    summary: join(dir, 'step_summary'),
    event: join(dir, 'event.json'),
  };
  writeFileSync(files.output, '');
  writeFileSync(files.summary, '');
  writeFileSync(files.event, JSON.stringify(event.payload));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: dir,
    GITHUB_ACTIONS: 'true',
    GITHUB_EVENT_NAME: event.name,
    GITHUB_EVENT_PATH: files.event,
    GITHUB_OUTPUT: files.output,
    GITHUB_STEP_SUMMARY: files.summary,
    GITHUB_REPOSITORY: 'acme/app',
    GITHUB_RUN_ID: '4242',
    GITHUB_REF: 'refs/heads/main',
    GITHUB_WORKSPACE: cwd,
    RUNNER_TEMP: dir,
    ...options.env,
  };
  for (const [name, value] of Object.entries(options.inputs)) env[`INPUT_${name.toUpperCase()}`] = value;
  return new Promise((resolve) => {
    execFile(process.execPath, [ACTION_ENTRY], { cwd, env, timeout: 90_000 }, (error, stdout, stderr) => {
      resolve({
        code: error ? ((error as { code?: number }).code ?? null) : 0,
        stdout: String(stdout),
        stderr: String(stderr),
        outputs: readFileSync(files.output, 'utf8'),
        summary: readFileSync(files.summary, 'utf8'),
      });
    });
  });
}
