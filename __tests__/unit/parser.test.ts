import { describe, expect, it, jest } from '@jest/globals';

// Only the V8 flag call is replaced: the parser itself is the real libpg-query.
const setFlagsFromString = jest.fn();
jest.unstable_mockModule('node:v8', () => ({ setFlagsFromString }));
const { loadParser } = await import('../../src/migrations/parser.js');

describe('loadParser', () => {
  it('keeps the parser on the baseline WebAssembly tier, set before it is compiled, and loads it once', async () => {
    const parser = await loadParser();
    expect(setFlagsFromString.mock.calls).toEqual([['--no-wasm-tier-up'], ['--no-wasm-dynamic-tiering']]);
    expect(parser.parseSync('select 1; select 2').stmts).toHaveLength(2);
    expect(await loadParser()).toBe(parser);
    expect(setFlagsFromString).toHaveBeenCalledTimes(2);
  });
});
