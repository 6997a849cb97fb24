import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { INPUT_NAMES } from '../../src/config/settings.js';

/** action.yml is read by GitHub as YAML: a value that does not parse makes the action unusable. */
describe('action.yml', () => {
  const action = parse(readFileSync('action.yml', 'utf8'), { strict: true, uniqueKeys: true }) as {
    inputs: Record<string, { description?: string; required?: boolean }>;
    outputs: Record<string, { description?: string }>;
    runs: { using: string; main: string };
  };

  it('parses as YAML and runs the bundle on node24', () => {
    expect(action.runs).toEqual({ using: 'node24', main: 'dist/index.js' });
  });

  it('declares exactly the inputs the settings read, each described; only database-url is required', () => {
    expect(Object.keys(action.inputs).sort()).toEqual([...INPUT_NAMES].sort());
    for (const [name, input] of Object.entries(action.inputs)) {
      expect([name, typeof input.description]).toEqual([name, 'string']);
      expect([name, input.required ?? false]).toEqual([name, name === 'database-url']);
    }
  });
});
