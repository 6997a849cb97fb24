import { describe, expect, it } from '@jest/globals';
import { connect as netConnect, createServer, type Server, type Socket } from 'node:net';
import { parseDatabaseUrl } from '../../src/config/database-url.js';
import { closeClient, connect, withClientAfter } from '../../src/db/connect.js';
import { MIGRATION_LOCK_ID, TRY_LOCK_ITEM } from '../../src/db/lock.js';
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

/** The loopback proxy to the server, keeping the type of every message the client sent ('Q', 'S', …). */
async function recordingProxy(url: string) {
  const messages: string[] = [];
  const proxy = await startProxy(Number(new URL(url).port), { onClientMessage: (t) => messages.push(t) });
  return { proxy, messages };
}

describe.each(testServers())('what a session asks the server, on $name', (server) => {
  const newDb = databasesFor(server);
  /** A database with two files applied, and their folder. */
  const appliedTwoFiles = async () => {
    const db = await newDb();
    const dir = migrationsDir({
      '1_a.sql': 'create table a (id int);',
      '2_b.sql': 'create table b (id int);',
    });
    expect((await runGuard('apply', db.url, dir)).result.status).toBe('success');
    return { db, dir };
  };

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
    const { db } = await appliedTwoFiles();
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
    const { proxy, messages } = await recordingProxy(db.url);
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

  it('a no-op apply makes five round trips, on one connection: three for its session, two for its audit rows', async () => {
    const { db, dir } = await appliedTwoFiles();
    const { proxy, messages } = await recordingProxy(db.url);
    try {
      expect((await runGuard('apply', proxy.url(db.url), dir)).result.status).toBe('nothing-to-do');
      expect(proxy.connections()).toBe(1);
      // A round trip ends with a simple query ('Q') or an extended-protocol Sync ('S'). The session:
      // the server's version with the lock's try and which tables exist, the records (history,
      // checksums, partly applied files, open runs), the lock's release. The audit rows: the chain's
      // lock and newest hash, then the insert with the commit.
      const trips = messages.filter((t) => t === 'Q' || t === 'S');
      expect(trips).toHaveLength(5);
    } finally {
      await proxy.close();
    }
  });
});

describe.each(testServers())(
  'reads made while the files are read (withClientAfter early), on $name',
  (server) => {
    const newDb = databasesFor(server);
    const lockIsFree = async (url: string) =>
      (
        await query(
          url,
          `select pg_try_advisory_lock(${MIGRATION_LOCK_ID}::bigint) as free, pg_advisory_unlock(${MIGRATION_LOCK_ID}::bigint)`,
        )
      )[0].free as boolean;
    const sessionsNamed = async (url: string, name: string) => {
      // The server ends a session a moment after its client leaves.
      let n = -1;
      for (let i = 0; i < 100 && n !== 0; i++) {
        if (i > 0) await new Promise((r) => setTimeout(r, 20));
        n = (
          await query(url, 'select count(*)::int as n from pg_stat_activity where application_name = $1', [
            name,
          ])
        )[0].n as number;
      }
      return n;
    };

    it('hands what early read to fn, with what meanwhile made', async () => {
      const db = await newDb();
      const got = await withClientAfter(
        target(db.url),
        { applicationName: 'mg early-ok' },
        async () => 'files',
        async (_client, value, early) => ({ value, early }),
        {
          early: async (client) => (await client.query(`SELECT ${TRY_LOCK_ITEM}`)).rows[0].locked as boolean,
        },
      );
      expect(got).toEqual({ value: 'files', early: true });
      // The connection is closed at the end, and the session-level lock with it.
      expect(await sessionsNamed(db.url, 'mg early-ok')).toBe(0);
      expect(await lockIsFree(db.url)).toBe(true);
    });

    it('a problem with the files after early took the lock: that problem only, the lock freed, the session gone', async () => {
      const db = await newDb();
      let tookLock!: () => void;
      const locked = new Promise<void>((resolve) => (tookLock = resolve));
      let fnRan = false;
      const run = withClientAfter(
        target(db.url),
        { applicationName: 'mg early-files' },
        async () => {
          await locked; // the files turn out bad only once the lock is held
          throw new Error('bad migration file');
        },
        async () => void (fnRan = true),
        {
          early: async (client) => {
            await client.query(`SELECT ${TRY_LOCK_ITEM}`);
            tookLock();
            // A slow read still under way when the files fail.
            await client.query('SELECT pg_sleep(0.3)');
          },
        },
      );
      await expect(run).rejects.toThrow('bad migration file');
      expect(fnRan).toBe(false);
      expect(await sessionsNamed(db.url, 'mg early-files')).toBe(0);
      expect(await lockIsFree(db.url)).toBe(true);
    });

    it('a failing early read is reported once the files are read, and its connection is closed', async () => {
      const db = await newDb();
      const order: string[] = [];
      const run = withClientAfter(
        target(db.url),
        { applicationName: 'mg early-fails' },
        async () => {
          await new Promise((r) => setTimeout(r, 200));
          order.push('files read');
        },
        async () => void order.push('fn'),
        {
          early: async (client) => {
            await client.query('SELECT * FROM no_such_table');
          },
        },
      );
      await expect(run).rejects.toThrow(/no_such_table/);
      expect(order).toEqual(['files read']);
      expect(await sessionsNamed(db.url, 'mg early-fails')).toBe(0);
    });

    it('a first message the server refuses (no USAGE on migration_guard) fails as the reads one by one did: connected, the lock let go', async () => {
      const db = await newDb();
      const role = `mg_limited_${Math.random().toString(36).slice(2, 8)}`;
      await query(db.url, `create role ${role} login password 'limited-pass'`);
      await query(db.url, 'create schema migration_guard; revoke all on schema migration_guard from public');
      const url = new URL(db.url);
      url.username = role;
      url.password = 'limited-pass';
      const dir = migrationsDir({ '1_a.sql': 'select 1;' });
      for (const command of ['status', 'apply'] as const) {
        const { result } = await runGuard(command, url.toString(), dir);
        expect({ command, status: result.status }).toEqual({ command, status: 'failed' });
        expect(result.message).toMatch(/permission denied for schema migration_guard/);
        // Found once connected (the report names the server), as when the tables were asked alone.
        expect(result.database?.serverVersion).toEqual(expect.any(String));
      }
      expect(await lockIsFree(db.url)).toBe(true);
    });

    it('both failing: the files are reported, not the early read', async () => {
      const db = await newDb();
      const run = withClientAfter(
        target(db.url),
        { applicationName: 'mg early-both' },
        async () => {
          await new Promise((r) => setTimeout(r, 100));
          throw new Error('bad migration file');
        },
        async () => undefined,
        { early: async (client) => void (await client.query('SELECT * FROM no_such_table')) },
      );
      await expect(run).rejects.toThrow('bad migration file');
      expect(await sessionsNamed(db.url, 'mg early-both')).toBe(0);
    });
  },
);
