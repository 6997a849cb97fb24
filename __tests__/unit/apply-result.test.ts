import { describe, expect, it } from '@jest/globals';
import type { ExecutionOutcome } from '../../src/engine/execute.js';
import type { Finding, MigrationOutcome, RunResult } from '../../src/engine/result.js';
import type { StagedApplyOutcome } from '../../src/engine/staged-apply/outcome.js';
import { resultOfApply, runDetailsOf, verdictOf } from '../../src/engine/staged-apply/result.js';
import type { Migration } from '../../src/migrations/discover.js';

function migration(version: string, down = false): Migration {
  return {
    version,
    name: `m${version}`,
    fileName: `${version}_m${version}.sql`,
    path: `supabase/migrations/${version}_m${version}.sql`,
    checksum: 'x',
    ...(down && { down: { path: `supabase/migrations/${version}_m${version}.down.sql` } }),
  } as Migration;
}

function file(version: string): MigrationOutcome {
  return {
    version,
    name: `m${version}`,
    file: `supabase/migrations/${version}_m${version}.sql`,
    status: 'not-run',
    durationMs: 0,
    statements: 1,
    atomic: true,
    nonAtomicReasons: [],
  };
}

function execution(over: Partial<ExecutionOutcome> = {}): ExecutionOutcome {
  return {
    committed: [],
    partiallyCommitted: [],
    nonTransactionalDone: [],
    statementsCommitted: new Map(),
    durations: new Map(),
    retries: [],
    ...over,
  };
}

const timeoutFinding: Finding = { code: 'timeout-setting', severity: 'warning', message: 'new' };

function base(): RunResult {
  return {
    tool: { name: 'supabase-migration-guard', version: '0.0.0' },
    command: 'apply',
    environment: 'prod',
    changed: false,
    status: 'failed',
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:00:00.000Z',
    durationMs: 0,
    migrations: [],
    applied: [],
    pendingCount: 3,
    currentVersion: '0',
    findings: [
      { code: 'skipped-file', severity: 'warning', message: 'skipped' },
      { code: 'timeout-setting', severity: 'warning', message: 'stale' },
    ],
    skippedFiles: [],
    lock: { waitedMs: 5, retries: [] },
    message: '',
  };
}

function outcome(over: Partial<StagedApplyOutcome> & Pick<StagedApplyOutcome, 'stage'>): StagedApplyOutcome {
  return {
    transactionMode: 'per-file',
    pending: [migration('1', true), migration('2', true), migration('3')],
    known: 4,
    currentVersionBefore: '0',
    files: [file('1'), file('2'), file('3')],
    findings: [timeoutFinding],
    cancelled: false,
    runId: 7,
    ...over,
  };
}

describe('the report of an apply, built from its outcome', () => {
  it('success: every file applied, counts and current version from what committed, retries and findings merged', () => {
    const retries = [{ attempt: 1, delayMs: 100, message: 'lock timeout', blocker: 'pid 1' }];
    const done = outcome({
      stage: 'applied',
      execution: execution({
        committed: ['1', '2', '3'],
        durations: new Map([
          ['1', 1.4],
          ['2', 2.6],
          ['3', 3],
        ]),
        retries,
        nonTransactionalDone: [
          { version: '2', file: 'f2', line: 1, statement: 'create index concurrently i on t (a)' },
        ],
      }),
    });
    const before = base();
    const result = resultOfApply(before, done);
    expect(result).toMatchObject({
      status: 'success',
      message: 'Applied 3 migration(s).',
      applied: ['1', '2', '3'],
      pendingCount: 0,
      currentVersion: '3',
      runId: 7,
      transactionMode: 'per-file',
      lock: { waitedMs: 5, retries },
      nonTransactional: [{ version: '2', down: 'supabase/migrations/2_m2.down.sql' }],
    });
    expect(result.migrations.map((m) => [m.status, m.durationMs])).toEqual([
      ['applied', 1],
      ['applied', 3],
      ['applied', 3],
    ]);
    // The plan's findings stay; the timeout findings are the run's latest.
    expect(result.findings.map((f) => f.message)).toEqual(['skipped', 'new']);
    // Nothing undecided is left as an explicit undefined, and the base is not touched.
    expect(Object.values(result)).not.toContain(undefined);
    expect(before).toEqual(base());
  });

  it('nothing to do: no rows, nothing pending, the current version kept', () => {
    const result = resultOfApply(
      { ...base(), pendingCount: 0 },
      outcome({ stage: 'nothing-to-do', pending: [], files: [], findings: [] }),
    );
    expect(result).toMatchObject({
      status: 'nothing-to-do',
      message: 'Nothing to apply: all 4 migrations are already applied.',
      applied: [],
      pendingCount: 0,
      currentVersion: '0',
      migrations: [],
    });
  });

  it('a rehearsal failure: that file failed, nothing applied, the database unchanged', () => {
    const error = { message: 'division by zero', file: 'supabase/migrations/2_m2.sql', line: 3, column: 8 };
    const failed = outcome({ stage: 'rehearsal-failed', rehearsalFailure: { version: '2', error } });
    const result = resultOfApply(base(), failed);
    expect(result.status).toBe('failed');
    expect(result.message).toBe(
      'supabase/migrations/2_m2.sql:3:8: division by zero. The rehearsal found this before anything was applied: the database is unchanged.',
    );
    expect(result.migrations.map((m) => m.status)).toEqual(['not-run', 'failed', 'not-run']);
    expect(result).toMatchObject({ applied: [], pendingCount: 3, currentVersion: '0', error });
    expect(result.cancelled).toBeUndefined();

    const stopped = resultOfApply(base(), { ...failed, cancelled: true });
    expect(stopped).toMatchObject({ status: 'cancelled', cancelled: true });
    expect(stopped.message).toMatch(
      /^division by zero\. The rehearsal was stopped before anything was applied/,
    );
  });

  it('a per-file failure whose earlier files were reverted: rolled back, nothing applied', () => {
    const error = { message: 'boom', file: 'supabase/migrations/3_m3.sql', line: 2 };
    const failed = outcome({
      stage: 'apply-failed',
      execution: execution({
        committed: ['1', '2'],
        failure: { version: '3', error, rolledBack: [], cancelled: false, connectionLost: false },
      }),
      rollback: { kind: 'automatic', reverted: ['2', '1'], succeeded: true },
      fingerprint: { before: 'a', after: 'a' },
    });
    const result = resultOfApply(base(), failed);
    expect(result).toMatchObject({
      status: 'rolled-back',
      applied: [],
      pendingCount: 3,
      currentVersion: '0',
      error,
      schemaFingerprint: { before: 'a', after: 'a' },
    });
    expect(result.committedBeforeFailure).toBeUndefined();
    expect(result.migrations.map((m) => m.status)).toEqual(['rolled-back', 'rolled-back', 'failed']);
    expect(result.message).toBe(
      'supabase/migrations/3_m3.sql:2: boom. The run was rolled back (files committed earlier in this run, 2, 1, were reverted by their down migrations): the database is as it was before the run (schema fingerprint unchanged).',
    );
    // The run record is told the same.
    expect(verdictOf(failed).status).toBe('rolled-back');
    expect(runDetailsOf(failed)).toMatchObject({
      rollback: { succeeded: true },
      schemaFingerprint: { before: 'a' },
    });
  });

  it('a per-file failure that left files applied: failed, what is still applied, and how to undo it', () => {
    const error = { message: 'boom', file: 'supabase/migrations/3_m3.sql', line: 2 };
    const result = resultOfApply(
      base(),
      outcome({
        stage: 'apply-failed',
        execution: execution({
          committed: ['1', '2'],
          failure: { version: '3', error, rolledBack: [], cancelled: true, connectionLost: false },
        }),
        fingerprint: { before: 'a', after: 'b' },
        cancelled: true,
      }),
    );
    expect(result).toMatchObject({
      status: 'cancelled',
      cancelled: true,
      applied: ['1', '2'],
      pendingCount: 1,
      currentVersion: '2',
      committedBeforeFailure: ['1', '2'],
    });
    expect(result.message).toBe(
      'boom. Still applied from this run: 1, 2. To undo them run rollback with count: 2.',
    );
  });

  it('a run stopped by an error keeps the status and message its error will decide, and reports what it knew', () => {
    const result = resultOfApply(
      { ...base(), status: 'failed', message: 'before' },
      outcome({ stage: 'stopped', error: new Error('parse error'), runId: undefined }),
    );
    expect(result).toMatchObject({
      status: 'failed',
      message: 'before',
      pendingCount: 3,
      currentVersion: '0',
    });
    expect(result.migrations).toHaveLength(3);
  });
});
