import type { LintRule } from '../context.js';
import { LOCK_RULES } from './locks.js';
import { ROBUSTNESS_RULES } from './robustness.js';

/**
 * Every rule, in the order findings of one statement are listed. A rule family adds its module's
 * list here (security: `SECURITY_RULES` from ./security.js).
 */
export const RULES: LintRule[] = [...LOCK_RULES, ...ROBUSTNESS_RULES];

export const RULE_IDS: readonly string[] = RULES.map((r) => r.id);
