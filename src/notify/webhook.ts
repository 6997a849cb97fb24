import { proxyFor } from '../proxy.js';

/**
 * POSTs one JSON body to a chat webhook with Node's fetch: one deadline for the whole exchange
 * (so a webhook that never answers holds the run no longer than that), and one retry when the
 * webhook answers 5xx or the connection drops, if the deadline leaves room. Throws an error that
 * never quotes the URL (it is the webhook's credential).
 */
export interface PostOptions {
  /** The whole exchange, retry included. */
  timeoutMs: number;
  /** Pause before the retry. */
  retryDelayMs: number;
}

export interface PostOutcome {
  status: number;
  attempts: number;
}

export class WebhookError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebhookError';
  }
}

export async function postJson(url: string, body: unknown, options: PostOptions): Promise<PostOutcome> {
  const deadline = AbortSignal.timeout(options.timeoutMs);
  const started = Date.now();
  const text = JSON.stringify(body);
  const send = await fetchFor(url);
  for (let attempt = 1; ; attempt++) {
    let problem: string;
    let retryable: boolean;
    try {
      const response = await send(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body: text,
        signal: deadline,
        redirect: 'error',
      });
      // Read (and so release) the body; Slack explains a refusal in it ("invalid_payload").
      const answer = (await response.text().catch(() => '')).trim().slice(0, 200);
      if (response.ok) return { status: response.status, attempts: attempt };
      problem = `the webhook answered HTTP ${response.status}${answer ? ` (${answer.replace(/\s+/g, ' ')})` : ''}`;
      retryable = response.status >= 500;
    } catch (error) {
      if (deadline.aborted)
        throw new WebhookError(`the webhook did not answer within ${Math.round(options.timeoutMs / 1000)} s`);
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      problem = `the webhook could not be reached (${cause?.code ?? cause?.message ?? (error as Error).message})`;
      retryable = true;
    }
    const left = options.timeoutMs - (Date.now() - started);
    if (attempt >= 2 || !retryable || left <= options.retryDelayMs)
      throw new WebhookError(attempt >= 2 ? `${problem}, again on the retry` : problem);
    // Not unref'd: the run is awaiting it, and an unref'd timer alone would let the process exit.
    await new Promise((resolve) => setTimeout(resolve, options.retryDelayMs));
  }
}

/**
 * Node's fetch, or behind the runner's HTTP(S) proxy (self-hosted runners) undici's through it, as
 * our GitHub client does; undici is loaded only then.
 */
async function fetchFor(url: string): Promise<typeof fetch> {
  const proxy = proxyFor(new URL(url));
  if (!proxy) return fetch;
  const undici = await import('undici');
  const dispatcher = new undici.ProxyAgent(proxy);
  return ((target: string, init?: RequestInit) =>
    undici.fetch(target, { ...(init as object), dispatcher })) as unknown as typeof fetch;
}
