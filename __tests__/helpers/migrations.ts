import { afterAll } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Migration } from '../../src/migrations/discover.js';
import { SourceText } from '../../src/migrations/source-text.js';

/**
 * Folders to remove once the test file's tests are done. Jest evaluates this module anew for each
 * test file, when the file imports it: the hook belongs to that file.
 */
const made: string[] = [];
afterAll(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A new temporary folder, removed after the test file's tests. */
export function tempFolder(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** Writes files into a new temporary migrations folder and returns its path. */
export function migrationsDir(files: Record<string, string | Buffer>): string {
  const dir = tempFolder('mg-migrations-');
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return dir;
}

export function addFiles(dir: string, files: Record<string, string | Buffer>): void {
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
}

/** `count` files that each create and fill one table: t1, t2, … */
export function tableMigrations(count: number): Record<string, string> {
  return Object.fromEntries(
    Array.from({ length: count }, (_, i) => [
      `${i + 1}_t${i + 1}.sql`,
      `create table t${i + 1} (id int primary key);\ninsert into t${i + 1} values (${i + 1});\n`,
    ]),
  );
}

/** A migration as discovery would return it, without a file on disk (up part only). */
export function migrationOf(version: string, sql: string, name = 'm'): Migration {
  const fileName = `${version}_${name}.sql`;
  const path = `supabase/migrations/${fileName}`;
  const source = new SourceText(sql);
  return {
    version,
    name,
    fileName,
    path,
    checksum: 'x'.repeat(64),
    up: { path, source, start: 0, end: source.bytes.length },
  };
}
