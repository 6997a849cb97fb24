/**
 * The Supabase security rules (src/lint/rules/security.ts): for each, SQL that triggers it at an
 * exact file:line:column and the safe pattern that does not; release-level rules see a later fix
 * in the same release; live RLS state (plan) decides what static reading cannot.
 */
import { describe, expect, it } from '@jest/globals';
import { SECURITY_RULES } from '../../src/lint/rules/security.js';
import { brief, lintSql } from '../helpers/lint.js';
import type { LintOptions } from '../../src/lint/index.js';

/** Only the security rules, so each case shows exactly what they report. */
const lint = (files: string[], options: LintOptions = {}) =>
  lintSql(files, { rules: SECURITY_RULES, ...options }).then(brief);
/** The grant rule and the rule that reports public tables without RLS (RLS without policies is another rule's business). */
const lintGrants = (files: string[], options: LintOptions = {}) =>
  lint(files, options).then((lines) => lines.filter((l) => !l.includes('rls-enabled-no-policy')));
const messages = (files: string[], options: LintOptions = {}) =>
  lintSql(files, { rules: SECURITY_RULES, ...options }).then((r) => r.findings.map((f) => f.message));

describe('rls-disabled-in-exposed-schema', () => {
  it('reports a table created in public (named or not) that the release never puts under RLS, at its name', async () => {
    expect(
      await lint(['create table public.notes (id int);\n  create table todos (id int);\n', 'select 1;']),
    ).toEqual([
      '1_m.sql:1:14 error rls-disabled-in-exposed-schema',
      '1_m.sql:2:16 error rls-disabled-in-exposed-schema',
    ]);
    expect((await messages(['create table notes (id int);']))[0]).toBe(
      "Table public.notes is created in exposed schema public and the release never enables row-level security on it: the API's anon and authenticated roles can read and change every row. Add ALTER TABLE public.notes ENABLE ROW LEVEL SECURITY and the policies its callers need",
    );
  });

  it('also CREATE TABLE … AS, and a table that is moved into an exposed schema', async () => {
    expect(
      await lint([
        'create table copy as select 1 as one;\ncreate table private.t (id int);\nalter table private.t set schema public;',
      ]),
    ).toEqual([
      '1_m.sql:1:14 error rls-disabled-in-exposed-schema',
      '1_m.sql:2:14 error rls-disabled-in-exposed-schema',
    ]);
  });

  it('is silent when RLS is enabled anywhere in the release (a later file too), for temporary, dropped and private tables, and for other exposed schemas only when configured', async () => {
    expect(
      await lint([
        'create table notes (id int);\ncreate policy p on notes using (true);',
        'alter table notes enable row level security;\ncreate temporary table scratch (id int);\ncreate table gone (id int);\ndrop table gone;\ncreate table private.p (id int);\ncreate table api.items (id int);',
      ]),
    ).toEqual([]);
    expect(await lint(['create table api.items (id int);'], { exposedSchemas: ['public', 'api'] })).toEqual([
      '1_m.sql:1:14 error rls-disabled-in-exposed-schema',
    ]);
  });

  it('follows a rename: RLS enabled under the new name counts; disabling it again is reported', async () => {
    expect(
      await lint([
        'create table a (id int);\nalter table a rename to b;\nalter table b enable row level security;\ncreate policy p on b using (true);',
      ]),
    ).toEqual([]);
    expect(
      await lint([
        'create table a (id int);\nalter table a enable row level security;\ncreate policy p on a using (true);\nalter table a disable row level security;',
      ]),
    ).toEqual(['1_m.sql:1:14 error rls-disabled-in-exposed-schema']);
  });
});

describe('rls-enabled-no-policy', () => {
  it('reports a created table whose RLS is enabled without any policy in the release, at the ENABLE', async () => {
    expect(
      await lint(['create table invoices (id int);\nalter table invoices enable row level security;']),
    ).toEqual(['1_m.sql:2:1 info rls-enabled-no-policy']);
  });

  it('is silent once a policy exists (in a later file too) or when an ignore gives the reason', async () => {
    expect(
      await lint([
        'create table invoices (id int);\nalter table invoices enable row level security;',
        'create policy "read own" on public.invoices for select using (true);',
      ]),
    ).toEqual([]);
    expect(
      await lint([
        'create table secrets (id int);\n-- migration-guard:ignore rls-enabled-no-policy only the service role reads it\nalter table secrets enable row level security;',
      ]),
    ).toEqual(['1_m.sql:3:1 info rls-enabled-no-policy ignored(only the service role reads it)']);
  });

  it('a table the release did not create is reported only when the live database says it has no policy', async () => {
    const sql = ['alter table old enable row level security;'];
    expect(await lint(sql)).toEqual([]);
    const live = (policies: number): LintOptions => ({
      tableSecurity: (schema, table) =>
        schema === 'public' && table === 'old' ? { rowSecurity: false, policies } : undefined,
    });
    expect(await lint(sql, live(0))).toEqual(['1_m.sql:1:1 info rls-enabled-no-policy']);
    expect(await lint(sql, live(2))).toEqual([]);
  });
});

describe('grant-to-api-role-without-rls', () => {
  it('reports a grant to anon, authenticated or PUBLIC on a table known to be without RLS, at the table', async () => {
    expect(
      await lintGrants([
        'create table private.audit (id int);\ngrant select on private.audit to authenticated;\ngrant all on table private.audit to public;',
      ]),
    ).toEqual([
      '1_m.sql:2:17 error grant-to-api-role-without-rls',
      '1_m.sql:3:20 error grant-to-api-role-without-rls',
    ]);
    expect(
      (
        await messages([
          'create table private.audit (id int);\ngrant select on private.audit to anon, service_role;',
        ])
      )[0],
    ).toBe(
      'GRANT to anon on private.audit, whose row-level security is off: the grant hands them every row. Enable row-level security on private.audit (with policies) before granting',
    );
  });

  it('is silent when RLS is enabled earlier in the release or later in the same file, for other roles, and for a public table (its own rule reports it)', async () => {
    expect(
      await lintGrants([
        'create table private.a (id int);\nalter table private.a enable row level security;',
        'grant select on private.a to anon;\ncreate table private.b (id int);\ngrant select on private.b to authenticated;\nalter table private.b enable row level security;\ngrant select on private.c to service_role;',
      ]),
    ).toEqual([]);
    expect(await lintGrants(['create table notes (id int);\ngrant select on notes to anon;'])).toEqual([
      '1_m.sql:1:14 error rls-disabled-in-exposed-schema',
    ]);
  });

  it('RLS enabled only in a later file leaves the grant reported (per-file mode commits the grant first)', async () => {
    expect(
      await lintGrants([
        'create table private.b (id int);\ngrant select on private.b to anon;',
        'alter table private.b enable row level security;',
      ]),
    ).toEqual(['1_m.sql:2:17 error grant-to-api-role-without-rls']);
  });

  it('a table the release did not create: quiet without a database, and the live table decides with one', async () => {
    const sql = ['grant select, insert on public.old to anon;'];
    expect(await lintGrants(sql)).toEqual([]);
    const live = (rowSecurity: boolean): LintOptions => ({
      tableSecurity: () => ({ rowSecurity, policies: 0 }),
    });
    expect(await lintGrants(sql, live(false))).toEqual(['1_m.sql:1:25 error grant-to-api-role-without-rls']);
    expect(await lintGrants(sql, live(true))).toEqual([]);
  });
});

describe('security-definer-search-path', () => {
  it('reports a definer function or procedure without SET search_path, at the statement', async () => {
    expect(
      await lint([
        'select 1;\ncreate or replace function public.is_admin() returns boolean language sql security definer as $$ select true $$;\ncreate procedure p() language sql security definer as $$ select 1 $$;',
      ]),
    ).toEqual([
      '1_m.sql:2:1 warning security-definer-search-path',
      '1_m.sql:3:1 warning security-definer-search-path',
    ]);
  });

  it("is silent with search_path '' / pg_catalog / FROM CURRENT, for invoker functions, and when a later ALTER FUNCTION fixes it", async () => {
    expect(
      await lint([
        "create function a() returns int language sql security definer set search_path = '' as 'select 1';\n" +
          "create function b() returns int language sql security definer set search_path to pg_catalog, public as 'select 1';\n" +
          "create function c() returns int language sql security definer set search_path from current as 'select 1';\n" +
          "create function d() returns int language sql security invoker as 'select 1';\n" +
          "create function e() returns int language sql as 'select 1';\n" +
          "create function f() returns int language sql security definer as 'select 1';",
        "alter function f() set search_path = '';",
      ]),
    ).toEqual([]);
  });

  it('reports ALTER FUNCTION … SECURITY DEFINER on a function whose search_path the release does not fix', async () => {
    expect(await lint(['alter function public.old() security definer;'])).toEqual([
      '1_m.sql:1:1 warning security-definer-search-path',
    ]);
  });
});

describe('view-without-security-invoker', () => {
  it('reports a view in an exposed schema without security_invoker, at its name', async () => {
    expect(
      await lint([
        'create view public.open_tasks as select 1 as one;\ncreate or replace view v2 with (security_barrier) as select 1 as one;',
      ]),
    ).toEqual([
      '1_m.sql:1:13 error view-without-security-invoker',
      '1_m.sql:2:24 error view-without-security-invoker',
    ]);
  });

  it('is silent with security_invoker (true, on, 1 or bare), after ALTER VIEW … SET (security_invoker = on), and for private schemas and temporary views', async () => {
    expect(
      await lint([
        'create view a with (security_invoker = true) as select 1 as one;\n' +
          'create view b with (security_invoker = on) as select 1 as one;\n' +
          'create view c with (security_invoker = 1) as select 1 as one;\n' +
          'create view d with (security_invoker) as select 1 as one;\n' +
          'create view e as select 1 as one;\n' +
          'create view private.f as select 1 as one;\n' +
          'create temporary view g as select 1 as one;',
        'alter view e set (security_invoker = on);',
      ]),
    ).toEqual([]);
    expect(await lint(['create view a with (security_invoker = false) as select 1 as one;'])).toEqual([
      '1_m.sql:1:13 error view-without-security-invoker',
    ]);
  });
});

describe('auth-users-exposed', () => {
  it('reports a view in an exposed schema reading auth.users (at the reference) and a grant on it to the API roles', async () => {
    expect(
      await lint([
        'create view public.directory with (security_invoker = true) as\n  select p.id, u.email from public.profiles p join auth.users u on u.id = p.id;\n' +
          'grant select (email) on auth.users to authenticated;',
      ]),
    ).toEqual(['1_m.sql:2:52 error auth-users-exposed', '1_m.sql:3:25 error auth-users-exposed']);
  });

  it('is silent for a view in a private schema, a grant to service_role, and a foreign key to auth.users', async () => {
    expect(
      await lint([
        'create view private.directory as select id, email from auth.users;\n' +
          'grant select on auth.users to service_role;\n' +
          'create table profiles (id uuid primary key references auth.users (id));\nalter table profiles enable row level security;\ncreate policy p on profiles using (true);',
      ]),
    ).toEqual([]);
  });
});

describe('auth-function-unwrapped-in-policy', () => {
  it('reports auth.uid() / auth.jwt() / auth.role() called per row in USING or WITH CHECK, at the first call', async () => {
    expect(
      await lint([
        'create policy p on notes for select using (owner = auth.uid());\n' +
          "create policy q on notes for insert with check ((auth.jwt() ->> 'role') = 'admin');\n" +
          'alter policy p on notes using (exists (select 1 from members m where m.user_id = auth.uid()));',
      ]),
    ).toEqual([
      '1_m.sql:1:52 warning auth-function-unwrapped-in-policy',
      '1_m.sql:2:50 warning auth-function-unwrapped-in-policy',
      '1_m.sql:3:82 warning auth-function-unwrapped-in-policy',
    ]);
    expect((await messages(['create policy p on notes using (owner = auth.uid());']))[0]).toBe(
      'Policy p on public.notes calls auth.uid() directly, so it is evaluated again for every row: write (select auth.uid()) so PostgreSQL computes it once per statement',
    );
  });

  it('is silent for (select auth.uid()), also inside a sub-query, and for other functions', async () => {
    expect(
      await lint([
        'create policy p on notes using ((select auth.uid()) = owner);\n' +
          "create policy q on notes with check ((select auth.jwt() ->> 'role') = 'admin' and now() > created_at);\n" +
          'create policy r on notes using (exists (select 1 from members m where m.user_id = (select auth.uid())));',
      ]),
    ).toEqual([]);
  });
});

describe('security rules together', () => {
  it('a Supabase-style release written the safe way reports nothing', async () => {
    expect(
      await lintSql([
        [
          'create table public.profiles (',
          '  id uuid primary key references auth.users (id) on delete cascade,',
          '  display_name text',
          ');',
          'alter table public.profiles enable row level security;',
          'create policy "profiles readable" on public.profiles for select to anon, authenticated using (true);',
          'create policy "own profile" on public.profiles for update to authenticated',
          '  using ((select auth.uid()) = id) with check ((select auth.uid()) = id);',
          'grant select on public.profiles to anon, authenticated;',
          "create function public.handle_new_user() returns trigger language plpgsql security definer set search_path = '' as $$",
          'begin',
          '  insert into public.profiles (id) values (new.id);',
          '  return new;',
          'end $$;',
          'create view public.profile_names with (security_invoker = true) as select id, display_name from public.profiles;',
        ].join('\n'),
      ]).then((r) => r.findings.filter((f) => f.family === 'security')),
    ).toEqual([]);
  });
});
