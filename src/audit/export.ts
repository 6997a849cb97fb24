import { HASHED_FIELDS, type ChainBreak } from './chain.js';
import type { StoredAuditRow } from './store.js';

/** The compliance report: pure renderers over the rows of a time range. */
export interface AuditReport {
  range: { since?: string; until?: string };
  chain: { rows: number; valid: boolean; head?: string; firstBroken?: ChainBreak };
  runs: AuditRunSummary[];
  events: StoredAuditRow[];
}

export interface AuditRunSummary {
  runKey: string;
  runId: number | null;
  startedAt: string;
  endedAt?: string;
  environment: string;
  command: string;
  actor: string | null;
  triggeringActor: string | null;
  eventName: string | null;
  outcome: string;
  applied: string[];
  rolledBack: string[];
  reason: string | null;
  error: string | null;
  runUrl: string | null;
  manual: boolean;
  /** A refused manual run: the rule that refused it and the role the actor had. */
  refusal?: { rule: string; role: string | null; allowedRoles: string[] };
}

const MANUAL_EVENTS = new Set(['workflow_dispatch', 'repository_dispatch']);

export function buildAuditReport(
  all: StoredAuditRow[],
  range: { since?: Date; until?: Date },
  chain: AuditReport['chain'],
): AuditReport {
  const inRange = all.filter((row) => {
    const at = Date.parse(row.at);
    return (!range.since || at >= range.since.getTime()) && (!range.until || at < range.until.getTime());
  });
  const byRun = new Map<string, StoredAuditRow[]>();
  for (const row of inRange) byRun.set(row.runKey, [...(byRun.get(row.runKey) ?? []), row]);
  const runs = [...byRun.values()].map(summariseRun);
  return {
    range: { since: range.since?.toISOString(), until: range.until?.toISOString() },
    chain,
    runs,
    events: inRange,
  };
}

function summariseRun(rows: StoredAuditRow[]): AuditRunSummary {
  const first = rows[0];
  const ended = rows.find((r) => r.event === 'run-ended' || r.event === 'manual-run-refused');
  return {
    runKey: first.runKey,
    runId: rows.find((r) => r.runId !== null)?.runId ?? null,
    startedAt: first.at,
    endedAt: ended?.at,
    environment: first.environment,
    command: first.command,
    actor: first.actor,
    triggeringActor: first.triggeringActor,
    eventName: first.eventName,
    outcome: ended
      ? ended.event === 'manual-run-refused'
        ? 'refused'
        : (ended.outcome ?? 'unknown')
      : 'no end recorded',
    applied: rows.filter((r) => r.event === 'migration-applied').map((r) => r.version ?? ''),
    rolledBack: rows
      .filter((r) => r.event === 'migration-rolled-back' || r.event === 'migration-reverted')
      .map((r) => r.version ?? ''),
    reason: first.reason,
    error: ended?.error ?? rows.find((r) => r.error)?.error ?? null,
    runUrl: first.runUrl,
    manual: MANUAL_EVENTS.has(first.eventName ?? ''),
    ...(ended?.event === 'manual-run-refused' && { refusal: refusalOf(ended) }),
  };
}

function refusalOf(row: StoredAuditRow): NonNullable<AuditRunSummary['refusal']> {
  const d = row.details ?? {};
  return {
    rule: typeof d.rule === 'string' ? d.rule : 'unknown',
    role: typeof d.role === 'string' ? d.role : null,
    allowedRoles: Array.isArray(d.allowedRoles) ? d.allowedRoles.map(String) : [],
  };
}

export function auditJson(report: AuditReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

/** Every stored column: the id, the hashed fields in their order, then the two hashes. */
const CSV_COLUMNS: ReadonlyArray<keyof StoredAuditRow> = ['id', ...HASHED_FIELDS, 'prevHash', 'hash'];

/** One line per audit row (RFC 4180 quoting); a leading =, +, - or @ is defused for spreadsheets. */
export function auditCsv(report: AuditReport): string {
  const cell = (value: unknown): string => {
    if (value === null || value === undefined) return '';
    let text = typeof value === 'object' ? JSON.stringify(value) : String(value);
    if (/^[=+\-@]/.test(text)) text = `'${text}`;
    return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  const lines = [
    CSV_COLUMNS.join(','),
    ...report.events.map((row) => CSV_COLUMNS.map((c) => cell(row[c])).join(',')),
  ];
  return `${lines.join('\r\n')}\r\n`;
}

export function auditMarkdown(report: AuditReport): string {
  const { chain, range, runs } = report;
  const md = (text: string | null | undefined) => (text ?? '').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
  const lines = [
    '## Migration audit report',
    '',
    `Range: ${range.since ?? 'the beginning'} to ${range.until ?? 'now'} · ${runs.length} run(s), ${report.events.length} event(s)`,
    '',
    chain.valid
      ? `Hash chain: **verified**, ${chain.rows} row(s)${chain.head ? `, head \`${chain.head}\`` : ''}.`
      : `Hash chain: **BROKEN** at row ${chain.firstBroken?.id} (${chain.firstBroken?.event}, ${chain.firstBroken?.at}): ${chain.firstBroken?.problem}.`,
    '',
  ];
  if (runs.length > 0) {
    lines.push(
      '| started (UTC) | environment | command | by | trigger | result | applied | reason |',
      '|---|---|---|---|---|---|---|---|',
      ...runs.map(
        (r) =>
          `| ${r.runUrl ? `[${r.startedAt}](${r.runUrl})` : r.startedAt} | ${md(r.environment)} | ${md(r.command)} | ${md(r.triggeringActor ?? r.actor)} | ${md(r.eventName ?? 'local')} | ${md(r.outcome)} | ${r.applied.length ? md(r.applied.join(', ')) : '—'} | ${md(r.reason) || '—'} |`,
      ),
      '',
    );
  }
  const section = (title: string, items: string[]) => {
    if (items.length > 0) lines.push(`### ${title}`, '', ...items, '');
  };
  section(
    'Rollbacks',
    runs
      .filter((r) => r.rolledBack.length > 0)
      .map(
        (r) =>
          `- ${r.startedAt} ${md(r.environment)}: ${md(r.rolledBack.join(', '))} (${md(r.command)}, ${md(r.outcome)})`,
      ),
  );
  section(
    'Manual operations',
    runs
      .filter((r) => r.manual)
      .map(
        (r) =>
          `- ${r.startedAt} ${md(r.environment)} ${md(r.command)} by ${md(r.triggeringActor ?? r.actor)}: ${md(r.outcome)}${r.refusal ? ` (${md(r.refusal.rule)}; role ${md(r.refusal.role ?? 'unknown')}, allowed ${md(r.refusal.allowedRoles.join(', '))})` : ''}; reason: ${md(r.reason) || 'none given'}`,
      ),
  );
  section(
    'Failed runs',
    runs
      .filter((r) => ['failed', 'rolled-back', 'cancelled', 'abandoned', 'refused'].includes(r.outcome))
      .map(
        (r) =>
          `- ${r.startedAt} ${md(r.environment)} ${md(r.command)}: ${md(r.outcome)}: ${md(r.error) || 'no error recorded'}`,
      ),
  );
  return `${lines.join('\n')}\n`;
}
