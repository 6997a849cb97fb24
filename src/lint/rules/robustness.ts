import type { LintRule } from '../context.js';

/** Reported by the runner where the parser stops at a psql meta-command or COPY … FROM stdin data. */
export const psqlMetaCommand: LintRule = {
  id: 'psql-meta-command',
  family: 'robustness',
  defaultSeverity: 'error',
  summary: 'psql meta-commands (\\i, \\set, \\connect) and COPY … FROM stdin data only work in psql',
};

/** Reported by the runner where the parser stops at a syntax error: the rest of the file is not linted. */
export const syntaxError: LintRule = {
  id: 'syntax-error',
  family: 'robustness',
  defaultSeverity: 'error',
  summary: 'The file does not parse: nothing after the error is linted',
};

export const ignoreWithoutReason: LintRule = {
  id: 'ignore-without-reason',
  family: 'robustness',
  defaultSeverity: 'warning',
  summary: 'An ignore comment without a reason silences nothing',
};

export const unusedIgnore: LintRule = {
  id: 'unused-ignore',
  family: 'robustness',
  defaultSeverity: 'warning',
  summary: 'An ignore comment that silences no finding',
};

export const PARSE_RULES = { psql: psqlMetaCommand, syntax: syntaxError } as const;
export const IGNORE_WITHOUT_REASON = ignoreWithoutReason;
export const UNUSED_IGNORE = unusedIgnore;

export const ROBUSTNESS_RULES: LintRule[] = [psqlMetaCommand, syntaxError, ignoreWithoutReason, unusedIgnore];
