import { readFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';

/** Who and what started this run: recorded in run rows, reports and application_name. */
export interface RunContext {
  actor: string;
  triggeringActor?: string;
  eventName?: string;
  repository?: string;
  ref?: string;
  sha?: string;
  runUrl?: string;
  runId?: string;
  pullRequest?: number;
  /** The event payload says the repository is public (`repository.private` is false). */
  publicRepository?: boolean;
}

/** Reads GitHub's documented environment variables; outside Actions, names the local user. */
export function runContextFromEnv(env: NodeJS.ProcessEnv = process.env): RunContext {
  if (!env.GITHUB_ACTIONS && !env.GITHUB_RUN_ID) {
    let user = 'local';
    try {
      user = userInfo().username;
    } catch {
      // no passwd entry (some containers): keep the generic name
    }
    return { actor: `${user}@${hostname()}` };
  }
  const server = env.GITHUB_SERVER_URL ?? 'https://github.com';
  const runUrl =
    env.GITHUB_REPOSITORY && env.GITHUB_RUN_ID
      ? `${server}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}`
      : undefined;
  return {
    actor: env.GITHUB_ACTOR ?? 'github-actions',
    triggeringActor: env.GITHUB_TRIGGERING_ACTOR,
    eventName: env.GITHUB_EVENT_NAME,
    repository: env.GITHUB_REPOSITORY,
    ref: env.GITHUB_REF,
    sha: env.GITHUB_SHA,
    runUrl,
    runId: env.GITHUB_RUN_ID,
    pullRequest: pullRequestNumber(env.GITHUB_EVENT_PATH),
    ...(repositoryIsPublic(env.GITHUB_EVENT_PATH) ? { publicRepository: true } : {}),
  };
}

/** Only an explicit `"private": false` counts: an unreadable or partial payload says nothing. */
function repositoryIsPublic(eventPath: string | undefined): boolean {
  if (!eventPath) return false;
  try {
    const event = JSON.parse(readFileSync(eventPath, 'utf8')) as { repository?: { private?: unknown } };
    return event.repository?.private === false;
  } catch {
    return false;
  }
}

function pullRequestNumber(eventPath: string | undefined): number | undefined {
  if (!eventPath) return undefined;
  try {
    const event = JSON.parse(readFileSync(eventPath, 'utf8')) as {
      pull_request?: { number?: number };
      number?: number;
    };
    return event.pull_request?.number ?? undefined;
  } catch {
    return undefined;
  }
}

/** What pg_stat_activity shows for our session, so a waiting run can name this one. */
export function applicationName(command: string, environment: string, context: RunContext): string {
  const who = context.runId ? `gh-run ${context.runId}` : context.actor;
  return `migration-guard ${command} ${environment} ${who}`;
}
