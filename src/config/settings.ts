import { z } from 'zod/mini';
import { parseIdentities, parseRecipients } from '../backup/age-keys.js';
import { parseDatabaseUrl, type DatabaseTarget } from './database-url.js';
import { exactDurationMs, parseDuration } from './duration.js';
import { parseRateLimit, type RateLimit } from './rate-limit.js';
import type { LintFailLevel } from '../lint/types.js';

export const COMMANDS = [
  'plan',
  'apply',
  'rollback',
  'status',
  'backup',
  'audit',
  'baseline',
  'lint',
] as const;
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
  /** Why this run was started: recorded in the audit log. */
  reason?: string;
  /** `audit`: the time range exported. */
  since?: Date;
  until?: Date;
  /** Post and update the sticky pull request comment (action only). */
  comment: boolean;
  /** The token for that comment; a secret (registered with the run's scrubber). */
  githubToken?: string;
  /**
   * `plan`: a scratch database the target's schema is copied into and the pending files applied
   * to for real (commands/plan-shadow.ts). A secret, like database-url; never the target itself.
   */
  shadowDatabase?: DatabaseTarget;
  /** `apply`: run even when the linter finds destructive statements (DROP COLUMN, TRUNCATE, …). */
  allowDestructive: boolean;
  /** Manual runs (workflow_dispatch, repository_dispatch): the repository roles allowed to start them. */
  allowedRoles: string[];
  /** Manual applies and rollbacks per environment; undefined: no limit (`rate-limit: 0`). */
  rateLimit?: RateLimit;
  /** Where the run's alert goes (Slack- or Teams-compatible incoming webhook); a secret. */
  notifyWebhookUrl?: string;
  /** The outcomes that send an alert. */
  notifyOn: NotifyOutcome[];
  /** age recipients (age1…): backups are encrypted to them as they are written. */
  backupEncryptionKey?: string[];
  /** age identities for restoring an encrypted backup; a secret (registered with the run's scrubber). */
  backupDecryptionKey?: string[];
  /** Findings at or above this level fail `plan` and `lint`; `off` skips the linter. */
  lint: LintFailLevel;
  /** The linter's config file (default .migration-guard.yml, optional); set when given explicitly. */
  lintConfig?: string;
}

/** The outcomes an alert can be sent for: a run's status, or `refused` for a refused manual run. */
export const NOTIFY_OUTCOMES = [
  'failed',
  'rolled-back',
  'success',
  'refused',
  'cancelled',
  'nothing-to-do',
] as const;
export type NotifyOutcome = (typeof NOTIFY_OUTCOMES)[number];

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
  'reason',
  'since',
  'until',
  'comment',
  'github-token',
  'shadow-database-url',
  'allow-destructive',
  'allowed-roles',
  'rate-limit',
  'notify-webhook-url',
  'notify-on',
  'backup-encryption-key',
  'backup-decryption-key',
  'lint',
  'lint-config',
] as const;
export type InputName = (typeof INPUT_NAMES)[number];

const blankToUndefined = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);
/** An input left blank counts as not given (GitHub passes every declared input, empty when unset). */
const input = <T extends z.core.$ZodType<unknown, unknown>>(schema: T) =>
  z.pipe(z.transform(blankToUndefined), schema);
const optionalText = input(z.optional(z.string().check(z.trim())));

/**
 * A duration input. PostgreSQL counts its timeouts in whole milliseconds and reads 0 as "no
 * timeout", so a value under 1ms (other than 0 itself) is refused: it would round to 0 and switch
 * the protection off. `zeroMeansNone` (statement-timeout): an explicit 0 is accepted and means no
 * timeout, as in PostgreSQL, the same as leaving the input out.
 */
function duration(
  fallback: string | undefined,
  limits: { min?: number; max?: number; zeroMeansNone?: boolean } = {},
) {
  const { min = 0, max = 24 * 3_600_000, zeroMeansNone = false } = limits;
  const problemWith = (text: string): string | undefined => {
    const exact = exactDurationMs(text);
    if (exact === undefined)
      return `"${text}" is not a duration: use a number with ms, s, m or h, e.g. 500ms, 2s, 5m`;
    const ms = Math.round(exact);
    return ms > max
      ? `"${text}" is longer than the limit of ${formatMs(max)}`
      : exact > 0 && exact < 1
        ? `"${text}" is shorter than 1ms: PostgreSQL counts whole milliseconds, so it would become 0, which means no timeout at all${zeroMeansNone ? ' (write 0 to mean that)' : ''}`
        : ms < min
          ? `"${text}" is too short: at least ${formatMs(min)} (0 would mean waiting forever)`
          : undefined;
  };
  return input(
    z.pipe(
      z.optional(z.string()).check(
        z.superRefine((value, ctx) => {
          const text = value ?? fallback;
          const problem = text === undefined ? undefined : problemWith(text);
          if (problem) ctx.addIssue({ code: 'custom', message: problem, input: value });
        }),
      ),
      z.transform((value: string | undefined) => {
        const text = value ?? fallback;
        const ms = text === undefined ? undefined : parseDuration(text);
        return zeroMeansNone && ms === 0 ? undefined : ms;
      }),
    ),
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
  return z.pipe(
    z.pipe(z.string().check(z.regex(/^\s*\d+\s*$/, message)), z.transform(Number)),
    z.number().check(z.int({ error: message }), z.minimum(min, message), z.maximum(max, message)),
  );
}

const BOOLEAN_WORDS = ['true', 'false', 'True', 'False', 'TRUE', 'FALSE'] as const;

function boolean(fallback: boolean) {
  return input(
    z.pipe(
      z.optional(
        z.enum(BOOLEAN_WORDS, {
          error: (issue) => `"${String(issue.input)}" is not a boolean: use true or false`,
        }),
      ),
      z.transform((v: (typeof BOOLEAN_WORDS)[number] | undefined) =>
        v === undefined ? fallback : v.toLowerCase() === 'true',
      ),
    ),
  );
}

function oneOf<const T extends readonly [string, ...string[]]>(values: T, fallback: T[number]) {
  return input(
    z._default(
      z.enum(values, {
        error: (issue) => `"${String(issue.input)}" is not accepted: use one of ${values.join(', ')}`,
      }),
      fallback as never,
    ),
  );
}

const TIMESTAMP_HELP =
  'must be a date or time in ISO 8601 (2026-01-31, 2026-01-31T12:00:00Z) or a span back from now (7d, 12h, 30m)';

/** An ISO 8601 date/time, or a span back from now ("7d", "12h", "30m"). */
function timestamp(text: string | undefined, now = Date.now()): Date | undefined {
  if (text === undefined) return undefined;
  const span = /^\s*(\d+)\s*(d|h|m)\s*$/.exec(text);
  if (span) {
    const unit = { d: 86_400_000, h: 3_600_000, m: 60_000 }[span[2] as 'd' | 'h' | 'm'];
    return new Date(now - Number(span[1]) * unit);
  }
  if (!/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(text.trim())) return undefined;
  const parsed = new Date(text.trim());
  return Number.isNaN(parsed.getTime()) ? undefined : parsed;
}

export const LINT_LEVELS = ['error', 'warning', 'off'] as const;

// zod/mini: the same validation as zod's classic API, a third of the bundle's evaluation time.
const schema = z.object({
  command: input(
    z._default(
      z.enum(['auto', ...COMMANDS], {
        error: (issue) => `unknown command "${String(issue.input)}": use one of auto, ${COMMANDS.join(', ')}`,
      }),
      'auto',
    ),
  ),
  'database-url': input(
    z.string({ error: 'is required: pass the database connection URL (postgres://…), from a secret' }),
  ),
  'migrations-dir': input(z._default(z.string(), 'supabase/migrations')),
  environment: input(
    z._default(
      z
        .string()
        .check(
          z.maxLength(63, 'must be at most 63 characters'),
          z.regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'may hold letters, digits, ".", "_" and "-" only'),
        ),
      'default',
    ),
  ),
  'transaction-mode': oneOf(TRANSACTION_MODES, 'all'),
  'lock-timeout': duration('2s', { min: 1, max: 10 * 60_000 }),
  'lock-retries': input(z._default(wholeNumber('must be a whole number from 0 to 50', 0, 50), 5)),
  'statement-timeout': duration(undefined, { zeroMeansNone: true }),
  'run-lock-timeout': duration('2m', { min: 1, max: 6 * 3_600_000 }),
  'allow-out-of-order': boolean(false),
  'target-version': input(
    z.optional(
      z.string().check(
        z.trim(),
        z.regex(/^(\d+|all)$/, {
          error: (issue) =>
            `"${String(issue.input)}" is not a migration version: digits only (the start of a file name), e.g. 20240101120000; baseline also takes all`,
        }),
      ),
    ),
  ),
  count: input(z.optional(wholeNumber('must be a whole number of migrations from 1 to 10000', 1, 10_000))),
  strategy: oneOf(['down', 'restore'] as const, 'down'),
  backup: input(
    z.optional(
      z.enum(BACKUP_MODES, {
        error: (issue) => `"${String(issue.input)}" is not accepted: use one of ${BACKUP_MODES.join(', ')}`,
      }),
    ),
  ),
  'backup-dir': optionalText,
  'pg-dump-path': optionalText,
  'backup-path': optionalText,
  'confirm-restore': optionalText,
  'report-path': optionalText,
  reason: optionalText,
  since: input(z.optional(z.string().check(z.refine((v) => timestamp(v) !== undefined, TIMESTAMP_HELP)))),
  until: input(z.optional(z.string().check(z.refine((v) => timestamp(v) !== undefined, TIMESTAMP_HELP)))),
  comment: boolean(true),
  'github-token': input(z.optional(z.string().check(z.trim()))),
  'shadow-database-url': optionalText,
  'allow-destructive': boolean(false),
  'allowed-roles': input(
    z._default(
      z
        .string()
        .check(
          z.refine(
            (v) => commaList(v).length > 0 && commaList(v).every((r) => /^[a-z0-9][a-z0-9 _-]*$/.test(r)),
            'must be a comma-separated list of repository roles, e.g. admin,maintain (role names as GitHub gives them: admin, maintain, write, triage, read, or a custom role)',
          ),
        ),
      'admin,maintain',
    ),
  ),
  'rate-limit': input(
    z._default(
      z.string().check(
        z.superRefine((value, ctx) => {
          const parsed = parseRateLimit(value);
          if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.problem, input: value });
        }),
      ),
      '1/10m',
    ),
  ),
  'notify-webhook-url': input(
    z.optional(
      z.string().check(
        z.trim(),
        // The URL itself is a secret: the message never quotes it.
        z.refine((v) => /^https?:\/\/[^\s/]+/i.test(v) && URL.canParse(v), {
          error:
            'is not an http(s) URL: give the incoming webhook URL of your Slack or Teams channel, from a secret',
        }),
      ),
    ),
  ),
  'notify-on': input(
    z._default(
      z.string().check(
        z.superRefine((value, ctx) => {
          const unknown = commaList(value).filter((v) => !(NOTIFY_OUTCOMES as readonly string[]).includes(v));
          if (unknown.length > 0 || commaList(value).length === 0)
            ctx.addIssue({
              code: 'custom',
              message: `${unknown.length ? `"${unknown.join(', ')}" is not accepted` : 'is empty'}: use a comma-separated list of ${NOTIFY_OUTCOMES.join(', ')}`,
              input: value,
            });
        }),
      ),
      'failed,rolled-back',
    ),
  ),
  'backup-encryption-key': ageKeys(parseRecipients),
  'backup-decryption-key': ageKeys(parseIdentities),
  lint: oneOf(LINT_LEVELS, 'error'),
  'lint-config': optionalText,
});

/** "admin, Maintain" → ["admin", "maintain"]: role names and outcomes compare in lower case. */
function commaList(text: string): string[] {
  return text
    .split(',')
    .map((item) => item.trim().toLowerCase())
    .filter(Boolean);
}

/** An age key input: checked for shape here (the age library decodes it when it is used). */
function ageKeys(parse: (text: string) => { ok: true } | { ok: false; reason: string }) {
  return input(
    z.optional(
      z.string().check(
        z.superRefine((value, ctx) => {
          const parsed = parse(value);
          // `input` is left out: an issue carrying the value could print a private key.
          if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.reason });
        }),
      ),
    ),
  );
}

function keyList(value: string | undefined, parse: typeof parseRecipients | typeof parseIdentities) {
  if (value === undefined) return undefined;
  const parsed = parse(value);
  if (!parsed.ok) return undefined;
  return 'recipients' in parsed ? parsed.recipients : parsed.identities;
}

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
  if (command === 'baseline' && !v['target-version']) {
    // Marking files applied without running them is only undone by hand: never by default, nor
    // from an empty value (an unset variable, or an input GitHub passes blank when it is not given).
    throw new SettingsError(
      'Invalid input:\n  target-version: baseline needs it: the newest migration version the database already has ' +
        '(files up to it are marked applied without running them), or all to mark every file in migrations-dir',
    );
  }
  if (command === 'rollback' && v['target-version'] === 'all') {
    throw new SettingsError(
      'Invalid input:\n  target-version: all is for baseline only; for rollback give the newest version to keep, or count',
    );
  }
  if (command === 'rollback' && v.strategy === 'restore' && !v['backup-path']) {
    throw new SettingsError(
      'Invalid input:\n  backup-path: strategy restore needs the path of the backup to restore',
    );
  }
  const shadowDatabase = shadowTarget(v['shadow-database-url'], parsedUrl.target);
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
    reason: v.reason,
    since: timestamp(v.since),
    until: timestamp(v.until),
    comment: v.comment,
    githubToken: v['github-token'],
    shadowDatabase,
    allowDestructive: v['allow-destructive'],
    allowedRoles: commaList(v['allowed-roles']),
    rateLimit: (parseRateLimit(v['rate-limit']) as { ok: true; limit?: RateLimit }).limit,
    notifyWebhookUrl: v['notify-webhook-url'],
    notifyOn: commaList(v['notify-on']) as NotifyOutcome[],
    backupEncryptionKey: keyList(v['backup-encryption-key'], parseRecipients),
    backupDecryptionKey: keyList(v['backup-decryption-key'], parseIdentities),
    lint: v.lint,
    lintConfig: v['lint-config'],
  };
}

/** What the `lint` command reads: it needs no database, so database-url is neither required nor read. */
export interface LintSettings {
  migrationsDir: string;
  environment: string;
  lint: LintFailLevel;
  lintConfig?: string;
  reportPath?: string;
}

export function parseLintSettings(raw: RawInputs): LintSettings {
  const result = z.omit(schema, { 'database-url': true }).safeParse(raw);
  if (!result.success) {
    const lines = result.error.issues.map(
      (issue) => `  ${String(issue.path[0] ?? 'input')}: ${issue.message}`,
    );
    throw new SettingsError(`Invalid input:\n${lines.join('\n')}`);
  }
  const v = result.data;
  return {
    migrationsDir: v['migrations-dir'],
    environment: v.environment,
    lint: v.lint,
    lintConfig: v['lint-config'],
    reportPath: v['report-path'],
  };
}

/**
 * The shadow database, refused when it names the target itself (same host, port and database):
 * `plan` resets the shadow before copying into it. The same database reached under another name
 * (a pooler, a DNS alias) is caught again once connected (commands/plan-shadow.ts).
 */
function shadowTarget(raw: string | undefined, target: DatabaseTarget): DatabaseTarget | undefined {
  if (raw === undefined) return undefined;
  const parsed = parseDatabaseUrl(raw);
  if (!parsed.ok) throw new SettingsError(`Invalid input:\n  shadow-database-url: ${parsed.reason}`);
  const shadow = parsed.target;
  if (
    sameHost(shadow.host, target.host) &&
    shadow.port === target.port &&
    shadow.database === target.database
  ) {
    throw new SettingsError(
      `Invalid input:\n  shadow-database-url: it names the same database as database-url (${target.display}); ` +
        'plan resets the shadow database before copying the schema into it, so it must be a separate, ' +
        'scratch database (an empty one, or one an earlier plan prepared)',
    );
  }
  return shadow;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1']);

function sameHost(a: string, b: string): boolean {
  const [x, y] = [a.toLowerCase(), b.toLowerCase()];
  return x === y || (LOOPBACK.has(x) && LOOPBACK.has(y));
}

export class SettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SettingsError';
  }
}
