import { describe, expect, it } from '@jest/globals';
import { RULES } from '../../src/lint/index.js';
import { brief, lintSql, ofRules } from '../helpers/lint.js';

/**
 * Every rule: SQL that triggers it (with the exact file:line:column and severity of each finding)
 * and the safe pattern, which produces no finding at all. The tables are existing ones unless the
 * case creates them (then they are new, and lock rules stay silent).
 */
interface Case {
  rule: string;
  bad: string[];
  expected: string[];
  safe?: string[];
  /** For cases about what earlier files declared: tables count as new in their own file only. */
  scope?: 'file';
}

const CASES: Case[] = [
  // locks and rewrites
  {
    rule: 'index-without-concurrently',
    bad: ['create unique index i on app.t (a);'],
    expected: ['1_m.sql:1:26 warning index-without-concurrently'],
    safe: ['create unique index concurrently i on app.t (a);'],
  },
  {
    rule: 'drop-index-without-concurrently',
    bad: ['select 1;\ndrop index app.i, j;'],
    expected: [
      '1_m.sql:2:1 warning drop-index-without-concurrently',
      '1_m.sql:2:1 warning drop-index-without-concurrently',
    ],
    safe: [
      'drop index concurrently app.i;',
      'create table n (a int);\ncreate index k on n (a);\ndrop index k;',
    ],
  },
  {
    rule: 'constraint-without-not-valid',
    bad: [
      'alter table t add constraint f foreign key (u) references u (id);\nalter table t\n  add constraint c check (a > 0);',
    ],
    expected: [
      '1_m.sql:1:19 warning constraint-without-not-valid',
      '1_m.sql:3:7 warning constraint-without-not-valid',
    ],
    safe: ['alter table t add constraint c check (a > 0) not valid;\nalter table t validate constraint c;'],
  },
  {
    rule: 'constraint-without-not-valid',
    bad: [
      'alter table t add column u bigint references u (id);\nalter domain positive add constraint c check (value > 0);\nalter domain d add not null;',
    ],
    expected: [
      '1_m.sql:1:35 warning constraint-without-not-valid',
      '1_m.sql:2:27 warning constraint-without-not-valid',
      '1_m.sql:3:20 warning constraint-without-not-valid',
    ],
    safe: [
      'alter table t add column u bigint;\nalter table t add constraint t_u_fk foreign key (u) references u (id) not valid;\nalter domain positive add constraint c check (value > 0) not valid;\nalter domain positive validate constraint c;',
      'alter table t add constraint f foreign key (u) references u (id) not valid;\nalter table t validate constraint f;\nalter table t add constraint c check (a > 0) not valid;',
    ],
  },
  {
    rule: 'set-not-null-without-check',
    bad: [
      'alter table t alter column a set not null;',
      'alter table t add constraint a_nn check (a is not null) not valid;\nalter table t alter column a set not null;',
    ],
    expected: [
      '1_m.sql:1:1 warning set-not-null-without-check',
      '2_m.sql:2:1 warning set-not-null-without-check',
    ],
    safe: [
      'alter table t add constraint a_nn check (a is not null) not valid;',
      'alter table t validate constraint a_nn;',
      'alter table t alter column a set not null;',
    ],
  },
  {
    rule: 'unique-without-index',
    bad: ['alter table t add constraint u unique (a), add primary key (id);'],
    expected: ['1_m.sql:1:19 warning unique-without-index', '1_m.sql:1:48 warning unique-without-index'],
    safe: [
      'create unique index concurrently u on t (a);',
      'alter table t add constraint u unique using index u;',
      'alter table t add constraint t_pkey primary key using index t_id;',
    ],
  },
  {
    rule: 'column-type-rewrite',
    bad: ['alter table t alter column a type bigint;\nalter table t alter column b type text;'],
    expected: ['1_m.sql:1:28 warning column-type-rewrite', '1_m.sql:2:28 warning column-type-rewrite'],
    safe: [
      'create table n (a varchar(10), b numeric(10,2));\nalter table n alter column a type varchar(20);',
    ],
  },
  {
    rule: 'volatile-default',
    bad: [
      'alter table t add column a uuid default gen_random_uuid();\nalter table t add column b float8 default random(), add column c timestamptz default clock_timestamp();\nalter table t add column d bigserial;',
    ],
    expected: [
      '1_m.sql:1:26 warning volatile-default',
      '1_m.sql:2:26 warning volatile-default',
      '1_m.sql:2:64 warning volatile-default',
      '1_m.sql:3:26 warning volatile-default',
    ],
    safe: [
      "alter table t add column a timestamptz default now(), add column b timestamptz not null default current_timestamp, add column c text default 'x';",
    ],
  },
  {
    rule: 'vacuum-full',
    bad: ['vacuum full t;\nvacuum (full, analyze) u;'],
    expected: ['1_m.sql:1:1 warning vacuum-full', '1_m.sql:2:1 warning vacuum-full'],
    safe: ['vacuum (analyze) t;\nvacuum (full false) u;'],
  },
  {
    rule: 'cluster',
    bad: ['cluster app.t using t_pkey;'],
    expected: ['1_m.sql:1:9 warning cluster'],
  },
  {
    rule: 'reindex-without-concurrently',
    bad: ['reindex table app.t;\nreindex index i;'],
    expected: [
      '1_m.sql:1:15 warning reindex-without-concurrently',
      '1_m.sql:2:15 warning reindex-without-concurrently',
    ],
    safe: ['reindex table concurrently app.t;\nreindex (concurrently) index i;'],
  },
  {
    rule: 'refresh-matview-without-concurrently',
    bad: ['refresh materialized view app.m;'],
    expected: ['1_m.sql:1:27 warning refresh-matview-without-concurrently'],
    safe: [
      'refresh materialized view concurrently app.m;',
      'create materialized view n as select 1 as x;\nrefresh materialized view n;',
    ],
  },
  // destructive
  {
    rule: 'drop-table',
    bad: ['drop table if exists t, app.u cascade;'],
    expected: ['1_m.sql:1:1 error drop-table', '1_m.sql:1:1 error drop-table'],
    safe: ['create table n (id bigint);\ndrop table n;'],
  },
  {
    rule: 'drop-column',
    bad: ['alter table t drop column c;'],
    expected: ['1_m.sql:1:1 error drop-column'],
    safe: ['create table n (id bigint, c text);\nalter table n drop column c;'],
  },
  {
    rule: 'drop-schema',
    bad: ['drop schema app cascade;'],
    expected: ['1_m.sql:1:1 error drop-schema'],
  },
  {
    rule: 'drop-database',
    bad: ['drop database app;'],
    expected: ['1_m.sql:1:1 error drop-database'],
  },
  {
    rule: 'drop-function',
    bad: ['drop function app.f(int), g;\ndrop procedure p;'],
    expected: [
      '1_m.sql:1:1 warning drop-function',
      '1_m.sql:1:1 warning drop-function',
      '1_m.sql:2:1 warning drop-function',
    ],
    safe: ['create or replace function app.f(int) returns int language sql as $$ select 1 $$;'],
  },
  {
    rule: 'truncate',
    bad: ['truncate t;\ntruncate table u cascade;'],
    expected: ['1_m.sql:1:10 warning truncate', '1_m.sql:2:16 error truncate'],
    safe: ['create table n (id bigint);\ntruncate n;'],
  },
  {
    rule: 'delete-without-where',
    bad: ['delete from app.t;'],
    expected: ['1_m.sql:1:13 error delete-without-where'],
    safe: ['delete from app.t where expired;'],
  },
  {
    rule: 'update-without-where',
    bad: ['update t set a = 1;'],
    expected: ['1_m.sql:1:8 warning update-without-where'],
    safe: ['update t set a = 1 where a is null;'],
  },
  {
    rule: 'rename-table',
    bad: ['alter table t rename to u;'],
    expected: ['1_m.sql:1:13 warning rename-table'],
    safe: ['create table n (id bigint);\nalter table n rename to m;'],
  },
  {
    rule: 'rename-column',
    bad: ['alter table t rename column a to b;'],
    expected: ['1_m.sql:1:13 warning rename-column'],
    safe: ['alter table t add column b text;'],
  },
  {
    rule: 'drop-not-null',
    bad: ['alter table t alter column a drop not null;'],
    expected: ['1_m.sql:1:1 warning drop-not-null'],
  },
  // robustness
  {
    rule: 'transaction-control',
    bad: [
      'begin;\nselect 1;\ncommit;',
      'select 1;\nbegin;\nselect 2;\ncommit;',
      'select 1;\nrollback;',
      'commit;',
    ],
    expected: [
      '1_m.sql:1:1 info transaction-control',
      '2_m.sql:2:1 warning transaction-control',
      '3_m.sql:2:1 error transaction-control',
      '4_m.sql:1:1 error transaction-control',
    ],
    safe: ['select 1;\nsavepoint a;\nrollback to savepoint a;'],
  },
  {
    rule: 'transaction-control',
    bad: ['select 1;\nbegin;\nselect 2;'],
    expected: ['1_m.sql:2:1 warning transaction-control', '1_m.sql:2:1 error transaction-control'],
  },
  {
    rule: 'not-null-column-without-default',
    bad: ['alter table t add column n text not null;'],
    expected: ['1_m.sql:1:26 warning not-null-column-without-default'],
    safe: [
      "alter table t add column n text not null default '';\ncreate table k (a int);\nalter table k add column b int not null;",
    ],
  },
  {
    rule: 'concurrently-in-transaction',
    bad: ['begin;\ncreate index concurrently i on t (a);\ncommit;'],
    expected: ['1_m.sql:2:1 error concurrently-in-transaction'],
    safe: ['create index concurrently i on t (a);'],
  },
  {
    rule: 'session-setting',
    bad: [
      "set statement_timeout = 0;\nSET lock_timeout = 0;\nselect pg_catalog.set_config('search_path', '', false);\nset search_path to app;\nset local lock_timeout = '1min';",
    ],
    expected: [
      '1_m.sql:1:1 warning session-setting',
      '1_m.sql:2:1 warning session-setting',
      '1_m.sql:3:8 warning session-setting',
      '1_m.sql:4:1 warning session-setting',
      '1_m.sql:5:1 warning session-setting',
    ],
    safe: [
      "set local search_path = app;\nselect set_config('search_path', 'app', true);\nset client_min_messages = warning;",
    ],
  },
  {
    rule: 'migrate-marker-misplaced',
    bad: [
      '-- migrate:up\ncreate table n (a int);\n  -- migrate:down\ndrop table n;',
      'select 1; -- migrate:down',
    ],
    expected: ['1_m.sql:3:3 error migrate-marker-misplaced', '2_m.sql:1:11 error migrate-marker-misplaced'],
    safe: ['-- migrate:up\nselect 1;\n-- migrate:down\nselect 2;'],
  },
  {
    rule: 'psql-meta-command',
    bad: [
      '\\i other.sql\ncreate index a on t (x);',
      'copy t (a, b) from stdin;\n1\tx\n\\N\ty\n\\.\ncreate index b on t (y);',
    ],
    expected: ['1_m.sql:1:1 error psql-meta-command', '2_m.sql:1:1 error psql-meta-command'],
    safe: ["copy t (a) from '/tmp/data.csv' with (format csv);"],
  },
  {
    rule: 'syntax-error',
    bad: ['select 1;\ncreate tabel t (a int);'],
    expected: ['1_m.sql:2:8 error syntax-error'],
  },
  // types
  {
    rule: 'timestamp-without-time-zone',
    bad: [
      'create table n (a timestamp, b timestamp(3) without time zone);\nalter table t add column c timestamp;',
    ],
    expected: [
      '1_m.sql:1:19 warning timestamp-without-time-zone',
      '1_m.sql:1:32 warning timestamp-without-time-zone',
      '1_m.sql:2:28 warning timestamp-without-time-zone',
    ],
    safe: ['create table n (a timestamptz, b timestamp with time zone);'],
  },
  {
    rule: 'char-type',
    bad: ['create table n (a char(2), b character(3));'],
    expected: ['1_m.sql:1:19 warning char-type', '1_m.sql:1:30 warning char-type'],
    safe: ['create table n (a text check (char_length(a) = 2), b "char");'],
  },
  {
    rule: 'varchar-length',
    bad: ['create table n (a varchar(10));\nalter table t alter column b type character varying(20);'],
    expected: ['1_m.sql:1:19 info varchar-length', '1_m.sql:2:35 info varchar-length'],
    safe: ['create table n (a text, b varchar);'],
  },
  {
    rule: 'int-primary-key',
    bad: [
      'create table n (id serial primary key);\ncreate table m (id int, primary key (id));\ncreate table k (id integer generated always as identity primary key);',
    ],
    expected: [
      '1_m.sql:1:20 warning int-primary-key',
      '1_m.sql:2:20 warning int-primary-key',
      '1_m.sql:3:20 warning int-primary-key',
    ],
    safe: [
      'create table n (id bigint generated always as identity primary key);\ncreate table m (id uuid primary key default gen_random_uuid());\ncreate table k (a int, b int, primary key (a, b));',
    ],
  },
];

describe('lint rules', () => {
  it.each(CASES.map((c) => [c.rule, c] as const))(
    '%s: triggered at the exact file:line:column',
    async (_, c) => {
      const report = await lintSql(c.bad);
      expect(ofRules(report, c.rule)).toEqual(c.expected);
      for (const finding of report.findings.filter((f) => f.rule === c.rule)) {
        expect(finding.message).not.toMatch(/\n/);
        expect(finding.family).toBe(RULES.find((r) => r.id === c.rule)?.family);
      }
    },
  );

  it.each(CASES.filter((c) => c.safe).map((c) => [c.rule, c] as const))(
    '%s: the safe pattern gives no warning or error, and nothing from the rule',
    async (_, c) => {
      const report = await lintSql(c.safe!, { newTableScope: c.scope });
      expect(brief(report).filter((line) => !/ info /.test(line))).toEqual([]);
      expect(ofRules(report, c.rule)).toEqual([]);
    },
  );

  it('column-type-rewrite: says what it knows of the current type, and when a type change is only a rewrite if', async () => {
    const known = await lintSql(
      [
        'create table n (a int, b varchar(20));',
        'alter table n alter column a type bigint, alter column b type varchar(10);',
      ],
      {
        newTableScope: 'file',
      },
    );
    expect(known.findings.filter((f) => f.rule === 'column-type-rewrite').map((f) => f.message)).toEqual([
      expect.stringContaining('ALTER COLUMN a TYPE bigint on public.n (from integer) rewrites the table'),
      expect.stringContaining(
        'ALTER COLUMN b TYPE varchar(10) on public.n (from varchar(20)) rewrites the table',
      ),
    ]);
    const unknown = await lintSql(['alter table t alter column b type varchar(30);']);
    expect(unknown.findings.map((f) => f.message)).toEqual([
      expect.stringContaining('unless the column is varchar(n) with n ≤ 30 now'),
      expect.stringContaining('varchar(30) is no faster than text'),
    ]);
    const using = await lintSql(['alter table t alter column b type text using b::text;']);
    expect(using.findings[0].message).toMatch(/TYPE text on public\.t rewrites the table/);
  });

  it('not-null-column-without-default: identity and serial columns fill themselves', async () => {
    const report = await lintSql([
      'alter table t add column m bigint not null generated always as identity, add column s bigserial not null;',
    ]);
    expect(ofRules(report, 'not-null-column-without-default')).toEqual([]);
  });

  it('volatile-default: a default calling a function whose volatility is unknown is info, whatever the table size', async () => {
    const report = await lintSql(['alter table t add column code text default public.next_code();'], {
      tableStats: () => ({ rows: 5_000_000, bytes: 2 * 1024 ** 3 }),
    });
    expect(brief(report)).toEqual(['1_m.sql:1:26 info volatile-default']);
    expect(report.findings[0].message).toMatch(/public\.next_code\(\), whose volatility is not known here/);
  });

  it('has a case for every rule the linter registers (the ignore rules are tested in ignore.test.ts)', () => {
    const covered = new Set([
      ...CASES.map((c) => c.rule),
      'unused-ignore',
      'ignore-without-reason',
      'invalid-migration-file',
    ]);
    expect(
      RULES.map((r) => r.id).filter(
        (id) => !covered.has(id) && RULES.find((r) => r.id === id)?.family !== 'security',
      ),
    ).toEqual([]);
  });
});
