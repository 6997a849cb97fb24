import { afterAll, afterEach, beforeAll, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { copyFileSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { takeBackup } from '../../src/backup/backup.js';
import { findPgTools, type PgTools } from '../../src/backup/pg-tools.js';
import { createProcessRunner } from '../../src/backup/process.js';
import { restoreBackup } from '../../src/backup/restore.js';
import { silentLogger } from '../../src/logger.js';
import { freshDatabase, query, testServers, urlForDatabase, withPg } from '../helpers/db.js';
import {
  capture,
  contents,
  eachServer,
  REAL_MAJOR,
  schemaDump,
  serverMajor,
  targetOf,
  tempDir,
  removeTempDirs,
  failure,
} from './support.js';

afterAll(removeTempDirs);

const runner = createProcessRunner();
const servers = testServers().map((s) => ({ ...s, major: serverMajor(s) }));

async function state(url: string) {
  return { schema: schemaDump(url), data: await contents(url) };
}

const SCHEMA = `
  CREATE EXTENSION pgcrypto;
  CREATE TYPE mood AS ENUM ('happy', 'sad');
  CREATE TABLE users (id serial PRIMARY KEY, email text UNIQUE NOT NULL, mood mood,
                      token text DEFAULT encode(gen_random_bytes(4), 'hex'));
  COMMENT ON TABLE users IS 'people';
  CREATE TABLE posts (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                      user_id int REFERENCES users (id) ON DELETE CASCADE, body text);
  CREATE INDEX posts_user ON posts (user_id);
  CREATE VIEW user_posts AS SELECT u.email, count(p.id) AS n FROM users u LEFT JOIN posts p ON p.user_id = u.id GROUP BY u.email;
  CREATE FUNCTION tidy() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN NEW.body := trim(NEW.body); RETURN NEW; END$$;
  CREATE TRIGGER posts_tidy BEFORE INSERT ON posts FOR EACH ROW EXECUTE FUNCTION tidy();
  ALTER TABLE posts ENABLE ROW LEVEL SECURITY;
  CREATE POLICY readable ON posts FOR SELECT USING (true);
  CREATE TABLE doomed (id int PRIMARY KEY);
  CREATE SCHEMA app;
  CREATE TABLE app.settings (key text PRIMARY KEY, value jsonb);
  CREATE SCHEMA supabase_migrations;
  CREATE TABLE supabase_migrations.schema_migrations (version text PRIMARY KEY, statements text[], name text);
  INSERT INTO users (email, mood) SELECT 'user' || g || '@example.com', 'happy' FROM generate_series(1, 300) g;
  INSERT INTO posts (user_id, body) SELECT (g % 300) + 1, '  post ' || g || '  ' FROM generate_series(1, 1000) g;
  INSERT INTO doomed SELECT generate_series(1, 10);
  INSERT INTO app.settings VALUES ('theme', '{"dark": true}');
  INSERT INTO supabase_migrations.schema_migrations VALUES ('1', '{}', 'init');`;

const CHANGES = `
  INSERT INTO users (email) VALUES ('new@example.com');
  DELETE FROM posts WHERE id <= 10;
  UPDATE users SET email = 'changed@example.com', mood = 'sad' WHERE id = 2;
  ALTER TABLE users ADD COLUMN age int;
  ALTER TYPE mood ADD VALUE 'meh';
  CREATE TABLE brand_new (x int);
  INSERT INTO brand_new VALUES (1);
  DROP TABLE doomed;
  DROP VIEW user_posts;
  CREATE OR REPLACE FUNCTION tidy() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
  CREATE SCHEMA later;
  CREATE TABLE later.t (i int);
  CREATE EXTENSION citext;
  ALTER TABLE app.settings ADD COLUMN note citext;
  UPDATE app.settings SET value = '{}';
  INSERT INTO supabase_migrations.schema_migrations VALUES ('2', '{}', 'second');`;

eachServer(servers.filter((s) => s.major <= REAL_MAJOR))('restore on $name', (server) => {
  let tools: PgTools;
  const cleanups: Array<() => Promise<unknown>> = [];
  beforeAll(async () => {
    tools = await findPgTools({ serverMajor: server.major, runner, logger: silentLogger });
  });
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!();
  });
  const newDb = async (sql = SCHEMA) => {
    const db = await freshDatabase(server);
    cleanups.push(db.drop);
    if (sql) await query(db.url, sql);
    return db;
  };
  const backup = (url: string) =>
    takeBackup({
      target: targetOf(url),
      dir: tempDir('dumps'),
      environment: 'test',
      tools,
      runner,
      logger: silentLogger,
    });

  it('makes the database equal to the backup: rows, columns, tables, schemas, types, sequences', async () => {
    const db = await newDb();
    const info = await backup(db.url);
    const before = await state(db.url);
    await query(db.url, CHANGES);
    expect((await state(db.url)).schema).not.toBe(before.schema);

    const logger = capture();
    const result = await restoreBackup({
      target: targetOf(db.url),
      path: info.path,
      expectedSha256: info.sha256,
      tools,
      runner,
      logger,
    });

    const after = await state(db.url);
    expect(after.schema).toBe(before.schema);
    expect(after.data).toEqual(before.data);
    expect(result.droppedSchemas).toEqual(['later']);
    expect(result.restoredSchemas).toEqual(['app', 'public', 'supabase_migrations']);
    expect(result.keptSchemas).toEqual([]);
    expect(result.sha256).toBe(info.sha256);
    expect(result.entries).toBe(info.entries);
    const extensions = await query(db.url, 'SELECT extname FROM pg_extension ORDER BY 1');
    expect(extensions.map((e) => e.extname)).toEqual(['pgcrypto', 'plpgsql']);
    const posts = await query(
      db.url,
      "INSERT INTO posts (user_id, body) VALUES (1, '  x  ') RETURNING id, body",
    );
    expect(posts).toEqual([{ id: '1001', body: 'x' }]);
    expect(logger.lines.join('\n')).not.toContain('warn:');
  });

  it('round-trips many kinds of objects, global ones dropped since the backup included', async () => {
    const db = await newDb(`
      CREATE SCHEMA app;
      CREATE DOMAIN app.posint AS int CHECK (VALUE > 0);
      CREATE TYPE pair AS (a int, b text);
      CREATE TABLE parent (id app.posint, region text) PARTITION BY LIST (region);
      CREATE TABLE parent_eu PARTITION OF parent FOR VALUES IN ('eu');
      CREATE TABLE parent_us PARTITION OF parent FOR VALUES IN ('us');
      CREATE INDEX ON parent (id);
      INSERT INTO parent VALUES (1, 'eu'), (2, 'us'), (3, 'eu');
      CREATE TABLE base (id int);
      CREATE TABLE child (extra text) INHERITS (base);
      INSERT INTO child VALUES (1, 'x');
      CREATE MATERIALIZED VIEW mv AS SELECT region, count(*) AS n FROM parent GROUP BY region;
      CREATE SEQUENCE standalone START 42;
      SELECT nextval('standalone');
      CREATE FUNCTION add_pair(pair, pair) RETURNS pair LANGUAGE sql IMMUTABLE
        AS 'SELECT ROW(($1).a + ($2).a, ($1).b || ($2).b)::pair';
      CREATE AGGREGATE sum_pair(pair) (SFUNC = add_pair, STYPE = pair);
      CREATE OPERATOR ### (LEFTARG = pair, RIGHTARG = pair, FUNCTION = add_pair);
      CREATE TEXT SEARCH CONFIGURATION app.my_ts (COPY = english);
      CREATE STATISTICS app.st ON id, region FROM parent_eu;
      CREATE RULE log_child AS ON INSERT TO child DO ALSO NOTIFY child_inserted;
      CREATE FUNCTION on_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$BEGIN END$$;
      CREATE EVENT TRIGGER mg_ddl ON ddl_command_end EXECUTE FUNCTION on_ddl();
      CREATE PUBLICATION mg_pub FOR TABLE base;
      GRANT SELECT ON base TO PUBLIC;
      ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT SELECT ON TABLES TO PUBLIC;
      CREATE SCHEMA "Weird Schema";
      CREATE TABLE "Weird Schema"."Odd Table" ("a b" int, "c'd" text);
      INSERT INTO "Weird Schema"."Odd Table" VALUES (1, 'it''s');
      COMMENT ON SCHEMA "Weird Schema" IS 'spaces and quotes';`);
    const info = await backup(db.url);
    const before = await state(db.url);
    await query(
      db.url,
      `DROP EVENT TRIGGER mg_ddl;
       DROP PUBLICATION mg_pub;
       DROP TABLE parent_us;
       INSERT INTO parent VALUES (4, 'eu');
       DROP STATISTICS app.st;
       ALTER DOMAIN app.posint ADD CONSTRAINT small CHECK (VALUE < 1000);
       REVOKE SELECT ON base FROM PUBLIC;
       DROP SCHEMA "Weird Schema" CASCADE;
       SELECT nextval('standalone');
       REFRESH MATERIALIZED VIEW mv;`,
    );
    await restoreBackup({ target: targetOf(db.url), path: info.path, tools, runner, logger: silentLogger });
    const after = await state(db.url);
    expect(after.schema).toBe(before.schema);
    expect(after.data).toEqual(before.data);

    // Again, now that the event trigger exists and goes with the function it calls: it must come back.
    const again = await restoreBackup({
      target: targetOf(db.url),
      path: info.path,
      tools,
      runner,
      logger: silentLogger,
    });
    expect(again.recreated).toEqual(['event trigger mg_ddl']);
    expect(await state(db.url)).toEqual(before);
  });

  it('changes nothing when the file does not match the recorded sha256 or is damaged', async () => {
    const db = await newDb();
    const info = await backup(db.url);
    await query(db.url, CHANGES);
    const changed = await state(db.url);
    const damaged = join(tempDir('damaged'), 'copy.dump');
    copyFileSync(info.path, damaged);
    truncateSync(damaged, Math.floor(statSync(damaged).size * 0.7));

    const target = targetOf(db.url);
    const mismatch = await failure(
      restoreBackup({
        target,
        path: damaged,
        expectedSha256: info.sha256,
        tools,
        runner,
        logger: silentLogger,
      }),
    );
    expect(mismatch.code).toBe('backup-checksum');
    expect(mismatch.message).toContain(`not the expected ${info.sha256}. Nothing was changed.`);

    const broken = await failure(
      restoreBackup({ target, path: damaged, tools, runner, logger: silentLogger }),
    );
    expect(broken.code).toBe('restore-failed');
    expect(broken.message).toMatch(/could not read from input file|unexpected end of file|end of file/);
    expect(await state(db.url)).toEqual(changed);
  });

  it('rolls everything back when a statement fails after the schemas were dropped', async () => {
    const db = await newDb();
    const role = `mg_gone_${randomBytes(4).toString('hex')}`;
    await query(
      db.url,
      `CREATE ROLE ${role}; CREATE TABLE app.owned (i int); ALTER TABLE app.owned OWNER TO ${role}`,
    );
    cleanups.unshift(() => query(server.url, `DROP ROLE IF EXISTS ${role}`));
    const info = await backup(db.url);
    await query(db.url, `${CHANGES} ALTER TABLE app.owned OWNER TO CURRENT_USER; DROP ROLE ${role};`);
    const changed = await state(db.url);

    const error = await failure(
      restoreBackup({ target: targetOf(db.url), path: info.path, tools, runner, logger: silentLogger }),
    );
    expect(error.code).toBe('restore-failed');
    expect(error.message).toContain(
      `its transaction was rolled back, so ${targetOf(db.url).display} is as it was before`,
    );
    expect(error.message).toContain(`role "${role}" does not exist`);
    expect(error.message).not.toContain(targetOf(db.url).password!);
    expect(await state(db.url)).toEqual(changed);
  });

  it('gives up on a table another session holds when lockTimeoutMs is set, changing nothing', async () => {
    const db = await newDb();
    const info = await backup(db.url);
    await query(db.url, CHANGES);
    const changed = await state(db.url);
    const error = await withPg(db.url, async (holder) => {
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE app.settings IN ACCESS SHARE MODE');
      const target = targetOf(db.url);
      const pending = restoreBackup({
        target,
        path: info.path,
        lockTimeoutMs: 300,
        tools,
        runner,
        logger: silentLogger,
      });
      const result = await failure(pending);
      await holder.query('ROLLBACK');
      return result;
    });
    expect(error.message).toContain('canceling statement due to lock timeout');
    expect(error.message).toContain('its transaction was rolled back');
    expect(await state(db.url)).toEqual(changed);
  });

  it('leaves schemas named in keepSchemas exactly as they are', async () => {
    const db = await newDb();
    const info = await backup(db.url);
    await query(
      db.url,
      `UPDATE app.settings SET value = '{"dark": false}'; DELETE FROM users WHERE id > 100;`,
    );
    const result = await restoreBackup({
      target: targetOf(db.url),
      path: info.path,
      keepSchemas: ['app'],
      tools,
      runner,
      logger: silentLogger,
    });
    expect(result.keptSchemas).toEqual([{ name: 'app', reason: 'kept on request' }]);
    expect(await query(db.url, 'SELECT value FROM app.settings')).toEqual([{ value: { dark: false } }]);
    expect(await query(db.url, 'SELECT count(*)::int AS n FROM users')).toEqual([{ n: 300 }]);
  });

  it('keeps a schema the restoring role does not own, recreating its trigger on a restored function', async () => {
    const su = await query<{ s: boolean }>(
      server.url,
      'SELECT rolsuper AS s FROM pg_roles WHERE rolname = current_user',
    );
    if (!su[0]?.s) return; // needs to create roles: only on the throwaway servers
    const db = await newDb('');
    const app = `mg_app_${randomBytes(4).toString('hex')}`;
    const password = `pw-${randomBytes(8).toString('hex')}`;
    cleanups.unshift(() => query(server.url, `DROP ROLE IF EXISTS ${app}`));
    // Like Supabase: auth belongs to another role; the app role owns the database and public.
    await query(
      db.url,
      `CREATE ROLE ${app} LOGIN PASSWORD '${password}';
       ALTER DATABASE ${db.name} OWNER TO ${app};
       CREATE SCHEMA auth;
       CREATE TABLE auth.users (id int PRIMARY KEY, email text);
       GRANT USAGE ON SCHEMA auth TO ${app};
       GRANT SELECT, INSERT, REFERENCES, TRIGGER ON auth.users TO ${app};`,
    );
    const url = new URL(urlForDatabase(server.url, db.name));
    url.username = app;
    url.password = password;
    const appUrl = url.toString();
    await query(
      appUrl,
      `CREATE TABLE public.profiles (id int PRIMARY KEY REFERENCES auth.users (id), name text);
       CREATE FUNCTION public.handle_new_user() RETURNS trigger LANGUAGE plpgsql AS
         $$BEGIN INSERT INTO public.profiles VALUES (NEW.id, NEW.email); RETURN NEW; END$$;
       CREATE TRIGGER on_auth_user_created AFTER INSERT ON auth.users FOR EACH ROW EXECUTE FUNCTION public.handle_new_user();
       INSERT INTO auth.users VALUES (1, 'a@example.com');`,
    );
    const info = await backup(appUrl);
    await query(
      appUrl,
      `INSERT INTO auth.users VALUES (2, 'b@example.com');
       UPDATE public.profiles SET name = 'changed' WHERE id = 1;
       CREATE TABLE public.extra (i int);`,
    );

    const logger = capture();
    const result = await restoreBackup({ target: targetOf(appUrl), path: info.path, tools, runner, logger });
    expect(result.keptSchemas).toEqual([
      { name: 'auth', reason: expect.stringContaining('owned by postgres') },
    ]);
    expect(result.recreated).toEqual(['trigger on_auth_user_created on auth.users']);
    expect(logger.lines).toContainEqual(
      expect.stringContaining('warn: Restore leaves schema auth as it is now'),
    );
    expect(await query(appUrl, 'SELECT id, name FROM public.profiles ORDER BY id')).toEqual([
      { id: 1, name: 'a@example.com' },
    ]);
    expect(await query(appUrl, "SELECT to_regclass('public.extra') AS t")).toEqual([{ t: null }]);
    expect(await query(appUrl, 'SELECT id FROM auth.users ORDER BY id')).toEqual([{ id: 1 }, { id: 2 }]);
    await query(appUrl, "INSERT INTO auth.users VALUES (3, 'c@example.com')");
    expect(await query(appUrl, 'SELECT id FROM public.profiles ORDER BY id')).toEqual([{ id: 1 }, { id: 3 }]);

    // A column in the kept schema typed by a restored type would be dropped for good: refuse.
    await query(appUrl, `CREATE TYPE public.mood AS ENUM ('ok')`);
    await query(db.url, 'ALTER TABLE auth.users ADD COLUMN mood public.mood');
    const changed = await state(db.url);
    const error = await failure(
      restoreBackup({ target: targetOf(appUrl), path: info.path, tools, runner, logger: silentLogger }),
    );
    expect(error.message).toContain('table column auth.users.mood');
    expect(error.message).toMatch(/Nothing was changed\.$/);
    expect(await state(db.url)).toEqual(changed);
  });
});
