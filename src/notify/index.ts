import type { Settings } from '../config/settings.js';
import type { RunResult } from '../engine/result.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import { alertOutcome, renderAlert, type AlertContext, type AlertFormat } from '../report/alert.js';
import type { SecretScrubber } from '../secrets.js';
import { postJson } from './webhook.js';

/** How long a run may spend on its alert, retry included. */
export const ALERT_TIMEOUT_MS = 10_000;
const RETRY_DELAY_MS = 1_000;

/**
 * Teams' webhooks: Workflows (Power Automate: *.logic.azure.com, *.powerplatform.com) take only
 * Adaptive Cards; legacy connectors (*.webhook.office.com) take them too. Every other host gets
 * Slack's `{"text": …}`, which Slack-compatible webhooks share.
 */
export function alertFormatFor(webhookUrl: string): AlertFormat {
  const host = new URL(webhookUrl).hostname.toLowerCase();
  const teams = ['.webhook.office.com', '.logic.azure.com', '.powerplatform.com', '.powerautomate.com'];
  return teams.some((suffix) => host.endsWith(suffix)) ? 'teams' : 'slack';
}

/**
 * Sends the run's alert when `notify-webhook-url` is set and the outcome is in `notify-on`. Never
 * throws and never changes the outcome: a webhook that fails or does not answer in time is a
 * warning. The payload is scrubbed here, at the sink, and nothing logged names the URL.
 */
export async function notifyRun(
  settings: Settings,
  result: RunResult,
  context: AlertContext,
  logger: Logger,
  scrubber: SecretScrubber,
): Promise<void> {
  const url = settings.notifyWebhookUrl;
  if (!url) return;
  const outcome = alertOutcome(result);
  if (!settings.notifyOn.includes(outcome)) {
    logger.debug(`No alert: ${outcome} is not in notify-on (${settings.notifyOn.join(', ')})`);
    return;
  }
  try {
    const format = alertFormatFor(url);
    const payload = scrubber.scrubValue(renderAlert(result, context, format));
    const sent = await postJson(url, payload, { timeoutMs: ALERT_TIMEOUT_MS, retryDelayMs: RETRY_DELAY_MS });
    logger.info(
      `Alert sent (${outcome}, ${format === 'teams' ? 'Teams Adaptive Card' : 'Slack-style text'}${sent.attempts > 1 ? ', on the retry' : ''})`,
    );
  } catch (error) {
    logger.warn(
      `The alert (${outcome}) could not be sent to notify-webhook-url: ${scrubber.scrub(errorMessage(error))}. The migration's outcome is not affected.`,
    );
  }
}
