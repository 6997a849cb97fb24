export const id = 429;
export const ids = [429,785];
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


/***/ }),

/***/ 6429:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

// ESM COMPAT FLAG
__webpack_require__.r(__webpack_exports__);

// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  CommentBoard: () => (/* binding */ CommentBoard),
  worthStarting: () => (/* binding */ worthStarting)
});

;// CONCATENATED MODULE: ./src/report/board-state.ts
function startBoard(start) {
    const at = start.at.toISOString();
    return {
        environment: start.environment,
        command: start.command,
        runUrl: start.runUrl,
        sha: start.sha,
        backupExpected: start.backupExpected,
        startedAt: at,
        updatedAt: at,
        applied: [],
        committed: [],
        lockRetries: [],
    };
}
/** The board after one more event (a new value; the old one is left as it was). */
function foldEvent(state, event, at) {
    return foldEvents(state, [{ event, at }]);
}
/**
 * The board after these events, in order (a new value; the old one is left as it was). Linear in
 * the events: an `all` run reports its hundreds of files at its commit, and folding them one at a
 * time (a copy of the lists and a search of them for each) made the end of such a run quadratic.
 */
function foldEvents(state, events) {
    const next = {
        ...state,
        applied: [...state.applied],
        committed: [...state.committed],
        lockRetries: [...state.lockRetries],
    };
    const applied = new Set(next.applied);
    const committed = new Set(next.committed);
    for (const { event, at } of events) {
        next.updatedAt = at.toISOString();
        switch (event.type) {
            case 'run-started':
                next.pending = event.pending;
                next.total = event.pending.length;
                break;
            case 'backup-taken':
                next.backup = event.backup;
                break;
            case 'rehearsal-done':
                next.rehearsal = {
                    ran: event.ran,
                    reason: event.reason,
                    failed: event.failed,
                    notRehearsed: event.notRehearsed,
                };
                break;
            case 'file-applied':
                // Counted by version: the event's index says nothing about whether it counts from 0 or 1.
                if (!applied.has(event.version)) {
                    applied.add(event.version);
                    next.applied.push(event.version);
                }
                if (event.committed && !committed.has(event.version)) {
                    committed.add(event.version);
                    next.committed.push(event.version);
                }
                next.total = event.total;
                break;
            case 'lock-retry':
                next.lockRetries.push({
                    version: event.version,
                    attempt: event.attempt,
                    delayMs: event.delayMs,
                    blocker: event.blocker,
                });
                break;
            case 'file-failed':
                next.failed = { version: event.version, error: event.error };
                break;
            case 'rolled-back':
                next.rolledBack = { versions: event.versions, how: event.how, succeeded: event.succeeded };
                break;
            case 'cancelled':
                next.cancelled = event.reason;
                break;
            case 'run-finished':
                next.result = event.result;
                next.updatedAt = event.result.finishedAt;
                break;
        }
    }
    return next;
}

// EXTERNAL MODULE: ./src/secrets.ts
var secrets = __webpack_require__(7194);
// EXTERNAL MODULE: ./src/report/lint.ts
var report_lint = __webpack_require__(6773);
// EXTERNAL MODULE: ./src/report/markdown.ts
var markdown = __webpack_require__(4285);
;// CONCATENATED MODULE: ./src/report/comment.ts



/**
 * GitHub refuses a comment body over 65,536 characters. The body is kept under that many UTF-8
 * bytes, which is never fewer than its characters however GitHub counts them.
 */
const COMMENT_LIMIT = 65_536;
/** Lists longer than this fold into `<details>`. */
const FOLD_AFTER = 10;
/** Runs kept in the comment's history. */
const HISTORY_KEPT = 20;
/** Any one message, error or finding shown. */
const TEXT_MAX = 2_000;
/** The hidden line that identifies the environment's comment among all the pull request's comments. */
function commentMarker(environment) {
    return `<!-- supabase-migration-guard:${environment} -->`;
}
const HISTORY_START = '<!-- supabase-migration-guard:history -->';
const HISTORY_END = '<!-- /supabase-migration-guard:history -->';
/** The earlier runs' lines kept in a comment this renderer wrote (empty for any other text). */
function historyOf(body) {
    const start = body.indexOf(HISTORY_START);
    const end = body.indexOf(HISTORY_END, start);
    if (start < 0 || end < 0)
        return [];
    return body
        .slice(start + HISTORY_START.length, end)
        .split('\n')
        .filter((line) => line.startsWith('- '))
        .map((line) => (0,secrets/* cut */.J)(line, 500))
        .slice(-HISTORY_KEPT);
}
/**
 * The sticky comment for one environment: what the run is doing now (or did), the stages it went
 * through, and one line per earlier run on this pull request (`history`), so the same comment
 * tells the story from plan to production. Pure: the caller scrubs what goes in.
 */
function renderComment(state, history = [], limit = COMMENT_LIMIT) {
    const result = state.result;
    const runs = result ? [...history, historyEntry(state)].slice(-HISTORY_KEPT) : history;
    const head = [
        commentMarker(state.environment),
        `### 🛡️ Migration guard · \`${state.environment}\` · ${headline(state)}`,
        '',
        stageLine(state),
        '',
        metaLine(state),
        '',
        // The message, unless it only repeats the error shown below it.
        ...(result?.message && result.message !== result.error?.message
            ? [(0,markdown/* escapeMd */.Xk)((0,secrets/* cut */.J)(result.message, TEXT_MAX)), '']
            : []),
        ...errorBlock(state),
        ...rollbackBlock(state),
        ...facts(state),
    ];
    const lists = [migrationList(state), lintList(state), lockList(state), findingList(state)].filter((l) => l !== undefined);
    const tail = historyBlock(runs);
    const fixed = (0,markdown/* bytes */.ee)(head.join('\n')) + (0,markdown/* bytes */.ee)(tail.join('\n'));
    // What the lists may take: the rest, less room for their headers, folds and notes.
    let budget = limit - fixed - 400 * (lists.length + 1);
    const body = [...head];
    for (const list of lists) {
        const rows = [];
        for (const row of list.rows) {
            const size = (0,markdown/* bytes */.ee)(row) + 1;
            if (size > budget)
                break;
            budget -= size;
            rows.push(row);
        }
        budget -= (0,markdown/* bytes */.ee)(list.header.join('\n'));
        body.push(...renderList(list, rows));
    }
    body.push(...tail);
    return fit(silenceMentions(`${body.join('\n').trimEnd()}\n`), limit);
}
/**
 * `@name` in text the comment quotes (a file name, an error, a message) would notify that user or
 * team on every update. A zero-width space after the `@` keeps it readable and silent; e-mail
 * addresses (a word character before the `@`) are left as they are.
 */
const MENTION = /(^|[^\w@])@(?=[A-Za-z0-9])/gm;
function silenceMentions(text) {
    return text.replace(MENTION, '$1@\u200b');
}
/**
 * The last guard: a body still over the limit (the lists' budget is an estimate) is cut, with a
 * note. Only pathological inputs reach it; a cut may break the Markdown after it, never the limit.
 */
function fit(body, limit) {
    if ((0,markdown/* bytes */.ee)(body) <= limit)
        return body;
    const note = '\n\n_… cut: GitHub limits a comment to 65,536 characters. The job summary has the whole report._\n';
    let end = limit - (0,markdown/* bytes */.ee)(note);
    // Bytes to characters: step back until the prefix fits (a multi-byte character may straddle the end).
    let text = Buffer.from(body, 'utf8').subarray(0, end).toString('utf8');
    while ((0,markdown/* bytes */.ee)(text) > end)
        text = text.slice(0, -1);
    end = text.length;
    return `${(0,secrets/* cut */.J)(text, end)}${note}`;
}
function renderList(list, rows) {
    const left = list.rows.length - rows.length;
    const note = left > 0
        ? [
            '',
            `_… ${left} more ${list.noun} not shown: GitHub limits a comment to ${COMMENT_LIMIT.toLocaleString('en-US')} characters. The job summary and the JSON report (output \`report-path\`) have them all._`,
        ]
        : [];
    const content = [...list.header, ...rows, ...note];
    if (list.rows.length > FOLD_AFTER) {
        return [`<details><summary>${list.title}</summary>`, '', ...content, '', '</details>', ''];
    }
    return [`**${list.title}**`, '', ...content, ''];
}
const STATUS_WORDS = {
    success: '✅ success',
    'nothing-to-do': '✅ nothing to do',
    failed: '❌ failed',
    'rolled-back': '↩️ failed and rolled back',
    cancelled: '🛑 cancelled',
};
function headline(state) {
    const result = state.result;
    if (!result) {
        if (state.cancelled)
            return '🛑 cancelling…';
        if (state.failed)
            return '⏳ failed, rolling back…';
        return `⏳ \`${state.command}\` in progress`;
    }
    if (result.cancelled || result.status === 'cancelled')
        return '🛑 cancelled';
    if (result.command === 'plan') {
        if (result.status === 'success')
            return `📋 planned: ${plural(result.migrations.length, 'pending migration')}`;
        if (result.status === 'nothing-to-do')
            return '✅ planned: nothing to apply';
        return '❌ plan failed: apply would not go through';
    }
    if (result.command === 'apply') {
        if (result.status === 'success')
            return `✅ applied ${plural(result.applied.length, 'migration')}`;
        return STATUS_WORDS[result.status];
    }
    return `\`${result.command}\` ${STATUS_WORDS[result.status]}`;
}
/** The stages in order, each marked done, under way, failed or not reached. */
function stageLine(state) {
    const result = state.result;
    if (state.command === 'plan') {
        if (!result)
            return '⏳ planning';
        if (!result.rehearsal?.ran) {
            if (result.status === 'failed')
                return '❌ plan refused';
            return result.migrations.length
                ? `✅ planned (${result.migrations.length} pending)`
                : '✅ planned: nothing pending';
        }
        // A plan fails in its rehearsal (an error) or on its lint findings (lintFailing), or both.
        const rehearsed = result.status === 'failed' && result.error ? '❌ rehearsal failed' : '✅ rehearsed';
        const linted = !result.lint
            ? ''
            : result.lintFailing
                ? ` → ❌ lint: ${plural(result.lintFailing, 'finding')} at the fail level`
                : ' → ✅ linted';
        return `✅ planned (${result.migrations.length} pending) → ${rehearsed}${linted}`;
    }
    const total = state.total ?? state.pending?.length ?? result?.migrations.length;
    // What ran before the end: the live count when the board saw it, else what the result says
    // ran (a failed run's applied list is empty: its files were rolled back).
    const applied = state.applied.length > 0 || !result
        ? state.applied.length
        : result.applied.length ||
            result.migrations.filter((m) => m.status === 'applied' || m.status === 'rolled-back').length;
    const failed = result ? result.status !== 'success' && result.status !== 'nothing-to-do' : !!state.failed;
    const backup = state.backup ?? result?.backup;
    const steps = [];
    steps.push(total === undefined && !result
        ? '⏳ planning'
        : `✅ planned${total !== undefined ? ` (${total} pending)` : ''}`);
    if (result?.status === 'nothing-to-do')
        return '✅ planned: nothing pending → ✅ nothing to do';
    if (state.backupExpected || backup) {
        steps.push(backup
            ? `✅ backed up (${(0,markdown/* formatBytes */.z3)(backup.sizeBytes)})`
            : result || state.failed || state.cancelled
                ? failed && applied === 0
                    ? '⬜ no backup'
                    : '⬜ backup'
                : total === undefined
                    ? '⬜ back up'
                    : '⏳ backing up');
    }
    const progress = `${applied}/${total ?? '?'}`;
    const backupPending = (state.backupExpected && !backup) || total === undefined;
    steps.push(result
        ? failed
            ? `❌ applying ${progress}`
            : `✅ applied ${progress}`
        : state.failed || state.cancelled
            ? `❌ applying ${progress}`
            : backupPending
                ? `⬜ applying ${progress}`
                : `⏳ applying ${progress}`);
    steps.push(outcomeStep(state));
    return steps.join(' → ');
}
function outcomeStep(state) {
    const result = state.result;
    const reason = state.failed ? ` (${failedWhere(state.failed.version, state.failed.error)})` : '';
    if (!result) {
        if (state.cancelled)
            return `⏳ cancelled: ${(0,markdown/* escapeMd */.Xk)(state.cancelled)}, rolling back`;
        if (state.failed)
            return `⏳ rolling back${reason}`;
        return '⬜ applied';
    }
    if (result.cancelled || result.status === 'cancelled')
        return result.changed
            ? '🛑 cancelled: the files committed before it stay applied'
            : '🛑 cancelled, rolled back';
    if (result.status === 'success')
        return '✅ applied';
    const why = result.error ? ` (${failedWhere(undefined, result.error)})` : reason;
    if (result.status === 'rolled-back')
        return `↩️ rolled back${why}`;
    return `❌ failed${why}`;
}
function failedWhere(version, error) {
    const place = error.file ? `${error.file}${error.line ? `:${error.line}` : ''}` : version;
    return (0,markdown/* escapeMd */.Xk)((0,secrets/* cut */.J)(`${place ? `${place}: ` : ''}${error.message.split('\n')[0]}`, 200));
}
function metaLine(state) {
    const parts = [`\`${state.command}\``];
    if (state.sha)
        parts.push(`commit \`${state.sha.slice(0, 7)}\``);
    if (state.runUrl)
        parts.push(`[workflow run](${state.runUrl})`);
    parts.push(`updated ${formatTime(state.updatedAt)}`);
    if (state.result)
        parts.push(`took ${(0,markdown/* formatSeconds */.Xo)(state.result.durationMs)}`);
    return parts.join(' · ');
}
function errorBlock(state) {
    const error = state.result?.error ?? state.failed?.error;
    if (!error)
        return [];
    const lines = [
        '```',
        (0,markdown/* escapeFenced */.JW)((0,secrets/* cut */.J)(`${(0,markdown/* errorPlace */.eI)(error)}${error.message}${error.sqlstate ? ` (SQLSTATE ${error.sqlstate})` : ''}`, TEXT_MAX)),
    ];
    if (error.detail)
        lines.push((0,markdown/* escapeFenced */.JW)((0,secrets/* cut */.J)(`DETAIL: ${error.detail}`, TEXT_MAX)));
    if (error.hint)
        lines.push((0,markdown/* escapeFenced */.JW)((0,secrets/* cut */.J)(`HINT: ${error.hint}`, TEXT_MAX)));
    return [...lines, '```', ''];
}
function rollbackBlock(state) {
    const rollback = state.result?.rollback;
    if (rollback) {
        const lines = [
            `**${rollback.kind === 'automatic' ? 'Automatic rollback' : rollback.kind === 'restore' ? 'Restore' : 'Rollback'}: ${rollback.succeeded ? 'succeeded' : 'NOT completed'}**`,
            '',
        ];
        if (rollback.reverted.length)
            lines.push(`Reverted (newest first): ${rollback.reverted.join(', ')}`, '');
        if (rollback.error)
            lines.push(`Error: ${(0,markdown/* escapeMd */.Xk)((0,secrets/* cut */.J)(rollback.error.message, TEXT_MAX))}`, '');
        if (rollback.stillApplied?.length)
            lines.push(`Still applied: ${rollback.stillApplied.join(', ')}`, '');
        if (rollback.nextStep)
            lines.push(`**Next step:** ${(0,markdown/* escapeMd */.Xk)((0,secrets/* cut */.J)(rollback.nextStep, TEXT_MAX))}`, '');
        return lines;
    }
    if (state.result?.committedBeforeFailure?.length) {
        return [`**Left applied by the failed run:** ${state.result.committedBeforeFailure.join(', ')}`, ''];
    }
    if (!state.result && state.rolledBack) {
        const how = state.rolledBack.how === 'transaction' ? 'with the transaction' : 'by down migrations';
        return [
            `Rolled back ${how}: ${state.rolledBack.versions.join(', ') || 'nothing had committed'}${state.rolledBack.succeeded ? '' : ' (NOT completed)'}`,
            '',
        ];
    }
    return [];
}
function facts(state) {
    const result = state.result;
    const lines = [];
    const backup = result?.backup ?? state.backup;
    if (backup) {
        lines.push(`Backup${backup.encrypted ? ' (age-encrypted)' : ''}: ${(0,markdown/* formatBytes */.z3)(backup.sizeBytes)}, sha256 \`${backup.sha256}\`, ${(0,markdown/* escapeMd */.Xk)(backup.pgDumpVersion)}`);
    }
    const rehearsal = result?.rehearsal ?? state.rehearsal;
    if (rehearsal) {
        const outcome = rehearsalOutcome(rehearsal.ran, state.rehearsal?.failed, result);
        const where = result?.shadow
            ? ` on the shadow database ${(0,markdown/* escapeMd */.Xk)(result.shadow.display)} (a copy of the target's schema; the target was not changed)`
            : '';
        lines.push(`Rehearsal: ${outcome}${where}${rehearsal.reason ? ` (${(0,markdown/* escapeMd */.Xk)((0,secrets/* cut */.J)(rehearsal.reason, 500))})` : ''}${rehearsal.notRehearsed.length ? `; ${plural(rehearsal.notRehearsed.length, 'statement')} could not be rehearsed` : ''}`);
    }
    if (result?.transactionMode)
        lines.push(`Transaction mode: \`${result.transactionMode}\``);
    const lock = result?.lock;
    if (lock?.waitedMs)
        lines.push(`Waited ${(0,markdown/* formatSeconds */.Xo)(lock.waitedMs)} for ${(0,markdown/* escapeMd */.Xk)(lock.waitedFor ?? 'another run')}`);
    if (result?.currentVersion)
        lines.push(`Current version: \`${result.currentVersion}\``);
    return lines.length ? [...lines.map((l) => `${l}  `), ''] : [];
}
/** What the rehearsal came to: from its event when the board saw one, else from how the run ended. */
function rehearsalOutcome(ran, failed, result) {
    if (!ran)
        return 'not run';
    if (failed !== undefined)
        return failed ? 'failed' : 'passed';
    if (!result || result.status === 'success' || result.status === 'nothing-to-do')
        return 'passed';
    // A failed plan failed in its rehearsal when it has an error (else on its lint findings); a
    // failed apply may have failed before or after it.
    if (result.command === 'plan')
        return result.error ? 'failed' : 'passed';
    return 'ran';
}
function migrationList(state) {
    const migrations = state.result?.migrations ??
        (state.pending ?? []).map((p) => ({
            version: p.version,
            name: p.name,
            file: p.file,
            status: state.applied.includes(p.version)
                ? state.committed.includes(p.version)
                    ? 'applied'
                    : 'ran'
                : state.failed?.version === p.version
                    ? 'failed'
                    : 'pending',
        }));
    if (migrations.length === 0)
        return undefined;
    return {
        title: `Migrations (${migrations.length})`,
        header: ['| Version | Name | Status | Duration | Notes |', '|---|---|---|---|---|'],
        rows: migrations.map((m) => {
            const notes = [
                m.error ? `${(0,markdown/* errorPlace */.eI)(m.error)}${m.error.message}` : '',
                m.atomic === false ? `not atomic: ${(m.nonAtomicReasons ?? []).join('; ')}` : '',
                ...(m.notes ?? []),
                m.objects ? describeObjects(m.objects) : '',
            ]
                .filter(Boolean)
                .join(' — ');
            // A pending file has a duration only when it ran for real, on a shadow database.
            const ran = m.status !== 'pending' || m.objects !== undefined;
            return `| ${m.version} | ${(0,markdown/* escapeCell */.kq)(m.name)} | ${m.status} | ${m.durationMs !== undefined && ran ? `${m.durationMs} ms` : ''} | ${(0,markdown/* escapeCell */.kq)((0,secrets/* cut */.J)(notes, 500))} |`;
        }),
        noun: 'migrations',
    };
}
/** "created table public.t; dropped index public.i": what a file did on the shadow database. */
function describeObjects(objects) {
    const parts = ['created', 'altered', 'dropped']
        .filter((k) => objects[k].length > 0)
        .map((k) => `${k} ${objects[k].join(', ')}`);
    return parts.length ? parts.join('; ') : 'no schema change';
}
/** The linter's findings, grouped per file: a line per file with its counts, its findings under it. */
function lintList(state) {
    const lint = state.result?.lint;
    if (!lint || lint.findings.length === 0)
        return undefined;
    const clip = (text) => (0,secrets/* cut */.J)(text, 300);
    return {
        title: (0,markdown/* escapeMd */.Xk)((0,report_lint/* lintTitle */.Ig)(lint)),
        header: [],
        rows: (0,report_lint/* groupByFile */.XQ)(lint.findings).flatMap((group) => [
            `- ${(0,report_lint/* groupTitle */.SZ)(group)}`,
            ...group.findings.map((f) => (0,report_lint/* findingLine */.mC)(f, clip, '  ')),
        ]),
        noun: 'lint lines',
    };
}
function lockList(state) {
    const retries = state.result?.lock?.retries ?? state.lockRetries;
    if (retries.length === 0)
        return undefined;
    return {
        title: `Lock-timeout retries (${retries.length})`,
        header: [],
        rows: retries.map((r) => {
            const message = 'message' in r ? `: ${(0,markdown/* escapeMd */.Xk)((0,secrets/* cut */.J)(String(r.message), 300))}` : '';
            const version = 'version' in r && r.version ? ` (${r.version})` : '';
            return `- retry ${r.attempt}${version} after ${r.delayMs} ms${message}${r.blocker ? ` — blocked by ${(0,markdown/* escapeMd */.Xk)((0,secrets/* cut */.J)(r.blocker, 300))}` : ''}`;
        }),
        noun: 'retries',
    };
}
function findingList(state) {
    const findings = state.result?.findings ?? [];
    if (findings.length === 0)
        return undefined;
    return {
        title: `Findings (${findings.length})`,
        header: [],
        rows: findings.map((f) => `- ${f.severity === 'error' ? '❌' : '⚠️'} ${(0,markdown/* escapeMd */.Xk)((0,secrets/* cut */.J)(f.message, 500)).replace(/\r?\n/g, ' ')}`),
        noun: 'findings',
    };
}
function historyBlock(runs) {
    if (runs.length === 0)
        return [];
    return [
        `<details><summary>Runs on this pull request (${runs.length})</summary>`,
        '',
        HISTORY_START,
        ...runs,
        HISTORY_END,
        '',
        '</details>',
    ];
}
/** One line for this finished run in the comment's history. */
function historyEntry(state) {
    const result = state.result;
    const parts = [formatTime(result.finishedAt), `\`${result.command}\``, headline(state)];
    if (state.sha)
        parts.push(`\`${state.sha.slice(0, 7)}\``);
    if (state.runUrl)
        parts.push(`[run](${state.runUrl})`);
    return `- ${parts.join(' · ')}`;
}
function formatTime(iso) {
    return `${iso.slice(0, 19).replace('T', ' ')} UTC`;
}
function plural(n, noun) {
    return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

// EXTERNAL MODULE: ./src/github/api.ts + 1 modules
var github_api = __webpack_require__(4785);
;// CONCATENATED MODULE: ./src/github/sticky-comment.ts

/** A retried POST found the comment it was creating: the first try worked, its answer was lost. */
class CreatedAfterAll extends Error {
    found;
    constructor(found) {
        super('the comment exists');
        this.found = found;
    }
}
const DEFAULT_SPACING = { minMs: 3_000, maxMs: 30_000 };
/**
 * One comment per environment, found by its marker and edited in place. Updates are coalesced: while
 * one call is out or the next is held back (Spacing), newer bodies replace each other and only the
 * newest is sent, so neither a slow API nor a fast run builds a queue. Nothing here throws: a
 * refusal (no permission, a fork's read-only token, no such pull request) is one warning and ends
 * the comment for this run; any other failure is a warning and the next update tries again.
 */
class StickyComment {
    api;
    target;
    log;
    quietMs;
    spacing;
    latest;
    /** The newest update must go out without waiting (the first state shown, the final one). */
    urgent = false;
    inFlight;
    found;
    stopped = false;
    lastWarning;
    wake;
    firstSentAt;
    lastSentAt;
    /** The body the comment holds now (as this run last wrote it): the same body is not sent again. */
    lastBody;
    constructor(api, target, log, quietMs = 0, spacing = { minMs: 0, maxMs: 0 }) {
        this.api = api;
        this.target = target;
        this.log = log;
        this.quietMs = quietMs;
        this.spacing = spacing;
    }
    /**
     * Sends `render`'s body once the calls before it are done (or drops it for a newer one). Unless
     * `now`, it first waits `quietMs` for more (stage events come in bursts: an `all` run reports
     * its files at its commit, and ends a moment later), and at least the spacing since the last
     * update. `now` (the first state shown, the final one) cuts both waits short.
     */
    publish(update, options = {}) {
        if (this.stopped)
            return Promise.resolve();
        this.latest = update;
        if (options.now) {
            this.urgent = true;
            this.wake?.();
        }
        this.inFlight ??= this.drain();
        return this.inFlight;
    }
    /** Resolves after `ms`, or as soon as an urgent update comes. */
    pause(ms) {
        return new Promise((resolve) => {
            const done = () => {
                clearTimeout(timer);
                this.wake = undefined;
                resolve();
            };
            const timer = setTimeout(done, ms);
            this.wake = done;
        });
    }
    /** How long the next update that is not urgent waits. */
    holdBack(now) {
        if (this.lastSentAt === undefined || this.firstSentAt === undefined)
            return this.quietMs;
        const { minMs, maxMs } = this.spacing;
        const gap = Math.min(maxMs, Math.max(minMs, (now - this.firstSentAt) / 10));
        return Math.max(this.quietMs, this.lastSentAt + gap - now);
    }
    /** Resolves once nothing is waiting to be sent. */
    idle() {
        return this.inFlight ?? Promise.resolve();
    }
    /** No more calls: whatever is waiting is dropped. */
    stop() {
        this.stopped = true;
        this.latest = undefined;
        this.wake?.();
    }
    async drain() {
        for (;;) {
            if (this.latest !== undefined && !this.urgent && !this.stopped) {
                const wait = this.holdBack(Date.now());
                if (wait > 0)
                    await this.pause(wait);
            }
            const update = this.latest;
            if (update === undefined || this.stopped) {
                this.inFlight = undefined;
                return;
            }
            this.latest = undefined;
            this.urgent = false;
            const at = Date.now();
            // Spaced from the last write: a state that had nothing to write (no comment to start yet) does not count.
            if (await this.send(update)) {
                this.firstSentAt ??= at;
                this.lastSentAt = at;
            }
        }
    }
    /** Whether a comment was written (or tried: a failed call counts too); not when it already said this. */
    async send({ render, create }) {
        try {
            let found;
            try {
                found = await (this.found ??= this.find());
            }
            catch (error) {
                this.found = undefined;
                throw error;
            }
            if (!found) {
                this.stop();
                return false;
            }
            if (found.commentId === undefined && !create())
                return false;
            const body = render(found.previousBody);
            // States are rendered when sent, from the newest one: two updates can find the same.
            if (body === this.lastBody)
                return false;
            if (found.commentId !== undefined) {
                await this.api.call('PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}', {
                    owner: this.target.owner,
                    repo: this.target.repo,
                    comment_id: found.commentId,
                    body,
                });
            }
            else
                await this.create(found, body);
            this.lastBody = body;
            return true;
        }
        catch (error) {
            if (!this.stopped)
                this.warn(error);
            return true;
        }
    }
    /**
     * Creates the comment. A POST is never repeated blindly: when its answer is lost (a timeout, a
     * 5xx) the comment may exist all the same, so before each retry the pull request's comments are
     * read again, and the body goes to the one found (PATCH) instead of a second POST.
     */
    async create(found, body) {
        const { owner, repo } = this.target;
        try {
            const created = await this.api.call('POST /repos/{owner}/{repo}/issues/{issue_number}/comments', { owner, repo, issue_number: found.number, body }, {
                beforeRetry: async () => {
                    const again = await this.find();
                    if (again?.commentId !== undefined)
                        throw new CreatedAfterAll(again);
                },
            });
            found.commentId = created.data.id;
            this.log.info(`Posted the migration status comment on pull request #${found.number}`);
        }
        catch (error) {
            if (error instanceof CreatedAfterAll) {
                Object.assign(found, error.found);
                await this.api.call('PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}', {
                    owner,
                    repo,
                    comment_id: error.found.commentId,
                    body,
                });
                return;
            }
            // Given up: look again next time rather than risk a second comment.
            if (!(error instanceof github_api/* ApiRefusal */.n))
                this.found = undefined;
            throw error;
        }
    }
    /** The pull request, and this environment's comment on it when there is one. */
    async find() {
        const { owner, repo } = this.target;
        let number = this.target.pullRequest;
        if (number === undefined && this.target.sha) {
            const pulls = await this.api.call('GET /repos/{owner}/{repo}/commits/{commit_sha}/pulls', { owner, repo, commit_sha: this.target.sha });
            // The merged pull request first: a commit can also sit on open ones (stacked branches).
            const pull = pulls.data.find((p) => p.merged_at) ?? pulls.data[0];
            number = pull?.number;
            if (number === undefined) {
                this.log.info(`No pull request contains commit ${this.target.sha.slice(0, 7)}: no status comment is posted`);
                return undefined;
            }
        }
        if (number === undefined)
            return undefined;
        for (let page = 1;; page++) {
            const comments = await this.api.call('GET /repos/{owner}/{repo}/issues/{issue_number}/comments', { owner, repo, issue_number: number, per_page: 100, page });
            const mine = comments.data.find((c) => (c.body ?? '').trimStart().startsWith(this.target.marker));
            if (mine)
                return { number, commentId: mine.id, previousBody: mine.body };
            if (!/rel="next"/.test(comments.headers.link ?? ''))
                return { number };
        }
    }
    warn(error) {
        const refused = error instanceof github_api/* ApiRefusal */.n;
        const message = !refused
            ? `Could not update the pull request comment: ${error.message}. The migration itself is not affected.`
            : error.status === 0
                ? `Could not update the pull request comment: ${error.message}. The migration itself is not affected, ` +
                    'and this run posts no more comment updates.'
                : `Could not update the pull request comment (${error.message}). The token needs "pull-requests: write" ` +
                    '(a pull request from a fork only gets a read-only token); the migration itself is not affected, ' +
                    'and this run posts no more comment updates.';
        if (refused)
            this.stop();
        if (message !== this.lastWarning)
            this.log.warn(message);
        this.lastWarning = message;
    }
}

;// CONCATENATED MODULE: ./src/github/comment-board.ts




/**
 * Whether this state may start a comment on a pull request that has none: not a run with nothing
 * pending and nothing to report (every pull request of the repository would get one), nor one
 * that has not said yet what it will do. An existing comment is always updated.
 */
function worthStarting(state) {
    const result = state.result;
    if (!result)
        return (state.pending?.length ?? 0) > 0 || !!state.failed;
    return result.status !== 'nothing-to-do' || result.findings.length > 0;
}
/** Stage events within this long of each other make one comment update. */
const QUIET_MS = 150;
/**
 * The live status board on the pull request: each stage event is folded into the board's state
 * and the comment is re-rendered from it (coalesced by StickyComment). Scrubbed at the sink: the
 * state before it is rendered (and cut), the body again before it is sent.
 */
class CommentBoard {
    options;
    state;
    /** Events not folded into `state` yet: folded together when the board is next rendered. */
    unfolded = [];
    sticky;
    now;
    constructor(options) {
        this.options = options;
        this.now = options.now ?? (() => new Date());
        this.state = startBoard(options.start);
        const api = new github_api.GitHubApi({
            token: options.token,
            baseUrl: options.apiUrl,
            timeoutMs: options.timeoutMs ?? 10_000,
            attempts: options.attempts ?? 4,
            baseDelayMs: options.baseDelayMs ?? 1_000,
            signal: options.signal,
        });
        this.sticky = new StickyComment(api, { ...options.target, marker: commentMarker(options.start.environment) }, options.log, options.quietMs ?? QUIET_MS, options.spacing ?? DEFAULT_SPACING);
        options.signal.addEventListener('abort', () => this.sticky.stop(), { once: true });
    }
    /**
     * Posts the board as it is (the "in progress" state, before any event). Folded, scrubbed and
     * rendered only when StickyComment actually sends it, from the newest state then: an `all` run
     * hands over hundreds of file-applied events at once, and most states are never sent (the next
     * replaces them); folding and scrubbing each of them made the end of a run quadratic.
     */
    show(now = true) {
        const { scrubber } = this.options;
        return this.sticky.publish({
            render: (previous) => scrubber.scrub(renderComment(scrubber.scrubValue(this.current()), historyOf(previous ?? ''))),
            create: () => worthStarting(this.current()),
        }, { now });
    }
    /** The board with every event handed over so far. */
    current() {
        if (this.unfolded.length > 0)
            this.state = foldEvents(this.state, this.unfolded.splice(0));
        return this.state;
    }
    /** Resolves once the newest state has been sent (or given up on). */
    idle() {
        return this.sticky.idle();
    }
    /** The first state (the run under way, `show()`) and the final one go out at once; the others settle first. */
    handle(event) {
        this.unfolded.push({ event, at: this.now() });
        return this.show(event.type === 'run-finished');
    }
}


/***/ })

};
