import type { TransactionMode } from '../../config/settings.js';
import type { Logger } from '../../logger.js';
import type { Migration } from '../../migrations/discover.js';
import { notesOf } from '../prepare.js';
import type { Finding, MigrationOutcome } from '../result.js';
import { timeoutFindings, type EngineTimeouts } from '../timeouts.js';
import { buildExecutionPlan, type ExecutionPlan, type PreparedMigration } from '../units.js';

/**
 * What the report says about each pending file (statements, atomicity, notes) and the timeout
 * settings found in them, as the run learns it: a streamed run knows only the files parsed so
 * far, a planned one all of them. Logs what it learns once.
 */
export class FileReports {
  rows: MigrationOutcome[] = [];
  timeoutFindings: Finding[] = [];

  constructor(
    private readonly logger: Logger,
    private readonly settings: EngineTimeouts & { transactionMode: TransactionMode },
  ) {}

  /** A streamed run starts before its files are parsed: one row per file, statements not yet counted. */
  unparsed(pending: Migration[]): void {
    this.rows = pending.map((m) => describeFile(m, 0, undefined));
  }

  /** Plans the run from the parsed files, and describes every file from them. */
  plan(prepared: PreparedMigration[]): ExecutionPlan {
    const execution = buildExecutionPlan(prepared, this.settings.transactionMode);
    const previous = new Map(this.rows.map((m) => [m.version, m]));
    this.rows = prepared.map((p) => {
      const fresh = describeFile(
        p.migration,
        p.statements.length,
        execution.nonAtomic.get(p.migration.version),
      );
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
    for (const m of this.rows.filter((o) => !o.atomic))
      this.logger.warn(`${m.file} is not atomic: ${m.nonAtomicReasons.join('; ')}`);
    for (const m of this.rows) for (const note of m.notes ?? []) this.logger.info(`${m.file}: ${note}`);
    this.noteTimeouts(prepared);
    return execution;
  }

  /** After a streamed run stopped: what the files parsed so far tell the report. */
  counted(parsed: PreparedMigration[]): void {
    const byVersion = new Map(parsed.map((p) => [p.migration.version, p]));
    this.rows = this.rows.map((m) => {
      const item = byVersion.get(m.version);
      if (!item) return m;
      const notes = notesOf(item);
      return { ...m, statements: item.statements.length, ...(notes && { notes }) };
    });
    this.noteTimeouts(parsed);
  }

  /** The timeout findings of `prepared` replace the earlier ones (the files are known better now); new ones are logged. */
  private noteTimeouts(prepared: PreparedMigration[]): void {
    const before = new Set(this.timeoutFindings.map((f) => f.message));
    this.timeoutFindings = timeoutFindings(prepared, this.settings);
    for (const f of this.timeoutFindings) if (!before.has(f.message)) this.logger.warn(f.message);
  }
}

function describeFile(
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
