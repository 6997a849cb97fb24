/**
 * The reusable workflow's fan-out run here end to end, job by job as GitHub would run them
 * (helpers/local-runner.ts): one `target` job per entry of the matrix its expression yields, each
 * running this build's action as `./.migration-guard` against its own database on the test server
 * and uploading its backup and report, then the `status-board` job downloading every report and
 * running `aggregate`. Needs a dist/ built from the sources (`npm run build`).
 */
import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { databasesFor, query, testServers } from '../helpers/db.js';
import { interpolate, type Value } from '../helpers/expressions.js';
import { runJobLocally, type Job } from '../helpers/local-runner.js';
import { tempDirsFor } from '../helpers/temp.js';

const ROOT = process.cwd();
const workflow = parse(readFileSync('.github/workflows/migrate.yml', 'utf8')) as {
  on: { workflow_call: { inputs: Record<string, { default?: unknown; type: string }> } };
  jobs: Record<string, Job & { strategy: { matrix: { target: string } } }>;
};
const tempDir = tempDirsFor();

function localPgDumpMajor(): number {
  const version = spawnSync('pg_dump', ['--version'], { encoding: 'utf8' }).stdout ?? '';
  return Number(/(\d+)\.\d+/.exec(version)?.[1] ?? 0);
}

describe.each(testServers())('migrate.yml fan-out, run locally ($name)', (server) => {
  const newDb = databasesFor(server);

  it('runs a job per target and one status board: a success, a rollback, a missing secret, a job that died', async () => {
    expect(existsSync(join(ROOT, 'dist', 'cli.js'))).toBe(true); // run `npm run build` first
    const [eu, us] = [await newDb(), await newDb()];
    // The first migration creates public.users: on `us` it fails, and the run is rolled back.
    await query(us.url, 'create table public.users (id int)');
    const major = Number(
      (await query(eu.url, "select current_setting('server_version_num')::int / 10000 as m"))[0].m,
    );
    const backups = localPgDumpMajor() >= major;

    // The caller's repository: its migrations, and the action checked out at action-ref.
    const workspace = tempDir('mg-fanout-ws-');
    mkdirSync(join(workspace, 'supabase'));
    cpSync(join(ROOT, 'migrations'), join(workspace, 'supabase', 'migrations'), { recursive: true });
    symlinkSync(ROOT, join(workspace, '.migration-guard'));
    const artifacts = join(tempDir('mg-fanout-store-'), 'artifacts');

    const targets = [
      { name: 'eu', environment: 'prod-eu', secret: 'EU_URL' },
      { name: 'us', secret: 'US_URL' },
      { name: 'ap', secret: 'AP_URL' }, // no such secret
      { name: 'sa', secret: 'SA_URL' }, // its job dies before the action runs
    ];
    const inputs: Record<string, Value> = {};
    for (const [name, spec] of Object.entries(workflow.on.workflow_call.inputs))
      inputs[name] = (spec.default ?? (spec.type === 'number' ? 0 : '')) as Value;
    inputs.targets = JSON.stringify(targets);
    const github = { event_name: 'push', repository: 'acme/app', run_id: '4242', run_attempt: '1' };
    const secrets = { EU_URL: eu.url, US_URL: us.url };

    const job = workflow.jobs.target;
    const matrix = interpolate(job.strategy.matrix.target, { github, inputs }) as Value[];
    expect(matrix).toHaveLength(4);
    const results: Record<string, string> = {};
    for (const target of matrix.filter((t) => (t as { name: string }).name !== 'sa')) {
      const temp = tempDir('mg-fanout-job-');
      const run = await runJobLocally(job, {
        workspace,
        temp,
        artifacts,
        contexts: { github, inputs, secrets, matrix: { target } },
        actions: { './.migration-guard': ROOT },
        strictInputs: false,
      });
      // Inputs other changes of this release add to action.yml; every other one must exist.
      expect(run.unexpectedInputs.filter((i) => !['lint', 'shadow-database-url'].includes(i))).toEqual([]);
      results[(target as { name: string }).name] = run.status;
      // The report is uploaded whatever the outcome.
      expect(run.records.find((r) => r.label === 'Keep the JSON report for the status board')?.outcome).toBe(
        'success',
      );
    }
    expect(results).toEqual({ eu: backups ? 'success' : 'failure', us: 'failure', ap: 'failure' });
    const stored = readdirSync(artifacts).sort();
    expect(stored).toEqual(
      [
        // The backup is taken first, and kept although `us` then failed.
        ...(backups ? ['backup-eu-4242-1', 'backup-us-4242-1'] : []),
        'migration-report-ap',
        'migration-report-eu',
        'migration-report-us',
      ].sort(),
    );

    const board = await runJobLocally(workflow.jobs['status-board'], {
      workspace,
      temp: tempDir('mg-fanout-board-'),
      artifacts,
      contexts: { github, inputs, needs: { target: { result: 'failure' } } },
      actions: {},
    });
    const step = board.records.at(-1)!;
    expect(step.outcome).toBe('failure'); // targets failed: the board's job fails
    const summary = step.summary!;
    expect(summary).toMatch(/^## Migration guard: 4 targets — ❌ \d of 4 targets need attention/);
    const row = (name: string) => summary.split('\n').find((l) => l.startsWith(`| \`${name}\` |`)) ?? '';
    // Without a pg_dump as new as the server (off GitHub's runners nothing is installed) the
    // backup stops every apply before any change; the board says so.
    if (backups) expect(row('us')).toMatch(/\| ↩️ rolled back \|.*relation "users" already exists/);
    else expect(row('us')).toMatch(/\| ❌ failed \|.*No pg_dump of PostgreSQL/);
    expect(row('ap')).toMatch(/\| ❌ failed \|.*database-url: is required/);
    expect(row('sa')).toMatch(/\| 💀 no report \(job died or never ran\) \|/);
    if (backups)
      expect(row('eu')).toMatch(/^\| `eu` \| prod-eu \| ✅ success \| 3 \| 0 \| 20240103000000 \|/);
    else expect(row('eu')).toMatch(/\| ❌ failed \|.*No pg_dump of PostgreSQL/);
    // Failures first: the success (if any) is the last row.
    const order = summary
      .split('\n')
      .filter((l) => /^\| `/.test(l))
      .map((l) => /^\| `([^`]+)`/.exec(l)![1]);
    expect(order).toHaveLength(4);
    if (backups) expect(order[3]).toBe('eu');
    // The databases: eu migrated (when a backup could be taken first), us exactly as it was.
    const history = async (url: string) =>
      (
        await query<{ t: string | null }>(
          url,
          "select to_regclass('supabase_migrations.schema_migrations')::text as t",
        )
      )[0].t
        ? (await query<{ version: string }>(url, 'select version from supabase_migrations.schema_migrations'))
            .length
        : 0;
    expect(await history(eu.url)).toBe(backups ? 3 : 0);
    expect(await history(us.url)).toBe(0);
  });
});
