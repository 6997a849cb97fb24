import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LintReport } from '../../src/lint/types.js';
import { runActionProcess } from '../helpers/action-process.js';
import { migrationsDir } from '../helpers/migrations.js';
import { tempDirsFor } from '../helpers/temp.js';

/**
 * The linter's parse worker (src/lint/parse-ahead.ts, parse-worker.ts) exists only in the bundle
 * (dist/lint-worker/), so this runs `dist/cli.js lint` on one history twice: with the worker and
 * with MIGRATION_GUARD_LINT_WORKER=off. The reports must be identical, byte for byte, on a
 * history that takes every path: files parsed in several pieces, a syntax error, a psql
 * meta-command and COPY data (where the main thread parses other text than the worker), a file
 * too large for the worker, multibyte text before findings, a down section after the up one.
 */
const ROOT = process.cwd();
const tempDir = tempDirsFor();

function lint(
  dir: string,
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(ROOT, 'dist', 'cli.js'), 'lint', '--migrations-dir', dir, '--json'],
      {
        cwd: ROOT,
        env: { PATH: process.env.PATH, HOME: tempDir('mg-lint-home-'), ...env },
        timeout: 120_000,
        maxBuffer: 1 << 28,
      },
      (error, stdout, stderr) => {
        const err = error as (Error & { code?: unknown }) | null;
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr });
      },
    );
  });
}

/** A table per file, an index on it without CONCURRENTLY, a comment with multibyte text, padding to `bytes`. */
function tableFile(n: number, bytes: number): string {
  const head =
    `-- 🎉 note ${n}: ünïcödé before the statements\n` +
    `create table public.w${n} (id bigint primary key, title text);\n` +
    `alter table public.w${n} enable row level security;\n`;
  const rows: string[] = [];
  let size = head.length;
  for (let i = 0; size < bytes; i++) {
    const row = `insert into public.w${n} (id, title) values (${i}, 'row ${i} of file ${n}; with a semicolon');\n`;
    rows.push(row);
    size += row.length;
  }
  // After the padding: positions deep into the file (later pieces), on an existing table.
  return `${head}${rows.join('')}create index ix_${n} on public.existing (title);\ndrop table public.old_${n};\n`;
}

function history(): Record<string, string> {
  const files: Record<string, string> = {};
  for (let n = 1; n <= 60; n++) files[`${String(n).padStart(3, '0')}_t${n}.sql`] = tableFile(n, 20_000);
  // The same text twice: the worker's answers are matched by position, not only by text.
  files['061_same.sql'] = files['001_t1.sql'];
  files['062_psql.sql'] =
    'create index ix_a on public.existing (a);\n\\set ON_ERROR_STOP on\ncreate index ix_b on public.existing (b);\n';
  files['063_copy.sql'] =
    'copy public.existing (a) from stdin;\n1\n2\n\\.\ncreate index ix_c on public.existing (c);\n';
  files['064_syntax.sql'] =
    'create index ix_d on public.existing (d);\ncreate tabel broken (id int);\nselect 1;\n';
  files['065_down.sql'] =
    '-- migrate:up\ncreate index ix_e on public.existing (e);\n-- migrate:down\ndrop index ix_e;\ndrop table public.existing;\n';
  // Over 1 MB: left to the main thread (pieces, bounded memory).
  files['066_large.sql'] = tableFile(66, 1_200_000);
  files['067_after.sql'] = 'alter table public.existing alter column a set not null;\n';
  return files;
}

describe('the lint parse worker (from dist/)', () => {
  it('gives the same report as the main thread alone, and parses the files it can', async () => {
    const dir = migrationsDir(history());
    const [withWorker, alone] = await Promise.all([
      lint(dir, { MIGRATION_GUARD_DEBUG: '1' }),
      lint(dir, { MIGRATION_GUARD_DEBUG: '1', MIGRATION_GUARD_LINT_WORKER: 'off' }),
    ]);
    expect(withWorker.code).toBe(1);
    expect(alone.code).toBe(1);
    expect(withWorker.stdout).toBe(alone.stdout);

    // Every file but the large one went through the worker; without it, none did.
    const used = /Lint: (\d+) of (\d+) file\(s\) parsed on a worker thread/.exec(withWorker.stderr);
    expect(used?.slice(1).map(Number)).toEqual([66, 67]);
    expect(alone.stderr).not.toMatch(/worker thread/);

    // The report is the linter's, not an empty one: findings from every kind of file, at their positions.
    const report = JSON.parse(withWorker.stdout) as LintReport;
    const at = (file: string, rule: string) =>
      report.findings
        .filter((f) => f.file === join(dir, file) && f.rule === rule)
        .map((f) => `${f.line}:${f.column}`);
    // Where each `create index` line names its table: line:column (columns count characters).
    const indexes = (name: string) =>
      history()
        [name].split('\n')
        .map((l, i) => (l.startsWith('create index') ? `${i + 1}:${l.indexOf('public.existing') + 1}` : ''))
        .filter(Boolean);
    expect(indexes('001_t1.sql')[0]).toMatch(/^2\d\d:22$/); // deep into the file: a later piece
    for (const name of [
      '001_t1.sql',
      '061_same.sql',
      '062_psql.sql',
      '063_copy.sql',
      '065_down.sql',
      '066_large.sql',
    ])
      expect([name, at(name, 'index-without-concurrently')]).toEqual([name, indexes(name)]);
    // The syntax error: the index before it, the error at its line, nothing after it.
    expect(at('064_syntax.sql', 'index-without-concurrently')).toEqual(indexes('064_syntax.sql'));
    expect(report.findings.filter((f) => f.file === join(dir, '064_syntax.sql')).map((f) => f.line)).toEqual([
      1, 2,
    ]);
    expect(at('065_down.sql', 'drop-table')).toEqual([]);
    expect(at('067_after.sql', 'set-not-null-without-check')).toEqual(['1:1']);
  }, 180_000);
  it('the action bundle (dist/index.js) finds the worker too, and reports the same findings', async () => {
    const dir = migrationsDir(history());
    const reportFile = join(tempDir('mg-lint-report-'), 'lint.json');
    const [cli, action] = await Promise.all([
      lint(dir, { MIGRATION_GUARD_LINT_WORKER: 'off' }),
      runActionProcess({
        dir: tempDir('mg-lint-worker-action-'),
        cwd: ROOT,
        event: { name: 'pull_request', payload: {} },
        inputs: { command: 'lint', 'migrations-dir': dir, 'report-path': reportFile },
      }),
    ]);
    expect(action.code).toBe(1);
    // The action logs its debug lines as ::debug:: (shown when step debug logging is on).
    expect(action.stdout).toMatch(/::debug::Lint: 66 of 67 file\(s\) parsed on a worker thread/);
    const fromAction = JSON.parse(readFileSync(reportFile, 'utf8')) as LintReport;
    expect(fromAction.findings).toEqual((JSON.parse(cli.stdout) as LintReport).findings);
  }, 180_000);
});
