import { describe, expect, it } from '@jest/globals';
import type { Finding } from '../../src/engine/result.js';
import {
  MAX_ERROR_ANNOTATIONS,
  MAX_WARNING_ANNOTATIONS,
  renderAnnotations,
} from '../../src/report/annotations.js';
import { CASES, golden, recorded, runResultWith } from '../helpers/report-cases.js';

const result = runResultWith;

describe('renderAnnotations golden files', () => {
  it.each(CASES)('renders data-%i.json (%s) exactly as annotations-%i.json', (n) => {
    const annotations = `${JSON.stringify(renderAnnotations(recorded(n)), null, 2)}\n`;
    expect(annotations).toBe(golden(`annotations-${n}.json`, annotations));
  });
});

describe('renderAnnotations', () => {
  it('puts the run’s SQL error first, at file, line and column, with SQLSTATE, DETAIL and HINT, once', () => {
    const error = {
      message: 'column "nickname" does not exist',
      file: 'supabase/migrations/2_b.sql',
      line: 7,
      column: 24,
      sqlstate: '42703',
      detail: 'd',
      hint: 'h',
    };
    const annotations = renderAnnotations(
      result({
        error,
        migrations: [
          {
            version: '2',
            name: 'b',
            file: error.file,
            status: 'failed',
            durationMs: 1,
            statements: 1,
            atomic: true,
            nonAtomicReasons: [],
            error,
          },
        ],
        findings: [{ code: 'drift', severity: 'warning', file: 'supabase/migrations/1_a.sql', message: 'w' }],
      }),
    );
    expect(annotations).toEqual([
      {
        level: 'error',
        title: 'Migration failed',
        file: 'supabase/migrations/2_b.sql',
        line: 7,
        column: 24,
        message: 'column "nickname" does not exist (SQLSTATE 42703)\nDETAIL: d\nHINT: h',
      },
      { level: 'warning', title: 'Migration drift', file: 'supabase/migrations/1_a.sql', message: 'w' },
    ]);
  });

  it('annotates a failed down migration and what a failed statement outside a transaction left behind', () => {
    const annotations = renderAnnotations(
      result({
        command: 'rollback',
        rollback: {
          kind: 'command',
          reverted: [],
          succeeded: false,
          error: { message: 'boom', file: 'm/3_c.down.sql', line: 2, column: 5 },
        },
        nonTransactional: [
          {
            version: '4',
            file: 'm/4_d.sql',
            line: 3,
            statement: 'create index concurrently i on t (x)',
            failed: true,
            leftBehind:
              'it left the INVALID index i behind: drop it with DROP INDEX CONCURRENTLY IF EXISTS i',
          },
          { version: '4', file: 'm/4_d.sql', line: 1, statement: 'vacuum t' },
        ],
      }),
    );
    expect(annotations).toEqual([
      {
        level: 'error',
        title: 'Rollback failed',
        file: 'm/3_c.down.sql',
        line: 2,
        column: 5,
        message: 'boom',
      },
      {
        level: 'warning',
        title: 'Left behind outside a transaction',
        file: 'm/4_d.sql',
        line: 3,
        message: 'it left the INVALID index i behind: drop it with DROP INDEX CONCURRENTLY IF EXISTS i',
      },
    ]);
  });

  it('points a finding at its line and column, and never annotates a skipped file or an error without a file', () => {
    const annotations = renderAnnotations(
      result({
        error: { message: 'could not connect' },
        findings: [
          { code: 'skipped-file', severity: 'warning', file: 'README.md', message: 'README.md skipped' },
          {
            code: 'timeout-setting',
            severity: 'warning',
            file: 'm/1_a.sql',
            line: 4,
            column: 1,
            message: 'm/1_a.sql:4: set lock_timeout ignored',
          },
          { code: 'missing-locally', severity: 'error', message: 'version 9 has no file' },
        ],
      }),
    );
    expect(annotations).toEqual([
      {
        level: 'warning',
        title: 'Migration timeout-setting',
        file: 'm/1_a.sql',
        line: 4,
        column: 1,
        message: 'm/1_a.sql:4: set lock_timeout ignored',
      },
    ]);
  });

  it('keeps to GitHub’s 10 annotations per level and step, one error left for the step’s failure, and says how many more there are', () => {
    const findings = (severity: Finding['severity'], n: number): Finding[] =>
      Array.from({ length: n }, (_, i) => ({
        code: 'drift',
        severity,
        file: `m/${severity}-${i}.sql`,
        message: `${severity} ${i}`,
      }));
    const annotations = renderAnnotations(
      result({ findings: [...findings('error', 25), ...findings('warning', 14)] }),
    );
    const errors = annotations.filter((a) => a.level === 'error');
    const warnings = annotations.filter((a) => a.level === 'warning');
    expect([MAX_ERROR_ANNOTATIONS, MAX_WARNING_ANNOTATIONS]).toEqual([9, 10]);
    expect(errors).toHaveLength(9);
    expect(warnings).toHaveLength(10);
    expect(errors[8].message).toBe(
      'error 8\n(16 more errors not annotated: GitHub shows 10 per step; see the job summary and the JSON report)',
    );
    expect(warnings[9].message).toBe(
      'warning 9\n(4 more warnings not annotated: GitHub shows 10 per step; see the job summary and the JSON report)',
    );
    expect(annotations.slice(0, 9)).toEqual(errors);
  });
});
