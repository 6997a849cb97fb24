import { describe, expect, it } from '@jest/globals';
import { GuardError } from '../../src/errors.js';
import { SourceText } from '../../src/migrations/source-text.js';
import { splitStatements } from '../../src/migrations/statements.js';

const FILE = 'supabase/migrations/1_test.sql';

function split(text: string) {
  const source = new SourceText(text);
  return splitStatements(source, 0, source.bytes.length, FILE);
}

async function failure(text: string): Promise<GuardError> {
  try {
    await split(text);
  } catch (error) {
    expect(error).toBeInstanceOf(GuardError);
    return error as GuardError;
  }
  throw new Error('splitStatements accepted the SQL');
}

describe('splitStatements', () => {
  it('splits plain statements and drops the semicolons', async () => {
    const { statements, wrapped } = await split('create table a (id int);\ncreate table b (id int);\n');
    expect(wrapped).toBe(false);
    expect(statements.map((s) => s.sql)).toEqual(['create table a (id int)', 'create table b (id int)']);
    expect(statements.map((s) => s.nodeType)).toEqual(['CreateStmt', 'CreateStmt']);
  });

  it('keeps a function body with a named dollar quote and inner semicolons in one statement', async () => {
    const fn = [
      'create function touch() returns trigger language plpgsql as $fn$',
      'begin',
      '  new.updated_at := now();',
      "  raise notice 'done; really';",
      '  return new;',
      'end;',
      '$fn$',
    ].join('\n');
    const { statements } = await split(`${fn};\nselect 1;`);
    expect(statements).toHaveLength(2);
    expect(statements[0].sql).toBe(fn);
    expect(statements[0].nodeType).toBe('CreateFunctionStmt');
    expect(statements[1].sql).toBe('select 1');
  });

  it('keeps a DO block in one statement', async () => {
    const block = "do $$\nbegin\n  perform 1;\n  if true then raise notice 'x;y'; end if;\nend\n$$";
    const { statements } = await split(`${block};\nselect 2;`);
    expect(statements.map((s) => s.sql)).toEqual([block, 'select 2']);
    expect(statements[0].nodeType).toBe('DoStmt');
  });

  it('does not split at semicolons inside strings, quoted identifiers or comments', async () => {
    const text = [
      "insert into t (v) values ('a;b', E'c\\';d');",
      '-- a comment; with a semicolon',
      'select "odd;name" from t /* block; comment */ where true;',
    ].join('\n');
    const { statements } = await split(text);
    expect(statements.map((s) => s.sql)).toEqual([
      "insert into t (v) values ('a;b', E'c\\';d')",
      'select "odd;name" from t /* block; comment */ where true',
    ]);
  });

  it('gives each statement its 1-based line and column', async () => {
    const { statements } = await split('select 1;\n\n  select 2; select 3;\n');
    expect(statements.map((s) => [s.line, s.column])).toEqual([
      [1, 1],
      [3, 3],
      [3, 13],
    ]);
  });

  it('counts columns in characters (code points) after a multi-byte string on the same line', async () => {
    const { statements } = await split("select 'é'; select '😀'; select 3;");
    expect(statements.map((s) => s.sql)).toEqual(["select 'é'", "select '😀'", 'select 3']);
    // "select 'é'; " and "select '😀'; " are 12 characters each, though 13 and 15 bytes.
    expect(statements.map((s) => [s.line, s.column])).toEqual([
      [1, 1],
      [1, 13],
      [1, 25],
    ]);
    expect(statements[1].startByte).toBe(Buffer.byteLength("select 'é'; "));
  });

  it('keeps line numbers right after multi-byte text on earlier lines', async () => {
    const { statements } = await split("-- café ☕\ncomment on table t is 'ünïcode';\n  select 1;");
    expect(statements.map((s) => [s.line, s.column])).toEqual([
      [2, 1],
      [3, 3],
    ]);
  });

  it('handles CRLF line endings: right lines and no carriage return in the SQL', async () => {
    const { statements } = await split('select 1;\r\n\r\nselect 2;\r\n  select\r\n  3;\r\n');
    expect(statements.map((s) => [s.line, s.column])).toEqual([
      [1, 1],
      [3, 1],
      [4, 3],
    ]);
    expect(statements[1].sql).toBe('select 2');
    expect(statements[2].sql).toBe('select\r\n  3');
  });

  it('keeps the comments before a statement in its history text, as the Supabase CLI does', async () => {
    const { statements } = await split(
      '-- Users\ncreate table users (id int);\n\n-- Keeps it honest.\n/* really */\nselect 1;\n',
    );
    expect(statements.map((s) => s.historyText)).toEqual([
      '-- Users\ncreate table users (id int)',
      '-- Keeps it honest.\n/* really */\nselect 1',
    ]);
    expect(statements.map((s) => s.sql)).toEqual(['create table users (id int)', 'select 1']);
    expect(statements[0].line).toBe(2);
    expect(statements[1].line).toBe(6);
  });

  it.each([
    ['create index concurrently i on t (a)', 'CREATE INDEX CONCURRENTLY'],
    ['create unique index concurrently if not exists i on t (a)', 'CREATE INDEX CONCURRENTLY'],
    ['drop index concurrently i', 'DROP INDEX CONCURRENTLY'],
    ['drop index concurrently if exists i', 'DROP INDEX CONCURRENTLY'],
    ['reindex index concurrently i', 'REINDEX CONCURRENTLY'],
    ['reindex (concurrently) table t', 'REINDEX CONCURRENTLY'],
    ['reindex database postgres', 'REINDEX DATABASE/SYSTEM'],
    ['vacuum t', 'VACUUM'],
    ['vacuum (analyze) t', 'VACUUM'],
    ["alter system set work_mem = '64MB'", 'ALTER SYSTEM'],
    ['create database other', 'CREATE DATABASE'],
    ['drop database other', 'DROP DATABASE'],
    ['alter table p detach partition p1 concurrently', 'ALTER TABLE … DETACH PARTITION CONCURRENTLY'],
  ])('marks "%s" as not runnable in a transaction (%s)', async (sql, reason) => {
    const { statements } = await split(`${sql};`);
    expect(statements).toHaveLength(1);
    expect(statements[0].nonTransactional).toBe(reason);
  });

  it.each([
    ['create index i on t (a)'],
    ['drop index i'],
    ['reindex index i'],
    ['analyze t'],
    ['alter table p detach partition p1'],
    ['create table t (id int)'],
    ["alter type mood add value 'happy'"],
  ])('lets "%s" run inside the transaction', async (sql) => {
    const { statements } = await split(`${sql};`);
    expect(statements).toHaveLength(1);
    expect(statements[0].nonTransactional).toBeUndefined();
  });

  it('detects a new enum value with its type, qualified or not', async () => {
    const { statements } = await split(
      "alter type mood add value 'happy';\nalter type public.mood add value if not exists 'sad' after 'happy';\nselect 1;",
    );
    expect(statements.map((s) => s.addsEnumValue)).toEqual([
      { type: 'mood', value: 'happy' },
      { type: 'public.mood', value: 'sad' },
      undefined,
    ]);
  });

  it('unwraps a file wrapped in its own BEGIN; … COMMIT;', async () => {
    const { statements, wrapped } = await split(
      'begin;\ncreate table a (id int);\ncreate table b (id int);\ncommit;\n',
    );
    expect(wrapped).toBe(true);
    expect(statements.map((s) => s.sql)).toEqual(['create table a (id int)', 'create table b (id int)']);
    expect(statements.some((s) => s.transactionControl)).toBe(false);
  });

  it('unwraps START TRANSACTION; … END; as well', async () => {
    const { statements, wrapped } = await split('start transaction;\nselect 1;\nend;');
    expect(wrapped).toBe(true);
    expect(statements.map((s) => s.sql)).toEqual(['select 1']);
  });

  it('allows savepoints inside a file', async () => {
    const { statements } = await split(
      'savepoint a;\nselect 1;\nrollback to savepoint a;\nrelease savepoint a;',
    );
    expect(statements.map((s) => s.transactionControl)).toEqual([
      'savepoint',
      undefined,
      'savepoint',
      'savepoint',
    ]);
  });

  it('refuses a COMMIT without a BEGIN before it, naming file, line and column', async () => {
    const error = await failure('create table a (id int);\n  commit;\ncreate table b (id int);\n');
    expect(error.code).toBe('transaction-control');
    expect(error.location).toEqual({ file: FILE, line: 2, column: 3 });
    expect(error.message).toMatch(/^COMMIT without a BEGIN before it/);
    expect(error.describe()).toContain(`${FILE}:2:3: COMMIT without a BEGIN`);
  });

  it('absorbs a BEGIN … COMMIT block in the middle of a file and says where it was', async () => {
    const result = await split(
      'create table a (id int);\nbegin;\nupdate a set id = 1;\ncommit;\ncreate table b (id int);\n',
    );
    expect(result.wrapped).toBe(false);
    expect(result.statements.map((s) => s.sql)).toEqual([
      'create table a (id int)',
      'update a set id = 1',
      'create table b (id int)',
    ]);
    expect(result.absorbed).toEqual([{ beginLine: 2, endLine: 4, keywords: 'BEGIN … COMMIT' }]);
  });

  it('absorbs START TRANSACTION … END, several blocks, COMMIT AND CHAIN, and notes options it cannot honour', async () => {
    const result = await split(
      [
        'select 1;',
        'start transaction isolation level serializable;',
        'select 2;',
        'end;',
        'begin work;',
        'select 3;',
        'commit and chain;',
        'select 4;',
        'commit work;',
        'select 5;',
      ].join('\n'),
    );
    expect(result.statements.map((s) => s.sql)).toEqual([
      'select 1',
      'select 2',
      'select 3',
      'select 4',
      'select 5',
    ]);
    expect(result.absorbed).toEqual([
      {
        beginLine: 2,
        endLine: 4,
        keywords: 'START TRANSACTION … END',
        ignoredOptions: 'isolation level serializable',
      },
      { beginLine: 5, endLine: 9, keywords: 'BEGIN … COMMIT' },
    ]);
  });

  it('keeps savepoints inside an absorbed block', async () => {
    const result = await split(
      'select 1;\nbegin;\nsavepoint s;\nselect 2;\nrollback to savepoint s;\ncommit;',
    );
    expect(result.statements.map((s) => s.transactionControl)).toEqual([
      undefined,
      'savepoint',
      undefined,
      'savepoint',
    ]);
    expect(result.absorbed).toHaveLength(1);
  });

  it.each([
    ['ROLLBACK', 'select 1;\nrollback;', /^ROLLBACK inside a migration/, 2],
    ['ABORT in a block', 'select 1;\nbegin;\nselect 2;\nabort;\nselect 3;', /^ABORT inside a migration/, 4],
    ['a BEGIN never closed', 'select 1;\nbegin;\nselect 2;', /^BEGIN without a matching COMMIT/, 2],
    ['a whole-file BEGIN never closed', 'begin;\nselect 1;', /^BEGIN without a matching COMMIT/, 1],
    [
      'a COMMIT before any BEGIN',
      'select 1;\ncommit;\nbegin;\nselect 2;\ncommit;',
      /^COMMIT without a BEGIN/,
      2,
    ],
    ['END without BEGIN', 'select 1;\nend;', /^END without a BEGIN/, 2],
    [
      'COMMIT AND CHAIN without BEGIN',
      'select 1;\ncommit and chain;',
      /^COMMIT AND CHAIN without a BEGIN/,
      2,
    ],
    [
      'a nested BEGIN',
      'begin;\nselect 1;\nbegin;\nselect 2;\ncommit;\ncommit;',
      /^BEGIN inside the transaction block opened at line 1/,
      3,
    ],
    [
      'PREPARE TRANSACTION',
      "select 1;\nprepare transaction 'x';",
      /^PREPARE TRANSACTION inside a migration/,
      2,
    ],
    [
      'PREPARE TRANSACTION in a block',
      "begin;\nselect 1;\nprepare transaction 'x';",
      /^PREPARE TRANSACTION inside a migration/,
      3,
    ],
    ['COMMIT PREPARED', "select 1;\ncommit prepared 'x';", /^COMMIT PREPARED inside a migration/, 2],
    ['ROLLBACK PREPARED', "select 1;\nrollback prepared 'x';", /^ROLLBACK PREPARED inside a migration/, 2],
  ])('refuses %s, naming its line', async (_label, text, message, line) => {
    const error = await failure(text);
    expect(error.code).toBe('transaction-control');
    expect(error.message).toMatch(message);
    expect(error.location?.line).toBe(line);
    expect(error.hint).toMatch(/Nothing has been run\.$/);
  });

  it('refuses a statement that cannot run in a transaction inside an absorbed block', async () => {
    const error = await failure(
      'create table t (a int);\nbegin;\ncreate index concurrently i on t (a);\ncommit;\nselect 1;',
    );
    expect(error.code).toBe('transaction-control');
    expect(error.message).toBe(
      'CREATE INDEX CONCURRENTLY cannot run inside the BEGIN … COMMIT block of lines 2–4',
    );
    expect(error.location).toEqual({ file: FILE, line: 3, column: 1 });
  });

  it('refuses a statement that cannot run in a transaction inside a self-wrapped file', async () => {
    const error = await failure(
      'begin;\ncreate table t (a int);\ncreate index concurrently i on t (a);\ncommit;',
    );
    expect(error.code).toBe('transaction-control');
    expect(error.message).toMatch(/^CREATE INDEX CONCURRENTLY cannot run inside the BEGIN … COMMIT/);
    expect(error.location).toEqual({ file: FILE, line: 3, column: 1 });
  });

  it('reports a syntax error with file, line and column', async () => {
    const error = await failure('select 1;\ncreate table t (id int);\n  selec 2;\n');
    expect(error.code).toBe('parse-error');
    expect(error.message).toContain('syntax error at or near "selec"');
    expect(error.location).toEqual({ file: FILE, line: 3, column: 3 });
  });

  it('counts the column of a syntax error in characters after a multi-byte character on the same line', async () => {
    const error = await failure("select 'é😀' from t where x = = 1;");
    expect(error.code).toBe('parse-error');
    expect(error.message).toContain('syntax error at or near "="');
    // The second "=" is the 30th character: é and 😀 count as one each.
    expect(error.location).toEqual({ file: FILE, line: 1, column: 30 });
  });

  it('reports the right line of a syntax error in a CRLF file', async () => {
    const error = await failure('select 1;\r\nselect 2;\r\nselect from from;\r\n');
    expect(error.location).toEqual({ file: FILE, line: 3, column: 13 });
  });

  it('locates errors inside a part of a file by their position in the whole file', async () => {
    const text = "-- migrate:up\nselect 'ü';\n-- migrate:down\n  drop tabel t;\n";
    const source = new SourceText(text);
    const start = Buffer.byteLength(text.slice(0, text.indexOf('\n  drop')));
    const error = await splitStatements(source, start, source.bytes.length, FILE).catch(
      (e: unknown) => e as GuardError,
    );
    expect((error as GuardError).code).toBe('parse-error');
    expect((error as GuardError).location).toEqual({ file: FILE, line: 4, column: 8 });
  });

  it('gives statements of a part of a file their position in the whole file', async () => {
    const text = "-- migrate:up\nselect 'ü';\n-- migrate:down\n  drop table t;\n";
    const source = new SourceText(text);
    const start = Buffer.byteLength(text.slice(0, text.indexOf('\n  drop')));
    const { statements } = await splitStatements(source, start, source.bytes.length, FILE);
    expect(statements.map((s) => [s.sql, s.line, s.column])).toEqual([['drop table t', 4, 3]]);
  });

  it('counts the column of a syntax error in characters when multi-byte text precedes it on an earlier line', async () => {
    const error = await failure("select '😀😀';\nselect 'é' fro t;");
    expect(error.location).toEqual({ file: FILE, line: 2, column: 16 });
  });

  it.each([
    [
      '\\i',
      'select 1;\n\\i other.sql\nselect 2;',
      /^\\i includes another file in psql; this tool runs SQL statements only/,
      2,
      1,
    ],
    ['\\ir', 'select 1;\n  \\ir ../x.sql\n', /^\\ir includes another file in psql/, 2, 3],
    ['\\set', '\\set owner admin\ncreate table t (id int);', /^\\set sets a psql variable/, 1, 1],
    [
      '\\connect',
      'select 1;\n\\connect other_db\nselect 2;',
      /^\\connect connects psql to another database/,
      2,
      1,
    ],
    ['\\c', 'select 1;\n\n\\c other_db\n', /^\\c connects psql to another database/, 3, 1],
    ['\\copy', "\\copy t from 'x.csv' csv\n", /^\\copy copies data through psql/, 1, 1],
    [
      '\\gexec after an unterminated statement',
      "select 'select 1'\n\\gexec\n",
      /^\\gexec is a psql meta-command/,
      2,
      1,
    ],
  ])('names the psql meta-command %s at its line', async (_label, text, message, line, column) => {
    const error = await failure(text);
    expect(error.code).toBe('parse-error');
    expect(error.message).toMatch(message);
    expect(error.message).not.toMatch(/syntax error/);
    expect(error.location).toEqual({ file: FILE, line, column });
    expect(error.hint).toMatch(/Nothing has been run\.$/);
  });

  it('does not mistake a backslash inside a string or a dollar-quoted body for a meta-command', async () => {
    const { statements } = await split(
      "select E'\\\\i x', '\\set';\ndo $$ begin raise notice '\\connect db'; end $$;\n",
    );
    expect(statements).toHaveLength(2);
    const error = await failure("do $$ begin raise notice '\\i x'; end $$;\nselect from from;");
    expect(error.message).toMatch(/^SQL syntax error/);
    expect(error.location?.line).toBe(2);
  });

  it.each([
    [
      'rows',
      'create table t (a int, b text);\nCOPY t (a, b) FROM stdin;\n1\tone\n2\ttwo\n\\.\nselect 1;\n',
      2,
    ],
    [
      'rows starting with a NULL',
      'select 1;\n\ncopy public.t from stdin with (format text);\n\\N\tone\n\\.\n',
      3,
    ],
    ['rows that read as SQL for a line', 'COPY t FROM STDIN;\nselect\t1\n2\t3\n\\.\n', 1],
    ['no rows at the end of the file', 'select 1;\ncopy t from stdin;\n', 2],
    ['only the end marker', 'select 1;\ncopy t from stdin;\n\\.\n', 2],
  ])(
    'names COPY … FROM stdin followed by %s as a psql feature at the line of the COPY',
    async (_label, text, line) => {
      const error = await failure(text);
      expect(error.code).toBe('parse-error');
      expect(error.message).toMatch(/^COPY … FROM stdin reads its rows from psql/);
      expect(error.location).toEqual({ file: FILE, line, column: 1 });
    },
  );

  it('runs COPY from a server file or to stdout, and reports an ordinary syntax error after a comment that mentions COPY FROM stdin', async () => {
    const { statements } = await split("copy t from '/tmp/t.csv';\ncopy t to stdout;\n");
    expect(statements.map((s) => s.nodeType)).toEqual(['CopyStmt', 'CopyStmt']);
    const error = await failure('-- copy t from stdin is what we used to do\nselect 1;\nselec 2;\n');
    expect(error.message).toMatch(/^SQL syntax error: syntax error at or near "selec"/);
    expect(error.location).toEqual({ file: FILE, line: 3, column: 1 });
  });

  it('names a COPY … FROM stdin inside a part of a file at its line in the whole file', async () => {
    const text = '-- migrate:up\nselect 1;\ncopy t from stdin;\n1\n\\.\n-- migrate:down\nselect 2;\n';
    const source = new SourceText(text);
    const start = Buffer.byteLength('-- migrate:up\n');
    const end = Buffer.byteLength(text.slice(0, text.indexOf('-- migrate:down')));
    const error = await splitStatements(source, start, end, FILE).catch((e: unknown) => e as GuardError);
    expect((error as GuardError).message).toMatch(/^COPY … FROM stdin/);
    expect((error as GuardError).location).toEqual({ file: FILE, line: 3, column: 1 });
  });

  it('finds no statements in an empty file', async () => {
    expect(await split('')).toEqual({ statements: [], wrapped: false });
  });

  it('finds no statements in a file of comments and blank lines only', async () => {
    expect((await split('-- nothing yet\n\n/* later */\n')).statements).toEqual([]);
    expect((await split('  \n\n')).statements).toEqual([]);
  });
});
