import type { LintReport } from '../lint/types.js';

/** A lint finding an ignore comment accepted, as the audit log records it: what, where, and why. */
export interface AcceptedFinding {
  rule: string;
  family: string;
  version: string | null;
  file: string | null;
  line: number | null;
  reason: string;
}

/**
 * The findings of `report` that an ignore comment accepted (of one file, when `version` is
 * given): the audit trail of who let a destructive (or any other) statement through, and why.
 */
export function acceptedFindings(report: LintReport | undefined, version?: string): AcceptedFinding[] {
  return (report?.findings ?? []).flatMap((f) =>
    f.ignored && (version === undefined || f.version === version)
      ? [
          {
            rule: f.rule,
            family: f.family,
            version: f.version ?? null,
            file: f.file ?? null,
            line: f.line ?? null,
            reason: f.ignored.reason,
          },
        ]
      : [],
  );
}
