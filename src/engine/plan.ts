import type { Migration, MigrationSet } from '../migrations/discover.js';
import { compareVersions, isNumericVersion } from '../migrations/discover.js';
import { quoteLiteral } from '../db/ident.js';
import type { ChecksumRow } from '../db/guard-store.js';
import type { HistoryRow } from '../db/history.js';
import type { PartialMigration } from '../db/partial-store.js';
import type { Finding, StatusRow } from './result.js';

export interface Plan {
  rows: StatusRow[];
  pending: Migration[];
  /** Errors stop `apply` before any change; warnings are reported only. */
  findings: Finding[];
  currentVersion?: string;
  /** Pending files an earlier failed run left partly applied (db/partial-store.ts), by version. */
  partial: Map<string, PartialMigration>;
}

/**
 * Compares the files on disk with the database's history. Pure: no I/O, so every rule is
 * unit-testable and `status`, `plan` and `apply` share one answer.
 */
export function buildPlan(
  set: MigrationSet,
  history: HistoryRow[],
  checksums: Map<string, ChecksumRow>,
  options: { allowOutOfOrder: boolean },
  partialRows: Map<string, PartialMigration> = new Map(),
): Plan {
  const applied = new Map(history.map((row) => [row.version, row]));
  const onDisk = new Map(set.migrations.map((m) => [m.version, m]));
  const findings: Finding[] = set.skipped.map((s) => ({
    code: 'skipped-file',
    severity: 'warning',
    file: s.fileName,
    message: `${s.fileName} skipped: ${s.reason}`,
  }));
  const rows: StatusRow[] = [];
  const pending: Migration[] = [];
  const partial = new Map<string, PartialMigration>();

  const appliedVersions = [...applied.keys()].sort(compareVersions);
  // A version that is not all digits has no place in the order: it never counts as the newest.
  const newestApplied = appliedVersions.filter(isNumericVersion).pop();

  for (const migration of set.migrations) {
    const row = applied.get(migration.version);
    if (!row) {
      pending.push(migration);
      const part = partialRows.get(migration.version);
      rows.push({
        version: migration.version,
        name: migration.name,
        file: migration.path,
        state: 'pending',
        partial: part ? partialNote(part) : undefined,
      });
      if (part) {
        partial.set(migration.version, part);
        if (part.checksum !== migration.checksum) findings.push(changedPartialFinding(migration, part));
      }
      if (newestApplied !== undefined && compareVersions(migration.version, newestApplied) < 0) {
        findings.push({
          code: 'out-of-order',
          severity: options.allowOutOfOrder ? 'warning' : 'error',
          version: migration.version,
          file: migration.path,
          message:
            `${migration.path} is pending but older than the newest applied version ${newestApplied}` +
            (options.allowOutOfOrder
              ? ' (allowed by allow-out-of-order)'
              : ': give it a newer timestamp, or set allow-out-of-order: true if running it late is safe'),
        });
      }
      continue;
    }
    const recorded = checksums.get(migration.version);
    const checksum = !recorded ? 'unverified' : recorded.checksum === migration.checksum ? 'ok' : 'changed';
    rows.push({
      version: migration.version,
      name: migration.name,
      file: migration.path,
      state: 'applied',
      appliedAt: recorded?.appliedAt,
      appliedBy: recorded ? (recorded.appliedBy ?? undefined) : 'another tool (no checksum recorded)',
      checksum,
    });
    if (checksum === 'changed') {
      findings.push({
        code: 'drift',
        severity: 'error',
        version: migration.version,
        file: migration.path,
        message:
          `${migration.path} was changed after it was applied (checksum differs). Applied migrations are ` +
          'immutable: restore the file as it was and put the change in a new migration',
      });
    }
  }
  for (const version of appliedVersions) {
    if (onDisk.has(version)) continue;
    const row = applied.get(version)!;
    rows.push({ version, name: row.name ?? '', state: 'missing-locally', checksum: undefined });
    if (!isNumericVersion(version)) {
      findings.push(invalidVersionFinding(version, row.name));
      continue;
    }
    findings.push({
      code: 'missing-locally',
      severity: 'error',
      version,
      message:
        `version ${version}${row.name ? ` (${row.name})` : ''} is applied on the database but has no file in ` +
        `${set.dir}: restore the file, or, if it was squashed away, remove its history row deliberately`,
    });
  }
  // A partly applied file with no file on disk any more: what committed stays, nothing can resume
  // it. Its row is not 'missing-locally', which would count it as applied (rollback reads that).
  for (const part of partialRows.values()) {
    if (onDisk.has(part.version) || applied.has(part.version)) continue;
    rows.push({ version: part.version, name: part.name, state: 'pending', partial: partialNote(part) });
    findings.push({
      code: 'missing-locally',
      severity: 'error',
      version: part.version,
      message:
        `version ${part.version} (${part.name}) was partly applied by run ${part.runId ?? '?'} ` +
        `(${describePartial(part)}) and has no file in ${set.dir}: restore the file so the next apply resumes it, or ` +
        `undo those statements by hand and then ${forgetPartialSql(part.version)}`,
    });
  }
  rows.sort((a, b) => compareVersions(a.version, b.version));
  return { rows, pending, findings, currentVersion: newestApplied, partial };
}

/** "statements 1-3 of 5 committed, 1 of them outside a transaction (line 2)". */
export function describePartial(part: PartialMigration): string {
  const outside = part.outsideTransaction.filter((o) => !o.failed);
  const failed = part.outsideTransaction.filter((o) => o.failed);
  return (
    `statements 1-${part.statementsDone} of ${part.statementsTotal} committed` +
    (outside.length
      ? `, ${outside.length} of them outside a transaction (line ${outside.map((o) => o.line).join(', ')})`
      : '') +
    (failed.length ? `; failed outside a transaction at line ${failed.map((o) => o.line).join(', ')}` : '')
  );
}

/** The statement that tells the guard a partly applied file was dealt with by hand. */
export function forgetPartialSql(version: string): string {
  return `run: DELETE FROM migration_guard.partial_migrations WHERE version = '${version.replace(/'/g, "''")}'`;
}

function partialNote(part: PartialMigration): NonNullable<StatusRow['partial']> {
  return {
    statementsDone: part.statementsDone,
    statementsTotal: part.statementsTotal,
    runId: part.runId,
    recordedAt: part.recordedAt,
    outsideTransaction: part.outsideTransaction.map((o) => o.line),
    description: `partially applied: ${describePartial(part)} by run ${part.runId ?? '?'}, no history row; the next apply resumes at statement ${part.statementsDone + 1} if the file is unchanged`,
  };
}

function changedPartialFinding(migration: Migration, part: PartialMigration): Finding {
  return {
    code: 'drift',
    severity: 'error',
    version: migration.version,
    file: migration.path,
    message:
      `${migration.path} was partly applied by run ${part.runId ?? '?'} (${describePartial(part)}) and has changed ` +
      'since (checksum differs), so it cannot be resumed: restore the file as it was (the next apply then resumes it ' +
      `after the committed statements), or undo those statements by hand and then ${forgetPartialSql(migration.version)}`,
  };
}

/**
 * A history row whose version is not all digits (empty, say) was written by hand or by another
 * tool: no file can ever match it, so it is reported as its own problem rather than as a file
 * to restore. An error, like any applied version without a file: apply and baseline refuse.
 */
function invalidVersionFinding(version: string, name: string | null): Finding {
  const shown = version === '' ? 'an empty version' : `version ${JSON.stringify(version)}`;
  // PostgreSQL text holds no NUL byte, so the literal can always be written.
  const deletion = `DELETE FROM supabase_migrations.schema_migrations WHERE version = ${quoteLiteral(version)}`;
  return {
    code: 'invalid-version',
    severity: 'error',
    version,
    message:
      `supabase_migrations.schema_migrations has a row with ${shown}${name ? ` (name ${JSON.stringify(name)})` : ''}, ` +
      'which is not a migration version (digits only, the start of a file name): no file can match it, ' +
      `it was written by hand or by another tool. Check what it records, then delete it deliberately (${deletion})`,
  };
}
