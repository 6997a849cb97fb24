import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';

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
export class FakeWebhook {
  readonly received: ReceivedMessage[] = [];
  answers: Array<number | 'hang'> = [];
  private server?: Server;
  private readonly hanging = new Set<ServerResponse>();
  /** TLS handshakes the client broke off (it did not accept the certificate). */
  refusedHandshakes = 0;

  /** With `tls`, an HTTPS server with that certificate (as chat services are). */
  constructor(private readonly tls?: { key: Buffer | string; cert: Buffer | string }) {}

  /** The webhook URL, with a path that plays the part of Slack's secret token. */
  url(path = '/services/T0GUARD/B0GUARD/s3cretWebhookToken42'): string {
    const address = this.server!.address() as { port: number };
    return `${this.tls ? 'https' : 'http'}://127.0.0.1:${address.port}${path}`;
  }

  async start(): Promise<this> {
    const handler = (req: IncomingMessage, res: ServerResponse) => void this.handle(req, res);
    this.server = this.tls ? createTlsServer(this.tls, handler) : createServer(handler);
    this.server.on('tlsClientError', () => this.refusedHandshakes++);
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
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
      this.hanging.add(res);
      res.on('close', () => this.hanging.delete(res));
      return;
    }
    message.status = answer;
    res.writeHead(answer, { 'content-type': 'text/plain' });
    res.end(answer === 200 ? 'ok' : 'internal_error');
  }
}
