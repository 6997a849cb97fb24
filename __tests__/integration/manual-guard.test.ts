/**
 * The manual-run guard on a real PostgreSQL, with the permission read by our GitHub client from a
 * loopback server that answers like GitHub's REST API (and records every request).
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { auditMarkdown, buildAuditReport } from '../../src/audit/export.js';
import { readAuditLog } from '../../src/audit/store.js';
import type { RunContext } from '../../src/config/run-context.js';
import { permissionReaderFor } from '../../src/github/permission.js';
import { renderSummary } from '../../src/report/summary.js';
import { databasesFor, query, testServers, withPg } from '../helpers/db.js';
import { FakeGitHub } from '../helpers/github-api.js';
import { addFiles, migrationsDir } from '../helpers/migrations.js';
import { runGuard } from '../helpers/run.js';

const TOKEN = 'ghs_guardToken0123456789abcdef';
let github: FakeGitHub;

beforeEach(async () => {
  github = await new FakeGitHub().start();
  github.permissions.set('alice', { permission: 'admin', role_name: 'admin' });
  github.permissions.set('maya', { permission: 'write', role_name: 'maintain' });
  github.permissions.set('wes', { permission: 'write', role_name: 'write' });
  github.permissions.set('rita', { permission: 'read', role_name: 'read' });
});
afterEach(async () => {
  await github.stop();
});

function context(actor: string, eventName = 'workflow_dispatch'): RunContext {
  return {
    actor,
    triggeringActor: actor,
    eventName,
    repository: 'acme/app',
    ref: 'refs/heads/main',
    sha: 'a1b2c3',
    runId: '77',
    runUrl: 'https://github.com/acme/app/actions/runs/77',
  };
}

/** The run as the action starts it: the permission reader of main.ts, pointed at the fake API. */
function manualRun(
  command: string,
  url: string,
  dir: string,
  actor: string,
  inputs: Record<string, string> = {},
  eventName = 'workflow_dispatch',
) {
  const run = context(actor, eventName);
  return runGuard(
    command,
    url,
    dir,
    { environment: 'production', 'github-token': TOKEN, ...inputs },
    {
      run,
      permissions: permissionReaderFor(inputs['github-token'] ?? TOKEN, run, { GITHUB_API_URL: github.url }),
    },
  );
}

const permissionCalls = () => github.requests.filter((r) => r.path.includes('/collaborators/'));

async function auditRows(url: string) {
  return query(
    url,
    `select event, outcome, actor, triggering_actor, event_name, reason, environment, command, error, details
       from migration_guard.audit_log order by id`,
  );
}

/** Schemas other than the system ones and the audit log's: what an applied migration would leave. */
async function userSchemas(url: string): Promise<string[]> {
  const rows = await query<{ nspname: string }>(
    url,
    `select nspname from pg_namespace
      where nspname not like 'pg\\_%' and nspname not in ('information_schema', 'public') order by 1`,
  );
  return rows.map((r) => r.nspname);
}

const FILES = {
  '1_a.sql': 'create table a (id int);',
  '2_b.sql': 'create table b (id int);',
};

describe.each(testServers())('manual-run guard on $name', (server) => {
  const newDb = databasesFor(server);

  it('lets an admin apply: one permission call for the triggering actor, with the token; the run is recorded as manual with its reason', async () => {
    const db = await newDb();
    const { result } = await manualRun('apply', db.url, migrationsDir(FILES), 'alice', {
      reason: 'release 42',
    });
    expect(result.status).toBe('success');
    expect(result.applied).toEqual(['1', '2']);
    expect(permissionCalls().map((r) => [r.method, r.path, r.authorization])).toEqual([
      ['GET', '/repos/acme/app/collaborators/alice/permission', `token ${TOKEN}`],
    ]);
    const started = (await auditRows(db.url)).filter((r) => r.event === 'run-started');
    expect(started).toEqual([
      expect.objectContaining({ actor: 'alice', event_name: 'workflow_dispatch', reason: 'release 42' }),
    ]);
  });

  it('compares allowed-roles with the role name: a maintainer (permission write, role maintain) passes by default', async () => {
    const db = await newDb();
    const { result } = await manualRun('apply', db.url, migrationsDir(FILES), 'maya', { reason: 'r' });
    expect(result.status).toBe('success');
  });

  it.each([
    ['wes', 'write'],
    ['rita', 'read'],
  ])(
    'refuses %s (role %s): nothing applied, the refusal is the only write, in the audit log with actor, role and reason',
    async (actor, role) => {
      const db = await newDb();
      const { result } = await manualRun('apply', db.url, migrationsDir(FILES), actor, {
        reason: 'hotfix 7',
      });
      expect(result.status).toBe('failed');
      expect(result.changed).toBe(false);
      expect(result.applied).toEqual([]);
      expect(result.refusal).toMatchObject({ rule: 'role', actor, role, recorded: true });
      expect(result.message).toBe(
        `Manual apply of production refused: ${actor} (workflow_dispatch) has the repository role "${role}"; allowed-roles is admin, maintain.`,
      );
      // Nothing ran: no table, no history, no run record; only the audit log exists.
      expect(await userSchemas(db.url)).toEqual(['migration_guard']);
      expect(
        await query(
          db.url,
          `select table_name from information_schema.tables where table_schema = 'migration_guard'`,
        ),
      ).toEqual([{ table_name: 'audit_log' }]);
      expect(await query(db.url, `select to_regclass('public.a') as a`)).toEqual([{ a: null }]);
      const rows = await auditRows(db.url);
      expect(rows).toEqual([
        expect.objectContaining({
          event: 'manual-run-refused',
          outcome: 'refused',
          actor,
          triggering_actor: actor,
          event_name: 'workflow_dispatch',
          reason: 'hotfix 7',
          environment: 'production',
          command: 'apply',
          error: result.message,
          details: expect.objectContaining({ rule: 'role', role, allowedRoles: ['admin', 'maintain'] }),
        }),
      ]);
      // The job summary says who, which role they have and which are allowed.
      const summary = renderSummary(result);
      expect(summary).toContain('### ⛔ Manual run refused: nothing was run');
      expect(summary).toContain(`| Who | ${actor} (workflow_dispatch) |`);
      expect(summary).toContain(`| Their role | ${role} |`);
      expect(summary).toContain('| Allowed roles | admin, maintain |');
      // The compliance export lists it among the manual operations.
      const report = buildAuditReport(await withPg(db.url, readAuditLog), {}, { rows: 1, valid: true });
      expect(auditMarkdown(report)).toContain(
        `apply by ${actor}: refused (role; role ${role}, allowed admin, maintain); reason: hotfix 7`,
      );
    },
  );

  it('refuses a read user for a read-only command too (status), and an allowed-roles that names write lets a write user in', async () => {
    const db = await newDb();
    const refused = await manualRun('status', db.url, migrationsDir(FILES), 'rita');
    expect(refused.result.refusal?.rule).toBe('role');
    const allowed = await manualRun('apply', db.url, migrationsDir(FILES), 'wes', {
      reason: 'r',
      'allowed-roles': 'admin, maintain, write',
    });
    expect(allowed.result.status).toBe('success');
  });

  it('with the database unreachable, the refusal is still the error, with a warning that it could not be recorded', async () => {
    const db = await newDb();
    const closed = new URL(db.url);
    closed.port = '1'; // nothing listens there
    const { result, logs } = await manualRun('apply', closed.toString(), migrationsDir(FILES), 'wes', {
      reason: 'r',
    });
    expect(result.status).toBe('failed');
    expect(result.refusal).toMatchObject({ rule: 'role', role: 'write', recorded: false });
    expect(result.message).toMatch(
      /^Manual apply of production refused: wes \(workflow_dispatch\) has the repository role "write"/,
    );
    expect(logs.filter((l) => l.startsWith('warn: The refusal could not be recorded'))).toHaveLength(1);
    expect(renderSummary(result)).toContain('the refusal could NOT be recorded');
  });

  it.each([
    ['apply', {}],
    ['rollback', {}],
    ['rollback', { strategy: 'restore', 'backup-path': '/nowhere.dump', 'confirm-restore': 'x' }],
  ])('refuses a manual %s without a reason %j, and records it', async (command, extra) => {
    const db = await newDb();
    const { result } = await manualRun(command, db.url, migrationsDir(FILES), 'alice', extra);
    expect(result.refusal).toMatchObject({ rule: 'reason', role: 'admin', recorded: true });
    expect(result.message).toContain('gave no reason');
    expect((await auditRows(db.url)).map((r) => [r.event, r.reason])).toEqual([['manual-run-refused', null]]);
  });

  it('refuses a second manual apply inside the rate-limit window, with the time of the next allowed run', async () => {
    const db = await newDb();
    const dir = migrationsDir({ '1_a.sql': 'create table a (id int);' });
    const first = await manualRun('apply', db.url, dir, 'alice', { reason: 'first' });
    expect(first.result.status).toBe('success');
    const [{ at }] = await query<{ at: Date }>(
      db.url,
      `select at from migration_guard.audit_log where event = 'run-started'`,
    );
    addFiles(dir, { '2_b.sql': 'create table b (id int);' });
    const second = await manualRun('apply', db.url, dir, 'alice', { reason: 'second' });
    const next = new Date(new Date(at).getTime() + 10 * 60_000).toISOString();
    expect(second.result.refusal).toMatchObject({
      rule: 'rate-limit',
      nextAllowedAt: next,
      rateLimit: '1/10m',
    });
    expect(second.result.message).toContain(`The next one is allowed from ${next}.`);
    expect(await query(db.url, `select to_regclass('public.b') as b`)).toEqual([{ b: null }]);
    expect(renderSummary(second.result)).toContain(`| Next run allowed from | ${next} |`);
    // A rollback counts against the same limit; a push (not manual) is not limited at all.
    const rollback = await manualRun('rollback', db.url, dir, 'alice', { reason: 'undo' });
    expect(rollback.result.refusal?.rule).toBe('rate-limit');
    const push = await manualRun('apply', db.url, dir, 'alice', {}, 'push');
    expect(push.result.status).toBe('success');
    expect(push.result.applied).toEqual(['2']);
    // Another environment has its own count.
    const staging = await manualRun('apply', db.url, dir, 'alice', {
      reason: 'staging',
      environment: 'staging',
    });
    expect(staging.result.refusal).toBeUndefined();
    expect(staging.result.status).toBe('nothing-to-do');
    // 3/1h allows more in the same window; 0 switches the limit off.
    addFiles(dir, { '3_c.sql': 'create table c (id int);' });
    const more = await manualRun('apply', db.url, dir, 'alice', { reason: 'third', 'rate-limit': '3/1h' });
    expect(more.result.status).toBe('success');
    const off = await manualRun('apply', db.url, dir, 'alice', { reason: 'fourth', 'rate-limit': '0' });
    expect(off.result.status).toBe('nothing-to-do');
    const refusals = (await auditRows(db.url)).filter((r) => r.event === 'manual-run-refused');
    expect(refusals.map((r) => [r.command, r.reason])).toEqual([
      ['apply', 'second'],
      ['rollback', 'undo'],
    ]);
  });

  it('counts two manual applies dispatched at the same moment one after the other: one runs, the other is refused', async () => {
    const db = await newDb();
    // The log exists (a first, non-manual run), as on any database the guard has seen before.
    await manualRun('apply', db.url, migrationsDir({}), 'alice', {}, 'push');
    const dir = migrationsDir(FILES);
    const runs = await Promise.all([
      manualRun('apply', db.url, dir, 'alice', { reason: 'one' }),
      manualRun('apply', db.url, dir, 'maya', { reason: 'two' }),
    ]);
    const refused = runs.filter((r) => r.result.refusal);
    expect(refused.map((r) => r.result.refusal?.rule)).toEqual(['rate-limit']);
    expect(runs.filter((r) => r.result.status === 'success')).toHaveLength(1);
    const rows = await auditRows(db.url);
    expect(rows.filter((r) => r.event === 'manual-run-refused')).toHaveLength(1);
    // The run that passed has exactly one "run started" row (the guard's), and its end.
    const manual = rows.filter(
      (r) => r.event_name === 'workflow_dispatch' && r.event !== 'manual-run-refused',
    );
    expect(manual.map((r) => r.event)).toEqual([
      'run-started',
      'migration-applied',
      'migration-applied',
      'run-ended',
    ]);
  });

  it('records the start and the end of a manual run that fails before it reaches the database', async () => {
    const db = await newDb();
    const dir = migrationsDir({
      '1_a.sql': 'create table a (id int);',
      '1_b.sql': 'create table b (id int);',
    });
    const { result } = await manualRun('apply', db.url, dir, 'alice', { reason: 'dup' });
    expect(result.status).toBe('failed');
    expect((await auditRows(db.url)).map((r) => [r.event, r.outcome, r.reason])).toEqual([
      ['run-started', null, 'dup'],
      ['run-ended', 'failed', 'dup'],
    ]);
  });

  it('never calls the permission endpoint for a non-manual event', async () => {
    const db = await newDb();
    for (const event of ['push', 'pull_request', 'schedule', 'workflow_call']) {
      const { result } = await manualRun('status', db.url, migrationsDir(FILES), 'rita', {}, event);
      expect([event, result.status]).toEqual([event, 'success']);
    }
    expect(github.requests).toEqual([]);
  });

  it('fails closed: a 500 from the API, an unknown user (404) and a missing token all refuse, and nothing is applied', async () => {
    const db = await newDb();
    github.faults.push({ status: 500, message: 'Server Error', times: 2 });
    const error = await manualRun('apply', db.url, migrationsDir(FILES), 'alice', { reason: 'r' });
    expect(error.result.refusal).toMatchObject({ rule: 'permission-unknown', recorded: true });
    expect(error.result.message).toContain(
      'the repository permission of alice (workflow_dispatch) could not be read from GitHub (HTTP 500',
    );
    // The client tried twice (one retry for a 5xx), then gave up.
    expect(permissionCalls().map((r) => r.status)).toEqual([500, 500]);

    const unknown = await manualRun('apply', db.url, migrationsDir(FILES), 'mallory', { reason: 'r' });
    expect(unknown.result.message).toContain('(HTTP 404: Not Found)');

    const noToken = await manualRun('apply', db.url, migrationsDir(FILES), 'alice', {
      reason: 'r',
      'github-token': '',
    });
    expect(noToken.result.message).toContain('(no github-token was given)');
    expect(await query(db.url, `select to_regclass('public.a') as a`)).toEqual([{ a: null }]);
    expect((await auditRows(db.url)).map((r) => r.event)).toEqual([
      'manual-run-refused',
      'manual-run-refused',
      'manual-run-refused',
    ]);
  });
});
