import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';

/**
 * What @octokit/request reads from a fetch response (its fetch-wrapper): status, url, the
 * headers (iterated, and `get`), and the body as text or bytes.
 */
interface ResponseLike {
  status: number;
  statusText: string;
  url: string;
  headers: { get(name: string): string | null; [Symbol.iterator](): Iterator<[string, string]> };
  body: null;
  text(): Promise<string>;
  arrayBuffer(): Promise<ArrayBuffer>;
}

/**
 * The `fetch` our GitHub client is given: one request over node:http(s). Node's own fetch loads
 * its HTTP stack on first use, 24 ms of main-thread work (Node 24, measured) that lands in the
 * middle of a migration, when the engine is parsing and sending statements; node:http is part of
 * what Node has loaded already. Enough of fetch for @octokit/request: method, headers, a string
 * body, an abort signal; no redirects (the REST calls we make answer directly).
 */
export function nodeFetch(url: string, init: RequestInit = {}): Promise<ResponseLike> {
  const target = new URL(url);
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  const signal = init.signal ?? undefined;
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal));
    const req = send(
      target,
      { method: init.method ?? 'GET', headers: init.headers as Record<string, string>, signal },
      (res) => resolve(responseOf(res, url, signal)),
    );
    req.on('error', (error) => reject(signal?.aborted ? abortError(signal) : error));
    if (typeof init.body === 'string') req.end(init.body);
    else req.end();
  });
}

function responseOf(res: IncomingMessage, url: string, signal: AbortSignal | undefined): ResponseLike {
  const bytes = new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (chunk: Buffer) => chunks.push(chunk));
    res.on('end', () => resolve(Buffer.concat(chunks)));
    res.on('error', (error) => reject(signal?.aborted ? abortError(signal) : error));
  });
  bytes.catch(() => {}); // read (and reported) by text() or arrayBuffer()
  const headers = new Map<string, string>();
  for (const [name, value] of Object.entries(res.headers)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  return {
    status: res.statusCode ?? 0,
    statusText: res.statusMessage ?? '',
    url,
    headers: {
      get: (name) => headers.get(name.toLowerCase()) ?? null,
      [Symbol.iterator]: () => headers.entries(),
    },
    body: null,
    text: async () => (await bytes).toString('utf8'),
    arrayBuffer: async () => {
      const b = await bytes;
      return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
    },
  };
}

/** As fetch reports an aborted request: the signal's reason (a TimeoutError or an AbortError). */
function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  const error = new Error('This operation was aborted');
  error.name = 'AbortError';
  return error;
}
