const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, min: 60_000, h: 3_600_000 };

/**
 * Reads "500ms", "2s", "5m", "1h" or a bare number of milliseconds, unrounded ("0.4ms" is 0.4);
 * undefined when malformed. Validation needs the exact value: a sub-millisecond duration rounds to 0.
 */
export function exactDurationMs(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h)?\s*$/.exec(text);
  if (!match) return undefined;
  return Number(match[1]) * UNITS[match[2] ?? 'ms'];
}

/** Parses a duration into whole milliseconds (PostgreSQL's unit for its timeouts); undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  const exact = exactDurationMs(text);
  return exact === undefined ? undefined : Math.round(exact);
}
