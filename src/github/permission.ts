import type { RunContext } from '../config/run-context.js';
import type { PermissionReader, RepoPermission } from '../guard/policy.js';

/** One call, with one retry for a 5xx or a dropped connection: a manual run waits at most ~25 s here. */
const TIMEOUT_MS = 10_000;
const ATTEMPTS = 2;
const RETRY_DELAY_MS = 1_000;

/**
 * The manual-run guard's view of GitHub: `GET /repos/{owner}/{repo}/collaborators/{user}/permission`
 * through our client (loaded on the first call, so runs that are not manual never evaluate it).
 * Every way of not getting an answer throws, and the guard refuses the run: no token, no
 * repository, an API error, a timeout.
 */
export function permissionReaderFor(
  token: string | undefined,
  run: RunContext,
  env: NodeJS.ProcessEnv,
  signal?: AbortSignal,
): PermissionReader {
  return async (user) => {
    const [owner, repo] = (run.repository ?? '').split('/');
    if (!token) throw new Error('no github-token was given');
    if (!owner || !repo) throw new Error('GITHUB_REPOSITORY is not set');
    const { GitHubApi } = await import('./api.js');
    const api = new GitHubApi({
      token,
      baseUrl: env.GITHUB_API_URL || 'https://api.github.com',
      timeoutMs: TIMEOUT_MS,
      attempts: ATTEMPTS,
      baseDelayMs: RETRY_DELAY_MS,
      signal: signal ?? new AbortController().signal,
    });
    const { data } = await api.call<{ permission?: unknown; role_name?: unknown }>(
      'GET /repos/{owner}/{repo}/collaborators/{username}/permission',
      { owner, repo, username: user },
    );
    if (typeof data?.permission !== 'string') throw new Error('GitHub answered without a permission');
    const permission: RepoPermission = { permission: data.permission };
    if (typeof data.role_name === 'string' && data.role_name) permission.roleName = data.role_name;
    return permission;
  };
}
