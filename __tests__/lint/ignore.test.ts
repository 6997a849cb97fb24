import { describe, expect, it } from '@jest/globals';
import { brief, lintSql } from '../helpers/lint.js';

describe('ignore comments', () => {
  it('an ignore with a reason silences that rule on the next statement only, and the report keeps it with the reason', async () => {
    const report = await lintSql([
      [
        '-- migration-guard:ignore drop-table the table was emptied and archived in 2024',
        'drop table old_events;',
        'drop table other;',
      ].join('\n'),
    ]);
    expect(brief(report)).toEqual([
      '1_m.sql:2:1 error drop-table ignored(the table was emptied and archived in 2024)',
      '1_m.sql:3:1 error drop-table',
    ]);
    expect(report.findings[0].ignored).toEqual({
      reason: 'the table was emptied and archived in 2024',
      line: 1,
    });
    // An ignored finding counts for nothing.
    expect(report.counts).toEqual({ error: 1, warning: 0, info: 0 });
    expect(report.unusedIgnores).toEqual([]);
  });

  it('applies to the next statement even with other comments and blank lines between, not to other rules', async () => {
    const report = await lintSql([
      'select 1;\n-- migration-guard:ignore truncate small lookup table, reloaded below\n\n-- reload\ntruncate t;\ndelete from t;',
    ]);
    expect(brief(report)).toEqual([
      '1_m.sql:5:10 warning truncate ignored(small lookup table, reloaded below)',
      '1_m.sql:6:13 error delete-without-where',
    ]);
  });

  it('inside a statement, an ignore applies to that statement', async () => {
    const report = await lintSql([
      'create table n (\n  -- migration-guard:ignore varchar-length codes of the legacy system are 10 characters\n  code varchar(10),\n  other varchar(5)\n);\ncreate table m (a varchar(3));',
    ]);
    expect(brief(report)).toEqual([
      '1_m.sql:3:8 info varchar-length ignored(codes of the legacy system are 10 characters)',
      '1_m.sql:4:9 info varchar-length ignored(codes of the legacy system are 10 characters)',
      '1_m.sql:6:19 info varchar-length',
    ]);
  });

  it('the file-level form silences the rule in the whole file, not in other files', async () => {
    const report = await lintSql([
      'create index a on t (x);\n-- migration-guard:ignore-file index-without-concurrently tables are tiny lookup tables\ncreate index b on u (y);',
      'create index c on v (z);',
    ]);
    expect(brief(report)).toEqual([
      '1_m.sql:1:19 warning index-without-concurrently ignored(tables are tiny lookup tables)',
      '1_m.sql:3:19 warning index-without-concurrently ignored(tables are tiny lookup tables)',
      '2_m.sql:1:19 warning index-without-concurrently',
    ]);
  });

  it('an ignore without a reason silences nothing and is a finding itself', async () => {
    const report = await lintSql(['-- migration-guard:ignore drop-table\ndrop table t;']);
    expect(brief(report)).toEqual([
      '1_m.sql:1:1 warning ignore-without-reason',
      '1_m.sql:2:1 error drop-table',
    ]);
    expect(report.findings[0].message).toMatch(/gives no reason/);
    expect(report.counts.error).toBe(1);
  });

  it('an ignore that silences nothing is reported as unused-ignore and listed in unusedIgnores', async () => {
    const report = await lintSql([
      'select 1;\n-- migration-guard:ignore drop-table no longer needed\ncreate index concurrently i on t (a);\n-- migration-guard:ignore no-such-rule because\nselect 2;',
    ]);
    expect(brief(report)).toEqual(['1_m.sql:2:1 warning unused-ignore', '1_m.sql:4:1 warning unused-ignore']);
    expect(report.findings[0].message).toMatch(/no drop-table finding on the next statement/);
    expect(report.findings[1].message).toMatch(/no rule has the id "no-such-rule"/);
    expect(report.unusedIgnores).toEqual([
      { file: 'supabase/migrations/1_m.sql', line: 2, rule: 'drop-table' },
      { file: 'supabase/migrations/1_m.sql', line: 4, rule: 'no-such-rule' },
    ]);
  });

  it('an ignore of a rule turned off in the config is not reported as unused', async () => {
    const report = await lintSql(['-- migration-guard:ignore drop-table archived\ndrop table t;'], {
      config: { rules: { 'drop-table': 'off' }, exposedSchemas: ['public'] },
    });
    expect(brief(report)).toEqual([]);
  });

  it('an ignore-file without a reason is reported too', async () => {
    const report = await lintSql(['-- migration-guard:ignore-file truncate\ntruncate t;']);
    expect(brief(report)).toEqual([
      '1_m.sql:1:1 warning ignore-without-reason',
      '1_m.sql:2:10 warning truncate',
    ]);
    expect(report.findings[0].message).toMatch(/migration-guard:ignore-file truncate <why this is safe>/);
  });
});
