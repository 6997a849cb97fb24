import { describe, expect, it } from '@jest/globals';
import { SourceText } from '../../src/migrations/source-text.js';

describe('a place in a file, as line and column', () => {
  it('counts characters (code points), not bytes or UTF-16 units, on each line', () => {
    const text = 'select 1;\n-- straße 日本 😀 é\ncreate table t (id int);\r\n\tx';
    const source = new SourceText(text);
    const at = (needle: string) =>
      source.position(Buffer.byteLength(text.slice(0, text.indexOf(needle)), 'utf8'));
    expect(at('select')).toEqual({ line: 1, column: 1 });
    expect(at('1;')).toEqual({ line: 1, column: 8 });
    // "-- straße 日本 😀 " is 15 code points (the emoji is two UTF-16 units and four bytes).
    expect(at('é')).toEqual({ line: 2, column: [...'-- straße 日本 😀 '].length + 1 });
    expect([...'-- straße 日本 😀 '].length).toBe(15);
    expect(at('create')).toEqual({ line: 3, column: 1 });
    expect(at('x')).toEqual({ line: 4, column: 2 });
    // The same from the bytes alone, as a file is read.
    const fromBytes = new SourceText(undefined, Buffer.from(text, 'utf8'));
    expect(fromBytes.position(Buffer.byteLength(text.slice(0, text.indexOf('é')), 'utf8'))).toEqual({
      line: 2,
      column: 16,
    });
  });
});
