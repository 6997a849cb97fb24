import { createReadStream } from 'node:fs';
import { GuardError, type GuardErrorCode } from '../errors.js';
import { decryptionFailure, decryptWith, isAgeFile } from './age-crypto.js';
import { webStream } from './encrypted-dump.js';
import { startProcess, writeChunk, type ProcessResult } from './process.js';

export interface StreamedRestore {
  /** Set when the file failed to decrypt part-way: psql was stopped, its transaction rolled back. */
  decryption?: GuardError;
  /** pg_restore turning the decrypted archive into SQL. */
  render: ProcessResult;
  /**
   * psql running that SQL; `stopped` when it was stopped because something before it failed;
   * `committed` only when it reported the COMMIT sent last as done.
   */
  apply: ProcessResult & { stopped: boolean; committed: boolean };
}

/**
 * Restores an age-encrypted archive with nothing decrypted on disk: the file is decrypted in
 * memory into pg_restore's standard input, whose SQL goes straight into psql's. The transaction is
 * ours, not psql's --single-transaction (which commits at the end of its input, however that end
 * came): `preamble` begins it, and COMMIT is written to psql only once the whole file has
 * decrypted and authenticated and pg_restore has exited cleanly. Any failure before that stops
 * psql; and should this process die mid-way, psql reads the end of its input with the transaction
 * still open, and PostgreSQL rolls it back when psql disconnects.
 */
export async function streamEncryptedRestore(options: {
  path: string;
  identities: string[];
  pgRestore: string;
  /** pg_restore's list file (-L): the entries to restore. */
  list: string;
  psql: string;
  /** psql's options (no --single-transaction); `-f preamble -f -` are added. */
  psqlArgs: string[];
  /** Must start the transaction (BEGIN). */
  preamble: string;
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  code: GuardErrorCode;
}): Promise<StreamedRestore> {
  const what = { path: options.path, code: options.code };
  // The header is opened before any program starts: a wrong identity changes nothing.
  const clear = await decryptWith(
    options.identities,
    webStream(createReadStream(options.path, { highWaterMark: 1024 * 1024 })),
    what,
  );
  const apply = startProcess(options.psql, [...options.psqlArgs, '-f', options.preamble, '-f', '-'], {
    env: options.env,
    timeoutMs: options.timeoutMs,
    stdin: true,
  });
  const render = startProcess(options.pgRestore, ['-L', options.list, '-f', '-'], {
    timeoutMs: options.timeoutMs,
    stdin: true,
    stdout: 'stream',
  });
  render.stdout!.pipe(apply.stdin!, { end: false });
  // psql gone early (an SQL error, a lost connection): pg_restore could only block on a full pipe.
  void apply.done.then(() => render.stop());

  let decryption: GuardError | undefined;
  try {
    for await (const chunk of clear) {
      if (render.stdin!.destroyed) break;
      await writeChunk(render.stdin!, chunk);
    }
  } catch (error) {
    decryption = decryptionFailure(error, what);
    render.stop();
  }
  render.stdin!.end();
  const rendered = await render.done;
  // Exited already: its own result explains the failure.
  const early = await Promise.race([apply.done, Promise.resolve(undefined)]);
  const ok = !decryption && rendered.code === 0 && !early;
  if (ok) apply.stdin!.end(`\nCOMMIT;\n\\echo ${COMMITTED}\n`);
  else if (!early) apply.stop();
  const applied = await apply.done;
  return {
    decryption,
    render: rendered,
    apply: { ...applied, stopped: !ok && !early, committed: applied.stdout.includes(COMMITTED) },
  };
}

/** psql prints this after our COMMIT succeeded: without it, nothing was committed. */
const COMMITTED = 'mg-restore-committed';

/**
 * Opens the header of an encrypted backup and stops: whether `identities` can decrypt it, known
 * before a restore takes its lock, its safety backup or writes its run record. A file that is not
 * age-encrypted (or missing) passes: the restore itself reports on it.
 */
export async function assertDecryptable(
  path: string,
  identities: string[] | undefined,
  code: GuardErrorCode,
): Promise<void> {
  if (!(await isAgeFile(path).catch(() => false))) return;
  if (!identities?.length) {
    throw new GuardError(code, `The backup ${path} is age-encrypted. Nothing was changed.`, {
      hint: 'Set backup-decryption-key to the age identity (AGE-SECRET-KEY-1…) matching the backup-encryption-key it was taken with, from a secret.',
    });
  }
  const clear = await decryptWith(identities, webStream(createReadStream(path)), { path, code });
  await clear.cancel();
}
