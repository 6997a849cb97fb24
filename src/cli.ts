import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { runCommand } from './commands/index.js';
import { aggregateMain } from './commands/aggregate.js';
import { cancelOnSignals } from './cancel.js';
import { runContextFromEnv } from './config/run-context.js';
import { scrubberForInputs } from './config/run-scrubber.js';
import { COMMANDS, INPUT_NAMES, parseSettings, type InputName, type RawInputs } from './config/settings.js';
import type { Logger } from './logger.js';
import { scrubbingLogger } from './logger.js';
import { notifyRun } from './notify/index.js';
import { renderText } from './report/text.js';
import { isUsageError, lintCommand } from './commands/lint.js';
import { parseLintSettings } from './config/settings.js';
import { GuardError } from './errors.js';
import { countsLine, findingLine } from './lint/format.js';

const USAGE = `Usage: migration-guard <command> [--flag value ...]

Commands: ${COMMANDS.join(', ')}
          aggregate: one status board from many targets' JSON reports; needs no database
          (migration-guard aggregate --help)

Flags (the same names as the action's inputs):
  --database-url URL        required (except for lint); or set DATABASE_URL
  --migrations-dir DIR      default supabase/migrations
  --environment NAME        label for reports (default "default")
  --transaction-mode MODE   all (default) | per-file
  --lock-timeout DURATION   default 2s
  --lock-retries N          default 5
  --statement-timeout DUR   default none
  --run-lock-timeout DUR    how long to wait for another run's lock (default 2m)
  --allow-out-of-order      run pending files older than the newest applied one
  --target-version VERSION  baseline (required): mark files up to this version, or all;
                            rollback: revert every migration newer than this version
  --count N                 rollback: revert the newest N migrations (default 1)
  --strategy down|restore   rollback: down migrations (default) or restore --backup-path
  --backup MODE             required (default for apply/rollback) | optional | off
  --backup-dir DIR          where backups go (default ~/.local/state/supabase-migration-guard/backups;
                            created 0700, dumps 0600)
  --pg-dump-path PATH       pg_dump to use (pg_restore and psql beside it)
  --backup-path FILE        rollback --strategy restore: the backup to restore
  --confirm-restore DB      rollback --strategy restore: the database name, confirming the restore
  --report-path FILE        write the JSON report here (audit: its exports go beside it)
  --backup-encryption-key AGE1KEY
                            encrypt backups to this age public key (writes ….dump.age)
  --backup-decryption-key KEY
                            restore an encrypted backup: the age identity; better given as
                            BACKUP_DECRYPTION_KEY in the environment (a flag shows in ps)
  --reason TEXT             why this run was started (recorded in the audit log)
  --notify-webhook-url URL  send one message per run to this Slack/Teams incoming webhook
  --notify-on OUTCOMES      which outcomes send one (default failed,rolled-back; also success,
                            refused, cancelled, nothing-to-do)
  --since WHEN, --until WHEN
                            audit: the exported range (2026-01-31, 2026-01-31T12:00Z, 7d, 12h)
  --lint LEVEL              error (default) | warning | off: findings at this level fail plan and lint
  --lint-config FILE        the linter's config (default .migration-guard.yml, if present)
  --json                    print the JSON report instead of the text table (lint: instead of the lines)

lint prints one line per finding (file:line:column severity rule message) and needs no database.

Exit codes: 0 success or nothing to do, 1 the run failed or was cancelled, 2 bad usage.`;

const BOOLEAN_FLAGS = new Set<InputName>(['allow-out-of-order']);
// The manual-run guard is the action's: it reads the repository role of whoever started a workflow.
const ACTION_ONLY = new Set(['command', 'comment', 'github-token', 'allowed-roles', 'rate-limit']);

export function parseArgs(argv: string[]): { raw: RawInputs; json: boolean; help: boolean } {
  const raw: RawInputs = {};
  let json = false;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') help = true;
    else if (arg === '--json') json = true;
    else if (arg.startsWith('--')) {
      const [flag, inline] = arg.slice(2).split(/=(.*)/s, 2);
      // The pull request comment is the action's: the CLI has no pull request to post on.
      if (!(INPUT_NAMES as readonly string[]).includes(flag) || ACTION_ONLY.has(flag)) {
        throw new UsageError(`Unknown flag --${flag}`);
      }
      const name = flag as InputName;
      if (inline !== undefined) raw[name] = inline;
      else if (BOOLEAN_FLAGS.has(name) && !/^(true|false)$/i.test(argv[i + 1] ?? '')) raw[name] = 'true';
      else if (argv[i + 1] === undefined) throw new UsageError(`--${flag} needs a value`);
      else raw[name] = argv[++i];
      // Settings read a blank value as "not given" (as the action must: GitHub passes unset inputs
      // blank). Typed on a command line it is usually an unset variable (`--target-version "$V"`):
      // refuse it rather than fall back to a default the caller did not choose.
      if (raw[name]!.trim() === '') {
        throw new UsageError(`--${flag} was given an empty value: give a value, or leave the flag out`);
      }
    } else if (raw.command === undefined) raw.command = arg;
    else throw new UsageError(`Unexpected argument "${arg}"`);
  }
  return { raw, json, help };
}

class UsageError extends Error {}

const stderrLogger: Logger = {
  info: (m) => process.stderr.write(`${m}\n`),
  warn: (m) => process.stderr.write(`warning: ${m}\n`),
  error: (m) => process.stderr.write(`error: ${m}\n`),
  debug: (m) => {
    if (process.env.MIGRATION_GUARD_DEBUG) process.stderr.write(`debug: ${m}\n`);
  },
  group: async (title, fn) => {
    process.stderr.write(`== ${title}\n`);
    return fn();
  },
};

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  // Reads report files only: none of the database flags, settings or scrubbing of a run apply.
  if (argv[0] === 'aggregate') return aggregateMain(argv.slice(1), env);
  let parsed;
  try {
    parsed = parseArgs(argv);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  if (parsed.help || !parsed.raw.command) {
    process.stdout.write(`${USAGE}\n`);
    return parsed.help ? 0 : 2;
  }
  if (parsed.raw.command === 'auto') {
    process.stderr.write('The CLI needs an explicit command.\n');
    return 2;
  }
  if (parsed.raw.command === 'lint') return lintMain(parsed.raw, parsed.json);
  parsed.raw['database-url'] ??= env.DATABASE_URL;
  parsed.raw['backup-decryption-key'] ??= env.BACKUP_DECRYPTION_KEY;
  const scrubber = scrubberForInputs(parsed.raw);
  let settings;
  try {
    settings = parseSettings(parsed.raw);
  } catch (error) {
    process.stderr.write(`${scrubber.scrub((error as Error).message)}\n`);
    return 2;
  }
  const logger = scrubbingLogger(stderrLogger, scrubber.scrub);
  const stop = cancelOnSignals(logger);
  const run = runContextFromEnv(env);
  // Scrubbed (then its statements cut) by runCommand: the report and stdout are written from it as it is.
  const result = await runCommand({ settings, logger, run, signal: stop.signal, scrubber });
  stop.dispose();
  await notifyRun(
    settings,
    result,
    {
      actor: run.triggeringActor || run.actor,
      eventName: run.eventName,
      repository: run.repository,
      reason: settings.reason,
    },
    logger,
    scrubber,
  );
  if (settings.reportPath) {
    const path = resolve(settings.reportPath);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, `${JSON.stringify(result, null, 2)}\n`);
  }
  process.stdout.write(parsed.json ? `${JSON.stringify(result, null, 2)}\n` : renderText(result));
  return result.status === 'success' || result.status === 'nothing-to-do' ? 0 : 1;
}

/** `lint`: no database, no run record; the findings on stdout (lines, or the JSON report with --json). */
async function lintMain(raw: RawInputs, json: boolean): Promise<number> {
  let settings;
  try {
    settings = parseLintSettings(raw);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return 2;
  }
  if (settings.lint === 'off') {
    process.stderr.write('lint: off (the lint input is off): nothing was linted\n');
    return 0;
  }
  let outcome;
  try {
    outcome = await lintCommand(settings, process.cwd(), stderrLogger.debug);
  } catch (error) {
    const message = error instanceof GuardError ? error.describe() : (error as Error).message;
    process.stderr.write(`${message}\n`);
    return isUsageError(error) ? 2 : 1;
  }
  const { report } = outcome;
  if (settings.reportPath) {
    const path = resolve(settings.reportPath);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, `${JSON.stringify(report, null, 2)}\n`);
  }
  if (json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else for (const finding of report.findings) process.stdout.write(`${findingLine(finding)}\n`);
  process.stderr.write(
    `lint: ${countsLine(report)} in ${outcome.files} file${outcome.files === 1 ? '' : 's'} (fail level ${settings.lint})\n`,
  );
  return outcome.exitCode;
}
