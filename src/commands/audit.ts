import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { auditCsv, auditJson, auditMarkdown, buildAuditReport } from '../audit/export.js';
import { verifyChain } from '../audit/chain.js';
import { auditLogExists } from '../audit/schema.js';
import { readAuditLog } from '../audit/store.js';
import { withClient } from '../db/connect.js';
import { applicationName } from '../config/run-context.js';
import type { RunResult } from '../engine/result.js';
import type { CommandContext } from './context.js';

/**
 * audit: verifies the whole hash chain of migration_guard.audit_log and exports the rows of
 * `since`/`until` as Markdown, CSV and JSON. Read-only. A broken chain fails the command, naming
 * the first row that no longer matches.
 */
export async function auditCommand(ctx: CommandContext, result: RunResult): Promise<RunResult> {
  const { settings, logger } = ctx;
  const appName = applicationName('audit', settings.environment, ctx.run);
  const rows = await withClient(settings.database, { applicationName: appName }, async (client) =>
    (await auditLogExists(client)) ? readAuditLog(client) : [],
  );
  const broken = verifyChain(rows);
  const report = buildAuditReport(
    rows,
    { since: settings.since, until: settings.until },
    { rows: rows.length, valid: !broken, head: rows[rows.length - 1]?.hash, firstBroken: broken },
  );
  const dir = exportDir(ctx);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const stem = join(dir, `migration-guard-audit-${settings.environment}`);
  const files = { markdown: `${stem}.md`, csv: `${stem}.csv`, json: `${stem}.json` };
  const markdown = auditMarkdown(report);
  await write(files.markdown, markdown);
  await write(files.csv, auditCsv(report));
  await write(files.json, auditJson(report));
  result.audit = {
    rows: rows.length,
    valid: !broken,
    head: report.chain.head,
    firstBroken: broken,
    runs: report.runs.length,
    events: report.events.length,
    range: report.range,
    files,
    markdown,
  };
  if (broken) {
    result.status = 'failed';
    result.message = `The audit log's hash chain is broken at row ${broken.id} (${broken.event}, ${broken.at}): ${broken.problem}. The exports were written for inspection.`;
    result.error = {
      message: result.message,
      hint: 'Someone changed the audit log outside this tool (the trigger that refuses changes was disabled or bypassed). Compare with an earlier export.',
    };
    logger.error(result.message);
    return result;
  }
  result.status = 'success';
  result.message =
    rows.length === 0
      ? 'The audit log is empty (no run has written to it yet).'
      : `Audit log verified: ${rows.length} row(s), hash chain intact. ${report.runs.length} run(s) in the range; exports in ${dir}.`;
  logger.info(result.message);
  return result;
}

function exportDir(ctx: CommandContext): string {
  if (ctx.settings.reportPath) return dirname(resolve(ctx.cwd ?? '.', ctx.settings.reportPath));
  return process.env.RUNNER_TEMP || resolve(ctx.cwd ?? '.');
}

async function write(path: string, text: string): Promise<void> {
  await writeFile(path, text, { mode: 0o600 });
  await chmod(path, 0o600);
}
