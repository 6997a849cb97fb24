/**
 * The sticky pull request comment from the bundle itself: `node dist/index.js` as the runner
 * starts it, with GITHUB_API_URL pointing at a loopback server that answers like GitHub's REST
 * API and records every request, against a real fresh database.
 */
import { runActionProcess, type ActionProcess } from '../helpers/action-process.js';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { databasesFor, query, testServers } from '../helpers/db.js';
import { FakeGitHub } from '../helpers/github-api.js';
import { TLS_FIXTURE } from '../helpers/loopback-http.js';
import { tempDirsFor } from '../helpers/temp.js';
import { startConnectProxy } from '../helpers/proxy.js';

const ROOT = process.cwd();
const SHA = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678';
const TOKEN = 'ghs_e2eToken0123456789abcdef';
const MARKER = '<!-- supabase-migration-guard:production -->';

const tempDir = tempDirsFor();
let github: FakeGitHub;

beforeEach(async () => {
  github = await new FakeGitHub().start();
});
afterEach(async () => {
  await github.stop();
});

type Run = ActionProcess;

/** A workspace holding the example migrations as supabase/migrations. */
function workspace(): string {
  const cwd = tempDir('mg-e2e-comment-ws-');
  const dir = join(cwd, 'supabase', 'migrations');
  mkdirSync(dir, { recursive: true });
  cpSync(join(ROOT, 'migrations'), dir, { recursive: true });
  return cwd;
}

function runAction(
  cwd: string,
  databaseUrl: string,
  event: { name: 'pull_request' | 'push'; payload: unknown },
  inputs: Record<string, string> = {},
  extraEnv: NodeJS.ProcessEnv = {},
): Promise<Run> {
  return runActionProcess({
    dir: tempDir('mg-e2e-comment-run-'),
    cwd,
    event,
    inputs: {
      'database-url': databaseUrl,
      environment: 'production',
      backup: 'off',
      'github-token': TOKEN,
      ...inputs,
    },
    env: { GITHUB_SHA: SHA, GITHUB_ACTOR: 'octocat', GITHUB_API_URL: github.url, ...extraEnv },
  });
}

const PULL_REQUEST = { name: 'pull_request' as const, payload: { number: 7, pull_request: { number: 7 } } };
const PUSH = { name: 'push' as const, payload: { after: SHA } };
const warnings = (run: Run) => run.stdout.split('\n').filter((l) => l.startsWith('::warning'));
const headline = (body: string) => body.split('\n')[1];

/**
 * The bodies a run sent: the run under way (as many stage updates as the API kept up with; each is
 * rendered when it goes out, so a run that ends before the first one does sends its outcome
 * only), never going back a stage, ending on the outcome.
 */
function expectStagesInOrder(bodies: string[], outcome: string): void {
  const headlines = bodies.map(headline);
  expect(headlines.length).toBeGreaterThanOrEqual(1);
  expect(headlines.at(-1)).toBe(`### 🛡️ Migration guard · \`production\` · ${outcome}`);
  for (const earlier of headlines.slice(0, -1)) expect(earlier).toMatch(/ · ⏳ `(plan|apply)` in progress$/);
  // While in progress the count of files applied only grows (the final body shows the outcome instead).
  const applied = bodies.slice(0, -1).map((b) => Number(/applying (\d+)\//.exec(b)?.[1] ?? 0));
  expect([...applied].sort((a, b) => a - b)).toEqual(applied);
  expect(new Set(bodies).size).toBe(bodies.length); // no body sent twice
}

/** No form of the database password, URL or token in any comment body sent. */
function expectNoSecretSent(databaseUrl: string): void {
  const password = decodeURIComponent(new URL(databaseUrl).password);
  const sent = github.requests.map((r) => JSON.stringify(r.body ?? {}) + (r.body?.body ?? '')).join('\n');
  for (const secret of [password, encodeURIComponent(password), databaseUrl, TOKEN]) {
    expect(sent).not.toContain(secret);
  }
}

describe.each(testServers())('the bundled action and the pull request comment on $name', (server) => {
  const newDb = databasesFor(server);

  it('plan on a pull request creates one comment; a second plan updates it; the push that applies finds the merged pull request and updates the same comment', async () => {
    const db = await newDb();
    const cwd = workspace();
    const first = await runAction(cwd, db.url, PULL_REQUEST);
    expect(first.code).toBe(0);
    expect(first.outputs).toContain('status<<');
    expect(github.comments).toHaveLength(1);
    const comment = github.comments[0];
    expect(comment.issue).toBe(7);
    const firstBodies = github.bodiesSent();
    // The board is up as soon as the run starts, then shows the plan's outcome.
    // No comment yet: none is started before the run says what it will do, so the last body is the plan's.
    expect(headline(firstBodies.at(-1)!)).toBe(
      '### 🛡️ Migration guard · `production` · 📋 planned: 3 pending migrations',
    );
    for (const body of firstBodies.slice(0, -1)) expect(headline(body)).toContain('⏳');
    expect(firstBodies.at(-1)).toContain('✅ planned (3 pending) → ✅ rehearsed');

    github.requests.length = 0;
    const second = await runAction(cwd, db.url, PULL_REQUEST);
    expect(second.code).toBe(0);
    // The comment exists now: the board is on it from the start of the run.
    expectStagesInOrder(github.bodiesSent(), '📋 planned: 3 pending migrations');
    expect(github.comments).toHaveLength(1);
    expect(github.requests.filter((r) => r.method === 'POST')).toEqual([]);
    expect(new Set(github.requests.filter((r) => r.method === 'PATCH').map((r) => r.path))).toEqual(
      new Set([`/repos/acme/app/issues/comments/${comment.id}`]),
    );

    github.requests.length = 0;
    github.pullsOfCommit.set(SHA, [{ number: 7, merged_at: '2026-05-01T09:00:00Z', state: 'closed' }]);
    const apply = await runAction(cwd, db.url, PUSH);
    expect(apply.code).toBe(0);
    expect(github.requests[0]).toMatchObject({ method: 'GET', path: `/repos/acme/app/commits/${SHA}/pulls` });
    expect(github.comments).toHaveLength(1);
    expectStagesInOrder(github.bodiesSent(), '✅ applied 3 migrations');
    expect(comment.body).toContain('✅ planned (3 pending) → ✅ applied 3/3 → ✅ applied');
    expect(comment.body.startsWith(MARKER)).toBe(true);
    // The same comment tells the story: two plans on the pull request, then the apply.
    const history = comment.body.split('\n').filter((l) => /^- \d{4}-/.test(l));
    expect(history.map((l) => /`(plan|apply)`/.exec(l)?.[1])).toEqual(['plan', 'plan', 'apply']);
    expect(
      await query(db.url, 'select count(*)::int as n from supabase_migrations.schema_migrations'),
    ).toEqual([{ n: 3 }]);
    expectNoSecretSent(db.url);
  });

  it('shows a run that takes a while as under way before its outcome (each update rendered from the newest state when it goes out)', async () => {
    const db = await newDb();
    const cwd = workspace();
    // A fourth file that takes a moment: the board goes up (250 ms in) while it runs.
    writeFileSync(join(cwd, 'supabase', 'migrations', '20990101000000_slow.sql'), 'select pg_sleep(2);\n');
    const first = await runAction(cwd, db.url, PULL_REQUEST);
    expect(first.code).toBe(0);
    github.requests.length = 0;
    github.pullsOfCommit.set(SHA, [{ number: 7, merged_at: '2026-05-01T09:00:00Z', state: 'closed' }]);
    const apply = await runAction(cwd, db.url, PUSH);
    expect(apply.code).toBe(0);
    const bodies = github.bodiesSent();
    expect(bodies.length).toBeGreaterThanOrEqual(2);
    expect(headline(bodies[0])).toMatch(/ · ⏳ `apply` in progress$/);
    expectStagesInOrder(bodies, '✅ applied 4 migrations');
  });

  it('sends no secret in any comment body: a failing plan whose error quotes the password, raw and URL-encoded', async () => {
    const db = await newDb();
    const password = 'p@ss w/rd:%25x!';
    const role = `mg_${db.name.slice(3)}`;
    await query(db.url, `CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
    await query(db.url, `ALTER DATABASE ${db.name} OWNER TO ${role}`);
    const url = new URL(db.url);
    url.username = role;
    url.password = encodeURIComponent(password);
    const cwd = workspace();
    writeFileSync(
      join(cwd, 'supabase', 'migrations', '20240104000000_leak.sql'),
      `do $$ begin raise exception '%', 'cannot log in with ${password} (${encodeURIComponent(password)})'; end $$;\n`,
    );
    const run = await runAction(cwd, url.toString(), PULL_REQUEST);
    expect(run.code).toBe(1);
    const last = github.bodiesSent().at(-1)!;
    expect(headline(last)).toContain('❌ plan failed');
    expect(last).toContain('cannot log in with *** (***)');
    expectNoSecretSent(url.toString());
    const masks = run.stdout.split('\n').filter((l) => l.startsWith('::add-mask::'));
    expect(masks).toContain(`::add-mask::${TOKEN}`);
  });

  it('a token without permission gives one warning and a green run', async () => {
    const db = await newDb();
    github.faults.push({ status: 403, message: 'Resource not accessible by integration', times: 100 });
    const run = await runAction(workspace(), db.url, PULL_REQUEST);
    expect(run.code).toBe(0);
    expect(run.outputs).toMatch(/status<<(.+)\nsuccess\n/);
    expect(warnings(run)).toEqual([
      expect.stringContaining('HTTP 403: Resource not accessible by integration'),
    ]);
    expect(github.requests).toHaveLength(1);
  });

  it('talks to the API over TLS and checks its certificate: trusted (NODE_EXTRA_CA_CERTS) the comment is posted; untrusted, one warning, no retry, a green run', async () => {
    const tlsGithub = await new FakeGitHub(TLS_FIXTURE.identity()).start();
    try {
      const db = await newDb();
      const cwd = workspace();
      const untrusted = await runAction(cwd, db.url, PULL_REQUEST, {}, { GITHUB_API_URL: tlsGithub.url });
      expect(untrusted.code).toBe(0);
      expect(tlsGithub.requests).toEqual([]); // no request got past the handshake
      expect(tlsGithub.refusedHandshakes).toBe(1); // and it was not retried: a certificate does not change
      const warned = warnings(untrusted);
      expect(warned).toHaveLength(1);
      expect(warned[0]).toMatch(/TLS certificate was not accepted \(DEPTH_ZERO_SELF_SIGNED_CERT: /);
      expect(warned[0]).toContain('NODE_EXTRA_CA_CERTS');
      expect(warned[0]).not.toContain('pull-requests: write');

      const trusted = await runAction(
        cwd,
        db.url,
        PULL_REQUEST,
        {},
        {
          GITHUB_API_URL: tlsGithub.url,
          NODE_EXTRA_CA_CERTS: TLS_FIXTURE.certPath,
        },
      );
      expect(trusted.code).toBe(0);
      expect(warnings(trusted)).toEqual([]);
      expect(tlsGithub.comments).toHaveLength(1);
      expect(tlsGithub.requests.every((r) => r.authorization === `token ${TOKEN}`)).toBe(true);
      expect(tlsGithub.comments[0].body.startsWith(MARKER)).toBe(true);
    } finally {
      await tlsGithub.stop();
    }
  });

  it('a 502 is retried and the comment still arrives', async () => {
    const db = await newDb();
    github.faults.push({ method: 'POST', status: 502, message: 'Bad Gateway', times: 1 });
    const run = await runAction(workspace(), db.url, PULL_REQUEST);
    expect(run.code).toBe(0);
    expect(github.requests.filter((r) => r.method === 'POST').map((r) => r.status)).toEqual([502, 201]);
    expect(github.comments).toHaveLength(1);
    expect(headline(github.comments[0].body)).toContain('📋 planned: 3 pending migrations');
    expect(warnings(run)).toEqual([]);
  });

  it('an API that never answers does not hold the migration: it is applied, the outputs are set, the run ends with a warning', async () => {
    const db = await newDb();
    github.faults.push({ hang: true, times: 1000 });
    github.pullsOfCommit.set(SHA, [{ number: 7, merged_at: '2026-05-01T09:00:00Z', state: 'closed' }]);
    const run = await runAction(workspace(), db.url, PUSH);
    expect(run.code).toBe(0);
    expect(run.outputs).toMatch(/status<<(.+)\nsuccess\n/);
    expect(
      await query(db.url, 'select count(*)::int as n from supabase_migrations.schema_migrations'),
    ).toEqual([{ n: 3 }]);
    expect(warnings(run)).toEqual([
      expect.stringContaining('GitHub did not take the last pull request comment update'),
    ]);
  });

  it('reaches the API through the proxy in HTTP_PROXY (the bundle loads the proxy client lazily)', async () => {
    const db = await newDb();
    const port = Number(new URL(github.url).port);
    const proxy = await startConnectProxy(port);
    const { tunnels } = proxy;
    try {
      const run = await runAction(
        workspace(),
        db.url,
        PULL_REQUEST,
        {},
        {
          // Only the proxy knows this host.
          GITHUB_API_URL: `http://api.github.invalid:${port}`,
          HTTP_PROXY: `http://${proxy.address}`,
        },
      );
      expect(run.code).toBe(0);
      expect(warnings(run)).toEqual([]);
    } finally {
      await proxy.close();
    }
    expect(github.comments).toHaveLength(1);
    expect(new Set(tunnels)).toEqual(new Set([`api.github.invalid:${port}`]));
  });

  it('comment: false calls no API at all', async () => {
    const db = await newDb();
    const run = await runAction(workspace(), db.url, PULL_REQUEST, { comment: 'false' });
    expect(run.code).toBe(0);
    expect(github.requests).toEqual([]);
  });
});
