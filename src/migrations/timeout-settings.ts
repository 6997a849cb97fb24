/**
 * The settings the engine runs every migration statement under (its lock-safety promise). A file
 * must not change them for the statements after it: `supabase db pull` and `pg_dump` headers
 * start with `SET statement_timeout = 0; SET lock_timeout = 0;`.
 */
export const GUARDED_SETTINGS = ['lock_timeout', 'statement_timeout'] as const;

/**
 * These change the defaults of sessions opened later (a role's, a database's, the server's), not
 * the running session: the engine sets its values explicitly, so they cannot loosen them.
 */
const DEFAULTS_FOR_NEW_SESSIONS = new Set(['AlterRoleSetStmt', 'AlterDatabaseSetStmt', 'AlterSystemStmt']);

const MENTIONS = GUARDED_SETTINGS.map((name) => ({ name, pattern: new RegExp(`\\b${name}\\b`, 'i') }));
/** RESET ALL resets the timeouts too (and every other setting). */
export const RESET_ALL = /\breset\s+all\b/i;
/** Whatever any of the checks below can match contains one of these words. */
const MAY_TOUCH = /timeout|set_config|reset/i;
/** A set_config call, with its first argument when that is a plain literal followed by a comma. */
const SET_CONFIG = /\bset_config\s*\(\s*(?:'([^']*)'\s*,)?/gi;

/**
 * What a statement does to the lock or statement timeout of the session running it, or undefined
 * when it cannot change them. SET/RESET are read from the parser's AST; anything else (a DO block,
 * `SELECT set_config(…)`, a function body, dynamic SQL) from its text: mentioning either setting,
 * RESET ALL, or calling set_config with a name that is not a literal, is enough. This errs towards
 * flagging: a false positive costs three short commands and a warning.
 */
export function timeoutChange(
  nodeType: string,
  /** The parse tree: read for SET and RESET (VariableSetStmt) only. */
  node: Record<string, unknown> | undefined,
  sql: string,
): string | undefined {
  if (nodeType === 'VariableSetStmt') return fromSetStatement(node ?? {});
  if (DEFAULTS_FOR_NEW_SESSIONS.has(nodeType)) return undefined;
  // One scan settles most statements (every one of a migration goes through here).
  if (!MAY_TOUCH.test(sql)) return undefined;
  const mentioned: string[] = MENTIONS.filter((m) => m.pattern.test(sql)).map((m) => m.name);
  const calls = [...sql.matchAll(SET_CONFIG)].map((m) => m[1]?.toLowerCase());
  const computed = calls.some((name) => name === undefined);
  const resetsAll = RESET_ALL.test(sql);
  if (mentioned.length === 0 && !computed && !resetsAll) return undefined;
  const what =
    mentioned.length > 0 ? mentioned.join(' and ') : resetsAll ? 'every setting (RESET ALL)' : 'any setting';
  if (nodeType === 'CreateFunctionStmt')
    return `defines a function that can change ${what}: each call may change it`;
  if (nodeType === 'DoStmt') return `runs a DO block that can change ${what}`;
  const viaSetConfig = calls.filter((name): name is string => mentioned.includes(name ?? ''));
  if (viaSetConfig.length > 0) return `sets ${[...new Set(viaSetConfig)].join(' and ')} with set_config`;
  if (computed) return 'calls set_config with a setting name computed at run time';
  return `mentions ${what}, which it may change`;
}

function fromSetStatement(node: Record<string, unknown>): string | undefined {
  if (node.kind === 'VAR_RESET_ALL')
    return `resets every setting, ${GUARDED_SETTINGS.join(' and ')} included`;
  const name = typeof node.name === 'string' ? node.name.toLowerCase() : '';
  if (!(GUARDED_SETTINGS as readonly string[]).includes(name)) return undefined;
  switch (node.kind) {
    case 'VAR_SET_VALUE':
      return node.is_local ? `sets ${name} for the rest of the transaction` : `sets ${name} for the session`;
    case 'VAR_SET_CURRENT':
      return `sets ${name} from its current value`;
    default:
      return `resets ${name} to the server's default`;
  }
}
