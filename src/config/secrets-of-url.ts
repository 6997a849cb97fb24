/**
 * The secret parts of a database URL as the user wrote it: the whole URL and its password, so they
 * can be masked before anything (even a validation error) is printed. Works on malformed URLs too.
 */
export function secretsOfDatabaseUrl(raw: string | undefined): string[] {
  if (!raw) return [];
  const secrets = [raw, raw.trim()];
  // A password may itself hold "@" (unencoded): everything up to the LAST "@" is user info.
  // Both that reading and the URL parser's are registered, so either spelling is masked.
  const userinfo = /^[a-z][a-z0-9+.-]*:\/\/(.*)@[^@]*$/is.exec(raw.trim());
  if (userinfo) {
    const colon = userinfo[1].indexOf(':');
    if (colon >= 0) secrets.push(userinfo[1].slice(colon + 1));
  }
  try {
    const parsed = new URL(raw.trim());
    if (parsed.password) secrets.push(parsed.password);
  } catch {
    // malformed: the pattern above is all we have
  }
  const query = /[?&]password=([^&]*)/.exec(raw);
  if (query) secrets.push(query[1]);
  return [...new Set(secrets.filter((s) => s.length > 0))];
}
