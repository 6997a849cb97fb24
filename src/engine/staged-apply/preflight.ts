import { GuardError } from '../../errors.js';
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
