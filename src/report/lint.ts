import type { LintFinding, LintReport, LintSeverity } from '../lint/types.js';
import { escapeMd } from './markdown.js';

/**
 * Lint findings as the job summary and the pull request comment show them: grouped per file (in
 * the release's order; findings about the whole release last), each line with its place, rule and
 * message, and the reason when an ignore comment accepted it. Pure.
 */
export interface LintGroup {
  /** The migration file; undefined for findings about the release as a whole. */
  file?: string;
  findings: LintFinding[];
}

export function groupByFile(findings: LintFinding[]): LintGroup[] {
  const groups = new Map<string | undefined, LintFinding[]>();
  for (const f of findings) {
    const list = groups.get(f.file) ?? [];
    list.push(f);
    groups.set(f.file, list);
  }
  const release = groups.get(undefined);
  groups.delete(undefined);
  return [
    ...[...groups].map(([file, list]) => ({ file, findings: list })),
    ...(release ? [{ findings: release }] : []),
  ];
}

const ICON: Record<LintSeverity, string> = { error: '❌', warning: '⚠️', info: 'ℹ️' };

/** "1 error, 2 warnings, 0 info" (findings not ignored), and how many an ignore comment accepted. */
export function countsOf(findings: LintFinding[]): string {
  const counts: Record<LintSeverity, number> = { error: 0, warning: 0, info: 0 };
  let accepted = 0;
  for (const f of findings) {
    if (f.ignored) accepted++;
    else counts[f.severity]++;
  }
  const parts = [
    `${counts.error} error${counts.error === 1 ? '' : 's'}`,
    `${counts.warning} warning${counts.warning === 1 ? '' : 's'}`,
    `${counts.info} info`,
  ];
  if (accepted) parts.push(`${accepted} accepted with a reason`);
  return parts.join(', ');
}

/** The title line of a report's lint part. */
export function lintTitle(report: LintReport): string {
  const sizes = report.context === 'live' ? 'severity from live table sizes' : 'static severity';
  return `Lint: ${countsOf(report.findings)} (${sizes})`;
}

/** "line:column" of a finding, or "" when it has no place. */
function placeOf(f: LintFinding): string {
  if (f.line === undefined) return '';
  return f.column !== undefined ? `${f.line}:${f.column}` : `${f.line}`;
}

/**
 * One finding as a Markdown list item (`indent` before the dash). `clip` bounds the message and
 * the reason, which come from the files: escaped, line breaks flattened.
 */
export function findingLine(f: LintFinding, clip: (text: string) => string, indent = ''): string {
  const flat = (text: string) => escapeMd(clip(text)).replace(/\r?\n/g, ' ');
  const place = placeOf(f);
  const head = `${place ? `\`${place}\` ` : ''}\`${f.rule}\``;
  if (f.ignored)
    return `${indent}- 🔕 ${head} accepted: ${flat(f.ignored.reason)} _(${f.severity}: ${flat(f.message)})_`;
  return `${indent}- ${ICON[f.severity]} ${head} ${flat(f.message)}`;
}

/**
 * The heading of one file's group: its path and counts. Inside `<summary>` (`html`), where GitHub
 * does not render Markdown, the path is a `<code>` element.
 */
export function groupTitle(group: LintGroup, html = false): string {
  const file = group.file ? escapeMd(group.file) : undefined;
  const name = file ? (html ? `<code>${file}</code>` : `\`${file}\``) : 'The release as a whole';
  return `${name} (${countsOf(group.findings)})`;
}
