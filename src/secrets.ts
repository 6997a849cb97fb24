/**
 * Collects secret strings (database URLs, passwords) and removes them from any text that leaves
 * the process. Each secret is also registered in the forms it can appear in: URL-encoded and decoded.
 */
export class SecretScrubber {
  /** Longest first, so a URL is replaced whole before its password would be; kept sorted on add. */
  private longestFirst: string[] = [];

  add(secret: string | undefined): void {
    if (!secret || secret.length < 3) return;
    const forms = new Set([...this.longestFirst, ...variantsOf(secret)]);
    this.longestFirst = [...forms].sort((a, b) => b.length - a.length);
  }

  list(): string[] {
    return [...this.longestFirst];
  }

  scrub = (text: string): string => {
    let out = text;
    for (const secret of this.longestFirst) {
      if (out.includes(secret)) out = out.split(secret).join('***');
    }
    return out;
  };

  /**
   * The text scrubbed, then cut to at most `max` characters (and "…"). In that order: a cut through
   * a secret would leave a fragment no scrubber can recognise, while a secret replaced first is
   * gone whole wherever the cut falls. Every sink that shortens text goes through here.
   */
  excerpt(text: string, max: number): string {
    return cut(this.scrub(text), max);
  }

  /**
   * Deep-scrubs every string inside a JSON-compatible value (strings themselves, not their JSON
   * escapes), returning a scrubbed copy, or the value itself when it holds no secret. A run's
   * result holds thousands of strings and usually no secret: one search of its JSON text (for each
   * secret as it would appear there, escaped) settles that.
   */
  scrubValue<T>(value: T): T {
    const json = JSON.stringify(value);
    const mayHold = (secret: string) => json.includes(JSON.stringify(secret).slice(1, -1));
    if (json !== undefined && !this.longestFirst.some(mayHold)) return value;
    return this.scrubDeep(value);
  }

  private scrubDeep<T>(value: T): T {
    if (typeof value === 'string') return this.scrub(value) as T;
    if (Array.isArray(value)) return value.map((v) => this.scrubDeep(v)) as T;
    if (value && typeof value === 'object' && !(value instanceof Date)) {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.scrubDeep(v)])) as T;
    }
    return value;
  }
}

function variantsOf(secret: string): string[] {
  const forms = new Set([secret]);
  try {
    forms.add(decodeURIComponent(secret));
  } catch {
    // not URL-encoded: the raw form is enough
  }
  forms.add(encodeURIComponent(secret));
  return [...forms].filter((f) => f.length >= 3);
}

/**
 * `text` cut to `max` characters plus "…", never between the halves of a surrogate pair.
 * Cutting an excerpt again leaves it as it is (its first `max` characters are the same).
 */
export function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  const end = /[\uD800-\uDBFF]/.test(text.charAt(max - 1)) ? max - 1 : max;
  return `${text.slice(0, end)}…`;
}
