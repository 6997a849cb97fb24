/**
 * A migration file's text with the byte-offset bookkeeping the parser needs: libpg-query reports
 * UTF-8 byte offsets, users want 1-based line:column in characters. "Character" means a Unicode
 * code point, as PostgreSQL counts them in error positions (an emoji is one character, not two).
 */
export class SourceText {
  private encoded?: Buffer;
  private decoded?: string;
  private lines?: number[];

  /**
   * Nothing is computed up front: a run with nothing pending reads files only to checksum them.
   * `bytes`, when the caller has them (the file as read), must be `text` in UTF-8: they are used
   * as they are instead of encoding the text again.
   */
  constructor(text: string | undefined, bytes?: Buffer) {
    if (text === undefined && !bytes) throw new Error('SourceText needs its text or its bytes');
    this.decoded = text;
    this.encoded = bytes;
  }

  /**
   * Once the bytes exist (the parser works on them), the string is let go and decoded again only
   * if asked for: a 100 MB data file with one non-ASCII character is a 200 MB string in V8.
   */
  get text(): string {
    return this.decoded ?? this.bytes.toString('utf8');
  }

  get bytes(): Buffer {
    this.encoded ??= Buffer.from(this.text, 'utf8');
    this.decoded = undefined;
    return this.encoded;
  }

  /** Length in UTF-8 bytes, without encoding the text. */
  get byteLength(): number {
    return this.encoded ? this.encoded.length : Buffer.byteLength(this.text, 'utf8');
  }

  private get lineStarts(): number[] {
    if (!this.lines) {
      const bytes = this.bytes;
      const starts = [0];
      for (let i = bytes.indexOf(0x0a); i !== -1; i = bytes.indexOf(0x0a, i + 1)) starts.push(i + 1);
      this.lines = starts;
    }
    return this.lines;
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
    // Characters (code points) before it on its line: the bytes that do not continue a UTF-8
    // sequence (the text is valid UTF-8: read-sql.ts refuses anything else), counted in place.
    const bytes = this.bytes;
    let column = 1;
    for (let i = this.lineStarts[lo]; i < byteOffset; i++) if ((bytes[i] & 0xc0) !== 0x80) column++;
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
