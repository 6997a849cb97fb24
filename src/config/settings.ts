import { z } from 'zod';
import { parseDatabaseUrl, type DatabaseTarget } from './database-url.js';
import { parseDuration } from './duration.js';

export const COMMANDS = ['plan', 'apply', 'rollback', 'status', 'backup', 'audit', 'baseline'] as const;
export type CommandName = (typeof COMMANDS)[number];
export const TRANSACTION_MODES = ['all', 'per-file'] as const;
export type TransactionMode = (typeof TRANSACTION_MODES)[number];

/** The settings every command receives: validated, typed, with defaults applied. */
export interface Settings {
  command: CommandName;
  database: DatabaseTarget;
  databaseUrl: string;
  migrationsDir: string;
  environment: string;
  transactionMode: TransactionMode;
  lockTimeoutMs: number;
  lockRetries: number;
  /** First backoff step between lock-timeout retries (doubles each retry, with jitter); not an input. */
  lockRetryBaseMs: number;
  statementTimeoutMs?: number;
  runLockTimeoutMs: number;
  allowOutOfOrder: boolean;
  targetVersion?: string;
  count?: number;
  strategy: 'down' | 'restore';
  backup: BackupMode;
  backupDir?: string;
  pgDumpPath?: string;
  backupPath?: string;
  confirmRestore?: string;
  reportPath?: string;
}

export const BACKUP_MODES = ['required', 'optional', 'off'] as const;
export type BackupMode = (typeof BACKUP_MODES)[number];

/** Raw input values by their action.yml name; '' and undefined both mean "not given". */
export type RawInputs = Partial<Record<InputName, string>>;

/** Every input by its action.yml name: the one list the CLI flags and the action reader share. */
export const INPUT_NAMES = [
  'command',
  'database-url',
  'migrations-dir',
  'environment',
  'transaction-mode',
  'lock-timeout',
  'lock-retries',
  'statement-timeout',
  'run-lock-timeout',
  'allow-out-of-order',
  'target-version',
  'count',
  'strategy',
  'backup',
  'backup-dir',
  'pg-dump-path',
  'backup-path',
  'confirm-restore',
  'report-path',
] as const;
export type InputName = (typeof INPUT_NAMES)[number];

const blankToUndefined = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);
const optionalText = z.preprocess(blankToUndefined, z.string().trim().optional());

function duration(fallback: string | undefined, limits: { min?: number; max?: number } = {}) {
  const { min = 0, max = 24 * 3_600_000 } = limits;
  return z.preprocess(
    blankToUndefined,
    z
      .string()
      .optional()
      .transform((value, ctx) => {
        const text = value ?? fallback;
        if (text === undefined) return undefined;
        const ms = parseDuration(text);
        const problem =
          ms === undefined
            ? `"${text}" is not a duration: use a number with ms, s, m or h, e.g. 500ms, 2s, 5m`
            : ms > max
              ? `"${text}" is longer than the limit of ${formatMs(max)}`
              : ms < min
                ? `"${text}" is too short: at least ${formatMs(min)} (0 would mean waiting forever)`
                : undefined;
        if (problem) {
          ctx.addIssue({ code: 'custom', message: problem });
          return z.NEVER;
        }
        return ms;
      }),
  );
}

function formatMs(ms: number): string {
  return ms >= 60_000 && ms % 60_000 === 0
    ? `${ms / 60_000}m`
    : ms >= 1000 && ms % 1000 === 0
      ? `${ms / 1000}s`
      : `${ms}ms`;
}

function wholeNumber(message: string, min: number, max: number) {
  return z
    .string()
    .regex(/^\s*\d+\s*$/, message)
    .transform(Number)
    .pipe(z.number().int(message).min(min, message).max(max, message));
}

function boolean(fallback: boolean) {
  return z.preprocess(
    blankToUndefined,
    z
      .enum(['true', 'false', 'True', 'False', 'TRUE', 'FALSE'], {
        error: (issue) => `"${String(issue.input)}" is not a boolean: use true or false`,
      })
      .optional()
      .transform((v) => (v === undefined ? fallback : v.toLowerCase() === 'true')),
  );
}

function oneOf<const T extends readonly [string, ...string[]]>(values: T, fallback: T[number]) {
  return z.preprocess(
    blankToUndefined,
    z
      .enum(values, {
        error: (issue) => `"${String(issue.input)}" is not accepted: use one of ${values.join(', ')}`,
      })
      .default(fallback as never),
  );
}

const schema = z.object({
  command: z.preprocess(
    blankToUndefined,
    z
      .enum(['auto', ...COMMANDS], {
        error: (issue) => `unknown command "${String(issue.input)}": use one of auto, ${COMMANDS.join(', ')}`,
      })
      .default('auto'),
  ),
  'database-url': z.preprocess(
    blankToUndefined,
    z.string({ error: 'is required: pass the database connection URL (postgres://…), from a secret' }),
  ),
  'migrations-dir': z.preprocess(blankToUndefined, z.string().default('supabase/migrations')),
  environment: z.preprocess(
    blankToUndefined,
    z
      .string()
      .max(63, 'must be at most 63 characters')
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'may hold letters, digits, ".", "_" and "-" only')
      .default('default'),
  ),
  'transaction-mode': oneOf(TRANSACTION_MODES, 'all'),
  'lock-timeout': duration('2s', { min: 1, max: 10 * 60_000 }),
  'lock-retries': z.preprocess(
    blankToUndefined,
    wholeNumber('must be a whole number from 0 to 50', 0, 50).default(5),
  ),
  'statement-timeout': duration(undefined),
  'run-lock-timeout': duration('2m', { min: 1, max: 6 * 3_600_000 }),
  'allow-out-of-order': boolean(false),
  'target-version': z.preprocess(
    blankToUndefined,
    z.string().regex(/^\d+$/, 'must be a migration version: digits only, e.g. 20240101120000').optional(),
  ),
  count: z.preprocess(
    blankToUndefined,
    wholeNumber('must be a whole number of migrations from 1 to 10000', 1, 10_000).optional(),
  ),
  strategy: oneOf(['down', 'restore'] as const, 'down'),
  backup: z.preprocess(
    blankToUndefined,
    z
      .enum(BACKUP_MODES, {
        error: (issue) => `"${String(issue.input)}" is not accepted: use one of ${BACKUP_MODES.join(', ')}`,
      })
      .optional(),
  ),
  'backup-dir': optionalText,
  'pg-dump-path': optionalText,
  'backup-path': optionalText,
  'confirm-restore': optionalText,
  'report-path': optionalText,
});

export interface SettingsContext {
  /** GitHub's event name, used to resolve `command: auto` (plan on pull requests). */
  eventName?: string;
}

/**
 * Turns raw inputs into Settings, or throws one error listing every bad input with what is accepted.
 * Nothing here touches the network or the database.
 */
export function parseSettings(raw: RawInputs, context: SettingsContext = {}): Settings {
  const result = schema.safeParse(raw);
  if (!result.success) {
    const lines = result.error.issues.map(
      (issue) => `  ${String(issue.path[0] ?? 'input')}: ${issue.message}`,
    );
    throw new SettingsError(`Invalid input:\n${lines.join('\n')}`);
  }
  const v = result.data;
  const parsedUrl = parseDatabaseUrl(v['database-url']);
  if (!parsedUrl.ok) throw new SettingsError(`Invalid input:\n  database-url: ${parsedUrl.reason}`);
  const isPullRequest = context.eventName === 'pull_request' || context.eventName === 'pull_request_target';
  const command = v.command === 'auto' ? (isPullRequest ? 'plan' : 'apply') : v.command;
  if (command === 'rollback' && v['target-version'] && v.count) {
    throw new SettingsError(
      'Invalid input:\n  count: give either count or target-version for a rollback, not both',
    );
  }
  if (command === 'rollback' && v.strategy === 'restore' && !v['backup-path']) {
    throw new SettingsError(
      'Invalid input:\n  backup-path: strategy restore needs the path of the backup to restore',
    );
  }
  return {
    command,
    database: parsedUrl.target,
    databaseUrl: v['database-url'],
    migrationsDir: v['migrations-dir'],
    environment: v.environment,
    transactionMode: v['transaction-mode'],
    lockTimeoutMs: v['lock-timeout'] as number,
    lockRetries: v['lock-retries'],
    lockRetryBaseMs: 500,
    statementTimeoutMs: v['statement-timeout'],
    runLockTimeoutMs: v['run-lock-timeout'] as number,
    allowOutOfOrder: v['allow-out-of-order'],
    targetVersion: v['target-version'],
    count: v.count,
    strategy: v.strategy,
    // Changing commands default to a verified backup first; the others never need one.
    backup: v.backup ?? (command === 'apply' || command === 'rollback' ? 'required' : 'off'),
    backupDir: v['backup-dir'],
    pgDumpPath: v['pg-dump-path'],
    backupPath: v['backup-path'],
    confirmRestore: v['confirm-restore'],
    reportPath: v['report-path'],
  };
}

export class SettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SettingsError';
  }
}
