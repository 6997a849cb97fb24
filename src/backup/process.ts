import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import type { Readable, Writable } from 'node:stream';

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

/** A program started with piped streams (the encrypted backup and restore feed and read them). */
export interface StartedProcess {
  /** The program's standard input, when started with `stdin: true`; errors (EPIPE) are absorbed. */
  stdin: Writable | null;
  /** Its standard output, when started with `stdout: 'stream'`. */
  stdout: Readable | null;
  /** Settles when the program has exited and its output is closed; never rejects. */
  done: Promise<ProcessResult>;
  /** SIGTERM, then SIGKILL after a grace period: for a pipeline that failed elsewhere. */
  stop(): void;
}

export interface StartOptions extends RunOptions {
  stdin?: boolean;
  /** 'collect' (default): stdout is gathered into the result; 'stream': the caller reads it. */
  stdout?: 'collect' | 'stream';
}

function runProcess(file: string, args: readonly string[], options: RunOptions = {}): Promise<ProcessResult> {
  return startProcess(file, args, options).done;
}

export function startProcess(
  file: string,
  args: readonly string[],
  options: StartOptions = {},
): StartedProcess {
  const streamOut = options.stdout === 'stream';
  const child = spawn(file, [...args], {
    env: options.env ?? process.env,
    stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    shell: false,
    windowsHide: true,
  });
  // A program that exits without reading all its input (pg_restore --list stops after the table of
  // contents) makes writes fail with EPIPE: its exit code says whether that mattered.
  child.stdin?.on('error', () => {});
  const stdout: Buffer[] = [];
  let stdoutBytes = 0;
  let stderr = '';
  let timedOut = false;
  let killTimer: NodeJS.Timeout | undefined;
  const stop = () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    killTimer ??= setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
  };

  if (!streamOut) {
    child.stdout!.on('data', (chunk: Buffer) => {
      if (stdoutBytes >= MAX_STDOUT) return;
      stdout.push(chunk);
      stdoutBytes += chunk.length;
    });
  }
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
    if (stderr.length > MAX_STDERR) stderr = stderr.slice(-MAX_STDERR);
  });

  const done = new Promise<ProcessResult>((resolve) => {
    let settled = false;
    const timer =
      options.timeoutMs && options.timeoutMs > 0
        ? setTimeout(() => {
            timedOut = true;
            stop();
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
  return { stdin: child.stdin, stdout: streamOut ? child.stdout : null, done, stop };
}

/**
 * Writes one chunk to a program's input, waiting while its pipe is full. A program that has closed
 * its input (exited, or stopped reading) takes nothing more: the chunk is dropped, and its exit
 * code tells whether that was an error.
 */
export async function writeChunk(input: Writable, chunk: Uint8Array): Promise<void> {
  if (input.destroyed || input.writableEnded) return;
  if (input.write(chunk)) return;
  await new Promise<void>((resolve) => {
    const done = () => {
      input.off('drain', done);
      input.off('close', done);
      input.off('error', done);
      resolve();
    };
    input.on('drain', done);
    input.on('close', done);
    input.on('error', done);
  });
}
