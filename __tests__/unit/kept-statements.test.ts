/**
 * apply lints every pending file before it runs them: the engine splits the files from the
 * linter's parse (KeptStatements) instead of parsing them a second time.
 */
import { describe, expect, it } from '@jest/globals';
import { prepareMigration } from '../../src/engine/prepare.js';
import { StreamedRun } from '../../src/engine/stream.js';
import { lintMigrations } from '../../src/lint/index.js';
import { withoutUnreadTrees } from '../../src/lint/unread-trees.js';
import { loadBytesParser } from '../../src/migrations/byte-parser.js';
import { loadParser, type PgParser } from '../../src/migrations/parser.js';
import {
  classifiedStatements,
  splitStatementsWith,
  type KeptStatements,
  type Statement,
} from '../../src/migrations/statements.js';
import { migrationOf } from '../helpers/migrations.js';

const FILES = [
  // A file wrapped in BEGIN … COMMIT (the split reads BEGIN's node) with a multi-line statement.
  "begin;\ncreate table accounts (\n  id bigint primary key,\n  note text default ';'\n);\ncommit;\n",
  // Options on BEGIN: read from its node.
  "begin isolation level serializable;\ninsert into accounts values (1, 'a');\ncommit;\n",
  // No wrapper; a function body holding semicolons; a comment.
  '-- helper\ncreate function f() returns int language sql as $$ select 1; $$;\nalter table accounts add column n int;\n',
  // A syntax error: not kept (the engine parses it itself and reports the error).
  'create tabel oops (id int);\n',
  // COPY … FROM stdin: the linter reports it, the split refuses it (it reads COPY's node).
  'copy accounts from stdin;\n',
];

const migrations = FILES.map((sql, i) => migrationOf(String(i + 1), sql));

/** A parser that fails the test if it is asked anything. */
const noParser: PgParser = {
  parseSync() {
    throw new Error('parsed a second time');
  },
};

describe('statements kept from the linter', () => {
  it('are every cleanly parsed file, with the nodes the split reads and no other', async () => {
    const kept: KeptStatements = new Map();
    await lintMigrations(migrations, { keep: kept });
    expect([...kept.keys()].map((m) => m.version)).toEqual(['1', '2', '3', '5']);
    for (const statements of kept.values()) {
      for (const {
        statement: { nodeType },
        node,
      } of statements) {
        if (nodeType === 'TransactionStmt' || nodeType === 'CopyStmt') expect(node).toBeDefined();
        else expect(node).toBeUndefined();
      }
    }
  });

  it('split exactly as a parse of the file does, without asking the parser', async () => {
    const kept: KeptStatements = new Map();
    await lintMigrations(migrations, { keep: kept });
    const parser = await loadParser();
    for (const migration of migrations.slice(0, 3)) {
      const { up, path } = migration;
      const fresh = splitStatementsWith(parser, up.source, up.start, up.end, path);
      const prepared = prepareMigration(noParser, migration, kept);
      expect({ statements: prepared.statements, wrapped: prepared.wrapped }).toEqual({
        statements: fresh.statements,
        wrapped: fresh.wrapped,
      });
      expect(prepared.statements.length).toBeGreaterThan(0);
    }
    // The split still refuses what it refuses after a parse: COPY … FROM stdin, with its place.
    expect(() => prepareMigration(noParser, migrations[4], kept)).toThrow(/COPY … FROM stdin/);
  });

  it('a file the linter could not parse is parsed by the engine, which reports its error', async () => {
    const kept: KeptStatements = new Map();
    await lintMigrations(migrations, { keep: kept });
    expect(() => prepareMigration(noParser, migrations[3], kept)).toThrow('parsed a second time');
    const parser = await loadParser();
    expect(() => prepareMigration(parser, migrations[3], kept)).toThrow(/syntax error/);
  });

  it('are the same when the lint worker dropped the trees no rule reads: the engine reads nothing in them', async () => {
    // A large release is linted from the worker's parses, with the trees of INSERT, COMMENT and
    // CREATE TRIGGER and CREATE TABLE's constraint expressions dropped (unread-trees.ts).
    const bytes = await loadBytesParser();
    const stripping: PgParser = {
      parseSync: (sql) => JSON.parse(bytes.parseToJson(Buffer.from(sql, 'utf8'), withoutUnreadTrees)),
      parseRange: (source, start, end) =>
        JSON.parse(bytes.parseToJson(source.bytes.subarray(start, end), withoutUnreadTrees)),
    };
    const sql = [
      'create table t (id int primary key check (id > 0), at timestamptz default now(), n int generated always as (id * 2) stored);',
      'insert into t (id) values (1), (2);',
      "comment on table t is 'c';",
      'create trigger tr before insert on t for each row execute function f();',
      'begin isolation level serializable;',
      "alter type mood add value 'ok';",
      'commit;',
      "set lock_timeout = '1s';",
      'create index concurrently i on t (id);',
      'vacuum t;',
    ].join('\n');
    const migration = migrationOf('1', sql);
    const { source, start, end } = migration.up;
    const what = (s: Statement) => ({
      sql: s.sql,
      historyText: s.historyText,
      startByte: s.startByte,
      line: s.line,
      column: s.column,
      nodeType: s.nodeType,
      nonTransactional: s.nonTransactional,
      addsEnumValue: s.addsEnumValue,
      transactionControl: s.transactionControl,
      touchesTimeouts: s.touchesTimeouts,
    });
    const of = (parser: PgParser) =>
      [...classifiedStatements(parser, source, start, end, migration.path)].map((p) => what(p.statement));
    const full = await loadParser();
    expect(of(stripping)).toEqual(of(full));
    expect(of(full)).toHaveLength(10);
    // The drop did drop something.
    expect(JSON.stringify(stripping.parseSync(sql)).length).toBeLessThan(
      JSON.stringify(full.parseSync(sql)).length,
    );
  });

  it('feed a streamed run: its steps come without a second parse', async () => {
    const clean = migrations.slice(0, 3);
    const kept: KeptStatements = new Map();
    await lintMigrations(clean, { keep: kept });
    const reference = new StreamedRun(clean, await loadParser());
    const reused = new StreamedRun(clean, noParser, undefined, kept);
    const sqlOf = (run: StreamedRun) =>
      [...run.steps()].map((step) => (step.kind === 'statement' ? step.statement.sql : step.kind));
    expect(sqlOf(reused)).toEqual(sqlOf(reference));
    expect(sqlOf(reused)).toContain("insert into accounts values (1, 'a')");
  });
});
