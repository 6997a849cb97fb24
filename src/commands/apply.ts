import { applicationName } from '../config/run-context.js';
import { connect, type Client } from '../db/connect.js';
import { schemaFingerprint } from '../db/fingerprint.js';
import {
  MARK_FILE_START,
  recordAppliedMigrations,
  recordStagedMigrationSql,
  stageAppliedMigrations,
  unstageAppliedMigrations,
} from '../db/guard-store.js';
import { CREATE_HISTORY, readHistory } from '../db/history.js';
import { forgetPartialMigrations } from '../db/partial-store.js';
import { errorMessage, formatLocation, GuardError } from '../errors.js';
import {
  executeStreamedTransaction,
  executeUnits,
  PlanNeededError,
  sessionSettings,
  type ExecuteOptions,
  type ExecutionOutcome,
} from '../engine/execute.js';
import { notesOf, prepareMigrations } from '../engine/prepare.js';
import { rehearse, rehearseStreamed } from '../engine/rehearse.js';
import { StreamedRun, streamable } from '../engine/stream.js';
import { reportTimeoutChanges } from '../engine/timeouts.js';
import type { MigrationOutcome, RunResult } from '../engine/result.js';
import { buildExecutionPlan, type ExecutionPlan, type PreparedMigration } from '../engine/units.js';
import type { Migration } from '../migrations/discover.js';
import { loadParser } from '../migrations/parser.js';
import { runBackupStage } from './backup-stage.js';
import { bookPartialFiles, rehearsalReason, resumePartialFiles } from './partial-run.js';
import type { CommandContext } from './context.js';
import { revertAfterFailure } from './revert-after-failure.js';
import { RunRecord } from './run-record.js';
import { executionOptions, withSession, type Session } from './session.js';

/**
 * apply: preflight → backup → rehearsal (per-file) → apply (+ verify) → record, under the lock.
 * Every stage before "apply" leaves the database untouched when it fails.
 */
export async function applyCommand(ctx: CommandContext, result: RunResult): Promise<RunResult> {
  const { settings, logger } = ctx;
  result.transactionMode = settings.transactionMode;
  return withSession(ctx, result, { lock: true }, async (session) => {
    const { client, plan, runner } = session;
    stopOnBlockingFindings(result);
    if (plan.pending.length === 0) {
      result.status = 'nothing-to-do';
      result.message = `Nothing to apply: all ${plan.rows.length} migrations are already applied.`;
      logger.info(result.message);
      return result;
    }
    // A run that fits in one transaction starts before every file is parsed (engine/stream.ts);
    // otherwise all files are parsed and planned first. The parser loads while the backup and the
    // bookkeeping run.
    const parserLoading = loadParser();
    parserLoading.catch(() => {}); // awaited below; a failure to load is reported there
    let execution: ExecutionPlan | undefined;
    // A file an earlier run left partly applied resumes after its committed statements: planned.
    if (!streamable(plan.pending) || plan.partial.size > 0)
      execution = planRun(
        ctx,
        result,
        resumePartialFiles(await prepareMigrations(plan.pending), plan.partial),
      );
    else result.migrations = plan.pending.map((m) => outcomeOf(m, 0, undefined));

    await runner.start();
    await runBackupStage(ctx, result, session);
    // Our own schema and the run's row commit before any migration does: a failed run must be on
    // record. The Supabase history table, when missing (or an older CLI's, without every column),
    // is created (upgraded) inside the first migration transaction instead.
    const runRecord = new RunRecord(ctx, client);
    if (execution) result.runId = await runRecord.open();
    const fingerprintBefore = await schemaFingerprint(client);
    // The control connection opens the record under the run's lock and statement timeouts.
    const controlTimeouts = sessionSettings(settings, 'SESSION');
    const stream = execution
      ? undefined
      : new StreamedRun(plan.pending, await parserLoading, () => {
          runner
            .withControl(async (control) => {
              await control.query(controlTimeouts);
              return runRecord.open(control);
            })
            .catch(() => {}); // opened again on the session's connection when needed
        });
    const runIdNow = async () => (result.runId = await runRecord.open());
    const timeouts = {
      runner,
      lockTimeoutMs: settings.lockTimeoutMs,
      statementTimeoutMs: settings.statementTimeoutMs,
    };
    const planNow = () => (execution ??= planRun(ctx, result, stream!.all()));
    // The streamed form of a stage while the run may stream; the planned form otherwise, or once a
    // file turns out to need a transaction of its own after all.
    const streamedOrPlanned = async <T>(
      streamed: (run: StreamedRun) => Promise<T>,
      planned: (plan: ExecutionPlan) => Promise<T>,
    ): Promise<T> => {
      if (stream && !execution) {
        try {
          return await streamed(stream);
        } catch (error) {
          if (!(error instanceof PlanNeededError)) throw error;
        }
      }
      return planned(planNow());
    };
    const toRow = (item: PreparedMigration) => ({
      version: item.migration.version,
      name: item.migration.name,
      statements: item.statements.map((s) => s.historyText),
      checksum: item.migration.checksum,
    });
    const runIdentity = async () => ({ appliedBy: ctx.run.actor, runId: await runIdNow() });
    const options: ExecuteOptions = {
      ...executionOptions(ctx, session, async (items) =>
        recordAppliedMigrations(
          client,
          items.map(({ migration, durationMs }) => ({ ...toRow(migration), durationMs })),
          await runIdentity(),
        ),
      ),
      prelude: session.historyReady ? undefined : CREATE_HISTORY,
      // One transaction per file: consecutive ones travel together (engine/chain.ts).
      chain:
        settings.transactionMode === 'per-file'
          ? {
              stage: async (records) =>
                stageAppliedMigrations(
                  client,
                  records.map(({ ordinal, migration }) => ({ ordinal, ...toRow(migration) })),
                  await runIdentity(),
                ),
              unstage: (count) => unstageAppliedMigrations(client, count),
              recordSql: recordStagedMigrationSql,
              markStart: MARK_FILE_START,
            }
          : undefined,
    };

    /** The rehearsal; throws RehearsalStop (after booking the failure) when it finds one. */
    const rehearseFirst = async (reason: string): Promise<void> => {
      logger.info(`Rehearsing first: ${reason}`);
      const rehearsal = await ctx.logger.group('Rehearsal (always rolled back)', () =>
        streamedOrPlanned(
          (run) => rehearseStreamed(run, timeouts),
          (plan) => rehearse(plan.units, timeouts),
        ),
      );
      result.rehearsal = { ran: true, reason, notRehearsed: rehearsal.notRehearsed };
      for (const line of rehearsal.notRehearsed) logger.warn(`Not rehearsed: ${line}`);
      if (!rehearsal.failure) return;
      if (stream && !execution) countStatements(ctx, result, stream.parsed());
      const { error, version } = rehearsal.failure;
      const failed = result.migrations.find((m) => m.version === version);
      if (failed) failed.status = 'failed';
      if (failed) failed.error = error;
      result.error = error;
      result.status = 'failed';
      result.message = `${formatLocation(error)}${error.message}. The rehearsal found this before anything was applied: the database is unchanged.`;
      result.runId = await runRecord.finish({ status: 'failed', applied: [], error: result.message });
      throw new RehearsalStop();
    };

    let outcome: ExecutionOutcome;
    try {
      // Per-file runs, and `all` runs cut by a statement that must commit on its own, are tried
      // first in a transaction that is rolled back: a failure anywhere is found before anything
      // commits. A run that is one transaction needs no rehearsal: its failure rolls it all back.
      const rehearseBecause = rehearsalReason(settings.transactionMode, execution);
      if (!rehearseBecause.rehearse)
        result.rehearsal = { ran: false, reason: rehearseBecause.reason, notRehearsed: [] };
      else {
        await rehearseFirst(rehearseBecause.reason);
        planNow(); // per-file transactions are planned, not streamed
      }
      logger.info(
        `Applying ${plan.pending.length} migration(s) in ${describeUnits(settings.transactionMode, execution)}`,
      );
      outcome = await streamedOrPlanned(
        async (run) => {
          const streamed = await executeStreamedTransaction(run, options);
          // After a failure the files past it may never have been parsed: report what is known.
          if (streamed.failure) countStatements(ctx, result, run.parsed());
          else planNow();
          return streamed;
        },
        async (plan) => {
          // A streamed `all` run that turned out to need cutting is rehearsed before it commits.
          const late = rehearsalReason(settings.transactionMode, plan);
          if (!result.rehearsal?.ran && late.rehearse) await rehearseFirst(late.reason);
          return executeUnits(plan.units, options);
        },
      );
    } catch (error) {
      if (error instanceof RehearsalStop) return result;
      // A file that does not parse (found while the run streamed): nothing was run or recorded.
      if (error instanceof GuardError && !runRecord.started) throw error;
      result.runId = await runRecord.finish({ status: 'failed', applied: [], error: errorMessage(error) });
      throw error;
    }
    if (result.lock) result.lock.retries = outcome.retries;
    result.nonTransactional = outcome.nonTransactionalDone.map((n) => ({
      ...n,
      down: plan.pending.find((m) => m.version === n.version)?.down?.path,
    }));

    if (!outcome.failure) {
      // Files an earlier run left partly applied are now whole: their partial record goes. (No
      // round trip when there were none.)
      if (plan.partial.size > 0)
        await forgetPartialMigrations(
          client,
          outcome.committed.filter((v) => plan.partial.has(v)),
        );
      markOutcomes(result, outcome, new Set(outcome.committed));
      result.applied = outcome.committed;
      result.pendingCount = plan.pending.length - outcome.committed.length;
      result.currentVersion = outcome.committed[outcome.committed.length - 1];
      result.status = 'success';
      result.message = `Applied ${outcome.committed.length} migration(s).`;
      result.runId = await runRecord.finish({
        status: 'success',
        applied: result.applied,
        details: runDetails(result),
      });
      logger.info(result.message);
      return result;
    }
    return finishFailedRun(ctx, result, session, outcome, { runRecord, fingerprintBefore, execution });
  });
}

/** After a failure: find out what committed, undo this run's own files in per-file mode, report. */
async function finishFailedRun(
  ctx: CommandContext,
  result: RunResult,
  session: Session,
  outcome: ExecutionOutcome,
  run: { runRecord: RunRecord; fingerprintBefore: string; execution?: ExecutionPlan },
): Promise<RunResult> {
  const { settings, logger } = ctx;
  const failure = outcome.failure!;
  let client: Client = session.client;
  let reconnected: Client | undefined;
  try {
    if (failure.connectionLost) {
      // The session is gone (and with it the lock). A COMMIT may or may not have landed: ask the
      // database what it has, on a new connection, rather than trusting what we sent.
      logger.warn(
        'The database connection was lost during the run; reconnecting to check what was committed',
      );
      reconnected = await connect(settings.database, {
        applicationName: `${applicationName('apply', settings.environment, ctx.run)} recovery`,
      });
      client = reconnected;
      const applied = new Set(((await readHistory(client)) ?? []).map((r) => r.version));
      outcome.committed = session.plan.pending.map((m) => m.version).filter((v) => applied.has(v));
    }
    markOutcomes(result, outcome, new Set(outcome.committed));
    result.error = failure.error;
    result.cancelled = failure.cancelled || undefined;
    let stillApplied = [...outcome.committed];
    // Files this run committed (per-file mode, or all mode cut by an enum value) are undone by their
    // down migrations. Not after a cancellation (the job is being stopped: finish fast and report)
    // nor a lost connection (the session, and with it the lock, is gone).
    if (stillApplied.length > 0 && !failure.cancelled && !failure.connectionLost) {
      const toRevert = session.plan.pending.filter((m) => stillApplied.includes(m.version));
      const rollback = await revertAfterFailure(ctx, session, toRevert);
      result.rollback = rollback;
      if (rollback.succeeded) {
        for (const m of result.migrations)
          if (rollback.reverted.includes(m.version)) m.status = 'rolled-back';
        stillApplied = [];
      }
    }
    // Files left partly applied are booked in migration_guard.partial_migrations (status shows
    // them, the next apply resumes them); files that are now whole, or were reverted whole, lose theirs.
    result.partiallyApplied = await bookPartialFiles(ctx, client, {
      outcome,
      execution: run.execution,
      known: session.plan.partial,
      runId: await run.runRecord.open(client).catch(() => undefined),
    });
    const changed = stillApplied.length > 0 || outcome.partiallyCommitted.length > 0;
    result.applied = stillApplied;
    result.pendingCount = session.plan.pending.length - stillApplied.length;
    result.currentVersion = stillApplied[stillApplied.length - 1] ?? session.plan.currentVersion;
    result.committedBeforeFailure = changed ? [...stillApplied, ...outcome.partiallyCommitted] : undefined;
    const fingerprintAfter = await schemaFingerprint(client);
    result.schemaFingerprint = { before: run.fingerprintBefore, after: fingerprintAfter };
    result.status = changed ? 'failed' : 'rolled-back';
    const where = formatLocation(failure.error);
    const what = failure.cancelled ? failure.error.message : `${where}${failure.error.message}`;
    result.message = changed
      ? `${what}. ${describeStillApplied(stillApplied, outcome.partiallyCommitted, result)}`
      : `${what}. The run was rolled back${result.rollback?.succeeded ? ` (files committed earlier in this run, ${result.rollback.reverted.join(', ')}, were reverted by their down migrations)` : ''}: the database is as it was before the run (schema fingerprint ${run.fingerprintBefore === fingerprintAfter ? 'unchanged' : 'CHANGED: inspect it'}).`;
    for (const n of outcome.nonTransactionalDone)
      if (n.leftBehind)
        result.message += ` ${n.file}:${n.line} failed outside a transaction: ${n.leftBehind}.`;
    const earlier = (result.partiallyApplied ?? []).filter(
      (p) => !outcome.partiallyCommitted.includes(p.version),
    );
    if (earlier.length)
      result.message += ` Still partly applied from an earlier run: ${earlier.map((p) => `${p.file}: ${p.nextStep}.`).join(' ')}`;
    // A streamed run that failed early may not have opened its row yet: it is opened now (on the
    // reconnected client after a lost connection).
    result.runId = await run.runRecord.finish(
      {
        status: failure.cancelled ? 'cancelled' : result.status,
        applied: result.applied,
        error: result.message,
        details: runDetails(result),
      },
      client,
    );
    logger.error(result.message);
    return result;
  } finally {
    await reconnected?.end().catch(() => {});
  }
}

/** What the run record keeps beyond status and versions: backup, rollback and fingerprints. */
function runDetails(result: RunResult): Record<string, unknown> {
  return {
    backup: result.backup ? { path: result.backup.path, sha256: result.backup.sha256 } : null,
    rollback: result.rollback ?? null,
    schemaFingerprint: result.schemaFingerprint ?? null,
    nonTransactional: result.nonTransactional?.length ? result.nonTransactional : undefined,
    partiallyApplied: result.partiallyApplied,
    rehearsal: result.rehearsal ? { ran: result.rehearsal.ran, reason: result.rehearsal.reason } : undefined,
    // Blockers with their queries normalised (engine/query-text.ts), never the raw text.
    lockRetries: result.lock?.retries.length ? result.lock.retries : undefined,
  };
}

function markOutcomes(result: RunResult, outcome: ExecutionOutcome, committed: Set<string>): void {
  const partial = new Set(outcome.partiallyCommitted);
  const rolledBack = new Set(outcome.failure?.rolledBack ?? []);
  for (const m of result.migrations) {
    m.durationMs = Math.round(outcome.durations.get(m.version) ?? 0);
    if (committed.has(m.version)) m.status = 'applied';
    else if (outcome.failure?.version === m.version) {
      m.status = partial.has(m.version) ? 'partially-applied' : 'failed';
      m.error = outcome.failure.error;
    } else if (partial.has(m.version)) m.status = 'partially-applied';
    else if (rolledBack.has(m.version)) m.status = 'rolled-back';
  }
}

function stopOnBlockingFindings(result: RunResult): void {
  const blocking = result.findings.filter((f) => f.severity === 'error');
  if (blocking.length === 0) return;
  const code = blocking.every((f) => f.code === 'out-of-order') ? 'out-of-order' : 'drift';
  throw new GuardError(
    code,
    `Nothing was applied: the migration history and the files disagree:\n${blocking.map((f) => `  - ${f.message}`).join('\n')}`,
    {
      hint: 'Fix the files listed above and run again.',
    },
  );
}

function describeStillApplied(applied: string[], partial: string[], result: RunResult): string {
  const parts = [];
  if (applied.length) {
    parts.push(`Still applied from this run: ${applied.join(', ')}.`);
    if (result.rollback && !result.rollback.succeeded) parts.push(result.rollback.nextStep ?? '');
    else parts.push(`To undo them run rollback with count: ${applied.length}.`);
  }
  if (partial.length) {
    const booked = (result.partiallyApplied ?? []).filter((p) => partial.includes(p.version));
    parts.push(
      `Partly applied (statements that ran outside a transaction, and those before them, committed; no history row): ${partial.join(', ')}.`,
      ...booked.map((p) => `${p.file}: ${p.nextStep}.`),
    );
  }
  return parts.filter(Boolean).join(' ');
}

/** After a streamed run failed: what the files parsed so far tell the report. */
function countStatements(ctx: CommandContext, result: RunResult, parsed: PreparedMigration[]): void {
  const byVersion = new Map(parsed.map((p) => [p.migration.version, p]));
  for (const m of result.migrations) {
    const item = byVersion.get(m.version);
    if (!item) continue;
    m.statements = item.statements.length;
    const notes = notesOf(item);
    if (notes) m.notes = notes;
  }
  reportTimeoutChanges(result, ctx.logger, parsed, ctx.settings);
}

/** Plans the run from the parsed files and fills the per-file part of the report. */
function planRun(ctx: CommandContext, result: RunResult, prepared: PreparedMigration[]): ExecutionPlan {
  const execution = buildExecutionPlan(prepared, ctx.settings.transactionMode);
  const previous = new Map(result.migrations.map((m) => [m.version, m]));
  result.migrations = prepared.map((p) => {
    const fresh = outcomeOf(p.migration, p.statements.length, execution.nonAtomic.get(p.migration.version));
    const notes = notesOf(p);
    if (notes) fresh.notes = notes;
    const known = previous.get(p.migration.version);
    return known
      ? {
          ...known,
          statements: fresh.statements,
          atomic: fresh.atomic,
          nonAtomicReasons: fresh.nonAtomicReasons,
          ...(notes && { notes }),
        }
      : fresh;
  });
  for (const m of result.migrations.filter((o) => !o.atomic))
    ctx.logger.warn(`${m.file} is not atomic: ${m.nonAtomicReasons.join('; ')}`);
  for (const m of result.migrations) for (const note of m.notes ?? []) ctx.logger.info(`${m.file}: ${note}`);
  reportTimeoutChanges(result, ctx.logger, prepared, ctx.settings);
  return execution;
}

function outcomeOf(
  migration: Migration,
  statements: number,
  nonAtomic: string[] | undefined,
): MigrationOutcome {
  return {
    version: migration.version,
    name: migration.name,
    file: migration.path,
    status: 'not-run',
    durationMs: 0,
    statements,
    atomic: !nonAtomic || nonAtomic.length === 0,
    nonAtomicReasons: nonAtomic ?? [],
  };
}

function describeUnits(mode: string, execution: ExecutionPlan | undefined): string {
  if (mode === 'per-file') return 'one transaction per file';
  const units = execution?.units ?? [];
  if (units.length <= 1) return 'one transaction';
  const outside = units.filter((u) => u.kind === 'autocommit').length;
  return `${units.length - outside} transaction(s) and ${outside} statement(s) outside a transaction`;
}

/** Thrown when the rehearsal found a failure: the run is already booked and reported. */
class RehearsalStop extends Error {}
