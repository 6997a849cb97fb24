import { applicationName } from '../config/run-context.js';
import { connect } from '../db/connect.js';
import { stagedApply } from '../engine/staged-apply/apply.js';
import { resultOfApply } from '../engine/staged-apply/result.js';
import type { RunResult } from '../engine/result.js';
import { backupStage } from './backup-stage.js';
import type { CommandContext } from './context.js';
import { revertAfterFailure } from './revert-after-failure.js';
import { RunRecord } from './run-record.js';
import { withSession } from './session.js';
import { lintPending } from './lint-stage.js';
import type { Migration } from '../migrations/discover.js';
import { MAX_FILE_BYTES } from '../migrations/limits.js';
import type { KeptStatements } from '../migrations/statements.js';

/**
 * apply: the staged apply (engine/staged-apply/apply.ts) under the migration lock, in a session
 * opened here; the report is built once from its outcome (engine/staged-apply/result.ts).
 */
export async function applyCommand(ctx: CommandContext, result: RunResult): Promise<RunResult> {
  const { settings, logger } = ctx;
  result.transactionMode = settings.transactionMode;
  return withSession(ctx, result, { lock: true }, async (session) => {
    // Whatever the lint input says: the destructive-change guard needs the findings. Only the
    // pending files are linted, with the target's live table sizes. A run with a file over the
    // size limit is refused by the staged apply before anything runs: not parsed for the linter.
    // The files as the linter parsed them are split from that parse, not parsed again.
    const { pending } = session.plan;
    const kept: KeptStatements = new Map();
    const lint =
      pending.length > 0 && !pending.some(oversized)
        ? await lintPending(ctx, pending, { client: session.client, keep: kept })
        : undefined;
    result.lint = lint;
    const keptFiles = kept.size;
    const outcome = await stagedApply({
      lint,
      kept,
      settings,
      logger,
      session,
      actor: ctx.run.actor,
      signal: ctx.signal,
      events: ctx.events,
      runRecord: new RunRecord(ctx, session.client),
      backup: () => backupStage(ctx, session.serverMajor),
      revert: (migrations) => revertAfterFailure(ctx, session, migrations),
      reconnect: () =>
        connect(settings.database, {
          applicationName: `${applicationName('apply', settings.environment, ctx.run)} recovery`,
        }),
    });
    logger.debug(
      `Split from the linter's parse: ${keptFiles - kept.size} of ${pending.length} pending file(s)`,
    );
    // The one place the apply's part of the report is decided; withSession adds what it observes after.
    Object.assign(result, resultOfApply(result, outcome));
    if (outcome.stage === 'stopped') throw outcome.error;
    if (outcome.stage === 'apply-failed') logger.error(result.message);
    else if (outcome.stage !== 'rehearsal-failed') logger.info(result.message);
    return result;
  });
}

function oversized(migration: Migration): boolean {
  return [migration.up, migration.verify].some((part) => part && part.source.byteLength > MAX_FILE_BYTES);
}
