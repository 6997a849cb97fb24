import type { Client } from '../db/connect.js';
import { noteOnRunRecord } from '../db/guard-store.js';
import { MIGRATION_LOCK_ID } from '../db/lock.js';
import type { RunResult, SessionEffect } from '../engine/result.js';
import type { Migration } from '../migrations/discover.js';
import type { CommandContext } from './context.js';

/**
 * Migrations can reach outside their own transaction: `pg_advisory_unlock_all()` (or an unlock of
 * our key) releases the session-level lock that keeps other runs out, and `pg_terminate_backend()`
 * can end other sessions, this run's own connections included. Neither can be rolled back. The
 * files that call them are found by their text (a report, not a refusal: such calls have real
 * uses), and after the run the effects themselves are checked, so the run never ends believing it
 * held a lock it had lost.
 */
export interface SessionHazard {
  version: string;
  file: string;
  line: number;
  call: string;
}

const HAZARDOUS_CALL =
  /\b(pg_advisory_unlock_all|pg_advisory_unlock|pg_terminate_backend|pg_cancel_backend)\s*\(/gi;

/** Calls to those functions in the up part of each file, by file:line (line comments skipped). */
export function findSessionHazards(migrations: Migration[]): SessionHazard[] {
  const found: SessionHazard[] = [];
  for (const m of migrations) {
    const { source, start, end } = m.up;
    const text = source.slice(start, end);
    const firstLine = source.slice(0, start).split('\n').length;
    for (const match of text.matchAll(HAZARDOUS_CALL)) {
      const before = text.slice(0, match.index);
      const lineStart = before.lastIndexOf('\n') + 1;
      if (before.slice(lineStart).includes('--')) continue;
      found.push({
        version: m.version,
        file: m.up.path,
        line: firstLine + before.split('\n').length - 1,
        call: match[1].toLowerCase(),
      });
    }
  }
  return found;
}

const WHAT_IT_DOES: Record<string, string> = {
  pg_advisory_unlock_all:
    'releases every advisory lock of the session, the migration lock included: another run could start while this one goes on',
  pg_advisory_unlock: 'may release the migration lock if it names its key',
  pg_terminate_backend: "may end other sessions, this run's own connections included",
  pg_cancel_backend: "may cancel other sessions' queries, this run's own included",
};

/** Before anything runs (plan, apply): what the pending files will do to sessions and locks. */
export function warnSessionHazards(ctx: CommandContext, hazards: SessionHazard[]): void {
  for (const h of hazards)
    ctx.logger.warn(`${h.file}:${h.line}: calls ${h.call}(), which ${WHAT_IT_DOES[h.call]}`);
}

/** Whether this session still holds the migration lock (false once released, whoever did it). */
export async function holdsMigrationLock(client: Client): Promise<boolean> {
  const { rows } = await client.query<{ held: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM pg_locks
                     WHERE locktype = 'advisory' AND granted AND pid = pg_backend_pid()
                       AND classid = ($1::bigint >> 32)::oid AND objid = ($1::bigint & 4294967295)::oid
                       AND objsubid = 1) AS held`,
    [MIGRATION_LOCK_ID.toString()],
  );
  return rows[0].held;
}

/**
 * After a run that held the lock: says what the migrations did to it and to the run's control
 * connection, blaming the file that called the function, and notes it on the run's record.
 */
export async function reportSessionEffects(
  ctx: CommandContext,
  result: RunResult,
  client: Client,
  observed: {
    lockHeld: boolean | undefined;
    sessionLost: boolean;
    controlLost: boolean;
    hazards: SessionHazard[];
  },
): Promise<void> {
  const effects: SessionEffect[] = [];
  const blame = (calls: string[]) => observed.hazards.find((h) => calls.includes(h.call));
  if (observed.lockHeld === false) {
    const culprit = blame(['pg_advisory_unlock_all', 'pg_advisory_unlock']);
    effects.push({
      effect: 'lock-released',
      file: culprit?.file,
      line: culprit?.line,
      call: culprit?.call,
      message: culprit
        ? `${culprit.file}:${culprit.line} released the migration lock (${culprit.call}()) during the run: from then on another run could start beside this one. The lock was not held when the run ended`
        : 'The migration lock was released during the run (no migration file calls an advisory unlock function: another session ended it): from then on another run could start beside this one',
    });
  }
  const terminator = blame(['pg_terminate_backend']);
  // A session lost for another reason (the network) is reported by the command itself.
  if (observed.sessionLost && terminator) {
    effects.push({
      effect: 'session-terminated',
      file: terminator.file,
      line: terminator.line,
      call: terminator.call,
      message: `${terminator.file}:${terminator.line} terminated this run's own session (${terminator.call}()): its open transaction was rolled back and the migration lock went with the session`,
    });
  }
  if (observed.controlLost) {
    const culprit = blame(['pg_terminate_backend']);
    effects.push({
      effect: 'control-connection-terminated',
      file: culprit?.file,
      line: culprit?.line,
      call: culprit?.call,
      message: `${culprit ? `${culprit.file}:${culprit.line} terminated` : 'Another session terminated'} this run's control connection (${culprit ? `${culprit.call}()` : 'pg_terminate_backend'}): from then on the run could not be cancelled cleanly nor name what blocked it`,
    });
  }
  if (effects.length === 0) return;
  result.sessionEffects = effects;
  for (const e of effects) ctx.logger.warn(e.message);
  result.message = `${result.message} Warning: ${effects.map((e) => e.message).join('. ')}.`;
  // On a lost session the command has recorded the failure on a new connection already.
  if (result.runId !== undefined && !observed.sessionLost) {
    await noteOnRunRecord(client, result.runId, { sessionEffects: effects }).catch((error: Error) =>
      ctx.logger.warn(`Could not note this on the run's record: ${error.message}`),
    );
  }
}
