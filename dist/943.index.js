export const id = 943;
export const ids = [943];
export const modules = {

/***/ 8943:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   GitHubApi: () => (/* binding */ GitHubApi),
/* harmony export */   n: () => (/* binding */ ApiRefusal)
/* harmony export */ });
/* harmony import */ var _octokit_request__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(7359);
/* harmony import */ var _proxy_js__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(8903);
/* harmony import */ var _version_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(311);



// Where the tests (and older callers) import it from; it lives in src/proxy.ts, shared with the alert sender.

/** The API answered, and the answer will not change by asking again (401, 403, 404, 422, …). */
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
    fetchImpl;
    constructor(options) {
        this.options = options;
    }
    /** One REST call (`GET /repos/{owner}/{repo}/…`), retried while GitHub answers "later". */
    async call(route, params = {}) {
        const { attempts, signal } = this.options;
        const fetchImpl = await (this.fetchImpl ??= proxyFetch(this.options.baseUrl));
        for (let attempt = 1;; attempt++) {
            signal.throwIfAborted();
            try {
                const response = await (0,_octokit_request__WEBPACK_IMPORTED_MODULE_0__/* .request */ .E)(route, {
                    ...params,
                    baseUrl: this.options.baseUrl,
                    headers: {
                        authorization: `token ${this.options.token}`,
                        'user-agent': `supabase-migration-guard/${_version_js__WEBPACK_IMPORTED_MODULE_1__/* .TOOL_VERSION */ .w}`,
                        'x-github-api-version': '2022-11-28',
                    },
                    request: {
                        signal: AbortSignal.any([signal, AbortSignal.timeout(this.options.timeoutMs)]),
                        ...(fetchImpl && { fetch: fetchImpl }),
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
/**
 * Behind an HTTP(S) proxy (self-hosted runners), calls go through it as @actions/http-client
 * sends them: the proxy from https_proxy / HTTPS_PROXY (http_proxy / HTTP_PROXY for an http API),
 * unless NO_PROXY names the host; loopback hosts never use one. undici is loaded only then: it
 * costs tens of milliseconds to evaluate.
 */
async function proxyFetch(baseUrl) {
    const proxy = (0,_proxy_js__WEBPACK_IMPORTED_MODULE_2__/* .proxyFor */ .i)(new URL(baseUrl));
    if (!proxy)
        return undefined;
    const undici = await __webpack_require__.e(/* import() */ 752).then(__webpack_require__.t.bind(__webpack_require__, 6752, 19));
    const dispatcher = new undici.ProxyAgent(proxy);
    return ((url, init) => undici.fetch(url, { ...init, dispatcher }));
}


/***/ })

};
