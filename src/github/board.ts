import type { Settings } from '../config/settings.js';
import type { RunContext } from '../config/run-context.js';
import type { StageEvent, StageListener } from '../engine/events.js';
import type { SecretScrubber } from '../secrets.js';
import type { CommentBoard } from './comment-board.js';
import type { Spacing, StickyLog } from './sticky-comment.js';

/** What the entry point holds: the listener to subscribe, and how to wait (bounded) for the last update. */
export interface BoardHandle {
  listener: StageListener;
  /** Waits up to `waitMs` for the comment's last update, then gives up on it with a warning. */
  finish(waitMs: number): Promise<void>;
}

/**
 * The comment starts this long after the run has something to report: the first moments of a run
 * are its busiest on the main thread (planning, the run record, the first statements), and
 * loading the GitHub client, looking the pull request up and rendering the board there made a
 * 500-file apply ~30 ms slower (bench/profile-apply.mjs --comment); a quarter of a second later
 * the engine is mostly waiting for the database (or for pg_dump), and no one can tell the
 * difference on the pull request. Events meanwhile are held and folded in order; the end of the
 * run is never held back.
 */
const START_DELAY_MS = 250;

const PULL_REQUEST_EVENTS = new Set(['pull_request', 'pull_request_target']);
/** The commands that tell a pull request's story: what would be applied, then what was. */
const COMMENTED = new Set(['plan', 'apply']);

/**
 * The sticky pull request comment for this run, when one is due: `comment` on, a token, a
 * repository, and a pull request (the event's own, or on a push the one the commit came from).
 * The GitHub client is imported only then, in the background: the run does not wait for it, and
 * runs that post nothing (the CLI, manual runs, `comment: false`) never load it.
 */
export function commentBoardFor(
  settings: Settings,
  run: RunContext,
  env: NodeJS.ProcessEnv,
  scrubber: SecretScrubber,
  log: StickyLog,
  options: {
    timeoutMs?: number;
    attempts?: number;
    baseDelayMs?: number;
    spacing?: Spacing;
    /** How long the first update waits after the run has something to report (START_DELAY_MS). */
    startDelayMs?: number;
  } = {},
): BoardHandle | undefined {
  if (!settings.comment) return undefined;
  const [owner, repo] = (run.repository ?? '').split('/');
  const event = run.eventName ?? '';
  const pullRequest = PULL_REQUEST_EVENTS.has(event) ? run.pullRequest : undefined;
  const sha = event === 'push' ? run.sha : undefined;
  const why = !COMMENTED.has(settings.command)
    ? `the ${settings.command} command does not report on pull requests`
    : !settings.githubToken
      ? 'no github-token'
      : !owner || !repo
        ? 'GITHUB_REPOSITORY is not set'
        : pullRequest === undefined && sha === undefined
          ? `a ${event || 'local'} run has no pull request`
          : undefined;
  if (why) {
    log.debug(`No pull request comment: ${why}`);
    return undefined;
  }
  const abort = new AbortController();
  // The client is loaded (and the pull request looked up) only once the run turns out to have
  // something to report: a run with nothing to do (most pushes to the main branch) makes no API
  // call and evaluates no client at all. Events that come before are handed over in order.
  let loaded: Promise<CommentBoard | undefined> | undefined;
  const load = (): Promise<CommentBoard | undefined> => {
    if (loaded) return loaded;
    loaded = import('./comment-board.js')
      .then(
        ({ CommentBoard }) =>
          new CommentBoard({
            token: settings.githubToken!,
            apiUrl: env.GITHUB_API_URL || 'https://api.github.com',
            target: { owner, repo, pullRequest, sha },
            start: {
              environment: settings.environment,
              command: settings.command,
              runUrl: run.runUrl,
              sha: run.sha,
              backupExpected: settings.command === 'apply' && settings.backup !== 'off',
              at: new Date(),
            },
            scrubber,
            log,
            signal: abort.signal,
            ...options,
          }),
      )
      .catch((error: unknown) => {
        log.warn(`The pull request comment is off for this run: ${(error as Error).message}`);
        return undefined;
      });
    // The board shows the run as under way before its first event.
    void loaded.then((board) => board?.show());
    return loaded;
  };
  const held: StageEvent[] = [];
  const startDelayMs = options.startDelayMs ?? START_DELAY_MS;
  let due = false;
  let timer: NodeJS.Timeout | undefined;
  let delayed: { promise: Promise<void>; resolve: (started: Promise<void>) => void } | undefined;
  /** Loads the board and hands it every event held so far, in order. */
  const start = (): Promise<void> => {
    clearTimeout(timer);
    const board = load();
    const events = held.splice(0);
    // Folded in order, synchronously; the updates they trigger coalesce.
    const started = board.then(async (b) => {
      await Promise.all(events.map((e) => b?.handle(e)));
    });
    delayed?.resolve(started);
    delayed = undefined;
    return started;
  };
  return {
    listener: (event) => {
      if (loaded) return loaded.then((b) => b?.handle(event));
      held.push(event);
      if (!due && nothingToReport(event)) return;
      due = true;
      // The end of the run is never held back; nor is anything when there is no delay.
      if (event.type === 'run-finished' || startDelayMs <= 0) return start();
      if (!delayed) {
        let resolve!: (started: Promise<void>) => void;
        const promise = new Promise<Promise<void>>((r) => (resolve = r)).then((started) => started);
        delayed = { promise, resolve };
        timer = setTimeout(start, startDelayMs);
      }
      return delayed.promise;
    },
    async finish(waitMs) {
      if (!loaded && due) start(); // still waiting for its start (the run ended without run-finished)
      if (!loaded) return; // nothing was worth reporting: no call was made
      // Registered after every event's handler: by then the last update has been handed over.
      const idle = loaded.then((board) => board?.idle());
      let timer: NodeJS.Timeout | undefined;
      const gaveUp = await Promise.race([
        idle.then(() => false),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), waitMs))),
      ]);
      clearTimeout(timer);
      if (gaveUp) {
        log.warn(
          `GitHub did not take the last pull request comment update within ${Math.round(waitMs / 1000)} s: ` +
            'the comment may not show the final state. The migration itself is not affected.',
        );
      }
      abort.abort();
    },
  };
}

/** An event that, alone, gives a comment nothing to say: a run that starts with nothing pending, or ends with nothing to do. */
function nothingToReport(event: StageEvent): boolean {
  return (
    (event.type === 'run-started' && event.pending.length === 0) ||
    (event.type === 'run-finished' && event.result.status === 'nothing-to-do')
  );
}
