import type { StageEvent } from '../engine/events.js';
import { foldEvents, startBoard, type BoardStart, type BoardState } from '../report/board-state.js';
import { commentMarker, historyOf, renderComment } from '../report/comment.js';
import type { SecretScrubber } from '../secrets.js';
import { GitHubApi } from './api.js';
import {
  DEFAULT_SPACING,
  StickyComment,
  type CommentTarget,
  type Spacing,
  type StickyLog,
} from './sticky-comment.js';

/**
 * Whether this state may start a comment on a pull request that has none: not a run with nothing
 * pending and nothing to report (every pull request of the repository would get one), nor one
 * that has not said yet what it will do. An existing comment is always updated.
 */
export function worthStarting(state: BoardState): boolean {
  const result = state.result;
  if (!result) return (state.pending?.length ?? 0) > 0 || !!state.failed;
  return result.status !== 'nothing-to-do' || result.findings.length > 0;
}

export interface CommentBoardOptions {
  token: string;
  apiUrl: string;
  /** Where the comment goes (its marker comes from the environment). */
  target: Omit<CommentTarget, 'marker'>;
  start: BoardStart;
  scrubber: SecretScrubber;
  log: StickyLog;
  /** Aborts every call in flight (the entry point gives up waiting). */
  signal: AbortSignal;
  timeoutMs?: number;
  /** How long an update waits for more before it is sent (StickyComment); 0 sends each at once. */
  quietMs?: number;
  /** How far apart progress updates are (StickyComment); the first and the final one go at once. */
  spacing?: Spacing;
  attempts?: number;
  baseDelayMs?: number;
  now?: () => Date;
}

/** Stage events within this long of each other make one comment update. */
const QUIET_MS = 150;

/**
 * The live status board on the pull request: each stage event is folded into the board's state
 * and the comment is re-rendered from it (coalesced by StickyComment). Scrubbed at the sink: the
 * state before it is rendered (and cut), the body again before it is sent.
 */
export class CommentBoard {
  private state: BoardState;
  /** Events not folded into `state` yet: folded together when the board is next rendered. */
  private readonly unfolded: Array<{ event: StageEvent; at: Date }> = [];
  private readonly sticky: StickyComment;
  private readonly now: () => Date;

  constructor(private readonly options: CommentBoardOptions) {
    this.now = options.now ?? (() => new Date());
    this.state = startBoard(options.start);
    const api = new GitHubApi({
      token: options.token,
      baseUrl: options.apiUrl,
      timeoutMs: options.timeoutMs ?? 10_000,
      attempts: options.attempts ?? 4,
      baseDelayMs: options.baseDelayMs ?? 1_000,
      signal: options.signal,
    });
    this.sticky = new StickyComment(
      api,
      { ...options.target, marker: commentMarker(options.start.environment) },
      options.log,
      options.quietMs ?? QUIET_MS,
      options.spacing ?? DEFAULT_SPACING,
    );
    options.signal.addEventListener('abort', () => this.sticky.stop(), { once: true });
  }

  /**
   * Posts the board as it is (the "in progress" state, before any event). Folded, scrubbed and
   * rendered only when StickyComment actually sends it, from the newest state then: an `all` run
   * hands over hundreds of file-applied events at once, and most states are never sent (the next
   * replaces them); folding and scrubbing each of them made the end of a run quadratic.
   */
  show(now = true): Promise<void> {
    const { scrubber } = this.options;
    return this.sticky.publish(
      {
        render: (previous) =>
          scrubber.scrub(renderComment(scrubber.scrubValue(this.current()), historyOf(previous ?? ''))),
        create: () => worthStarting(this.current()),
      },
      { now },
    );
  }

  /** The board with every event handed over so far. */
  private current(): BoardState {
    if (this.unfolded.length > 0) this.state = foldEvents(this.state, this.unfolded.splice(0));
    return this.state;
  }

  /** Resolves once the newest state has been sent (or given up on). */
  idle(): Promise<void> {
    return this.sticky.idle();
  }

  /** The first state (the run under way, `show()`) and the final one go out at once; the others settle first. */
  handle(event: StageEvent): Promise<void> {
    this.unfolded.push({ event, at: this.now() });
    return this.show(event.type === 'run-finished');
  }
}
