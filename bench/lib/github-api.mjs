/**
 * A loopback stand-in for GitHub's REST API, for benchmarks that include the sticky PR comment:
 * it answers the calls a comment update makes (find the merged PR of a push, list/create/update
 * issue comments) like api.github.com does, from memory, and counts every request, so a result
 * can say how many calls a run really made. Anything else gets GitHub's 404 body.
 */
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';

export const BENCH_REPOSITORY = 'bench/migrations';
export const BENCH_PR = 7;
const BENCH_SHA = 'b'.repeat(40);

/** @returns {Promise<{ url: string, requests: Array<{ method: string, path: string }>, close(): Promise<void> }>} */
export async function startGithubApi() {
  const requests = [];
  const comments = new Map();
  let nextId = 1000;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const path = new URL(req.url, 'http://x').pathname;
      requests.push({ method: req.method, path });
      const send = (status, value) => {
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'x-ratelimit-remaining': '4999' });
        res.end(JSON.stringify(value));
      };
      const input = body ? safeJson(body) : {};
      let m;
      if (req.method === 'GET' && /^\/repos\/[^/]+\/[^/]+\/commits\/[^/]+\/pulls$/.test(path))
        return send(200, [{ number: BENCH_PR, state: 'closed', merged_at: new Date().toISOString(), head: { sha: BENCH_SHA } }]);
      if ((m = /^\/repos\/[^/]+\/[^/]+\/issues\/(\d+)\/comments$/.exec(path))) {
        if (req.method === 'GET') return send(200, [...comments.values()].filter((c) => c.issue === Number(m[1])));
        if (req.method === 'POST') {
          const comment = { id: nextId++, issue: Number(m[1]), body: input.body ?? '', user: { login: 'github-actions[bot]', type: 'Bot' } };
          comments.set(comment.id, comment);
          return send(201, comment);
        }
      }
      if ((m = /^\/repos\/[^/]+\/[^/]+\/issues\/comments\/(\d+)$/.exec(path)) && req.method === 'PATCH') {
        const comment = comments.get(Number(m[1]));
        if (!comment) return send(404, { message: 'Not Found' });
        comment.body = input.body ?? comment.body;
        return send(200, comment);
      }
      send(404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' });
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/**
 * The environment GitHub gives a job triggered by a push to main (the merge of BENCH_PR), pointed
 * at the loopback API: the event file is written into `dir`.
 */
export function githubPushEnv(apiUrl, dir) {
  const eventPath = join(dir, 'github-event.json');
  writeFileSync(
    eventPath,
    JSON.stringify({ ref: 'refs/heads/main', after: BENCH_SHA, repository: { full_name: BENCH_REPOSITORY }, head_commit: { id: BENCH_SHA } }),
  );
  return {
    GITHUB_API_URL: apiUrl,
    GITHUB_TOKEN: 'bench-token',
    'INPUT_GITHUB-TOKEN': 'bench-token',
    GITHUB_EVENT_PATH: eventPath,
    GITHUB_EVENT_NAME: 'push',
    GITHUB_REPOSITORY: BENCH_REPOSITORY,
    GITHUB_REF: 'refs/heads/main',
    GITHUB_SHA: BENCH_SHA,
    GITHUB_ACTOR: 'bench',
    GITHUB_TRIGGERING_ACTOR: 'bench',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_RUN_ID: '1',
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_WORKFLOW: 'bench',
    GITHUB_JOB: 'apply',
  };
}

function safeJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return {};
  }
}
