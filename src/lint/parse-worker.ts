/**
 * The lint parse worker (bundled on its own as dist/lint-worker/index.js; started by
 * parse-ahead.ts). It parses the migration files in order, ahead of the linter on the main
 * thread, with its own copy of the parser and exactly as the main thread would (parseInPieces,
 * piece by piece), and hands back every parse it made as the parser's JSON (its UTF-8 bytes, by
 * transfer): the main thread then only decodes and reads the JSON, and the parsing (the larger part
 * of a lint) runs on a second core.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { parseInPieces, piecesOf } from '../migrations/parse-pieces.js';
import type { PgParseError, PgParser } from '../migrations/parser.js';
import { SourceText } from '../migrations/source-text.js';
import { loadBytesParser } from '../migrations/byte-parser.js';
import { withoutUnreadTrees } from './unread-trees.js';
import type { Piece } from '../migrations/sql-pieces.js';
import {
  AHEAD_BYTES,
  CONSUMED,
  WORKER_MAX_FILE_BYTES,
  type ParsedFile,
  type RecordedParse,
  type WorkerFiles,
  type WorkerStart,
} from './parse-protocol.js';

const shared = new Int32Array((workerData as WorkerStart).shared);
const port = parentPort!;
// The parser loads while the main thread reads the files; then they come, in one message.
const [parser, input] = await Promise.all([
  loadBytesParser(),
  new Promise<WorkerFiles>((resolve) => port.once('message', resolve)),
]);

// Source bytes before each file: how far ahead of the main thread the worker is.
const before = [0];
for (const file of input.files) before.push(before[before.length - 1] + (file.end - file.start));

for (let index = 0; index < input.files.length; index++) {
  waitWhileFarAhead(index);
  const parsed = parseFile(index);
  // The JSON's buffers move to the main thread (transfer): nothing is copied.
  port.postMessage(
    parsed,
    parsed.calls.flatMap((call) => (call.json ? [call.json.buffer as ArrayBuffer] : [])),
  );
}

/**
 * Parses up to AHEAD_BYTES of source beyond the file the main thread is linting, at least one
 * file: the JSON of what the main thread has not read yet stays bounded.
 */
function waitWhileFarAhead(next: number): void {
  for (;;) {
    const consumed = Atomics.load(shared, CONSUMED);
    if (next <= consumed + 1 || before[next] - before[consumed] <= AHEAD_BYTES) return;
    // Woken when the main thread moves on; the timeout only guards against a missed wake-up.
    Atomics.wait(shared, CONSUMED, consumed, 100);
  }
}

function parseFile(index: number): ParsedFile {
  const { file, bytes, start, end } = input.files[index];
  // A file this large is parsed piece by piece on the main thread, as without a worker: its
  // whole parse tree at once (~6 times its size as JSON) is what the pieces exist to avoid.
  if (!bytes || end - start > WORKER_MAX_FILE_BYTES) return { index, calls: [], clean: false };
  const calls: RecordedParse[] = [];
  let pieces: Piece[] | undefined;
  const source = new SourceText(undefined, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  const record = (call: { range: [number, number] } | { sql: string }, sql: Uint8Array) => {
    try {
      // The trees no rule reads are dropped here, on the worker, not read on the linter's thread.
      const json = parser.parseToJsonBytes(sql, withoutUnreadTrees);
      calls.push({ ...call, json });
      return { stmts: [] };
    } catch (error) {
      const { message, sqlDetails } = error as PgParseError;
      calls.push({ ...call, error: { message, sqlDetails } });
      throw error;
    }
  };
  const recorder: PgParser = {
    // Cut once, here, and handed over with the parses.
    knownPieces: (from, to) =>
      from === start && to === end && !pieces ? (pieces = [...piecesOf(source, from, to)]) : undefined,
    // The worker never reads the tree (the main thread does), so nothing more is parsed here.
    parseRange: (text, from, to) => record({ range: [from, to] }, text.bytes.subarray(from, to)),
    parseSync: (sql) => record({ sql }, Buffer.from(sql, 'utf8')),
  };
  try {
    for (const raw of parseInPieces(recorder, source, start, end, file).stmts) void raw;
    return { index, calls, pieces, clean: true };
  } catch {
    // A syntax error or a psql feature: the main thread parses what follows it itself (the
    // recorded calls still answer the ones it repeats).
    return { index, calls, clean: false };
  }
}
