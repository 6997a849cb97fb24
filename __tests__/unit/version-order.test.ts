import { describe, expect, it } from '@jest/globals';
import { compareVersions, isNumericVersion } from '../../src/migrations/discover.js';

/**
 * History rows can hold any text (written by hand or by another tool); file versions are always
 * digits. The order must be total and never throw (it once crashed every command with
 * "Cannot convert abc to a BigInt").
 */
describe('compareVersions on versions that are not all digits', () => {
  const mixed = ['abc', '10', '', '9', ' 9', '0009', 'ABC', '9a', '2024-01-01', '\u00e9', '1e3'];

  it('never throws, and sorts numeric versions first (numerically), then the others in text order', () => {
    expect([...mixed].sort(compareVersions)).toEqual([
      '0009',
      '9',
      '10',
      '',
      ' 9',
      '1e3',
      '2024-01-01',
      '9a',
      'ABC',
      'abc',
      '\u00e9',
    ]);
  });

  it('is a consistent total order: antisymmetric and transitive over every triple', () => {
    for (const a of mixed) {
      expect(compareVersions(a, a)).toBe(0);
      for (const b of mixed) {
        expect(Math.sign(compareVersions(a, b)) + Math.sign(compareVersions(b, a))).toBe(0);
        for (const c of mixed) {
          if (compareVersions(a, b) < 0 && compareVersions(b, c) < 0)
            expect(compareVersions(a, c)).toBeLessThan(0);
        }
      }
    }
  });

  it('calls a version numeric only when it is all digits', () => {
    expect(['0', '007', '20240101120000'].map(isNumericVersion)).toEqual([true, true, true]);
    expect(['', ' 1', '1 ', '-1', '1.0', '1e3', '\u0661'].map(isNumericVersion)).toEqual(
      Array(7).fill(false),
    );
  });
});
