/**
 * Another session's query as reports show it: no literal value survives, whether the text parses
 * (libpg-query's normaliser plus our masking) or not (cut off by track_activity_query_size, or no
 * parser at hand: our masking alone).
 */
import { describe, expect, it } from '@jest/globals';
import { maskLiterals, normaliseQueryText, QUERY_TEXT_LIMIT } from '../../src/engine/query-text.js';

const noParser = () => Promise.reject(new Error('no parser'));

/** Both paths: with the real parser, and with our own masking only. */
async function both(sql: string): Promise<string[]> {
  return [await normaliseQueryText(sql), await normaliseQueryText(sql, noParser)];
}

describe('normaliseQueryText', () => {
  it('replaces a string constant by a placeholder and keeps the shape of the query', async () => {
    expect(await both("select * from t where email = 'alice@example.com'")).toEqual([
      'select * from t where email = $1',
      'select * from t where email = $1',
    ]);
  });

  it.each([
    ['a plain string', "select 'Zq9Wv'"],
    ['a doubled quote inside a string', "select 'O''Zq9Wv'"],
    ['an escape string', "select E'line\\nZq9Wv'"],
    ['an escape string with an escaped quote', "select E'it\\'s Zq9Wv'"],
    ['a dollar-quoted string', 'select $$Zq9Wv$$'],
    ['a tagged dollar-quoted string', 'select $body$ it is $$ Zq9Wv $body$'],
    ['a bit string', "select B'1011' as Zq, X'9F' as Wv"],
    ['a national string', "select N'Zq9Wv'"],
    ['a Unicode string', "select U&'Zq9\\0057v'"],
    ['a string in a utility statement (kept by the parser)', "create table t (a text default 'Zq9Wv')"],
    ['a COPY path (kept by the parser)', "copy t from '/home/Zq9Wv.csv'"],
    ['a block comment', 'select 1 /* for Zq9Wv /* nested */ */ from t'],
    ['a line comment', 'select 1 from t -- Zq9Wv\nwhere true'],
    ['a typed constant', "select interval '9 Zq9Wv', date '2024-01-01'"],
  ])('leaves no literal of %s', async (_what, sql) => {
    for (const out of await both(sql)) {
      expect(out).not.toMatch(/Zq9Wv|9Wv|Zq9/);
      expect(out).toMatch(/\$\d/);
    }
  });

  it('replaces numbers of every notation, and keeps digits that belong to names', async () => {
    const sql = 'select t1.col_2, 42, -7, 3.14, .5, 6.02e23, 1e-9, 0x1F, 0o17, 0b101, 1_000_000 from t1';
    for (const out of await both(sql)) {
      expect(out.replace(/\$\d+|t1|col_2/g, '')).not.toMatch(/[0-9]/);
      expect(out).toContain('t1.col_2');
      expect(out).toMatch(/from t1$/);
    }
  });

  it('keeps the parameters of a prepared statement and numbers its own placeholders after them', async () => {
    expect(await normaliseQueryText("select * from t where a = $1 and b = 'x'", noParser)).toBe(
      'select * from t where a = $1 and b = $2',
    );
  });

  it('hides a password given to ALTER ROLE and CREATE USER', async () => {
    for (const sql of [
      "ALTER ROLE app WITH PASSWORD 'hunter2-S3cret!'",
      "create user reporting password 'hunter2-S3cret!' valid until '2030-01-01'",
      "alter role app password E'hunter2-S3cret!\\''",
    ]) {
      for (const out of await both(sql)) {
        expect(out).not.toContain('hunter2');
        expect(out).not.toContain('S3cret');
      }
    }
  });

  it('masks everything from an ambiguous string on: a backslash before a quote reads two ways', async () => {
    // With standard_conforming_strings on, 'it\' ends at the backslash and the e-mail is outside
    // any literal; with it off, it is inside one. Either reading must hide it.
    const sql = "select 'it\\'s', 'alice@example.com', 'x'";
    for (const out of await both(sql)) expect(out).not.toContain('alice');
  });

  it('masks a query cut off inside a literal, a dollar quote or a comment (track_activity_query_size)', async () => {
    for (const sql of [
      "select * from t where email = 'alice@exa",
      'select $fn$ begin perform alice_secret',
      "insert into t values (1, 'a'), (2, 'alice@exa",
      'select 1 /* alice@exa',
    ]) {
      for (const out of await both(sql)) {
        expect(out).not.toContain('alice');
        expect(out.length).toBeLessThanOrEqual(QUERY_TEXT_LIMIT);
      }
    }
  });

  it('never shows any part of a literal, wherever the text is cut', async () => {
    const queries = [
      "update customers set email = 'Zq9Wv@example.com', note = E'Zq9Wv\\'s' where id = 987654",
      'select $tag$Zq9Wv$tag$, $$Zq9Wv$$ from t where x = 987654',
      "select * from t where name = 'Zq9Wv' /* Zq9Wv */ and n = 987654.5e3 -- Zq9Wv",
    ];
    for (const sql of queries) {
      for (let cut = 1; cut <= sql.length; cut++) {
        for (const out of await both(sql.slice(0, cut))) {
          expect(out).not.toMatch(/Zq|9W|Wv|98/);
        }
      }
    }
  });

  it('keeps non-ASCII names and hides non-ASCII constants', async () => {
    const sql = 'select "Kundenstraße", 名前 from "Bestellungen" where name = \'Jürgen Müller 日本\'';
    for (const out of await both(sql)) {
      expect(out).toBe('select "Kundenstraße", 名前 from "Bestellungen" where name = $1');
    }
  });

  it('cuts a long query to the report limit, on a character boundary, and marks the cut', async () => {
    const columns = Array.from({ length: 80 }, (_, i) => `"spalte_${i}_😀"`).join(', ');
    for (const out of await both(`select ${columns} from t where a = 'secret'`)) {
      expect(Array.from(out)).toHaveLength(QUERY_TEXT_LIMIT);
      expect(out.endsWith('…')).toBe(true);
      expect(out).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/); // no half of a surrogate pair
      expect(out).not.toContain('secret');
    }
  });

  it('collapses whitespace and drops comments in the masking alone', () => {
    expect(maskLiterals("  select\n\t a -- c\n from /* x */ t\nwhere b = 'y'  ")).toBe(
      'select a from t where b = $1',
    );
  });
});
