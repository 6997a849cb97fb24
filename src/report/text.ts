import type { RunResult } from '../engine/result.js';

const CAN_CHANGE: ReadonlySet<RunResult['command']> = new Set(['apply', 'rollback', 'baseline']);

/** The CLI's closing report: a compact plain-text table. */
export function renderText(result: RunResult): string {
  const out: string[] = [];
  if (result.status_rows) {
    for (const r of result.status_rows) {
      out.push(
        `${r.state.padEnd(16)} ${r.version.padEnd(16)} ${r.name}${r.checksum && r.checksum !== 'ok' ? `  [checksum ${r.checksum}]` : ''}${r.partial ? `  [${r.partial.description}]` : ''}`,
      );
    }
  }
  for (const m of result.migrations) {
    out.push(
      `${m.status.padEnd(18)} ${m.version.padEnd(16)} ${m.name}  (${m.durationMs} ms, ${m.statements} statements${m.atomic ? '' : ', not atomic'})`,
    );
    for (const note of m.notes ?? []) out.push(`    note: ${note}`);
    if (m.error)
      out.push(`    ${m.error.file}:${m.error.line ?? ''}:${m.error.column ?? ''}: ${m.error.message}`);
  }
  for (const f of result.findings) out.push(`${f.severity}: ${f.message}`);
  for (const r of result.abandonedRuns ?? [])
    out.push(
      `abandoned run #${r.id}: applied ${r.applied.length ? r.applied.join(', ') : 'nothing'}${r.closed ? ' (closed as abandoned now)' : ' (still recorded as running)'}`,
    );
  // Only where the command can change the database: elsewhere "no" is true by design and says nothing.
  if (CAN_CHANGE.has(result.command))
    out.push(`database changed: ${result.changed ? 'yes' : 'no (as it was before the run)'}`);
  out.push(`${result.status}: ${result.message}`);
  return `${out.join('\n')}\n`;
}
