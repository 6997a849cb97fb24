import { describe, expect, it } from '@jest/globals';
import { parseDuration } from '../../src/config/duration.js';

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['2s', 2000],
    ['5m', 300_000],
    ['5min', 300_000],
    ['1h', 3_600_000],
    ['250', 250],
    ['1.5s', 1500],
    [' 2 s ', 2000],
    ['0', 0],
  ])('reads %p as %p milliseconds', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([[''], ['   '], ['2 seconds'], ['-1s'], ['s'], ['1d'], ['2S'], ['1,5s'], ['2s3'], ['1e3']])(
    'returns undefined for the malformed duration %p',
    (text) => {
      expect(parseDuration(text)).toBeUndefined();
    },
  );
});
