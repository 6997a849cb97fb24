export const id = 785;
export const ids = [785];
export const modules = {

/***/ 4785:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {


// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  n: () => (/* binding */ ApiRefusal),
  GitHubApi: () => (/* binding */ GitHubApi)
});

// EXTERNAL MODULE: ./node_modules/@octokit/request/dist-bundle/index.js + 5 modules
var dist_bundle = __webpack_require__(7359);
// EXTERNAL MODULE: ./src/proxy.ts
var proxy = __webpack_require__(8903);
// EXTERNAL MODULE: external "node:http"
var external_node_http_ = __webpack_require__(7067);
// EXTERNAL MODULE: external "node:https"
var external_node_https_ = __webpack_require__(4708);
;// CONCATENATED MODULE: ./src/github/transport.ts


/**
 * The `fetch` our GitHub client is given: one request over node:http(s). Node's own fetch loads
 * its HTTP stack on first use, 24 ms of main-thread work (Node 24, measured) that lands in the
 * middle of a migration, when the engine is parsing and sending statements; node:http is part of
 * what Node has loaded already. Enough of fetch for @octokit/request: method, headers, a string
 * body, an abort signal; no redirects (the REST calls we make answer directly).
 */
function nodeFetch(url, init = {}) {
    const target = new URL(url);
    const send = target.protocol === 'https:' ? external_node_https_.request : external_node_http_.request;
    const signal = init.signal ?? undefined;
    return new Promise((resolve, reject) => {
        if (signal?.aborted)
            return reject(abortError(signal));
        const req = send(target, { method: init.method ?? 'GET', headers: init.headers, signal }, (res) => resolve(responseOf(res, url, signal)));
        req.on('error', (error) => reject(signal?.aborted ? abortError(signal) : error));
        if (typeof init.body === 'string')
            req.end(init.body);
        else
            req.end();
    });
}
function responseOf(res, url, signal) {
    const bytes = new Promise((resolve, reject) => {
        const chunks = [];
        res.on('data', (chunk) => chunks.push(chunk));
        res.on('end', () => resolve(Buffer.concat(chunks)));
        res.on('error', (error) => reject(signal?.aborted ? abortError(signal) : error));
    });
    bytes.catch(() => { }); // read (and reported) by text() or arrayBuffer()
    const headers = new Map();
    for (const [name, value] of Object.entries(res.headers)) {
        if (value !== undefined)
            headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    return {
        status: res.statusCode ?? 0,
        statusText: res.statusMessage ?? '',
        url,
        headers: {
            get: (name) => headers.get(name.toLowerCase()) ?? null,
            [Symbol.iterator]: () => headers.entries(),
        },
        body: null,
        text: async () => (await bytes).toString('utf8'),
        arrayBuffer: async () => {
            const b = await bytes;
            return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
        },
    };
}
/** As fetch reports an aborted request: the signal's reason (a TimeoutError or an AbortError). */
function abortError(signal) {
    const reason = signal.reason;
    if (reason instanceof Error)
        return reason;
    const error = new Error('This operation was aborted');
    error.name = 'AbortError';
    return error;
}

// EXTERNAL MODULE: ./src/version.ts
var version = __webpack_require__(311);
;// CONCATENATED MODULE: ./src/github/api.ts




/**
 * The API answered, and the answer will not change by asking again (401, 403, 404, 422, …); or
 * (status 0) its TLS certificate was not accepted.
 */
class ApiRefusal extends Error {
    status;
    constructor(status, message) {
        super(message);
        this.status = status;
        this.name = 'ApiRefusal';
    }
}
/** Longest wait a `retry-after` or rate-limit reset may impose on one retry. */
const MAX_DELAY_MS = 60_000;
class GitHubApi {
    options;
    /** Through the runner's proxy when one applies, else straight over node:http(s) (transport.ts). */
    fetchImpl;
    constructor(options) {
        this.options = options;
    }
    /** One REST call (`GET /repos/{owner}/{repo}/…`), retried while GitHub answers "later". */
    /**
     * `beforeRetry` runs after each backoff wait, before the call is sent again; what it throws ends
     * the call. For a call that is not safe to repeat blindly (a POST that creates something: the
     * first may have worked though its answer was lost), it looks before the call tries again.
     */
    async call(route, params = {}, options = {}) {
        const { attempts, signal } = this.options;
        const fetchImpl = await (this.fetchImpl ??= (0,proxy/* proxyFetch */.Z6)(this.options.baseUrl).then((viaProxy) => viaProxy ?? nodeFetch));
        for (let attempt = 1;; attempt++) {
            signal.throwIfAborted();
            try {
                const response = await (0,dist_bundle/* request */.E)(route, {
                    ...params,
                    baseUrl: this.options.baseUrl,
                    headers: {
                        authorization: `token ${this.options.token}`,
                        'user-agent': `supabase-migration-guard/${version/* TOOL_VERSION */.w}`,
                        'x-github-api-version': '2022-11-28',
                    },
                    request: {
                        signal: AbortSignal.any([signal, AbortSignal.timeout(this.options.timeoutMs)]),
                        fetch: fetchImpl,
                    },
                });
                return response;
            }
            catch (error) {
                signal.throwIfAborted();
                const failure = describe(error);
                if (!failure.transient)
                    throw new ApiRefusal(failure.status, failure.message);
                if (attempt >= attempts)
                    throw new Error(`${failure.message} (gave up after ${attempts} attempts)`);
                await sleep(failure.retryAfterMs ?? backoff(this.options.baseDelayMs, attempt), signal);
                await options.beforeRetry?.();
            }
        }
    }
}
/** What an error from @octokit/request means for a retry (its errors carry status and headers). */
function describe(error) {
    const e = error;
    const headers = e.response?.headers ?? {};
    // A timeout or a dropped connection: @octokit/request reports them as status 500 without a response.
    if (!e.response) {
        // A certificate that was not accepted stays so: no retry (and no token advice) helps.
        const certificate = (0,proxy/* untrustedCertificate */.IF)(error);
        if (certificate) {
            return {
                status: 0,
                message: `the API's TLS certificate was not accepted (${certificate}: ${e.message ?? ''}); ${proxy/* TRUST_HINT */.Jf} (GitHub Enterprise Server)`,
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
    const retryAfterMs = Number.isFinite(retryAfter) && retryAfter >= 0 ? Math.min(retryAfter * 1000, MAX_DELAY_MS) : undefined;
    const rateLimited = status === 429 ||
        (status === 403 &&
            (headers['retry-after'] !== undefined ||
                headers['x-ratelimit-remaining'] === '0' ||
                /rate limit/i.test(e.message ?? '')));
    if (rateLimited) {
        const reset = Number(headers['x-ratelimit-reset']);
        const untilReset = Number.isFinite(reset) && reset > 0 ? Math.max(0, reset * 1000 - Date.now()) : undefined;
        return {
            status,
            message,
            transient: true,
            retryAfterMs: retryAfterMs ?? (untilReset !== undefined ? Math.min(untilReset, MAX_DELAY_MS) : undefined),
        };
    }
    return { status, message, transient: status >= 500, retryAfterMs };
}
function backoff(baseMs, attempt) {
    const step = baseMs * 2 ** (attempt - 1);
    return Math.round(step * (0.75 + Math.random() * 0.5));
}
/** Waits `ms`, or less when `signal` aborts; never keeps the process alive by itself. */
function sleep(ms, signal) {
    return new Promise((resolve, reject) => {
        const done = () => {
            clearTimeout(timer);
            signal.removeEventListener('abort', done);
            if (signal.aborted)
                reject(signal.reason);
            else
                resolve();
        };
        const timer = setTimeout(done, ms);
        timer.unref();
        signal.addEventListener('abort', done, { once: true });
    });
}


/***/ })

};
