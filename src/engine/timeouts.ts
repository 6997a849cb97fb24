import { quoteLiteral } from '../db/ident.js';
import type { Logger } from '../logger.js';
import { GUARDED_SETTINGS, RESET_ALL } from '../migrations/timeout-settings.js';
import type { Finding, RunResult } from './result.js';
import type { PreparedMigration, Unit } from './units.js';

/**
 * The engine's lock and statement timeouts stay in force whatever a file does. Three places keep
 * them: every transaction opens with them (SET LOCAL, or set_config in a chain); a statement that
 * can change them (Statement.touchesTimeouts) is followed, in the same message, by the commands
 * below; and every clock reading between files sets them again, which bounds even a change no
 * parser can see (a function defined earlier that calls set_config) to the file that made it.
 */
export interface EngineTimeouts {
  lockTimeoutMs: number;
  statementTimeoutMs?: number;
}

/** The lock and statement timeouts every migration statement runs under, as setting and value. */
export function timeouts(options: EngineTimeouts): Array<[string, string]> {
  return [
    ['lock_timeout', `${options.lockTimeoutMs}ms`],
    ['statement_timeout', `${options.statementTimeoutMs ?? 0}ms`],
  ];
}

/** `set_config(…, true)` calls (SET LOCAL) setting both timeouts, for a SELECT list. */
export function localTimeoutCalls(options: EngineTimeouts): string {
  return timeouts(options)
    .map(([name, value]) => `set_config(${quoteLiteral(name)}, ${quoteLiteral(value)}, true)`)
    .join(', ');
}

/**
 * The commands that follow a statement that can change the timeouts. A session-level SET inside
 * the transaction would outlive its COMMIT and apply to whatever runs next on the connection
 * outside a migration transaction (the run record, the schema fingerprint): RESET puts the
 * session back to the value it had before the run (the engine never sets session-level values
 * there), and set_config(…, true) restores the engine's values for the rest of the transaction.
 * Each element is one command (the executor counts completed commands).
 */
export function reassertCommands(options: EngineTimeouts): string[] {
  return [...GUARDED_SETTINGS.map((name) => `RESET ${name}`), `SELECT ${localTimeoutCalls(options)}`];
}

/**
 * Whether a transaction holds a statement that may reset every setting (RESET ALL). That also
 * wipes what a per-file chain stages in session settings (its history rows, the file's start
 * time), so such a transaction is not chained: it is sent on its own, its history row written
 * with bind parameters.
 */
export function resetsEverySetting(unit: Unit): boolean {
  return (
    unit.kind === 'transaction' &&
    unit.steps.some(
      (s) =>
        s.kind === 'statement' &&
        s.statement.touchesTimeouts !== undefined &&
        RESET_ALL.test(s.statement.sql),
    )
  );
}

/** A duration as the inputs take it ("2s", "250ms"); 0 is "off". */
function describeMs(ms: number | undefined): string {
  if (!ms) return 'off';
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** Statements whose own body runs under a value it sets, before the engine can set its own again. */
const INSIDE_ITSELF: Record<string, string> = {
  DoStmt: 'inside the DO block',
  CreateFunctionStmt: 'inside the function, when called,',
};

/**
 * One warning per statement of `prepared` (verify scripts included) that can change the timeouts:
 * where it is, what it tried, and that the engine's values applied anyway.
 */
export function timeoutFindings(prepared: PreparedMigration[], options: EngineTimeouts): Finding[] {
  const kept = `lock_timeout (${describeMs(options.lockTimeoutMs)}) and statement_timeout (${describeMs(options.statementTimeoutMs)})`;
  const findings: Finding[] = [];
  for (const item of prepared) {
    const parts = [
      { path: item.migration.up.path, statements: item.statements },
      { path: item.migration.verify?.path ?? '', statements: item.verify ?? [] },
    ];
    for (const { path, statements } of parts) {
      for (const s of statements) {
        if (!s.touchesTimeouts) continue;
        const text = s.sql.replace(/\s+/g, ' ');
        const snippet = text.length > 80 ? `${text.slice(0, 80)}…` : text;
        const within = INSIDE_ITSELF[s.nodeType]
          ? ` (${INSIDE_ITSELF[s.nodeType]} its own value applies)`
          : '';
        findings.push({
          code: 'timeout-setting',
          severity: 'warning',
          version: item.migration.version,
          file: path,
          line: s.line,
          column: s.column,
          message:
            `${path}:${s.line}: \`${snippet}\` ${s.touchesTimeouts}; ignored: the run's ${kept} are set ` +
            `again right after it and between files${within}. To change them, use the lock-timeout and statement-timeout inputs`,
        });
      }
    }
  }
  return findings;
}

/**
 * Puts the timeout findings of `prepared` into the report, replacing earlier ones (the files are
 * known better now), and logs those not logged before.
 */
export function reportTimeoutChanges(
  result: RunResult,
  logger: Logger,
  prepared: PreparedMigration[],
  options: EngineTimeouts,
): void {
  const before = new Set(result.findings.filter((f) => f.code === 'timeout-setting').map((f) => f.message));
  const found = timeoutFindings(prepared, options);
  result.findings = [...result.findings.filter((f) => f.code !== 'timeout-setting'), ...found];
  for (const f of found) if (!before.has(f.message)) logger.warn(f.message);
}
