import { createServer, connect } from 'node:net';

/**
 * A loopback TCP proxy that holds every chunk for half of `rttMs` in each direction: a database
 * `rttMs` away, as seen from a CI runner in another region or a laptop, without leaving this
 * machine. Order is kept (equal delays fire in the order they were scheduled). Returns the port
 * clients should use instead of `targetPort`.
 */
export async function startLatencyProxy(targetPort, rttMs) {
  const oneWay = rttMs / 2;
  const sockets = new Set();
  const relay = (from, to) =>
    from.on('data', (chunk) => {
      setTimeout(() => {
        if (!to.destroyed) to.write(chunk);
      }, oneWay);
    });
  const server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    sockets.add(client).add(upstream);
    relay(client, upstream);
    relay(upstream, client);
    // A close travels with the same delay, after the data sent before it.
    const closeLater = (other) => () => setTimeout(() => other.end(), oneWay);
    client.on('end', closeLater(upstream)).on('error', () => upstream.destroy());
    upstream.on('end', closeLater(client)).on('error', () => client.destroy());
    for (const s of [client, upstream]) s.on('close', () => sockets.delete(s));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: server.address().port,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
