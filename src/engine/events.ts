import type { AcceptedFinding } from './lint-accepted.js';
import type { BackupReport, ErrorDetail, RunResult } from './result.js';

/**
 * What a run tells its listeners as it goes: the console log, the job summary, the sticky pull
 * request comment, the run record and the audit log all follow a run through these events (and
 * the result it ends with), so the action, the CLI and the demo report it the same way.
 */
export type StageEvent =
  | {
      type: 'run-started';
      command: string;
      environment: string;
      pending: Array<{ version: string; name: string; file: string }>;
      transactionMode?: string;
    }
  | { type: 'backup-taken'; backup: BackupReport }
  | { type: 'rehearsal-done'; ran: boolean; reason?: string; failed: boolean; notRehearsed: string[] }
  /** A file's statements ran (in `all` mode it commits with the run; `committed` says which). */
  | {
      type: 'file-applied';
      version: string;
      /** The migration file as reports show it, and its name. */
      file?: string;
      name?: string;
      /** The run record the file's history row names (migration_guard.runs). */
      runId?: number;
      /** Lint findings of the file an ignore comment accepted, with the reasons (for the audit log). */
      lintIgnored?: AcceptedFinding[];
      durationMs: number;
      index: number;
      total: number;
      committed: boolean;
    }
  | { type: 'lock-retry'; version?: string; attempt: number; delayMs: number; blocker?: string }
  | { type: 'file-failed'; version: string; error: ErrorDetail }
  /** Undone: with the failed transaction, or by down migrations after the failure (`reverted`). */
  | { type: 'rolled-back'; versions: string[]; how: 'transaction' | 'down-migrations'; succeeded: boolean }
  | { type: 'cancelled'; reason: string }
  | { type: 'run-finished'; result: RunResult };

export type StageListener = (event: StageEvent) => void | Promise<void>;

/**
 * Hands each event to every listener. A listener never delays or fails the run: it is called
 * without being awaited, and what it throws or rejects with is logged once by `onListenerError`.
 * `settled()` waits for the listeners' pending work (for the entry point, before it exits).
 */
export class StageEvents {
  private readonly listeners: StageListener[] = [];
  private readonly pending = new Set<Promise<unknown>>();

  /**
   * `prepare` turns each event into what listeners see, once for all of them (runCommand scrubs
   * it there, so no listener can forget to).
   */
  constructor(
    private readonly onListenerError: (error: unknown) => void = () => {},
    private readonly prepare: (event: StageEvent) => StageEvent = (event) => event,
  ) {}

  on(listener: StageListener): this {
    this.listeners.push(listener);
    return this;
  }

  emit(raw: StageEvent): void {
    if (this.listeners.length === 0) return;
    let event: StageEvent;
    try {
      event = this.prepare(raw);
    } catch (error) {
      this.onListenerError(error);
      return;
    }
    for (const listener of this.listeners) {
      let outcome: void | Promise<void>;
      try {
        outcome = listener(event);
      } catch (error) {
        this.onListenerError(error);
        continue;
      }
      if (outcome instanceof Promise) {
        const tracked: Promise<void> = outcome
          .catch(this.onListenerError)
          .finally(() => this.pending.delete(tracked));
        this.pending.add(tracked);
      }
    }
  }

  /** Resolves when every listener's work started so far has finished (never rejects). */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }
}
