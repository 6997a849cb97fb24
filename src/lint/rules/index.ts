import type { LintRule } from '../context.js';
import { DESTRUCTIVE_RULES } from './destructive.js';
import { LOCK_RULES } from './locks.js';
import { ROBUSTNESS_RULES } from './robustness.js';
import { TYPE_RULES } from './types.js';

/**
 * Every rule, in the order findings at one position are listed. A rule family adds its module's
 * list here (security: `...SECURITY_RULES` from ./security.js).
 */
export const RULES: LintRule[] = [...LOCK_RULES, ...DESTRUCTIVE_RULES, ...ROBUSTNESS_RULES, ...TYPE_RULES];

export const RULE_IDS: readonly string[] = RULES.map((r) => r.id);
