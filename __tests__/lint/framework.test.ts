import { describe, expect, it } from '@jest/globals';
import { estimate, sizedSeverity } from '../../src/lint/size.js';
import { brief, lintSql } from '../helpers/lint.js';

describe('lint framework', () => {
  it('reports a rule at the exact file:line:column of the node it concerns', async () => {
    const report = await lintSql(['select 1;\n\n  create index i on public.accounts (email);\n']);
    expect(brief(report)).toEqual(['1_m.sql:3:21 warning index-without-concurrently']);
    expect(report.findings[0]).toMatchObject({
      family: 'locks',
      source: 'static',
      file: 'supabase/migrations/1_m.sql',
      version: '1',
    });
    expect(report.findings[0].message).toMatch(/public\.accounts without CONCURRENTLY/);
    expect(report.context).toBe('static');
    expect(report.counts).toEqual({ error: 0, warning: 1, info: 0 });
  });

  it('stays silent on the safe pattern', async () => {
    const report = await lintSql(['create index concurrently i on accounts (email);']);
    expect(brief(report)).toEqual([]);
  });

  it('stays silent on a table created earlier in the release, in another file or the same one', async () => {
    const report = await lintSql([
      'create table accounts (id bigint);',
      'create index i on accounts (id);\ncreate table b (x int); create index j on b (x);',
    ]);
    expect(brief(report)).toEqual([]);
  });

  it('with newTableScope file, a table created in an earlier file counts as existing', async () => {
    const report = await lintSql(['create table accounts (id bigint);', 'create index i on accounts (id);'], {
      newTableScope: 'file',
    });
    expect(brief(report)).toEqual(['2_m.sql:1:19 warning index-without-concurrently']);
  });

  it('reports a psql meta-command the splitter refuses as a finding, and lints the rest of the file', async () => {
    const sql = 'create index a on t (x);\n\\set ON_ERROR_STOP on\ncreate index b on u (y);\n';
    const report = await lintSql([sql]);
    expect(brief(report)).toEqual([
      '1_m.sql:1:19 warning index-without-concurrently',
      '1_m.sql:2:1 error psql-meta-command',
      '1_m.sql:3:19 warning index-without-concurrently',
    ]);
    expect(report.findings[1].message).toMatch(/\\set sets a psql variable/);
  });

  it('reports a syntax error as a finding at its position and stops linting that file only', async () => {
    const report = await lintSql([
      'create index a on t (x);\nselect from where;\ncreate index b on u (y);',
      'create index c on v (z);',
    ]);
    expect(brief(report)).toEqual([
      '1_m.sql:1:19 warning index-without-concurrently',
      '1_m.sql:2:13 error syntax-error',
      '2_m.sql:1:19 warning index-without-concurrently',
    ]);
  });
});

describe('severity from a table size', () => {
  it.each([
    [{ rows: 9_999, bytes: 10 * 1024 * 1024 - 1 }, 'info'],
    [{ rows: 10_000, bytes: 8192 }, 'warning'],
    [{ rows: 50, bytes: 10 * 1024 * 1024 }, 'warning'],
    [{ rows: 999_999, bytes: 1024 ** 3 - 1 }, 'warning'],
    [{ rows: 1_000_000, bytes: 8192 }, 'error'],
    [{ rows: 10, bytes: 1024 ** 3 }, 'error'],
    [{ rows: -1, bytes: 16384 }, 'info'],
    [{ rows: -1, bytes: 20 * 1024 * 1024 }, 'warning'],
    [{ rows: -1, bytes: 3 * 1024 ** 3 }, 'error'],
  ] as const)('%j → %s', (stats, severity) => {
    expect(sizedSeverity(stats)).toBe(severity);
  });

  it('says the estimate', () => {
    expect(estimate({ rows: 5_000_000, bytes: 1.2 * 1024 ** 3 })).toBe('~5,000,000 rows, 1.2 GB');
    expect(estimate({ rows: 0, bytes: 8192 })).toBe('~0 rows, 8 kB');
    expect(estimate({ rows: -1, bytes: 16384 })).toBe('16 kB, row count unknown: never analysed');
  });
});
