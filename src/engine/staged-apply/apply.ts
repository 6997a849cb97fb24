import type { Client } from '../../db/connect.js';
import { schemaFingerprint } from '../../db/fingerprint.js';
import {
  MARK_FILE_START,
  recordAppliedMigrations,
  recordStagedMigrationSql,
  stageAppliedMigrations,
  unstageAppliedMigrations,
} from '../../db/guard-store.js';
import { CREATE_HISTORY, readHistory } from '../../db/history.js';
import { forgetPartialMigrations } from '../../db/partial-store.js';
import { errorMessage, GuardError } from '../../errors.js';
import { loadParser } from '../../migrations/parser.js';
import type { StageEvent } from '../events.js';
import {
  executeStreamedTransaction,
  executeUnits,
  PlanNeededError,
  sessionSettings,
  type ExecuteOptions,
  type ExecutionOutcome,
} from '../execute.js';
import { prepareMigrations } from '../prepare.js';
import { rehearse, rehearseStreamed } from '../rehearse.js';
import type { Finding } from '../result.js';
import { StreamedRun, streamable } from '../stream.js';
import type { ExecutionPlan, PreparedMigration } from '../units.js';
import type { StagedApplyDeps } from './deps.js';
import { FileReports } from './files.js';
import type { StagedApplyOutcome } from './outcome.js';
import { bookPartialFiles, rehearsalReason, resumePartialFiles } from './partial-files.js';
import { runDetailsOf, verdictOf } from './result.js';

/**
 * The staged apply: preflight → backup → rehearsal (when the run commits in more than one piece)
 * → apply (+ verify) → record, and after a failure the revert of what this run committed. Every
 * stage before "apply" leaves the database untouched when it fails. Returns what happened (the
 * caller builds the report from it: result.ts) and tells `deps.events` as it goes.
 * Throws only when the preflight refuses the run (the history and the files disagree).
 */
export async function stagedApply(deps: StagedApplyDeps): Promise<StagedApplyOutcome> {
  return new StagedApply(deps).run();
}

/** Thrown inside the run when the rehearsal found a failure: the run is already recorded. */
class RehearsalStop extends Error {
  constructor(readonly outcome: StagedApplyOutcome) {
    super('rehearsal failed');
  }
}

class StagedApply {
  private readonly files: FileReports;
  private readonly findings: Finding[] = [];
  private execution?: ExecutionPlan;
  private stream?: StreamedRun;
  private backup?: StagedApplyOutcome['backup'];
  private rehearsal?: StagedApplyOutcome['rehearsal'];
  private fingerprintBefore = '';
  private runId?: number;

  constructor(private readonly deps: StagedApplyDeps) {
    this.files = new FileReports(deps.logger, deps.settings);
  }

  private emit(event: StageEvent): void {
    this.deps.events?.emit(event);
  }

  private get cancelled(): boolean {
    return this.deps.signal?.aborted ?? false;
  }

  /** The outcome as it stands, with what the stage that ends the run adds. */
  private outcome(end: Partial<StagedApplyOutcome> & Pick<StagedApplyOutcome, 'stage'>): StagedApplyOutcome {
    const { plan } = this.deps.session;
    return {
      transactionMode: this.deps.settings.transactionMode,
      pending: plan.pending,
      known: plan.rows.length,
      currentVersionBefore: plan.currentVersion,
      files: this.files.rows,
      findings: [...this.findings, ...this.files.timeoutFindings],
      backup: this.backup,
      rehearsal: this.rehearsal,
      cancelled: this.cancelled,
      runId: this.runId,
      ...end,
    };
  }

  async run(): Promise<StagedApplyOutcome> {
    const { settings, session } = this.deps;
    const { plan } = session;
    refuseOnBlockingFindings(plan.findings);
    this.emit({
      type: 'run-started',
      command: settings.command,
      environment: settings.environment,
      pending: plan.pending.map((m) => ({ version: m.version, name: m.name, file: m.path })),
      transactionMode: settings.transactionMode,
    });
    if (plan.pending.length === 0) return this.outcome({ stage: 'nothing-to-do' });
    try {
      return await this.stages();
    } catch (error) {
      if (error instanceof RehearsalStop) return error.outcome;
      const cancelled = this.cancelled || (error instanceof GuardError && error.code === 'cancelled');
      if (cancelled) this.emit({ type: 'cancelled', reason: errorMessage(error) });
      return this.outcome({ stage: 'stopped', error, cancelled });
    }
  }

  private async stages(): Promise<StagedApplyOutcome> {
    const { settings, logger, session, runRecord } = this.deps;
    const { client, plan, runner } = session;
    // A run that fits in one transaction starts before every file is parsed (engine/stream.ts);
    // otherwise all files are parsed and planned first. The parser loads while the backup and the
    // bookkeeping run.
    const parserLoading = loadParser();
    parserLoading.catch(() => {}); // awaited below; a failure to load is reported there
    // A file an earlier run left partly applied resumes after its committed statements: planned.
    if (!streamable(plan.pending) || plan.partial.size > 0)
      this.execution = this.files.plan(
        resumePartialFiles(await prepareMigrations(plan.pending), plan.partial),
      );
    else this.files.unparsed(plan.pending);

    await runner.start();
    const backup = await this.deps.backup();
    if (backup.finding) this.findings.push(backup.finding);
    if (backup.report) {
      this.backup = backup.report;
      this.emit({ type: 'backup-taken', backup: backup.report });
    }
    // Our own schema and the run's row commit before any migration does: a failed run must be on
    // record. The Supabase history table, when missing (or an older CLI's, without every column),
    // is created (upgraded) inside the first migration transaction instead.
    if (this.execution) this.runId = await runRecord.open();
    this.fingerprintBefore = await schemaFingerprint(client);
    // The control connection opens the record under the run's lock and statement timeouts.
    const controlTimeouts = sessionSettings(settings, 'SESSION');
    this.stream = this.execution
      ? undefined
      : new StreamedRun(plan.pending, await parserLoading, () => {
          runner
            .withControl(async (control) => {
              await control.query(controlTimeouts);
              return runRecord.open(control);
            })
            .catch(() => {}); // opened again on the session's connection when needed
        });

    let execution: ExecutionOutcome;
    try {
      // Per-file runs, and `all` runs cut by a statement that must commit on its own, are tried
      // first in a transaction that is rolled back: a failure anywhere is found before anything
      // commits. A run that is one transaction needs no rehearsal: its failure rolls it all back.
      const rehearseBecause = rehearsalReason(settings.transactionMode, this.execution);
      if (!rehearseBecause.rehearse) {
        this.rehearsal = { ran: false, reason: rehearseBecause.reason, notRehearsed: [] };
        this.emit({
          type: 'rehearsal-done',
          ran: false,
          reason: rehearseBecause.reason,
          failed: false,
          notRehearsed: [],
        });
      } else {
        await this.rehearseFirst(rehearseBecause.reason);
        this.planNow(); // per-file transactions are planned, not streamed
      }
      logger.info(
        `Applying ${plan.pending.length} migration(s) in ${describeUnits(settings.transactionMode, this.execution)}`,
      );
      const options = this.executeOptions();
      execution = await this.streamedOrPlanned(
        async (run) => {
          const streamed = await executeStreamedTransaction(run, options);
          // After a failure the files past it may never have been parsed: report what is known.
          if (streamed.failure) this.files.counted(run.parsed());
          else this.planNow();
          return streamed;
        },
        async (planned) => {
          // A streamed `all` run that turned out to need cutting is rehearsed before it commits.
          const late = rehearsalReason(settings.transactionMode, planned);
          if (!this.rehearsal?.ran && late.rehearse) await this.rehearseFirst(late.reason);
          return executeUnits(planned.units, options);
        },
      );
    } catch (error) {
      if (error instanceof RehearsalStop) throw error;
      // A file that does not parse (found while the run streamed): nothing was run or recorded.
      if (error instanceof GuardError && !runRecord.started) throw error;
      const status = this.cancelled ? 'cancelled' : 'failed';
      this.runId = await runRecord.finish({ status, applied: [], error: errorMessage(error) });
      throw error;
    }
    return execution.failure ? this.afterFailure(execution) : this.succeeded(execution);
  }

  private planNow(): ExecutionPlan {
    return (this.execution ??= this.files.plan(this.stream!.all()));
  }

  /**
   * The streamed form of a stage while the run may stream; the planned form otherwise, or once a
   * file turns out to need a transaction of its own after all.
   */
  private async streamedOrPlanned<T>(
    streamed: (run: StreamedRun) => Promise<T>,
    planned: (plan: ExecutionPlan) => Promise<T>,
  ): Promise<T> {
    if (this.stream && !this.execution) {
      try {
        return await streamed(this.stream);
      } catch (error) {
        if (!(error instanceof PlanNeededError)) throw error;
      }
    }
    return planned(this.planNow());
  }

  /** The rehearsal; throws RehearsalStop (after recording the run) when it finds a failure. */
  private async rehearseFirst(reason: string): Promise<void> {
    const { logger, settings, session } = this.deps;
    const timeouts = {
      runner: session.runner,
      lockTimeoutMs: settings.lockTimeoutMs,
      statementTimeoutMs: settings.statementTimeoutMs,
    };
    logger.info(`Rehearsing first: ${reason}`);
    const rehearsal = await logger.group('Rehearsal (always rolled back)', () =>
      this.streamedOrPlanned(
        (run) => rehearseStreamed(run, timeouts),
        (plan) => rehearse(plan.units, timeouts),
      ),
    );
    this.rehearsal = { ran: true, reason, notRehearsed: rehearsal.notRehearsed };
    for (const line of rehearsal.notRehearsed) logger.warn(`Not rehearsed: ${line}`);
    this.emit({
      type: 'rehearsal-done',
      ran: true,
      reason,
      failed: rehearsal.failure !== undefined,
      notRehearsed: rehearsal.notRehearsed,
    });
    if (!rehearsal.failure) return;
    if (this.stream && !this.execution) this.files.counted(this.stream.parsed());
    const { error, version } = rehearsal.failure;
    if (this.cancelled) this.emit({ type: 'cancelled', reason: error.message });
    else if (version) this.emit({ type: 'file-failed', version, error });
    const outcome = this.outcome({ stage: 'rehearsal-failed', rehearsalFailure: rehearsal.failure });
    const verdict = verdictOf(outcome);
    const runId = await this.deps.runRecord.finish({
      status: verdict.status,
      applied: [],
      error: verdict.message,
    });
    throw new RehearsalStop({ ...outcome, runId });
  }

  /** How the apply stage runs the units: history rows, per-file chaining, and what it tells the listeners. */
  private executeOptions(): ExecuteOptions {
    const { settings, logger, session, actor } = this.deps;
    const { client, plan } = session;
    const toRow = (item: PreparedMigration) => ({
      version: item.migration.version,
      name: item.migration.name,
      statements: item.statements.map((s) => s.historyText),
      checksum: item.migration.checksum,
    });
    const runIdentity = async () => ({
      appliedBy: actor,
      runId: (this.runId = await this.deps.runRecord.open()),
    });
    const position = new Map(plan.pending.map((m, index) => [m.version, index + 1]));
    return {
      runner: session.runner,
      logger,
      lockTimeoutMs: settings.lockTimeoutMs,
      statementTimeoutMs: settings.statementTimeoutMs,
      lockRetries: settings.lockRetries,
      retryBaseMs: settings.lockRetryBaseMs,
      record: async (items) =>
        recordAppliedMigrations(
          client,
          items.map(({ migration, durationMs }) => ({ ...toRow(migration), durationMs })),
          await runIdentity(),
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
      onCommitted: (files) => {
        for (const { version, durationMs } of files)
          this.emit({
            type: 'file-applied',
            version,
            durationMs,
            index: position.get(version) ?? 0,
            total: plan.pending.length,
            committed: true,
          });
      },
      onRetry: (retry) => this.emit({ type: 'lock-retry', ...retry }),
    };
  }

  private async succeeded(execution: ExecutionOutcome): Promise<StagedApplyOutcome> {
    const { client, plan } = this.deps.session;
    // Files an earlier run left partly applied are now whole: their partial record goes. (No
    // round trip when there were none.)
    if (plan.partial.size > 0)
      await forgetPartialMigrations(
        client,
        execution.committed.filter((v) => plan.partial.has(v)),
      );
    const outcome = this.outcome({ stage: 'applied', execution });
    const runId = await this.deps.runRecord.finish({
      status: 'success',
      applied: verdictOf(outcome).applied,
      details: runDetailsOf(outcome),
    });
    return { ...outcome, runId };
  }

  /** After a failure: find out what committed, undo this run's own files, book partly applied ones, record. */
  private async afterFailure(ran: ExecutionOutcome): Promise<StagedApplyOutcome> {
    const { logger, session, runRecord } = this.deps;
    const { plan } = session;
    const failure = ran.failure!;
    let client: Client = session.client;
    let reconnected: Client | undefined;
    try {
      let execution = ran;
      if (failure.connectionLost) {
        // The session is gone (and with it the lock). A COMMIT may or may not have landed: ask the
        // database what it has, on a new connection, rather than trusting what we sent.
        logger.warn(
          'The database connection was lost during the run; reconnecting to check what was committed',
        );
        reconnected = await this.deps.reconnect();
        client = reconnected;
        const applied = new Set(((await readHistory(client)) ?? []).map((r) => r.version));
        execution = { ...ran, committed: plan.pending.map((m) => m.version).filter((v) => applied.has(v)) };
      }
      this.announceFailure(execution);
      // Files this run committed (per-file mode, or all mode cut by an enum value) are undone by their
      // down migrations. Not after a cancellation (the job is being stopped: finish fast and report)
      // nor a lost connection (the session, and with it the lock, is gone).
      let rollback: StagedApplyOutcome['rollback'];
      if (execution.committed.length > 0 && !failure.cancelled && !failure.connectionLost) {
        const toRevert = plan.pending.filter((m) => execution.committed.includes(m.version));
        rollback = await this.deps.revert(toRevert);
        this.emit({
          type: 'rolled-back',
          versions: rollback.succeeded ? rollback.reverted : toRevert.map((m) => m.version),
          how: 'down-migrations',
          succeeded: rollback.succeeded,
        });
      }
      if (failure.cancelled) this.emit({ type: 'cancelled', reason: failure.error.message });
      // Files left partly applied are booked in migration_guard.partial_migrations (status shows
      // them, the next apply resumes them); files that are now whole, or were reverted whole, lose theirs.
      const partiallyApplied = await bookPartialFiles(logger, client, {
        outcome: execution,
        execution: this.execution,
        known: plan.partial,
        runId: await runRecord.open(client).catch(() => undefined),
      });
      const outcome = this.outcome({
        stage: 'apply-failed',
        execution,
        rollback,
        partiallyApplied,
        fingerprint: { before: this.fingerprintBefore, after: await schemaFingerprint(client) },
        cancelled: failure.cancelled,
      });
      const verdict = verdictOf(outcome);
      // A streamed run that failed early may not have opened its row yet: it is opened now (on the
      // reconnected client after a lost connection).
      const runId = await runRecord.finish(
        {
          status: verdict.status,
          applied: verdict.applied,
          error: verdict.message,
          details: runDetailsOf(outcome),
        },
        client,
      );
      return { ...outcome, runId };
    } finally {
      await reconnected?.end().catch(() => {});
    }
  }

  /** The failed file, and what its transaction took with it. */
  private announceFailure(execution: ExecutionOutcome): void {
    const failure = execution.failure!;
    if (!failure.cancelled)
      this.emit({ type: 'file-failed', version: failure.version, error: failure.error });
    // A statement that failed outside a transaction had nothing to roll back with it.
    const outside = execution.nonTransactionalDone.some((n) => n.failed && n.version === failure.version);
    if (!outside)
      this.emit({
        type: 'rolled-back',
        versions: [...failure.rolledBack, failure.version],
        how: 'transaction',
        succeeded: true,
      });
  }
}

function refuseOnBlockingFindings(findings: Finding[]): void {
  const blocking = findings.filter((f) => f.severity === 'error');
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

function describeUnits(mode: string, execution: ExecutionPlan | undefined): string {
  if (mode === 'per-file') return 'one transaction per file';
  const units = execution?.units ?? [];
  if (units.length <= 1) return 'one transaction';
  const outside = units.filter((u) => u.kind === 'autocommit').length;
  return `${units.length - outside} transaction(s) and ${outside} statement(s) outside a transaction`;
}
