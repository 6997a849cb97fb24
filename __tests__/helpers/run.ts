import { runCommand } from '../../src/commands/index.js';
import { scrubberForInputs } from '../../src/config/run-scrubber.js';
import { parseSettings, type RawInputs, type Settings } from '../../src/config/settings.js';
import type { RunContext } from '../../src/config/run-context.js';
import type { StageEvents } from '../../src/engine/events.js';
import type { PermissionReader } from '../../src/guard/policy.js';
import type { RunResult } from '../../src/engine/result.js';
import type { Logger } from '../../src/logger.js';

export interface CapturedRun {
  result: RunResult;
  logs: string[];
}

/** A logger that keeps every line, for assertions on what the user would read. */
export function capturingLogger(lines: string[]): Logger {
  return {
    info: (m) => lines.push(`info: ${m}`),
    warn: (m) => lines.push(`warn: ${m}`),
    error: (m) => lines.push(`error: ${m}`),
    debug: () => {},
    group: (_t, fn) => fn(),
  };
}

/**
 * Runs one command in-process, exactly as the action and CLI do after reading their inputs.
 * Backups are off unless a test asks for them (the backup tests do), so the other tests do not
 * depend on which pg_dump this machine has.
 */
export async function runGuard(
  command: string,
  databaseUrl: string,
  migrationsDir: string,
  extra: RawInputs = {},
  options: {
    overrides?: Partial<Settings>;
    signal?: AbortSignal;
    events?: StageEvents;
    /** Who started the run (default: a local run by jest@test). */
    run?: RunContext;
    /** The manual-run guard's permission reader, as the action's entry point gives it. */
    permissions?: PermissionReader;
  } = {},
): Promise<CapturedRun> {
  const logs: string[] = [];
  const raw: RawInputs = {
    command,
    'database-url': databaseUrl,
    'migrations-dir': migrationsDir,
    backup: 'off',
    ...extra,
  };
  const settings = { ...parseSettings(raw), ...options.overrides };
  const result = await runCommand({
    settings,
    logger: capturingLogger(logs),
    run: options.run ?? { actor: 'jest@test' },
    signal: options.signal,
    events: options.events,
    permissions: options.permissions,
    scrubber: scrubberForInputs(raw),
  });
  return { result, logs };
}
