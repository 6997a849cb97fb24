import { proxyFetch, TRUST_HINT, untrustedCertificate } from '../proxy.js';

/**
 * POSTs one JSON body to a chat webhook with Node's fetch: one deadline for the whole exchange
 * (so a webhook that never answers holds the run no longer than that), and one retry when the
 * webhook answers 5xx or the connection drops (not for a certificate the runner does not
 * trust), if the deadline leaves room. Throws an error that
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
  const send = (await proxyFetch(url)) ?? fetch;
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
      const certificate = untrustedCertificate(error);
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      problem = certificate
        ? `the webhook's TLS certificate was not accepted (${certificate}); ${TRUST_HINT}`
        : `the webhook could not be reached (${cause?.code ?? cause?.message ?? (error as Error).message})`;
      // A certificate does not change by asking again.
      retryable = !certificate;
    }
    const left = options.timeoutMs - (Date.now() - started);
    if (attempt >= 2 || !retryable || left <= options.retryDelayMs)
      throw new WebhookError(attempt >= 2 ? `${problem}, again on the retry` : problem);
    // Not unref'd: the run is awaiting it, and an unref'd timer alone would let the process exit.
    await new Promise((resolve) => setTimeout(resolve, options.retryDelayMs));
  }
}
