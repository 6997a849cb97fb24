import { ApiRefusal, type GitHubApi } from './api.js';

/** A retried POST found the comment it was creating: the first try worked, its answer was lost. */
class CreatedAfterAll extends Error {
  constructor(readonly found: Found) {
    super('the comment exists');
  }
}

/** Where the comment goes: the repository, and how to find its pull request. */
export interface CommentTarget {
  owner: string;
  repo: string;
  /** From the pull_request event itself. */
  pullRequest?: number;
  /** On a push: the commit whose (merged) pull request gets the comment. */
  sha?: string;
  /** The hidden line that starts this environment's comment. */
  marker: string;
}

export interface StickyLog {
  info(message: string): void;
  warn(message: string): void;
  debug(message: string): void;
}

/**
 * Renders the body, given the comment as it was before this run touched it (undefined: none yet).
 * `create()` false only updates a comment that exists: a run with nothing to say starts none. Both
 * are asked when the update is sent, so they may answer from the newest state.
 */
export interface Update {
  render: (previousBody: string | undefined) => string;
  create: () => boolean;
}

interface Found {
  number: number;
  commentId?: number;
  previousBody?: string;
}

/**
 * How far apart progress updates are. GitHub allows no more than 80 content-creating requests a
 * minute and 500 an hour (secondary rate limits; an edit counts), shared by every job of the
 * token: updates every few seconds at first show a short run moving, and the spacing grows with
 * the run (a tenth of its age, up to 30 s) so that an hour-long one sends ~150, not thousands.
 * The first state and the final one are never held back.
 */
export interface Spacing {
  minMs: number;
  maxMs: number;
}

export const DEFAULT_SPACING: Spacing = { minMs: 3_000, maxMs: 30_000 };

/**
 * One comment per environment, found by its marker and edited in place. Updates are coalesced: while
 * one call is out or the next is held back (Spacing), newer bodies replace each other and only the
 * newest is sent, so neither a slow API nor a fast run builds a queue. Nothing here throws: a
 * refusal (no permission, a fork's read-only token, no such pull request) is one warning and ends
 * the comment for this run; any other failure is a warning and the next update tries again.
 */
export class StickyComment {
  private latest?: Update;
  /** The newest update must go out without waiting (the first state shown, the final one). */
  private urgent = false;
  private inFlight?: Promise<void>;
  private found?: Promise<Found | undefined>;
  private stopped = false;
  private lastWarning?: string;
  private wake?: () => void;
  private firstSentAt?: number;
  private lastSentAt?: number;
  /** The body the comment holds now (as this run last wrote it): the same body is not sent again. */
  private lastBody?: string;

  constructor(
    private readonly api: GitHubApi,
    private readonly target: CommentTarget,
    private readonly log: StickyLog,
    private readonly quietMs = 0,
    private readonly spacing: Spacing = { minMs: 0, maxMs: 0 },
  ) {}

  /**
   * Sends `render`'s body once the calls before it are done (or drops it for a newer one). Unless
   * `now`, it first waits `quietMs` for more (stage events come in bursts: an `all` run reports
   * its files at its commit, and ends a moment later), and at least the spacing since the last
   * update. `now` (the first state shown, the final one) cuts both waits short.
   */
  publish(update: Update, options: { now?: boolean } = {}): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.latest = update;
    if (options.now) {
      this.urgent = true;
      this.wake?.();
    }
    this.inFlight ??= this.drain();
    return this.inFlight;
  }

  /** Resolves after `ms`, or as soon as an urgent update comes. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }

  /** How long the next update that is not urgent waits. */
  private holdBack(now: number): number {
    if (this.lastSentAt === undefined || this.firstSentAt === undefined) return this.quietMs;
    const { minMs, maxMs } = this.spacing;
    const gap = Math.min(maxMs, Math.max(minMs, (now - this.firstSentAt) / 10));
    return Math.max(this.quietMs, this.lastSentAt + gap - now);
  }

  /** Resolves once nothing is waiting to be sent. */
  idle(): Promise<void> {
    return this.inFlight ?? Promise.resolve();
  }

  /** No more calls: whatever is waiting is dropped. */
  stop(): void {
    this.stopped = true;
    this.latest = undefined;
    this.wake?.();
  }

  private async drain(): Promise<void> {
    for (;;) {
      if (this.latest !== undefined && !this.urgent && !this.stopped) {
        const wait = this.holdBack(Date.now());
        if (wait > 0) await this.pause(wait);
      }
      const update = this.latest;
      if (update === undefined || this.stopped) {
        this.inFlight = undefined;
        return;
      }
      this.latest = undefined;
      this.urgent = false;
      const at = Date.now();
      // Spaced from the last write: a state that had nothing to write (no comment to start yet) does not count.
      if (await this.send(update)) {
        this.firstSentAt ??= at;
        this.lastSentAt = at;
      }
    }
  }

  /** Whether a comment was written (or tried: a failed call counts too); not when it already said this. */
  private async send({ render, create }: Update): Promise<boolean> {
    try {
      let found;
      try {
        found = await (this.found ??= this.find());
      } catch (error) {
        this.found = undefined;
        throw error;
      }
      if (!found) {
        this.stop();
        return false;
      }
      if (found.commentId === undefined && !create()) return false;
      const body = render(found.previousBody);
      // States are rendered when sent, from the newest one: two updates can find the same.
      if (body === this.lastBody) return false;
      if (found.commentId !== undefined) {
        await this.api.call('PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}', {
          owner: this.target.owner,
          repo: this.target.repo,
          comment_id: found.commentId,
          body,
        });
      } else await this.create(found, body);
      this.lastBody = body;
      return true;
    } catch (error) {
      if (!this.stopped) this.warn(error);
      return true;
    }
  }

  /**
   * Creates the comment. A POST is never repeated blindly: when its answer is lost (a timeout, a
   * 5xx) the comment may exist all the same, so before each retry the pull request's comments are
   * read again, and the body goes to the one found (PATCH) instead of a second POST.
   */
  private async create(found: Found, body: string): Promise<void> {
    const { owner, repo } = this.target;
    try {
      const created = await this.api.call<{ id: number }>(
        'POST /repos/{owner}/{repo}/issues/{issue_number}/comments',
        { owner, repo, issue_number: found.number, body },
        {
          beforeRetry: async () => {
            const again = await this.find();
            if (again?.commentId !== undefined) throw new CreatedAfterAll(again);
          },
        },
      );
      found.commentId = created.data.id;
      this.log.info(`Posted the migration status comment on pull request #${found.number}`);
    } catch (error) {
      if (error instanceof CreatedAfterAll) {
        Object.assign(found, error.found);
        await this.api.call('PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}', {
          owner,
          repo,
          comment_id: error.found.commentId,
          body,
        });
        return;
      }
      // Given up: look again next time rather than risk a second comment.
      if (!(error instanceof ApiRefusal)) this.found = undefined;
      throw error;
    }
  }

  /** The pull request, and this environment's comment on it when there is one. */
  private async find(): Promise<Found | undefined> {
    const { owner, repo } = this.target;
    let number = this.target.pullRequest;
    if (number === undefined && this.target.sha) {
      const pulls = await this.api.call<Array<{ number: number; merged_at?: string | null; state?: string }>>(
        'GET /repos/{owner}/{repo}/commits/{commit_sha}/pulls',
        { owner, repo, commit_sha: this.target.sha },
      );
      // The merged pull request first: a commit can also sit on open ones (stacked branches).
      const pull = pulls.data.find((p) => p.merged_at) ?? pulls.data[0];
      number = pull?.number;
      if (number === undefined) {
        this.log.info(
          `No pull request contains commit ${this.target.sha.slice(0, 7)}: no status comment is posted`,
        );
        return undefined;
      }
    }
    if (number === undefined) return undefined;
    for (let page = 1; ; page++) {
      const comments = await this.api.call<Array<{ id: number; body?: string }>>(
        'GET /repos/{owner}/{repo}/issues/{issue_number}/comments',
        { owner, repo, issue_number: number, per_page: 100, page },
      );
      const mine = comments.data.find((c) => (c.body ?? '').trimStart().startsWith(this.target.marker));
      if (mine) return { number, commentId: mine.id, previousBody: mine.body };
      if (!/rel="next"/.test(comments.headers.link ?? '')) return { number };
    }
  }

  private warn(error: unknown): void {
    const refused = error instanceof ApiRefusal;
    const message = !refused
      ? `Could not update the pull request comment: ${(error as Error).message}. The migration itself is not affected.`
      : error.status === 0
        ? `Could not update the pull request comment: ${error.message}. The migration itself is not affected, ` +
          'and this run posts no more comment updates.'
        : `Could not update the pull request comment (${error.message}). The token needs "pull-requests: write" ` +
          '(a pull request from a fork only gets a read-only token); the migration itself is not affected, ' +
          'and this run posts no more comment updates.';
    if (refused) this.stop();
    if (message !== this.lastWarning) this.log.warn(message);
    this.lastWarning = message;
  }
}
