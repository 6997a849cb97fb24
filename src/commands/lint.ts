import { resolve } from 'node:path';
import type { LintSettings } from '../config/settings.js';
import { GuardError } from '../errors.js';
import { lintConfigFor } from '../lint/config.js';
import { reachesFailLevel } from '../lint/format.js';
import { ParseWorker } from '../lint/parse-ahead.js';
import { lintMigrations } from '../lint/runner.js';
import { invalidMigrationFile } from '../lint/rules/robustness.js';
import type { LintFinding, LintReport, LintSeverity } from '../lint/types.js';
import { discoverMigrations } from '../migrations/discover.js';

export interface LintOutcome {
  report: LintReport;
  /** 0: nothing reaches the fail level; 1: something does. */
  exitCode: 0 | 1;
  files: number;
}

/**
 * The `lint` command: every migration in the folder, no database, static severities. A table
 * counts as new only in the file that creates it (the folder holds applied files too, so the
 * release cannot be told apart). Throws a GuardError for what is bad usage (no folder, a config
 * file that is invalid); what the files contain is always a finding.
 */
export async function lintCommand(
  settings: Pick<LintSettings, 'migrationsDir' | 'lint' | 'lintConfig'>,
  cwd = process.cwd(),
  debug?: (message: string) => void,
): Promise<LintOutcome> {
  const config = await lintConfigFor(settings, cwd);
  // A long history is parsed on a second core: the thread starts while the files are read.
  const worker = ParseWorker.startForFolder(resolve(cwd, settings.migrationsDir));
  let set;
  try {
    set = await discoverMigrations(settings.migrationsDir, cwd, { lazyChecksums: true });
  } catch (error) {
    await worker?.stop();
    // The folder exists but its files cannot be read as migrations: a finding, like what they contain.
    if (!(error instanceof GuardError) || error.code === 'migrations-dir') throw error;
    const report = folderFinding(error, config.rules[invalidMigrationFile.id]);
    return { report, exitCode: reachesFailLevel(report, settings.lint) ? 1 : 0, files: 0 };
  }
  const report = await lintMigrations(set.migrations, {
    config,
    newTableScope: 'file',
    parseAhead: worker ?? true,
    debug,
  });
  return { report, exitCode: reachesFailLevel(report, settings.lint) ? 1 : 0, files: set.migrations.length };
}

function folderFinding(error: GuardError, override: LintSeverity | 'off' | undefined): LintReport {
  const severity: LintSeverity = override === undefined || override === 'off' ? 'error' : override;
  const finding: LintFinding = {
    rule: invalidMigrationFile.id,
    family: invalidMigrationFile.family,
    severity,
    message: `${error.message}${error.hint ? `: ${error.hint}` : ''}`.replace(/\s*\n\s*/g, ' '),
    file: error.location?.file,
    line: error.location?.file ? (error.location.line ?? 1) : undefined,
    column: error.location?.file ? (error.location.column ?? 1) : undefined,
    source: 'static',
  };
  const counts = { error: 0, warning: 0, info: 0 };
  counts[severity]++;
  return { findings: [finding], unusedIgnores: [], context: 'static', counts };
}

export function isUsageError(error: unknown): boolean {
  return error instanceof GuardError && (error.code === 'invalid-input' || error.code === 'migrations-dir');
}
