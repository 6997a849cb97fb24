/**
 * The HTTP(S) proxy of self-hosted runners, read as @actions/http-client reads it: shared by our
 * GitHub client (github/api.ts) and the alert sender (notify/webhook.ts).
 */

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
