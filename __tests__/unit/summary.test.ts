import { describe, expect, it } from '@jest/globals';
import type { MigrationOutcome, RunResult } from '../../src/engine/result.js';
import { renderSummary, SUMMARY_BUDGET_BYTES, SUMMARY_LIMIT_BYTES } from '../../src/report/summary.js';
import { CASES, golden, recorded, runResultWith } from '../helpers/report-cases.js';

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

const result = runResultWith;

describe('renderSummary golden files', () => {
  it.each(CASES)('renders data-%i.json (%s) exactly as golden-%i.md', (n) => {
    const markdown = renderSummary(recorded(n));
    expect(markdown).toBe(golden(`golden-${n}.md`, markdown));
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

/** `count` migrations as a run reports them; `i` of each is its 1-based position. */
function migrations(
  count: number,
  make: (i: number) => Partial<MigrationOutcome> = () => ({}),
): MigrationOutcome[] {
  return Array.from({ length: count }, (_, k) => {
    const i = k + 1;
    const version = `20240601${String(i).padStart(6, '0')}`;
    return {
      version,
      name: `step_${i}`,
      file: `supabase/migrations/${version}_step_${i}.sql`,
      status: 'applied',
      durationMs: 1,
      statements: 1,
      atomic: true,
      nonAtomicReasons: [],
      ...make(i),
    };
  });
}

/** Whether every `<details>` is closed and every code fence ends. */
function balanced(markdown: string): boolean {
  const opened = (markdown.match(/<details>/g) ?? []).length;
  const closed = (markdown.match(/<\/details>/g) ?? []).length;
  return opened === closed && (markdown.match(/^```/gm) ?? []).length % 2 === 0;
}

describe('renderSummary on long runs', () => {
  it('keeps up to 30 migration rows open and folds 31 into <details> without leaving any out', () => {
    const open = renderSummary(result({ migrations: migrations(30) }));
    expect(open).not.toContain('<details>');
    expect(table(open, '| Version | Name | Status |')).toHaveLength(32);

    const folded = renderSummary(result({ migrations: migrations(31) }));
    expect(folded).toContain('<details><summary>31 migrations: 31 applied</summary>\n\n| Version |');
    expect(table(folded, '| Version | Name | Status |')).toHaveLength(33);
    expect(folded).not.toContain('Showing');
    expect(balanced(folded)).toBe(true);
  });

  it('cuts a 1,000-migration table to 250 rows around the failure, says what was left out and where it is', () => {
    const markdown = renderSummary(recorded(11));
    const rows = table(markdown, '| Version | Name | Status |').slice(2);
    const listed = rows.filter((r) => !r.startsWith('| … |'));
    expect(listed).toHaveLength(250);
    // The failed file and the three files on each side of it are listed; the gaps say what they hold.
    expect(listed.map((r) => cells(r)[0])).toEqual(
      expect.arrayContaining(['20240601000697', '20240601000700', '20240601000703']),
    );
    expect(rows.filter((r) => r.startsWith('| … |')).map((r) => cells(r)[1])).toEqual([
      '453 rolled-back',
      '297 not-run',
    ]);
    expect(markdown).toContain(
      'Showing 250 of 1000 migrations: the JSON report of the run (the `report-path` output) holds every one.',
    );
    expect(Buffer.byteLength(markdown)).toBeLessThan(64 * 1024);
    expect(balanced(markdown)).toBe(true);
  });

  it('cuts a 1,000-row status table but keeps every row that is not applied with a good checksum', () => {
    const markdown = renderSummary(
      result({
        command: 'status',
        status: 'success',
        status_rows: Array.from({ length: 1000 }, (_, i) => ({
          version: String(i + 1),
          name: `m${i + 1}`,
          state: i === 599 ? ('pending' as const) : ('applied' as const),
          checksum: i === 899 ? ('changed' as const) : ('ok' as const),
        })),
      }),
    );
    const rows = table(markdown, '| Version | Name | State |').slice(2);
    const listed = rows.filter((r) => !r.startsWith('| … |')).map((r) => cells(r)[0]);
    expect(listed).toHaveLength(250);
    expect(listed).toEqual(expect.arrayContaining(['600', '900']));
    expect(markdown).toContain('<details><summary>1000 migrations: 999 applied, 1 pending</summary>');
    expect(markdown).toContain('Showing 250 of 1000 migrations');
  });

  it('stays under the budget, closed and readable, whatever the run holds', () => {
    // Every long part at once, each made of characters that grow when escaped.
    const long = '<|>'.repeat(2000);
    const markdown = renderSummary(
      result({
        message: long,
        migrations: migrations(1000, (i) => ({
          name: `${'<'.repeat(200)}${i}`,
          status: 'failed',
          error: { message: long, file: 'x.sql', line: i },
          notes: [long],
        })),
        status_rows: Array.from({ length: 1000 }, (_, i) => ({
          version: String(i),
          name: '<'.repeat(250),
          state: 'pending' as const,
          partial: { statementsDone: 1, statementsTotal: 2, outsideTransaction: [], description: long },
        })),
        findings: Array.from({ length: 1000 }, () => ({
          code: 'drift' as const,
          severity: 'error' as const,
          message: long,
        })),
        lock: {
          waitedMs: 0,
          retries: Array.from({ length: 500 }, (_, i) => ({
            attempt: i,
            delayMs: 1,
            message: long,
            blocker: long,
          })),
        },
        audit: auditOf(`# Compliance report\n\n${'| <a> | b |\n'.repeat(300_000)}`),
      }),
    );
    expect(Buffer.byteLength(markdown)).toBeLessThanOrEqual(SUMMARY_BUDGET_BYTES);
    expect(SUMMARY_BUDGET_BYTES).toBeLessThan(SUMMARY_LIMIT_BYTES);
    expect(markdown).toMatch(
      /\n_The summary is cut here \(\d+ bytes kept\) to stay under GitHub's 1 MiB limit: the JSON report of the run \(the `report-path` output\) holds the whole run\._\n$/,
    );
    expect(balanced(markdown)).toBe(true);
    expect(markdown).not.toMatch(/<(?!\/?details>|\/?summary>)/);
  });

  it('shows the audit command’s compliance report, cut with a note naming the whole file when it is too long', () => {
    const short = renderSummary(
      result({ command: 'audit', audit: auditOf('# Compliance report\n\nAll good.\n') }),
    );
    expect(short).toContain('\n\n# Compliance report\n\nAll good.\n');
    expect(short).not.toContain('| Pending |');

    const long = renderSummary(
      result({
        command: 'audit',
        audit: auditOf(`# Compliance report\n\n${'| run | ok |\n'.repeat(100_000)}`),
      }),
    );
    expect(long).toContain(
      '_The compliance report is cut here to fit the job summary: the whole report is in /tmp/audit/compliance.md._',
    );
    expect(Buffer.byteLength(long)).toBeLessThan(520 * 1024);
  });

  it('says whether the database changed, and links the workflow run only when its address is http(s)', () => {
    const changed = renderSummary(
      result({ changed: true, runUrl: 'https://github.com/acme/shop/actions/runs/1' }),
    );
    expect(changed).toContain('| Database changed | yes |');
    expect(changed).toContain(
      '| Workflow run | [https://github.com/acme/shop/actions/runs/1](https://github.com/acme/shop/actions/runs/1) |',
    );
    const unchanged = renderSummary(result({ changed: false, runUrl: 'javascript:alert(1)' }));
    expect(unchanged).toContain('| Database changed | no |');
    expect(unchanged).not.toContain('Workflow run');
  });
});

function auditOf(markdown: string): NonNullable<RunResult['audit']> {
  return {
    rows: 1,
    valid: true,
    runs: 1,
    events: 1,
    range: {},
    files: {
      markdown: '/tmp/audit/compliance.md',
      csv: '/tmp/audit/compliance.csv',
      json: '/tmp/audit/compliance.json',
    },
    markdown,
  };
}
