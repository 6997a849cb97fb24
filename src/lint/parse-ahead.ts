import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Worker } from 'node:worker_threads';
import type { Migration } from '../migrations/discover.js';
import type { ParseResult, PgParser } from '../migrations/parser.js';
import { GuardError } from '../errors.js';
import {
  CONSUMED,
  WORKER_MAX_FILE_BYTES,
  type ParsedFile,
  type RecordedParse,
  type WorkerFiles,
  type WorkerStart,
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
}

/**
 * A worker thread that parses the files, in order, ahead of the linter. It can be started before
 * the files are read (the `lint` command starts it when the folder holds 1 MB of SQL), so that
 * the thread and its parser load while the main thread reads them; they are handed over with
 * `parseAhead`. Only when the worker's bundle is there (dist/lint-worker/; not when running from
 * the TypeScript sources). The main thread's own parser is loaded only for what the worker did
 * not parse: a file it left (too large), one where parsing stopped (syntax error, psql feature:
 * the main thread then parses other text than the worker did), or all files from the one it
 * failed on, should the worker die.
 */
export class ParseWorker {
  private readonly delivered = new Map<number, ParsedFile>();
  private readonly waiting = new Map<number, (file: ParsedFile | undefined) => void>();
  private failed = false;
  private readonly fail = () => {
    this.failed = true;
    for (const resolve of this.waiting.values()) resolve(undefined);
    this.waiting.clear();
  };

  private constructor(
    private readonly worker: Worker,
    private readonly shared: Int32Array,
  ) {
    worker.on('message', (file: ParsedFile) => {
      const resolve = this.waiting.get(file.index);
      if (resolve) {
        this.waiting.delete(file.index);
        resolve(file);
      } else this.delivered.set(file.index, file);
    });
    worker.on('error', this.fail);
    worker.on('exit', this.fail);
  }

  /** Starts the thread, unless turned off or not bundled; undefined when no thread is to be had. */
  static start(): ParseWorker | undefined {
    if (process.env[WORKER_SWITCH] === 'off') return undefined;
    const script = workerScript();
    if (!script) return undefined;
    const shared = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
    const start: WorkerStart = { shared: shared.buffer as SharedArrayBuffer };
    try {
      // Required here, not imported: node:worker_threads costs ~1.5 ms to load, and few runs lint this much.
      const { Worker } = createRequire(import.meta.url)(
        'node:worker_threads',
      ) as typeof import('node:worker_threads');
      return new ParseWorker(new Worker(script, { workerData: start }), shared);
    } catch {
      return undefined; // no thread to be had: the main thread parses, as for a small lint
    }
  }

  /** Starts the thread when the .sql files of `dir` hold enough SQL for it to pay (a quick stat of each). */
  static startForFolder(dir: string): ParseWorker | undefined {
    if (process.env[WORKER_SWITCH] === 'off') return undefined;
    let bytes = 0;
    try {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        if (entry.isFile() && entry.name.endsWith('.sql')) bytes += statSync(join(dir, entry.name)).size;
        if (bytes >= MIN_BYTES) return ParseWorker.start();
      }
    } catch {
      // unreadable: discovery says why
    }
    return undefined;
  }

  /** Starts the thread when the files hold enough SQL for it to pay. */
  static startFor(migrations: Migration[]): ParseWorker | undefined {
    return sqlBytes(migrations) >= MIN_BYTES ? ParseWorker.start() : undefined;
  }

  /** Hands the files over; undefined (parse on the main thread) when they are too few to pay. */
  parseAhead(migrations: Migration[], local: () => Promise<PgParser>): ParseAhead | undefined {
    if (sqlBytes(migrations) < MIN_BYTES) return undefined;
    const files: WorkerFiles = {
      // A file the worker leaves to the main thread (too large) is not copied to it.
      files: migrations.map((m) => ({
        file: m.path,
        bytes: m.up.end - m.up.start > WORKER_MAX_FILE_BYTES ? undefined : m.up.source.bytes,
        start: m.up.start,
        end: m.up.end,
      })),
    };
    this.worker.postMessage(files);
    let loadingLocal: Promise<PgParser> | undefined;
    const localParser = () => (loadingLocal ??= local());
    let byWorker = 0;
    return {
      get byWorker() {
        return byWorker;
      },
      parserFor: async (index) => {
        Atomics.store(this.shared, CONSUMED, index);
        Atomics.notify(this.shared, CONSUMED);
        const file =
          this.delivered.get(index) ??
          (this.failed
            ? undefined
            : await new Promise<ParsedFile | undefined>((resolve) => this.waiting.set(index, resolve)));
        this.delivered.delete(index);
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
    };
  }

  async stop(): Promise<void> {
    this.worker.off('exit', this.fail);
    await this.worker.terminate();
  }
}

function sqlBytes(migrations: Migration[]): number {
  return migrations.reduce((sum, m) => sum + (m.up.end - m.up.start), 0);
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

const jsonText = new TextDecoder();

/**
 * Answers the parses the worker made, in the order it made them; from the first call that
 * differs (after a syntax error, the main thread parses other text), the main thread's parser.
 */
function replayParser(calls: RecordedParse[], fallback: PgParser): PgParser {
  let next = 0;
  const answer = (call: RecordedParse): ParseResult => {
    next++;
    if (call.error) throw Object.assign(new Error(call.error.message), { sqlDetails: call.error.sqlDetails });
    return JSON.parse(jsonText.decode(call.json)) as ParseResult;
  };
  return {
    // The usual call: a piece of the file, known by its place (its text is never decoded here).
    parseRange(source, start, end) {
      const call = calls[next];
      if (call?.range && call.range[0] === start && call.range[1] === end) return answer(call);
      next = calls.length;
      return fallback.parseRange?.(source, start, end) ?? fallback.parseSync(source.slice(start, end));
    },
    parseSync(sql) {
      const call = calls[next];
      if (call?.sql === sql) return answer(call);
      next = calls.length;
      return fallback.parseSync(sql);
    },
  };
}
