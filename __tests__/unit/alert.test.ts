import { describe, expect, it } from '@jest/globals';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunResult } from '../../src/engine/result.js';
import { alertFormatFor } from '../../src/notify/index.js';
import { alertMessage, alertOutcome, renderAlert, type AlertFormat } from '../../src/report/alert.js';
import { recorded, runResultWith } from '../helpers/report-cases.js';

const FIXTURES = join(process.cwd(), '__tests__', 'fixtures', 'alert');

/** The golden file `name`; with MG_UPDATE_GOLDEN=1 it is first rewritten from `actual`. */
function golden(name: string, actual: string): string {
  const path = join(FIXTURES, name);
  if (process.env.MG_UPDATE_GOLDEN) writeFileSync(path, actual);
  return readFileSync(path, 'utf8');
}

const CONTEXT = {
  actor: 'octocat',
  eventName: 'workflow_dispatch',
  repository: 'acme/app',
  reason: 'release <42> & co',
};
const RUN_URL = 'https://github.com/acme/app/actions/runs/4242';

const refused: RunResult = runResultWith({
  environment: 'production',
  runUrl: RUN_URL,
  message:
    'Manual apply of production refused: octocat (workflow_dispatch) has the repository role "write"; allowed-roles is admin, maintain.',
  error: {
    message:
      'Manual apply of production refused: octocat (workflow_dispatch) has the repository role "write"; allowed-roles is admin, maintain.',
  },
  refusal: {
    rule: 'role',
    actor: 'octocat',
    event: 'workflow_dispatch',
    role: 'write',
    allowedRoles: ['admin', 'maintain'],
    recorded: true,
    message: 'refused',
    hint: 'ask an admin',
  },
});

/** Recorded runs (the summary's fixtures) with a run link, and a refusal. */
const CASES: Array<[string, RunResult]> = [
  ['rolled-back', { ...recorded(2), runUrl: RUN_URL }],
  ['failed', { ...recorded(4), runUrl: RUN_URL }],
  ['success', { ...recorded(5), runUrl: RUN_URL }],
  ['refused', refused],
];

describe('renderAlert golden files', () => {
  it.each(
    CASES.flatMap(([name, result]) =>
      (['slack', 'teams'] as AlertFormat[]).map((f) => [name, f, result] as const),
    ),
  )('renders the %s run for %s exactly as its golden file', (name, format, result) => {
    const json = `${JSON.stringify(renderAlert(result, CONTEXT, format), null, 2)}\n`;
    expect(json).toBe(golden(`${format}-${name}.json`, json));
  });
});

describe('alertMessage', () => {
  it('names the environment, outcome, failing file and error, applied versions, actor and the run', () => {
    const m = alertMessage(CASES[1][1], CONTEXT);
    const facts = Object.fromEntries(m.facts.map((f) => [f.name, f.value]));
    expect(m.outcome).toBe('failed');
    expect(m.runUrl).toBe(RUN_URL);
    expect(facts).toMatchObject({
      Environment: CASES[1][1].environment,
      Outcome: 'failed',
      Actor: 'octocat (workflow_dispatch)',
    });
    expect(facts['Failing file']).toMatch(/\.sql:\d+$/);
    expect(facts.Error).toBeTruthy();
    expect(facts.Applied).toBeDefined();
  });

  it('says refused for a refused manual run, whatever its status', () => {
    expect(alertOutcome(refused)).toBe('refused');
    expect(alertOutcome({ ...refused, refusal: undefined })).toBe('failed');
  });

  it('escapes Slack control characters in values, never in its own link', () => {
    const text = (renderAlert(refused, CONTEXT, 'slack') as { text: string }).text;
    expect(text).toContain('*Reason:* release &lt;42&gt; &amp; co');
    expect(text).toContain(`<${RUN_URL}|View the run>`);
  });

  it('cuts a long error and lists at most 20 versions', () => {
    const many = runResultWith({
      status: 'failed',
      error: { message: 'x'.repeat(5000) },
      applied: Array.from({ length: 25 }, (_, i) => String(i + 1)),
    });
    const facts = Object.fromEntries(alertMessage(many, {}).facts.map((f) => [f.name, f.value]));
    expect(facts.Error.length).toBeLessThanOrEqual(601);
    expect(facts.Applied).toMatch(/, 20 and 5 more$/);
  });
});

describe('alertFormatFor', () => {
  it.each([
    ['https://hooks.slack.com/services/T0/B0/xyz', 'slack'],
    ['https://acme.webhook.office.com/webhookb2/abc/IncomingWebhook/def', 'teams'],
    ['https://prod-12.westus.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?sig=x', 'teams'],
    [
      'https://default1234.environment.api.powerplatform.com/powerautomate/automations/direct/workflows/abc',
      'teams',
    ],
    ['https://chat.example.com/hooks/abc', 'slack'],
  ])('%s → %s', (url, format) => {
    expect(alertFormatFor(url)).toBe(format);
  });
});
