import { createServer as createHttpServer, type IncomingMessage } from 'node:http';
import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A loopback TCP proxy in front of PostgreSQL whose open connections a test can cut.
 * `onClientMessage` hears the type of every protocol message a client sends ('Q' for a
 * simple-protocol query, 'P'/'B'/'E' for the extended protocol's parse, bind and execute).
 */
export async function startProxy(
  targetPort: number,
  options: { onClientMessage?: (type: string) => void } = {},
): Promise<{
  port: number;
  /** `databaseUrl` (of the server behind the proxy) pointed at the proxy instead. */
  url(databaseUrl: string): string;
  connections(): number;
  dropAll(): void;
  close(): Promise<void>;
}> {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server: Server = createServer((client) => {
    connections++;
    const upstream = connect(targetPort, '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    client.pipe(upstream).pipe(client);
    if (options.onClientMessage) client.on('data', frontendMessages(options.onClientMessage));
    const forget = () => {
      sockets.delete(client);
      sockets.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', forget).on('close', forget);
    upstream.on('error', forget).on('close', forget);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    port,
    url: (databaseUrl) => {
      const through = new URL(databaseUrl);
      through.hostname = '127.0.0.1';
      through.port = String(port);
      return through.toString();
    },
    connections: () => connections,
    dropAll: () => {
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;

/**
 * Splits what a client sends into protocol messages: first the untyped startup packet (after an
 * SSL or GSS request, when the client sends one), then messages of a type byte and a length.
 */
function frontendMessages(onMessage: (type: string) => void): (chunk: Buffer) => void {
  let pending = Buffer.alloc(0);
  let inStartup = true;
  return (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    for (;;) {
      if (inStartup) {
        if (pending.length < 8) return;
        const length = pending.readInt32BE(0);
        if (pending.length < length) return;
        const code = pending.readInt32BE(4);
        pending = pending.subarray(length);
        inStartup = code === SSL_REQUEST || code === GSSENC_REQUEST;
        continue;
      }
      if (pending.length < 5) return;
      const length = pending.readInt32BE(1);
      if (pending.length < 1 + length) return;
      onMessage(String.fromCharCode(pending[0]));
      pending = pending.subarray(1 + length);
    }
  };
}

/**
 * A loopback HTTP proxy as self-hosted runners have: it answers CONNECT by tunnelling to
 * 127.0.0.1:`targetPort`, whatever host the client asked for (so a host name that resolves
 * nowhere proves the client went through it), and records the `host:port` of each tunnel.
 */
export async function startConnectProxy(
  targetPort: number,
): Promise<{ address: string; tunnels: string[]; close(): Promise<void> }> {
  const tunnels: string[] = [];
  const proxy = createHttpServer();
  proxy.on('connect', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    tunnels.push(req.url!);
    const upstream = connect(targetPort, '127.0.0.1', () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return {
    address: `127.0.0.1:${(proxy.address() as { port: number }).port}`,
    tunnels,
    close: async () => {
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
    },
  };
}

/** Runs `fn` with these environment variables set (undefined: unset), then puts them back. */
export async function withEnv<T>(
  values: Record<string, string | undefined>,
  fn: () => Promise<T>,
): Promise<T> {
  const saved = Object.fromEntries(Object.keys(values).map((k) => [k, process.env[k]]));
  const apply = (vars: Record<string, string | undefined>) => {
    for (const [k, v] of Object.entries(vars)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
  apply(values);
  try {
    return await fn();
  } finally {
    apply(saved);
  }
}
