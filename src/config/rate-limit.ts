/** At most `count` manual applies/rollbacks of one environment in any `windowMs`. */
export interface RateLimit {
  count: number;
  windowMs: number;
  /** As the user wrote it, normalised ("1/10m"): quoted in messages. */
  text: string;
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
/** A window longer than this is a typo more often than a policy, and the audit query scans it. */
const MAX_WINDOW_MS = 30 * 86_400_000;

const FORMAT_HELP =
  'use COUNT/WINDOW, a whole number of runs per window in s, m, h or d (e.g. 1/10m, 3/1h, 10/1d), or 0 for no limit';

/**
 * Reads `rate-limit`: "1/10m" (one run per ten minutes), "3/1h", or "0" (off). A bare duration
 * ("10m") reads as one run per that window, the common case written short.
 */
export function parseRateLimit(
  text: string,
): { ok: true; limit?: RateLimit } | { ok: false; problem: string } {
  const trimmed = text.trim().toLowerCase();
  if (trimmed === '0' || trimmed === 'off') return { ok: true, limit: undefined };
  const match = /^(?:(\d+)\s*\/\s*)?(\d+)\s*(s|m|h|d)$/.exec(trimmed);
  if (!match) return { ok: false, problem: `"${text}" is not a rate limit: ${FORMAT_HELP}` };
  const count = match[1] === undefined ? 1 : Number(match[1]);
  const windowMs = Number(match[2]) * UNIT_MS[match[3]];
  if (count === 0) return { ok: true, limit: undefined };
  if (count > 1000) return { ok: false, problem: `"${text}": at most 1000 runs per window (${FORMAT_HELP})` };
  if (windowMs === 0)
    return { ok: false, problem: `"${text}": the window must be longer than 0 (${FORMAT_HELP})` };
  if (windowMs > MAX_WINDOW_MS)
    return { ok: false, problem: `"${text}": the window may be at most 30d (${FORMAT_HELP})` };
  return { ok: true, limit: { count, windowMs, text: `${count}/${match[2]}${match[3]}` } };
}
