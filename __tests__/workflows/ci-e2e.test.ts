/**
 * The end-to-end job of .github/workflows/ci.yml, run here step by step the way the runner runs
 * it, so the workflow is exercised and not only linted: each `uses: ./` step is `node dist/index.js`
 * with an `INPUT_<NAME>` variable for every input of action.yml (its default, or the step's `with:`
 * value with the expressions evaluated), outputs read back from GITHUB_OUTPUT; each `run:` step is
 * bash with the step's `env:`; `if:` and `continue-on-error` decide as on GitHub. The service
 * database of the job is replaced by a fresh database on the test server.
 *
 * The runner is emulated by helpers/local-runner.ts. Needs a dist/ built from the sources (`npm run
 * build`): it runs the bundle, as the job does.
 */
import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { databasesFor, query, testServers } from '../helpers/db.js';
import { runJobLocally, type Job, type StepRecord } from '../helpers/local-runner.js';
import { tempDirsFor } from '../helpers/temp.js';

const ROOT = process.cwd();
const ACTION = join(ROOT, 'dist', 'index.js');

const ci = parse(readFileSync('.github/workflows/ci.yml', 'utf8')) as { jobs: Record<string, Job> };
const tempDir = tempDirsFor();

/** The job in this checkout (the workspace), `uses: ./` being this build's dist/. */
async function runJob(job: Job, env: Record<string, string>): Promise<StepRecord[]> {
  const temp = tempDir('mg-ci-e2e-');
  const run = await runJobLocally(job, {
    workspace: ROOT,
    temp,
    artifacts: join(temp, 'artifacts'),
    contexts: {
      github: {
        event_name: 'push',
        repository: 'acme/app',
        run_id: '4242',
        token: 'ghs_unused',
        workspace: ROOT,
      },
    },
    env,
    actions: { './': ROOT },
  });
  return run.records;
}

function localPgDumpMajor(): number {
  const version = spawnSync('pg_dump', ['--version'], { encoding: 'utf8' }).stdout ?? '';
  return Number(/(\d+)\.\d+/.exec(version)?.[1] ?? 0);
}

describe.each(testServers())('ci.yml end-to-end job, run locally ($name)', (server) => {
  const newDb = databasesFor(server);

  it('plans, applies migrations/, reports status, rolls a failing migration back and rolls one migration back', async () => {
    expect(existsSync(ACTION)).toBe(true); // run `npm run build` first
    const job = ci.jobs.e2e;
    const db = await newDb();
    const major = Number(
      (await query(db.url, "select current_setting('server_version_num')::int / 10000 as m"))[0].m,
    );
    // The job's env, with the service database replaced by ours. On GitHub the action installs a
    // pg_dump as new as the server; it never installs anything off GitHub's runners, so where this
    // machine's pg_dump is older than the server the backups are switched off (the job's own knob).
    const jobEnv = {
      ...job.env,
      DATABASE_URL: db.url,
      E2E_BACKUP: localPgDumpMajor() >= major ? 'required' : 'off',
    };
    const records = await runJob(job, jobEnv);
    const outcomes = records.map((r) => [r.label, r.outcome]);
    expect(outcomes).toEqual([
      ['actions/checkout@v4', 'success'],
      ['plan', 'success'],
      ['apply', 'success'],
      ['status', 'success'],
      ['A release whose new migration fails', 'success'],
      ['broken', 'failure'], // continue-on-error: the check step looks at it
      ['rollback', 'success'],
      ['Every step did what it should', 'success'],
    ]);
    // What the database says after the job: the newest migration rolled back, the failed one never there.
    const history = await query<{ version: string }>(
      db.url,
      'select version from supabase_migrations.schema_migrations order by version',
    );
    expect(history.map((r) => r.version)).toEqual(['20240101000000', '20240102000000']);
    const half = await query(db.url, "select to_regclass('public.e2e_half') as t");
    expect(half[0].t).toBeNull();
  });

  it('the check step fails when an output is not what the job expects (so its pass means something)', async () => {
    const job = structuredClone(ci.jobs.e2e);
    const db = await newDb();
    // Drop the rollback: the check step must see the wrong current version and fail the job.
    job.steps = job.steps.filter((s) => s.id !== 'rollback');
    const records = await runJob(job, { ...job.env, DATABASE_URL: db.url, E2E_BACKUP: 'off' });
    const check = records.at(-1)!;
    expect(check.outcome).toBe('failure');
    expect(check.out).toContain('::error::rollback: expected "success true 20240102000000", got "  "');
  });
});
