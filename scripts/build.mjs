// Bundles the action (dist/index.js), the CLI (dist/cli.js → dist/cli/index.js) and the linter's
// parse worker (dist/lint-worker/index.js) with ncc,
// and copies the parser's WASM into dist/ (libpg-query looks for it next to the code).
// `node scripts/build.mjs OUT` builds into OUT instead: the dist check compares that with dist/.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const wasm = join(dirname(require.resolve('libpg-query')), 'libpg-query.wasm');
const ncc = join('node_modules', '.bin', 'ncc');

const outDir = process.argv[2] ?? 'dist';
rmSync(outDir, { recursive: true, force: true });
const bundles = [
  ['src/index.ts', outDir],
  ['src/cli-entry.ts', join(outDir, 'cli')],
  // The linter's parse worker (src/lint/parse-ahead.ts starts it from either bundle).
  ['src/lint/parse-worker.ts', join(outDir, 'lint-worker')],
];
for (const [entry, out] of bundles) {
  execFileSync(ncc, ['build', entry, '-o', out, '--license', 'licenses.txt', '--quiet'], {
    stdio: 'inherit',
  });
}
// One copy serves both bundles: the parser loader also looks one folder up.
copyFileSync(wasm, join(outDir, 'libpg-query.wasm'));
mkdirSync(outDir, { recursive: true });
writeFileSync(
  join(outDir, 'cli.js'),
  "#!/usr/bin/env node\n// The CLI bundle lives in dist/cli/; this file keeps `node dist/cli.js` short.\nimport './cli/index.js';\n",
);
writeFileSync(join(outDir, 'package.json'), '{ "type": "module" }\n');
