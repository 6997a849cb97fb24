import type { IncomingMessage, ServerResponse } from 'node:http';
import { LoopbackHttp } from './loopback-http.js';

/** One POST as the fake webhook received it. */
export interface ReceivedMessage {
  path: string;
  contentType?: string;
  /** The raw body, as sent. */
  text: string;
  body: unknown;
  /** What the fake answered (0: it never answered). */
  status: number;
}

/**
 * A loopback chat webhook (Slack-style: answers `ok`) that records every request. `answers` are
 * used in order before the normal 200: a status code, or `hang` for an answer that never comes.
 */
export class FakeWebhook extends LoopbackHttp {
  readonly received: ReceivedMessage[] = [];
  answers: Array<number | 'hang'> = [];

  /** The webhook URL, with a path that plays the part of Slack's secret token. */
  url(path = '/services/T0GUARD/B0GUARD/s3cretWebhookToken42'): string {
    return `${this.origin}${path}`;
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    const message: ReceivedMessage = {
      path: req.url ?? '/',
      contentType: req.headers['content-type'],
      text,
      body,
      status: 0,
    };
    this.received.push(message);
    const answer = this.answers.shift() ?? 200;
    if (answer === 'hang') {
      this.hold(res);
      return;
    }
    message.status = answer;
    res.writeHead(answer, { 'content-type': 'text/plain' });
    res.end(answer === 200 ? 'ok' : 'internal_error');
  }
}
