import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { seeTroubleshooting } from '../docs-links.js';

/** Everything needed to open a connection, resolved from a `postgres://` URL. */
export interface DatabaseTarget {
  host: string;
  port: number;
  user: string;
  password?: string;
  database: string;
  /** `false` for a plain connection; otherwise Node TLS options. */
  ssl: false | ConnectionOptions;
  /** The libpq sslmode in force (explicit or defaulted), for external tools such as pg_dump. */
  sslmode: SslMode;
  sslRootCert?: string;
  /** What the user would call this database in a message: host:port/database, never the password. */
  display: string;
}

export type UrlProblem = { ok: false; reason: string };

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);
/** Supabase's transaction-mode pooler (Supavisor/PgBouncer) listens here; the session pooler on 5432. */
const TRANSACTION_POOLER_PORT = 6543;
const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;
export type SslMode = (typeof SSL_MODES)[number];

/**
 * Parses a database URL the way libpq documents it, but with a safe default: a host that is not
 * on this machine gets `verify-full` TLS unless the URL asks for something else.
 */
export function parseDatabaseUrl(raw: string): { ok: true; target: DatabaseTarget } | UrlProblem {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return {
      ok: false,
      reason: 'it is not a valid URL (expected postgres://user:password@host:port/database)',
    };
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    return { ok: false, reason: `the scheme is "${url.protocol}" but must be postgres:// or postgresql://` };
  }
  const params = url.searchParams;
  const socketDir = params.get('host') ?? undefined;
  const host = socketDir ?? stripBrackets(url.hostname);
  if (!host) return { ok: false, reason: 'it names no host' };
  const port = url.port ? Number(url.port) : Number(params.get('port') ?? 5432);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    return { ok: false, reason: `the port "${url.port || params.get('port')}" is not a valid TCP port` };
  }
  if (port === TRANSACTION_POOLER_PORT) {
    return {
      ok: false,
      reason:
        `port ${TRANSACTION_POOLER_PORT} is Supabase's transaction-mode pooler, which hands each transaction ` +
        'to a different server connection: the advisory lock that keeps runs apart and the session settings ' +
        '(lock_timeout, statement_timeout) would not hold. Use the session pooler instead: the same pooler ' +
        'host on port 5432 (Supabase dashboard → Connect → Session pooler), or the direct connection.' +
        seeTroubleshooting('transaction-pooler-port-6543-refused'),
    };
  }
  const decoded = (text: string) => {
    try {
      return decodeURIComponent(text);
    } catch {
      return undefined;
    }
  };
  const user = decoded(url.username) ?? '';
  const password = url.password ? decoded(url.password) : (params.get('password') ?? undefined);
  const database = decoded(url.pathname.replace(/^\//, ''));
  if (user === undefined || (url.password && password === undefined) || database === undefined) {
    return {
      ok: false,
      reason:
        'it contains a "%" that is not a valid percent-escape: percent-encode special characters in the password (e.g. % as %25, @ as %40)',
    };
  }
  const userName = user || params.get('user') || '';
  if (!userName) return { ok: false, reason: 'it names no user (postgres://USER:password@host/database)' };
  const databaseName = database || params.get('dbname') || userName;

  const local = LOCAL_HOSTS.has(host) || host.startsWith('/');
  const requested = params.get('sslmode');
  if (requested !== null && !SSL_MODES.includes(requested as SslMode)) {
    return { ok: false, reason: `sslmode "${requested}" is not one of ${SSL_MODES.join(', ')}` };
  }
  const sslmode: SslMode = (requested as SslMode | null) ?? (local ? 'disable' : 'verify-full');
  const ssl = tlsOptions(sslmode, host, params.get('sslrootcert'));
  if ('reason' in ssl) return { ok: false, reason: ssl.reason };

  return {
    ok: true,
    target: {
      host,
      port,
      user: userName,
      password,
      database: databaseName,
      ssl: ssl.value,
      sslmode,
      sslRootCert: params.get('sslrootcert') ?? undefined,
      display: `${host}:${port}/${databaseName}`,
    },
  };
}

function tlsOptions(
  mode: SslMode,
  host: string,
  rootCertPath: string | null,
): { value: false | ConnectionOptions } | { reason: string } {
  if (mode === 'disable' || mode === 'allow') return { value: false };
  let ca: string | undefined;
  if (rootCertPath) {
    try {
      ca = readFileSync(rootCertPath, 'utf8');
    } catch {
      return { reason: `sslrootcert "${rootCertPath}" cannot be read` };
    }
  }
  // libpq's `prefer` and `require` encrypt without checking the certificate; keep that meaning
  // because users copy these URLs from libpq tools, but only when they ask for it explicitly.
  if (mode === 'prefer' || mode === 'require') return { value: { rejectUnauthorized: false } };
  const options: ConnectionOptions = { rejectUnauthorized: true, ...(ca ? { ca } : {}) };
  if (mode === 'verify-ca') options.checkServerIdentity = () => undefined;
  else options.servername = host;
  return { value: options };
}

function stripBrackets(hostname: string): string {
  return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
}
