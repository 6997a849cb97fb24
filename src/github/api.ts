import { request } from '@octokit/request';
import { proxyFetch, TRUST_HINT, untrustedCertificate } from '../proxy.js';
import { nodeFetch } from './transport.js';
import { TOOL_VERSION } from '../version.js';

/**
 * GitHub's REST API as the sticky comment and the manual-run guard use it: @octokit/request
 * (GitHub's own client, over node:http(s) through transport.ts) with a per-call timeout, and retries with backoff for the answers that mean
 * "later" (5xx, 429, secondary rate limits). Loaded only when a comment is due (see board.ts):
 * runs that post nothing never evaluate it.
 */
export interface ApiOptions {
  token: string;
  /** GITHUB_API_URL (GitHub Enterprise Server has its own). */
  baseUrl: string;
  /** One call may take this long before it is abandoned (and retried). */
  timeoutMs: number;
  /** Attempts per call, the first included. */
  attempts: number;
  /** First backoff step; doubles each retry (with jitter) unless the API says how long to wait. */
  baseDelayMs: number;
  /** Aborts every call in flight and every wait between retries. */
  signal: AbortSignal;
}

export interface ApiResponse<T> {
  status: number;
  data: T;
  headers: Record<string, string | undefined>;
}

/**
 * The API answered, and the answer will not change by asking again (401, 403, 404, 422, …); or
 * (status 0) its TLS certificate was not accepted.
 */
export class ApiRefusal extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiRefusal';
  }
}

/** Longest wait a `retry-after` or rate-limit reset may impose on one retry. */
const MAX_DELAY_MS = 60_000;

export class GitHubApi {
  /** Through the runner's proxy when one applies, else straight over node:http(s) (transport.ts). */
  private fetchImpl?: Promise<typeof fetch>;

  constructor(private readonly options: ApiOptions) {}

  /** One REST call (`GET /repos/{owner}/{repo}/…`), retried while GitHub answers "later". */
  /**
   * `beforeRetry` runs after each backoff wait, before the call is sent again; what it throws ends
   * the call. For a call that is not safe to repeat blindly (a POST that creates something: the
   * first may have worked though its answer was lost), it looks before the call tries again.
   */
  async call<T>(
    route: string,
    params: Record<string, unknown> = {},
    options: { beforeRetry?: () => Promise<void> } = {},
  ): Promise<ApiResponse<T>> {
    const { attempts, signal } = this.options;
    const fetchImpl = await (this.fetchImpl ??= proxyFetch(this.options.baseUrl).then(
      (viaProxy) => viaProxy ?? (nodeFetch as unknown as typeof fetch),
    ));
    for (let attempt = 1; ; attempt++) {
      signal.throwIfAborted();
      try {
        const response = await request(route, {
          ...params,
          baseUrl: this.options.baseUrl,
          headers: {
            authorization: `token ${this.options.token}`,
            'user-agent': `supabase-migration-guard/${TOOL_VERSION}`,
            'x-github-api-version': '2022-11-28',
          },
          request: {
            signal: AbortSignal.any([signal, AbortSignal.timeout(this.options.timeoutMs)]),
            fetch: fetchImpl,
          },
        });
        return response as unknown as ApiResponse<T>;
      } catch (error) {
        signal.throwIfAborted();
        const failure = describe(error);
        if (!failure.transient) throw new ApiRefusal(failure.status, failure.message);
        if (attempt >= attempts) throw new Error(`${failure.message} (gave up after ${attempts} attempts)`);
        await sleep(failure.retryAfterMs ?? backoff(this.options.baseDelayMs, attempt), signal);
        await options.beforeRetry?.();
      }
    }
  }
}

interface Failure {
  status: number;
  message: string;
  transient: boolean;
  retryAfterMs?: number;
}

/** What an error from @octokit/request means for a retry (its errors carry status and headers). */
function describe(error: unknown): Failure {
  const e = error as {
    status?: number;
    message?: string;
    name?: string;
    response?: { headers?: Record<string, string | undefined> };
  };
  const headers = e.response?.headers ?? {};
  // A timeout or a dropped connection: @octokit/request reports them as status 500 without a response.
  if (!e.response) {
    // A certificate that was not accepted stays so: no retry (and no token advice) helps.
    const certificate = untrustedCertificate(error);
    if (certificate) {
      return {
        status: 0,
        message: `the API's TLS certificate was not accepted (${certificate}: ${e.message ?? ''}); ${TRUST_HINT} (GitHub Enterprise Server)`,
        transient: false,
      };
    }
    const timedOut = e.name === 'TimeoutError' || e.name === 'AbortError';
    return {
      status: 0,
      message: timedOut
        ? 'GitHub did not answer in time'
        : `could not reach GitHub: ${e.message ?? String(error)}`,
      transient: true,
    };
  }
  const status = e.status ?? 0;
  const message = `HTTP ${status}: ${(e.message ?? '').split(' - ')[0]}`;
  const retryAfter = Number(headers['retry-after']);
  const retryAfterMs =
    Number.isFinite(retryAfter) && retryAfter >= 0 ? Math.min(retryAfter * 1000, MAX_DELAY_MS) : undefined;
  const rateLimited =
    status === 429 ||
    (status === 403 &&
      (headers['retry-after'] !== undefined ||
        headers['x-ratelimit-remaining'] === '0' ||
        /rate limit/i.test(e.message ?? '')));
  if (rateLimited) {
    const reset = Number(headers['x-ratelimit-reset']);
    const untilReset =
      Number.isFinite(reset) && reset > 0 ? Math.max(0, reset * 1000 - Date.now()) : undefined;
    return {
      status,
      message,
      transient: true,
      retryAfterMs:
        retryAfterMs ?? (untilReset !== undefined ? Math.min(untilReset, MAX_DELAY_MS) : undefined),
    };
  }
  return { status, message, transient: status >= 500, retryAfterMs };
}

function backoff(baseMs: number, attempt: number): number {
  const step = baseMs * 2 ** (attempt - 1);
  return Math.round(step * (0.75 + Math.random() * 0.5));
}

/** Waits `ms`, or less when `signal` aborts; never keeps the process alive by itself. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      if (signal.aborted) reject(signal.reason);
      else resolve();
    };
    const timer = setTimeout(done, ms);
    timer.unref();
    signal.addEventListener('abort', done, { once: true });
  });
}
