import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunResult } from '../../src/engine/result.js';

/** The recorded results the renderers are golden-tested over (`__tests__/fixtures/summary/data-N.json`). */
export const FIXTURES = join(process.cwd(), '__tests__', 'fixtures', 'summary');

/**
 * data-5 to data-10 come from real runs against PostgreSQL 15, with paths, hosts and times replaced
 * by stable ones (data-8's status is the `cancelled` a stopped run reports); data-11 is a
 * 1,000-migration `all` run whose 700th file fails; data-12 and data-13 are real plan runs (PG 15, a
 * shadow database and lint findings), normalised the same way, data-12's copy notes added by hand.
 */
export const CASES: Array<[number, string]> = [
  [1, 'a successful apply with a non-atomic file'],
  [2, 'a rolled-back apply with file, line, column, SQLSTATE, detail and hint'],
  [3, 'a status run with status rows'],
  [4, 'a failed per-file apply whose error holds a pipe, a newline and angle brackets'],
  [5, 'a successful per-file apply with a backup, a rehearsal and a statement outside a transaction'],
  [6, 'nothing to do'],
  [7, 'a per-file failure whose earlier files were reverted by their down migrations'],
  [8, 'a cancelled per-file run that leaves its first file applied'],
  [9, 'drift: a changed applied file and a version missing locally'],
  [10, 'lock-timeout retries naming the blocking session'],
  [11, 'a 1,000-migration run that folds and cuts its table'],
  [
    12,
    'a plan on a shadow database: objects per file, a copy note, lint findings per file (one accepted) failing it',
  ],
  [13, 'a plan whose rehearsal fails with 18 lint findings at fail level warning, folded per file'],
];

export function recorded(n: number): RunResult {
  return JSON.parse(readFileSync(join(FIXTURES, `data-${n}.json`), 'utf8')) as RunResult;
}

/**
 * The golden file `name`; with MG_UPDATE_GOLDEN=1 it is first rewritten from `actual` (review the
 * diff before committing it).
 */
export function golden(name: string, actual: string): string {
  const path = join(FIXTURES, name);
  if (process.env.MG_UPDATE_GOLDEN) writeFileSync(path, actual);
  return readFileSync(path, 'utf8');
}

/** A failed apply with nothing in it, and `overrides`: the base of the renderers' unit tests. */
export function runResultWith(overrides: Partial<RunResult> = {}): RunResult {
  return {
    tool: { name: 'supabase-migration-guard', version: '0.1.0' },
    command: 'apply',
    environment: 'default',
    status: 'failed',
    changed: false,
    startedAt: '2024-05-01T10:00:00.000Z',
    finishedAt: '2024-05-01T10:00:01.000Z',
    durationMs: 1000,
    migrations: [],
    applied: [],
    pendingCount: 0,
    findings: [],
    skippedFiles: [],
    message: 'done',
    ...overrides,
  };
}
