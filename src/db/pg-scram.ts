import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import pgCrypto from 'pg/lib/crypto/utils.js';

/**
 * pg signs a SCRAM-SHA-256 login (every connection to Supabase, and to any server with the default
 * password_encryption) through Web Crypto: an async call per step (a key derivation, four HMACs,
 * a digest), each a trip through Node's thread pool and its argument checks, ~3 ms of the main
 * thread per connection. A run opens two or three connections, the first while it reads the
 * migration files, and each step waited for the reading to yield. Here the same steps go through
 * node:crypto's one-shot functions (OpenSSL, as Web Crypto uses underneath): ~1 ms, in one go.
 *
 * pg's SASL code calls these through the module's exports object at each login, so replacing its
 * properties is enough. Same inputs, same bytes out (the test compares them with pg's own, and
 * logs in on PostgreSQL 15 and 17 with SCRAM). Anything else of that module (MD5 logins, the
 * channel-binding hash over TLS) stays pg's. Should a pg release rename them, nothing is replaced
 * and pg's own code runs: the test says so.
 */
export const REPLACED = ['randomBytes', 'deriveKey', 'sha256', 'hmacSha256'] as const;

const ours: Record<(typeof REPLACED)[number], (...args: never[]) => unknown> = {
  randomBytes: (length: number) => randomBytes(length),
  deriveKey: async (password: string, salt: Uint8Array, iterations: number) =>
    pbkdf2Sync(password, salt, iterations, 32, 'sha256'),
  sha256: async (data: Uint8Array) => createHash('sha256').update(data).digest(),
  hmacSha256: async (key: Uint8Array | ArrayBuffer, message: string) =>
    createHmac('sha256', key instanceof ArrayBuffer ? new Uint8Array(key) : key)
      .update(message)
      .digest(),
};

/** Whether pg's SCRAM steps are ours (false when a pg release no longer has them by these names). */
export function useNodeCryptoForScram(): boolean {
  const target = pgCrypto as unknown as Record<string, unknown>;
  if (!REPLACED.every((name) => typeof target[name] === 'function')) return false;
  for (const name of REPLACED) target[name] = ours[name];
  return true;
}
