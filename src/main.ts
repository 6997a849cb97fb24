import * as core from '@actions/core';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { cancelOnSignals } from './cancel.js';
import { runCommandBeforeAudit } from './commands/index.js';
import { readActionInputs } from './config/inputs.js';
import { runContextFromEnv } from './config/run-context.js';
import { scrubberForInputs } from './config/run-scrubber.js';
import { parseLintSettings, parseSettings, type RawInputs } from './config/settings.js';
import { lintCommand } from './commands/lint.js';
import { GuardError } from './errors.js';
import { countsLine, findingLine } from './lint/format.js';
import type { LintReport } from './lint/types.js';
import { StageEvents } from './engine/events.js';
import type { RunResult } from './engine/result.js';
import { commentBoardFor } from './github/board.js';
import { permissionReaderFor } from './github/permission.js';
import { scrubbingLogger, type Logger } from './logger.js';
import { notifyRun } from './notify/index.js';
import { renderAnnotations } from './report/annotations.js';
import { renderSummary } from './report/summary.js';
import { TOOL_VERSION } from './version.js';

const coreLogger: Logger = {
  info: (m) => core.info(m),
  warn: (m) => core.warning(m),
  error: (m) => core.error(m),
  debug: (m) => core.debug(m),
  group: (title, fn) => core.group(title, fn),
};

/** The action: read inputs, run one command, publish outputs, report and summary. */
export async function run(): Promise<void> {
  const runContext = runContextFromEnv();
  // Reading never fails (validation does, below): the scrubber exists before any message does.
  const raw = readActionInputs();
  const scrubber = scrubberForInputs(raw);
  // Every form the scrubber knows (decoded, encoded) is masked in the runner's log too.
  for (const secret of scrubber.list()) core.setSecret(secret);
  if (raw.command?.trim() === 'lint') return runLint(raw);
  let settings;
  try {
    settings = parseSettings(raw, { eventName: runContext.eventName });
  } catch (error) {
    const message = scrubber.scrub((error as Error).message);
    const result = invalidInputResult(message);
    core.setOutput('status', 'failed');
    core.setOutput('changed', 'false');
    // A report even so: a fan-out's status board shows this target's error, not "no report".
    const requested = raw['report-path']?.trim();
    await writeReport(result, requested || (await defaultReportPath('unknown', 'invalid-inputs')));
    await writeSummary(result);
    core.setFailed(message);
    return;
  }
  const logger = scrubbingLogger(coreLogger, scrubber.scrub);
  const stop = cancelOnSignals(logger);
  const events = new StageEvents((error) =>
    logger.warn(`A run listener failed: ${(error as Error).message}`),
  );
  const board = commentBoardFor(settings, runContext, process.env, scrubber, logger);
  if (board) events.on(board.listener);
  // Scrubbed (then its statements cut) by runCommand: every sink below writes from it as it is.
  const { result, audited } = await runCommandBeforeAudit({
    settings,
    logger,
    run: runContext,
    signal: stop.signal,
    scrubber,
    events,
    // The manual-run guard: GitHub is asked only for workflow_dispatch and repository_dispatch runs.
    permissions: permissionReaderFor(settings.githubToken, runContext, process.env, stop.signal),
  });
  stop.dispose();

  await writeReport(
    result,
    settings.reportPath ?? (await defaultReportPath(settings.environment, settings.command)),
  );
  publishOutputs(result);
  await writeSummary(result);
  annotate(result);
  // Last, and bounded (side by side): a GitHub API or a webhook that never answers cannot hold the job.
  const waitStarted = Date.now();
  await Promise.all([
    audited,
    board?.finish(COMMENT_WAIT_MS),
    notifyRun(
      settings,
      result,
      {
        actor: runContext.triggeringActor || runContext.actor,
        eventName: runContext.eventName,
        repository: runContext.repository,
        reason: settings.reason,
      },
      logger,
      scrubber,
    ),
  ]);
  // What the benchmark reads to tell these from the rest (bench/apply-bench.mjs).
  core.debug(
    `Pull request comment, alert and audit log: waited ${Date.now() - waitStarted} ms after the report`,
  );
  if (result.status !== 'success' && result.status !== 'nothing-to-do') core.setFailed(result.message);
}

/**
 * Under RUNNER_TEMP on a runner. Outside one, a private folder of its own (mkdtemp, 0700), not a
 * name in the shared temp folder that any local user could have put a symlink at.
 */
async function defaultReportPath(environment: string, command: string): Promise<string> {
  const name = `migration-guard-${environment}-${command}.json`;
  if (process.env.RUNNER_TEMP) return join(process.env.RUNNER_TEMP, name);
  // A temp folder that cannot be written: the working directory (the write reports its own failure).
  return join(await mkdtemp(join(tmpdir(), 'migration-guard-')).catch(() => process.cwd()), name);
}

/** The JSON report (the run's result, already scrubbed) and the `report-path` output. */
async function writeReport(result: RunResult | LintReport, path: string): Promise<void> {
  const reportPath = resolve(path);
  try {
    await mkdir(dirname(reportPath), { recursive: true });
    await writeFile(reportPath, `${JSON.stringify(result, null, 2)}\n`, { mode: 0o600 });
    core.setOutput('report-path', reportPath);
  } catch (error) {
    core.warning(`Could not write the JSON report to ${reportPath}: ${(error as Error).message}`);
  }
}

/** How long the run waits, at its end, for the pull request comment's last update. */
const COMMENT_WAIT_MS = 10_000;

/** Bad inputs still get a job summary: the run is reported even when it never started. */
function invalidInputResult(message: string): RunResult {
  const now = new Date().toISOString();
  return {
    tool: { name: 'supabase-migration-guard', version: TOOL_VERSION },
    command: 'apply',
    environment: 'unknown',
    status: 'failed',
    changed: false,
    startedAt: now,
    finishedAt: now,
    durationMs: 0,
    migrations: [],
    applied: [],
    pendingCount: 0,
    findings: [],
    skippedFiles: [],
    message: `${message}\nNothing was run: fix the inputs above.`,
    error: { message },
  };
}

function publishOutputs(result: RunResult): void {
  core.setOutput('status', result.status);
  core.setOutput('changed', String(result.changed));
  core.setOutput('applied-count', String(result.applied.length));
  core.setOutput('pending-count', String(result.pendingCount));
  core.setOutput('applied', JSON.stringify(result.applied));
  core.setOutput('current-version', result.currentVersion ?? '');
  core.setOutput('run-id', result.runId !== undefined ? String(result.runId) : '');
  core.setOutput('backup-path', result.backup?.path ?? '');
  core.setOutput('backup-sha256', result.backup?.sha256 ?? '');
}

/** A summary that cannot be written is logged, never fails the migration. */
async function writeSummary(result: RunResult): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY) return;
  try {
    await core.summary.addRaw(renderSummary(result)).write();
  } catch (error) {
    core.warning(`Could not write the job summary: ${(error as Error).message}`);
  }
}

/** Annotations at file, line and column; like the summary, a failure to render never fails the run. */
function annotate(result: RunResult): void {
  try {
    for (const a of renderAnnotations(result)) {
      const properties = { title: a.title, file: a.file, startLine: a.line, startColumn: a.column };
      if (a.level === 'error') core.error(a.message, properties);
      else if (a.level === 'notice') core.notice(a.message, properties);
      else core.warning(a.message, properties);
    }
  } catch (error) {
    core.warning(`Could not write the annotations: ${(error as Error).message}`);
  }
}

/** `command: lint`: the linter alone, no database; findings as annotations and log lines. */
async function runLint(raw: RawInputs): Promise<void> {
  let outcome;
  let settings;
  try {
    settings = parseLintSettings(raw);
    if (settings.lint === 'off') {
      core.info('lint: off (the lint input is off): nothing was linted');
      core.setOutput('status', 'success');
      return;
    }
    outcome = await lintCommand(settings, process.cwd(), (message) => core.debug(message));
  } catch (error) {
    core.setOutput('status', 'failed');
    core.setFailed(error instanceof GuardError ? error.describe() : (error as Error).message);
    return;
  }
  const { report } = outcome;
  for (const finding of report.findings) {
    core.info(findingLine(finding));
    if (finding.ignored) continue;
    const properties = {
      title: `${finding.rule} (${finding.family})`,
      file: finding.file,
      startLine: finding.line,
      startColumn: finding.column,
    };
    if (finding.severity === 'error') core.error(finding.message, properties);
    else if (finding.severity === 'warning') core.warning(finding.message, properties);
    else core.notice(finding.message, properties);
  }
  const summary = `lint: ${countsLine(report)} in ${outcome.files} files (fail level ${settings.lint})`;
  core.info(summary);
  await writeReport(report, settings.reportPath ?? (await defaultReportPath(settings.environment, 'lint')));
  core.setOutput('status', outcome.exitCode === 0 ? 'success' : 'failed');
  if (outcome.exitCode !== 0) core.setFailed(summary);
}
