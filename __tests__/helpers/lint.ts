import { lintMigrations, type LintOptions } from '../../src/lint/index.js';
import type { LintFinding, LintReport } from '../../src/lint/types.js';
import { migrationOf } from './migrations.js';

/** Lints SQL texts as consecutive migration files 1_m.sql, 2_m.sql, … (one per argument). */
export function lintSql(files: string[], options: LintOptions = {}): Promise<LintReport> {
  return lintMigrations(
    files.map((sql, i) => migrationOf(String(i + 1), sql)),
    options,
  );
}

/** `file:line:column severity rule` of each finding (ignored ones marked), the compact form tests assert. */
export function brief(report: LintReport): string[] {
  return report.findings.map(line);
}

export function line(f: LintFinding): string {
  const where = f.file ? `${f.file.replace('supabase/migrations/', '')}:${f.line}:${f.column}` : '(release)';
  return `${where} ${f.severity} ${f.rule}${f.ignored ? ` ignored(${f.ignored.reason})` : ''}`;
}

/** Only the findings of these rules. */
export function ofRules(report: LintReport, ...rules: string[]): string[] {
  return report.findings.filter((f) => rules.includes(f.rule)).map(line);
}
