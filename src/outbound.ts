import { cut, type SecretScrubber } from './secrets.js';

/** How much of the failed statement an error quotes in the report and the run record. */
export const STATEMENT_EXCERPT_CHARS = 500;

/**
 * A value as it may leave the process (a run's result, a run record's details): every string
 * scrubbed, then the `statement` each error quotes (any object with a `message` and a `statement`)
 * cut to an excerpt. The engine keeps whole statements so that the cut happens here, after
 * scrubbing: cut first, a secret straddling the cut would leave a fragment no scrubber recognises.
 */
export function outbound<T>(value: T, scrubber: SecretScrubber): T {
  return excerptStatements(scrubber.scrubValue(value));
}

/** Returns `value` itself when no statement needed cutting (the common case), a copy otherwise. */
function excerptStatements<T>(value: T): T {
  if (Array.isArray(value)) {
    const items = value.map(excerptStatements);
    return (items.some((item, i) => item !== value[i]) ? items : value) as T;
  }
  if (!value || typeof value !== 'object' || value instanceof Date) return value;
  let changed = false;
  const entries = Object.entries(value).map(([key, v]) => {
    const next = excerptStatements(v);
    changed ||= next !== v;
    return [key, next];
  });
  const record = Object.fromEntries(entries) as Record<string, unknown>;
  if (
    typeof record.message === 'string' &&
    typeof record.statement === 'string' &&
    record.statement.length > STATEMENT_EXCERPT_CHARS
  ) {
    record.statement = cut(record.statement, STATEMENT_EXCERPT_CHARS);
    changed = true;
  }
  return (changed ? record : value) as T;
}
