import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Migration } from '../migrations/discover.js';
import type { PgParser } from '../migrations/parser.js';
import { GuardError } from '../errors.js';
import {
  CONSUMED,
  WORKER_MAX_FILE_BYTES,
  type ParsedFile,
  type RecordedParse,
  type WorkerInput,
} from './parse-protocol.js';

/**
 * Below this much SQL a lint is over before a worker thread has started (~50 ms), so the main
 * thread parses everything itself.
 */
const MIN_BYTES = 1024 * 1024;

/** Set to `off` to parse on the main thread only (to compare, or should a worker misbehave). */
export const WORKER_SWITCH = 'MIGRATION_GUARD_LINT_WORKER';

export interface ParseAhead {
  /**
   * The parser to lint file `index` with (files in order, each asked for once): answers from the
   * worker's parses of the file, and the main thread's own parser for anything else.
   */
  parserFor(index: number): Promise<PgParser>;
  /** How many files the worker parsed. */
  readonly byWorker: number;
  stop(): Promise<void>;
}

/**
 * Starts a worker thread that parses the files, in order, ahead of the linter, when they are
 * large enough for it to pay and the worker's bundle is there (dist/lint-worker/; not when
 * running from the TypeScript sources). The main thread's own parser is loaded only for what
 * the worker did not parse: a file it left (too large), one where parsing stopped (syntax error,
 * psql feature: the main thread then parses other text than the worker did), or all files from
 * the one it failed on, should the worker die.
 */
export function startParseAhead(
  migrations: Migration[],
  local: () => Promise<PgParser>,
): ParseAhead | undefined {
  if (process.env[WORKER_SWITCH] === 'off') return undefined;
  const bytes = migrations.reduce((sum, m) => sum + (m.up.end - m.up.start), 0);
  if (bytes < MIN_BYTES) return undefined;
  const script = workerScript();
  if (!script) return undefined;

  const shared = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
  const input: WorkerInput = {
    // A file the worker leaves to the main thread (too large) is not copied to it.
    files: migrations.map((m) => ({
      file: m.path,
      text: m.up.end - m.up.start > WORKER_MAX_FILE_BYTES ? '' : m.up.source.text,
      start: m.up.start,
      end: m.up.end,
    })),
    shared: shared.buffer as SharedArrayBuffer,
  };
  let worker: Worker;
  try {
    worker = new Worker(script, { workerData: input });
  } catch {
    return undefined; // no thread to be had: the main thread parses, as for a small lint
  }
  const delivered = new Map<number, ParsedFile>();
  const waiting = new Map<number, (file: ParsedFile | undefined) => void>();
  let failed = false;
  const fail = () => {
    failed = true;
    for (const resolve of waiting.values()) resolve(undefined);
    waiting.clear();
  };
  worker.on('message', (file: ParsedFile) => {
    const resolve = waiting.get(file.index);
    if (resolve) {
      waiting.delete(file.index);
      resolve(file);
    } else delivered.set(file.index, file);
  });
  worker.on('error', fail);
  worker.on('exit', fail);
  let loadingLocal: Promise<PgParser> | undefined;
  const localParser = () => (loadingLocal ??= local());
  let byWorker = 0;

  return {
    get byWorker() {
      return byWorker;
    },
    async parserFor(index) {
      Atomics.store(shared, CONSUMED, index);
      Atomics.notify(shared, CONSUMED);
      const file =
        delivered.get(index) ??
        (failed
          ? undefined
          : await new Promise<ParsedFile | undefined>((resolve) => waiting.set(index, resolve)));
      delivered.delete(index);
      if (!file) return localParser();
      if (file.calls.length > 0) byWorker++;
      const { up, path } = migrations[index];
      const replay = replayParser(file.calls, file.clean ? unreachable(path) : await localParser());
      // The worker's pieces of the up section, for the one pass over it that parsed cleanly.
      let pieces = file.clean ? file.pieces : undefined;
      replay.knownPieces = (start, end) => {
        const known = start === up.start && end === up.end ? pieces : undefined;
        pieces = undefined;
        return known;
      };
      return replay;
    },
    async stop() {
      worker.off('exit', fail);
      await worker.terminate();
    },
  };
}

/**
 * The fallback of a file the worker parsed whole: both threads run the same code on the same
 * text, so the main thread asks exactly what the worker asked. Should they ever disagree, this
 * says so instead of linting with an answer to another question.
 */
function unreachable(file: string): PgParser {
  return {
    parseSync() {
      throw new GuardError(
        'parse-error',
        `The linter's parse worker and main thread disagree on how to parse ${file}`,
        {
          location: { file },
          hint: `This is a bug: please report it. ${WORKER_SWITCH}=off lints without the worker.`,
        },
      );
    },
  };
}

/** The worker's bundle, beside the action's bundle or one folder up from the CLI's (dist/cli/). */
function workerScript(): string | undefined {
  const here = dirname(fileURLToPath(import.meta.url));
  return [here, dirname(here)]
    .map((dir) => join(dir, 'lint-worker', 'index.js'))
    .find((path) => existsSync(path));
}

/**
 * Answers the parses the worker made, in the order it made them; from the first call that
 * differs (after a syntax error, the main thread parses other text), the main thread's parser.
 */
function replayParser(calls: RecordedParse[], fallback: PgParser): PgParser {
  let next = 0;
  return {
    parseSync(sql) {
      const call = next < calls.length && calls[next].sql === sql ? calls[next++] : undefined;
      if (!call) {
        next = calls.length;
        return fallback.parseSync(sql);
      }
      if (call.error)
        throw Object.assign(new Error(call.error.message), { sqlDetails: call.error.sqlDetails });
      return JSON.parse(call.json) as ReturnType<PgParser['parseSync']>;
    },
  };
}
