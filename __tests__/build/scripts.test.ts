import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/** The benchmark and build scripts are plain JavaScript that nothing else compiles or lints. */
const scripts = ['bench', 'bench/lib', 'scripts'].flatMap((dir) =>
  readdirSync(dir)
    .filter((name) => name.endsWith('.mjs'))
    .map((name) => join(dir, name)),
);

describe('the scripts in bench/ and scripts/', () => {
  it('are found', () => {
    expect(scripts).toEqual(expect.arrayContaining(['bench/apply-bench.mjs', 'bench/lock-impact.mjs']));
  });

  it.each(scripts)('%s parses', (script) => {
    const check = spawnSync(process.execPath, ['--check', script], { encoding: 'utf8' });
    expect(check.stderr).toBe('');
    expect(check.status).toBe(0);
  });
});
