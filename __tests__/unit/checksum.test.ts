import { describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { checksumOf, checksumOfBytes } from '../../src/migrations/checksum.js';

const sha = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

describe('checksumOfBytes', () => {
  it('tells apart byte changes that decoding would hide (two different invalid bytes)', () => {
    const a = Buffer.from([0x73, 0x65, 0x6c, 0xe9]);
    const b = Buffer.from([0x73, 0x65, 0x6c, 0xe8]);
    expect(a.toString('utf8')).toBe(b.toString('utf8'));
    expect(checksumOfBytes(a)).not.toBe(checksumOfBytes(b));
  });

  it('drops one leading BOM and counts CRLF as LF, leaving a lone CR and a later BOM alone', () => {
    expect(checksumOfBytes(Buffer.from('\uFEFFa\r\nb\r\n'))).toBe(sha('a\nb\n'));
    expect(checksumOfBytes(Buffer.from('a\r\r\nb\rc'))).toBe(sha('a\r\nb\rc'));
    expect(checksumOfBytes(Buffer.from('a\uFEFF'))).toBe(sha('a\uFEFF'));
    expect(checksumOfBytes(Buffer.from('\r\n'))).toBe(sha('\n'));
    expect(checksumOfBytes(Buffer.alloc(0))).toBe(sha(''));
  });

  it('hashes a slice of a larger buffer by its own bytes only', () => {
    const whole = Buffer.from('xxselect 1;\r\nyy');
    expect(checksumOfBytes(whole.subarray(2, 13))).toBe(sha('select 1;\n'));
  });

  it('gives text the checksum of its UTF-8 bytes', () => {
    expect(checksumOf('\uFEFFcafé\r\n')).toBe(sha('café\n'));
  });
});
