import { describe, expect, it } from '@jest/globals';
import {
  buildExecutionPlan,
  mayNeedOwnTransaction,
  type PreparedMigration,
  type Unit,
} from '../../src/engine/units.js';
import { SourceText } from '../../src/migrations/source-text.js';
import { splitStatements } from '../../src/migrations/statements.js';
import { migrationOf } from '../helpers/migrations.js';

async function prepare(version: string, name: string, sql: string): Promise<PreparedMigration> {
  const migration = migrationOf(version, sql, name);
  const { source, path } = migration.up;
  const split = await splitStatements(source, 0, source.bytes.length, path);
  return { migration, statements: split.statements, wrapped: split.wrapped };
}

/** A readable outline of the units: each step as "<version>:<sql>" or "<version>:record". */
function outline(units: Unit[]): Array<{ kind: string; steps: string[] }> {
  return units.map((unit) =>
    unit.kind === 'autocommit'
      ? { kind: 'autocommit', steps: [`${unit.step.migration.migration.version}:${unit.step.statement.sql}`] }
      : {
          kind: 'transaction',
          steps: unit.steps.map((step) =>
            step.kind === 'record'
              ? `${step.migration.migration.version}:record`
              : `${step.migration.migration.version}:${step.statement.sql}`,
          ),
        },
  );
}

describe('buildExecutionPlan', () => {
  it('puts every file in one transaction in all mode, each file followed by its record step', async () => {
    const files = [
      await prepare('1', 'a', 'create table a (id int);\ncreate table a2 (id int);'),
      await prepare('2', 'b', 'create table b (id int);'),
      await prepare('3', 'c', 'create table c (id int);'),
    ];
    const plan = buildExecutionPlan(files, 'all');
    expect(outline(plan.units)).toEqual([
      {
        kind: 'transaction',
        steps: [
          '1:create table a (id int)',
          '1:create table a2 (id int)',
          '1:record',
          '2:create table b (id int)',
          '2:record',
          '3:create table c (id int)',
          '3:record',
        ],
      },
    ]);
    expect(plan.nonAtomic.size).toBe(0);
  });

  it('keeps the statement objects of the prepared files in the steps', async () => {
    const file = await prepare('1', 'a', 'select 1;');
    const plan = buildExecutionPlan([file], 'all');
    const unit = plan.units[0];
    expect(unit.kind).toBe('transaction');
    if (unit.kind !== 'transaction') return;
    expect(unit.steps[0]).toMatchObject({
      kind: 'statement',
      migration: file,
      statement: file.statements[0],
    });
    expect(unit.steps[1]).toEqual({ kind: 'record', migration: file });
  });

  it("runs a file's verify statements after its own statements, before its record step, in the same transaction", async () => {
    const file = await prepare('1', 'a', 'create table a (id int);');
    const verifySource = new SourceText('select 1 from a limit 0;');
    const verifyPath = 'supabase/migrations/1_a.verify.sql';
    file.migration.verify = {
      path: verifyPath,
      source: verifySource,
      start: 0,
      end: verifySource.bytes.length,
    };
    file.verify = (await splitStatements(verifySource, 0, verifySource.bytes.length, verifyPath)).statements;
    const plan = buildExecutionPlan([file, await prepare('2', 'b', 'select 2;')], 'all');
    expect(outline(plan.units)).toEqual([
      {
        kind: 'transaction',
        steps: [
          '1:create table a (id int)',
          '1:select 1 from a limit 0',
          '1:record',
          '2:select 2',
          '2:record',
        ],
      },
    ]);
    const unit = plan.units[0];
    if (unit.kind !== 'transaction') throw new Error('expected a transaction');
    expect(
      unit.steps.map((step) => (step.kind === 'statement' ? [step.role, step.part.path] : ['record'])),
    ).toEqual([
      ['up', 'supabase/migrations/1_a.sql'],
      ['verify', verifyPath],
      ['record'],
      ['up', 'supabase/migrations/2_b.sql'],
      ['record'],
    ]);
  });

  it('gives each file its own transaction in per-file mode', async () => {
    const files = [
      await prepare('1', 'a', 'create table a (id int);'),
      await prepare('2', 'b', 'create table b (id int);\ninsert into b values (1);'),
    ];
    const plan = buildExecutionPlan(files, 'per-file');
    expect(outline(plan.units)).toEqual([
      { kind: 'transaction', steps: ['1:create table a (id int)', '1:record'] },
      { kind: 'transaction', steps: ['2:create table b (id int)', '2:insert into b values (1)', '2:record'] },
    ]);
    expect(plan.nonAtomic.size).toBe(0);
  });

  it('records a file without statements in the transaction', async () => {
    const plan = buildExecutionPlan([await prepare('1', 'empty', '-- nothing\n')], 'all');
    expect(outline(plan.units)).toEqual([{ kind: 'transaction', steps: ['1:record'] }]);
  });

  it('returns no units for no files', () => {
    const plan = buildExecutionPlan([], 'all');
    expect(plan.units).toEqual([]);
    expect(plan.nonAtomic.size).toBe(0);
  });

  it('runs CREATE INDEX CONCURRENTLY on its own, splitting the transaction, and marks the file not atomic', async () => {
    const files = [
      await prepare('1', 'table', 'create table t (a int);'),
      await prepare(
        '2',
        'index',
        'insert into t values (1);\n\ncreate index concurrently t_a on t (a);\nanalyze t;',
      ),
      await prepare('3', 'more', 'create table u (id int);'),
    ];
    const plan = buildExecutionPlan(files, 'all');
    expect(outline(plan.units)).toEqual([
      { kind: 'transaction', steps: ['1:create table t (a int)', '1:record', '2:insert into t values (1)'] },
      { kind: 'autocommit', steps: ['2:create index concurrently t_a on t (a)'] },
      { kind: 'transaction', steps: ['2:analyze t', '2:record', '3:create table u (id int)', '3:record'] },
    ]);
    expect([...plan.nonAtomic.keys()]).toEqual(['2']);
    expect(plan.nonAtomic.get('2')).toEqual([
      'CREATE INDEX CONCURRENTLY (line 3) runs outside a transaction',
    ]);
  });

  it('runs a non-transactional statement on its own in per-file mode too', async () => {
    const files = [await prepare('1', 'index', 'create index concurrently i on t (a);\nvacuum t;')];
    const plan = buildExecutionPlan(files, 'per-file');
    expect(outline(plan.units)).toEqual([
      { kind: 'autocommit', steps: ['1:create index concurrently i on t (a)'] },
      { kind: 'autocommit', steps: ['1:vacuum t'] },
      { kind: 'transaction', steps: ['1:record'] },
    ]);
    expect(plan.nonAtomic.get('1')).toEqual([
      'CREATE INDEX CONCURRENTLY (line 1) runs outside a transaction',
      'VACUUM (line 2) runs outside a transaction',
    ]);
  });

  it('commits a new enum value before a later file that uses it, in all mode', async () => {
    const files = [
      await prepare('1', 'add_value', "alter type mood add value 'ecstatic';"),
      await prepare('2', 'unrelated', 'create table x (id int);'),
      await prepare('3', 'use_value', "update people set mood = 'ecstatic' where id = 1;"),
    ];
    const plan = buildExecutionPlan(files, 'all');
    expect(outline(plan.units)).toEqual([
      { kind: 'transaction', steps: ["1:alter type mood add value 'ecstatic'", '1:record'] },
      {
        kind: 'transaction',
        steps: [
          '2:create table x (id int)',
          '2:record',
          "3:update people set mood = 'ecstatic' where id = 1",
          '3:record',
        ],
      },
    ]);
    expect(plan.nonAtomic.get('3')).toEqual([
      "commits separately: enum value 'ecstatic' added by 1_add_value.sql must be committed before this file can use it",
    ]);
    expect(plan.nonAtomic.has('1')).toBe(false);
  });

  it('does not cut the transaction when no later file uses the new enum value', async () => {
    const files = [
      await prepare('1', 'add_value', "alter type mood add value 'ecstatic';"),
      await prepare('2', 'other', "update people set mood = 'sad' where mood = 'ecstatic_old';"),
    ];
    const plan = buildExecutionPlan(files, 'all');
    expect(plan.units).toHaveLength(1);
    expect(plan.nonAtomic.size).toBe(0);
  });

  it('does not treat the value as used when it appears unquoted, e.g. as an identifier', async () => {
    const files = [
      await prepare('1', 'add_value', "alter type mood add value 'ecstatic';"),
      await prepare('2', 'other', 'create table ecstatic (id int);'),
    ];
    expect(buildExecutionPlan(files, 'all').units).toHaveLength(1);
  });

  it("matches an enum value containing a quote by its SQL literal ('it''s')", async () => {
    const files = [
      await prepare('1', 'add_value', "alter type mood add value 'it''s fine';"),
      await prepare('2', 'use_value', "select 'it''s fine'::mood;"),
    ];
    const plan = buildExecutionPlan(files, 'all');
    expect(outline(plan.units)).toEqual([
      { kind: 'transaction', steps: ["1:alter type mood add value 'it''s fine'", '1:record'] },
      { kind: 'transaction', steps: ["2:select 'it''s fine'::mood", '2:record'] },
    ]);
  });
});

describe('mayNeedOwnTransaction (the check that lets a run start before it is fully planned)', () => {
  // Every statement the planner takes out of the transaction, in the spellings PostgreSQL accepts.
  const leaving = [
    'create index concurrently i on t (a)',
    'CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS i ON t (a)',
    'drop index concurrently i',
    'reindex table concurrently t',
    'REINDEX DATABASE postgres',
    'reindex system postgres',
    'vacuum',
    'VACUUM (ANALYZE) t',
    "alter system set work_mem = '4MB'",
    'create database d',
    'drop database d',
    "create tablespace ts location '/tmp/x'",
    'drop tablespace ts',
    'cluster',
    "create subscription s connection 'host=x' publication p",
    'drop subscription s',
    'alter database d set tablespace ts',
    'alter table t detach partition p concurrently',
    "alter type mood add value 'sad'",
    "ALTER TYPE mood ADD /* a comment */ VALUE IF NOT EXISTS 'sad' BEFORE 'ok'",
  ];

  it.each(leaving)('flags %s, which the parser also marks', async (sql) => {
    const item = await prepare('1', 'x', sql);
    const statement = item.statements[0];
    expect(Boolean(statement.nonTransactional || statement.addsEnumValue)).toBe(true);
    expect(mayNeedOwnTransaction(sql)).toBe(true);
  });

  it('lets ordinary Supabase-style DDL through', () => {
    const sql = [
      'create table public.profiles (id uuid primary key references auth.users, name text);',
      'alter table public.profiles enable row level security;',
      'create policy p on public.profiles for select using (auth.uid() = id);',
      'create index profiles_name_idx on public.profiles (name);',
      'create function public.touch() returns trigger language plpgsql as $$ begin new.name := trim(new.name); return new; end $$;',
      "insert into public.profiles (id, name) values ('00000000-0000-0000-0000-000000000000', 'a');",
    ].join('\n');
    expect(mayNeedOwnTransaction(sql)).toBe(false);
  });
});

describe('buildExecutionPlan: statements with no place in a migration run', () => {
  it.each([
    ['create database other', 'CREATE DATABASE'],
    ['drop database if exists other', 'DROP DATABASE'],
    ["create tablespace t location '/tmp'", 'CREATE TABLESPACE'],
    ['drop tablespace t', 'DROP TABLESPACE'],
    ["alter system set work_mem = '8MB'", 'ALTER SYSTEM'],
  ])('refuses %s naming file:line and the fix', async (sql, reason) => {
    const files = [
      await prepare('1', 'a', 'create table a (id int);'),
      await prepare('2', 'b', `create table b (id int);\n${sql};`),
    ];
    for (const mode of ['all', 'per-file'] as const) {
      expect(() => buildExecutionPlan(files, mode)).toThrow(
        expect.objectContaining({
          code: 'refused-statement',
          message: expect.stringMatching(new RegExp(`^${reason} has no place in a migration run`)),
          options: expect.objectContaining({
            location: { file: 'supabase/migrations/2_b.sql', line: 2, column: 1 },
            hint: expect.stringMatching(/^Remove the statement from 2_b\.sql: /),
          }),
        }),
      );
    }
  });

  it('still runs the other non-transactional statements on their own', async () => {
    const files = [await prepare('1', 'a', 'create table a (id int);\nvacuum a;')];
    expect(outline(buildExecutionPlan(files, 'all').units)).toEqual([
      { kind: 'transaction', steps: ['1:create table a (id int)'] },
      { kind: 'autocommit', steps: ['1:vacuum a'] },
      { kind: 'transaction', steps: ['1:record'] },
    ]);
  });
});

describe('buildExecutionPlan: resuming a partly applied file', () => {
  it('skips the statements an earlier run committed and says so; the record step stays', async () => {
    const b = await prepare(
      '2',
      'b',
      'create table b (id int);\ncreate index concurrently b_id on b (id);\ncreate table b2 (id int);',
    );
    const files = [await prepare('1', 'a', 'create table a (id int);'), { ...b, resumeAfter: 2 }];
    const plan = buildExecutionPlan(files, 'all');
    expect(outline(plan.units)).toEqual([
      {
        kind: 'transaction',
        steps: ['1:create table a (id int)', '1:record', '2:create table b2 (id int)', '2:record'],
      },
    ]);
    expect(plan.nonAtomic.get('2')).toEqual([
      'resumes at statement 3 (line 3): statements 1-2 were committed by an earlier run',
    ]);
  });

  it('a file whose statements all committed is only recorded', async () => {
    const b = await prepare('2', 'b', 'create table b (id int);\ncreate index concurrently b_id on b (id);');
    const plan = buildExecutionPlan([{ ...b, resumeAfter: 2 }], 'per-file');
    expect(outline(plan.units)).toEqual([{ kind: 'transaction', steps: ['2:record'] }]);
    expect(plan.nonAtomic.get('2')).toEqual([
      'resumes at its history row: statements 1-2 were committed by an earlier run',
    ]);
  });
});
