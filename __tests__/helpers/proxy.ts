import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A loopback TCP proxy in front of PostgreSQL whose open connections a test can cut.
 * `onClientMessage` hears the type of every protocol message a client sends ('Q' for a
 * simple-protocol query, 'P'/'B'/'E' for the extended protocol's parse, bind and execute).
 */
export async function startProxy(
  targetPort: number,
  options: { onClientMessage?: (type: string) => void } = {},
): Promise<{ port: number; dropAll(): void; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
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
