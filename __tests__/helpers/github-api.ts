import type { IncomingMessage, ServerResponse } from 'node:http';
import { LoopbackHttp } from './loopback-http.js';

/** One request as the fake API received it. */
export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  authorization?: string;
  body?: { body?: string };
  /** What the fake answered (0: it never answered). */
  status: number;
  /** When it arrived (performance.now()): for the order and spacing of retries. */
  at: number;
}

export interface FakeComment {
  id: number;
  issue: number;
  body: string;
}

/** Requests whose effect happened but whose answer is never sent (Fault.lose). */
const lost = new WeakSet<RecordedRequest>();

/** A forced answer for the next matching request(s), before the normal behaviour. */
export interface Fault {
  method?: string;
  status?: number;
  headers?: Record<string, string>;
  message?: string;
  /** Never answer (the socket stays open until the client gives up). */
  hang?: boolean;
  /** Do what the request asks (create the comment), then never answer: a lost answer. */
  lose?: boolean;
  times: number;
}

/**
 * A loopback HTTP server that answers the four REST calls of the sticky comment like GitHub does
 * (status codes, JSON bodies, `Link` pagination), and records every request. Faults can be queued
 * (a 502, a 403, an answer that never comes).
 */
export class FakeGitHub extends LoopbackHttp {
  readonly requests: RecordedRequest[] = [];
  readonly comments: FakeComment[] = [];
  /** GET /repos/{owner}/{repo}/commits/{sha}/pulls answers, by sha. */
  readonly pullsOfCommit = new Map<
    string,
    Array<{ number: number; merged_at: string | null; state: string }>
  >();
  /** GET /repos/{owner}/{repo}/collaborators/{user}/permission answers, by user (404 for others). */
  readonly permissions = new Map<string, { permission: string; role_name?: string }>();
  faults: Fault[] = [];
  perPageMax = 100;
  private nextId = 1000;

  get url(): string {
    return this.origin;
  }

  /** A comment someone else (or an earlier run) left on the pull request. */
  addComment(issue: number, body: string): FakeComment {
    const comment = { id: this.nextId++, issue, body };
    this.comments.push(comment);
    return comment;
  }

  /** The bodies sent by POST and PATCH, in order. */
  bodiesSent(): string[] {
    return this.requests
      .filter((r) => (r.method === 'POST' || r.method === 'PATCH') && r.status < 300 && r.body?.body)
      .map((r) => r.body!.body!);
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const arrived = performance.now();
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://localhost');
    const record: RecordedRequest = {
      at: arrived,
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      authorization: req.headers.authorization,
      body: text ? (JSON.parse(text) as { body?: string }) : undefined,
      status: 0,
    };
    this.requests.push(record);
    const fault = this.faults.find((f) => f.times > 0 && (!f.method || f.method === record.method));
    if (fault?.lose) {
      fault.times--;
      lost.add(record);
    } else if (fault) {
      fault.times--;
      if (fault.hang) {
        this.hold(res);
        return;
      }
      return this.send(
        res,
        record,
        fault.status ?? 500,
        { message: fault.message ?? 'fault' },
        fault.headers,
      );
    }
    const m = (re: RegExp) => re.exec(url.pathname);
    let match;
    if (record.method === 'GET' && (match = m(/^\/repos\/[^/]+\/[^/]+\/commits\/([^/]+)\/pulls$/))) {
      return this.send(res, record, 200, this.pullsOfCommit.get(match[1]) ?? []);
    }
    if (
      record.method === 'GET' &&
      (match = m(/^\/repos\/[^/]+\/[^/]+\/collaborators\/([^/]+)\/permission$/))
    ) {
      const user = decodeURIComponent(match[1]);
      const permission = this.permissions.get(user);
      if (!permission) return this.send(res, record, 404, { message: 'Not Found' });
      return this.send(res, record, 200, { ...permission, user: { login: user } });
    }
    if ((match = m(/^\/repos\/[^/]+\/[^/]+\/issues\/(\d+)\/comments$/))) {
      const issue = Number(match[1]);
      if (record.method === 'GET') {
        const perPage = Math.min(Number(record.query.per_page ?? 30), this.perPageMax);
        const page = Number(record.query.page ?? 1);
        const all = this.comments.filter((c) => c.issue === issue);
        const slice = all.slice((page - 1) * perPage, page * perPage);
        const headers: Record<string, string> = {};
        if (page * perPage < all.length) {
          headers.link = `<${this.url}${url.pathname}?per_page=${perPage}&page=${page + 1}>; rel="next"`;
        }
        return this.send(res, record, 200, slice.map(toApi), headers);
      }
      if (record.method === 'POST') {
        const comment = this.addComment(issue, record.body?.body ?? '');
        return this.send(res, record, 201, toApi(comment));
      }
    }
    if (record.method === 'PATCH' && (match = m(/^\/repos\/[^/]+\/[^/]+\/issues\/comments\/(\d+)$/))) {
      const comment = this.comments.find((c) => c.id === Number(match![1]));
      if (!comment) return this.send(res, record, 404, { message: 'Not Found' });
      comment.body = record.body?.body ?? '';
      return this.send(res, record, 200, toApi(comment));
    }
    return this.send(res, record, 404, { message: 'Not Found' });
  }

  private send(
    res: ServerResponse,
    record: RecordedRequest,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): void {
    record.status = status;
    if (lost.has(record)) {
      this.hold(res);
      return;
    }
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
    res.end(JSON.stringify(body));
  }
}

function toApi(c: FakeComment) {
  return { id: c.id, body: c.body, user: { login: 'github-actions[bot]' } };
}
