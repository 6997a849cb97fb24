import { describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StageEvent } from '../../src/engine/events.js';
import type { RunResult } from '../../src/engine/result.js';
import { foldEvent, foldEvents, startBoard, type BoardState } from '../../src/report/board-state.js';
import { COMMENT_LIMIT, commentMarker, historyOf, renderComment } from '../../src/report/comment.js';

const FIXTURES = join(process.cwd(), '__tests__', 'fixtures', 'comment');

interface Fixture {
  start: {
    environment: string;
    command: string;
    runUrl?: string;
    sha?: string;
    backupExpected: boolean;
    at: string;
  };
  events: StageEvent[];
  history: string[];
}

/** The board after the fixture's events, one second apart (the times the comment shows). */
function boardOf(fixture: Fixture): BoardState {
  const t0 = Date.parse(fixture.start.at);
  return fixture.events.reduce(
    (state, event, i) => foldEvent(state, event, new Date(t0 + (i + 1) * 1000)),
    startBoard({ ...fixture.start, at: new Date(t0) }),
  );
}

const fixture = (name: string) =>
  JSON.parse(readFileSync(join(FIXTURES, `data-${name}.json`), 'utf8')) as Fixture;
const render = (name: string) => {
  const f = fixture(name);
  return renderComment(boardOf(f), f.history);
};

const CASES: Array<[string, string]> = [
  ['success', 'an apply that backed up and applied 3 migrations, after a plan'],
  ['nothing-to-do', 'an apply with nothing pending'],
  ['failure-rollback', 'an all-mode apply that failed and was rolled back with the transaction'],
  ['per-file-revert', 'a per-file apply whose committed files were reverted by down migrations'],
  ['per-file-incomplete', 'a per-file apply that left a file partly applied'],
  ['cancelled', 'an apply cancelled by SIGTERM and rolled back'],
  ['drift', 'a plan refused for drift and a missing file'],
  ['lock-retries', 'an apply that waited for the run lock and retried two lock timeouts'],
  ['plan', 'a plan on a pull request, with a non-atomic file and a finding'],
  ['live', 'an apply under way: 2 of 3 applied, after a lock retry'],
  ['thousand', 'a 1,000-migration apply that folds and truncates'],
  ['plan-lint', 'a plan on a shadow database that lint fails: objects per file, findings grouped per file'],
  ['plan-lint-folded', 'a failed plan with 18 lint findings, folded'],
];

describe('renderComment golden files', () => {
  it.each(CASES)('renders data-%s.json (%s) exactly as golden-%s.md', (name) => {
    const golden = join(FIXTURES, `golden-${name}.md`);
    // MG_UPDATE_GOLDEN=1 writes a missing golden file; review it before committing.
    if (process.env.MG_UPDATE_GOLDEN && !existsSync(golden)) writeFileSync(golden, render(name));
    expect(render(name)).toBe(readFileSync(golden, 'utf8'));
  });
});

describe('foldEvents', () => {
  it('folds a batch as folding each event in turn does, duplicates and all, and leaves the state it started from as it was', () => {
    const f = fixture('lock-retries');
    const t0 = Date.parse(f.start.at);
    const start = startBoard({ ...f.start, at: new Date(t0) });
    const pending = Array.from({ length: 50 }, (_, i) => ({
      version: String(i),
      name: `m${i}`,
      file: `m/${i}_m${i}.sql`,
    }));
    const applied = (i: number, committed: boolean): StageEvent => ({
      type: 'file-applied',
      version: String(i),
      durationMs: i,
      index: i + 1,
      total: 50,
      committed,
    });
    // An all run: every file ran, then they all committed together; one was reported twice.
    const events: StageEvent[] = [
      { type: 'run-started', command: 'apply', environment: 'production', pending },
      ...f.events.filter((e) => e.type === 'lock-retry'),
      ...pending.map((_, i) => applied(i, false)),
      applied(7, false),
      ...pending.map((_, i) => applied(i, true)),
      applied(7, true),
      { type: 'rolled-back', versions: [], how: 'transaction', succeeded: true },
    ];
    const timed = events.map((event, i) => ({ event, at: new Date(t0 + (i + 1) * 1000) }));
    const before = JSON.stringify(start);
    const oneByOne = timed.reduce((state, { event, at }) => foldEvent(state, event, at), start);
    // In two batches: a state folded from the first must stay as it was while the second is.
    const half = foldEvents(start, timed.slice(0, 60));
    const halfBefore = JSON.stringify(half);
    const batched = foldEvents(half, timed.slice(60));
    expect(batched).toEqual(oneByOne);
    expect(batched.applied).toEqual(pending.map((p) => p.version));
    expect(batched.committed).toEqual(pending.map((p) => p.version));
    expect(batched.lockRetries.length).toBeGreaterThan(0);
    expect(batched.updatedAt).toBe(new Date(t0 + timed.length * 1000).toISOString());
    expect(JSON.stringify(start)).toBe(before);
    expect(JSON.stringify(half)).toBe(halfBefore);
  });
});

describe('renderComment', () => {
  it('keeps thousands of lint findings under the limit: grouped per file, folded, cut with a note', () => {
    const f = fixture('plan-lint');
    const result = (f.events[0] as { result: RunResult }).result;
    const one = result.lint!.findings[0];
    const findings = Array.from({ length: 3000 }, (_, i) => ({
      ...one,
      file: `supabase/migrations/${2026050000000 + Math.floor(i / 30)}_f.sql`,
      line: (i % 30) + 1,
      message: `${one.message} ${'x'.repeat(120)}`,
    }));
    const big = { ...result, lint: { ...result.lint!, findings } };
    const body = renderComment(boardOf({ ...f, events: [{ type: 'run-finished', result: big }] }));
    expect(Buffer.byteLength(body, 'utf8')).toBeLessThanOrEqual(COMMENT_LIMIT);
    expect(body).toMatch(/<details><summary>Lint: 0 errors, 3000 warnings, 0 info/);
    expect(body).toContain('- `supabase/migrations/2026050000000_f.sql` (0 errors, 30 warnings, 0 info)');
    expect(body).toMatch(/_… \d+ more lint lines not shown: GitHub limits a comment to 65,536 characters/);
    // The history after the list is kept.
    expect(body).toContain('<!-- /supabase-migration-guard:history -->');
  });

  it('quotes @mentions from files and errors without notifying anyone; e-mail addresses stay as they are', () => {
    let state = startBoard({
      environment: 'production',
      command: 'apply',
      backupExpected: false,
      at: new Date(0),
    });
    state = foldEvent(
      state,
      {
        type: 'file-failed',
        version: '2',
        error: {
          message: 'ask @acme/db-team or @octocat (ops@example.com)',
          file: 'm/2_@octocat.sql',
          line: 1,
        },
      },
      new Date(1),
    );
    const body = renderComment(state);
    expect(body).toContain('@\u200bacme/db-team');
    expect(body).toContain('@\u200boctocat');
    expect(body).not.toMatch(/(^|[^\w@])@[A-Za-z0-9]/m);
    expect(body).toContain('ops@example.com');
  });

  it('starts every body with the environment marker', () => {
    for (const [name] of CASES)
      expect(render(name).startsWith(`${commentMarker('production')}\n`) || name === 'failure-rollback').toBe(
        true,
      );
    expect(render('failure-rollback').startsWith(`${commentMarker('staging')}\n`)).toBe(true);
  });

  it('keeps a 1,000-migration run under GitHub limit: the table folds, rows are cut with a note, the lists after it and the history stay', () => {
    const body = render('thousand');
    expect(Buffer.byteLength(body, 'utf8')).toBeLessThanOrEqual(COMMENT_LIMIT);
    expect(body).toContain('<details><summary>Migrations (1000)</summary>');
    const rows = body.split('\n').filter((l) => /^\| 2025/.test(l));
    expect(rows.length).toBeGreaterThan(100);
    expect(rows.length).toBeLessThan(1000);
    expect(body).toContain(
      `_… ${1000 - rows.length} more migrations not shown: GitHub limits a comment to 65,536 characters.`,
    );
    for (const row of rows) expect(row.split(/(?<!\\)\|/).length).toBe(7);
    expect(historyOf(body)).toHaveLength(2);
  });

  it('stays under the limit whatever it is given (huge messages, errors and history lines)', () => {
    const f = fixture('failure-rollback');
    const state = boardOf(f);
    const big = 'x'.repeat(100_000);
    const result: RunResult = {
      ...state.result!,
      message: big,
      error: { message: big, detail: big, hint: big },
      findings: Array.from({ length: 5000 }, () => ({
        code: 'drift' as const,
        severity: 'error' as const,
        message: big,
      })),
    };
    const history = Array.from({ length: 100 }, (_, i) => `- ${i} ${'é'.repeat(1000)}`);
    const body = renderComment({ ...state, result }, history);
    expect(Buffer.byteLength(body, 'utf8')).toBeLessThanOrEqual(COMMENT_LIMIT);
    expect(body.startsWith(commentMarker('staging'))).toBe(true);
  });

  it('gives back the history it wrote, this run last, and keeps at most 20 runs', () => {
    const f = fixture('success');
    const body = renderComment(boardOf(f), f.history);
    expect(historyOf(body)).toEqual([
      f.history[0],
      '- 2026-05-01 10:00:04 UTC · `apply` · ✅ applied 3 migrations · `a1b2c3d` · [run](https://github.com/acme/app/actions/runs/4242)',
    ]);
    const long = Array.from({ length: 30 }, (_, i) => `- run ${i}`);
    const kept = historyOf(renderComment(boardOf(f), long));
    expect(kept).toHaveLength(20);
    expect(kept.at(-1)).toContain('`apply`');
    expect(historyOf('a comment someone else wrote')).toEqual([]);
  });

  it('escapes angle brackets so a message cannot close the marker or inject HTML', () => {
    const f = fixture('success');
    const state = boardOf(f);
    const body = renderComment({
      ...state,
      result: { ...state.result!, message: 'evil --> <img src=x> <!--' },
    });
    expect(body).toContain('evil --&gt; &lt;img src=x&gt; &lt;!--');
    expect(body.match(/<!--/g)).toHaveLength(3);
  });
});
