import type { RunResult } from '../engine/result.js';

/**
 * Whether the run left the database different from before it, read from the final result (the
 * one place that knows what stayed): the `changed` output, the JSON report and every renderer.
 *
 * - apply: a migration this run committed and did not revert (per-file mode, or an `all` run cut
 *   by a statement that commits on its own), a file partly committed (statements outside a
 *   transaction, no history row), a failed statement outside a transaction that left something
 *   behind it could not clean up (an INVALID index), or a schema that differs from before the run
 *   after a failure (a down migration that did not undo all of its file).
 * - rollback: the down migrations' transaction committed, or a restore went through.
 * - baseline: history rows were written.
 * - every other command (plan, status, backup, audit) never changes it.
 *
 * A rehearsal, a rolled-back transaction, a refusal before the run and the tool's own records
 * (run records, checksums, the audit log) are not changes.
 */
export function databaseChanged(result: RunResult): boolean {
  switch (result.command) {
    case 'apply':
      return (
        result.applied.length > 0 ||
        (result.committedBeforeFailure?.length ?? 0) > 0 ||
        result.migrations.some((m) => m.status === 'applied' || m.status === 'partially-applied') ||
        (result.nonTransactional ?? []).some((n) => n.failed && n.leftBehind && !n.cleanedUp) ||
        schemaDiffers(result.schemaFingerprint)
      );
    case 'rollback':
      return (
        result.rollback?.succeeded === true &&
        (result.rollback.kind === 'restore' || result.rollback.reverted.length > 0)
      );
    case 'baseline':
      return result.applied.length > 0;
    default:
      return false;
  }
}

/** A failed run compares the schema before and after it; the files' own word does not settle it. */
function schemaDiffers(fingerprint: RunResult['schemaFingerprint']): boolean {
  return Boolean(fingerprint?.before && fingerprint.after && fingerprint.before !== fingerprint.after);
}
