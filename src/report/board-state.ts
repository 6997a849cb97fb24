import type { StageEvent } from '../engine/events.js';
import type { BackupReport, ErrorDetail, RunResult } from '../engine/result.js';

/**
 * What the pull request comment knows about a run so far: its stage events folded into one
 * value (pure), then rendered by `renderComment`. The final result, once there, wins over what
 * the events said.
 */
export interface BoardState {
  environment: string;
  command: string;
  runUrl?: string;
  sha?: string;
  /** Whether the run takes a backup before it changes anything (the stage is shown before it starts). */
  backupExpected: boolean;
  startedAt: string;
  updatedAt: string;
  pending?: Array<{ version: string; name: string; file: string }>;
  /** Versions whose statements ran, in the order they ran. */
  applied: string[];
  /** Of those, the ones already committed (per-file); in `all` mode they commit with the run. */
  committed: string[];
  total?: number;
  backup?: BackupReport;
  rehearsal?: { ran: boolean; reason?: string; failed: boolean; notRehearsed: string[] };
  lockRetries: Array<{ version?: string; attempt: number; delayMs: number; blocker?: string }>;
  failed?: { version: string; error: ErrorDetail };
  rolledBack?: { versions: string[]; how: 'transaction' | 'down-migrations'; succeeded: boolean };
  cancelled?: string;
  result?: RunResult;
}

export interface BoardStart {
  environment: string;
  command: string;
  runUrl?: string;
  sha?: string;
  backupExpected: boolean;
  at: Date;
}

export function startBoard(start: BoardStart): BoardState {
  const at = start.at.toISOString();
  return {
    environment: start.environment,
    command: start.command,
    runUrl: start.runUrl,
    sha: start.sha,
    backupExpected: start.backupExpected,
    startedAt: at,
    updatedAt: at,
    applied: [],
    committed: [],
    lockRetries: [],
  };
}

/** The board after one more event (a new value; the old one is left as it was). */
export function foldEvent(state: BoardState, event: StageEvent, at: Date): BoardState {
  return foldEvents(state, [{ event, at }]);
}

/**
 * The board after these events, in order (a new value; the old one is left as it was). Linear in
 * the events: an `all` run reports its hundreds of files at its commit, and folding them one at a
 * time (a copy of the lists and a search of them for each) made the end of such a run quadratic.
 */
export function foldEvents(
  state: BoardState,
  events: ReadonlyArray<{ event: StageEvent; at: Date }>,
): BoardState {
  const next: BoardState = {
    ...state,
    applied: [...state.applied],
    committed: [...state.committed],
    lockRetries: [...state.lockRetries],
  };
  const applied = new Set(next.applied);
  const committed = new Set(next.committed);
  for (const { event, at } of events) {
    next.updatedAt = at.toISOString();
    switch (event.type) {
      case 'run-started':
        next.pending = event.pending;
        next.total = event.pending.length;
        break;
      case 'backup-taken':
        next.backup = event.backup;
        break;
      case 'rehearsal-done':
        next.rehearsal = {
          ran: event.ran,
          reason: event.reason,
          failed: event.failed,
          notRehearsed: event.notRehearsed,
        };
        break;
      case 'file-applied':
        // Counted by version: the event's index says nothing about whether it counts from 0 or 1.
        if (!applied.has(event.version)) {
          applied.add(event.version);
          next.applied.push(event.version);
        }
        if (event.committed && !committed.has(event.version)) {
          committed.add(event.version);
          next.committed.push(event.version);
        }
        next.total = event.total;
        break;
      case 'lock-retry':
        next.lockRetries.push({
          version: event.version,
          attempt: event.attempt,
          delayMs: event.delayMs,
          blocker: event.blocker,
        });
        break;
      case 'file-failed':
        next.failed = { version: event.version, error: event.error };
        break;
      case 'rolled-back':
        next.rolledBack = { versions: event.versions, how: event.how, succeeded: event.succeeded };
        break;
      case 'cancelled':
        next.cancelled = event.reason;
        break;
      case 'run-finished':
        next.result = event.result;
        next.updatedAt = event.result.finishedAt;
        break;
    }
  }
  return next;
}
