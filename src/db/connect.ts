import pg from 'pg';
import type { DatabaseTarget } from '../config/database-url.js';
import { GuardError } from '../errors.js';
import { seeTroubleshooting } from '../docs-links.js';
import { useNodeCryptoForScram } from './pg-scram.js';

export type Client = pg.Client;

export interface ConnectOptions {
  /** Shown in pg_stat_activity, so a blocked run can name the one holding the lock. */
  applicationName: string;
  connectTimeoutMs?: number;
}

/** PostgreSQL truncates application_name to NAMEDATALEN-1 bytes. */
const MAX_APPLICATION_NAME = 63;

export async function connect(target: DatabaseTarget, options: ConnectOptions): Promise<Client> {
  return startConnecting(target, options).ready;
}

/** Whether pg's SCRAM steps are node:crypto's (pg-scram.ts): put in place before the first login. */
let scramSteps: boolean | undefined;

/** A client on its way: `ready` settles when it is connected (or could not be). */
function startConnecting(
  target: DatabaseTarget,
  options: ConnectOptions,
): { ready: Promise<Client>; abandon(): void } {
  scramSteps ??= useNodeCryptoForScram();
  const client = new pg.Client({
    host: target.host,
    port: target.port,
    user: target.user,
    password: target.password,
    database: target.database,
    ssl: target.ssl,
    application_name: truncateUtf8(options.applicationName, MAX_APPLICATION_NAME),
    connectionTimeoutMillis: options.connectTimeoutMs ?? 15_000,
  });
  // An idle client whose socket dies emits 'error'; without a listener Node would crash the process.
  client.on('error', () => {});
  let connected = false;
  const ready = client.connect().then(
    () => {
      connected = true;
      return client;
    },
    async (error: unknown) => {
      await client.end().catch(() => {});
      throw describeConnectError(error, target);
    },
  );
  return {
    ready,
    abandon: () => {
      if (connected) {
        client.end().catch(() => {});
        return;
      }
      // Still connecting: do what pg itself does when its connect timeout fires, so a host that
      // never answers cannot keep the process alive (`end()` would wait for the connection).
      const connection = (client as unknown as { connection?: PgConnectionInternals }).connection;
      if (connection) connection._ending = true;
      connection?.stream?.destroy();
    },
  };
}

/** The parts of pg's (untyped) Connection that abandoning a connection attempt relies on. */
interface PgConnectionInternals {
  _ending?: boolean;
  stream?: { destroy(): void };
}

/**
 * Closes a client. pg's `end()` sends Terminate, closes our side, then waits until the server has
 * closed its own (its backend exiting: ~2 ms, twice at the end of every run, one after the other).
 * Everything we owe the server is sent once our side is closed ('finish'): the rest completes on
 * its own (the process does not exit before it), while the run goes on.
 */
export async function closeClient(client: Client): Promise<void> {
  const stream = (client as unknown as { connection?: { stream?: Partial<NodeJS.EventEmitter> } }).connection
    ?.stream;
  const ended = client.end().catch(() => {});
  if (typeof stream?.once !== 'function') return ended;
  await Promise.race([ended, new Promise((resolve) => stream.once!('finish', resolve))]);
}

/** Opens a client, runs `fn`, and always closes the client. */
export async function withClient<T>(
  target: DatabaseTarget,
  options: ConnectOptions,
  fn: (client: Client) => Promise<T>,
): Promise<T> {
  return withClientAfter(target, options, async () => undefined, fn);
}

/**
 * Like `withClient`, with `meanwhile` (local work such as reading the migration files) running
 * while the connection opens: connecting costs several round trips, more over TLS to a remote
 * host. `early`, when given, runs on the client as soon as it is connected, still while
 * `meanwhile` goes on (reads that do not depend on its answer), and `fn` gets what it returned.
 * Errors come in the same order as if they ran one after the other: when `meanwhile` fails, the
 * connection is dropped (unfinished, or in the middle of `early`) and only that error is reported.
 * At the end the client is closed, unless `handOver` takes it (returns true): then closing it is
 * its taker's.
 */
export async function withClientAfter<W, E, T>(
  target: DatabaseTarget,
  options: ConnectOptions,
  meanwhile: () => Promise<W>,
  fn: (client: Client, value: W, early: E | undefined) => Promise<T>,
  {
    early,
    handOver,
  }: { early?: (client: Client) => Promise<E>; handOver?: (client: Client) => boolean } = {},
): Promise<T> {
  const connecting = startConnecting(target, options);
  const opened = connecting.ready.then(async (client) => ({ client, early: await early?.(client) }));
  opened.catch(() => {}); // reported below, once `meanwhile` has succeeded
  let value: W;
  try {
    value = await meanwhile();
  } catch (error) {
    connecting.abandon();
    throw error;
  }
  let client: Client;
  let earlyValue: E | undefined;
  try {
    ({ client, early: earlyValue } = await opened);
  } catch (error) {
    // `early` failed on a connected client (a failed connection has closed itself).
    await connecting.ready.then(closeClient, () => {});
    throw error;
  }
  try {
    return await fn(client, value, earlyValue);
  } finally {
    if (!handOver?.(client)) await closeClient(client);
  }
}

function describeConnectError(error: unknown, target: DatabaseTarget): GuardError {
  const err = error as NodeJS.ErrnoException & { code?: string };
  const where = target.display;
  const cases: Record<string, [string, string]> = {
    ECONNREFUSED: [
      `Nothing is listening at ${where}`,
      `Check the host and port in database-url, and that the server is running.${seeTroubleshooting('cannot-reach-the-database')}`,
    ],
    ENOTFOUND: [
      `The host "${target.host}" cannot be resolved`,
      `Check the host name in database-url. Supabase direct hosts are IPv6-only: from GitHub runners use the session pooler host.${seeTroubleshooting('cannot-reach-the-database')}`,
    ],
    EAI_AGAIN: [
      `The host "${target.host}" cannot be resolved right now`,
      'Check DNS and the host name in database-url.',
    ],
    ETIMEDOUT: [
      `Connecting to ${where} timed out`,
      `Check that the host is reachable from this runner (firewall, IPv6-only hosts).${seeTroubleshooting('cannot-reach-the-database')}`,
    ],
    // An IPv6 address (Supabase's direct host) from a runner without IPv6, as GitHub's runners are.
    ENETUNREACH: [
      `This runner has no network route to ${where}`,
      `GitHub-hosted runners have no IPv6 and Supabase's direct database host is IPv6-only: use the session pooler (port 5432).${seeTroubleshooting('cannot-reach-the-database')}`,
    ],
    EHOSTUNREACH: [
      `The host of ${where} is unreachable from this runner`,
      `Check the host in database-url and the network between this runner and the server (IPv6-only hosts, firewalls).${seeTroubleshooting('cannot-reach-the-database')}`,
    ],
    '28P01': [
      `Password authentication failed for user "${target.user}" at ${where}`,
      `Check the password in the database-url secret.${seeTroubleshooting('password-authentication-failed')}`,
    ],
    '28000': [
      `The server at ${where} refused the connection for user "${target.user}"`,
      'Check pg_hba.conf / network restrictions and the user name.',
    ],
    '3D000': [
      `Database "${target.database}" does not exist at ${where}`,
      'Check the database name in database-url.',
    ],
  };
  const known = err?.code ? cases[err.code] : undefined;
  if (known)
    return new GuardError('connection-failed', known[0], {
      hint: known[1],
      cause: error,
      sqlstate: err.code,
    });
  const message = err?.message ?? String(error);
  const tlsHint = /SSL|TLS|certificate|self.signed/i.test(message)
    ? `For a server with a private CA add sslrootcert=/path/to/ca.pem to the URL; sslmode=require encrypts without checking the certificate; sslmode=disable only for a trusted network.${seeTroubleshooting('tls-certificate-errors')}`
    : `Check database-url and that the server is reachable.${seeTroubleshooting('cannot-reach-the-database')}`;
  if (/timeout/i.test(message)) {
    return new GuardError('connection-failed', `Connecting to ${where} timed out`, {
      hint: `Check that the host is reachable from this runner.${seeTroubleshooting('cannot-reach-the-database')}`,
      cause: error,
    });
  }
  return new GuardError('connection-failed', `Cannot connect to ${where}: ${message}`, {
    hint: tlsHint,
    cause: error,
  });
}

function truncateUtf8(text: string, maxBytes: number): string {
  let out = text;
  while (Buffer.byteLength(out, 'utf8') > maxBytes) out = out.slice(0, -1);
  return out;
}
