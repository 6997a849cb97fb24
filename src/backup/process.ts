import { spawn } from 'node:child_process';
import { constants } from 'node:os';

/**
 * The one seam through which src/backup starts external programs (pg_dump, pg_restore, psql, apt-get).
 * Arguments go to the program as a list, never through a shell, so nothing needs quoting and a
 * password can only travel in `env`.
 */
export interface ProcessRunner {
  run(file: string, args: readonly string[], options?: RunOptions): Promise<ProcessResult>;
}

export interface RunOptions {
  /** The complete environment of the child (default: this process's environment). */
  env?: NodeJS.ProcessEnv;
  /** Kill the program (SIGTERM, then SIGKILL) when it runs longer than this. */
  timeoutMs?: number;
  /** Stop the program (SIGTERM, then SIGKILL) when this aborts: a cancelled job. */
  signal?: AbortSignal;
}

export interface ProcessResult {
  /** Exit code; 127 when the program could not be started, 128+n when killed by signal n. */
  code: number;
  stdout: string;
  stderr: string;
  timedOut?: boolean;
}

/** Output beyond this is dropped (stdout: the end, stderr: the beginning, which matters least). */
const MAX_STDOUT = 64 * 1024 * 1024;
const MAX_STDERR = 1024 * 1024;
const KILL_GRACE_MS = 5_000;

export function createProcessRunner(): ProcessRunner {
  return { run: runProcess };
}

function runProcess(file: string, args: readonly string[], options: RunOptions = {}): Promise<ProcessResult> {
  return new Promise((resolve) => {
    const child = spawn(file, [...args], {
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      shell: false,
      windowsHide: true,
    });
    const stdout: Buffer[] = [];
    let stdoutBytes = 0;
    let stderr = '';
    let timedOut = false;
    let settled = false;
    let killTimer: NodeJS.Timeout | undefined;

    child.stdout.on('data', (chunk: Buffer) => {
      if (stdoutBytes >= MAX_STDOUT) return;
      stdout.push(chunk);
      stdoutBytes += chunk.length;
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
      if (stderr.length > MAX_STDERR) stderr = stderr.slice(-MAX_STDERR);
    });

    const timer =
      options.timeoutMs && options.timeoutMs > 0
        ? setTimeout(() => {
            timedOut = true;
            child.kill('SIGTERM');
            killTimer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
          }, options.timeoutMs)
        : undefined;

    const stop = () => {
      child.kill('SIGTERM');
      killTimer ??= setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
    };
    if (options.signal?.aborted) stop();
    options.signal?.addEventListener('abort', stop, { once: true });

    const finish = (code: number, extraStderr = '') => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener('abort', stop);
      if (timer) clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      resolve({
        code,
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: stderr + extraStderr,
        ...(timedOut ? { timedOut } : {}),
      });
    };

    child.on('error', (error: NodeJS.ErrnoException) => {
      // ENOENT / EACCES: the program could not be started at all.
      finish(127, `${stderr ? '\n' : ''}cannot run ${file}: ${error.message}`);
    });
    child.on('close', (code, signal) => {
      if (code !== null) return finish(code);
      const number = signal ? (constants.signals as Record<string, number>)[signal] : undefined;
      finish(128 + (number ?? 0), timedOut ? `\n${file} was stopped after ${options.timeoutMs} ms` : '');
    });
  });
}
