import { identitiesIn } from '../backup/age-keys.js';
import { SecretScrubber } from '../secrets.js';
import { secretsOfDatabaseUrl } from './secrets-of-url.js';
import type { RawInputs } from './settings.js';

/**
 * The run's one scrubber, built from the raw inputs before they are validated (so even an error
 * about them is scrubbed). The entry points mask the same forms in the runner's log and hand it to
 * every command on its context; a new secret input (a token, a webhook URL) is registered here.
 */
export function scrubberForInputs(raw: RawInputs): SecretScrubber {
  const scrubber = new SecretScrubber();
  for (const secret of secretsOfDatabaseUrl(raw['database-url'])) scrubber.add(secret);
  scrubber.add(raw['github-token']?.trim());
  for (const secret of secretsOfDatabaseUrl(raw['shadow-database-url'])) scrubber.add(secret);
  // The whole webhook URL is the credential (Slack's and Teams' carry their token in the path).
  scrubber.add(raw['notify-webhook-url']?.trim());
  // The restore identity, whole and line by line; and one pasted into the public-key input by mistake.
  scrubber.add(raw['backup-decryption-key']?.trim());
  for (const identity of identitiesIn(raw['backup-decryption-key'])) scrubber.add(identity);
  for (const identity of identitiesIn(raw['backup-encryption-key'])) scrubber.add(identity);
  return scrubber;
}
