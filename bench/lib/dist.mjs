/**
 * A private copy of the built action, so that a rebuild of dist/ while a benchmark runs (the build
 * empties the folder first) neither breaks the run nor mixes two builds in one result.
 */
import { createHash } from 'node:crypto';
import { cpSync, existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** sha256 over every file of a dist folder (names and contents), shortened. */
export function distHash(dir) {
  const hash = createHash('sha256');
  for (const name of readdirSync(dir, { recursive: true }).map(String).sort()) {
    const path = join(dir, name);
    let content;
    try {
      content = readFileSync(path);
    } catch {
      continue; // a folder
    }
    hash.update(name).update('\0').update(content).update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

/** Copies `source` to `target`, retrying while a build is rewriting it (bounded: ~60 s). */
export async function snapshotDist(source, target) {
  for (let attempt = 1; attempt <= 30; attempt++) {
    const ready = ['index.js', 'package.json', 'libpg-query.wasm'].every((f) => existsSync(join(source, f)));
    if (ready) {
      const before = distHash(source);
      cpSync(source, target, { recursive: true, force: true });
      if (distHash(target) === before && distHash(source) === before) return { dir: target, hash: before };
    }
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
  throw new Error(`${source} stayed incomplete or kept changing for a minute: is a build running? Run "npm run build" first.`);
}
