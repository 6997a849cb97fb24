import { quoteLiteral } from '../../db/ident.js';
import { timeouts, type EngineTimeouts } from '../timeouts.js';

/** The lock and statement timeouts every migration statement runs under (also used by the rehearsal). */
export function sessionSettings(options: EngineTimeouts, scope: 'LOCAL' | 'SESSION'): string {
  return settingStatements(options, scope).join('; ');
}

/** The timeouts as separate SET commands. */
export function settingStatements(options: EngineTimeouts, scope: 'LOCAL' | 'SESSION'): string[] {
  const set = scope === 'LOCAL' ? 'SET LOCAL' : 'SET';
  return timeouts(options).map(([name, value]) => `${set} ${name} = ${quoteLiteral(value)}`);
}

/**
 * The one command opening each transaction of a chain: what `SET LOCAL` would set, as
 * `set_config(…, true)` calls in a single SELECT (a chain of 500 files runs it 500 times), and the
 * start mark. Setting synchronous_commit here rather than just before COMMIT is the same: it is
 * read at COMMIT.
 */
export function chainOpening(
  options: EngineTimeouts,
  asynchronousCommit: boolean,
  markStart: string,
): string {
  const settings: Array<[string, string]> = [
    ...timeouts(options),
    ...(asynchronousCommit ? [['synchronous_commit', 'off'] as [string, string]] : []),
  ];
  const local = settings.map(
    ([name, value]) => `set_config(${quoteLiteral(name)}, ${quoteLiteral(value)}, true)`,
  );
  return `SELECT ${[...local, markStart].join(', ')}`;
}
