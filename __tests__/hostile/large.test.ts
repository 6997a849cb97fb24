import { describe, expect, it } from '@jest/globals';
import { rmSync } from 'node:fs';
import { loadParser, type PgParser } from '../../src/migrations/parser.js';
import { MAX_FILE_BYTES } from '../../src/migrations/limits.js';
import { SourceText } from '../../src/migrations/source-text.js';
import { MAX_STATEMENT_BYTES, PIECE_BYTES } from '../../src/migrations/sql-pieces.js';
import { splitStatementsWith } from '../../src/migrations/statements.js';
import { databaseState, databasesFor, query, testServers, ADVISORY_LOCKS } from '../helpers/db.js';
import { migrationsDir } from '../helpers/migrations.js';
import { runGuard } from '../helpers/run.js';

/**
 * Issue 12, item 8: a 50 MB data file crashed the parser ("SQL syntax error: Program terminated
 * with exit(1)") because it was parsed whole. The suite applies a file as large as its time budget
 * allows (~10 MB, ~55,000 INSERTs); bench/large-files.mjs measures 25, 50 and 100 MB.
 */
const TARGET_BYTES = 10 * 1024 * 1024;

/** One INSERT per row, with `;`, quotes, comments and dollar quotes inside its values. */
function row(id: number): string {
  const note = id % 7 === 0 ? `café ☕ n°${id}; it''s fine` : `it''s; row ${id} -- not a comment`;
  const payload = id % 3 === 0 ? `$p$ {"id": ${id}; "x": "$ not a tag"} $p$` : `'/* not a comment ${id} */'`;
  const comment = id % 1000 === 0 ? `-- batch ${id / 1000}; so far ${id}\n/* block; /* nested; */ */\n` : '';
  return `${comment}insert into big_data (id, note, tags, payload) values (${id}, '${note}', E'tab\\t; \\'q\\' ${id}', ${payload});\n`;
}

function largeFile(): { text: string; rows: number } {
  const parts = ['create table big_data (id bigint primary key, note text, tags text, payload text);\n'];
  let size = parts[0].length;
  let rows = 0;
  while (size < TARGET_BYTES) {
    const line = row(++rows);
    parts.push(line);
    size += Buffer.byteLength(line);
  }
  return { text: parts.join(''), rows };
}

const LARGE = largeFile();
/** Advisory locks held in the test's database (other test files run beside this one). */
const LARGE_FILE = '20240101000000_large_data.sql';

/** A parser that remembers the largest text it was handed, and how many times it was called. */
function measuringParser(inner: PgParser) {
  const seen = { calls: 0, largest: 0 };
  const parser: PgParser = {
    parseSync: (sql) => {
      seen.calls++;
      seen.largest = Math.max(seen.largest, Buffer.byteLength(sql));
      return inner.parseSync(sql);
    },
  };
  return { seen, parser };
}

describe('a large data file, split', () => {
  it('is handed to the parser in bounded pieces, and split into exactly its statements', async () => {
    const { seen, parser } = measuringParser(await loadParser());
    const source = new SourceText(LARGE.text);
    const { statements } = splitStatementsWith(parser, source, 0, source.byteLength, LARGE_FILE);
    // Never more than one piece plus the statement that completes it (a row is < 300 bytes).
    expect(seen.largest).toBeLessThanOrEqual(PIECE_BYTES + 300);
    expect(seen.calls).toBeGreaterThanOrEqual(Math.floor(source.byteLength / (PIECE_BYTES + 300)));
    expect(statements).toHaveLength(LARGE.rows + 1);
    expect(statements[0].nodeType).toBe('CreateStmt');
    expect(statements.slice(1).every((s) => s.nodeType === 'InsertStmt')).toBe(true);
    for (const id of [1, 21, 1000, 1001, LARGE.rows]) {
      const expected = row(id)
        .replace(/^(--[^\n]*\n|\/\*.*\*\/\n)*/, '')
        .replace(/;\n$/, '');
      expect(statements[id].sql).toBe(expected);
    }
    // Positions stay exact far into the file (line = id + 1 while no batch comment came before).
    expect([statements[999].line, statements[999].column]).toEqual([1000, 1]);
  });
});

describe.each(testServers())('large files on $name', (server) => {
  const newDb = databasesFor(server);

  it.each(['all', 'per-file'])(
    'applies a ~10 MB file of ~55,000 INSERTs (transaction-mode %s), with its whole history row',
    async (mode) => {
      const db = await newDb();
      const dir = migrationsDir({ [LARGE_FILE]: LARGE.text });
      try {
        const { result } = await runGuard('apply', db.url, dir, { 'transaction-mode': mode });
        expect(result.message).toBe('Applied 1 migration(s).');
        expect(result.status).toBe('success');
        expect(result.migrations.map((m) => [m.version, m.status, m.statements])).toEqual([
          ['20240101000000', 'applied', LARGE.rows + 1],
        ]);
        const [table] = await query(
          db.url,
          "select count(*)::int as rows, sum(id)::text as ids, (select note || '|' || tags || '|' || payload from big_data where id = 21) as sample from big_data",
        );
        expect(table).toEqual({
          rows: LARGE.rows,
          ids: String((LARGE.rows * (LARGE.rows + 1)) / 2),
          sample: `café ☕ n°21; it's fine|tab\t; 'q' 21| {"id": 21; "x": "$ not a tag"} `,
        });
        const [history] = await query(
          db.url,
          'select version, name, cardinality(statements) as n, statements[1] as first, statements[1001] as batch, statements[cardinality(statements)] as last from supabase_migrations.schema_migrations',
        );
        expect(history).toEqual({
          version: '20240101000000',
          name: 'large_data',
          n: LARGE.rows + 1,
          first: 'create table big_data (id bigint primary key, note text, tags text, payload text)',
          // The Supabase CLI keeps a statement's leading comments in the history: so do we.
          batch: row(1000).replace(/;\n$/, ''),
          last: row(LARGE.rows).replace(/;\n$/, ''),
        });
        expect(await query(db.url, 'select status, applied from migration_guard.runs')).toEqual([
          { status: 'success', applied: ['20240101000000'] },
        ]);
        expect(await query(db.url, ADVISORY_LOCKS)).toEqual([{ n: 0 }]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  it('refuses a file above the size limit before anything runs, with the limit and the reason', async () => {
    const db = await newDb();
    const before = await databaseState(db.url);
    // Cheap to write: the limit is checked on the file's size, before any parsing.
    const line = 'insert into never_created values (1);\n';
    const text = `create table never_created (id int);\n${line.repeat(Math.ceil((MAX_FILE_BYTES + 1) / line.length))}`;
    const dir = migrationsDir({ '1_first.sql': 'create table first_file (id int);', '2_huge.sql': text });
    try {
      for (const command of ['apply', 'plan']) {
        const { result } = await runGuard(command, db.url, dir);
        expect(result.status).toBe('failed');
        expect(result.error).toMatchObject({ file: expect.stringContaining('2_huge.sql') });
        expect(result.message).toMatch(
          /2_huge\.sql: The file is \d{9} bytes, larger than the 134217728 bytes \(128 MB\) a migration file may have: applying it takes about 11 times its size in memory/,
        );
        expect(result.message).toMatch(/history row that keeps every statement's text/);
      }
      // Not even the first, small file ran: the check comes before anything does.
      expect(await databaseState(db.url)).toEqual(before);
      expect(
        await query(
          db.url,
          "select nspname from pg_namespace where nspname in ('supabase_migrations', 'migration_guard')",
        ),
      ).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses one statement larger than the parser can take, naming its line, the limit and the reason', async () => {
    const db = await newDb();
    const before = await databaseState(db.url);
    const values = Array.from({ length: Math.ceil(MAX_STATEMENT_BYTES / 12) }, (_, i) => `(${i}, 'v${i}')`);
    const dir = migrationsDir({
      '1_first.sql': 'create table first_file (id int);',
      '2_one_huge_insert.sql': `create table t (id int, v text);\n\ninsert into t values\n${values.join(',\n')};\n`,
    });
    try {
      const { result } = await runGuard('apply', db.url, dir);
      expect(result.status).toBe('failed');
      expect(result.error).toMatchObject({
        file: expect.stringContaining('2_one_huge_insert.sql'),
        line: 3,
        column: 1,
      });
      expect(result.message).toMatch(
        /2_one_huge_insert\.sql:3:1: Statement of \d+(\.\d)? MB is larger than the 8 MB a single statement may have: the SQL parser needs about 65 times a statement's size in memory/,
      );
      expect(result.message).not.toMatch(/Program terminated|syntax error/);
      expect(await databaseState(db.url)).toEqual(before);
      expect(await query(db.url, ADVISORY_LOCKS)).toEqual([{ n: 0 }]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
