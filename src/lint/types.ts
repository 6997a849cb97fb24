/**
 * The linter's contract: what a rule sees, what it reports, and what a lint run returns. Shared by
 * the rules (src/lint/rules/*), the runner (src/lint/index.ts), `plan`, `apply`'s destructive-change
 * guard, the `lint` command and the report renderers.
 */

export type LintSeverity = 'error' | 'warning' | 'info';
/** The `lint` input: findings at or above this level fail `plan` and `lint`; `off` skips the linter. */
export type LintFailLevel = 'error' | 'warning' | 'off';

export type RuleFamily = 'locks' | 'destructive' | 'robustness' | 'types' | 'security';

export interface LintFinding {
  /** Stable rule id, kebab-case; documented in docs/lint/<rule>.md. */
  rule: string;
  family: RuleFamily;
  severity: LintSeverity;
  /** One line: the hazard on this statement and the safe pattern (with the row estimate when one was used). */
  message: string;
  /** The migration file as reports show it; absent only for findings about the whole release. */
  file?: string;
  version?: string;
  line?: number;
  column?: number;
  /** Set when an ignore comment suppressed the finding: it is reported, but fails nothing and guards nothing. */
  ignored?: { reason: string; line: number };
  /** Where the finding came from: a rule over the AST, or the catalog of the rehearsed schema. */
  source: 'static' | 'catalog';
}

/** The result of one lint run over a set of migrations. */
export interface LintReport {
  findings: LintFinding[];
  /** Ignore comments that suppressed nothing (reported as findings of rule `unused-ignore` too). */
  unusedIgnores: Array<{ file: string; line: number; rule: string }>;
  /** Whether table sizes came from a live database (`plan`) or severities are static (`lint`). */
  context: 'live' | 'static';
  /** Counts by severity of the findings not ignored. */
  counts: Record<LintSeverity, number>;
}
