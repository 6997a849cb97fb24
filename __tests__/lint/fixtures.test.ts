/**
 * What the linter says about SQL we already know: the example schema in `migrations/` and the
 * real-world fixtures the apply tests run (helpers/real-world-sql.ts). Each set is linted as a
 * pending release (plan's view) and file by file (the `lint` command's view: a folder holds
 * applied files too); the findings must be exactly the expected ones, rule and position, and the
 * same SQL written the safe way must give no warning and no error.
 */
import { describe, expect, it } from '@jest/globals';
import { basename, join } from 'node:path';
import { lintMigrations } from '../../src/lint/index.js';
import type { LintReport } from '../../src/lint/types.js';
import { discoverMigrations } from '../../src/migrations/discover.js';
import { migrationsDir } from '../helpers/migrations.js';
import {
  ENUM_REVERT_REST,
  ENUM_REVERT_TYPE,
  ENUM_TYPE,
  ENUM_USE,
  MULTIBYTE_RUNTIME,
  MULTIBYTE_SYNTAX,
  REAL_WORLD_RELEASE,
} from '../helpers/real-world-sql.js';

const EXAMPLE = join(process.cwd(), 'migrations');

async function lintDir(dir: string, newTableScope: 'release' | 'file'): Promise<LintReport> {
  const set = await discoverMigrations(dir, process.cwd());
  return lintMigrations(set.migrations, { newTableScope });
}

const where = (report: LintReport) =>
  report.findings.map(
    (f) => `${basename(f.file ?? '(release)')}:${f.line}:${f.column} ${f.severity} ${f.rule}`,
  );

/** Warnings and errors only: what fails `plan` or `lint` at the default and the strict level. */
const loud = (report: LintReport) => where(report).filter((l) => !/ info /.test(l));

const noRls = (file: string, line: number) => `${file}:${line}:14 error rls-disabled-in-exposed-schema`;

/**
 * Row-level security and a policy for `table` (the safe pattern of the security rules): owners
 * only when the table has a uuid owner column, else readable by everyone.
 */
const secured = (table: string, owner?: string) =>
  `\nalter table public.${table} enable row level security;\n` +
  (owner
    ? `create policy "${table} owner" on public.${table} for all to authenticated using ((select auth.uid()) = ${owner});\n`
    : `create policy "${table} readable" on public.${table} for select to anon, authenticated using (true);\n`);

describe.each(['release', 'file'] as const)('expected findings (new tables scoped to the %s)', (scope) => {
  it('the example schema in migrations/: row-level security on its three public tables, no policy yet (info), nothing else', async () => {
    expect(where(await lintDir(EXAMPLE, scope))).toEqual([
      '20240101000000_create_users.sql:25:1 info rls-enabled-no-policy',
      '20240102000000_create_vaults.sql:17:1 info rls-enabled-no-policy',
      '20240103000000_create_artifacts.sql:20:1 info rls-enabled-no-policy',
    ]);
  });

  it('dollar quotes, DO blocks, CONCURRENTLY, a wrapped file, an empty file, CRLF and non-ASCII text', async () => {
    expect(where(await lintDir(migrationsDir(REAL_WORLD_RELEASE), scope))).toEqual([
      noRls('20240101000000_functions.sql', 3),
      '20240101000000_functions.sql:3:24 warning int-primary-key',
      noRls('20240102000000_index.sql', 1),
      '20240103000000_wrapped.sql:1:1 info transaction-control',
      noRls('20240103000000_wrapped.sql', 2),
      noRls('20240105000000_crlf.sql', 1),
      noRls('20240106000000_unicode.sql', 2),
    ]);
  });

  it('enum values added and used in one release, with and without down migrations', async () => {
    expect(where(await lintDir(migrationsDir({ ...ENUM_TYPE, ...ENUM_USE }), scope))).toEqual([
      noRls('3_use_value.sql', 1),
      noRls('4_more.sql', 1),
    ]);
    expect(where(await lintDir(migrationsDir({ ...ENUM_REVERT_TYPE, ...ENUM_REVERT_REST }), scope))).toEqual([
      noRls('2_table.sql', 1),
    ]);
  });

  it('multi-byte text: a runtime error is no lint finding; a syntax error is one, at the same line:column apply reports', async () => {
    expect(where(await lintDir(migrationsDir(MULTIBYTE_RUNTIME), scope))).toEqual([]);
    expect(where(await lintDir(migrationsDir(MULTIBYTE_SYNTAX), scope))).toEqual([
      '1_syntax.sql:2:17 error syntax-error',
    ]);
  });
});

describe('the same SQL written the safe way gives no warning and no error', () => {
  it('the example schema with row-level security and policies', async () => {
    const files: Record<string, string> = {};
    const owners: Record<string, [string, string | undefined]> = {
      '20240101000000_create_users.sql': ['users', 'id'],
      '20240102000000_create_vaults.sql': ['vaults', 'owner_id'],
      '20240103000000_create_artifacts.sql': ['artifacts', undefined],
    };
    const set = await discoverMigrations(EXAMPLE, process.cwd());
    for (const m of set.migrations) {
      const [table, owner] = owners[m.fileName];
      files[m.fileName] = m.up.source.slice(m.up.start, m.up.end) + secured(table, owner);
    }
    for (const scope of ['release', 'file'] as const)
      expect(where(await lintDir(migrationsDir(files), scope))).toEqual([]);
  });

  it('the real-world fixtures with RLS, a bigint key and no BEGIN … COMMIT wrapper', async () => {
    const safe = {
      ...REAL_WORLD_RELEASE,
      '20240101000000_functions.sql':
        REAL_WORLD_RELEASE['20240101000000_functions.sql'].replace(
          'id int primary key',
          'id bigint primary key',
        ) + secured('notes'),
      '20240102000000_index.sql': REAL_WORLD_RELEASE['20240102000000_index.sql'] + secured('events'),
      '20240103000000_wrapped.sql':
        'create table wrapped (id int);\ninsert into wrapped values (1);\n' + secured('wrapped'),
      '20240105000000_crlf.sql': REAL_WORLD_RELEASE['20240105000000_crlf.sql'] + secured('crlf'),
      '20240106000000_unicode.sql': REAL_WORLD_RELEASE['20240106000000_unicode.sql'] + secured('unicode_ok'),
    };
    for (const scope of ['release', 'file'] as const) {
      const report = await lintDir(migrationsDir(safe), scope);
      expect(loud(report)).toEqual([]);
      expect(where(report)).toEqual([]);
    }
  });
});
