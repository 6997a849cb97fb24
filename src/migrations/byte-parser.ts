import { join } from 'node:path';
// libpg-query's WASM module itself (the factory its own API is built on), not its API: see below.
import PgQueryModule from 'libpg-query/wasm/libpg-query.js';
import type { PgParseError } from './parser.js';
import { prepareWasmLoad } from './wasm-load.js';

/**
 * The parser, called with bytes (parser.ts builds the PgParser on it; the lint worker calls it
 * directly). libpg-query's `parseSync` takes a string: its glue encodes it into the module's memory
 * and reads the JSON back by scanning for its end, both in JavaScript loops (~70 ms of the lint
 * worker's time on a long history, ~25 ms of a 500-file apply's lint), after the caller had
 * decoded a file's bytes into that string. Here the bytes are copied in as they are (a file's bytes
 * are UTF-8 without NUL, read-sql.ts) and the end is found natively. The result is what
 * `parseSync` parses: the parse tree's JSON text, and the same error (message, 0-based cursor
 * position) for a syntax error.
 *
 * This reads the module's C interface: `wasm_parse_query_raw` and its result struct (tree, stderr,
 * error) and error struct (message, funcname, filename, lineno, cursorpos), as libpg-query's own
 * wrapper does. A test (byte-parser.test.ts) compares trees and errors with the library's API over
 * a corpus, so a change of that layout, or of what the API returns, fails it.
 */
export interface BytesParser {
  /**
   * The parse tree of `sql` as JSON text; throws the parser's error for a syntax error. `keep`
   * may cut the JSON's bytes (still in the module's memory) before they are decoded.
   */
  parseToJson(sql: Uint8Array, keep?: (json: Buffer) => Uint8Array): string;
  /**
   * The same JSON as UTF-8 bytes in an ArrayBuffer of their own, never decoded here: the lint
   * worker hands them to the main thread by transfer, and the main thread decodes them right
   * before JSON.parse. A transferred buffer lives outside the JavaScript heap; the strings the
   * worker used to send were copied, then lived on the main thread's young heap until their file
   * came up, where every collection copied them again (on the bench's long history: ~6 % of a
   * lint's CPU time). `keep` returns its input or an array owning its whole buffer (else copied).
   */
  parseToJsonBytes(sql: Uint8Array, keep?: (json: Buffer) => Uint8Array): Uint8Array;
}

interface PgQueryWasm {
  HEAPU8: Uint8Array;
  _malloc(size: number): number;
  _free(pointer: number): void;
  _wasm_parse_query_raw(query: number): number;
  _wasm_free_parse_result(result: number): void;
  getValue(pointer: number, type: 'i32'): number;
  UTF8ToString(pointer: number): string;
}

export async function loadBytesParser(): Promise<BytesParser> {
  const dir = await prepareWasmLoad();
  const wasm = (await PgQueryModule(
    dir ? { locateFile: (file: string) => join(dir, file) } : {},
  )) as PgQueryWasm;
  const decoder = new TextDecoder();
  /** Calls `read` with the JSON of `sql`'s tree while it is in the module's memory. */
  const withTree = <T>(sql: Uint8Array, read: (json: Buffer) => T): T => {
    const input = wasm._malloc(sql.length + 1);
    if (!input) throw new Error('The SQL parser is out of memory');
    let result = 0;
    try {
      wasm.HEAPU8.set(sql, input);
      wasm.HEAPU8[input + sql.length] = 0;
      result = wasm._wasm_parse_query_raw(input);
      if (!result) throw new Error('Failed to parse query: memory allocation failed');
      const tree = wasm.getValue(result, 'i32');
      const error = wasm.getValue(result + 8, 'i32');
      if (error) {
        const messageAt = wasm.getValue(error, 'i32');
        const message = messageAt ? wasm.UTF8ToString(messageAt) : 'Unknown error';
        const cursor = wasm.getValue(error + 16, 'i32');
        throw Object.assign(new Error(message), {
          sqlDetails: { message, cursorPosition: cursor > 0 ? cursor - 1 : 0 },
        }) as PgParseError;
      }
      if (!tree) throw new Error('No parse tree generated');
      // The memory may have grown during the parse: its current view.
      const heap = wasm.HEAPU8;
      return read(Buffer.from(heap.buffer, heap.byteOffset + tree, heap.indexOf(0, tree) - tree));
    } finally {
      wasm._free(input);
      if (result) wasm._wasm_free_parse_result(result);
    }
  };
  return {
    parseToJson: (sql, keep) => withTree(sql, (json) => decoder.decode(keep ? keep(json) : json)),
    parseToJsonBytes: (sql, keep) =>
      withTree(sql, (json) => {
        const kept = keep ? keep(json) : json;
        // The module's memory (or a slice of a shared pool) is copied out; a whole array is not.
        const owned =
          kept.buffer !== json.buffer && kept.byteOffset === 0 && kept.byteLength === kept.buffer.byteLength;
        return owned ? kept : new Uint8Array(kept);
      }),
  };
}
