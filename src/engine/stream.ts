import type { Migration } from '../migrations/discover.js';
import type { PgParser } from '../migrations/parser.js';
import type { KeptStatements } from '../migrations/statements.js';
import { PlanNeededError } from './execute.js';
import { prepareMigration } from './prepare.js';
import { mayNeedOwnTransaction, stepsOfAtomicFile, type PreparedMigration, type Step } from './units.js';

/**
 * Parsing the pending files costs about as much client time as the server spends running a
 * quarter of them. When the whole run fits in one transaction, it need not come first: the server
 * runs file k while the client parses file k+1, and the commit waits until every file has parsed
 * (a syntax error anywhere still leaves the database untouched: the transaction rolls back).
 *
 * `streamable` says whether the run can start before it is planned: only when no pending file
 * could hold a statement needing a transaction of its own (see `mayNeedOwnTransaction`).
 */
export function streamable(pending: Migration[]): boolean {
  // The whole file (a dbmate down section included): erring towards "maybe" only costs speed.
  return pending.every((m) => !mayNeedOwnTransaction(m.up.source.text));
}

const PARSE_AHEAD = 64;

/**
 * The steps of the run, produced file by file and parsed at most once. `steps()` starts over
 * (a lock-timeout retry re-runs the transaction); `whileWaiting()` parses the next unparsed file.
 * A parse error is raised when its file's turn comes, so the earlier files' work is rolled back
 * with it. A file that turns out to need its own transaction raises PlanNeededError.
 */
export class StreamedRun {
  private readonly prepared: Array<PreparedMigration | { error: unknown }> = [];
  private producedSteps: Step[] = [];

  private failedToParse = false;
  private handedOut = 0;

  constructor(
    private readonly pending: Migration[],
    private readonly parser: PgParser,
    /** Called once, as soon as every file has parsed without error. */
    private readonly onAllParsed?: () => void,
    /** Files already parsed (by the linter): split without parsing again. */
    private readonly kept?: KeptStatements,
  ) {
    this.whileWaiting = this.whileWaiting.bind(this);
  }

  *steps(): Generator<Step> {
    this.producedSteps = [];
    for (let index = 0; index < this.pending.length; index++) {
      this.handedOut = index + 1;
      const item = this.item(index);
      if (item.statements.some((s) => s.nonTransactional || s.addsEnumValue)) {
        throw new PlanNeededError(item.migration.version);
      }
      for (const step of stepsOfAtomicFile(item)) {
        this.producedSteps.push(step);
        yield step;
      }
    }
  }

  /** The steps produced by the latest `steps()` pass. */
  produced(): Step[] {
    return this.producedSteps;
  }

  /** Parses ahead of the files handed out so far, by about one message's worth (batches.ts). */
  whileWaiting(): void {
    const target = Math.min(this.pending.length, this.handedOut + PARSE_AHEAD);
    while (this.prepared.length < target) this.parse(this.prepared.length);
  }

  /** The files parsed so far (without errors), in order. */
  parsed(): PreparedMigration[] {
    return this.prepared.filter((entry): entry is PreparedMigration => !('error' in entry));
  }

  /** Every pending file, parsed (throws the first parse error): for reports and for planning. */
  all(): PreparedMigration[] {
    return this.pending.map((_, index) => this.item(index));
  }

  private item(index: number): PreparedMigration {
    while (this.prepared.length <= index) this.parse(this.prepared.length);
    const entry = this.prepared[index];
    if ('error' in entry) throw entry.error;
    return entry;
  }

  private parse(index: number): void {
    try {
      this.prepared[index] = prepareMigration(this.parser, this.pending[index], this.kept);
    } catch (error) {
      this.prepared[index] = { error };
      this.failedToParse = true;
    }
    if (index === this.pending.length - 1 && !this.failedToParse) this.onAllParsed?.();
  }
}
