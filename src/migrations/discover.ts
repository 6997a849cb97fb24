import { readdir, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { GuardError } from '../errors.js';
import { checksumOfBytes } from './checksum.js';
import { sortEntries } from './folder-entries.js';
import { readSqlFile } from './read-sql.js';
import { findSections } from './sections.js';
import { SourceText } from './source-text.js';

/** A byte range of a file that holds SQL to run. */
export interface SqlPart {
  path: string;
  source: SourceText;
  start: number;
  end: number;
}

export interface Migration {
  version: string;
  name: string;
  fileName: string;
  /** Path as shown to the user (relative to the working directory). */
  path: string;
  checksum: string;
  up: SqlPart;
  down?: SqlPart & { kind: 'file' | 'section' };
  verify?: SqlPart;
}

export interface SkippedFile {
  fileName: string;
  reason: string;
}

export interface MigrationSet {
  dir: string;
  migrations: Migration[];
  skipped: SkippedFile[];
}

/** Same pattern as the Supabase CLI: leading digits, underscore, name, `.sql`. */
const MIGRATION_FILE = /^(\d+)_(.*)\.sql$/;
const COMPANION = /^(\d+)_(.*)\.(down|verify)\.sql$/;
const YIELD_EVERY_FILES = 25;

export interface DiscoverOptions {
  /**
   * Checksums are computed as the files are read (while the connection opens), unless this is
   * set (the linter, which never needs them): then when first asked for.
   */
  lazyChecksums?: boolean;
}

/** Reads a migrations folder: ordered migrations with their down/verify companions, and what was skipped. */
export async function discoverMigrations(
  dir: string,
  cwd = process.cwd(),
  { lazyChecksums = false }: DiscoverOptions = {},
): Promise<MigrationSet> {
  let entries;
  try {
    if (!(await stat(dir)).isDirectory()) throw new Error('not a directory');
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    throw new GuardError(
      'migrations-dir',
      `Migrations directory "${dir}" does not exist or is not a directory`,
      {
        hint: 'Set migrations-dir to the folder holding <version>_<name>.sql files (default supabase/migrations), relative to the repository root.',
      },
    );
  }
  // Relative to the working directory when inside it, else absolute: settled once for the folder
  // (names from readdir hold no separator).
  const absoluteDir = resolve(cwd, dir);
  const relativeDir = relative(cwd, absoluteDir);
  const shownDir = relativeDir.startsWith('..') || isAbsolute(relativeDir) ? absoluteDir : relativeDir;
  const prefix = shownDir === '' || shownDir.endsWith(sep) ? shownDir : `${shownDir}${sep}`;
  const display = (name: string) => prefix + name;
  const sorted = await sortEntries(dir, entries, (name) => MIGRATION_FILE.test(name) || COMPANION.test(name));
  if (sorted.broken.length > 0) {
    const list = sorted.broken.map((b) => `  ${display(b.fileName)}: ${b.reason}`).join('\n');
    throw new GuardError(
      'migrations-dir',
      `Entries named like migrations are not files that can be read:\n${list}\nNothing was run: skipping them would apply the migrations around them as if they did not exist.`,
      {
        hint: 'Replace each with the SQL file it should be (a symbolic link must point to an existing file), or rename it so it no longer looks like <version>_<name>.sql.',
      },
    );
  }
  const files = sorted.files;

  const skipped: SkippedFile[] = [...sorted.skipped];
  const companions = new Map<string, { down?: string; verify?: string }>();
  const ups: Array<{ version: string; name: string; fileName: string }> = [];
  for (const fileName of files) {
    const companion = COMPANION.exec(fileName);
    if (companion) {
      const key = `${companion[1]}_${companion[2]}`;
      const entry = companions.get(key) ?? {};
      entry[companion[3] as 'down' | 'verify'] = fileName;
      companions.set(key, entry);
      continue;
    }
    const match = MIGRATION_FILE.exec(fileName);
    if (match) ups.push({ version: match[1], name: match[2], fileName });
    else skipped.push({ fileName, reason: 'name does not match <version>_<name>.sql' });
  }

  const byVersion = new Map<string, string[]>();
  for (const up of ups) byVersion.set(up.version, [...(byVersion.get(up.version) ?? []), up.fileName]);
  const duplicates = [...byVersion.entries()].filter(([, names]) => names.length > 1);
  if (duplicates.length > 0) {
    const list = duplicates
      .map(([v, names]) => `  version ${v}: ${names.map(display).join(', ')}`)
      .join('\n');
    throw new GuardError('duplicate-version', `Duplicate migration versions:\n${list}`, {
      hint: 'Each version may appear in one file only: rename one of them with a new timestamp.',
    });
  }

  const migrations: Migration[] = [];
  for (const [index, { version, name, fileName }] of ups.entries()) {
    // Reading is synchronous (faster than one promise per file); pausing now and then lets a
    // connection that opens meanwhile (session.ts) take its next step.
    if (index > 0 && index % YIELD_EVERY_FILES === 0) await new Promise((r) => setImmediate(r));
    const key = `${version}_${name}`;
    const extra = companions.get(key);
    companions.delete(key);
    const migration = loadMigration(dir, version, name, fileName, extra ?? {}, display);
    if (!lazyChecksums) void migration.checksum;
    migrations.push(migration);
  }
  for (const [, orphan] of companions) {
    for (const fileName of [orphan.down, orphan.verify].filter((f): f is string => !!f)) {
      skipped.push({ fileName, reason: 'companion file without a matching <version>_<name>.sql' });
    }
  }
  migrations.sort((a, b) => compareVersions(a.version, b.version));
  return { dir, migrations, skipped };
}

function loadMigration(
  dir: string,
  version: string,
  name: string,
  fileName: string,
  extra: { down?: string; verify?: string },
  display: (name: string) => string,
): Migration {
  const path = display(fileName);
  const file = readSqlFile(join(dir, fileName), path);
  const { bytes } = file;
  // dbmate's markers (sections.ts) are found in the text; most files have none, and their text is
  // never decoded here (the linter and the executor decode what they need, statement by statement).
  const text = bytes.includes('migrate:') ? file.text : undefined;
  const source = new SourceText(text, bytes);
  const sections = text === undefined ? undefined : findSections(text);
  if (sections && 'error' in sections) {
    throw new GuardError('parse-error', sections.error, { location: { file: path, line: sections.line } });
  }
  let checksum: string | undefined;
  const byteOf = (charOffset: number) => Buffer.byteLength(text!.slice(0, charOffset), 'utf8');
  const migration: Migration = {
    version,
    name,
    fileName,
    path,
    // Computed when first asked for (at once, unless the caller never needs it).
    get checksum() {
      return (checksum ??= checksumOfBytes(bytes));
    },
    up: sections
      ? { path, source, start: byteOf(sections.up.start), end: byteOf(sections.up.end) }
      : { path, source, start: 0, end: source.byteLength },
  };
  if (sections?.down) {
    migration.down = {
      kind: 'section',
      path,
      source,
      start: byteOf(sections.down.start),
      end: byteOf(sections.down.end),
    };
  }
  if (extra.down) {
    if (migration.down) {
      throw new GuardError(
        'parse-error',
        `${display(extra.down)} and a "-- migrate:down" section both define the down migration`,
        {
          location: { file: path },
          hint: 'Keep one of the two.',
        },
      );
    }
    migration.down = { kind: 'file', ...wholeFile(join(dir, extra.down), display(extra.down)) };
  }
  if (extra.verify) migration.verify = wholeFile(join(dir, extra.verify), display(extra.verify));
  return migration;
}

function wholeFile(absolute: string, path: string): SqlPart {
  const source = new SourceText(undefined, readSqlFile(absolute, path).bytes);
  return { path, source, start: 0, end: source.byteLength };
}

/**
 * A total order on versions that never throws: numeric order first (so 9_x precedes 10_x), then
 * textual for equal numbers with different padding. A version that is not all digits (a history
 * row written by hand or by another tool; file versions always are) sorts after every numeric one,
 * in text order, the empty version first among them.
 */
export function compareVersions(a: string, b: string): number {
  const aNumeric = isNumericVersion(a);
  const bNumeric = isNumericVersion(b);
  if (aNumeric !== bNumeric) return aNumeric ? -1 : 1;
  if (aNumeric) {
    const na = BigInt(a);
    const nb = BigInt(b);
    if (na !== nb) return na < nb ? -1 : 1;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Whether a version is one a migration file can have: digits only, at least one. */
export function isNumericVersion(version: string): boolean {
  return /^\d+$/.test(version);
}
