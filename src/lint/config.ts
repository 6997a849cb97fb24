import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { z } from 'zod/mini';
import { GuardError } from '../errors.js';
import { RULE_IDS } from './rules/index.js';
import type { LintSeverity } from './types.js';

/** `.migration-guard.yml` in the repository root, as the linter uses it. */
export interface LintConfig {
  /** Per-rule severity overrides; `off` turns the rule off. */
  rules: Record<string, LintSeverity | 'off'>;
  /** Schemas the Data API exposes (security rules). */
  exposedSchemas: string[];
}

export const DEFAULT_CONFIG_FILE = '.migration-guard.yml';
export const DEFAULT_EXPOSED_SCHEMAS = ['public'];

export function defaultLintConfig(): LintConfig {
  return { rules: {}, exposedSchemas: [...DEFAULT_EXPOSED_SCHEMAS] };
}

const LEVELS = ['error', 'warning', 'info', 'off'] as const;

const schema = z.strictObject({
  rules: z.optional(
    z.record(
      z.string(),
      z.enum(LEVELS, {
        error: (issue) => `"${String(issue.input)}" is not a severity: use one of ${LEVELS.join(', ')}`,
      }),
    ),
  ),
  'exposed-schemas': z.optional(
    z.array(z.string().check(z.minLength(1, 'a schema name cannot be empty')), {
      error: 'must be a list of schema names, e.g. [public, api]',
    }),
  ),
});

/**
 * The config a run uses: the file named by the `lint-config` input (which must exist), else
 * `.migration-guard.yml` in `cwd` when there is one, else the defaults. For `plan` and `lint` alike.
 */
export function lintConfigFor(settings: { lintConfig?: string }, cwd = process.cwd()): Promise<LintConfig> {
  const path = resolve(cwd, settings.lintConfig ?? DEFAULT_CONFIG_FILE);
  return loadLintConfig(path, { explicit: settings.lintConfig !== undefined, knownRules: RULE_IDS });
}

/**
 * Reads and validates the config file. A missing file is the default config unless the path was
 * given explicitly (then it is an error: the caller asked for that file). Rule ids are checked
 * against `knownRules`, so a typo does not silently leave a rule on.
 */
export async function loadLintConfig(
  path: string,
  options: { explicit: boolean; knownRules: readonly string[] },
): Promise<LintConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && !options.explicit) return defaultLintConfig();
    throw configError(
      path,
      `cannot be read: ${(error as Error).message}`,
      'Check the path given as lint-config.',
    );
  }
  return parseLintConfig(text, path, options.knownRules);
}

/** Validates the config file's text; `path` names the file in errors. */
export async function parseLintConfig(
  text: string,
  path: string,
  knownRules: readonly string[],
): Promise<LintConfig> {
  // Loaded only when a config file exists (most runs have none).
  const { parse } = await import('yaml');
  let data: unknown;
  try {
    data = parse(text);
  } catch (error) {
    throw configError(path, `is not valid YAML: ${(error as Error).message}`, 'Fix the YAML syntax.');
  }
  if (data === null || data === undefined) return defaultLintConfig();
  const result = schema.safeParse(data);
  if (!result.success) {
    const issue = result.error.issues[0];
    const key = issue.path.map(String).join('.') || '(top level)';
    const what =
      issue.code === 'unrecognized_keys'
        ? `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`
        : issue.message;
    const hint =
      issue.code === 'unrecognized_keys'
        ? 'The file accepts two keys: rules (rule id: error | warning | info | off) and exposed-schemas (a list).'
        : 'See docs/lint/README.md for the format.';
    throw configError(path, `${key}: ${what}`, hint);
  }
  const rules = result.data.rules ?? {};
  const unknown = Object.keys(rules).filter((id) => !knownRules.includes(id));
  if (unknown.length > 0) {
    throw configError(
      path,
      `rules.${unknown[0]}: no rule has this id`,
      `Use one of the ids listed in docs/lint/ (e.g. ${knownRules.slice(0, 3).join(', ')}).`,
    );
  }
  return { rules, exposedSchemas: result.data['exposed-schemas'] ?? [...DEFAULT_EXPOSED_SCHEMAS] };
}

function configError(path: string, what: string, hint: string): GuardError {
  return new GuardError('invalid-input', `Lint config ${path}: ${what}`, { location: { file: path }, hint });
}
