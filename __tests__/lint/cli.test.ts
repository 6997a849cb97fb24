import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../../src/cli.js';
import type { LintReport } from '../../src/lint/types.js';
import { migrationsDir } from '../helpers/migrations.js';
import { tempDirsFor } from '../helpers/temp.js';

const tempDir = tempDirsFor();

/** Runs the CLI's main() as `node dist/cli.js` would, capturing what it writes. */
async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const stdout = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    out.push(String(chunk));
    return true;
  });
  const stderr = jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    err.push(String(chunk));
    return true;
  });
  try {
    // No DATABASE_URL in the environment: lint must not need one.
    const code = await main(args, {});
    return { code, stdout: out.join(''), stderr: err.join('') };
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
  }
}

describe('the lint command (CLI)', () => {
  let savedUrl: string | undefined;
  beforeEach(() => {
    savedUrl = process.env.DATABASE_URL;
    delete process.env.DATABASE_URL;
  });
  afterEach(() => {
    if (savedUrl !== undefined) process.env.DATABASE_URL = savedUrl;
  });

  it('exits 0 with no finding at the fail level, printing file:line:column severity rule message lines', async () => {
    const dir = migrationsDir({
      '1_a.sql': 'create table t (id bigint primary key, name varchar(20));',
      '2_b.sql': 'create index i on t (name);',
    });
    const { code, stdout, stderr } = await cli(['lint', '--migrations-dir', dir]);
    // Outside the working directory, discovery shows absolute paths.
    const file = (name: string) => join(dir, name);
    expect(stdout.split('\n').filter(Boolean)).toEqual([
      `${file('1_a.sql')}:1:45 info varchar-length ${'public.t.name'}: varchar(20) is no faster than text, and lowering the limit later rewrites the table: use text, with a CHECK (char_length(…) <= 20) if the limit matters`,
      // A table created in another file counts as existing: lint cannot tell which files are applied.
      expect.stringMatching(
        new RegExp(`^${file('2_b.sql')}:1:19 warning index-without-concurrently CREATE INDEX on public\\.t`),
      ),
    ]);
    expect(stderr).toContain('lint: 0 errors, 1 warning, 1 info in 2 files (fail level error)');
    expect(code).toBe(0);
  });

  it('exits 1 when findings reach the fail level (error by default, or warning)', async () => {
    const dir = migrationsDir({ '1_a.sql': 'create index i on t (a);' });
    expect((await cli(['lint', '--migrations-dir', dir])).code).toBe(0);
    expect((await cli(['lint', '--migrations-dir', dir, '--lint', 'warning'])).code).toBe(1);
    const drop = migrationsDir({ '1_a.sql': 'drop table t;' });
    expect((await cli(['lint', '--migrations-dir', drop])).code).toBe(1);
    expect((await cli(['lint', '--migrations-dir', drop, '--lint', 'off'])).code).toBe(0);
  });

  it('an ignored finding does not fail; the JSON report shows it with its reason', async () => {
    const dir = migrationsDir({
      '1_a.sql': '-- migration-guard:ignore drop-table archived in s3 first\ndrop table t;',
    });
    const reportPath = join(tempDir('mg-lint-report-'), 'lint.json');
    const { code, stdout } = await cli(['lint', '--migrations-dir', dir, '--report-path', reportPath]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/:2:1 error drop-table .* \[ignored: archived in s3 first\]\n$/);
    const report = JSON.parse(readFileSync(reportPath, 'utf8')) as LintReport;
    expect(report.counts).toEqual({ error: 0, warning: 0, info: 0 });
    expect(report.findings[0]).toMatchObject({
      rule: 'drop-table',
      ignored: { reason: 'archived in s3 first', line: 1 },
    });
    const json = await cli(['lint', '--migrations-dir', dir, '--json']);
    expect(JSON.parse(json.stdout)).toEqual(report);
  });

  it('a file the splitter refuses is a finding (exit 1), not a crash', async () => {
    const dir = migrationsDir({ '1_a.sql': 'select 1;\n\\connect other\nselect 2;' });
    const { code, stdout } = await cli(['lint', '--migrations-dir', dir]);
    expect(stdout).toMatch(
      /1_a\.sql:2:1 error psql-meta-command \\connect connects psql to another database/,
    );
    expect(code).toBe(1);
  });

  it('a folder discovery refuses (two up markers) is a finding at the file and line', async () => {
    const dir = migrationsDir({ '1_a.sql': '-- migrate:up\nselect 1;\n-- migrate:up\nselect 2;' });
    const { code, stdout } = await cli(['lint', '--migrations-dir', dir]);
    expect(stdout).toMatch(/1_a\.sql:3:1 error invalid-migration-file expected exactly one "-- migrate:up"/);
    expect(code).toBe(1);
  });

  it('applies the config file given with --lint-config', async () => {
    const dir = migrationsDir({ '1_a.sql': 'create index i on t (a);' });
    const config = join(tempDir('mg-lint-cfg-'), 'guard.yml');
    writeFileSync(config, 'rules:\n  index-without-concurrently: error\n');
    const { code, stdout } = await cli(['lint', '--migrations-dir', dir, '--lint-config', config]);
    expect(stdout).toMatch(/:1:19 error index-without-concurrently/);
    expect(code).toBe(1);
  });

  it.each([
    [
      ['lint', '--migrations-dir', '/nonexistent/dir'],
      /Migrations directory "\/nonexistent\/dir" does not exist/,
    ],
    [['lint', '--lint', 'fatal'], /lint: "fatal" is not accepted: use one of error, warning, off/],
    [['lint', '--no-such-flag', 'x'], /Unknown flag --no-such-flag/],
    [
      ['lint', '--lint-config', '/nonexistent/guard.yml'],
      /Lint config \/nonexistent\/guard\.yml: cannot be read/,
    ],
  ])('exits 2 for bad usage: %j', async (args, message) => {
    const { code, stderr } = await cli(args);
    expect(stderr).toMatch(message);
    expect(code).toBe(2);
  });

  it('an invalid config file is bad usage (exit 2) naming the file and key', async () => {
    const dir = migrationsDir({ '1_a.sql': 'select 1;' });
    const config = join(tempDir('mg-lint-cfg-'), 'guard.yml');
    writeFileSync(config, 'rules:\n  drop-table: loud\n');
    const { code, stderr } = await cli(['lint', '--migrations-dir', dir, '--lint-config', config]);
    expect(stderr).toContain(`Lint config ${config}: rules.drop-table: "loud" is not a severity`);
    expect(code).toBe(2);
  });
});
