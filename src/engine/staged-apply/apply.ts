import { schemaFingerprint } from '../../db/fingerprint.js';
import { forgetPartialMigrations } from '../../db/partial-store.js';
import { errorMessage, GuardError } from '../../errors.js';
import { refuseOversizedFiles } from '../../migrations/limits.js';
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
import type { ExecutionPlan } from '../units.js';
import type { StagedApplyDeps } from './deps.js';
import { FileReports } from './files.js';
import type { StagedApplyOutcome } from './outcome.js';
import { rehearsalReason, resumePartialFiles } from './partial-files.js';
import { settleFailure } from './after-failure.js';
import { applyExecuteOptions } from './execute-options.js';
import { refuseDestructiveFindings, refuseOnBlockingFindings } from './preflight.js';
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
    // Larger than the engine can hold: refused before anything is written (migrations/limits.ts).
    refuseOversizedFiles(plan.pending);
    // A run that fits in one transaction starts before every file is parsed (engine/stream.ts);
    // otherwise all files are parsed and planned first. The parser loads while the backup and the
    // bookkeeping run.
    const parserLoading = loadParser();
    parserLoading.catch(() => {}); // awaited below; a failure to load is reported there
    // A file an earlier run left partly applied resumes after its committed statements: planned.
    if (!streamable(plan.pending) || plan.partial.size > 0)
      this.execution = this.files.plan(
        resumePartialFiles(await prepareMigrations(plan.pending, this.deps.kept), plan.partial),
      );
    else this.files.unparsed(plan.pending);
    // After planning (which refuses what can never run, such as DROP DATABASE, with its own
    // message), before the backup and any change.
    refuseDestructiveFindings(this.deps.lint, settings.allowDestructive);

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
      : new StreamedRun(
          plan.pending,
          await parserLoading,
          () => {
            runner
              .withControl(async (control) => {
                await control.query(controlTimeouts);
                return runRecord.open(control);
              })
              .catch(() => {}); // opened again on the session's connection when needed
          },
          this.deps.kept,
        );

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

  /** How the apply stage runs the units, and what it tells the listeners. */
  private executeOptions(): ExecuteOptions {
    return applyExecuteOptions(this.deps, {
      emit: (event) => this.emit(event),
      runIdentity: async () => ({
        appliedBy: this.deps.actor,
        runId: (this.runId = await this.deps.runRecord.open()),
      }),
    });
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

  /** After a failure: what committed, undone, partly applied (after-failure.ts); then the record. */
  private afterFailure(ran: ExecutionOutcome): Promise<StagedApplyOutcome> {
    const run = { plan: this.execution, emit: (event: StageEvent) => this.emit(event) };
    return settleFailure(this.deps, ran, run, async (found, client) => {
      const outcome = this.outcome({
        stage: 'apply-failed',
        execution: found.execution,
        rollback: found.rollback,
        partiallyApplied: found.partiallyApplied,
        fingerprint: { before: this.fingerprintBefore, after: found.fingerprintAfter },
        cancelled: ran.failure!.cancelled,
      });
      const verdict = verdictOf(outcome);
      // A streamed run that failed early may not have opened its row yet: it is opened now (on the
      // reconnected client after a lost connection).
      const runId = await this.deps.runRecord.finish(
        {
          status: verdict.status,
          applied: verdict.applied,
          error: verdict.message,
          details: runDetailsOf(outcome),
        },
        client,
      );
      return { ...outcome, runId };
    });
  }
}

function describeUnits(mode: string, execution: ExecutionPlan | undefined): string {
  if (mode === 'per-file') return 'one transaction per file';
  const units = execution?.units ?? [];
  if (units.length <= 1) return 'one transaction';
  const outside = units.filter((u) => u.kind === 'autocommit').length;
  return `${units.length - outside} transaction(s) and ${outside} statement(s) outside a transaction`;
}
