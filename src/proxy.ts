/**
 * What our two HTTP clients, the GitHub client (github/api.ts) and the alert sender
 * (notify/webhook.ts), share about the network of the runner: its HTTP(S) proxy, read as
 * @actions/http-client reads it, and what a certificate it does not trust looks like.
 */

/** Node's (OpenSSL's) codes for a server certificate that was not accepted. */
const UNTRUSTED_CERTIFICATE =
  /^(ERR_TLS_CERT_ALTNAME_INVALID|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_(GET_ISSUER_CERT|GET_ISSUER_CERT_LOCALLY|VERIFY_LEAF_SIGNATURE)|CERT_[A-Z_]+)$/;

/**
 * The code, when `error` (or what caused it: fetch and @octokit/request wrap it) is a TLS
 * certificate the runner does not accept. Asking again does not change that; the runner must be
 * given the certificate authority (NODE_EXTRA_CA_CERTS).
 */
export function untrustedCertificate(error: unknown): string | undefined {
  let cause = error as { code?: unknown; cause?: unknown } | undefined;
  for (let depth = 0; cause && depth < 5; depth++) {
    if (typeof cause.code === 'string' && UNTRUSTED_CERTIFICATE.test(cause.code)) return cause.code;
    cause = cause.cause as typeof cause;
  }
  return undefined;
}

/** How to make the runner trust a private certificate authority, for messages. */
export const TRUST_HINT =
  'with a private certificate authority, give the runner its certificate with NODE_EXTRA_CA_CERTS';

/**
 * The fetch to reach `url`: undefined (Node's own) unless a proxy applies; then fetch through it,
 * from the HTTP library Node's fetch is built on, loaded (a separate chunk, tens of milliseconds
 * to evaluate) only in that case.
 */
export async function proxyFetch(url: string): Promise<typeof fetch | undefined> {
  const proxy = proxyFor(new URL(url));
  if (!proxy) return undefined;
  const http = await import('undici');
  const dispatcher = new http.ProxyAgent(proxy);
  return ((target: string, init?: RequestInit) =>
    http.fetch(target, { ...(init as object), dispatcher })) as unknown as typeof fetch;
}

/** The proxy URL for `target` under the runner's proxy variables, or undefined to go direct. */
export function proxyFor(target: URL, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const https = target.protocol === 'https:';
  const proxy = https ? env.https_proxy || env.HTTPS_PROXY : env.http_proxy || env.HTTP_PROXY;
  if (!proxy) return undefined;
  const host = target.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  if (host === 'localhost' || host.startsWith('127.') || host === '::1') return undefined;
  const port = target.port || (https ? '443' : '80');
  const noProxy = (env.no_proxy || env.NO_PROXY || '').split(',').map((e) => e.trim().toLowerCase());
  const bypassed = noProxy.filter(Boolean).some((entry) => {
    if (entry === '*') return true;
    const [name, entryPort] = entry.split(':');
    if (entryPort && entryPort !== port) return false;
    const bare = name.replace(/^\*?\./, '');
    return host === bare || host.endsWith(`.${bare}`);
  });
  if (bypassed) return undefined;
  return /^https?:\/\//i.test(proxy) ? proxy : `http://${proxy}`;
}
