/**
 * A migration file's text with the byte-offset bookkeeping the parser needs: libpg-query reports
 * UTF-8 byte offsets, users want 1-based line:column in characters. "Character" means a Unicode
 * code point, as PostgreSQL counts them in error positions (an emoji is one character, not two).
 */
export class SourceText {
  readonly bytes: Buffer;
  private readonly lineStarts: number[];

  constructor(readonly text: string) {
    this.bytes = Buffer.from(text, 'utf8');
    this.lineStarts = [0];
    for (let i = 0; i < this.bytes.length; i++) if (this.bytes[i] === 0x0a) this.lineStarts.push(i + 1);
  }

  slice(startByte: number, endByte: number): string {
    return this.bytes.subarray(startByte, endByte).toString('utf8');
  }

  /** 1-based line and column (in characters) of a byte offset. */
  position(byteOffset: number): { line: number; column: number } {
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.lineStarts[mid] <= byteOffset) lo = mid;
      else hi = mid - 1;
    }
    const column = codePointLength(this.bytes.subarray(this.lineStarts[lo], byteOffset).toString('utf8')) + 1;
    return { line: lo + 1, column };
  }

  /** Byte offset of a code-point offset inside the substring that starts at `startByte`. */
  byteOffsetOfChar(startByte: number, charOffset: number, endByte = this.bytes.length): number {
    let bytes = 0;
    let seen = 0;
    for (const char of this.slice(startByte, endByte)) {
      if (seen++ >= charOffset) break;
      bytes += Buffer.byteLength(char, 'utf8');
    }
    return startByte + bytes;
  }
}

function codePointLength(text: string): number {
  return Array.from(text).length;
}
