import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { join } from 'node:path';

/** A certificate and its key, for an HTTPS loopback server. */
export interface TlsIdentity {
  key: Buffer | string;
  cert: Buffer | string;
}

const TLS_DIR = join(process.cwd(), '__tests__', 'fixtures', 'tls');

/** The self-signed certificate for 127.0.0.1 (__tests__/fixtures/tls/README.md). */
export const TLS_FIXTURE = {
  certPath: join(TLS_DIR, 'cert.pem'),
  identity: (): TlsIdentity => ({
    key: readFileSync(join(TLS_DIR, 'key.pem')),
    cert: readFileSync(join(TLS_DIR, 'cert.pem')),
  }),
};

/**
 * What the loopback stand-ins for remote services (the GitHub API, a chat webhook) share: an HTTP
 * server on 127.0.0.1, or HTTPS with `tls`, counting the handshakes a client broke off because it
 * did not accept the certificate; answers held back on purpose (`hold`) are cut when it stops.
 */
export abstract class LoopbackHttp {
  /** TLS handshakes the client broke off (it did not accept the certificate). */
  refusedHandshakes = 0;
  private server?: Server;
  private readonly hanging = new Set<ServerResponse>();

  constructor(private readonly tls?: TlsIdentity) {}

  protected abstract handle(req: IncomingMessage, res: ServerResponse): Promise<void>;

  /** `http(s)://127.0.0.1:port` once started. */
  protected get origin(): string {
    const address = this.server!.address() as { port: number };
    return `${this.tls ? 'https' : 'http'}://127.0.0.1:${address.port}`;
  }

  async start(): Promise<this> {
    const handler = (req: IncomingMessage, res: ServerResponse) => void this.handle(req, res);
    this.server = this.tls ? createTlsServer(this.tls, handler) : createServer(handler);
    // A client that does not accept the certificate ends the handshake: counted, never a request.
    this.server.on('tlsClientError', () => this.refusedHandshakes++);
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  /** An answer that never comes (the socket stays open until the client gives up or stop()). */
  protected hold(res: ServerResponse): void {
    this.hanging.add(res);
    res.on('close', () => this.hanging.delete(res));
  }
}
