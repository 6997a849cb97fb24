import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Identity } from 'age-encryption';
import type { GuardErrorCode } from '../errors.js';
import { decryptionFailure, decryptWith, encryptTo } from './age-crypto.js';
import { startProcess, writeChunk, type ProcessResult } from './process.js';

export interface EncryptedWrite {
  /** pg_dump's exit status and messages. */
  dump: ProcessResult;
  /** Of the archive as pg_dump produced it (it exists on disk only encrypted). */
  clearSha256: string;
  clearBytes: number;
  /** Opens the written file again (see encryptTo); wipe with `forget` once read back. */
  readBack: Identity;
  forget(): void;
}

export interface ReadBack {
  /** Of the file as it is on disk: what an uploaded copy must match. */
  sha256: string;
  /** Of its decrypted content. */
  clearSha256: string;
  clearBytes: number;
  /** `pg_restore --list`, reading the decrypted archive from its standard input. */
  listing: ProcessResult;
}

/**
 * pg_dump writes the archive to its standard output; it is hashed and encrypted in memory as it
 * passes and only the age file reaches `path` (an existing, private file). The archive never
 * exists on disk in clear, not even in part.
 */
export async function writeEncryptedDump(options: {
  pgDump: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  recipients: string[];
  path: string;
}): Promise<EncryptedWrite> {
  const dump = startProcess(options.pgDump, options.args, {
    env: options.env,
    timeoutMs: options.timeoutMs,
    stdout: 'stream',
  });
  const clear = counting(createHash('sha256'));
  let encrypted: Awaited<ReturnType<typeof encryptTo>> | undefined;
  try {
    encrypted = await encryptTo(options.recipients, webStream(dump.stdout!).pipeThrough(clear.transform));
    const file = await open(options.path, 'r+');
    // The write stream owns the handle from here and closes it, also on error.
    await pipeline(Readable.fromWeb(encrypted.output as never), file.createWriteStream());
  } catch (error) {
    encrypted?.forget();
    dump.stop();
    await dump.done;
    throw error;
  }
  return {
    dump: await dump.done,
    clearSha256: clear.hash.digest('hex'),
    clearBytes: clear.bytes(),
    readBack: encrypted.readBack,
    forget: encrypted.forget,
  };
}

/**
 * Reads an age file back from disk: hashes it as stored, decrypts it (every chunk authenticated,
 * truncation detected) and hands the clear archive to `pg_restore --list` on its standard input,
 * hashing it too. Nothing decrypted is written anywhere.
 */
export async function readBackEncrypted(options: {
  path: string;
  identities: Array<string | Identity>;
  pgRestore: string;
  timeoutMs: number;
  code: GuardErrorCode;
}): Promise<ReadBack> {
  const stored = counting(createHash('sha256'));
  const file = webStream(createReadStream(options.path, { highWaterMark: 1024 * 1024 }));
  const clearStream = await decryptWith(options.identities, file.pipeThrough(stored.transform), {
    path: options.path,
    code: options.code,
  });
  const list = startProcess(options.pgRestore, ['--list'], { stdin: true, timeoutMs: options.timeoutMs });
  const clear = createHash('sha256');
  let clearBytes = 0;
  try {
    for await (const chunk of clearStream) {
      clear.update(chunk);
      clearBytes += chunk.length;
      await writeChunk(list.stdin!, chunk);
    }
  } catch (error) {
    list.stop();
    await list.done;
    throw decryptionFailure(error, { path: options.path, code: options.code });
  }
  list.stdin!.end();
  return {
    sha256: stored.hash.digest('hex'),
    clearSha256: clear.digest('hex'),
    clearBytes,
    listing: await list.done,
  };
}

/** A Node stream as a web stream of bytes (what the age library reads and writes). */
export function webStream(stream: Readable): ReadableStream<Uint8Array> {
  return Readable.toWeb(stream) as unknown as ReadableStream<Uint8Array>;
}

/** A pass-through that hashes and counts what flows through it. */
function counting(hash: Hash): {
  transform: TransformStream<Uint8Array, Uint8Array>;
  hash: Hash;
  bytes(): number;
} {
  let bytes = 0;
  const transform = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      hash.update(chunk);
      bytes += chunk.length;
      controller.enqueue(chunk);
    },
  });
  return { transform, hash, bytes: () => bytes };
}
