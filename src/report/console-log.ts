import type { StageEvent, StageListener } from '../engine/events.js';
import type { Logger } from '../logger.js';
import { formatBytes } from './markdown.js';

/**
 * The console log's view of a stage event (pure): the progress lines a run prints as it goes, the
 * same in the action's log, the CLI's stderr and the demo. Plain lines, never warnings or errors:
 * in the action those become annotations, and annotations have their own renderer
 * (annotations.ts). What the engine already says where it happens (connecting, the backup being
 * taken, each lock retry with its blocker) is not repeated; the run's last word is the command's
 * own message.
 */
export function consoleLines(event: StageEvent): string[] {
  switch (event.type) {
    case 'backup-taken':
      return [`Backup ready: ${event.backup.path} (${formatBytes(event.backup.sizeBytes)})`];
    case 'rehearsal-done':
      if (!event.ran) return [];
      return [event.failed ? 'Rehearsal failed: nothing was applied' : 'Rehearsal passed (rolled back)'];
    case 'file-applied':
      return [
        `Applied ${event.index}/${event.total}: ${event.file ?? event.version} (${event.durationMs} ms)`,
      ];
    case 'file-failed': {
      const { file, line, message } = event.error;
      const where = file ? `${file}${line ? `:${line}` : ''}` : event.version;
      return [`Failed: ${where}: ${firstLine(message)}`];
    }
    case 'rolled-back': {
      if (event.versions.length === 0) return [];
      const how = event.how === 'transaction' ? 'with the failed transaction' : 'by their down migrations';
      const what = event.succeeded ? 'Rolled back' : 'Could not roll back';
      return [`${what} ${how}: ${event.versions.join(', ')}`];
    }
    case 'cancelled':
      return [`Cancelled: ${firstLine(event.reason)}`];
    // The engine says these in its own words (how many, in which units; each retry's blocker).
    case 'run-started':
    case 'lock-retry':
    case 'run-finished':
      return [];
  }
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0];
}

/** The console log as a listener of the run's events. */
export function consoleLogListener(logger: Logger): StageListener {
  return (event) => {
    for (const line of consoleLines(event)) logger.info(line);
  };
}
