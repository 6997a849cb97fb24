/**
 * The migrations' parser (loadParser) calls libpg-query's WASM module through its byte interface
 * (src/migrations/byte-parser.ts), reading the module's C structs itself. It must answer exactly as
 * the library's own API does: the same trees, the same errors at the same positions, for text and
 * for byte ranges of a file.
 */
import { describe, expect, it } from '@jest/globals';
import * as lib from 'libpg-query';
import { loadBytesParser } from '../../src/migrations/byte-parser.js';
import { loadParser, type PgParseError } from '../../src/migrations/parser.js';
import { SourceText } from '../../src/migrations/source-text.js';

const PARSES = [
  'select 1',
  "create table t (id bigint primary key, note text default 'é;ü', at timestamptz default now());",
  "insert into t values (1, 'naïve 日本語 😀'), (2, E'a\\'b');\n-- a comment with ; inside\nselect 2;",
  'create function f() returns int language plpgsql as $$ begin return 1; end $$;',
  "alter table t add constraint c check (c > 0) not valid; comment on table t is 'x';",
  'begin; create index concurrently i on t (id); commit;',
  '/* only a comment */',
  '   \n\t',
];

const ERRORS = [
  'selec 1',
  "select 'naïve 日本語 😀' frm t",
  'create table (id int);',
  "insert into t values ('é', 'ü'",
  'select 1; select 2 from; select 3',
];

async function apiParse(sql: string): Promise<unknown> {
  await lib.loadModule();
  return lib.parseSync(sql);
}

function errorOf(fn: () => unknown): { message: string; cursorPosition?: number } {
  try {
    fn();
  } catch (error) {
    const { message, sqlDetails } = error as PgParseError;
    return { message, cursorPosition: sqlDetails?.cursorPosition };
  }
  throw new Error('expected a parse error');
}

describe('the migrations parser (byte interface)', () => {
  it('gives the trees the library API gives, for text and for a byte range of a file', async () => {
    const parser = await loadParser();
    for (const sql of PARSES) {
      const expected = await apiParse(sql);
      expect(parser.parseSync(sql)).toEqual(expected);
      // The same text inside a file, between other bytes (multi-byte ones included).
      const prefix = '-- préface 😀\n';
      const source = new SourceText(`${prefix}${sql}\n-- après`);
      const start = Buffer.byteLength(prefix, 'utf8');
      const end = start + Buffer.byteLength(sql, 'utf8');
      expect(parser.parseRange!(source, start, end)).toEqual(expected);
    }
  });

  it('throws the errors the library API throws: message and cursor position', async () => {
    const parser = await loadParser();
    await lib.loadModule();
    for (const sql of ERRORS) {
      const expected = errorOf(() => lib.parseSync(sql));
      expect(expected.cursorPosition).toEqual(expect.any(Number));
      expect(errorOf(() => parser.parseSync(sql))).toEqual(expected);
      const source = new SourceText(sql);
      expect(errorOf(() => parser.parseRange!(source, 0, source.bytes.length))).toEqual(expected);
    }
    // Positions count characters (code points), not bytes nor UTF-16 units: the error is at the
    // last one (`frm` reads as a column alias, then `t` is unexpected).
    const afterEmoji = errorOf(() => parser.parseSync(ERRORS[1]));
    expect(afterEmoji.cursorPosition).toBe(Array.from(ERRORS[1]).length - 1);
  });

  it('refuses an empty text as the library API does', async () => {
    const parser = await loadParser();
    await lib.loadModule();
    expect(errorOf(() => parser.parseSync('')).message).toBe(errorOf(() => lib.parseSync('')).message);
  });

  it('gives the JSON as bytes in a buffer of their own, which a message can transfer', async () => {
    const bytes = await loadBytesParser();
    const owns = (array: Uint8Array) =>
      array.byteOffset === 0 && array.byteLength === array.buffer.byteLength;
    const first = bytes.parseToJsonBytes(Buffer.from(PARSES[2], 'utf8'));
    const firstText = Buffer.from(first).toString('utf8');
    // The text parseToJson gives (multi-byte characters included), and the tree the API gives.
    expect(firstText).toBe(bytes.parseToJson(Buffer.from(PARSES[2], 'utf8')));
    expect(JSON.parse(firstText)).toEqual(await apiParse(PARSES[2]));
    expect(owns(first)).toBe(true);
    // Copied out of the module's memory: the next parse, which reuses it, leaves it as it was.
    bytes.parseToJsonBytes(Buffer.from(PARSES[1], 'utf8'));
    expect(Buffer.from(first).toString('utf8')).toBe(firstText);

    // What `keep` returns: a slice of another buffer (Buffer's small-allocation pool) is copied
    // into one of its own; an array that owns its buffer is handed back as it is.
    const sql = Buffer.from(PARSES[0], 'utf8');
    const pooled = bytes.parseToJsonBytes(sql, (json) => Buffer.from(json.toString('latin1'), 'latin1'));
    expect(owns(pooled)).toBe(true);
    expect(Buffer.from(pooled).toString('utf8')).toBe(bytes.parseToJson(sql));
    let whole: Uint8Array | undefined;
    const handedBack = bytes.parseToJsonBytes(sql, (json) => (whole = new Uint8Array(json)));
    expect(handedBack).toBe(whole);

    // A transfer moves the bytes: the sender's view is emptied, the receiver's holds them.
    const moved = structuredClone(first, { transfer: [first.buffer as ArrayBuffer] });
    expect(first.byteLength).toBe(0);
    expect(Buffer.from(moved).toString('utf8')).toBe(firstText);
  });
});
