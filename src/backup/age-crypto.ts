import { open } from 'node:fs/promises';
import type { Identity } from 'age-encryption';
import { GuardError, type GuardErrorCode } from '../errors.js';

/**
 * The age file format through the `age-encryption` package (no cryptography of our own): streams
 * in, streams out. The library is loaded on first use: most runs never encrypt anything.
 */
type AgeLibrary = typeof import('age-encryption');
let library: Promise<AgeLibrary> | undefined;
const loadAge = (): Promise<AgeLibrary> => (library ??= import('age-encryption'));

/** Every age file starts with this line (age-encryption.org/v1 specification). */
export const AGE_MAGIC = 'age-encryption.org/v1\n';

export async function isAgeFile(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(AGE_MAGIC.length);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    return head.subarray(0, bytesRead).toString('latin1') === AGE_MAGIC;
  } finally {
    await handle.close();
  }
}

export interface EncryptedStream {
  /** The age file: header, nonce, then the payload in authenticated 64 KiB chunks. */
  output: ReadableStream<Uint8Array>;
  /**
   * Opens this one file again, for the read-back check: an identity that answers with the file
   * key this encryption drew (the library hands it to each recipient to wrap). It lives in memory
   * only, is never written, and is wiped by `forget`.
   */
  readBack: Identity;
  forget(): void;
}

/** Encrypts `input` to every recipient (age1… public keys). A recipient the library refuses is an input error. */
export async function encryptTo(
  recipients: string[],
  input: ReadableStream<Uint8Array>,
): Promise<EncryptedStream> {
  const encrypter = await encrypterFor(recipients);
  let fileKey: Uint8Array | undefined;
  // Adds no stanza to the header: it only keeps the file key for the read-back below.
  encrypter.addRecipient({
    wrapFileKey: (key) => {
      fileKey = Uint8Array.from(key);
      return [];
    },
  });
  const output = await encrypter.encrypt(input);
  return {
    output,
    readBack: { unwrapFileKey: () => (fileKey ? Uint8Array.from(fileKey) : null) },
    forget: () => {
      fileKey?.fill(0);
      fileKey = undefined;
    },
  };
}

/** Checks each recipient with the library before any work starts, so a bad key fails first. */
export async function checkRecipients(recipients: string[]): Promise<void> {
  await encrypterFor(recipients);
}

async function encrypterFor(recipients: string[]): Promise<InstanceType<AgeLibrary['Encrypter']>> {
  const age = await loadAge();
  const encrypter = new age.Encrypter();
  for (const [index, recipient] of recipients.entries()) {
    try {
      encrypter.addRecipient(recipient);
    } catch (error) {
      throw new GuardError(
        'invalid-input',
        `backup-encryption-key: key ${index + 1} (${recipient.slice(0, 10)}…) is not a valid age public key: ${(error as Error).message}. Nothing was changed.`,
        {
          hint: 'Copy the "Public key: age1…" line that age-keygen printed (or run "age-keygen -y key.txt").',
        },
      );
    }
  }
  return encrypter;
}

/**
 * Decrypts an age stream. Resolves once the header has been opened (a wrong identity fails here,
 * before any byte of the payload is read); the payload's chunks are each authenticated as they
 * pass, and a truncated or altered file errors the stream.
 */
export async function decryptWith(
  identities: Array<string | Identity>,
  input: ReadableStream<Uint8Array>,
  what: { path: string; code: GuardErrorCode },
): Promise<ReadableStream<Uint8Array>> {
  const age = await loadAge();
  const decrypter = new age.Decrypter();
  try {
    for (const identity of identities) decrypter.addIdentity(identity);
  } catch {
    throw new GuardError(
      what.code,
      'backup-decryption-key is not a valid age identity. Nothing was changed.',
      {
        hint: 'Store the AGE-SECRET-KEY-1… line that age-keygen wrote (or the whole key file) in the secret.',
      },
    );
  }
  try {
    return await decrypter.decrypt(input);
  } catch (error) {
    throw decryptionFailure(error, what);
  }
}

/** A failure while reading the payload: altered, truncated or not written by age. */
export function decryptionFailure(error: unknown, what: { path: string; code: GuardErrorCode }): GuardError {
  const said = (error as Error)?.message ?? String(error);
  if (/no identity matched/i.test(said)) {
    return new GuardError(
      what.code,
      `${what.path} was not encrypted to backup-decryption-key: none of its identities opens the file. Nothing was changed.`,
      {
        hint: 'Use the identity whose public key (age-keygen -y) was the backup-encryption-key when this backup was taken.',
        cause: error,
      },
    );
  }
  return new GuardError(
    what.code,
    `${what.path} cannot be decrypted: ${said} (the file is damaged, truncated or was altered). Nothing was changed.`,
    {
      hint: 'Restore an intact copy: its sha256 must match the one recorded when it was taken.',
      cause: error,
    },
  );
}
