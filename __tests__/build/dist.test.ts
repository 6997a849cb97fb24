import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? listFiles(path) : [path];
  });
}

describe('the committed dist/', () => {
  it('is exactly what the build produces from the committed sources', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'mg-dist-')), 'dist');
    execFileSync(process.execPath, ['scripts/build.mjs', out], { stdio: 'pipe' });
    const built = listFiles(out)
      .map((f) => relative(out, f))
      .sort();
    const committed = listFiles('dist')
      .map((f) => relative('dist', f))
      .sort();
    expect(committed).toEqual(built);
    const differing = built.filter((f) => !readFileSync(join(out, f)).equals(readFileSync(join('dist', f))));
    expect(differing).toEqual([]); // run `npm run build` and commit dist/
  });

  it('leaves the HTTP client out of the bundles (its undici costs start-up time on every run)', () => {
    // tsconfig.json maps @actions/http-client to src/bundle-shims/ (which the tree shaking then drops);
    // undici itself (proxies only: src/proxy.ts) is a chunk of its own, loaded on demand. Its error
    // codes (UND_ERR_…) are in its code: they must be in a chunk, never in what every run evaluates.
    for (const bundle of ['dist/action/index.js', 'dist/cli/index.js'])
      expect(readFileSync(bundle, 'utf8')).not.toMatch(/UND_ERR_/);
    const chunks = readdirSync('dist/action').filter((f) => /^\d+\.index\.js$/.test(f));
    expect(chunks.filter((f) => readFileSync(join('dist/action', f), 'utf8').includes('UND_ERR_'))).toHaveLength(1);
  });
});
