import { describe, expect, it } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadLintConfig, parseLintConfig, RULE_IDS } from '../../src/lint/index.js';
import { brief, lintSql } from '../helpers/lint.js';
import { tempDirsFor } from '../helpers/temp.js';

const tempDir = tempDirsFor();

describe('lint config (.migration-guard.yml)', () => {
  it('reads severity overrides and exposed schemas', async () => {
    const config = await parseLintConfig(
      'rules:\n  index-without-concurrently: error\n  varchar-length: off\nexposed-schemas: [public, api]\n',
      '.migration-guard.yml',
      RULE_IDS,
    );
    expect(config).toEqual({
      rules: { 'index-without-concurrently': 'error', 'varchar-length': 'off' },
      exposedSchemas: ['public', 'api'],
    });
  });

  it('an override changes the severity, off removes the rule; other rules keep theirs', async () => {
    const sql = ['create index i on t (a);\ncreate table n (a varchar(3));\ndrop table t;'];
    expect(brief(await lintSql(sql))).toEqual([
      '1_m.sql:1:19 warning index-without-concurrently',
      '1_m.sql:2:19 info varchar-length',
      '1_m.sql:3:1 error drop-table',
    ]);
    const config = await parseLintConfig(
      'rules:\n  index-without-concurrently: error\n  varchar-length: off\n  drop-table: warning\n',
      'cfg.yml',
      RULE_IDS,
    );
    const report = await lintSql(sql, { config });
    expect(brief(report)).toEqual([
      '1_m.sql:1:19 error index-without-concurrently',
      '1_m.sql:3:1 warning drop-table',
    ]);
    expect(report.counts).toEqual({ error: 1, warning: 1, info: 0 });
  });

  it('an override wins over the severity from live table sizes', async () => {
    const config = await parseLintConfig('rules:\n  index-without-concurrently: info\n', 'cfg.yml', RULE_IDS);
    const report = await lintSql(['create index i on t (a);'], {
      config,
      tableStats: () => ({ rows: 5_000_000, bytes: 2 * 1024 ** 3 }),
    });
    expect(brief(report)).toEqual(['1_m.sql:1:19 info index-without-concurrently']);
  });

  it.each([
    [
      'rules:\n  drop-table: fatal\n',
      'Lint config .migration-guard.yml: rules.drop-table: "fatal" is not a severity: use one of error, warning, info, off',
    ],
    [
      'rules:\n  drop-tables: off\n',
      'Lint config .migration-guard.yml: rules.drop-tables: no rule has this id',
    ],
    [
      'exposed-schemas: public\n',
      'Lint config .migration-guard.yml: exposed-schemas: must be a list of schema names, e.g. [public, api]',
    ],
    ['rule:\n  drop-table: off\n', 'Lint config .migration-guard.yml: (top level): unknown key "rule"'],
    ['rules: [drop-table\n', 'Lint config .migration-guard.yml: is not valid YAML'],
  ])('refuses %j naming the file, the key and what is wrong', async (text, message) => {
    const error = await parseLintConfig(text, '.migration-guard.yml', RULE_IDS).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'invalid-input', location: { file: '.migration-guard.yml' } });
    expect((error as Error).message).toContain(message);
    expect((error as { hint?: string }).hint).toBeTruthy();
  });

  it('an empty file is the default config', async () => {
    expect(await parseLintConfig('# nothing yet\n', 'cfg.yml', RULE_IDS)).toEqual({
      rules: {},
      exposedSchemas: ['public'],
    });
  });

  it('a missing default file is the default config; a missing file given explicitly is an error', async () => {
    const dir = tempDir('mg-lint-config-');
    const path = join(dir, '.migration-guard.yml');
    expect(await loadLintConfig(path, { explicit: false, knownRules: RULE_IDS })).toEqual({
      rules: {},
      exposedSchemas: ['public'],
    });
    await expect(loadLintConfig(path, { explicit: true, knownRules: RULE_IDS })).rejects.toThrow(
      `Lint config ${path}: cannot be read`,
    );
    writeFileSync(path, 'rules:\n  truncate: error\n');
    expect(await loadLintConfig(path, { explicit: false, knownRules: RULE_IDS })).toEqual({
      rules: { truncate: 'error' },
      exposedSchemas: ['public'],
    });
  });
});
