/**
 * The manual-run guard and the alerts from the bundle itself: `node dist/index.js` as the runner
 * starts it (needs a fresh `npm run build`), with GITHUB_API_URL pointing at a loopback server that
 * answers like GitHub's REST API and `notify-webhook-url` at a loopback webhook, both recording
 * every request, against a real database.
 */
import { runActionProcess, type ActionProcess } from '../helpers/action-process.js';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { databasesFor, query, testServers } from '../helpers/db.js';
import { FakeGitHub } from '../helpers/github-api.js';
import { tempDirsFor } from '../helpers/temp.js';
import { FakeWebhook } from '../helpers/webhook.js';

const TOKEN = 'ghs_e2eGuardToken0123456789abcdef';

const tempDir = tempDirsFor();
let github: FakeGitHub;
let webhook: FakeWebhook;

beforeEach(async () => {
  github = await new FakeGitHub().start();
  github.permissions.set('alice', { permission: 'admin', role_name: 'admin' });
  github.permissions.set('wes', { permission: 'write', role_name: 'write' });
  webhook = await new FakeWebhook().start();
});
afterEach(async () => {
  await github.stop();
  await webhook.stop();
});

type Run = ActionProcess;

/** A workspace whose supabase/migrations holds `files`. */
function workspace(files: Record<string, string>): string {
  const cwd = tempDir('mg-e2e-guard-ws-');
  const dir = join(cwd, 'supabase', 'migrations');
  mkdirSync(dir, { recursive: true });
  for (const [name, sql] of Object.entries(files)) writeFileSync(join(dir, name), sql);
  return cwd;
}

function runAction(
  cwd: string,
  databaseUrl: string,
  event: { name: string; actor: string },
  inputs: Record<string, string> = {},
): Promise<Run> {
  return runActionProcess({
    dir: tempDir('mg-e2e-guard-run-'),
    cwd,
    event: { name: event.name, payload: { inputs: {}, ref: 'refs/heads/main' } },
    inputs: {
      'database-url': databaseUrl,
      environment: 'production',
      backup: 'off',
      'github-token': TOKEN,
      'notify-webhook-url': webhook.url(),
      ...inputs,
    },
    env: {
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_SHA: 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678',
      GITHUB_ACTOR: event.actor,
      GITHUB_TRIGGERING_ACTOR: event.actor,
      GITHUB_API_URL: github.url,
    },
  });
}

const MANUAL = (actor: string) => ({ name: 'workflow_dispatch', actor });
const PUSH = { name: 'push', actor: 'alice' };
const output = (run: Run, name: string) =>
  new RegExp(`^${name}<<(.+)\\n([^]*?)\\n\\1$`, 'm').exec(run.outputs)?.[2];
const warnings = (run: Run) => run.stdout.split('\n').filter((l) => l.startsWith('::warning'));
/** The Slack-style text of each message the webhook received. */
const texts = () => webhook.received.map((m) => (m.body as { text: string }).text);

/** A database whose URL carries a password (raw and URL-encoded forms differ). */
async function databaseWithPassword(newDb: () => Promise<{ url: string; name: string }>) {
  const db = await newDb();
  const password = 'hook p@ss/wd:%25!';
  const role = `mg_${db.name.slice(3)}`;
  await query(db.url, `CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
  await query(db.url, `ALTER DATABASE ${db.name} OWNER TO ${role}`);
  const url = new URL(db.url);
  url.username = role;
  url.password = encodeURIComponent(password);
  return { ...db, url: url.toString(), adminUrl: db.url, password };
}

/** No form of the password, the database URL, the webhook URL or the token in any request body. */
function expectNoSecretIn(bodies: string[], secrets: { url: string; password: string }): void {
  const sent = bodies.join('\n');
  for (const secret of [
    secrets.password,
    encodeURIComponent(secrets.password),
    secrets.url,
    webhook.url(),
    's3cretWebhookToken42',
    TOKEN,
  ]) {
    expect(sent).not.toContain(secret);
  }
}

describe.each(testServers())('the bundled action: manual-run guard and alerts on $name', (server) => {
  const newDb = databasesFor(server);

  it("refuses a write user's manual apply (error, job summary, audit row, nothing applied); an admin's then passes", async () => {
    const db = await newDb();
    const cwd = workspace({ '1_a.sql': 'create table a (id int);' });
    const refused = await runAction(cwd, db.url, MANUAL('wes'), { reason: 'hotfix', 'notify-on': 'refused' });
    expect(refused.code).toBe(1);
    const message =
      'Manual apply of production refused: wes (workflow_dispatch) has the repository role "write"; allowed-roles is admin, maintain.';
    expect(refused.stdout).toContain(`::error::${message}`);
    expect(refused.summary).toContain('### ⛔ Manual run refused: nothing was run');
    expect(refused.summary).toContain('| Their role | write |');
    expect(refused.summary).toContain('| Allowed roles | admin, maintain |');
    expect(output(refused, 'status')).toBe('failed');
    expect(output(refused, 'changed')).toBe('false');
    expect(await query(db.url, `select to_regclass('public.a') as a`)).toEqual([{ a: null }]);
    expect(
      await query(db.url, 'select event, actor, reason, event_name from migration_guard.audit_log'),
    ).toEqual([
      { event: 'manual-run-refused', actor: 'wes', reason: 'hotfix', event_name: 'workflow_dispatch' },
    ]);
    // notify-on includes refused: one message, saying who and which role.
    expect(texts()).toHaveLength(1);
    expect(texts()[0]).toContain('⛔ manual apply refused');
    expect(texts()[0]).toContain('*Role:* write');

    const allowed = await runAction(cwd, db.url, MANUAL('alice'), { reason: 'release 7' });
    expect(allowed.code).toBe(0);
    expect(output(allowed, 'applied')).toBe('["1"]');
    expect(github.requests.map((r) => r.path)).toEqual([
      '/repos/acme/app/collaborators/wes/permission',
      '/repos/acme/app/collaborators/alice/permission',
    ]);
    // Success sends nothing by default.
    expect(texts()).toHaveLength(1);
  });

  it('a push never calls the permission endpoint, and a successful run sends no alert by default', async () => {
    const db = await newDb();
    const cwd = workspace({ '1_a.sql': 'create table a (id int);' });
    const run = await runAction(cwd, db.url, PUSH, { comment: 'false' });
    expect(run.code).toBe(0);
    expect(output(run, 'status')).toBe('success');
    expect(github.requests).toEqual([]);
    expect(webhook.received).toEqual([]);
  });

  it('a failed run sends one message with environment, outcome, failing file and error, applied versions, actor and the run link; no secret in it', async () => {
    const db = await databaseWithPassword(newDb);
    const cwd = workspace({
      '1_a.sql': 'create table a (id int);',
      '2_leak.sql': `do $$ begin raise exception '%', 'cannot log in with ${db.password} (${encodeURIComponent(db.password)})'; end $$;\n`,
    });
    const run = await runAction(cwd, db.url, PUSH, { 'transaction-mode': 'per-file' });
    expect(run.code).toBe(1);
    expect(output(run, 'status')).toBe('failed');
    expect(webhook.received).toHaveLength(1);
    const [message] = webhook.received;
    expect(message.path).toBe('/services/T0GUARD/B0GUARD/s3cretWebhookToken42');
    expect(message.contentType).toMatch(/^application\/json/);
    const text = texts()[0];
    expect(text).toContain('*Migration guard · production · ❌ apply failed*');
    expect(text).toContain('*Environment:* production');
    expect(text).toContain('*Outcome:* failed');
    expect(text).toContain('*Actor:* alice (push)');
    expect(text).toContain('*Failing file:* supabase/migrations/2_leak.sql:1');
    expect(text).toContain('*Error:* cannot log in with *** (***)');
    // The rehearsal found the failure before anything was committed.
    expect(text).toContain('*Applied:* none');
    expect(text).toContain('<https://github.com/acme/app/actions/runs/4242|View the run>');
    expectNoSecretIn([message.text], db);
    // The webhook URL is masked in the runner's log from the start, like the database URL.
    expect(run.stdout.split('\n')).toContain(`::add-mask::${webhook.url()}`);
  });

  it('a rolled-back run sends one message naming the versions rolled back', async () => {
    const db = await newDb();
    const cwd = workspace({
      '1_a.sql': 'create table a (id int);',
      '2_b.sql': 'select * from no_such_table;',
    });
    const run = await runAction(cwd, db.url, PUSH);
    expect(output(run, 'status')).toBe('rolled-back');
    expect(texts()).toHaveLength(1);
    expect(texts()[0]).toContain('↩️ apply failed and was rolled back');
    expect(texts()[0]).toContain('*Rolled back:* 1');
    expect(texts()[0]).toContain('*Failing file:* supabase/migrations/2_b.sql:1');
    expect(texts()[0]).toContain('relation &quot;no_such_table&quot; does not exist'.replace(/&quot;/g, '"'));
    expectNoSecretIn(texts(), { url: db.url, password: decodeURIComponent(new URL(db.url).password) });
  });

  it.each([
    [
      'answers 500 (retried once)',
      [500, 500] as Array<number | 'hang'>,
      /HTTP 500 \(internal_error\), again on the retry/,
    ],
    ['never answers', ['hang'] as Array<number | 'hang'>, /did not answer within 10 s/],
  ])('a webhook that %s leaves the outcome unchanged, with a warning', async (_what, answers, problem) => {
    const db = await newDb();
    const cwd = workspace({ '1_a.sql': 'create table a (id int);', '2_b.sql': 'select 1/0;' });
    webhook.answers = [...answers];
    const run = await runAction(cwd, db.url, PUSH);
    expect(run.code).toBe(1);
    expect(output(run, 'status')).toBe('rolled-back');
    expect(output(run, 'changed')).toBe('false');
    expect(webhook.received).toHaveLength(answers.length);
    const warning = warnings(run).filter((w) => w.includes('The alert (rolled-back) could not be sent'));
    expect(warning).toHaveLength(1);
    expect(warning[0]).toMatch(problem);
    expect(warning[0]).toContain("The migration's outcome is not affected.");
    expect(warning[0]).not.toContain('s3cretWebhookToken42');
    // The run's own error is still the one users see.
    expect(run.stdout).toContain('::error::');
    expect(run.summary).toContain('division by zero');
  });
});
