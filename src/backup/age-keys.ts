/**
 * The shape of age keys as users paste them: checked here without loading the age library (the
 * settings are parsed on every run, encryption is used by few). The library itself decodes them
 * when a backup is encrypted or decrypted (age-crypto.ts), before pg_dump or the database is touched.
 */

/** bech32's data characters (BIP 173): no 1, b, i, o. */
const BECH32 = '[02-9ac-hj-np-z]';
/** X25519 (age1…), and the library's post-quantum hybrid and tag recipients (age1pq1…, age1tag1…, age1tagpq1…). */
const RECIPIENT = new RegExp(`^age1(?:pq1|tag1|tagpq1)?${BECH32}{20,}$`);
const IDENTITY = new RegExp(`^AGE-SECRET-KEY-(PQ-)?1${BECH32.toUpperCase()}{20,}$`);
const IDENTITY_ANYWHERE = /AGE-SECRET-KEY-(?:PQ-)?1[0-9A-Z]+/g;

/**
 * `backup-encryption-key`: one or more age recipients (`age1…`), separated by commas, spaces or
 * new lines. Returns the recipients, or the reason the value is refused (never echoing a value that
 * looks like a private key).
 */
export function parseRecipients(
  text: string,
): { ok: true; recipients: string[] } | { ok: false; reason: string } {
  const items = text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
  if (items.length === 0) return { ok: false, reason: 'is empty: give an age public key (age1…)' };
  for (const [index, item] of items.entries()) {
    const which = items.length > 1 ? `key ${index + 1} of ${items.length}` : 'the value';
    if (/^AGE-SECRET-KEY-/i.test(item)) {
      return {
        ok: false,
        reason: `${which} is an age identity (AGE-SECRET-KEY-…), the private key: give its public key (age1…, printed by "age-keygen -y"), and treat that identity as exposed`,
      };
    }
    if (!RECIPIENT.test(item)) {
      return {
        ok: false,
        reason: `${which} (${preview(item)}) is not an age public key: it must look like age1 followed by lower-case letters and digits (as "age-keygen" prints on its "Public key:" line)`,
      };
    }
  }
  return { ok: true, recipients: [...new Set(items)] };
}

/**
 * `backup-decryption-key`: age identities, one per line, as `age-keygen` writes its key file
 * (comment lines starting with # are skipped, so the whole file can be stored as the secret).
 */
export function parseIdentities(
  text: string,
): { ok: true; identities: string[] } | { ok: false; reason: string } {
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const identities = lines.flatMap((l) => l.split(/\s+/));
  if (identities.length === 0) {
    return {
      ok: false,
      reason: 'holds no age identity: give the AGE-SECRET-KEY-1… line that age-keygen wrote',
    };
  }
  for (const [index, identity] of identities.entries()) {
    if (IDENTITY.test(identity)) continue;
    const which = identities.length > 1 ? `line ${index + 1}` : 'the value';
    const why = identity.startsWith('age1')
      ? 'is an age public key (age1…): restoring needs the matching identity (AGE-SECRET-KEY-1…)'
      : 'is not an age identity: it must be the AGE-SECRET-KEY-1… line age-keygen wrote, upper case';
    return { ok: false, reason: `${which} ${why}` };
  }
  return { ok: true, identities };
}

/** Every identity-looking token in a text, for the scrubber: even one pasted into the wrong input. */
export function identitiesIn(text: string | undefined): string[] {
  return text ? [...text.matchAll(IDENTITY_ANYWHERE)].map((m) => m[0]) : [];
}

/** Enough to recognise a mistaken value, never enough to reveal one pasted into the wrong input. */
function preview(value: string): string {
  return `${value.length} characters, starting "${value.slice(0, 4)}"`;
}
