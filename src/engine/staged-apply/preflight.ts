import { formatLocation, GuardError } from '../../errors.js';
import type { LintReport } from '../../lint/types.js';
import type { Finding } from '../result.js';
import { seeTroubleshooting } from '../../docs-links.js';

/** The preflight: nothing runs while the history and the files disagree (drift, out-of-order files). */
export function refuseOnBlockingFindings(findings: Finding[]): void {
  const blocking = findings.filter((f) => f.severity === 'error');
  if (blocking.length === 0) return;
  const code = blocking.every((f) => f.code === 'out-of-order') ? 'out-of-order' : 'drift';
  throw new GuardError(
    code,
    `Nothing was applied: the migration history and the files disagree:\n${blocking.map((f) => `  - ${f.message}`).join('\n')}`,
    {
      hint: `Fix the files listed above and run again.${seeTroubleshooting('history-and-files-disagree')}`,
    },
  );
}

/**
 * The production guard: nothing runs while the pending files hold destructive statements (DROP
 * TABLE/COLUMN, TRUNCATE, …) that no ignore comment with a reason accepts, unless the run says
 * `allow-destructive: true`. Checked before the backup, so a refused run has changed nothing.
 */
export function refuseDestructiveFindings(report: LintReport | undefined, allowDestructive: boolean): void {
  if (!report || allowDestructive) return;
  // Info-level findings of the family (a backfill of a column the release adds) are no hazard.
  const destructive = report.findings.filter(
    (f) => f.family === 'destructive' && f.severity !== 'info' && !f.ignored,
  );
  if (destructive.length === 0) return;
  const first = destructive[0];
  throw new GuardError(
    'destructive-change',
    `Nothing was applied: ${destructive.length} destructive statement(s) in the pending files, and allow-destructive is false:\n` +
      destructive.map((f) => `  - ${formatLocation(f)}[${f.rule}] ${f.message}`).join('\n'),
    {
      location: first.file ? { file: first.file, line: first.line, column: first.column } : undefined,
      hint:
        'If the change is intended, accept each statement with a comment on the line before it, giving the reason ' +
        `(it is recorded in the report and the audit log): -- migration-guard:ignore ${first.rule} <why this is safe>. ` +
        'Or set allow-destructive: true for this run.',
    },
  );
}
