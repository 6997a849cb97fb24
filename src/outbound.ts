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

/**
 * Returns `value` itself when no statement needed cutting (the common case), else a copy of what
 * changed. Nothing is copied on the way (every audit row and event of a run passes here).
 */
function excerptStatements<T>(value: T): T {
  if (Array.isArray(value)) {
    let items: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const next = excerptStatements(value[i]);
      if (next !== value[i]) (items ??= [...value])[i] = next;
    }
    return (items ?? value) as T;
  }
  if (!value || typeof value !== 'object' || value instanceof Date) return value;
  const source = value as Record<string, unknown>;
  let copy: Record<string, unknown> | undefined;
  for (const key of Object.keys(source)) {
    const next = excerptStatements(source[key]);
    if (next !== source[key]) (copy ??= { ...source })[key] = next;
  }
  const { message, statement } = copy ?? source;
  if (
    typeof message === 'string' &&
    typeof statement === 'string' &&
    statement.length > STATEMENT_EXCERPT_CHARS
  )
    (copy ??= { ...source }).statement = cut(statement, STATEMENT_EXCERPT_CHARS);
  return (copy ?? value) as T;
}
