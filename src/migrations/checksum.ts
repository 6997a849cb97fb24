import { createHash } from 'node:crypto';

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const CRLF = Buffer.from('\r\n');

/**
 * The checksum of a file's bytes, not of its decoded text: decoding hides byte changes (two
 * different invalid bytes both decode to U+FFFD). Line endings and a byte-order mark are editor
 * accidents, not changes: a leading BOM is dropped and CRLF counts as LF, the rules the checksum
 * always had on text, so a valid UTF-8 file keeps its checksum. The pieces between CRLFs are
 * hashed in place: no copy of a large file is made.
 */
export function checksumOfBytes(bytes: Uint8Array): string {
  const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hash = createHash('sha256');
  let from = data.subarray(0, 3).equals(BOM) ? 3 : 0;
  for (let cr = data.indexOf(CRLF, from); cr !== -1; cr = data.indexOf(CRLF, from)) {
    hash.update(data.subarray(from, cr));
    from = cr + 1; // keep the LF
  }
  hash.update(data.subarray(from));
  return hash.digest('hex');
}

/** The same checksum for text already in memory (its UTF-8 bytes). */
export function checksumOf(text: string): string {
  return checksumOfBytes(Buffer.from(text, 'utf8'));
}
