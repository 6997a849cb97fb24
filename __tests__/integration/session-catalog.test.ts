import { describe, expect, it } from '@jest/globals';
import { connect as netConnect, createServer, type Server, type Socket } from 'node:net';
import { parseDatabaseUrl } from '../../src/config/database-url.js';
import { closeClient, connect } from '../../src/db/connect.js';
import { tablesPresent, type TablesPresent } from '../../src/db/guard-tables.js';
import { readInOneTrip } from '../../src/db/batch-read.js';
import { checksumsRead, readChecksums } from '../../src/db/guard-store.js';
import { historyRead, readHistoryTable } from '../../src/db/history.js';
import { partialsRead, readPartialMigrations, recordPartialMigrations } from '../../src/db/partial-store.js';
import { startProxy } from '../helpers/proxy.js';
import { migrationsDir } from '../helpers/migrations.js';
import { runGuard } from '../helpers/run.js';
import { databasesFor, query, testServers, withPg } from '../helpers/db.js';

function target(url: string) {
  const parsed = parseDatabaseUrl(url);
  if (!parsed.ok) throw new Error('bad test url');
  return parsed.target;
}

/** A TCP relay to the server that keeps every byte the client sent. */
async function recordingRelay(
  url: string,
): Promise<{ url: string; sent: Buffer[]; clientClosed: Promise<void>; server: Server }> {
  const upstream = new URL(url);
  const sent: Buffer[] = [];
  let closed!: () => void;
  const clientClosed = new Promise<void>((resolve) => (closed = resolve));
  const server = createServer((client: Socket) => {
    const db = netConnect(Number(upstream.port), upstream.hostname);
    client.on('data', (chunk) => {
      sent.push(chunk);
      db.write(chunk);
    });
    client.on('end', () => {
      db.end();
      closed();
    });
    db.on('data', (chunk) => client.write(chunk));
    db.on('end', () => client.end());
    db.on('error', () => client.destroy());
    client.on('error', () => db.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const relayed = new URL(url);
  relayed.hostname = '127.0.0.1';
  relayed.port = String((server.address() as { port: number }).port);
  return { url: relayed.toString(), sent, clientClosed, server };
}

describe.each(testServers())('what a session asks the server, on $name', (server) => {
  const newDb = databasesFor(server);

  it('learns which of its tables exist in one query', async () => {
    const db = await newDb();
    const client = await connect(target(db.url), { applicationName: 'migration-guard test' });
    try {
      expect(await tablesPresent(client)).toEqual({
        runs: false,
        runSessions: false,
        historyColumns: undefined,
        checksums: false,
        partials: false,
        auditLog: false,
      });
      await query(
        db.url,
        `create schema migration_guard;
         create table migration_guard.runs (id bigint, session_pid int);
         create table migration_guard.partial_migrations (version text);
         create table migration_guard.audit_log (id bigint);
         create schema supabase_migrations;
         create table supabase_migrations.schema_migrations (version text, name text);
         alter table supabase_migrations.schema_migrations drop column name;`,
      );
      expect(await tablesPresent(client)).toEqual({
        runs: true,
        runSessions: true,
        historyColumns: ['version'], // a dropped column is not one
        checksums: false,
        partials: true,
        auditLog: true,
      });
    } finally {
      await closeClient(client);
    }
  });

  it('closes a connection with Terminate, then its side of the socket, and the session ends', async () => {
    const db = await newDb();
    const relay = await recordingRelay(db.url);
    try {
      const client = await connect(target(relay.url), { applicationName: 'migration-guard close-test' });
      const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid');
      await closeClient(client);
      // By the time closeClient returns, our side is closed: the relay sees the end of the stream.
      await relay.clientClosed;
      const last = Buffer.concat(relay.sent).subarray(-5);
      expect([...last]).toEqual([0x58, 0, 0, 0, 4]); // 'X', length 4: Terminate, the last thing sent
      let alive = 1;
      for (let i = 0; i < 100 && alive > 0; i++) {
        alive = (await query(db.url, 'select 1 from pg_stat_activity where pid = $1', [rows[0].pid])).length;
        if (alive > 0) await new Promise((r) => setTimeout(r, 20));
      }
      expect(alive).toBe(0);
      // Closing again (an ended client) is harmless.
      await closeClient(client);
    } finally {
      await new Promise((resolve) => relay.server.close(resolve));
    }
  });

  it('reads the history, the checksums and the partly applied files in one message, as each reader would', async () => {
    const db = await newDb();
    const dir = migrationsDir({
      '1_a.sql': 'create table a (id int);',
      '2_b.sql': 'create table b (id int);',
    });
    expect((await runGuard('apply', db.url, dir)).result.status).toBe('success');
    await withPg(db.url, (c) =>
      recordPartialMigrations(c as never, [
        {
          version: '3',
          name: 'c',
          checksum: 'x',
          statementsTotal: 2,
          statementsDone: 1,
          statements: ['create index concurrently i on a (id)'],
          outsideTransaction: [{ line: 1, statement: 'create index concurrently i on a (id)' }],
        },
      ]),
    );
    const messages: string[] = [];
    const proxy = await startProxy(Number(new URL(db.url).port), {
      onClientMessage: (t) => messages.push(t),
    });
    const client = await connect(target(proxy.url(db.url)), { applicationName: 'migration-guard test' });
    try {
      const tables = await tablesPresent(client);
      const readAll = (present: TablesPresent) =>
        readInOneTrip(client, historyRead(present), checksumsRead(present), partialsRead(present));
      const before = messages.length;
      const [history, checksums, partials] = await readAll(tables);
      expect(messages.slice(before)).toEqual(['Q']);
      expect(history).toEqual(await readHistoryTable(client, tables));
      expect(checksums).toEqual(await readChecksums(client, tables));
      expect(partials).toEqual(await readPartialMigrations(client, tables));
      expect(history!.rows.map((r) => r.version).sort()).toEqual(['1', '2']);
      expect([...checksums.keys()].sort()).toEqual(['1', '2']);
      expect([...partials.keys()]).toEqual(['3']);
      // A table that is not there is answered without asking; one read alone is one statement.
      const none = { ...tables, historyColumns: undefined, partials: false };
      const at = messages.length;
      const [noHistory, onlyChecksums, noPartials] = await readAll(none);
      expect(messages.slice(at)).toEqual(['Q']);
      expect([noHistory, noPartials.size, onlyChecksums.size]).toEqual([undefined, 0, 2]);
    } finally {
      await closeClient(client);
      await proxy.close();
    }
  });

  it('a no-op apply makes six round trips, on one connection: four for its session, two for its audit rows', async () => {
    const db = await newDb();
    const dir = migrationsDir({
      '1_a.sql': 'create table a (id int);',
      '2_b.sql': 'create table b (id int);',
    });
    expect((await runGuard('apply', db.url, dir)).result.status).toBe('success');
    const messages: string[] = [];
    const proxy = await startProxy(Number(new URL(db.url).port), {
      onClientMessage: (t) => messages.push(t),
    });
    try {
      expect((await runGuard('apply', proxy.url(db.url), dir)).result.status).toBe('nothing-to-do');
      expect(proxy.connections()).toBe(1);
      // A round trip ends with a simple query ('Q') or an extended-protocol Sync ('S'). The session:
      // the server's version with the lock's try, which tables exist, the records (history,
      // checksums, partly applied files, open runs), the lock's release. The audit rows: the chain's
      // lock and newest hash, then the insert with the commit.
      const trips = messages.filter((t) => t === 'Q' || t === 'S');
      expect(trips).toHaveLength(6);
    } finally {
      await proxy.close();
    }
  });
});
