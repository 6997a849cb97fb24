/**
 * Where an error's "what to do next" sends the user for more: the README's troubleshooting
 * entries. One place for the address, so a hint never points at a heading that does not exist
 * (__tests__/workflows/readme-tables.test.ts checks every topic against the README's headings).
 */
export const README_URL =
  'https://github.com/supabase-migration-guard/supabase-migration-guard/blob/v1/README.md';

export const TROUBLESHOOTING_TOPICS = [
  'cannot-reach-the-database',
  'password-authentication-failed',
  'tls-certificate-errors',
  'transaction-pooler-port-6543-refused',
  'pg_dump-is-older-than-the-server',
  'another-run-holds-the-lock',
  'history-and-files-disagree',
  'a-fan-out-target-shows-no-report',
] as const;
export type TroubleshootingTopic = (typeof TROUBLESHOOTING_TOPICS)[number];

/** " More: <README>#topic" — appended to a hint. */
export function seeTroubleshooting(topic: TroubleshootingTopic): string {
  return ` More: ${README_URL}#${topic}`;
}
