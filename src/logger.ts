/**
 * Everything below the entry points logs through this interface, so the engine runs unchanged
 * under the action (backed by @actions/core), the CLI and the tests.
 */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  debug(message: string): void;
  group<T>(title: string, fn: () => Promise<T>): Promise<T>;
}

export const silentLogger: Logger = {
  info: () => {},
  warn: () => {},
  error: () => {},
  debug: () => {},
  group: (_title, fn) => fn(),
};

/** Wraps a logger so every message passes through `scrub` first. */
export function scrubbingLogger(inner: Logger, scrub: (text: string) => string): Logger {
  return {
    info: (m) => inner.info(scrub(m)),
    warn: (m) => inner.warn(scrub(m)),
    error: (m) => inner.error(scrub(m)),
    debug: (m) => inner.debug(scrub(m)),
    group: (title, fn) => inner.group(scrub(title), fn),
  };
}
