import type { ErrorDetail, RunResult } from '../engine/result.js';

/** One annotation GitHub shows on a file of the pull request (and in the run's page). */
export interface Annotation {
  /** `notice`: a lint finding of severity info. */
  level: 'error' | 'warning' | 'notice';
  title: string;
  message: string;
  file: string;
  line?: number;
  column?: number;
}

/**
 * GitHub shows at most 10 error and 10 warning annotations per step. One error is left for the
 * step's own failure message (the entry point's setFailed); past the limit, the last annotation
 * says how many more there are and where to read them.
 */
export const MAX_ERROR_ANNOTATIONS = 9;
export const MAX_WARNING_ANNOTATIONS = 10;
export const MAX_NOTICE_ANNOTATIONS = 10;

const FAILED_TITLE: Partial<Record<RunResult['command'], string>> = {
  plan: 'Migration would fail',
  rollback: 'Rollback failed',
  baseline: 'Baseline failed',
};

/**
 * The annotations of a run, pure from its result (golden-tested): SQL errors at file, line and
 * column (the run's, each migration's, the rollback's), what a failed statement outside a
 * transaction left behind, and findings about a file. Errors come first, the run's own error first
 * of all; an error repeated in several places of the result is annotated once.
 */
export function renderAnnotations(result: RunResult): Annotation[] {
  const errors: Annotation[] = [];
  const warnings: Annotation[] = [];
  const notices: Annotation[] = [];
  const seen = new Set<string>();
  const add = (list: Annotation[], annotation: Annotation) => {
    const key = JSON.stringify([annotation.file, annotation.line, annotation.column, annotation.message]);
    if (seen.has(key)) return;
    seen.add(key);
    list.push(annotation);
  };
  const sqlError = (title: string, error: ErrorDetail | undefined) => {
    if (error?.file) add(errors, { level: 'error', title, ...placeOf(error), message: describe(error) });
  };

  // A stopped job is not the file's fault: the statement it stopped is named, as cancelled.
  const failedTitle = result.cancelled
    ? 'Migration cancelled'
    : (FAILED_TITLE[result.command] ?? 'Migration failed');
  sqlError(failedTitle, result.error);
  for (const m of result.migrations) sqlError(failedTitle, m.error);
  sqlError('Rollback failed', result.rollback?.error);
  for (const n of result.nonTransactional ?? [])
    if (n.failed && n.leftBehind)
      add(warnings, {
        level: 'warning',
        title: 'Left behind outside a transaction',
        file: n.file,
        line: n.line,
        message: n.leftBehind,
      });
  // A skipped file is not a migration (a README beside them): it is listed in the summary only.
  for (const f of result.findings) {
    if (!f.file || f.code === 'skipped-file') continue;
    add(f.severity === 'error' ? errors : warnings, {
      level: f.severity,
      title: `Migration ${f.code}`,
      file: f.file,
      line: f.line,
      column: f.column,
      message: f.message,
    });
  }
  // Lint findings at file:line:column, by severity; one an ignore comment accepted is not annotated.
  const byLevel = { error: errors, warning: warnings, info: notices } as const;
  for (const f of result.lint?.findings ?? []) {
    if (!f.file || f.ignored) continue;
    add(byLevel[f.severity], {
      level: f.severity === 'info' ? 'notice' : f.severity,
      title: `Lint ${f.rule}`,
      file: f.file,
      line: f.line,
      column: f.column,
      message: f.message,
    });
  }
  return [
    ...capped(errors, MAX_ERROR_ANNOTATIONS),
    ...capped(warnings, MAX_WARNING_ANNOTATIONS),
    ...capped(notices, MAX_NOTICE_ANNOTATIONS),
  ];
}

function placeOf(error: ErrorDetail): Pick<Annotation, 'file' | 'line' | 'column'> {
  return { file: error.file!, line: error.line, column: error.column };
}

/** The error as psql would show it: message (SQLSTATE), then DETAIL and HINT lines. */
function describe(error: ErrorDetail): string {
  const lines = [`${error.message}${error.sqlstate ? ` (SQLSTATE ${error.sqlstate})` : ''}`];
  if (error.detail) lines.push(`DETAIL: ${error.detail}`);
  if (error.hint) lines.push(`HINT: ${error.hint}`);
  return lines.join('\n');
}

/** At most `max` annotations; the last one kept also says how many more the job summary lists. */
function capped(list: Annotation[], max: number): Annotation[] {
  if (list.length <= max) return list;
  const kept = list.slice(0, max);
  const more = list.length - max;
  const last = kept[max - 1];
  kept[max - 1] = {
    ...last,
    message: `${last.message}\n(${more} more ${last.level === 'error' ? 'errors' : last.level === 'warning' ? 'warnings' : 'notices'} not annotated: GitHub shows 10 per step; see the job summary and the JSON report)`,
  };
  return kept;
}
