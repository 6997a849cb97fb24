/**
 * The reusable workflow's structure, parsed as YAML and its expressions evaluated (not grepped):
 * which jobs run on which event, environments, concurrency, permissions, the backup upload on
 * failure, production after staging, and the fan-out's matrix, names and status board.
 */
import { describe, expect, it } from '@jest/globals';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parse } from 'yaml';
import { aggregateMain } from '../../src/commands/aggregate.js';
import { runResultWith } from '../helpers/report-cases.js';
import { condition, interpolate, type Contexts, type Value } from '../helpers/expressions.js';
import type { Job as RunnableJob } from '../helpers/local-runner.js';
import { tempDirsFor } from '../helpers/temp.js';

/** A job of the workflow as this test reads it: what the local runner runs, and its wiring. */
interface Job extends RunnableJob {
  if?: string;
  needs?: string | string[];
  environment?: { name: string } | string;
  permissions?: Record<string, string>;
  concurrency?: { group: string; 'cancel-in-progress': boolean };
  strategy?: { 'fail-fast'?: boolean; 'max-parallel'?: unknown; matrix: Record<string, unknown> };
  outputs?: Record<string, string>;
}
interface Workflow {
  on: {
    workflow_call: {
      inputs: Record<string, { type: string; default?: unknown; description: string }>;
      secrets: Record<string, { required?: boolean }>;
      outputs: Record<string, { value: string }>;
    };
  };
  permissions: Record<string, string>;
  jobs: Record<string, Job>;
}

const workflow = parse(readFileSync('.github/workflows/migrate.yml', 'utf8'), {
  strict: true,
  uniqueKeys: true,
}) as Workflow;
const action = parse(readFileSync('action.yml', 'utf8')) as {
  inputs: Record<string, unknown>;
  outputs: Record<string, unknown>;
};
const { jobs } = workflow;
const tempDir = tempDirsFor();

/** Inputs the other helpers of this release add to action.yml; passed through ahead of their merge. */
const INPUTS_ADDED_IN_PARALLEL = ['lint', 'shadow-database-url'];

/** The inputs a caller gets without setting any, plus `overrides`. */
function inputs(overrides: Record<string, Value> = {}): Record<string, Value> {
  const defaults: Record<string, Value> = {};
  for (const [name, spec] of Object.entries(workflow.on.workflow_call.inputs))
    defaults[name] = (spec.default ?? (spec.type === 'number' ? 0 : '')) as Value;
  return { ...defaults, ...overrides };
}

function contexts(event: string, input: Record<string, Value>, extra: Contexts = {}): Contexts {
  return {
    github: {
      event_name: event,
      run_id: '77',
      run_attempt: '1',
      ref: 'refs/heads/main',
      repository: 'acme/app',
    },
    inputs: input,
    runner: { temp: '/runner/temp' },
    secrets: { 'staging-database-url': 'postgres://staging', 'production-database-url': 'postgres://prod' },
    ...extra,
  };
}

/** The jobs whose `if:` holds (needs taken as succeeded), for an event and inputs. */
function jobsThatRun(event: string, input: Record<string, Value>): string[] {
  const needs = Object.fromEntries(Object.keys(jobs).map((id) => [id, { result: 'success', outputs: {} }]));
  return Object.entries(jobs)
    .filter(([, job]) => condition(job.if, contexts(event, input, { needs })))
    .map(([id]) => id);
}

const actionStep = (job: Job) => job.steps.find((s) => s.uses === './.migration-guard')!;
const uploads = (job: Job) => job.steps.filter((s) => s.uses?.startsWith('actions/upload-artifact@'));
const MIGRATING_JOBS = ['staging', 'production', 'target'];

describe('reusable workflow migrate.yml', () => {
  it('plans on pull requests, applies to staging then production on other events, fans out when given targets', () => {
    expect(jobsThatRun('pull_request', inputs())).toEqual(['plan']);
    expect(jobsThatRun('push', inputs())).toEqual(['staging', 'production']);
    expect(jobsThatRun('workflow_dispatch', inputs({ command: 'plan' }))).toEqual(['plan']);
    expect(
      jobsThatRun('workflow_dispatch', inputs({ command: 'rollback', 'staging-environment': '' })),
    ).toEqual(['production']);
    const targets = '[{"name":"eu"}]';
    expect(jobsThatRun('push', inputs({ targets }))).toEqual(['target', 'status-board']);
    expect(jobsThatRun('pull_request', inputs({ targets }))).toEqual(['target', 'status-board']);
  });

  it('runs every job that changes a database in a GitHub environment, one run at a time, never cancelling one in progress', () => {
    for (const id of MIGRATING_JOBS) {
      const job = jobs[id];
      const env = typeof job.environment === 'string' ? job.environment : job.environment?.name;
      expect([id, typeof env]).toEqual([id, 'string']);
      expect([id, job.concurrency?.['cancel-in-progress']]).toEqual([id, false]);
      expect([id, job.concurrency?.group]).toEqual([id, expect.stringContaining('${{')]);
    }
    for (const [id, job] of Object.entries(jobs))
      if (job.concurrency) expect([id, job.concurrency['cancel-in-progress']]).toEqual([id, false]);
    const c = contexts('push', inputs());
    expect(interpolate((jobs.staging.environment as { name: string }).name, c)).toBe('staging');
    expect(interpolate((jobs.production.environment as { name: string }).name, c)).toBe('production');
    expect(interpolate(jobs.staging.concurrency!.group, c)).not.toBe(
      interpolate(jobs.production.concurrency!.group, c),
    );
  });

  it('grants each job only what it needs: nothing by default, pull-requests: write only where a comment is posted', () => {
    expect(workflow.permissions).toEqual({});
    const commenting = { contents: 'read', 'pull-requests': 'write' };
    const reading = { contents: 'read' };
    expect(Object.fromEntries(Object.entries(jobs).map(([id, job]) => [id, job.permissions]))).toEqual({
      plan: commenting,
      staging: commenting,
      production: commenting,
      target: reading,
      'status-board': reading,
    });
    // The fan-out's target jobs are the ones that post no comment.
    expect(actionStep(jobs.target).with!.comment).toBe('false');
    for (const id of ['plan', 'staging', 'production'])
      expect(actionStep(jobs[id]).with!.comment).toBeUndefined();
  });

  it('runs production only after staging succeeded', () => {
    expect(jobs.production.needs).toBe('staging');
    const runs = (staging: string, input = inputs()) =>
      condition(jobs.production.if, contexts('push', input, { needs: { staging: { result: staging } } }), {
        status: staging === 'success' || staging === 'skipped' ? 'success' : 'failure',
      });
    expect(runs('success')).toBe(true);
    expect(runs('failure')).toBe(false);
    expect(runs('cancelled')).toBe(false);
    expect(runs('skipped')).toBe(false);
    expect(runs('skipped', inputs({ 'staging-environment': '' }))).toBe(true);
  });

  it('uploads the backup (and the report) even when the migration failed, kept for backup-retention-days', () => {
    for (const id of MIGRATING_JOBS) {
      const steps = uploads(jobs[id]);
      expect(steps.length).toBe(2);
      for (const step of steps) {
        const c = (backup: string) =>
          contexts('push', inputs({ 'backup-retention-days': 30 }), {
            steps: { migrate: { outputs: { 'backup-path': backup, 'report-path': backup } } },
            matrix: { target: { name: 'eu' } },
            env: { BACKUP_ARTIFACT: 'backup-x' },
          });
        expect([id, condition(step.if, c('/tmp/b.dump'), { status: 'failure' })]).toEqual([id, true]);
        expect([id, condition(step.if, c('/tmp/b.dump'), { status: 'cancelled' })]).toEqual([id, true]);
        expect([id, condition(step.if, c(''), { status: 'failure' })]).toEqual([id, false]);
        expect(interpolate(step.with!['retention-days'], c('x'))).toBe(30);
      }
      expect(uploads(jobs[id])[0].with!.path).toBe('${{ steps.migrate.outputs.backup-path }}');
    }
  });

  it('runs the action at the caller’s ref: checked out at action-ref, then used from that folder', () => {
    for (const id of ['plan', ...MIGRATING_JOBS, 'status-board']) {
      const checkout = jobs[id].steps.find((s) => s.with?.path === '.migration-guard');
      expect([id, checkout?.uses, checkout?.with?.ref, checkout?.with?.repository]).toEqual([
        id,
        'actions/checkout@v4',
        '${{ inputs.action-ref }}',
        '${{ inputs.action-repository }}',
      ]);
    }
    expect(workflow.on.workflow_call.inputs['action-ref'].default).toBe('v1');
  });

  it('passes only inputs the action declares, and every action output on as a workflow output', () => {
    for (const id of ['plan', ...MIGRATING_JOBS])
      for (const name of Object.keys(actionStep(jobs[id]).with!))
        expect([id, name, name in action.inputs || INPUTS_ADDED_IN_PARALLEL.includes(name)]).toEqual([
          id,
          name,
          true,
        ]);
    const outputs = workflow.on.workflow_call.outputs;
    for (const job of ['plan', 'staging', 'production'])
      for (const name of Object.keys(action.outputs)) {
        expect(outputs[`${job}-${name}`]?.value).toBe(`\${{ jobs.${job}.outputs.${name} }}`);
        expect(jobs[job].outputs?.[name]).toBe(`\${{ steps.migrate.outputs.${name} }}`);
      }
  });
});

describe('fan-out over targets', () => {
  const targets = [
    { name: 'tenant-a', environment: 'prod-eu', secret: 'TENANT_A_URL' },
    { name: 'tenant-b', environment: 'prod-us', secret: 'TENANT_B_URL' },
    { name: 'tenant-c', environment: 'prod-us', secret: 'TENANT_C_URL' },
  ];
  const input = inputs({ targets: JSON.stringify(targets), 'max-parallel': 2 });
  const job = jobs.target;
  const base = contexts('push', input, {
    secrets: { TENANT_A_URL: 'postgres://a', TENANT_B_URL: 'postgres://b', TENANT_C_URL: 'postgres://c' },
  });
  /** Each matrix job's context: the matrix expanded the way GitHub does for a one-key matrix. */
  const legs = () => {
    const matrix = interpolate(job.strategy!.matrix.target, base) as Value[];
    return matrix.map((target) => ({ ...base, matrix: { target } }));
  };

  it('a three-target list yields three jobs, each with its own environment, secret, concurrency group and artifacts', () => {
    expect(job.strategy!['fail-fast']).toBe(false);
    expect(interpolate(job.strategy!['max-parallel'], base)).toBe(2);
    const expanded = legs().map((c) => ({
      environment: interpolate((job.environment as { name: string }).name, c),
      group: interpolate(job.concurrency!.group, c),
      databaseUrl: interpolate(actionStep(job).with!['database-url'], c),
      label: interpolate(actionStep(job).with!.environment, c),
      artifacts: uploads(job).map((s) => interpolate(s.with!.name, c)),
    }));
    expect(expanded.map((e) => [e.environment, e.databaseUrl, e.label])).toEqual([
      ['prod-eu', 'postgres://a', 'tenant-a'],
      ['prod-us', 'postgres://b', 'tenant-b'],
      ['prod-us', 'postgres://c', 'tenant-c'],
    ]);
    const distinct = (values: unknown[]) => new Set(values).size;
    expect(distinct(expanded.map((e) => e.group))).toBe(3);
    expect(distinct(expanded.flatMap((e) => e.artifacts))).toBe(6);
    // Two targets in one GitHub environment still queue separately: the group is the target's.
    expect(expanded[1].group).not.toBe(expanded[2].group);
  });

  it('a target without environment or secret uses its name as environment and the DATABASE_URL secret', () => {
    const c = { ...base, matrix: { target: { name: 'solo' } }, secrets: { DATABASE_URL: 'postgres://env' } };
    expect(interpolate((job.environment as { name: string }).name, c)).toBe('solo');
    expect(interpolate(actionStep(job).with!['database-url'], c)).toBe('postgres://env');
  });

  it('the status board runs after every target, even failed ones, and reads every target’s report', async () => {
    const board = jobs['status-board'];
    expect(board.needs).toBe('target');
    expect(condition(board.if, base, { status: 'failure' })).toBe(true);
    const download = board.steps.find((s) => s.uses?.startsWith('actions/download-artifact@'))!;
    expect(download.with!['merge-multiple']).toBe(true);
    const pattern = new RegExp(
      `^${String(download.with!.pattern).replace(/[.]/g, '\\.').replace(/\*/g, '.*')}$`,
    );
    const reportUpload = uploads(job).find((s) => String(s.with!.name).startsWith('migration-report-'))!;

    // What each target job leaves: its report, under the name its step gives it, in an artifact
    // the download pattern matches; the download merges them into one folder.
    const folder = join(tempDir('mg-fanout-'), 'reports');
    mkdirSync(folder);
    for (const c of legs()) {
      expect(pattern.test(String(interpolate(reportUpload.with!.name, c)))).toBe(true);
      const reportPath = String(interpolate(actionStep(job).with!['report-path'], c));
      const target = (c.matrix as { target: { name: string } }).target.name;
      writeFileSync(
        join(folder, basename(reportPath)),
        JSON.stringify(runResultWith({ status: target === 'tenant-b' ? 'rolled-back' : 'success' })),
      );
    }
    // The board's step, run with the env the workflow gives it.
    const step = board.steps.find((s) => s.run?.includes('aggregate'))!;
    const env = Object.fromEntries(
      Object.entries(step.env!).map(([k, v]) => [
        k,
        String(interpolate(v, { ...base, runner: { temp: '' } })),
      ]),
    );
    expect(String(interpolate(download.with!.path, { ...base, runner: { temp: '' } }))).toBe(env.REPORTS);
    expect(step.run).toBe('node .migration-guard/dist/cli.js aggregate --targets "$TARGETS" "$REPORTS"');
    const summary = join(folder, '..', 'summary.md');
    const code = await aggregateMain(['--targets', env.TARGETS, folder], { GITHUB_STEP_SUMMARY: summary });
    const written = readFileSync(summary, 'utf8');
    for (const t of targets) expect(written).toContain(`| \`${t.name}\` |`);
    expect(written).not.toContain('no report');
    expect(written).toMatch(/\| `tenant-b` \| prod-us \| ↩️ rolled back/);
    expect(code).toBe(1);
  });
});

describe('example callers in docs/examples', () => {
  interface Caller {
    on: Record<string, { inputs?: Record<string, { options?: string[] }> } | null>;
    jobs: Record<
      string,
      {
        uses?: string;
        with?: Record<string, unknown>;
        secrets?: Record<string, unknown> | 'inherit';
        permissions?: Record<string, string>;
      }
    >;
  }
  const read = (name: string) =>
    parse(readFileSync(join('docs', 'examples', name), 'utf8'), { strict: true, uniqueKeys: true }) as Caller;
  const EXAMPLES = [
    'plan-on-pull-request.yml',
    'staging-then-production.yml',
    'tenant-fan-out.yml',
    'admin-console.yml',
  ];
  const callOf = (caller: Caller) => Object.values(caller.jobs).find((j) => j.uses?.includes('migrate.yml'))!;
  const LEVEL: Record<string, number> = { none: 0, read: 1, write: 2 };

  it.each(EXAMPLES)(
    '%s calls migrate.yml with its inputs and secrets, granting what its jobs ask for',
    (name) => {
      const call = callOf(read(name));
      expect(call.uses).toBe(
        'supabase-migration-guard/supabase-migration-guard/.github/workflows/migrate.yml@v1',
      );
      for (const input of Object.keys(call.with ?? {}))
        expect([input, input in workflow.on.workflow_call.inputs]).toEqual([input, true]);
      if (call.secrets !== 'inherit')
        for (const secret of Object.keys(call.secrets ?? {}))
          expect([secret, secret in workflow.on.workflow_call.secrets]).toEqual([secret, true]);
      // GitHub refuses to start a called workflow whose jobs ask for more than the caller grants.
      for (const [id, job] of Object.entries(jobs))
        for (const [scope, level] of Object.entries(job.permissions ?? {}))
          expect([id, scope, LEVEL[call.permissions?.[scope] ?? 'none'] >= LEVEL[level]]).toEqual([
            id,
            scope,
            true,
          ]);
    },
  );

  /** The called workflow's jobs that run for the caller's event and its `with:` evaluated. */
  function calledJobs(name: string, event: string, extra: Contexts = {}): string[] {
    const call = callOf(read(name));
    const c = contexts(event, {}, extra);
    const given = Object.fromEntries(Object.entries(call.with ?? {}).map(([k, v]) => [k, interpolate(v, c)]));
    return jobsThatRun(event, inputs(given));
  }

  it('staging-then-production: staging from the staging branch, production from main, a plan on pull requests', () => {
    const on = (ref: string) => ({ github: { event_name: 'push', ref_name: ref } });
    expect(calledJobs('staging-then-production.yml', 'push', on('staging'))).toEqual(['staging']);
    expect(calledJobs('staging-then-production.yml', 'push', on('main'))).toEqual(['production']);
    expect(
      calledJobs('staging-then-production.yml', 'pull_request', {
        github: { event_name: 'pull_request', ref_name: '7/merge' },
      }),
    ).toEqual(['plan']);
  });

  it('admin-console: every command on the chosen environment only, with the reason and rollback bounds passed on', () => {
    const caller = read('admin-console.yml');
    const choices = caller.on.workflow_dispatch!.inputs!;
    expect(choices.command.options).toEqual(['status', 'apply', 'rollback', 'backup', 'audit']);
    expect(choices.environment.options).toEqual(['staging', 'production']);
    for (const command of choices.command.options!)
      for (const environment of choices.environment.options!) {
        const run = calledJobs('admin-console.yml', 'workflow_dispatch', {
          inputs: { command, environment, reason: 'why', count: '1', 'target-version': '' },
        });
        expect([command, environment, run]).toEqual([command, environment, [environment]]);
      }
    const call = callOf(caller);
    const c = contexts(
      'workflow_dispatch',
      {},
      {
        inputs: {
          command: 'rollback',
          environment: 'production',
          reason: 'bad deploy',
          count: '2',
          'target-version': '',
        },
      },
    );
    expect(interpolate(call.with!.command, c)).toBe('rollback');
    expect(interpolate(call.with!.count, c)).toBe('2');
    expect(interpolate(call.with!.reason, c)).toBe('bad deploy');
    const toVersion = { ...c, inputs: { ...(c.inputs as object), 'target-version': '20240101000000' } };
    expect(interpolate(call.with!['target-version'], toVersion)).toBe('20240101000000');
    expect(interpolate(call.with!.count, toVersion)).toBe('');
  });

  it('tenant-fan-out: the targets list goes to the fan-out with the caller’s secrets', () => {
    const call = callOf(read('tenant-fan-out.yml'));
    expect(call.secrets).toBe('inherit');
    const list = '[{"name":"acme","secret":"ACME_DATABASE_URL"}]';
    expect(calledJobs('tenant-fan-out.yml', 'push', { needs: { targets: { outputs: { list } } } })).toEqual([
      'target',
      'status-board',
    ]);
  });
});
