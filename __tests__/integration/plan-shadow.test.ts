import { describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { refuseSameDatabase } from '../../src/db/shadow.js';
import { parseSettings } from '../../src/config/settings.js';
import { scrubberForInputs } from '../../src/config/run-scrubber.js';
import { databaseState, databasesFor, query, testServers, withPg, type TestServer } from '../helpers/db.js';
import { migrationsDir } from '../helpers/migrations.js';
import { capturingLogger, runGuard } from '../helpers/run.js';
import { newResult } from '../../src/commands/context.js';
import { rehearseOnShadow } from '../../src/commands/plan-shadow.js';
import { withSession } from '../../src/commands/session.js';
import type { Client } from '../../src/db/connect.js';
import { prepareMigrations } from '../../src/engine/prepare.js';
import { REAL_MAJOR, schemaDump, serverMajor } from '../backup/support.js';

const servers = testServers();
/** pg_dump on this machine can copy only the schema of a server no newer than itself. */
const dumpable = servers.filter((s) => serverMajor(s) <= REAL_MAJOR);
const tooNew = servers.filter((s) => serverMajor(s) > REAL_MAJOR);
const eachOf = (list: TestServer[]) =>
  list.length > 0 ? describe.each(list) : describe.skip.each([{ name: 'none', url: '' }]);

const BASE = `create table accounts (id bigint primary key, email text not null);
insert into accounts values (1, 'a@example.com'), (2, 'b@example.com');
create index accounts_email on accounts (email);
`;
const PENDING = {
  '2_add_plan.sql':
    'alter table accounts add column plan text;\ncreate table invoices (id int primary key, account bigint references accounts);\n',
  '3_drop_index.sql': 'drop index accounts_email;\ncreate view emails as select email from accounts;\n',
};

/** Applies 1_base.sql to the target; returns a folder holding it and the two pending files. */
async function appliedBase(url: string): Promise<string> {
  const { result } = await runGuard('apply', url, migrationsDir({ '1_base.sql': BASE }));
  expect(result.status).toBe('success');
  return migrationsDir({ '1_base.sql': BASE, ...PENDING });
}

eachOf(dumpable)('plan on a shadow database ($name)', (server) => {
  const newDb = databasesFor(server);

  it('copies the schema and history, applies the pending files there for real, reports each file, and leaves the target as it was', async () => {
    const [target, shadow] = [await newDb(), await newDb()];
    const dir = await appliedBase(target.url);
    const before = await databaseState(target.url);
    const dumpBefore = schemaDump(target.url);

    // The linter's verdict is another test's subject (these files leave a public table without RLS).
    const { result } = await runGuard('plan', target.url, dir, {
      'shadow-database-url': shadow.url,
      lint: 'off',
    });
    expect(result.status).toBe('success');
    expect(result.message).toMatch(
      /2 pending migration\(s\) applied without error on the shadow database .*the target was not changed/,
    );
    expect(result.rehearsal).toMatchObject({ ran: true, on: 'shadow' });
    expect(result.shadow).toMatchObject({ historyRows: 1, owners: true, privileges: true, notCopied: [] });
    expect(result.migrations.map((m) => [m.version, m.status, m.objects])).toEqual([
      [
        '2',
        'pending',
        {
          created: [
            'constraint invoices_account_fkey on public.invoices',
            'constraint invoices_pkey on public.invoices',
            'index public.invoices_pkey',
            'table public.invoices',
          ],
          altered: ['table public.accounts'],
          dropped: [],
        },
      ],
      [
        '3',
        'pending',
        { created: ['view public.emails'], altered: [], dropped: ['index public.accounts_email'] },
      ],
    ]);
    // The target: schema, data, history and checksums exactly as before, by pg_dump too.
    expect(await databaseState(target.url)).toEqual(before);
    expect(schemaDump(target.url)).toEqual(dumpBefore);
    // The shadow: the target's schema, no data, and the history as apply would leave it.
    expect(await query(shadow.url, 'select count(*)::int as n from accounts')).toEqual([{ n: 0 }]);
    expect(
      (
        await query(shadow.url, 'select version from supabase_migrations.schema_migrations order by version')
      ).map((r) => r.version),
    ).toEqual(['1', '2', '3']);
    expect(await query(shadow.url, "select to_regclass('public.emails')::text as v")).toEqual([
      { v: 'emails' },
    ]);
    expect(await query(shadow.url, "select to_regclass('migration_guard.runs') as v")).toEqual([{ v: null }]);

    // A second plan resets the shadow it prepared and starts again from the target's schema.
    const again = await runGuard('plan', target.url, dir, { 'shadow-database-url': shadow.url, lint: 'off' });
    expect(again.result.status).toBe('success');
    expect(again.result.migrations.map((m) => m.objects?.created.length)).toEqual([4, 1]);
    expect(await query(shadow.url, 'select count(*)::int as n from migration_guard_shadow.prepared')).toEqual(
      [{ n: 1 }],
    );
    expect(await databaseState(target.url)).toEqual(before);
  });

  it('runs the catalog security checks on the shadow: a public table made by dynamic SQL is found there, the target untouched', async () => {
    const [target, shadow] = [await newDb(), await newDb()];
    await appliedBase(target.url);
    const dir = migrationsDir({
      '1_base.sql': BASE,
      '2_dynamic.sql': "do $$ begin execute 'create table public.dyn_notes (id int)'; end $$;\n",
    });
    const before = await databaseState(target.url);
    const { result } = await runGuard('plan', target.url, dir, { 'shadow-database-url': shadow.url });
    expect(result.rehearsal?.on).toBe('shadow');
    const found = (result.lint?.findings ?? []).filter(
      (f) => f.rule === 'rls-disabled-in-exposed-schema' && /public\.dyn_notes/.test(f.message),
    );
    expect(found.map((f) => f.source)).toEqual(['catalog']);
    // An error at the default lint level: the plan fails, having changed nothing on the target.
    expect(result.status).toBe('failed');
    expect(await databaseState(target.url)).toEqual(before);
  });

  it('reports the file that fails on the shadow, and the files after it as not run; the target is unchanged', async () => {
    const [target, shadow] = [await newDb(), await newDb()];
    await appliedBase(target.url);
    const dir = migrationsDir({
      '1_base.sql': BASE,
      '2_ok.sql': 'create table notes (id int);\n',
      '3_bad.sql': 'create table more (id int);\nalter table accounts add column email text;\n',
      '4_after.sql': 'create table later (id int);\n',
    });
    const before = await databaseState(target.url);
    const { result } = await runGuard('plan', target.url, dir, { 'shadow-database-url': shadow.url });
    expect(result.status).toBe('failed');
    expect(result.message).toMatch(
      /3_bad\.sql:2:\d+: column "email" of relation "accounts" already exists\. apply would fail here \(rehearsed for real on the shadow database .*\); the target was not changed/,
    );
    expect(result.migrations.map((m) => [m.version, m.status])).toEqual([
      ['2', 'pending'],
      ['3', 'failed'],
      ['4', 'not-run'],
    ]);
    // The failed file's transaction was rolled back on the shadow: it created nothing there.
    expect(result.migrations[1].objects).toEqual({ created: [], altered: [], dropped: [] });
    expect(await databaseState(target.url)).toEqual(before);
  });

  it('refuses a shadow database that holds something plan did not put there, and touches neither database', async () => {
    const [target, shadow] = [await newDb(), await newDb()];
    const dir = await appliedBase(target.url);
    await query(shadow.url, 'create table precious (id int); insert into precious values (42)');
    const before = await databaseState(target.url);
    const shadowBefore = schemaDump(shadow.url);
    const { result } = await runGuard('plan', target.url, dir, { 'shadow-database-url': shadow.url });
    expect(result.status).toBe('failed');
    expect(result.message).toMatch(
      /shadow database .* is not empty and was not prepared by plan \(it holds relation public\.precious\).*Nothing was changed/,
    );
    expect(result.error?.hint).toMatch(/new, empty database/);
    expect(schemaDump(shadow.url)).toEqual(shadowBefore);
    expect(await query(shadow.url, 'select id from precious')).toEqual([{ id: 42 }]);
    expect(await databaseState(target.url)).toEqual(before);
  });

  it('gives up copying the schema when another session holds a lock on the target, within the lock timeout, and says so', async () => {
    const [target, shadow] = [await newDb(), await newDb()];
    const dir = await appliedBase(target.url);
    const before = await databaseState(target.url);
    await withPg(target.url, async (holder) => {
      await holder.query('begin; lock table accounts in access exclusive mode');
      const { result } = await runGuard('plan', target.url, dir, {
        'shadow-database-url': shadow.url,
        'lock-timeout': '500ms',
      });
      await holder.query('rollback');
      expect(result.status).toBe('failed');
      expect(result.message).toMatch(
        /pg_dump gave up copying the schema of .*another session holds a lock on a table \(pg_dump waited 500 ms, the lock-timeout/,
      );
    });
    expect(await databaseState(target.url)).toEqual(before);
  });

  it('copies without owners when the shadow user is not a superuser, and says so', async () => {
    const [target, shadow] = [await newDb(), await newDb()];
    const dir = await appliedBase(target.url);
    const user = `mg_shadow_${randomBytes(4).toString('hex')}`;
    await query(server.url, `create role ${user} login password 'pw-${user}'`);
    try {
      await query(server.url, `alter database ${shadow.name} owner to ${user}`);
      await query(shadow.url, `alter schema public owner to ${user}`);
      const url = new URL(shadow.url);
      [url.username, url.password] = [user, `pw-${user}`];
      const { result } = await runGuard('plan', target.url, dir, {
        'shadow-database-url': url.toString(),
        lint: 'off',
      });
      expect(result.status).toBe('success');
      expect(result.shadow).toMatchObject({ owners: false, privileges: true, rolesCreated: [] });
      expect(result.shadow?.notes).toContainEqual(expect.stringMatching(/owners not kept \(--no-owner\)/));
      expect(
        await query(shadow.url, "select tableowner from pg_tables where tablename = 'accounts'"),
      ).toEqual([{ tableowner: user }]);
    } finally {
      await shadow.drop();
      await query(server.url, `drop role if exists ${user}`);
    }
  });

  it('lets a catalog check look at the shadow after the copy and after the last file (the security checks’ seam)', async () => {
    const [target, shadow] = [await newDb(), await newDb()];
    const dir = await appliedBase(target.url);
    const raw = {
      command: 'plan',
      'database-url': target.url,
      'migrations-dir': dir,
      'shadow-database-url': shadow.url,
    };
    const ctx = {
      settings: parseSettings(raw),
      logger: capturingLogger([]),
      run: { actor: 'jest@test' },
      scrubber: scrubberForInputs(raw),
    };
    const seen: string[] = [];
    const tables = async (client: Client) => {
      const { rows } = await client.query<{ t: string[] }>(
        "select array_agg(tablename::text order by tablename) as t from pg_tables where schemaname = 'public'",
      );
      // Inside a transaction of its own: a savepoint works there.
      await client.query('SAVEPOINT probe; RELEASE SAVEPOINT probe');
      seen.push(rows[0].t.join(','));
    };
    const ran = await withSession(ctx, newResult(ctx), { lock: false }, async (session) =>
      rehearseOnShadow(ctx, session, await prepareMigrations(session.plan.pending), {
        afterBegin: tables,
        beforeRollback: tables,
      }),
    );
    expect(ran.failure).toBeUndefined();
    expect(seen).toEqual(['accounts', 'accounts,invoices']);
  });

  it('refuses the target itself reached under another address, once connected', async () => {
    const target = await newDb();
    await withPg(target.url, (a) =>
      withPg(target.url, async (b) => {
        await expect(refuseSameDatabase(a as never, b as never, 'x')).rejects.toThrow(
          /reaches the target database itself \(x\) under another address/,
        );
      }),
    );
    const other = await newDb();
    await withPg(target.url, (a) =>
      withPg(other.url, (b) => refuseSameDatabase(a as never, b as never, 'x')),
    );
  });
});

// The servers of two majors are two clusters: roles made on one do not exist on the other.
const crossCluster =
  dumpable.length > 0 && tooNew.length > 0
    ? [{ name: `${dumpable[0].name} → ${tooNew[0].name}`, from: dumpable[0], to: tooNew[0] }]
    : [];
(crossCluster.length
  ? describe.each(crossCluster)
  : describe.skip.each([{ name: 'none', from: servers[0], to: servers[0] }]))(
  'plan on a shadow database in another server ($name)',
  ({ from, to }) => {
    const newTarget = databasesFor(from);
    const newShadow = databasesFor(to);

    it('creates the roles the schema names (NOLOGIN) so owners, grants and policies copy as they are', async () => {
      const [target, shadow] = [await newTarget(), await newShadow()];
      const role = `mg_role_${randomBytes(4).toString('hex')}`;
      await query(from.url, `create role ${role} nologin`);
      try {
        await query(
          target.url,
          `create table owned (id int); alter table owned owner to ${role}; alter table owned enable row level security;
           create policy readers on owned for select to ${role} using (true)`,
        );
        const dir = migrationsDir({ '1_more.sql': 'alter table owned add column note text;\n' });
        const { result, logs } = await runGuard('plan', target.url, dir, {
          'shadow-database-url': shadow.url,
        });
        expect(result.status).toBe('success');
        // The shadow's own password (another server's) is a secret like the target's.
        const shadowPassword = decodeURIComponent(new URL(to.url).password);
        expect(JSON.stringify(result) + logs.join('\n')).not.toContain(shadowPassword);
        expect(JSON.stringify(result)).toContain(result.shadow!.display);
        expect(result.shadow?.rolesCreated).toContain(role);
        expect(
          await query(shadow.url, `select rolcanlogin from pg_roles where rolname = $1`, [role]),
        ).toEqual([{ rolcanlogin: false }]);
        expect(await query(shadow.url, "select tableowner from pg_tables where tablename = 'owned'")).toEqual(
          [{ tableowner: role }],
        );
        expect(result.migrations[0].objects?.altered).toEqual(['table public.owned']);
      } finally {
        await query(target.url, 'drop table if exists owned').catch(() => {});
        await withPg(to.url, async (c) => {
          const dbs = await c.query<{ datname: string }>(
            "select datname from pg_database where datname like 'mg_%'",
          );
          for (const { datname } of dbs.rows)
            await withPg(to.url.replace(/\/postgres$/, `/${datname}`), (d) =>
              d.query(`drop owned by ${role}`).catch(() => {}),
            );
          await c.query(`drop role if exists ${role}`);
        }).catch(() => {});
        await query(from.url, `drop role if exists ${role}`).catch(() => {});
      }
    });
  },
);

eachOf(tooNew)('plan on a shadow database ($name, newer than this machine’s pg_dump)', (server) => {
  const newDb = databasesFor(server);

  it('stops before touching the shadow when no pg_dump can copy the target, saying how to fix it', async () => {
    const [target, shadow] = [await newDb(), await newDb()];
    const dir = await appliedBase(target.url);
    const before = await databaseState(target.url);
    const { result } = await runGuard('plan', target.url, dir, { 'shadow-database-url': shadow.url });
    expect(result.status).toBe('failed');
    expect(result.message).toMatch(/No pg_dump of PostgreSQL \d+ or newer was found/);
    expect(result.error?.hint).toMatch(/pg-dump-path/);
    expect(await query(shadow.url, "select to_regnamespace('migration_guard_shadow') as v")).toEqual([
      { v: null },
    ]);
    expect(await databaseState(target.url)).toEqual(before);
  });
});

describe('shadow-database-url', () => {
  const url = 'postgres://u:secret@db.example.com:5432/app';
  it('is refused when it names the target database itself (same host, port and database)', () => {
    expect(() =>
      parseSettings({ 'database-url': url, 'shadow-database-url': 'postgres://other:pw@DB.example.com/app' }),
    ).toThrow(
      /shadow-database-url: it names the same database as database-url \(db\.example\.com:5432\/app\)/,
    );
    expect(() =>
      parseSettings({
        'database-url': 'postgres://u:p@localhost:5432/app',
        'shadow-database-url': 'postgres://u:p@127.0.0.1:5432/app',
      }),
    ).toThrow(/same database/);
  });
  it('is registered with the run scrubber as a secret', () => {
    const scrubber = scrubberForInputs({
      'database-url': url,
      'shadow-database-url': 'postgres://u:sh4dow-pw@shadow.example.com/scratch',
    });
    expect(
      scrubber.scrub('failed: postgres://u:sh4dow-pw@shadow.example.com/scratch, pw sh4dow-pw'),
    ).not.toMatch(/sh4dow-pw/);
  });
  it('is accepted for another database on the same server', () => {
    const settings = parseSettings({
      'database-url': url,
      'shadow-database-url': 'postgres://u:secret@db.example.com:5432/shadow',
    });
    expect(settings.shadowDatabase?.database).toBe('shadow');
  });
});
