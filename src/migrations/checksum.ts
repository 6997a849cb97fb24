import { createHash } from 'node:crypto';

/** Line endings and a byte-order mark are editor accidents, not changes: normalise them away. */
export function normaliseForChecksum(text: string): string {
  return text.replace(/^\uFEFF/, '').replace(/\r\n/g, '\n');
}

export function checksumOf(text: string): string {
  return createHash('sha256').update(normaliseForChecksum(text), 'utf8').digest('hex');
}
