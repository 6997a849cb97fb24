import { FILE_MESSAGE_BYTES } from '../batches.js';
import { chainFrom, locateChainFailure } from '../chain.js';
import { batchErrorOf, type Reply } from '../statement-runner.js';
import { reassertCommands, resetsEverySetting } from '../timeouts.js';
import type { Unit } from '../units.js';
import type { ExecuteOptions } from './options.js';
import type { Attempt } from './outcome.js';
import { chainOpening } from './settings-sql.js';
import { failureOf } from './sql-error.js';
import { startFailure } from './transaction.js';

/**
 * One attempt at the chain of transactions starting at unit `start` (see chain.ts): stages their
 * history rows, sends them as one message, and reports how many committed before any failure.
 */
export async function runChain(
  units: Unit[],
  start: number,
  options: ExecuteOptions,
  chainOptions: NonNullable<ExecuteOptions['chain']>,
  ordinals: { next: number },
  timings: Map<string, number>,
): Promise<Attempt> {
  const { runner } = options;
  const chain = chainFrom(units, start, {
    open: (index) => [chainOpening(options, index < units.length - 1, chainOptions.markStart)],
    prelude: options.prelude,
    record: chainOptions.recordSql,
    firstOrdinal: ordinals.next,
    reassert: reassertCommands(options),
    alone: travelsAlone,
  });
  ordinals.next += chain.records.length;
  const firstSteps = (units[start] as Extract<Unit, { kind: 'transaction' }>).steps;
  let reply: Reply | undefined;
  try {
    runner.throwIfCancelled();
    await chainOptions.stage(
      chain.records.map(({ ordinal, step }) => ({ ordinal, migration: step.migration })),
    );
    reply = await runner.query(chain.sql);
    return { committed: chain.end - chain.first };
  } catch (error) {
    await runner.client.query('ROLLBACK').catch(() => {});
    const batchError = batchErrorOf(error);
    reply = batchError?.reply;
    if (!reply) return { committed: 0, failure: startFailure(error, firstSteps) };
    const located = locateChainFailure(chain, reply.completed, Number(batchError.position ?? NaN));
    const steps = (units[located.command.unit] as Extract<Unit, { kind: 'transaction' }>).steps;
    // BEGIN, SET and bookkeeping DDL are blamed on the file's first step, COMMIT on its history row.
    const stepIndex = located.command.stepIndex ?? (located.command.commit ? steps.length - 1 : 0);
    const failure = failureOf(
      error,
      steps[stepIndex],
      stepIndex,
      located.command.step ? located.positionInCommand : undefined,
    );
    return { committed: located.committed, failure };
  } finally {
    // Each history row returns its file's duration, by the server's clock.
    chain.commands.slice(0, reply?.completed ?? 0).forEach((command, i) => {
      const ms = Number(reply?.rows[i]?.duration_ms);
      if (command.step?.kind !== 'record' || !Number.isFinite(ms)) return;
      const version = command.step.migration.migration.version;
      timings.set(version, (timings.get(version) ?? 0) + ms);
    });
  }
}

/**
 * A transaction that is not chained with its neighbours but sent on its own (its history row
 * written with bind parameters): one holding RESET ALL (it would wipe what the chain stages in
 * session settings), and one larger than a message, which then goes in several messages of about
 * FILE_MESSAGE_BYTES instead of one message holding the whole file (a 100 MB data file as one
 * message cost ~400 MB of client memory).
 */
export function travelsAlone(unit: Unit): boolean {
  if (unit.kind !== 'transaction') return false;
  if (resetsEverySetting(unit)) return true;
  let bytes = 0;
  for (const step of unit.steps) {
    if (step.kind !== 'statement') continue;
    bytes += step.statement.sql.length;
    if (bytes > FILE_MESSAGE_BYTES) return true;
  }
  return false;
}
