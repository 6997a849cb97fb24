import type { Logger } from './logger.js';

/**
 * A cancelled GitHub job sends SIGINT, then SIGTERM, then kills the process: turn the first signal
 * into an abort so the running statement is cancelled and the run rolls back and is recorded.
 */
export function cancelOnSignals(logger: Logger): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onSignal = (name: NodeJS.Signals) => {
    if (controller.signal.aborted) return;
    logger.warn(`Received ${name}: cancelling the running statement and rolling back`);
    controller.abort(name);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
