/**
 * The live pull request comment, through the real GitHub client (@octokit/request on fetch) to a
 * loopback server that answers like GitHub's REST API: stage events in, comment bodies out.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { proxyFor } from '../../src/proxy.js';
import { scrubberForInputs } from '../../src/config/run-scrubber.js';
import { parseSettings, type RawInputs } from '../../src/config/settings.js';
import type { StageEvent } from '../../src/engine/events.js';
import type { RunResult } from '../../src/engine/result.js';
import { commentBoardFor, type BoardHandle } from '../../src/github/board.js';
import { commentMarker } from '../../src/report/comment.js';
import { FakeGitHub } from '../helpers/github-api.js';
import { startConnectProxy, withEnv } from '../helpers/proxy.js';

const PASSWORD = 'pa ss/wörd:secret';
const DATABASE_URL = `postgres://app:${encodeURIComponent(PASSWORD)}@db.example.com:5432/app`;
const TOKEN = 'ghs_testtoken1234567890';
const SHA = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678';

let github: FakeGitHub;
let logs: string[];
const boards: BoardHandle[] = [];

beforeEach(async () => {
  github = await new FakeGitHub().start();
  logs = [];
});
afterEach(async () => {
  while (boards.length) await boards.pop()!.finish(0);
  await github.stop();
});

function board(
  options: {
    command?: string;
    event?: 'pull_request' | 'push';
    extra?: RawInputs;
    timeoutMs?: number;
    attempts?: number;
    baseDelayMs?: number;
    apiUrl?: string;
    spacing?: { minMs: number; maxMs: number };
    startDelayMs?: number;
  } = {},
): BoardHandle {
  const raw: RawInputs = {
    command: options.command ?? 'apply',
    'database-url': DATABASE_URL,
    environment: 'production',
    'github-token': TOKEN,
    backup: 'off',
    ...options.extra,
  };
  const settings = parseSettings(raw);
  const event = options.event ?? 'pull_request';
  const handle = commentBoardFor(
    settings,
    {
      actor: 'octocat',
      eventName: event,
      repository: 'acme/app',
      sha: SHA,
      runUrl: 'https://github.com/acme/app/actions/runs/4242',
      pullRequest: event === 'pull_request' ? 7 : undefined,
    },
    { GITHUB_API_URL: options.apiUrl ?? github.url },
    scrubberForInputs(raw),
    {
      info: (m) => logs.push(`info: ${m}`),
      warn: (m) => logs.push(`warn: ${m}`),
      debug: () => {},
    },
    {
      timeoutMs: options.timeoutMs ?? 5_000,
      attempts: options.attempts ?? 3,
      baseDelayMs: options.baseDelayMs ?? 20,
      // Every stage its own update (the spacing of updates has a test of its own).
      spacing: options.spacing ?? { minMs: 0, maxMs: 0 },
      // And from the first event (the start delay has a test of its own).
      startDelayMs: options.startDelayMs ?? 0,
    },
  );
  expect(handle).toBeDefined();
  boards.push(handle!);
  return handle!;
}

function result(overrides: Partial<RunResult> = {}): RunResult {
  return {
    tool: { name: 'supabase-migration-guard', version: '0.1.0' },
    command: 'apply',
    environment: 'production',
    status: 'success',
    changed: true,
    startedAt: '2026-05-01T10:00:00.000Z',
    finishedAt: '2026-05-01T10:00:03.000Z',
    durationMs: 3000,
    migrations: ['1', '2', '3'].map((v) => ({
      version: v,
      name: `m${v}`,
      file: `supabase/migrations/${v}_m${v}.sql`,
      status: 'applied',
      durationMs: 10,
      statements: 1,
      atomic: true,
      nonAtomicReasons: [],
    })),
    applied: ['1', '2', '3'],
    pendingCount: 0,
    findings: [],
    skippedFiles: [],
    message: 'Applied 3 migrations.',
    ...overrides,
  };
}

const pending = ['1', '2', '3'].map((v) => ({
  version: v,
  name: `m${v}`,
  file: `supabase/migrations/${v}_m${v}.sql`,
}));
const backup = {
  path: '/tmp/b.dump',
  sha256: 'ab'.repeat(32),
  sizeBytes: 4096,
  durationMs: 50,
  pgDumpVersion: 'pg_dump 17.2',
  entries: 9,
};

/** Feeds events one at a time, letting each update reach the API before the next. */
async function feed(handle: BoardHandle, events: StageEvent[]): Promise<void> {
  for (const event of events) {
    await handle.listener(event);
  }
  await handle.finish(10_000);
}

const stagesOf = (body: string) =>
  body.split('\n').find((l) => l.includes('planned') || l.includes('planning'))!;

describe('the sticky pull request comment', () => {
  it('creates one comment, then updates it in place at every stage, in order', async () => {
    const handle = board({ extra: { backup: 'required' } });
    await feed(handle, [
      { type: 'run-started', command: 'apply', environment: 'production', pending },
      { type: 'backup-taken', backup },
      { type: 'file-applied', version: '1', durationMs: 5, index: 1, total: 3, committed: false },
      { type: 'file-applied', version: '2', durationMs: 5, index: 2, total: 3, committed: false },
      { type: 'file-applied', version: '3', durationMs: 5, index: 3, total: 3, committed: false },
      { type: 'run-finished', result: result({ backup }) },
    ]);
    const writes = github.requests.filter((r) => r.method === 'POST' || r.method === 'PATCH');
    expect(writes.map((r) => r.method)).toEqual(['POST', 'PATCH', 'PATCH', 'PATCH', 'PATCH', 'PATCH']);
    expect(new Set(writes.slice(1).map((r) => r.path)).size).toBe(1);
    expect(github.comments).toHaveLength(1);
    expect(github.requests.every((r) => r.authorization === `token ${TOKEN}`)).toBe(true);
    expect(github.bodiesSent().map(stagesOf)).toEqual([
      '✅ planned (3 pending) → ⏳ backing up → ⬜ applying 0/3 → ⬜ applied',
      '✅ planned (3 pending) → ✅ backed up (4.0 KiB) → ⏳ applying 0/3 → ⬜ applied',
      '✅ planned (3 pending) → ✅ backed up (4.0 KiB) → ⏳ applying 1/3 → ⬜ applied',
      '✅ planned (3 pending) → ✅ backed up (4.0 KiB) → ⏳ applying 2/3 → ⬜ applied',
      '✅ planned (3 pending) → ✅ backed up (4.0 KiB) → ⏳ applying 3/3 → ⬜ applied',
      '✅ planned (3 pending) → ✅ backed up (4.0 KiB) → ✅ applied 3/3 → ✅ applied',
    ]);
    for (const body of github.bodiesSent()) expect(body.startsWith(commentMarker('production'))).toBe(true);
  });

  it('shows a failure and its rollback with the reason, and scrubs the password from every body', async () => {
    const handle = board();
    const error = {
      message: `connection to ${DATABASE_URL} refused; password ${PASSWORD}`,
      file: 'supabase/migrations/2_m2.sql',
      line: 4,
    };
    await feed(handle, [
      { type: 'run-started', command: 'apply', environment: 'production', pending },
      { type: 'file-applied', version: '1', durationMs: 5, index: 1, total: 3, committed: false },
      { type: 'file-failed', version: '2', error },
      { type: 'rolled-back', versions: ['1', '2'], how: 'transaction', succeeded: true },
      {
        type: 'run-finished',
        result: result({
          status: 'rolled-back',
          applied: [],
          error: { message: 'relation "x" does not exist', file: 'supabase/migrations/2_m2.sql', line: 4 },
        }),
      },
    ]);
    const stages = github.bodiesSent().map(stagesOf);
    expect(stages[3]).toContain(
      '⏳ rolling back (supabase/migrations/2_m2.sql:4: connection to *** refused; password ***)',
    );
    expect(stages.at(-1)).toBe(
      '✅ planned (3 pending) → ❌ applying 1/3 → ↩️ rolled back (supabase/migrations/2_m2.sql:4: relation "x" does not exist)',
    );
    const all = github.requests.map((r) => JSON.stringify(r.body ?? '')).join('\n');
    for (const secret of [PASSWORD, encodeURIComponent(PASSWORD), DATABASE_URL, TOKEN]) {
      expect(all).not.toContain(secret);
      expect(all).not.toContain(JSON.stringify(secret).slice(1, -1));
    }
  });

  it('sends only the newest state when updates come faster than the API answers', async () => {
    const handle = board();
    const events: StageEvent[] = [
      { type: 'run-started', command: 'apply', environment: 'production', pending },
      ...pending.map((p, i): StageEvent => ({
        type: 'file-applied',
        version: p.version,
        durationMs: 1,
        index: i + 1,
        total: 3,
        committed: true,
      })),
      { type: 'run-finished', result: result() },
    ];
    // Handed over without waiting: the first call is still out when the rest arrive.
    for (const event of events) void handle.listener(event);
    await handle.finish(10_000);
    const bodies = github.bodiesSent();
    // One: the first update is rendered when it goes out, from the final state, and the final
    // update then has nothing new to say (the same body is never sent twice).
    expect(bodies).toHaveLength(1);
    expect(stagesOf(bodies.at(-1)!)).toBe('✅ planned (3 pending) → ✅ applied 3/3 → ✅ applied');
  });

  it('a burst of events (an all run reports its files at its commit, then ends) makes no update of its own before the final one', async () => {
    const handle = board();
    await handle.listener({ type: 'run-started', command: 'apply', environment: 'production', pending });
    expect(github.bodiesSent()).toHaveLength(1); // the board under way, at once
    for (const [i, p] of pending.entries())
      void handle.listener({
        type: 'file-applied',
        version: p.version,
        durationMs: 1,
        index: i + 1,
        total: 3,
        committed: true,
      });
    await new Promise((resolve) => setTimeout(resolve, 30)); // the end comes a moment later
    void handle.listener({ type: 'run-finished', result: result() });
    await handle.finish(10_000);
    expect(github.bodiesSent().map(stagesOf)).toEqual([
      '✅ planned (3 pending) → ⏳ applying 0/3 → ⬜ applied',
      '✅ planned (3 pending) → ✅ applied 3/3 → ✅ applied',
    ]);
  });

  it('spaces progress updates (GitHub limits content-creating requests): a few, at least the spacing apart, ending on the final state', async () => {
    const handle = board({ spacing: { minMs: 250, maxMs: 250 } });
    await handle.listener({ type: 'run-started', command: 'apply', environment: 'production', pending });
    const total = 30;
    // A file every 20 ms for 600 ms, each handed over as it comes.
    for (let i = 1; i <= total; i++) {
      void handle.listener({
        type: 'file-applied',
        version: String(i),
        durationMs: 1,
        index: i,
        total,
        committed: true,
      });
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    void handle.listener({ type: 'run-finished', result: result() });
    await handle.finish(10_000);
    const writes = github.requests.filter((r) => r.method === 'POST' || r.method === 'PATCH');
    // The first state, a few progress updates (not one per file), the final state.
    expect(writes.length).toBeGreaterThanOrEqual(3);
    expect(writes.length).toBeLessThanOrEqual(5);
    const progress = writes.slice(1, -1);
    const starts = [writes[0], ...progress].map((w) => w.at);
    for (let i = 1; i < starts.length; i++) expect(starts[i] - starts[i - 1]).toBeGreaterThanOrEqual(240);
    const counts = github
      .bodiesSent()
      .slice(1, -1)
      .map((b) => Number(/applying (\d+)\//.exec(b)?.[1]));
    expect(counts.every((n) => n > 0 && n <= total)).toBe(true);
  });

  it('the final state is not held back by the spacing: the update waiting for its turn is replaced by it', async () => {
    const handle = board({ spacing: { minMs: 20_000, maxMs: 20_000 } });
    // Not awaited (the engine never waits for its listeners): the board under way goes out at once.
    void handle.listener({ type: 'run-started', command: 'apply', environment: 'production', pending });
    const started = Date.now();
    while (github.bodiesSent().length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    // The first comment is not held back either (the state before run-started had nothing to post).
    expect(Date.now() - started).toBeLessThan(10_000);
    void handle.listener({
      type: 'file-applied',
      version: '1',
      durationMs: 1,
      index: 1,
      total: 3,
      committed: true,
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const finished = Date.now();
    void handle.listener({ type: 'run-finished', result: result() });
    await handle.finish(30_000);
    expect(Date.now() - finished).toBeLessThan(10_000); // not the 20 s the spacing would hold it
    expect(github.bodiesSent().map(stagesOf)).toEqual([
      '✅ planned (3 pending) → ⏳ applying 0/3 → ⬜ applied',
      '✅ planned (3 pending) → ✅ applied 1/3 → ✅ applied',
    ]);
  });

  it('starts a moment after the run has something to report (the engine is busiest then), with what happened meanwhile', async () => {
    const handle = board({ startDelayMs: 300 });
    const started = Date.now();
    void handle.listener({ type: 'run-started', command: 'apply', environment: 'production', pending });
    void handle.listener({ type: 'backup-taken', backup });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(github.requests).toEqual([]); // not even the client loaded and the pull request looked up
    while (github.bodiesSent().length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    // One first update, with both events in it.
    expect(github.bodiesSent().map(stagesOf)).toEqual([
      '✅ planned (3 pending) → ✅ backed up (4.0 KiB) → ⏳ applying 0/3 → ⬜ applied',
    ]);
    void handle.listener({ type: 'run-finished', result: result({ backup }) });
    await handle.finish(10_000);
    expect(stagesOf(github.bodiesSent().at(-1)!)).toBe(
      '✅ planned (3 pending) → ✅ backed up (4.0 KiB) → ✅ applied 3/3 → ✅ applied',
    );
  });

  it('a run that ends before the start delay posts its final state at once, and nothing before it', async () => {
    const handle = board({ startDelayMs: 20_000 });
    const started = Date.now();
    void handle.listener({ type: 'run-started', command: 'apply', environment: 'production', pending });
    void handle.listener({ type: 'run-finished', result: result() });
    await handle.finish(30_000);
    expect(Date.now() - started).toBeLessThan(10_000); // not the 20 s of the delay
    expect(github.requests.filter((r) => r.method === 'POST' || r.method === 'PATCH')).toHaveLength(1);
    expect(github.bodiesSent().map(stagesOf)).toEqual([
      '✅ planned (3 pending) → ✅ applied 3/3 → ✅ applied',
    ]);
  });

  it('a comment whose creation answer was lost is found and updated, never posted twice', async () => {
    const handle = board({ timeoutMs: 300 });
    github.faults.push({ method: 'POST', lose: true, times: 1 });
    await handle.listener({ type: 'run-started', command: 'apply', environment: 'production', pending });
    void handle.listener({ type: 'run-finished', result: result() });
    await handle.finish(10_000);
    expect(github.comments).toHaveLength(1);
    expect(github.requests.filter((r) => r.method === 'POST')).toHaveLength(1);
    expect(stagesOf(github.comments[0].body)).toBe('✅ planned (3 pending) → ✅ applied 3/3 → ✅ applied');
  });

  it('retries a 502 and a secondary rate limit, then delivers the update', async () => {
    github.faults.push({ method: 'POST', status: 502, times: 1 });
    github.faults.push({
      method: 'POST',
      status: 403,
      message: 'You have exceeded a secondary rate limit',
      headers: { 'retry-after': '0' },
      times: 1,
    });
    const handle = board();
    await feed(handle, [{ type: 'run-finished', result: result() }]);
    expect(github.requests.filter((r) => r.method === 'POST').map((r) => r.status)).toEqual([502, 403, 201]);
    expect(github.comments).toHaveLength(1);
    expect(logs.filter((l) => l.startsWith('warn'))).toEqual([]);
  });

  it('backs off between retries: each wait longer than the one before', async () => {
    github.faults.push({ method: 'POST', status: 502, times: 3 });
    const handle = board({ attempts: 4, baseDelayMs: 300 });
    await feed(handle, [{ type: 'run-finished', result: result() }]);
    const posts = github.requests.filter((r) => r.method === 'POST');
    expect(posts.map((r) => r.status)).toEqual([502, 502, 502, 201]);
    const gaps = posts.slice(1).map((r, i) => r.at - posts[i].at);
    // 300 ms doubling, each within ±25 %: every wait is longer than the one before it.
    expect(gaps[0]).toBeGreaterThanOrEqual(220);
    expect(gaps[1]).toBeGreaterThan(gaps[0]);
    expect(gaps[2]).toBeGreaterThan(gaps[1]);
  });

  it('waits as long as retry-after says on a 429', async () => {
    github.faults.push({ method: 'POST', status: 429, headers: { 'retry-after': '1' }, times: 1 });
    const handle = board({ baseDelayMs: 1 });
    await feed(handle, [{ type: 'run-finished', result: result() }]);
    const posts = github.requests.filter((r) => r.method === 'POST');
    expect(posts.map((r) => r.status)).toEqual([429, 201]);
    expect(posts[1].at - posts[0].at).toBeGreaterThanOrEqual(990);
  });

  it('goes through the HTTP proxy named by HTTPS_PROXY / HTTP_PROXY (self-hosted runners)', async () => {
    // The API's host name does not resolve here: only the proxy knows where it is.
    const proxy = await startConnectProxy(Number(new URL(github.url).port));
    const { tunnels } = proxy;
    const apiUrl = `http://api.github.invalid:${new URL(github.url).port}`;
    try {
      await withEnv({ HTTP_PROXY: proxy.address, NO_PROXY: undefined }, async () => {
        const handle = board({ apiUrl });
        await feed(handle, [{ type: 'run-finished', result: result() }]);
      });
    } finally {
      await proxy.close();
    }
    expect(github.comments).toHaveLength(1);
    expect(new Set(tunnels)).toEqual(new Set([`api.github.invalid:${new URL(github.url).port}`]));
  });

  it('picks the proxy as @actions/http-client does: by scheme, never for loopback, not for hosts in NO_PROXY', () => {
    const api = new URL('https://ghe.example.com/api/v3');
    expect(proxyFor(api, {})).toBeUndefined();
    expect(proxyFor(api, { HTTPS_PROXY: 'proxy:3128' })).toBe('http://proxy:3128');
    expect(proxyFor(api, { HTTP_PROXY: 'http://proxy:3128' })).toBeUndefined();
    expect(proxyFor(new URL('http://127.0.0.1:8080'), { HTTP_PROXY: 'http://proxy:3128' })).toBeUndefined();
    for (const noProxy of [
      'example.com',
      '.example.com',
      'ghe.example.com:443',
      '*',
      'other.org, ghe.example.com',
    ])
      expect([noProxy, proxyFor(api, { HTTPS_PROXY: 'http://p:1', NO_PROXY: noProxy })]).toEqual([
        noProxy,
        undefined,
      ]);
    expect(proxyFor(api, { HTTPS_PROXY: 'http://p:1', NO_PROXY: 'ghe.example.com:8443,example.org' })).toBe(
      'http://p:1',
    );
  });

  it('warns once on a 403 (a fork pull request with a read-only token) and stops calling the API', async () => {
    github.faults.push({ status: 403, message: 'Resource not accessible by integration', times: 100 });
    const handle = board();
    await feed(handle, [
      { type: 'run-started', command: 'apply', environment: 'production', pending },
      { type: 'file-applied', version: '1', durationMs: 5, index: 1, total: 3, committed: false },
      { type: 'run-finished', result: result() },
    ]);
    expect(github.requests).toHaveLength(1);
    const warnings = logs.filter((l) => l.startsWith('warn'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('HTTP 403: Resource not accessible by integration');
    expect(warnings[0]).toContain('pull-requests: write');
  });

  it('gives up waiting on an API that never answers, within the bound, with a warning', async () => {
    github.faults.push({ hang: true, times: 100 });
    const handle = board({ timeoutMs: 60_000 });
    void handle.listener({ type: 'run-finished', result: result() });
    await handle.finish(300);
    expect(logs.filter((l) => l.startsWith('warn'))).toEqual([
      expect.stringContaining('GitHub did not take the last pull request comment update within 0 s'),
    ]);
    expect(github.comments).toHaveLength(0);
  });

  it('on a push, finds the merged pull request of the commit and updates the comment the plan left, past the first page, keeping its history', async () => {
    github.pullsOfCommit.set(SHA, [
      { number: 3, merged_at: null, state: 'open' },
      { number: 7, merged_at: '2026-05-01T09:00:00Z', state: 'closed' },
    ]);
    for (let i = 0; i < 120; i++) github.addComment(7, `review comment ${i}`);
    github.addComment(7, `${commentMarker('staging')}\nthe staging comment`);
    const plan = board({ command: 'plan' });
    // The plan ran on the pull request earlier (comment 7, page 2).
    await feed(plan, [
      {
        type: 'run-finished',
        result: result({
          command: 'plan',
          status: 'success',
          applied: [],
          migrations: [],
          message: 'rehearsed',
        }),
      },
    ]);
    const planComment = github.comments.find((c) => c.body.startsWith(commentMarker('production')))!;
    expect(planComment).toBeDefined();
    github.requests.length = 0;

    const apply = board({ event: 'push' });
    await feed(apply, [{ type: 'run-finished', result: result() }]);
    expect(github.requests[0].path).toBe(`/repos/acme/app/commits/${SHA}/pulls`);
    expect(github.requests.filter((r) => r.method === 'POST')).toEqual([]);
    // One update: the board under way is rendered when it goes out, by then the final state.
    expect(github.requests.filter((r) => r.method === 'PATCH').map((r) => r.path)).toEqual([
      `/repos/acme/app/issues/comments/${planComment.id}`,
    ]);
    expect(github.comments.filter((c) => c.body.startsWith(commentMarker('production')))).toHaveLength(1);
    expect(github.comments.find((c) => c.body.includes('the staging comment'))).toBeDefined();
    // One comment tells the story: the plan's line, then the apply's.
    const history = planComment.body.split('\n').filter((l) => /^- \d{4}-/.test(l));
    expect(history.map((l) => /`(plan|apply)`/.exec(l)?.[1])).toEqual(['plan', 'apply']);
  });

  it('makes no API call at all for a run with nothing to do (most pushes), and leaves an existing comment as it was', async () => {
    const nothing = result({
      status: 'nothing-to-do',
      migrations: [],
      applied: [],
      message: 'Nothing to apply.',
    });
    const first = board();
    await feed(first, [
      { type: 'run-started', command: 'apply', environment: 'production', pending: [] },
      { type: 'run-finished', result: nothing },
    ]);
    expect(github.requests).toEqual([]);
    expect(github.comments).toEqual([]);

    const existing = github.addComment(7, `${commentMarker('production')}\nan earlier plan`);
    const second = board();
    await feed(second, [{ type: 'run-finished', result: nothing }]);
    expect(github.requests).toEqual([]);
    expect(existing.body).toContain('an earlier plan');

    // The same board reports as soon as the run has something to say: a failure before it started.
    const third = board();
    await feed(third, [{ type: 'run-finished', result: result({ status: 'failed', message: 'drift' }) }]);
    expect(github.requests.filter((r) => r.method === 'PATCH').map((r) => r.path)).toContain(
      `/repos/acme/app/issues/comments/${existing.id}`,
    );
  });

  it('posts nothing on a push whose commit belongs to no pull request', async () => {
    const handle = board({ event: 'push' });
    await feed(handle, [{ type: 'run-finished', result: result() }]);
    expect(github.requests.map((r) => r.method)).toEqual(['GET']);
    expect(logs).toContain(
      `info: No pull request contains commit ${SHA.slice(0, 7)}: no status comment is posted`,
    );
  });
});

describe('when the comment is due', () => {
  const settings = (extra: RawInputs = {}) =>
    parseSettings({ 'database-url': DATABASE_URL, 'github-token': TOKEN, ...extra });
  const log = { info: () => {}, warn: () => {}, debug: () => {} };
  const run = { actor: 'a', repository: 'acme/app', sha: SHA };

  it('is off with comment: false, without a token, outside a pull request or push, for a pull request event without a number, and for commands other than plan and apply', () => {
    const scrubber = scrubberForInputs({});
    expect(
      commentBoardFor(settings({ comment: 'false' }), { ...run, eventName: 'push' }, {}, scrubber, log),
    ).toBeUndefined();
    expect(
      commentBoardFor(settings({ 'github-token': '' }), { ...run, eventName: 'push' }, {}, scrubber, log),
    ).toBeUndefined();
    expect(
      commentBoardFor(settings(), { ...run, eventName: 'workflow_dispatch' }, {}, scrubber, log),
    ).toBeUndefined();
    expect(
      commentBoardFor(settings(), { ...run, eventName: 'pull_request' }, {}, scrubber, log),
    ).toBeUndefined();
    expect(commentBoardFor(settings(), { actor: 'me@host' }, {}, scrubber, log)).toBeUndefined();
    expect(
      commentBoardFor(settings({ command: 'status' }), { ...run, eventName: 'push' }, {}, scrubber, log),
    ).toBeUndefined();
    // Due: its calls go to the fake API (GITHUB_API_URL), and it is finished with the others.
    const due = commentBoardFor(
      settings({ command: 'plan' }),
      { ...run, eventName: 'push' },
      { GITHUB_API_URL: github.url },
      scrubber,
      log,
    );
    expect(due).toBeDefined();
    boards.push(due!);
  });
});
