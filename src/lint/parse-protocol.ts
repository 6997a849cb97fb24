import type { Piece } from '../migrations/sql-pieces.js';

/** What the linter's main thread and its parse worker (parse-ahead.ts, parse-worker.ts) exchange. */

/** The one slot of the shared Int32Array: the file the main thread is linting (the worker waits when it is too far ahead of it). */
export const CONSUMED = 0;

/** How much source the worker parses beyond the main thread's file (their JSON is ~6 times that). */
export const AHEAD_BYTES = 4 * 1024 * 1024;

/** Larger files are left to the main thread, which parses them piece by piece in bounded memory. */
export const WORKER_MAX_FILE_BYTES = 1024 * 1024;

/** The worker's workerData: it starts (and loads its parser) before the files are read. */
export interface WorkerStart {
  /** One Int32 slot: CONSUMED. */
  shared: SharedArrayBuffer;
}

/**
 * The one message the worker gets: the up section start..end of every file, in lint order, with
 * the file's bytes (offsets count from its start; the worker decodes what it parses); no bytes for
 * a file it leaves to the main thread.
 */
export interface WorkerFiles {
  files: Array<{ file: string; bytes?: Uint8Array; start: number; end: number }>;
}

/**
 * One call the worker made to the parser: which text (a byte range of the file, or for the rare
 * call with text of its own, that text) and the JSON it gave (UTF-8, in a buffer of its own that
 * the message transfers), or its error.
 */
export type RecordedParse = (
  { range: [number, number]; sql?: undefined } | { sql: string; range?: undefined }
) &
  (
    | { json: Uint8Array; error?: undefined }
    | {
        json?: undefined;
        error: { message: string; sqlDetails?: { cursorPosition: number; message: string } };
      }
  );

export interface ParsedFile {
  index: number;
  calls: RecordedParse[];
  /** The pieces the worker cut the up section into (the main thread need not cut them again). */
  pieces?: Piece[];
  /**
   * Every piece parsed: the main thread's parses of the file are exactly `calls`, in order. When
   * false (a syntax error, a psql feature, a file left to the main thread), it makes others too.
   */
  clean: boolean;
}
