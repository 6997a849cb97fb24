import { describe, expect, it } from '@jest/globals';
import { loadBytesParser } from '../../src/migrations/byte-parser.js';
import { UNREAD_TYPES, withoutUnreadTrees as cutBytes } from '../../src/lint/unread-trees.js';

/** On text, for the tests: the worker cuts the JSON's bytes. */
const withoutUnreadTrees = (json: string): string => cutBytes(Buffer.from(json, 'utf8')).toString('utf8');

type Raw = { stmt: Record<string, unknown>; stmt_location?: number; stmt_len?: number };

// The parser's own JSON text, as the lint worker has it (byte-parser.ts).
const parser = loadBytesParser();
const parseSync = async (sql: string) => (await parser).parseToJson(Buffer.from(sql, 'utf8'));

describe('the linter drops the trees of statements it never reads', () => {
  it('keeps every statement, its type, place and length, and every other tree as it was', async () => {
    const sql = [
      'insert into t (a, b) values (1, \'{"stmt":{"x":1}}\'), (2, \',{"stmt":{"InsertStmt":\')',
      'create table t2 (id bigint primary key, note text)',
      'comment on table t2 is \'it\'\'s "stmt_location": here,"stmt_len":3}\'',
      'create trigger tr before insert on t2 for each row execute function f()',
      "insert into t2 select 1, 'x'",
      "create index on t2 (note) where note <> 'straße ✓ 日本'",
      'insert into t values (3)',
    ].join(';\n');
    const json = await parseSync(sql);
    const cut = withoutUnreadTrees(json);
    expect(cut.length).toBeLessThan(json.length);
    const before = JSON.parse(json) as { version: number; stmts: Raw[] };
    const after = JSON.parse(cut) as { version: number; stmts: Raw[] };
    expect(after.version).toBe(before.version);
    expect(after.stmts).toHaveLength(before.stmts.length);
    after.stmts.forEach((s, i) => {
      const [type, tree] = Object.entries(before.stmts[i].stmt)[0];
      expect(Object.keys(s.stmt)).toEqual([type]);
      expect(s.stmt_location).toBe(before.stmts[i].stmt_location);
      expect(s.stmt_len).toBe(before.stmts[i].stmt_len);
      expect(s.stmt[type]).toEqual((UNREAD_TYPES as readonly string[]).includes(type) ? {} : tree);
    });
    expect(after.stmts.map((s) => Object.keys(s.stmt)[0])).toEqual([
      'InsertStmt',
      'CreateStmt',
      'CommentStmt',
      'CreateTrigStmt',
      'InsertStmt',
      'IndexStmt',
      'InsertStmt',
    ]);
  });

  it('gives back the same string when there is nothing to drop, also for one statement alone', async () => {
    const json = await parseSync('create table a (id int); alter table a add column b int');
    expect(withoutUnreadTrees(json)).toBe(json);
    const bytes = Buffer.from(json);
    expect(cutBytes(bytes)).toBe(bytes); // the same buffer, not a copy
    const one = await parseSync('insert into a values (1)');
    expect(JSON.parse(withoutUnreadTrees(one))).toEqual({
      version: (JSON.parse(one) as { version: number }).version,
      stmts: [{ stmt: { InsertStmt: {} } }],
    });
  });

  it("drops CREATE TABLE's constraint expressions, and nothing else of it or of other statements", async () => {
    const sql = [
      `create table t (
         id bigint primary key,
         a int not null default 42 check (a > 0 and a < 100),
         b text default '}"raw_expr":{[' check (b <> '\\"}'),
         c int generated always as (a * 2) stored,
         constraint t_b check (char_length(b) < 10)
       )`,
      'alter table t add column d int default random()::int check (d is not null)',
      'create table u (x text default \'{"stmt":{"InsertStmt":\')',
    ].join(';\n');
    const json = await parseSync(sql);
    const cut = withoutUnreadTrees(json);
    const strip = (value: unknown): unknown =>
      Array.isArray(value)
        ? value.map(strip)
        : value && typeof value === 'object'
          ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, k === 'raw_expr' ? {} : strip(v)]))
          : value;
    const before = JSON.parse(json) as { stmts: Raw[] };
    const after = JSON.parse(cut) as { stmts: Raw[] };
    // CREATE TABLE: the same tree with every raw_expr emptied (four here); ALTER TABLE: untouched.
    expect(after.stmts[0]).toEqual(strip(before.stmts[0]));
    expect(after.stmts[2]).toEqual(strip(before.stmts[2]));
    expect(after.stmts[1]).toEqual(before.stmts[1]);
    const count = (text: string, pattern: RegExp) => (text.match(pattern) ?? []).length;
    const inAlter = count(JSON.stringify(before.stmts[1]), /"raw_expr":\{/g);
    expect(inAlter).toBeGreaterThan(0);
    expect(count(cut, /"raw_expr":\{\}/g)).toBe(count(json, /"raw_expr":\{/g) - inAlter);
    expect(JSON.stringify(after.stmts[0])).not.toEqual(JSON.stringify(before.stmts[0]));
  });

  it('stops with an error, not a loop without end, on JSON cut off inside a string', () => {
    const cut = Buffer.from(
      '{"version":1,"stmts":[{"stmt":{"CreateStmt":{"tableElts":[{"raw_expr":{"sval":"never closed',
    );
    expect(() => cutBytes(cut)).toThrow(/ends inside an object/);
  });
});
