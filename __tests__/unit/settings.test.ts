import { describe, expect, it } from '@jest/globals';
import { parseSettings, SettingsError, type RawInputs } from '../../src/config/settings.js';
import { scrubberForInputs } from '../../src/config/run-scrubber.js';

const URL_OK = 'postgres://app:s3cret-pw@db.example.com:5432/postgres';

function errorOf(raw: RawInputs, context = {}): Error {
  try {
    parseSettings(raw, context);
  } catch (error) {
    return error as Error;
  }
  throw new Error('parseSettings accepted the inputs');
}

describe('parseSettings defaults', () => {
  it('applies every documented default when only database-url is given', () => {
    const settings = parseSettings({ 'database-url': URL_OK });
    expect(settings.command).toBe('apply');
    expect(settings.migrationsDir).toBe('supabase/migrations');
    expect(settings.environment).toBe('default');
    expect(settings.transactionMode).toBe('all');
    expect(settings.lockTimeoutMs).toBe(2000);
    expect(settings.lockRetries).toBe(5);
    expect(settings.runLockTimeoutMs).toBe(120_000);
    expect(settings.statementTimeoutMs).toBeUndefined();
    expect(settings.allowOutOfOrder).toBe(false);
    expect(settings.targetVersion).toBeUndefined();
    expect(settings.reportPath).toBeUndefined();
  });

  it('treats blank inputs (as GitHub passes unset inputs) like missing ones', () => {
    const settings = parseSettings({
      'database-url': URL_OK,
      command: '',
      'migrations-dir': ' ',
      environment: '',
      'transaction-mode': '',
      'lock-timeout': '',
      'lock-retries': '',
      'statement-timeout': '',
      'run-lock-timeout': '',
      'allow-out-of-order': '',
      'target-version': '',
      'report-path': '  ',
    });
    expect(settings).toMatchObject({
      command: 'apply',
      migrationsDir: 'supabase/migrations',
      environment: 'default',
      transactionMode: 'all',
      lockTimeoutMs: 2000,
      lockRetries: 5,
      runLockTimeoutMs: 120_000,
      allowOutOfOrder: false,
    });
    expect(settings.statementTimeoutMs).toBeUndefined();
    expect(settings.targetVersion).toBeUndefined();
    expect(settings.reportPath).toBeUndefined();
  });

  it('resolves command auto to plan on pull_request and pull_request_target events', () => {
    expect(parseSettings({ 'database-url': URL_OK }, { eventName: 'pull_request' }).command).toBe('plan');
    expect(
      parseSettings({ 'database-url': URL_OK, command: 'auto' }, { eventName: 'pull_request' }).command,
    ).toBe('plan');
    expect(parseSettings({ 'database-url': URL_OK }, { eventName: 'pull_request_target' }).command).toBe(
      'plan',
    );
  });

  it('resolves command auto to apply on push and other events', () => {
    expect(parseSettings({ 'database-url': URL_OK }, { eventName: 'push' }).command).toBe('apply');
    expect(
      parseSettings({ 'database-url': URL_OK, command: 'auto' }, { eventName: 'workflow_dispatch' }).command,
    ).toBe('apply');
  });

  it('keeps an explicit command even on a pull request', () => {
    expect(
      parseSettings({ 'database-url': URL_OK, command: 'status' }, { eventName: 'pull_request' }).command,
    ).toBe('status');
  });

  it('parses explicit values of every input', () => {
    const settings = parseSettings({
      'database-url': URL_OK,
      command: 'baseline',
      'migrations-dir': 'db/migrations',
      environment: 'production-eu.1',
      'transaction-mode': 'per-file',
      'lock-timeout': '500ms',
      'lock-retries': '0',
      'statement-timeout': '5m',
      'run-lock-timeout': '1h',
      'allow-out-of-order': 'TRUE',
      'target-version': '20240101120000',
      'report-path': 'out/report.json',
    });
    expect(settings).toMatchObject({
      command: 'baseline',
      migrationsDir: 'db/migrations',
      environment: 'production-eu.1',
      transactionMode: 'per-file',
      lockTimeoutMs: 500,
      lockRetries: 0,
      statementTimeoutMs: 300_000,
      runLockTimeoutMs: 3_600_000,
      allowOutOfOrder: true,
      targetVersion: '20240101120000',
      reportPath: 'out/report.json',
      databaseUrl: URL_OK,
    });
    expect(settings.database).toMatchObject({
      host: 'db.example.com',
      port: 5432,
      user: 'app',
      database: 'postgres',
    });
  });

  it('accepts false in any documented spelling for allow-out-of-order', () => {
    expect(parseSettings({ 'database-url': URL_OK, 'allow-out-of-order': 'False' }).allowOutOfOrder).toBe(
      false,
    );
    expect(parseSettings({ 'database-url': URL_OK, 'allow-out-of-order': 'true' }).allowOutOfOrder).toBe(
      true,
    );
  });
});

describe('parseSettings errors', () => {
  it('refuses an unknown command, naming the input and every accepted command', () => {
    const error = errorOf({ 'database-url': URL_OK, command: 'deploy' });
    expect(error).toBeInstanceOf(SettingsError);
    expect(error.message).toContain('command: unknown command "deploy"');
    expect(error.message).toContain('auto, plan, apply, rollback, status, backup, audit, baseline');
  });

  it('refuses a bad transaction-mode, naming the input and the accepted modes', () => {
    const error = errorOf({ 'database-url': URL_OK, 'transaction-mode': 'each' });
    expect(error.message).toContain('transaction-mode: "each" is not accepted: use one of all, per-file');
  });

  it.each([['lock-timeout'], ['statement-timeout'], ['run-lock-timeout']] as const)(
    'refuses a malformed duration for %s, with examples of accepted durations',
    (input) => {
      const error = errorOf({ 'database-url': URL_OK, [input]: '2 seconds' });
      expect(error.message).toContain(`${input}: "2 seconds" is not a duration`);
      expect(error.message).toMatch(/ms, s, m or h/);
    },
  );

  it('refuses a lock-timeout above its ten-minute bound', () => {
    const error = errorOf({ 'database-url': URL_OK, 'lock-timeout': '11m' });
    expect(error.message).toContain('lock-timeout: "11m"');
  });

  it.each([['-1'], ['2.5'], ['51'], ['many']])(
    'refuses lock-retries %p, saying what is accepted',
    (value) => {
      const error = errorOf({ 'database-url': URL_OK, 'lock-retries': value });
      expect(error.message).toContain('lock-retries: must be a whole number from 0 to 50');
    },
  );

  it('refuses a non-boolean allow-out-of-order, saying to use true or false', () => {
    const error = errorOf({ 'database-url': URL_OK, 'allow-out-of-order': 'yes' });
    expect(error.message).toContain('allow-out-of-order: "yes" is not a boolean: use true or false');
  });

  it.each([['prod env'], ['-prod'], ['prod/eu'], ['prod:1']])(
    'refuses the environment label %p, saying which characters are allowed',
    (value) => {
      const error = errorOf({ 'database-url': URL_OK, environment: value });
      expect(error.message).toContain('environment: may hold letters, digits, ".", "_" and "-" only');
    },
  );

  it('refuses an environment label longer than 63 characters', () => {
    const error = errorOf({ 'database-url': URL_OK, environment: 'e'.repeat(64) });
    expect(error.message).toContain('environment: must be at most 63 characters');
  });

  it('accepts a 63-character environment label', () => {
    expect(parseSettings({ 'database-url': URL_OK, environment: 'e'.repeat(63) }).environment).toBe(
      'e'.repeat(63),
    );
  });

  it.each([['v20240101'], ['2024-01-01'], ['12a'], ['-1'], ['ALL'], ['1 2']])(
    'refuses the non-digit target-version %p, naming the input and the value',
    (value) => {
      for (const command of ['baseline', 'rollback', 'apply']) {
        const error = errorOf({ 'database-url': URL_OK, command, 'target-version': value });
        expect(error.message).toContain(
          `target-version: "${value}" is not a migration version: digits only (the start of a file name), e.g. 20240101120000; baseline also takes all`,
        );
      }
    },
  );

  it('reads target-version with surrounding blanks as the version', () => {
    const settings = parseSettings({ 'database-url': URL_OK, command: 'rollback', 'target-version': ' 42 ' });
    expect(settings.targetVersion).toBe('42');
  });

  // Marking files applied without running them is only undone by hand: an empty or missing
  // target-version (an unset variable, or a blank action input) must never mean "every file".
  it.each([[undefined], [''], ['   ']])(
    'refuses baseline with target-version %p, saying to give a version or all',
    (value) => {
      const error = errorOf({ 'database-url': URL_OK, command: 'baseline', 'target-version': value });
      expect(error).toBeInstanceOf(SettingsError);
      expect(error.message).toBe(
        'Invalid input:\n  target-version: baseline needs it: the newest migration version the database already has ' +
          '(files up to it are marked applied without running them), or all to mark every file in migrations-dir',
      );
    },
  );

  it('accepts baseline with target-version all or a version', () => {
    expect(
      parseSettings({ 'database-url': URL_OK, command: 'baseline', 'target-version': 'all' }).targetVersion,
    ).toBe('all');
    expect(
      parseSettings({ 'database-url': URL_OK, command: 'baseline', 'target-version': '007' }).targetVersion,
    ).toBe('007');
  });

  it('refuses target-version all for rollback', () => {
    const error = errorOf({ 'database-url': URL_OK, command: 'rollback', 'target-version': 'all' });
    expect(error.message).toContain('target-version: all is for baseline only');
  });

  it.each([['0.4ms'], ['0.5'], ['0.0001s'], ['0.000001m']])(
    'refuses the sub-millisecond statement-timeout %p (it would round to 0, no timeout at all)',
    (value) => {
      const error = errorOf({ 'database-url': URL_OK, 'statement-timeout': value });
      expect(error.message).toContain(
        `statement-timeout: "${value}" is shorter than 1ms: PostgreSQL counts whole milliseconds, so it would become 0, which means no timeout at all (write 0 to mean that)`,
      );
    },
  );

  it.each([['lock-timeout'], ['run-lock-timeout']] as const)(
    'refuses a sub-millisecond %s as well',
    (input) => {
      const error = errorOf({ 'database-url': URL_OK, [input]: '0.6ms' });
      expect(error.message).toContain(`${input}: "0.6ms" is shorter than 1ms`);
    },
  );

  it.each([['0'], ['0ms'], ['0s']])(
    'reads statement-timeout %p as no statement timeout, as PostgreSQL does',
    (value) => {
      expect(
        parseSettings({ 'database-url': URL_OK, 'statement-timeout': value }).statementTimeoutMs,
      ).toBeUndefined();
    },
  );

  it.each([
    ['1ms', 1],
    ['1.4ms', 1],
    ['0.5s', 500],
  ])('accepts statement-timeout %p as %p ms', (value, ms) => {
    expect(parseSettings({ 'database-url': URL_OK, 'statement-timeout': value }).statementTimeoutMs).toBe(ms);
  });

  it('still refuses a lock-timeout of 0 (waiting forever)', () => {
    const error = errorOf({ 'database-url': URL_OK, 'lock-timeout': '0' });
    expect(error.message).toContain(
      'lock-timeout: "0" is too short: at least 1ms (0 would mean waiting forever)',
    );
  });

  it('refuses a missing database-url, saying it is required', () => {
    for (const raw of [{}, { 'database-url': '' }, { 'database-url': '   ' }] as RawInputs[]) {
      const error = errorOf(raw);
      expect(error).toBeInstanceOf(SettingsError);
      expect(error.message).toContain('database-url: is required');
    }
  });

  it('lists every bad input in one error', () => {
    const error = errorOf({ command: 'deploy', 'transaction-mode': 'each', 'lock-retries': '-1' });
    expect(error.message).toMatch(/^Invalid input:\n/);
    expect(error.message).toContain('command:');
    expect(error.message).toContain('transaction-mode:');
    expect(error.message).toContain('lock-retries:');
    expect(error.message).toContain('database-url:');
  });

  it('refuses a transaction-pooler URL, naming database-url', () => {
    const error = errorOf({ 'database-url': 'postgres://app:pw@pooler.supabase.com:6543/postgres' });
    expect(error).toBeInstanceOf(SettingsError);
    expect(error.message).toMatch(/^Invalid input:\n {2}database-url: port 6543/);
  });

  it.each([
    ['a wrong scheme', 'mysql://app:Hunter2-Secret@db.example.com/app'],
    ['the transaction pooler port', 'postgres://app:Hunter2-Secret@db.example.com:6543/app'],
    ['a bad sslmode', 'postgres://app:Hunter2-Secret@db.example.com/app?sslmode=always'],
    ['no user', 'postgres://:Hunter2-Secret@db.example.com/app'],
    [
      'an unreadable sslrootcert',
      'postgres://app:Hunter2-Secret@db.example.com/app?sslrootcert=/nonexistent/ca.pem',
    ],
    ['a password in the query', 'postgres://db.example.com/app?password=Hunter2-Secret&sslmode=bogus'],
    ['garbage', 'postgres://app:Hunter2-Secret@'],
  ])('never puts the password in the error for a URL with %s', (_what, url) => {
    const error = errorOf({ 'database-url': url });
    expect(error.message).toMatch(/database-url: /);
    expect(error.message).not.toContain('Hunter2-Secret');
    expect(error.message).not.toContain('Hunter2');
  });
});

describe('the pull request comment inputs', () => {
  it('comment defaults to true, takes true or false, and refuses anything else naming the input', () => {
    expect(parseSettings({ 'database-url': URL_OK }).comment).toBe(true);
    expect(parseSettings({ 'database-url': URL_OK, comment: '' }).comment).toBe(true);
    expect(parseSettings({ 'database-url': URL_OK, comment: 'false' }).comment).toBe(false);
    expect(errorOf({ 'database-url': URL_OK, comment: 'maybe' }).message).toContain(
      'comment: "maybe" is not a boolean: use true or false',
    );
  });

  it('reads github-token (blank: none) and registers it with the run scrubber', () => {
    expect(parseSettings({ 'database-url': URL_OK }).githubToken).toBeUndefined();
    expect(parseSettings({ 'database-url': URL_OK, 'github-token': ' ghs_abc123 ' }).githubToken).toBe(
      'ghs_abc123',
    );
    const scrubber = scrubberForInputs({ 'database-url': URL_OK, 'github-token': 'ghs_abc123' });
    expect(scrubber.scrub('token ghs_abc123 and s3cret-pw')).toBe('token *** and ***');
  });
});
