import type { RunResult } from '../engine/result.js';
import type { CommandContext } from './context.js';
import { withSession } from './session.js';

/** status: every migration and its state. Read-only: takes no lock and creates nothing. */
export async function statusCommand(ctx: CommandContext, result: RunResult): Promise<RunResult> {
  return withSession(ctx, result, { lock: false }, async ({ plan }) => {
    result.status_rows = plan.rows;
    result.applied = [];
    result.status = 'success';
    const applied = plan.rows.filter((r) => r.state === 'applied').length;
    const problems = plan.findings.filter((f) => f.severity === 'error').length;
    result.message =
      `${applied} applied, ${plan.pending.length} pending` +
      (plan.partial.size
        ? ` (${plan.partial.size} of them partially applied by a failed run: ${[...plan.partial.keys()].join(', ')})`
        : '') +
      (problems ? `, ${problems} problem(s) that would stop apply` : '') +
      (plan.currentVersion ? `; current version ${plan.currentVersion}` : '; nothing applied yet') +
      (result.abandonedRuns?.length
        ? `; ${result.abandonedRuns.length} run(s) ended without finishing and are still recorded as running: ${result.abandonedRuns.map((r) => `#${r.id}${r.applied.length ? ` (applied ${r.applied.join(', ')})` : ' (applied nothing)'}`).join(', ')}`
        : '');
    ctx.logger.info(result.message);
    for (const row of plan.rows)
      if (row.partial) ctx.logger.warn(`${row.file ?? row.version}: ${row.partial.description}`);
    return result;
  });
}
