import { describe, expect, it } from '@jest/globals';
import { parseArgs } from '../../src/cli.js';

describe('parseArgs', () => {
  it('reads the first positional argument as the command', () => {
    expect(parseArgs(['status'])).toEqual({ raw: { command: 'status' }, json: false, help: false });
  });

  it('reads --flag value pairs', () => {
    const { raw } = parseArgs([
      'apply',
      '--database-url',
      'postgres://app:pw@localhost/db',
      '--migrations-dir',
      'db/migrations',
      '--lock-retries',
      '-1',
    ]);
    expect(raw).toEqual({
      command: 'apply',
      'database-url': 'postgres://app:pw@localhost/db',
      'migrations-dir': 'db/migrations',
      'lock-retries': '-1',
    });
  });

  it('reads --flag=value, keeping any further = signs in the value', () => {
    const { raw } = parseArgs([
      'apply',
      '--database-url=postgres://app:p=w@localhost/db?sslmode=disable',
      '--environment=a=b',
    ]);
    expect(raw).toEqual({
      command: 'apply',
      'database-url': 'postgres://app:p=w@localhost/db?sslmode=disable',
      environment: 'a=b',
    });
  });

  // Settings read a blank value as "not given"; on a command line it is an unset variable, and
  // `baseline --target-version ""` once marked every file applied.
  it.each([
    [['baseline', '--target-version', '']],
    [['baseline', '--target-version=']],
    [['rollback', '--target-version', '  ']],
    [['rollback', '--count', '']],
    [['apply', '--environment=']],
    [['apply', '--allow-out-of-order=']],
  ])('refuses an explicitly empty flag value, naming the flag: %p', (argv) => {
    const flag = argv[1].replace(/=.*$/, '');
    expect(() => parseArgs(argv)).toThrow(
      `${flag} was given an empty value: give a value, or leave the flag out`,
    );
  });

  it('accepts flags before the command', () => {
    expect(parseArgs(['--environment', 'staging', 'plan']).raw).toEqual({
      command: 'plan',
      environment: 'staging',
    });
  });

  it('reads a boolean flag without a value as true, at the end or before another flag', () => {
    expect(parseArgs(['apply', '--allow-out-of-order']).raw['allow-out-of-order']).toBe('true');
    expect(parseArgs(['apply', '--allow-out-of-order', '--environment', 'x']).raw).toEqual({
      command: 'apply',
      'allow-out-of-order': 'true',
      environment: 'x',
    });
  });

  it('takes an explicit value for a boolean flag', () => {
    expect(parseArgs(['apply', '--allow-out-of-order', 'false']).raw['allow-out-of-order']).toBe('false');
    expect(parseArgs(['apply', '--allow-out-of-order=false']).raw['allow-out-of-order']).toBe('false');
  });

  it('recognises --json, --help and -h', () => {
    expect(parseArgs(['status', '--json'])).toEqual({ raw: { command: 'status' }, json: true, help: false });
    expect(parseArgs(['--help']).help).toBe(true);
    expect(parseArgs(['-h']).help).toBe(true);
  });

  it('refuses an unknown flag, naming it', () => {
    expect(() => parseArgs(['apply', '--databse-url', 'x'])).toThrow('Unknown flag --databse-url');
    expect(() => parseArgs(['apply', '--nope=1'])).toThrow('Unknown flag --nope');
  });

  it('refuses --command: the command is positional', () => {
    expect(() => parseArgs(['--command', 'apply'])).toThrow('Unknown flag --command');
  });

  it('refuses a flag that needs a value when none follows', () => {
    expect(() => parseArgs(['apply', '--database-url'])).toThrow('--database-url needs a value');
  });

  it('refuses a second positional argument', () => {
    expect(() => parseArgs(['apply', 'status'])).toThrow('Unexpected argument "status"');
  });

  it('refuses the action-only inputs: the CLI posts no pull request comment', () => {
    expect(() => parseArgs(['apply', '--comment', 'true'])).toThrow('Unknown flag --comment');
    expect(() => parseArgs(['apply', '--github-token=ghs_x'])).toThrow('Unknown flag --github-token');
  });
});
