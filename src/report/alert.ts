import type { NotifyOutcome } from '../config/settings.js';
import type { RunResult } from '../engine/result.js';
import { cut } from '../secrets.js';

/**
 * The alert a run sends to a chat webhook: one message with the environment, outcome, failing
 * file and error, applied versions, actor and a link to the run. Pure: it renders a result the
 * run has already scrubbed (the sender scrubs the payload again, at the sink).
 *
 * `slack`: `{"text": …}` in Slack's mrkdwn, which Slack incoming webhooks take, and so do most
 * Slack-compatible ones (Mattermost, Rocket.Chat, Google Chat, Teams' legacy connectors).
 * `teams`: an Adaptive Card in a `message` envelope, the only format Teams' Workflows (Power
 * Automate) webhooks accept; legacy Office 365 connectors accept it too.
 */
export type AlertFormat = 'slack' | 'teams';

/** Who started the run and why: not in the result, given by the entry point. */
export interface AlertContext {
  actor?: string;
  eventName?: string;
  repository?: string;
  reason?: string;
}

/** One label and value of the message, in order. */
export interface AlertFact {
  name: string;
  value: string;
}

export interface AlertMessage {
  outcome: NotifyOutcome;
  title: string;
  facts: AlertFact[];
  runUrl?: string;
}

/** Longest error quoted: a chat message is a pointer to the run, not the report. */
const MAX_ERROR = 600;
/** Versions listed before "and N more". */
const MAX_VERSIONS = 20;

/** The outcome an alert is about: a refused manual run is `refused`, otherwise the run's status. */
export function alertOutcome(result: RunResult): NotifyOutcome {
  return result.refusal ? 'refused' : result.status;
}

const HEADLINE: Record<NotifyOutcome, (r: RunResult) => string> = {
  success: (r) =>
    `✅ ${r.command} succeeded${r.applied.length ? `: ${plural(r.applied.length, 'migration')} applied` : ''}`,
  'nothing-to-do': (r) => `💤 ${r.command}: nothing to do`,
  failed: (r) => `❌ ${r.command} failed`,
  'rolled-back': (r) =>
    r.command === 'rollback'
      ? `↩️ rollback: ${r.rollback?.reverted.length ?? 0} reverted`
      : `↩️ ${r.command} failed and was rolled back`,
  cancelled: (r) => `⏹️ ${r.command} cancelled`,
  refused: (r) => `⛔ manual ${r.command} refused`,
};

/** What the message says, whatever its format. */
export function alertMessage(result: RunResult, context: AlertContext): AlertMessage {
  const outcome = alertOutcome(result);
  const facts: AlertFact[] = [];
  const add = (name: string, value: string | undefined) => {
    if (value) facts.push({ name, value });
  };
  add('Environment', result.environment);
  add('Outcome', outcome);
  add('Repository', context.repository);
  add('Actor', context.actor && `${context.actor}${context.eventName ? ` (${context.eventName})` : ''}`);
  add('Reason', context.reason);
  if (result.refusal) {
    const r = result.refusal;
    add('Role', r.role ?? 'unknown');
    add('Allowed roles', r.allowedRoles.join(', '));
    add('Next allowed run', r.nextAllowedAt);
  }
  add('Failing file', failingFile(result));
  if (outcome !== 'success' && outcome !== 'nothing-to-do')
    add('Error', result.error && cut(oneLine(result.error.message), MAX_ERROR));
  if (!result.refusal) add('Applied', versions(result.applied));
  const reverted = result.rollback?.reverted ?? [];
  if (reverted.length) add('Rolled back', versions(reverted));
  else if (outcome === 'rolled-back')
    add(
      'Rolled back',
      versions(result.migrations.filter((m) => m.status === 'rolled-back').map((m) => m.version)),
    );
  if (result.rollback?.nextStep) add('Next step', cut(oneLine(result.rollback.nextStep), MAX_ERROR));
  return {
    outcome,
    title: `Migration guard · ${result.environment} · ${HEADLINE[outcome](result)}`,
    facts,
    runUrl: result.runUrl,
  };
}

/** The webhook body for `format`. */
export function renderAlert(result: RunResult, context: AlertContext, format: AlertFormat): unknown {
  const message = alertMessage(result, context);
  return format === 'teams' ? teamsCard(message) : slackText(message);
}

function slackText(m: AlertMessage): { text: string } {
  const lines = [`*${slack(m.title)}*`, ...m.facts.map((f) => `*${f.name}:* ${slack(f.value)}`)];
  if (m.runUrl) lines.push(`<${slack(m.runUrl)}|View the run>`);
  return { text: lines.join('\n') };
}

/** Slack's mrkdwn control characters, escaped as Slack documents (only these three). */
function slack(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function teamsCard(m: AlertMessage): unknown {
  const bad = m.outcome !== 'success' && m.outcome !== 'nothing-to-do';
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          body: [
            {
              type: 'TextBlock',
              text: m.title,
              weight: 'Bolder',
              size: 'Medium',
              wrap: true,
              ...(bad && { color: 'Attention' }),
            },
            { type: 'FactSet', facts: m.facts.map((f) => ({ title: f.name, value: f.value })) },
          ],
          ...(m.runUrl && { actions: [{ type: 'Action.OpenUrl', title: 'View the run', url: m.runUrl }] }),
        },
      },
    ],
  };
}

function failingFile(result: RunResult): string | undefined {
  const error = result.error;
  const failed = result.migrations.find((m) => m.status === 'failed' || m.status === 'partially-applied');
  const file = error?.file ?? failed?.error?.file ?? failed?.file;
  if (!file) return undefined;
  const line = error?.file ? error.line : failed?.error?.line;
  return line ? `${file}:${line}` : file;
}

function versions(list: string[]): string {
  if (list.length === 0) return 'none';
  const shown = list.slice(0, MAX_VERSIONS).join(', ');
  return list.length > MAX_VERSIONS ? `${shown} and ${list.length - MAX_VERSIONS} more` : shown;
}

function oneLine(text: string): string {
  return text.replace(/\s*\r?\n\s*/g, ' ').trim();
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
