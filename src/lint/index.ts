/**
 * The migration linter: rules over libpg-query's parse tree, aware of the release (tables it
 * creates are new) and, with a database, of table sizes.
 */
export { lintMigrations, type LintOptions, type TableStatsLookup } from './runner.js';
export {
  loadLintConfig,
  lintConfigFor,
  parseLintConfig,
  defaultLintConfig,
  DEFAULT_CONFIG_FILE,
  type LintConfig,
} from './config.js';
export type {
  LintContext,
  LintRule,
  LintStatement,
  LintFile,
  RuleHit,
  RuleHits,
  ReleaseHit,
  TableRef,
  TableStats,
} from './context.js';
export { tableOf, tableKey } from './context.js';
export { liveTableStats, liveStatsLoader } from './live-stats.js';
export { RULES, RULE_IDS } from './rules/index.js';
export type { LintFinding, LintReport, LintSeverity, LintFailLevel, RuleFamily } from './types.js';
