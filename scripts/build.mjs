// Bundles the action (dist/index.js) and the CLI (dist/cli.js → dist/cli/index.js) with ncc,
// and copies the parser's WASM into dist/ (libpg-query looks for it next to the code).
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const wasm = join(dirname(require.resolve('libpg-query')), 'libpg-query.wasm');
const ncc = join('node_modules', '.bin', 'ncc');

rmSync('dist', { recursive: true, force: true });
const bundles = [
  ['src/index.ts', 'dist'],
  ['src/cli-entry.ts', 'dist/cli'],
];
for (const [entry, out] of bundles) {
  execFileSync(ncc, ['build', entry, '-o', out, '--license', 'licenses.txt', '--quiet'], { stdio: 'inherit' });
}
// One copy serves both bundles: the parser loader also looks one folder up.
copyFileSync(wasm, join('dist', 'libpg-query.wasm'));
mkdirSync('dist', { recursive: true });
writeFileSync('dist/cli.js', "#!/usr/bin/env node\n// The CLI bundle lives in dist/cli/; this file keeps `node dist/cli.js` short.\nimport './cli/index.js';\n");
writeFileSync('dist/package.json', '{ "type": "module" }\n');
