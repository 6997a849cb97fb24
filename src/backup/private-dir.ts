import { chmod, mkdir, open, realpath, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { GuardError } from '../errors.js';
import type { Logger } from '../logger.js';

/** Owner only: a backup holds every row of the database. */
const PRIVATE_DIR = 0o700;
const PRIVATE_FILE = 0o600;

/**
 * Makes `dir` a folder only this user can enter, and returns its real path (symbolic links
 * resolved once, so the folder checked is the folder written to). Missing levels are created 0700
 * whatever the umask. An existing folder must belong to this user: one created by someone else is
 * refused, since its owner could read or replace what is written there. One of ours that others
 * can enter is made 0700, with a warning. Windows has no POSIX owners or modes: nothing is checked
 * there.
 */
export async function preparePrivateDir(dir: string, logger: Logger): Promise<string> {
  await createMissing(dir);
  const real = await realpath(dir);
  const info = await stat(real);
  if (!info.isDirectory()) {
    throw new GuardError(
      'backup-failed',
      `Backup folder ${dir} is a file, not a folder. Nothing was changed.`,
      {
        hint: 'Point backup-dir at a folder (it is created when missing).',
      },
    );
  }
  const uid = process.getuid?.();
  if (uid === undefined) return real;
  if (info.uid !== uid) {
    throw new GuardError(
      'backup-failed',
      `Backup folder ${dir} belongs to another user (uid ${info.uid}; this run is uid ${uid}), who could read or replace a backup written there. Nothing was changed.`,
      {
        hint: `Point backup-dir at a folder this user owns, or remove ${dir} so that it is created again, private to this user.`,
      },
    );
  }
  if ((info.mode & 0o077) !== 0) {
    await chmod(real, PRIVATE_DIR);
    const after = (await stat(real)).mode & 0o777;
    if ((after & 0o077) !== 0) {
      throw new GuardError(
        'backup-failed',
        `Backup folder ${dir} cannot be made private: it stays ${octal(after)} after chmod 0700 (a file system without Unix permissions?). Nothing was changed.`,
        { hint: 'Point backup-dir at a folder on a local Unix file system.' },
      );
    }
    logger.warn(
      `Backup folder ${dir} was open to other users (mode ${octal(info.mode & 0o777)}): made it private (0700), since a backup holds every row of the database.`,
    );
  }
  return real;
}

/**
 * Creates an empty file readable by this user only, before any program writes to it: the data
 * never exists with a looser mode, even for an instant. `wx` refuses an existing name (a planted
 * symbolic link included); the explicit chmod makes the mode exact under any umask.
 */
export async function createPrivateFile(path: string): Promise<void> {
  const handle = await open(path, 'wx', PRIVATE_FILE);
  try {
    await handle.chmod(PRIVATE_FILE);
  } finally {
    await handle.close();
  }
}

/** mkdir -p, each created level 0700 regardless of the umask (which could leave one unusable). */
async function createMissing(dir: string): Promise<void> {
  const missing: string[] = [];
  for (let level = dir; ; level = dirname(level)) {
    if (await exists(level)) break;
    missing.unshift(level);
    if (dirname(level) === level) break;
  }
  for (const level of missing) {
    try {
      await mkdir(level, { mode: PRIVATE_DIR });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      continue; // created meanwhile by someone else: the owner check decides
    }
    await chmod(level, PRIVATE_DIR);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

function octal(mode: number): string {
  return `0${mode.toString(8).padStart(3, '0')}`;
}
