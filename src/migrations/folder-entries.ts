import type { Dirent } from 'node:fs';
import { readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';

export interface SortedEntries {
  /** Names to read as files: regular files and symbolic links to regular files, in name order. */
  files: string[];
  /** Entries that are not files, with the reason: listed for the user, never silently dropped. */
  skipped: Array<{ fileName: string; reason: string }>;
  /** Entries named like migrations that are not files: the caller refuses to run around them. */
  broken: Array<{ fileName: string; reason: string }>;
}

/**
 * Sorts a folder's entries into what can be read and what cannot, following symbolic links (a
 * linked migration is a migration). An entry that is not a file is reported with what it is.
 */
export async function sortEntries(
  dir: string,
  entries: Dirent[],
  looksLikeMigration: (name: string) => boolean,
): Promise<SortedEntries> {
  const sorted: SortedEntries = { files: [], skipped: [], broken: [] };
  for (const entry of [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const reason = entry.isFile() ? undefined : await notAFile(dir, entry);
    if (reason === undefined) sorted.files.push(entry.name);
    else
      (looksLikeMigration(entry.name) ? sorted.broken : sorted.skipped).push({
        fileName: entry.name,
        reason,
      });
  }
  return sorted;
}

/** What an entry is when it is not a regular file (undefined for a link to one). */
async function notAFile(dir: string, entry: Dirent): Promise<string | undefined> {
  if (entry.isDirectory()) return 'a directory (sub-folders are not read)';
  if (!entry.isSymbolicLink()) return `not a regular file (${kindOf(entry)})`;
  const path = join(dir, entry.name);
  const target = await readlink(path).catch(() => '?');
  try {
    const info = await stat(path);
    if (info.isFile()) return undefined;
    if (info.isDirectory()) return `a symbolic link to a directory (${target}); sub-folders are not read`;
    return `a symbolic link to something that is not a regular file (${target})`;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return `a symbolic link to ${target}, which does not exist`;
    if (code === 'ELOOP') return `a symbolic link that loops (${target})`;
    return `a symbolic link to ${target}, which cannot be read (${code ?? String(error)})`;
  }
}

function kindOf(entry: Dirent): string {
  if (entry.isFIFO()) return 'a named pipe';
  if (entry.isSocket()) return 'a socket';
  if (entry.isCharacterDevice() || entry.isBlockDevice()) return 'a device';
  return 'unknown type';
}
