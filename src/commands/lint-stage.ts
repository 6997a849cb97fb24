import type { Client } from '../db/connect.js';
import { errorMessage, formatLocation } from '../errors.js';
import { lintMigrations, type LintOptions, type TableStatsLookup } from '../lint/index.js';
import { lintConfigFor, type LintConfig } from '../lint/config.js';
import { liveStatsLoader } from '../lint/live-stats.js';
import { liveTableSecurity } from '../lint/live-security.js';
import type { LintFailLevel, LintFinding, LintReport } from '../lint/types.js';
import type { Migration } from '../migrations/discover.js';
import type { KeptStatements } from '../migrations/statements.js';
import type { Logger } from '../logger.js';
import type { RunResult } from '../engine/result.js';
import type { CommandContext } from './context.js';

/**
 * Lints the pending files, with the live size of the tables they touch when a connection is
 * given (the target's: a shadow database holds no rows). The config file is lint-config, else
 * .migration-guard.yml in the working directory when there is one.
 */
export async function lintPending(
  ctx: CommandContext,
  pending: Migration[],
  {
    client,
    config,
    keep,
  }: {
    client?: Client;
    config?: LintConfig;
    /** Filled with the files' statements as parsed here, for the engine to split without parsing again. */
    keep?: KeptStatements;
  } = {},
): Promise<LintReport> {
  config ??= await lintConfigFor(ctx.settings, ctx.cwd ?? process.cwd());
  const report = await lintMigrations(pending, {
    config,
    keep,
    loadTableStats: client ? boundedStatsLoader(ctx, client) : undefined,
    // Row-level security and policies of the live tables (one catalog query, no table lock).
    tableSecurity: client ? await liveSecurity(ctx, client) : undefined,
    parseAhead: true,
    debug: (message) => ctx.logger.debug(message),
  });
  const { error, warning, info } = report.counts;
  if (report.findings.length > 0)
    ctx.logger.info(
      `Lint: ${error} error(s), ${warning} warning(s), ${info} info over ${pending.length} pending file(s)` +
        (report.context === 'live' ? ' (severity from live table sizes)' : ''),
    );
  return report;
}

/** The live tables' RLS state for the security rules; unreadable means static rules, with a warning. */
async function liveSecurity(ctx: CommandContext, client: Client): Promise<LintOptions['tableSecurity']> {
  try {
    return await liveTableSecurity(client);
  } catch (error) {
    ctx.logger.warn(`Lint: row-level security of the live tables could not be read (${errorMessage(error)})`);
    return undefined;
  }
}

/**
 * Reading a table's size takes a share lock on it: under lock-timeout, so a table another session
 * holds exclusively (DDL, VACUUM FULL) cannot stall the run. Sizes that cannot be read leave the
 * severities static, with a warning.
 */
function boundedStatsLoader(ctx: CommandContext, client: Client): LintOptions['loadTableStats'] {
  const load = liveStatsLoader(client);
  return async (tables) => {
    if (tables.length === 0) return load(tables);
    try {
      await client.query(
        `BEGIN; SET LOCAL lock_timeout = ${Math.max(1, Math.round(ctx.settings.lockTimeoutMs))}`,
      );
      try {
        return await load(tables);
      } finally {
        await client.query('COMMIT').catch(() => {});
      }
    } catch (error) {
      ctx.logger.warn(`Lint: table sizes could not be read (${errorMessage(error)}): severities are static`);
      // No lookup at all (not an empty one), so the report says `static`.
      return undefined as unknown as TableStatsLookup;
    }
  };
}

/** The findings that fail a run at `level`: not ignored, at or above it. */
export function failingFindings(report: LintReport | undefined, level: LintFailLevel): LintFinding[] {
  if (!report || level === 'off') return [];
  const counts = level === 'warning' ? ['error', 'warning'] : ['error'];
  return report.findings.filter((f) => !f.ignored && counts.includes(f.severity));
}

/** "3 lint finding(s) at or above error (fail level); the first: file:1:1: [rule] message". */
export function describeLintFailure(failing: LintFinding[], level: LintFailLevel): string {
  const first = failing[0];
  return (
    `${failing.length} lint finding(s) at or above ${level} (the lint fail level); the first: ` +
    `${formatLocation(first)}[${first.rule}] ${first.message}`
  );
}

/**
 * plan's status follows the rehearsal and the linter: findings (not ignored) at or above the
 * `lint` fail level fail a plan whose rehearsal passed, with a message naming how many and the
 * first; a plan that failed already says so too. A cancelled plan stays cancelled.
 */
export function withLintVerdict(result: RunResult, level: LintFailLevel, logger: Logger): RunResult {
  const failing = failingFindings(result.lint, level);
  if (failing.length === 0 || result.status === 'cancelled') return result;
  const verdict = describeLintFailure(failing, level);
  result.lintFailing = failing.length;
  if (result.status === 'failed') {
    result.message = `${result.message} Also: ${verdict}.`;
    return result;
  }
  result.status = 'failed';
  result.message = `${verdict}. ${result.message.replace(/^\S/, (c) => c.toUpperCase())}`;
  logger.info(result.message);
  return result;
}
