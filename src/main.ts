import * as core from '@actions/core';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { cancelOnSignals } from './cancel.js';
import { runCommand } from './commands/index.js';
import { readActionInputs } from './config/inputs.js';
import { runContextFromEnv } from './config/run-context.js';
import { scrubberForInputs } from './config/run-scrubber.js';
import { parseLintSettings, parseSettings, type RawInputs } from './config/settings.js';
import { lintCommand } from './commands/lint.js';
import { GuardError } from './errors.js';
import { countsLine, findingLine } from './lint/format.js';
import { StageEvents } from './engine/events.js';
import type { RunResult } from './engine/result.js';
import { commentBoardFor } from './github/board.js';
import { scrubbingLogger, type Logger } from './logger.js';
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
    core.setOutput('status', 'failed');
    core.setOutput('changed', 'false');
    await writeSummary(invalidInputResult(message));
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
  const result = await runCommand({
    settings,
    logger,
    run: runContext,
    signal: stop.signal,
    scrubber,
    events,
  });
  stop.dispose();

  const reportPath = resolve(
    settings.reportPath ??
      join(
        process.env.RUNNER_TEMP || tmpdir(),
        `migration-guard-${settings.environment}-${settings.command}.json`,
      ),
  );
  try {
    await mkdir(dirname(reportPath), { recursive: true });
    await writeFile(reportPath, `${JSON.stringify(result, null, 2)}\n`);
    core.setOutput('report-path', reportPath);
  } catch (error) {
    core.warning(`Could not write the JSON report to ${reportPath}: ${(error as Error).message}`);
  }
  publishOutputs(result);
  await writeSummary(result);
  annotate(result);
  // Last, and bounded: a GitHub API that never answers cannot hold the job.
  await board?.finish(COMMENT_WAIT_MS);
  if (result.status !== 'success' && result.status !== 'nothing-to-do') core.setFailed(result.message);
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
    outcome = await lintCommand(settings);
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
  const reportPath = resolve(
    settings.reportPath ?? join(process.env.RUNNER_TEMP || tmpdir(), 'migration-guard-lint.json'),
  );
  try {
    await mkdir(dirname(reportPath), { recursive: true });
    await writeFile(reportPath, `${JSON.stringify(report, null, 2)}\n`);
    core.setOutput('report-path', reportPath);
  } catch (error) {
    core.warning(`Could not write the JSON report to ${reportPath}: ${(error as Error).message}`);
  }
  core.setOutput('status', outcome.exitCode === 0 ? 'success' : 'failed');
  if (outcome.exitCode !== 0) core.setFailed(summary);
}
