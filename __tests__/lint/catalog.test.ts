/**
 * Catalog security checks of the rehearsed schema (issue 9, item 3): `plan` snapshots the catalog
 * inside its always-rolled-back rehearsal, before the first pending file and after the last, and
 * reports only the hazards the release introduces: also those made by dynamic SQL that no static
 * rule can read. The target is left exactly as it was.
 */
import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { catalogCheck } from '../../src/lint/catalog-check.js';
import {
  catalogSeverity,
  newSecurityFindings,
  securitySnapshot,
  withCatalogFindings,
  type CatalogFinding,
} from '../../src/lint/catalog.js';
import type { LintFinding } from '../../src/lint/types.js';
import { databaseState, databasesFor, query, testServers, withPg } from '../helpers/db.js';
import { addFiles, migrationsDir } from '../helpers/migrations.js';
import { runGuard } from '../helpers/run.js';
import { brief, lintSql } from '../helpers/lint.js';
import { liveTableSecurity } from '../../src/lint/live-security.js';

/**
 * What Supabase gives every project and a plain PostgreSQL lacks: the API roles (cluster-wide, so
 * created once and shared by parallel tests), the `auth` schema with `users` and `auth.uid()`, and
 * default privileges that grant the API roles everything created in `public`.
 */
const SUPABASE_LIKE = `
DO $$ BEGIN CREATE ROLE anon NOLOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;
DO $$ BEGIN CREATE ROLE authenticated NOLOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;
CREATE SCHEMA auth;
CREATE TABLE auth.users (id uuid PRIMARY KEY, email text);
CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE
  AS $$ SELECT nullif(current_setting('request.jwt.claim.sub', true), '')::uuid $$;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON TABLES TO anon, authenticated;
`;

/** Already in the database before the release: hazards the release did not introduce. */
const LEGACY = `
CREATE TABLE legacy (id int PRIMARY KEY);
CREATE FUNCTION legacy_definer() RETURNS int LANGUAGE sql SECURITY DEFINER AS 'SELECT 1';
CREATE VIEW legacy_view AS SELECT id FROM legacy;
INSERT INTO legacy VALUES (1), (2);
`;

const RELEASE = {
  // Dynamic SQL: no static rule sees a table here.
  '20240201000000_dynamic.sql': [
    'do $$',
    'begin',
    "  execute format('create table public.%I (id int primary key, body text)', 'dyn' || '_notes');",
    'end $$;',
    // Touching a legacy table does not make its old hazard new.
    'alter table legacy add column note text;',
  ].join('\n'),
  '20240202000000_safe_and_not.sql': [
    'create table safe (id int primary key, owner uuid);',
    'alter table safe enable row level security;',
    'create policy safe_owner on safe for select using ((select auth.uid()) = owner);',
    "create function f_fixed() returns int language sql security definer set search_path = '' as 'select 1';",
    "create function f_invoker() returns int language sql as 'select 1';",
    "create function f_mutable(n int) returns int language sql security definer as 'select n';",
    'create view v_invoker with (security_invoker = true) as select id from safe;',
    'create view v_definer as select id from safe;',
    'create view user_emails with (security_invoker = on) as select email from auth.users;',
    'grant select on auth.users to anon;',
  ].join('\n'),
};

/** The security-relevant catalog (RLS flags, privileges, policies, functions, views): works on any server. */
async function securityState(url: string): Promise<unknown> {
  return query(
    url,
    `SELECT c.relname, c.relkind, c.relrowsecurity, c.relacl::text, c.reloptions::text,
            (SELECT array_agg(polname ORDER BY polname) FROM pg_policy WHERE polrelid = c.oid) AS policies
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname IN ('public', 'auth')
     UNION ALL
     SELECT p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')', 'f', p.prosecdef,
            p.proacl::text, p.proconfig::text, NULL
       FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname IN ('public', 'auth')
      ORDER BY 1, 2`,
  );
}

/** `pg_dump --schema-only` (the machine's pg_dump is 15: it refuses a 17 server). */
function schemaDump(url: string): string {
  return execFileSync('pg_dump', ['--schema-only', '--exclude-schema=migration_guard', url], {
    encoding: 'utf8',
  })
    .split('\n')
    .filter((l) => !l.startsWith('--') && !/^\\(un)?restrict /.test(l))
    .join('\n');
}

const summary = (f: LintFinding) => `${f.source} ${f.severity} ${f.rule}: ${f.message}`;

describe.each(testServers())('catalog security checks of the rehearsed schema on $name', (server) => {
  const newDb = databasesFor(server);
  const canDump = server.name === 'pg15';

  it('plan reports what the release introduces (a table made by EXECUTE in a DO block, a definer function with a mutable search_path, a definer view, auth.users granted to anon), nothing that was there before, and leaves the target unchanged', async () => {
    const db = await newDb();
    await query(db.url, SUPABASE_LIKE);
    await query(db.url, LEGACY);
    const dir = migrationsDir({ '20240101000000_start.sql': 'create table start (id int);\n' });
    expect((await runGuard('apply', db.url, dir)).result.status).toBe('success');
    addFiles(dir, RELEASE);

    const before = await databaseState(db.url);
    const securityBefore = await securityState(db.url);
    const dumpBefore = canDump ? schemaDump(db.url) : '';

    const { result } = await runGuard('plan', db.url, dir);
    expect(result.error).toBeUndefined();
    // The rehearsal passed; the findings (errors) fail the plan at the default lint level.
    expect(result.status).toBe('failed');
    expect(result.message).toMatch(
      /lint finding\(s\) at or above error .*rehearsed and rolled back without error; nothing was changed\.$/s,
    );

    // Only the catalog can see the table made by dynamic SQL; the rest a static rule may report
    // first (plan then keeps one finding per object): either way each hazard is reported once.
    const findings = result.lint?.findings ?? [];
    const about = (rule: string, object: string) =>
      findings.filter(
        (f) => f.rule === rule && new RegExp(`\\b${object.replace('.', '\\.')}\\b`).test(f.message),
      );
    expect(about('rls-disabled-in-exposed-schema', 'public.dyn_notes').map((f) => f.source)).toEqual([
      'catalog',
    ]);
    expect(about('security-definer-search-path', 'public.f_mutable')).toHaveLength(1);
    expect(about('view-without-security-invoker', 'public.v_definer')).toHaveLength(1);
    expect(about('auth-users-exposed', 'public.user_emails')).toHaveLength(1);
    expect(about('auth-users-exposed', 'auth.users').filter((f) => /anon/.test(f.message))).toHaveLength(1);
    // Nothing about what was there before the release, nor about the safe objects.
    for (const name of [
      'legacy',
      'legacy_definer',
      'legacy_view',
      'safe',
      'f_fixed',
      'f_invoker',
      'v_invoker',
    ])
      expect(findings.filter((f) => f.message.includes(`public.${name} `))).toEqual([]);
    expect(result.lint!.counts.error).toBeGreaterThanOrEqual(4);

    // The target is as it was: schema, data, history, RLS flags, privileges, policies.
    expect(await databaseState(db.url)).toEqual(before);
    expect(await securityState(db.url)).toEqual(securityBefore);
    if (canDump) expect(schemaDump(db.url)).toBe(dumpBefore);
    expect(await query(db.url, "select to_regclass('public.dyn_notes') as t")).toEqual([{ t: null }]);
  });

  it('follows the lint config (exposed schemas, severities), and is off with lint: off', async () => {
    const db = await newDb();
    const dir = migrationsDir({
      '1_dynamic.sql':
        "create schema api;\ndo $$ begin execute 'create table api.items (id int)'; execute 'create table public.notes (id int)'; end $$;\n",
      'lint.yml': 'exposed-schemas: [api]\nrules:\n  rls-disabled-in-exposed-schema: warning\n',
    });
    const { result } = await runGuard('plan', db.url, dir, { 'lint-config': join(dir, 'lint.yml') });
    expect(result.status).toBe('success');
    expect(
      (result.lint?.findings ?? [])
        .filter((f) => f.source === 'catalog')
        .map((f) => `${f.severity} ${f.message}`),
    ).toEqual([expect.stringMatching(/^warning .*table api\.items /)]);

    const off = await runGuard('plan', db.url, dir, { lint: 'off' });
    expect(off.result.status).toBe('success');
    expect((off.result.lint?.findings ?? []).filter((f) => f.source === 'catalog')).toEqual([]);
  });

  it('the catalog diff of the same release, snapshot by snapshot: exactly the new hazards, with their messages', async () => {
    const db = await newDb();
    await query(db.url, SUPABASE_LIKE);
    await query(db.url, LEGACY);
    await withPg(db.url, async (client) => {
      await client.query('BEGIN');
      const before = await securitySnapshot(client);
      for (const sql of Object.values(RELEASE)) await client.query(sql);
      const after = await securitySnapshot(client);
      await client.query('ROLLBACK');
      expect(
        newSecurityFindings(before, after).map(({ finding, object }) => `${object} ${summary(finding)}`),
      ).toEqual([
        'auth.users catalog error auth-users-exposed: the schema this release leaves behind has anon SELECT granted on auth.users: user e-mails and metadata reach the API roles. Revoke it; expose a table of your own instead',
        'public.user_emails catalog error auth-users-exposed: the schema this release leaves behind has view public.user_emails in an exposed schema reading auth.users: user e-mails and metadata reach the API roles. Move it to a private schema or select from a table of your own',
        'public.dyn_notes catalog error rls-disabled-in-exposed-schema: the schema this release leaves behind has table public.dyn_notes in an exposed schema without row-level security: the API roles can read and write every row. Add ALTER TABLE public.dyn_notes ENABLE ROW LEVEL SECURITY and policies',
        "public.f_mutable catalog warning security-definer-search-path: the schema this release leaves behind has SECURITY DEFINER function public.f_mutable(n integer) without a fixed search_path: a caller's objects can shadow the ones it means. Add SET search_path = '' (and qualify names) to the function",
        "public.v_definer catalog error view-without-security-invoker: the schema this release leaves behind has view public.v_definer in an exposed schema that runs with its owner's rights, bypassing row-level security. Create it WITH (security_invoker = true) (PostgreSQL 15+)",
      ]);
      // The user's severities apply; a rule turned off is dropped.
      const configured = newSecurityFindings(
        before,
        after,
        catalogSeverity({ 'auth-users-exposed': 'off', 'security-definer-search-path': 'error' }),
      );
      expect(configured.map(({ finding }) => `${finding.severity} ${finding.rule}`)).toEqual([
        'error rls-disabled-in-exposed-schema',
        'error security-definer-search-path',
        'error view-without-security-invoker',
      ]);
    });
  });

  it('reports nothing for a release that only adds safe objects, and nothing when the rehearsal fails (no finished release to look at)', async () => {
    const db = await newDb();
    await query(db.url, SUPABASE_LIKE);
    await query(db.url, LEGACY);
    const dir = migrationsDir({
      '1_safe.sql':
        "create table safe (id int);\nalter table safe enable row level security;\ncreate function g() returns int language sql security definer set search_path = pg_catalog as 'select 1';\n",
    });
    const safe = await runGuard('plan', db.url, dir);
    expect(safe.result.status).toBe('success');
    expect((safe.result.lint?.findings ?? []).filter((f) => f.source === 'catalog')).toEqual([]);

    addFiles(dir, { '2_broken.sql': 'create table open_table (id int);\nselect 1 / 0;\n' });
    const broken = await runGuard('plan', db.url, dir);
    expect(broken.result.status).toBe('failed');
    expect((broken.result.lint?.findings ?? []).filter((f) => f.source === 'catalog')).toEqual([]);
  });

  it('on a plain PostgreSQL (no API roles in the database, no auth schema) a snapshot still works, and exposedSchemas chooses the schemas', async () => {
    const db = await newDb();
    await withPg(db.url, async (client) => {
      await client.query('BEGIN');
      const before = await securitySnapshot(client, ['api']);
      await client.query(
        'CREATE SCHEMA api; CREATE TABLE api.items (id int); CREATE TABLE public.other (id int)',
      );
      const after = await securitySnapshot(client, ['api']);
      await client.query('ROLLBACK');
      expect(
        newSecurityFindings(before, after).map(({ finding, object }) => `${finding.rule} ${object}`),
      ).toEqual(['rls-disabled-in-exposed-schema api.items']);
    });
  });

  it('liveTableSecurity gives the security rules the live RLS state: a grant on a live table without RLS is reported, on one with RLS not; RLS enabled on a live table without policies is reported', async () => {
    const db = await newDb();
    await query(
      db.url,
      'create table open_t (id int); create table closed_t (id int); alter table closed_t enable row level security; create policy p on closed_t using (true); create table bare (id int)',
    );
    const lookup = await withPg(db.url, (client) => liveTableSecurity(client));
    expect([lookup('public', 'open_t'), lookup('public', 'closed_t'), lookup('public', 'nope')]).toEqual([
      { rowSecurity: false, policies: 0 },
      { rowSecurity: true, policies: 1 },
      undefined,
    ]);
    const report = await lintSql(
      [
        'grant select on open_t to anon;\ngrant select on closed_t to anon;\nalter table bare enable row level security;\nalter table closed_t enable row level security;',
      ],
      { tableSecurity: lookup },
    );
    expect(brief(report)).toEqual([
      '1_m.sql:1:17 error grant-to-api-role-without-rls',
      '1_m.sql:3:1 info rls-enabled-no-policy',
    ]);
  });

  it('outside a transaction (a shadow database) the hooks take their snapshots without a savepoint', async () => {
    const db = await newDb();
    await withPg(db.url, async (client) => {
      const check = catalogCheck();
      await check.hooks.afterBegin!(client);
      await client.query('CREATE TABLE "MixedCase" (id int)');
      await check.hooks.beforeRollback!(client);
      expect(check.problem()).toBeUndefined();
      expect(check.findings()!.map(({ object }) => object)).toEqual(['public."MixedCase"']);
      // A static finding names it as parsed (no quotes): one finding per object all the same.
      const report = await lintSql(['create table "MixedCase" (id int);']);
      expect(withCatalogFindings(report, check.findings()!).findings.map((f) => f.source)).toEqual([
        'static',
      ]);
    });
  });

  it('a snapshot that fails is skipped under its savepoint: the rehearsal transaction goes on and the problem is said', async () => {
    const db = await newDb();
    await withPg(db.url, async (client) => {
      const check = catalogCheck({ exposedSchemas: ['public'] });
      await client.query('BEGIN');
      await check.hooks.afterBegin!(client);
      await client.query('CREATE TABLE t (id int)');
      // A client whose snapshot query fails (as one the role may not run would).
      const failing = {
        query: (sql: string, params?: unknown[]) =>
          client.query(sql.startsWith('\nSELECT') ? `${sql} ORDER BY no_such_column` : sql, params),
      };
      await check.hooks.beforeRollback!(failing as never);
      // The transaction is still usable: the failed query was undone to the savepoint.
      expect((await client.query('select count(*)::int as n from t')).rows).toEqual([{ n: 0 }]);
      await client.query('ROLLBACK');
      expect(check.findings()).toBeUndefined();
      expect(check.problem()).toMatch(/could not read the catalog: .*no_such_column/);
    });
  });
});

describe('withCatalogFindings', () => {
  const catalogFinding = (rule: string, object: string): CatalogFinding => ({
    finding: {
      rule,
      family: 'security',
      severity: 'error',
      message: `catalog says ${object}`,
      source: 'catalog',
    },
    object,
  });

  it('keeps one finding per object: a catalog finding the static rules already made (ignored or not) is dropped, the rest are added and counted', async () => {
    const report = await lintSql([
      'create table notes (id int);\n' +
        '-- migration-guard:ignore view-without-security-invoker a report for the service role only\n' +
        'create view public.report as select 1 as one;\n' +
        'create function f() returns int language sql security definer as $$ select 1 $$;\n',
    ]);
    expect(report.counts).toEqual({ error: 1, warning: 1, info: 0 });
    const merged = withCatalogFindings(report, [
      catalogFinding('rls-disabled-in-exposed-schema', 'public.notes'),
      catalogFinding('view-without-security-invoker', 'public.report'),
      catalogFinding('security-definer-search-path', 'public.f'),
      catalogFinding('rls-disabled-in-exposed-schema', 'public.dyn'),
      catalogFinding('security-definer-search-path', 'public.g'),
    ]);
    expect(merged.findings.map((f) => `${f.source} ${f.rule}${f.ignored ? ' (ignored)' : ''}`)).toEqual([
      'static rls-disabled-in-exposed-schema',
      'static view-without-security-invoker (ignored)',
      'static security-definer-search-path',
      'catalog rls-disabled-in-exposed-schema',
      'catalog security-definer-search-path',
    ]);
    expect(merged.findings.slice(3).map((f) => f.message)).toEqual([
      'catalog says public.dyn',
      'catalog says public.g',
    ]);
    expect(merged.counts).toEqual({ error: 3, warning: 1, info: 0 });
    // The report it was given is not changed.
    expect(report.findings).toHaveLength(3);
  });

  it('creates a report when the run had none', () => {
    expect(
      withCatalogFindings(undefined, [catalogFinding('auth-users-exposed', 'auth.users')]).counts.error,
    ).toBe(1);
  });
});
