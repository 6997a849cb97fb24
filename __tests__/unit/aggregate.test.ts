import { describe, expect, it } from '@jest/globals';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { aggregateMain, parseTargets } from '../../src/commands/aggregate.js';
import { main } from '../../src/cli.js';
import type { RunResult } from '../../src/engine/result.js';
import { boardRows, boardSucceeded, renderBoard, type TargetReport } from '../../src/report/aggregate.js';
import { SUMMARY_LIMIT_BYTES } from '../../src/report/summary.js';
import { runResultWith } from '../helpers/report-cases.js';
import { tempDirsFor } from '../helpers/temp.js';

const FIXTURES = join(process.cwd(), '__tests__', 'fixtures', 'aggregate');
const RUN = 'https://github.com/acme/app/actions/runs/42';

/** The golden file `name`; MG_UPDATE_GOLDEN=1 rewrites it from `actual` first (review the diff). */
function golden(name: string, actual: string): string {
  const path = join(FIXTURES, name);
  if (process.env.MG_UPDATE_GOLDEN) {
    mkdirSync(FIXTURES, { recursive: true });
    writeFileSync(path, actual);
  }
  return readFileSync(path, 'utf8');
}

const tempDir = tempDirsFor();

function report(target: string, overrides: Partial<RunResult>): TargetReport {
  return {
    file: `reports/${target}.json`,
    target,
    result: runResultWith({ environment: target, runUrl: RUN, ...overrides }),
  };
}

const success = (target: string) =>
  report(target, {
    status: 'success',
    applied: ['20240101000000', '20240102000000'],
    currentVersion: '20240102000000',
    durationMs: 2345,
    backup: {
      path: '/tmp/b.dump',
      sha256: 'ab'.repeat(32),
      sizeBytes: 1_900_000,
      durationMs: 300,
      pgDumpVersion: '17.2',
      entries: 12,
    },
    message: 'Applied 2 migrations',
  });

const failed = (target: string, message = 'db/2_x.sql:3:1: relation "users" does not exist') =>
  report(target, {
    status: 'rolled-back',
    pendingCount: 2,
    currentVersion: '20231231000000',
    durationMs: 812,
    message,
  });

describe('aggregate status board', () => {
  const targets = parseTargets(
    JSON.stringify([
      { name: 'eu', environment: 'prod-eu', secret: 'EU_URL' },
      { name: 'us', environment: 'prod-us', secret: 'US_URL' },
      { name: 'ap', environment: 'prod-ap', secret: 'AP_URL' },
      { name: 'sa', environment: 'prod-sa', secret: 'SA_URL' },
      { name: 'af', environment: 'prod-af', secret: 'AF_URL' },
    ]),
  );

  it('mixed outcomes: one row per target, failures first, in the list order within a state', () => {
    const reports = [
      success('eu'),
      failed('us'),
      report('ap', { status: 'nothing-to-do', currentVersion: '20240102000000', message: 'Nothing to do' }),
      report('sa', { status: 'failed', message: 'Another run holds the lock: gh-run 41 (apply prod-sa)' }),
    ];
    const rows = boardRows(targets, reports);
    expect(rows.map((r) => [r.target, r.state])).toEqual([
      ['sa', 'failed'],
      ['us', 'rolled-back'],
      ['af', 'missing'],
      ['eu', 'success'],
      ['ap', 'nothing-to-do'],
    ]);
    expect(boardSucceeded(rows)).toBe(false);
    const markdown = renderBoard(rows, { runUrl: RUN });
    expect(markdown).toBe(golden('mixed.md', markdown));
  });

  it('a target whose job died (no report) is a row of its own, linked to the run, and fails the board', () => {
    const rows = boardRows(targets.slice(0, 2), [success('eu')]);
    expect(rows[0]).toMatchObject({ target: 'us', environment: 'prod-us', state: 'missing' });
    expect(boardSucceeded(rows)).toBe(false);
    expect(boardSucceeded(boardRows(targets.slice(0, 1), [success('eu')]))).toBe(true);
    const markdown = renderBoard(rows, { runUrl: RUN });
    expect(markdown).toMatch(
      /\| `us` \| prod-us \| 💀 no report \(job died or never ran\) \|.*\[run\]\(https:\/\/github\.com\/acme\/app\/actions\/runs\/42\)/,
    );
    expect(markdown).toBe(golden('missing.md', markdown));
  });

  it('a report no target claims is shown, marked, and fails the board', () => {
    const rows = boardRows(targets.slice(0, 1), [success('eu'), success('typo')]);
    expect(rows.map((r) => [r.target, r.unexpected ?? false])).toEqual([
      ['eu', false],
      ['typo', true],
    ]);
    expect(boardSucceeded(rows)).toBe(false);
    expect(renderBoard(rows)).toContain('*not in the target list*');
  });

  it('a hundred targets fold within the job summary limit, every target listed and the failures open', () => {
    const many = Array.from({ length: 100 }, (_, i) => ({ name: `tenant-${String(i).padStart(3, '0')}` }));
    const huge = `ERROR: ${'x'.repeat(20_000)}`;
    const reports = many
      .filter((_, i) => i % 10 !== 9) // every tenth job died
      .map((t, i) => (i % 7 === 3 ? failed(t.name, huge) : success(t.name)));
    const rows = boardRows(many, reports);
    const markdown = renderBoard(rows, { runUrl: RUN });
    expect(Buffer.byteLength(markdown)).toBeLessThan(SUMMARY_LIMIT_BYTES);
    for (const t of many) expect(markdown).toContain(`| \`${t.name}\` |`);
    const [open, folded] = markdown.split('<details>');
    // Every failure (rolled back, or no report) is in the open part; the successes are folded.
    for (const row of rows.filter((r) => r.state !== 'success')) expect(open).toContain(`\`${row.target}\``);
    for (const row of rows.filter((r) => r.state === 'success'))
      expect(folded).toContain(`\`${row.target}\``);
    expect(folded).toMatch(/^<summary>\d+ targets succeeded<\/summary>/);
    expect(markdown).not.toContain('x'.repeat(400)); // messages are clipped in their cells
    expect(markdown).toBe(golden('hundred.md', markdown));
  });

  it('twenty thousand targets are cut with a note, still under the limit', () => {
    const many = Array.from({ length: 20_000 }, (_, i) => ({ name: `t${i}` }));
    const rows = boardRows(
      many,
      many.map((t, i) => (i % 2 ? failed(t.name, 'y'.repeat(2000)) : success(t.name))),
    );
    const markdown = renderBoard(rows);
    expect(Buffer.byteLength(markdown)).toBeLessThan(SUMMARY_LIMIT_BYTES);
    expect(markdown).toContain('1000 of 10000 rows shown');
    expect(markdown).toMatch(/## Migration guard: 20000 targets — ❌ 10000 of 20000 targets need attention/);
  });
});

describe('aggregate command', () => {
  it('reads a folder of reports, appends the board to the job summary and exits 1 for a missing target', async () => {
    const dir = tempDir('mg-aggregate-');
    const reports = join(dir, 'reports');
    mkdirSync(reports);
    writeFileSync(join(reports, 'eu.json'), JSON.stringify(success('eu').result));
    writeFileSync(join(reports, 'notes.txt'), 'not a report');
    const summary = join(dir, 'summary.md');
    writeFileSync(summary, '# earlier step\n');
    const targets = JSON.stringify([{ name: 'eu' }, { name: 'us' }]);
    // No DATABASE_URL anywhere: aggregate needs none.
    const code = await main(['aggregate', '--targets', targets, reports], {
      GITHUB_STEP_SUMMARY: summary,
      GITHUB_ACTIONS: 'true',
      GITHUB_REPOSITORY: 'acme/app',
      GITHUB_RUN_ID: '42',
    });
    expect(code).toBe(1);
    const written = readFileSync(summary, 'utf8');
    expect(written.startsWith('# earlier step\n## Migration guard: 2 targets')).toBe(true);
    expect(written).toMatch(/\| `us` \| — \| 💀 no report/);
    expect(written).toMatch(/\| `eu` \| eu \| ✅ success \| 2 \|/);
  });

  it('exits 0 when every listed target succeeded; a broken report file is a failure row, not a crash', async () => {
    const dir = tempDir('mg-aggregate-');
    writeFileSync(join(dir, 'eu.json'), JSON.stringify(success('eu').result));
    writeFileSync(join(dir, 'us.json'), '{"truncated":');
    const out = join(dir, 'board.md');
    expect(await aggregateMain(['--summary-path', out, join(dir, 'eu.json')], {})).toBe(0);
    expect(await aggregateMain(['--summary-path', out, dir], {})).toBe(1);
    expect(readFileSync(out, 'utf8')).toMatch(
      /\| `us` \| — \| ⚠️ unreadable report \|.*us\.json is not valid JSON/,
    );
  });

  it('refuses a bad target list with exit code 2, naming the entry', async () => {
    expect(() => parseTargets('{"name":"eu"}')).toThrow('--targets must be a JSON array');
    expect(() => parseTargets('[{"name":"eu west"}]')).toThrow('--targets[0].name must be');
    expect(() => parseTargets('[{"name":"eu"},{"name":"eu"}]')).toThrow(
      '--targets[1].name "eu" is listed twice',
    );
    expect(await aggregateMain(['--targets', '[{"name":""}]'], {})).toBe(2);
    expect(await aggregateMain([], {})).toBe(2);
  });
});
