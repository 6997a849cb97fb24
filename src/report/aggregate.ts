/**
 * The status board of a fan-out over many databases: one row per target, built from each target's
 * JSON report (the action's `report-path`), failures first. Pure: reports in, Markdown out; the
 * command (commands/aggregate.ts) reads the files and writes the job summary.
 */
import { seeTroubleshooting } from '../docs-links.js';
import type { RunResult, RunStatus } from '../engine/result.js';
import { clip, countsBy, escapeCell, fitToSize, foldList, formatBytes, formatSeconds } from './markdown.js';
import { SUMMARY_BUDGET_BYTES } from './summary.js';

/** One database of the fan-out, as the caller listed it in the reusable workflow's `targets`. */
export interface AggregateTarget {
  name: string;
  environment?: string;
  secret?: string;
}

/** A report file as read: its path, and the run result or why it could not be read. */
export interface TargetReport {
  file: string;
  /** The target the file belongs to (its name without `.json`, or the report's environment). */
  target: string;
  result?: RunResult;
  problem?: string;
}

/** `missing`: the target's job left no report (it died, was cancelled before the step, or never ran). */
export type BoardState = RunStatus | 'missing' | 'unreadable';

export interface BoardRow {
  target: string;
  environment?: string;
  state: BoardState;
  applied?: number;
  pending?: number;
  currentVersion?: string;
  durationMs?: number;
  backup?: { sizeBytes: number; sha256: string };
  link?: string;
  note?: string;
  /** In the report files but not in the target list (a typo, or a list that changed). */
  unexpected?: boolean;
}

/** States the run is fine with; every other state fails the aggregation job. */
const GOOD: ReadonlySet<BoardState> = new Set(['success', 'nothing-to-do']);

const STATE_LABEL: Record<BoardState, string> = {
  failed: '❌ failed',
  'rolled-back': '↩️ rolled back',
  cancelled: '⏹️ cancelled',
  missing: '💀 no report (job died or never ran)',
  unreadable: '⚠️ unreadable report',
  success: '✅ success',
  'nothing-to-do': '✅ nothing to do',
};
/** Failures first, then the rest, in this order; within a state, the target list's order. */
const STATE_ORDER: BoardState[] = Object.keys(STATE_LABEL) as BoardState[];

/** The board stays one open table up to this many rows; beyond, the good rows fold. */
const FOLD_ROWS_ABOVE = 30;
/** Rows listed per table at most (the JSON reports, uploaded as artifacts, hold every one). */
const MAX_ROWS = 1000;
/** A failure message in a cell: enough to tell what went wrong, never a wall of text. */
const MAX_NOTE = 300;

/**
 * The board's rows: one per target of the list (a target without a report is `missing`), plus one
 * per report of a target not in the list; failures first.
 */
export function boardRows(targets: AggregateTarget[] | undefined, reports: TargetReport[]): BoardRow[] {
  const byTarget = new Map<string, TargetReport>();
  for (const report of reports) if (!byTarget.has(report.target)) byTarget.set(report.target, report);
  const rows: BoardRow[] = [];
  const listed = new Set<string>();
  for (const target of targets ?? []) {
    listed.add(target.name);
    const report = byTarget.get(target.name);
    rows.push(
      report
        ? rowFor(report, target.environment)
        : {
            target: target.name,
            environment: target.environment,
            state: 'missing',
            note: `The job wrote no report: open the workflow run to see where it stopped.${seeTroubleshooting('a-fan-out-target-shows-no-report')}`,
          },
    );
  }
  for (const report of byTarget.values()) {
    if (listed.has(report.target)) continue;
    rows.push({ ...rowFor(report, undefined), unexpected: targets !== undefined });
  }
  const rank = (row: BoardRow) => STATE_ORDER.indexOf(row.state);
  // Array.prototype.sort is stable: the list's order holds within a state.
  return rows.sort((a, b) => rank(a) - rank(b));
}

function rowFor(report: TargetReport, environment: string | undefined): BoardRow {
  const { result } = report;
  if (!result) return { target: report.target, environment, state: 'unreadable', note: report.problem };
  return {
    target: report.target,
    environment: environment ?? result.environment,
    state: result.status,
    applied: result.applied.length,
    pending: result.pendingCount,
    currentVersion: result.currentVersion,
    durationMs: result.durationMs,
    backup: result.backup ? { sizeBytes: result.backup.sizeBytes, sha256: result.backup.sha256 } : undefined,
    link: result.runUrl,
    note: GOOD.has(result.status) ? undefined : result.message,
  };
}

/** Whether every target ended well (the aggregation job's exit status follows this). */
export function boardSucceeded(rows: BoardRow[]): boolean {
  return rows.length > 0 && rows.every((row) => GOOD.has(row.state) && !row.unexpected);
}

export interface BoardOptions {
  /** The workflow run, linked for targets whose report carries no link (a job that died). */
  runUrl?: string;
}

const HEADER = [
  '| target | environment | status | applied | pending | current version | duration | backup | job | note |',
  '|---|---|---|---:|---:|---|---:|---|---|---|',
];

/**
 * The status board in Markdown: a headline with the counts, then the rows, failures first. Up to
 * 30 rows it is one table; beyond, the failures stay open and the good rows fold into
 * `<details>`. Each table is cut at 1,000 rows with a note, and the whole stays under GitHub's
 * job summary limit.
 */
export function renderBoard(rows: BoardRow[], options: BoardOptions = {}): string {
  const bad = rows.filter((row) => !GOOD.has(row.state) || row.unexpected);
  const good = rows.filter((row) => GOOD.has(row.state) && !row.unexpected);
  const outcome =
    rows.length === 0
      ? '⚠️ no targets and no reports'
      : bad.length === 0
        ? `✅ all ${rows.length} targets succeeded`
        : `❌ ${bad.length} of ${rows.length} targets need attention`;
  const render = (row: BoardRow) => renderRow(row, options);
  const lines = [
    `## Migration guard: ${rows.length} targets — ${outcome}`,
    '',
    rows.length ? `${countsBy(rows, (row) => STATE_LABEL[row.state].replace(/^\S+ /, ''))}.` : '',
    '',
  ];
  if (rows.length <= FOLD_ROWS_ABOVE) {
    lines.push(...HEADER, ...rows.map(render));
  } else {
    if (bad.length)
      lines.push('### Needs attention', '', ...table(bad, render, `${bad.length} targets`, true));
    if (good.length) {
      if (bad.length) lines.push('', '### Succeeded', '');
      lines.push(...table(good, render, `${good.length} targets succeeded`, false));
    }
  }
  if (rows.some((row) => row.unexpected))
    lines.push('', 'Rows marked *not in the target list* come from a report no listed target claims.');
  const markdown = `${lines.join('\n')}\n`;
  return fitToSize(
    markdown,
    SUMMARY_BUDGET_BYTES,
    () =>
      '> The board was cut to fit GitHub’s job summary limit; every target’s JSON report is in the run’s artifacts.',
  );
}

function table(rows: BoardRow[], render: (row: BoardRow) => string, title: string, open: boolean): string[] {
  return foldList(rows, render, HEADER, {
    // The failures are what the reader came for: never folded away.
    foldAbove: open ? Number.POSITIVE_INFINITY : 0,
    maxItems: MAX_ROWS,
    summary: title,
    gap: (count, left) => `| … ${count} more (${countsBy(left, (row) => row.state)}) | | | | | | | | | |`,
    cutNote: (shown, total) =>
      `${shown} of ${total} rows shown; every target’s JSON report is in the run’s artifacts.`,
  });
}

function renderRow(row: BoardRow, options: BoardOptions): string {
  const dash = '—';
  const link = row.link ?? options.runUrl;
  const safeLink = link && /^https?:\/\/[^\s()<>]+$/.test(link) ? `[run](${link})` : dash;
  const note = [row.unexpected ? '*not in the target list*' : '', row.note ? clip(row.note, MAX_NOTE) : '']
    .filter(Boolean)
    .join(' ');
  const cells = [
    `\`${escapeCell(row.target.replace(/`/g, "'"))}\``,
    row.environment ?? dash,
    STATE_LABEL[row.state],
    row.applied ?? dash,
    row.pending ?? dash,
    row.currentVersion ?? dash,
    row.durationMs === undefined ? dash : formatSeconds(row.durationMs),
    row.backup ? `${formatBytes(row.backup.sizeBytes)} · \`${row.backup.sha256.slice(0, 12)}\`` : dash,
    safeLink,
    note || dash,
  ];
  return `| ${cells.map((cell, i) => (i === 0 || i === 7 || i === 8 ? String(cell) : escapeCell(String(cell)))).join(' | ')} |`;
}
