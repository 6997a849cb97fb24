/**
 * The alert sender with the real client (Node's fetch, undici behind a proxy) against a loopback
 * webhook that records every request: retries, refusals, the proxy of self-hosted runners, and
 * scrubbing at the sink.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { main, parseArgs } from '../../src/cli.js';
import { scrubberForInputs } from '../../src/config/run-scrubber.js';
import { parseSettings } from '../../src/config/settings.js';
import { notifyRun } from '../../src/notify/index.js';
import { databasesFor, testServers } from '../helpers/db.js';
import { migrationsDir } from '../helpers/migrations.js';
import { capturingLogger } from '../helpers/run.js';
import { runResultWith } from '../helpers/report-cases.js';
import { FakeWebhook } from '../helpers/webhook.js';
import { TLS_FIXTURE } from '../helpers/loopback-http.js';
import { startConnectProxy, withEnv } from '../helpers/proxy.js';

const DATABASE_URL = 'postgres://app:Sup3r%2Fsecret@db.example.com:5432/postgres';
let webhook: FakeWebhook;

beforeEach(async () => {
  webhook = await new FakeWebhook().start();
});
afterEach(async () => {
  await webhook.stop();
});

async function notify(
  url: string,
  inputs: Record<string, string>,
  result = runResultWith({ environment: 'production' }),
) {
  const raw = { 'database-url': DATABASE_URL, 'notify-webhook-url': url, ...inputs };
  const logs: string[] = [];
  await notifyRun(
    parseSettings(raw),
    result,
    { actor: 'octocat', eventName: 'push' },
    capturingLogger(logs),
    scrubberForInputs(raw),
  );
  return logs;
}

describe('notifyRun', () => {
  it('sends one message for an outcome in notify-on and none for one that is not', async () => {
    await notify(webhook.url(), {}, runResultWith({ status: 'success' }));
    expect(webhook.received).toEqual([]);
    const logs = await notify(
      webhook.url(),
      { 'notify-on': 'success' },
      runResultWith({ status: 'success' }),
    );
    expect(webhook.received).toHaveLength(1);
    expect(logs).toContain('info: Alert sent (success, Slack-style text)');
  });

  it('retries once after a 5xx, sending the same body again; a 4xx is not retried', async () => {
    webhook.answers = [503];
    const logs = await notify(webhook.url(), {});
    expect(webhook.received.map((m) => m.status)).toEqual([503, 200]);
    expect(webhook.received[1].text).toBe(webhook.received[0].text);
    expect(logs).toContain('info: Alert sent (failed, Slack-style text, on the retry)');

    webhook.received.length = 0;
    webhook.answers = [400];
    const refused = await notify(webhook.url(), {});
    expect(webhook.received.map((m) => m.status)).toEqual([400]);
    expect(refused.filter((l) => l.startsWith('warn:'))).toEqual([
      "warn: The alert (failed) could not be sent to notify-webhook-url: the webhook answered HTTP 400 (internal_error). The migration's outcome is not affected.",
    ]);
  });

  it('warns without the URL when nothing listens', async () => {
    // A port that was just free: nothing listens there.
    const spare = await new FakeWebhook().start();
    const closed = spare.url();
    await spare.stop();
    const logs = await notify(closed, {});
    const warning = logs.filter((l) => l.startsWith('warn:'));
    expect(warning).toHaveLength(1);
    expect(warning[0]).toMatch(/the webhook could not be reached \(ECONNREFUSED\), again on the retry/);
    expect(warning[0]).not.toContain('s3cretWebhookToken42');
  });

  it('a webhook whose TLS certificate the runner does not trust: one attempt, and a warning that says how to trust it', async () => {
    const secure = await new FakeWebhook(TLS_FIXTURE.identity()).start();
    try {
      const logs = await notify(secure.url(), {});
      expect(secure.received).toEqual([]);
      // The server hears of the refused handshake a moment after the client gave up.
      for (let waited = 0; secure.refusedHandshakes === 0 && waited < 2000; waited += 20)
        await new Promise((resolve) => setTimeout(resolve, 20));
      expect(secure.refusedHandshakes).toBe(1); // not retried: a certificate does not change
      const warning = logs.filter((l) => l.startsWith('warn:'));
      expect(warning).toHaveLength(1);
      expect(warning[0]).toContain(
        "the webhook's TLS certificate was not accepted (DEPTH_ZERO_SELF_SIGNED_CERT); with a private certificate authority, give the runner its certificate with NODE_EXTRA_CA_CERTS",
      );
      expect(warning[0]).not.toContain('again on the retry');
      expect(warning[0]).not.toContain('s3cretWebhookToken42');
    } finally {
      await secure.stop();
    }
  });

  it('scrubs the payload at the sink: a secret left in the result never reaches the webhook', async () => {
    const leaky = runResultWith({
      error: {
        message: `password authentication failed: Sup3r/secret at ${DATABASE_URL} via ${webhook.url()}`,
      },
    });
    await notify(webhook.url(), {}, leaky);
    const [message] = webhook.received;
    for (const secret of [
      'Sup3r/secret',
      'Sup3r%2Fsecret',
      DATABASE_URL,
      webhook.url(),
      's3cretWebhookToken42',
    ])
      expect(message.text).not.toContain(secret);
    expect((message.body as { text: string }).text).toContain(
      'password authentication failed: *** at *** via ***',
    );
  });

  it('goes through the HTTP proxy named by HTTP_PROXY (self-hosted runners)', async () => {
    // The webhook's host name does not resolve here: only the proxy knows where it is.
    const port = Number(new URL(webhook.url()).port);
    const proxy = await startConnectProxy(port);
    const { tunnels } = proxy;
    try {
      const logs = await withEnv({ HTTP_PROXY: proxy.address, NO_PROXY: undefined }, () =>
        notify(`http://hooks.webhook.invalid:${port}/services/T0/B0/s3cretWebhookToken42`, {}),
      );
      expect(logs.filter((l) => l.startsWith('warn:'))).toEqual([]);
    } finally {
      await proxy.close();
    }
    expect(webhook.received).toHaveLength(1);
    expect(tunnels).toEqual([`hooks.webhook.invalid:${port}`]);
  });
});

describe.each(testServers())('the CLI on $name', (server) => {
  const newDb = databasesFor(server);

  it("sends the alert of a rolled-back run too; the guard's inputs are the action's only", async () => {
    const db = await newDb();
    const dir = migrationsDir({ '1_a.sql': 'create table a (id int);', '2_b.sql': 'select 1/0;' });
    const write = process.stdout.write;
    process.stdout.write = (() => true) as typeof process.stdout.write; // the text report
    const stderr = process.stderr.write;
    process.stderr.write = (() => true) as typeof process.stderr.write;
    let code: number;
    try {
      code = await main(
        [
          'apply',
          '--database-url',
          db.url,
          '--migrations-dir',
          dir,
          '--backup',
          'off',
          '--notify-webhook-url',
          webhook.url(),
        ],
        {},
      );
    } finally {
      process.stdout.write = write;
      process.stderr.write = stderr;
    }
    expect(code).toBe(1);
    expect(webhook.received).toHaveLength(1);
    expect((webhook.received[0].body as { text: string }).text).toContain(
      '↩️ apply failed and was rolled back',
    );
    expect(() => parseArgs(['apply', '--allowed-roles', 'admin'])).toThrow('Unknown flag --allowed-roles');
    expect(() => parseArgs(['apply', '--rate-limit', '0'])).toThrow('Unknown flag --rate-limit');
  });
});
