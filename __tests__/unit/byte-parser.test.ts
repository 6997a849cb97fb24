/**
 * The migrations' parser (loadParser) calls libpg-query's WASM module through its byte interface
 * (src/migrations/byte-parser.ts), reading the module's C structs itself. It must answer exactly as
 * the library's own API does: the same trees, the same errors at the same positions, for text and
 * for byte ranges of a file.
 */
import { describe, expect, it } from '@jest/globals';
import * as lib from 'libpg-query';
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
});
