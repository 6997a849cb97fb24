import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunResult } from '../../src/engine/result.js';
import { renderSummary } from '../../src/report/summary.js';

const FIXTURES = join(process.cwd(), '__tests__', 'fixtures', 'summary');

const data = (n: number): RunResult =>
  JSON.parse(readFileSync(join(FIXTURES, `data-${n}.json`), 'utf8')) as RunResult;
const golden = (n: number): string => readFileSync(join(FIXTURES, `golden-${n}.md`), 'utf8');

/** Splits a Markdown table row into cells the way GitHub does: at every `|` not escaped by a backslash. */
function cells(row: string): string[] {
  return row
    .replace(/^\|/, '')
    .replace(/\|$/, '')
    .split(/(?<!\\)\|/)
    .map((c) => c.trim());
}

/** The rows of the table whose header starts with `header`, up to the first line that is not a row. */
function table(markdown: string, header: string): string[] {
  const lines = markdown.split('\n');
  const start = lines.findIndex((l) => l.startsWith(header));
  expect(start).toBeGreaterThanOrEqual(0);
  const rows: string[] = [];
  for (const line of lines.slice(start)) {
    if (!line.startsWith('|')) break;
    rows.push(line);
  }
  return rows;
}

function result(overrides: Partial<RunResult> = {}): RunResult {
  return {
    tool: { name: 'supabase-migration-guard', version: '0.1.0' },
    command: 'apply',
    environment: 'default',
    status: 'failed',
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

describe('renderSummary golden files', () => {
  it.each([
    [1, 'a successful apply with a non-atomic file'],
    [2, 'a rolled-back apply with file, line, column, SQLSTATE, detail and hint'],
    [3, 'a status run with status rows'],
    [4, 'a failed per-file apply whose error holds a pipe, a newline and angle brackets'],
  ])('renders data-%i.json (%s) exactly as golden-%i.md', (n) => {
    expect(renderSummary(data(n))).toBe(golden(n));
  });
});

describe('renderSummary', () => {
  it('keeps a migration row to six cells when the error holds a pipe and a newline', () => {
    const markdown = renderSummary(
      result({
        migrations: [
          {
            version: '1',
            name: 'weird | name',
            file: 'm/1_weird.sql',
            status: 'failed',
            durationMs: 5,
            statements: 1,
            atomic: true,
            nonAtomicReasons: [],
            error: { message: 'first | part\nsecond line\r\nthird', line: 3 },
          },
        ],
      }),
    );
    const rows = table(markdown, '| Version | Name | Status |');
    expect(rows).toHaveLength(3);
    for (const row of rows) expect(cells(row)).toHaveLength(6);
    expect(cells(rows[2])).toEqual([
      '1',
      'weird \\| name',
      'failed',
      '5 ms',
      '1',
      'line 3: first \\| part<br>second line<br>third',
    ]);
  });

  it('escapes angle brackets in cells, messages and findings so they cannot inject HTML', () => {
    const markdown = renderSummary(
      result({
        message: 'see <script>alert(1)</script>',
        database: { display: '<host>:5432/db' },
        findings: [{ code: 'drift', severity: 'error', message: 'file <b>x</b> changed' }],
      }),
    );
    expect(markdown).not.toMatch(/<script>|<b>|<host>/);
    expect(markdown).toContain('see &lt;script&gt;alert(1)&lt;/script&gt;');
    expect(markdown).toContain('| Database | &lt;host&gt;:5432/db |');
    expect(markdown).toContain('- ❌ file &lt;b&gt;x&lt;/b&gt; changed');
  });

  it('keeps a status row to six cells when the applied-by name holds a pipe', () => {
    const markdown = renderSummary(
      result({
        command: 'status',
        status: 'success',
        status_rows: [{ version: '1', name: 'a', state: 'applied', appliedBy: 'bot|x', checksum: 'ok' }],
      }),
    );
    const rows = table(markdown, '| Version | Name | State |');
    expect(cells(rows[2])).toEqual(['1', 'a', 'applied', '', 'bot\\|x', 'ok']);
  });

  it('names each outcome in the heading', () => {
    expect(renderSummary(result({ status: 'success' }))).toMatch(
      /^## Migration guard: `apply` on `default` — ✅ success\n/,
    );
    expect(renderSummary(result({ status: 'nothing-to-do' }))).toMatch(/— ✅ nothing to do\n/);
    expect(renderSummary(result({ status: 'failed' }))).toMatch(/— ❌ failed\n/);
    expect(renderSummary(result({ status: 'rolled-back' }))).toMatch(/— ↩️ failed and rolled back\n/);
    expect(renderSummary(result({ status: 'cancelled' }))).toMatch(/— ⏹️ cancelled\n/);
  });

  it('lists runs that ended without finishing and what the migrations did to this run', () => {
    const markdown = renderSummary(
      result({
        status: 'success',
        abandonedRuns: [
          {
            id: 7,
            command: 'apply',
            environment: 'default',
            transactionMode: 'per-file',
            startedAt: '2024-05-01T09:00:00.000Z',
            sessionPid: 4242,
            actor: 'octocat',
            runUrl: null,
            applied: ['1', '2'],
            sessionLingers: false,
            closed: true,
          },
        ],
        sessionEffects: [
          {
            effect: 'lock-released',
            file: 'm/2_x.sql',
            line: 2,
            call: 'pg_advisory_unlock_all',
            message: 'm/2_x.sql:2 released the migration lock',
          },
        ],
      }),
    );
    expect(markdown).toContain(
      '### Runs that ended without finishing\n\n- run #7 (apply, started 2024-05-01T09:00:00.000Z by octocat): the history shows it applied 1, 2; closed as abandoned by this run\n',
    );
    expect(markdown).toContain(
      '### What the migrations did to this run\n\n- ⚠️ m/2_x.sql:2 released the migration lock\n',
    );
  });

  it('leaves out the error, migration, status and findings sections when there is nothing to show', () => {
    const markdown = renderSummary(
      result({ status: 'nothing-to-do', message: 'All 3 migrations are already applied.' }),
    );
    expect(markdown).not.toContain('### Error');
    expect(markdown).not.toContain('| Version |');
    expect(markdown).not.toContain('### Findings');
    expect(markdown).not.toContain('| Lock |');
    expect(markdown).toContain('All 3 migrations are already applied.');
    expect(markdown.endsWith('|\n')).toBe(true);
  });

  it('shows an error without a file or SQLSTATE as its message alone', () => {
    const markdown = renderSummary(result({ error: { message: 'could not connect' } }));
    expect(markdown).toContain('### Error\n\n```\ncould not connect\n```\n');
  });

  it('counts a single lock-timeout retry in the singular', () => {
    const markdown = renderSummary(
      result({ lock: { waitedMs: 0, retries: [{ attempt: 1, delayMs: 100, message: 'lock timeout' }] } }),
    );
    expect(markdown).toContain('| Lock | acquired at once; 1 lock-timeout retry |');
  });

  it('says "another run" when the lock holder is unknown', () => {
    const markdown = renderSummary(result({ lock: { waitedMs: 2500, retries: [] } }));
    expect(markdown).toContain('| Lock | waited 2.5 s for another run |');
  });

  it('shows why the run was rehearsed, what stays partly applied, and a non-transactional statement that failed', () => {
    const md = renderSummary(
      result({
        rehearsal: {
          ran: true,
          reason:
            'the run cannot be one transaction (2_b.sql: CREATE INDEX CONCURRENTLY (line 2) runs outside a transaction)',
          notRehearsed: [],
        },
        nonTransactional: [
          {
            version: '2',
            file: 'm/2_b.sql',
            line: 2,
            statement: 'create unique index concurrently u on t (x)',
            failed: true,
            leftBehind: 'the INVALID index u it left behind was dropped',
          },
        ],
        partiallyApplied: [
          {
            version: '2',
            file: 'm/2_b.sql',
            statementsDone: 1,
            statementsTotal: 3,
            nextStep: 'statements 1-1 of 3 are committed',
          },
        ],
        status_rows: [
          {
            version: '2',
            name: 'b',
            state: 'pending',
            partial: {
              statementsDone: 1,
              statementsTotal: 3,
              outsideTransaction: [],
              description: 'partially applied: statements 1-1 of 3 committed by run 4',
            },
          },
        ],
      }),
    );
    expect(md).toContain(
      'Rehearsal: yes: the run cannot be one transaction (2_b.sql: CREATE INDEX CONCURRENTLY (line 2) runs outside a transaction)',
    );
    expect(md).toContain(
      '- m/2_b.sql:2: `create unique index concurrently u on t (x)` — FAILED: the INVALID index u it left behind was dropped — no down migration',
    );
    expect(md).toContain(
      '### Partly applied (no history row)\n\n- m/2_b.sql: statements 1-1 of 3 are committed',
    );
    expect(cells(table(md, '| Version | Name | State')[2])[2]).toBe(
      'pending: partially applied: statements 1-1 of 3 committed by run 4',
    );
  });
});
