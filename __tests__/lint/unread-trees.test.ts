import { describe, expect, it } from '@jest/globals';
import { loadBytesParser } from '../../src/lint/byte-parser.js';
import { UNREAD_TYPES, withoutUnreadTrees } from '../../src/lint/unread-trees.js';

type Raw = { stmt: Record<string, unknown>; stmt_location?: number; stmt_len?: number };

// The parser's own JSON text, as the lint worker has it (byte-parser.ts).
const parser = loadBytesParser();
const parseSync = async (sql: string) => (await parser).parseToJson(Buffer.from(sql, 'utf8'));

describe('the linter drops the trees of statements it never reads', () => {
  it('keeps every statement, its type, place and length, and every other tree as it was', async () => {
    const sql = [
      "insert into t (a, b) values (1, '{\"stmt\":{\"x\":1}}'), (2, ',{\"stmt\":{\"InsertStmt\":')",
      'create table t2 (id bigint primary key, note text)',
      "comment on table t2 is 'it''s \"stmt_location\": here,\"stmt_len\":3}'",
      'create trigger tr before insert on t2 for each row execute function f()',
      "insert into t2 select 1, 'x'",
      'create index on t2 (note)',
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
    const one = await parseSync('insert into a values (1)');
    expect(JSON.parse(withoutUnreadTrees(one))).toEqual({
      version: (JSON.parse(one) as { version: number }).version,
      stmts: [{ stmt: { InsertStmt: {} } }],
    });
  });
});
