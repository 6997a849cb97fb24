import type { LintFailLevel, LintFinding, LintReport } from './types.js';

/** `file:line:column severity rule message`, the form editors and problem matchers read. */
export function findingLine(f: LintFinding): string {
  const where = f.file ? `${f.file}:${f.line ?? 1}:${f.column ?? 1}` : '(release)';
  const ignored = f.ignored ? ` [ignored: ${f.ignored.reason}]` : '';
  return `${where} ${f.severity} ${f.rule} ${f.message}${ignored}`;
}

/** Whether findings not ignored reach the fail level. */
export function reachesFailLevel(report: LintReport, level: LintFailLevel): boolean {
  if (level === 'off') return false;
  return report.counts.error > 0 || (level === 'warning' && report.counts.warning > 0);
}

/** "2 errors, 1 warning, 0 info (1 ignored)". */
export function countsLine(report: LintReport): string {
  const { error, warning, info } = report.counts;
  const ignored = report.findings.filter((f) => f.ignored).length;
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  return `${plural(error, 'error')}, ${plural(warning, 'warning')}, ${info} info${ignored ? ` (${ignored} ignored)` : ''}`;
}
