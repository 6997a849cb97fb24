import { cut } from '../secrets.js';
import type { MigrationOutcome, RunResult } from '../engine/result.js';
import type { BoardState } from './board-state.js';
import { findingLine, groupByFile, groupTitle, lintTitle } from './lint.js';
import {
  bytes,
  errorPlace,
  escapeCell,
  escapeFenced,
  escapeMd,
  formatBytes,
  formatSeconds,
} from './markdown.js';

/**
 * GitHub refuses a comment body over 65,536 characters. The body is kept under that many UTF-8
 * bytes, which is never fewer than its characters however GitHub counts them.
 */
export const COMMENT_LIMIT = 65_536;
/** Lists longer than this fold into `<details>`. */
const FOLD_AFTER = 10;
/** Runs kept in the comment's history. */
const HISTORY_KEPT = 20;
/** Any one message, error or finding shown. */
const TEXT_MAX = 2_000;

/** The hidden line that identifies the environment's comment among all the pull request's comments. */
export function commentMarker(environment: string): string {
  return `<!-- supabase-migration-guard:${environment} -->`;
}

const HISTORY_START = '<!-- supabase-migration-guard:history -->';
const HISTORY_END = '<!-- /supabase-migration-guard:history -->';

/** The earlier runs' lines kept in a comment this renderer wrote (empty for any other text). */
export function historyOf(body: string): string[] {
  const start = body.indexOf(HISTORY_START);
  const end = body.indexOf(HISTORY_END, start);
  if (start < 0 || end < 0) return [];
  return body
    .slice(start + HISTORY_START.length, end)
    .split('\n')
    .filter((line) => line.startsWith('- '))
    .map((line) => cut(line, 500))
    .slice(-HISTORY_KEPT);
}

/**
 * The sticky comment for one environment: what the run is doing now (or did), the stages it went
 * through, and one line per earlier run on this pull request (`history`), so the same comment
 * tells the story from plan to production. Pure: the caller scrubs what goes in.
 */
export function renderComment(state: BoardState, history: string[] = [], limit = COMMENT_LIMIT): string {
  const result = state.result;
  const runs = result ? [...history, historyEntry(state)].slice(-HISTORY_KEPT) : history;
  const head = [
    commentMarker(state.environment),
    `### 🛡️ Migration guard · \`${state.environment}\` · ${headline(state)}`,
    '',
    stageLine(state),
    '',
    metaLine(state),
    '',
    // The message, unless it only repeats the error shown below it.
    ...(result?.message && result.message !== result.error?.message
      ? [escapeMd(cut(result.message, TEXT_MAX)), '']
      : []),
    ...errorBlock(state),
    ...rollbackBlock(state),
    ...facts(state),
  ];
  const lists: List[] = [migrationList(state), lintList(state), lockList(state), findingList(state)].filter(
    (l): l is List => l !== undefined,
  );
  const tail = historyBlock(runs);
  const fixed = bytes(head.join('\n')) + bytes(tail.join('\n'));
  // What the lists may take: the rest, less room for their headers, folds and notes.
  let budget = limit - fixed - 400 * (lists.length + 1);
  const body: string[] = [...head];
  for (const list of lists) {
    const rows: string[] = [];
    for (const row of list.rows) {
      const size = bytes(row) + 1;
      if (size > budget) break;
      budget -= size;
      rows.push(row);
    }
    budget -= bytes(list.header.join('\n'));
    body.push(...renderList(list, rows));
  }
  body.push(...tail);
  return fit(silenceMentions(`${body.join('\n').trimEnd()}\n`), limit);
}

/**
 * `@name` in text the comment quotes (a file name, an error, a message) would notify that user or
 * team on every update. A zero-width space after the `@` keeps it readable and silent; e-mail
 * addresses (a word character before the `@`) are left as they are.
 */
const MENTION = /(^|[^\w@])@(?=[A-Za-z0-9])/gm;

function silenceMentions(text: string): string {
  return text.replace(MENTION, '$1@\u200b');
}

/**
 * The last guard: a body still over the limit (the lists' budget is an estimate) is cut, with a
 * note. Only pathological inputs reach it; a cut may break the Markdown after it, never the limit.
 */
function fit(body: string, limit: number): string {
  if (bytes(body) <= limit) return body;
  const note =
    '\n\n_… cut: GitHub limits a comment to 65,536 characters. The job summary has the whole report._\n';
  let end = limit - bytes(note);
  // Bytes to characters: step back until the prefix fits (a multi-byte character may straddle the end).
  let text = Buffer.from(body, 'utf8').subarray(0, end).toString('utf8');
  while (bytes(text) > end) text = text.slice(0, -1);
  end = text.length;
  return `${cut(text, end)}${note}`;
}

interface List {
  title: string;
  /** Lines before the rows (a table's header). */
  header: string[];
  rows: string[];
  noun: string;
}

function renderList(list: List, rows: string[]): string[] {
  const left = list.rows.length - rows.length;
  const note =
    left > 0
      ? [
          '',
          `_… ${left} more ${list.noun} not shown: GitHub limits a comment to ${COMMENT_LIMIT.toLocaleString('en-US')} characters. The job summary and the JSON report (output \`report-path\`) have them all._`,
        ]
      : [];
  const content = [...list.header, ...rows, ...note];
  if (list.rows.length > FOLD_AFTER) {
    return [`<details><summary>${list.title}</summary>`, '', ...content, '', '</details>', ''];
  }
  return [`**${list.title}**`, '', ...content, ''];
}

const STATUS_WORDS: Record<RunResult['status'], string> = {
  success: '✅ success',
  'nothing-to-do': '✅ nothing to do',
  failed: '❌ failed',
  'rolled-back': '↩️ failed and rolled back',
  cancelled: '🛑 cancelled',
};

function headline(state: BoardState): string {
  const result = state.result;
  if (!result) {
    if (state.cancelled) return '🛑 cancelling…';
    if (state.failed) return '⏳ failed, rolling back…';
    return `⏳ \`${state.command}\` in progress`;
  }
  if (result.cancelled || result.status === 'cancelled') return '🛑 cancelled';
  if (result.command === 'plan') {
    if (result.status === 'success')
      return `📋 planned: ${plural(result.migrations.length, 'pending migration')}`;
    if (result.status === 'nothing-to-do') return '✅ planned: nothing to apply';
    return '❌ plan failed: apply would not go through';
  }
  if (result.command === 'apply') {
    if (result.status === 'success') return `✅ applied ${plural(result.applied.length, 'migration')}`;
    return STATUS_WORDS[result.status];
  }
  return `\`${result.command}\` ${STATUS_WORDS[result.status]}`;
}

/** The stages in order, each marked done, under way, failed or not reached. */
function stageLine(state: BoardState): string {
  const result = state.result;
  if (state.command === 'plan') {
    if (!result) return '⏳ planning';
    if (!result.rehearsal?.ran) {
      if (result.status === 'failed') return '❌ plan refused';
      return result.migrations.length
        ? `✅ planned (${result.migrations.length} pending)`
        : '✅ planned: nothing pending';
    }
    // A plan fails in its rehearsal (an error) or on its lint findings (lintFailing), or both.
    const rehearsed = result.status === 'failed' && result.error ? '❌ rehearsal failed' : '✅ rehearsed';
    const linted = !result.lint
      ? ''
      : result.lintFailing
        ? ` → ❌ lint: ${plural(result.lintFailing, 'finding')} at the fail level`
        : ' → ✅ linted';
    return `✅ planned (${result.migrations.length} pending) → ${rehearsed}${linted}`;
  }
  const total = state.total ?? state.pending?.length ?? result?.migrations.length;
  // What ran before the end: the live count when the board saw it, else what the result says
  // ran (a failed run's applied list is empty: its files were rolled back).
  const applied =
    state.applied.length > 0 || !result
      ? state.applied.length
      : result.applied.length ||
        result.migrations.filter((m) => m.status === 'applied' || m.status === 'rolled-back').length;
  const failed = result ? result.status !== 'success' && result.status !== 'nothing-to-do' : !!state.failed;
  const backup = state.backup ?? result?.backup;
  const steps: string[] = [];
  steps.push(
    total === undefined && !result
      ? '⏳ planning'
      : `✅ planned${total !== undefined ? ` (${total} pending)` : ''}`,
  );
  if (result?.status === 'nothing-to-do') return '✅ planned: nothing pending → ✅ nothing to do';
  if (state.backupExpected || backup) {
    steps.push(
      backup
        ? `✅ backed up (${formatBytes(backup.sizeBytes)})`
        : result || state.failed || state.cancelled
          ? failed && applied === 0
            ? '⬜ no backup'
            : '⬜ backup'
          : total === undefined
            ? '⬜ back up'
            : '⏳ backing up',
    );
  }
  const progress = `${applied}/${total ?? '?'}`;
  const backupPending = (state.backupExpected && !backup) || total === undefined;
  steps.push(
    result
      ? failed
        ? `❌ applying ${progress}`
        : `✅ applied ${progress}`
      : state.failed || state.cancelled
        ? `❌ applying ${progress}`
        : backupPending
          ? `⬜ applying ${progress}`
          : `⏳ applying ${progress}`,
  );
  steps.push(outcomeStep(state));
  return steps.join(' → ');
}

function outcomeStep(state: BoardState): string {
  const result = state.result;
  const reason = state.failed ? ` (${failedWhere(state.failed.version, state.failed.error)})` : '';
  if (!result) {
    if (state.cancelled) return `⏳ cancelled: ${escapeMd(state.cancelled)}, rolling back`;
    if (state.failed) return `⏳ rolling back${reason}`;
    return '⬜ applied';
  }
  if (result.cancelled || result.status === 'cancelled')
    return result.changed
      ? '🛑 cancelled: the files committed before it stay applied'
      : '🛑 cancelled, rolled back';
  if (result.status === 'success') return '✅ applied';
  const why = result.error ? ` (${failedWhere(undefined, result.error)})` : reason;
  if (result.status === 'rolled-back') return `↩️ rolled back${why}`;
  return `❌ failed${why}`;
}

function failedWhere(
  version: string | undefined,
  error: { file?: string; line?: number; message: string },
): string {
  const place = error.file ? `${error.file}${error.line ? `:${error.line}` : ''}` : version;
  return escapeMd(cut(`${place ? `${place}: ` : ''}${error.message.split('\n')[0]}`, 200));
}

function metaLine(state: BoardState): string {
  const parts = [`\`${state.command}\``];
  if (state.sha) parts.push(`commit \`${state.sha.slice(0, 7)}\``);
  if (state.runUrl) parts.push(`[workflow run](${state.runUrl})`);
  parts.push(`updated ${formatTime(state.updatedAt)}`);
  if (state.result) parts.push(`took ${formatSeconds(state.result.durationMs)}`);
  return parts.join(' · ');
}

function errorBlock(state: BoardState): string[] {
  const error = state.result?.error ?? state.failed?.error;
  if (!error) return [];
  const lines = [
    '```',
    escapeFenced(
      cut(
        `${errorPlace(error)}${error.message}${error.sqlstate ? ` (SQLSTATE ${error.sqlstate})` : ''}`,
        TEXT_MAX,
      ),
    ),
  ];
  if (error.detail) lines.push(escapeFenced(cut(`DETAIL: ${error.detail}`, TEXT_MAX)));
  if (error.hint) lines.push(escapeFenced(cut(`HINT: ${error.hint}`, TEXT_MAX)));
  return [...lines, '```', ''];
}

function rollbackBlock(state: BoardState): string[] {
  const rollback = state.result?.rollback;
  if (rollback) {
    const lines = [
      `**${rollback.kind === 'automatic' ? 'Automatic rollback' : rollback.kind === 'restore' ? 'Restore' : 'Rollback'}: ${rollback.succeeded ? 'succeeded' : 'NOT completed'}**`,
      '',
    ];
    if (rollback.reverted.length) lines.push(`Reverted (newest first): ${rollback.reverted.join(', ')}`, '');
    if (rollback.error) lines.push(`Error: ${escapeMd(cut(rollback.error.message, TEXT_MAX))}`, '');
    if (rollback.stillApplied?.length) lines.push(`Still applied: ${rollback.stillApplied.join(', ')}`, '');
    if (rollback.nextStep) lines.push(`**Next step:** ${escapeMd(cut(rollback.nextStep, TEXT_MAX))}`, '');
    return lines;
  }
  if (state.result?.committedBeforeFailure?.length) {
    return [`**Left applied by the failed run:** ${state.result.committedBeforeFailure.join(', ')}`, ''];
  }
  if (!state.result && state.rolledBack) {
    const how = state.rolledBack.how === 'transaction' ? 'with the transaction' : 'by down migrations';
    return [
      `Rolled back ${how}: ${state.rolledBack.versions.join(', ') || 'nothing had committed'}${state.rolledBack.succeeded ? '' : ' (NOT completed)'}`,
      '',
    ];
  }
  return [];
}

function facts(state: BoardState): string[] {
  const result = state.result;
  const lines: string[] = [];
  const backup = result?.backup ?? state.backup;
  if (backup) {
    lines.push(
      `Backup${backup.encrypted ? ' (age-encrypted)' : ''}: ${formatBytes(backup.sizeBytes)}, sha256 \`${backup.sha256}\`, ${escapeMd(backup.pgDumpVersion)}`,
    );
  }
  const rehearsal = result?.rehearsal ?? state.rehearsal;
  if (rehearsal) {
    const outcome = rehearsalOutcome(rehearsal.ran, state.rehearsal?.failed, result);
    const where = result?.shadow
      ? ` on the shadow database ${escapeMd(result.shadow.display)} (a copy of the target's schema; the target was not changed)`
      : '';
    lines.push(
      `Rehearsal: ${outcome}${where}${rehearsal.reason ? ` (${escapeMd(cut(rehearsal.reason, 500))})` : ''}${rehearsal.notRehearsed.length ? `; ${plural(rehearsal.notRehearsed.length, 'statement')} could not be rehearsed` : ''}`,
    );
  }
  if (result?.transactionMode) lines.push(`Transaction mode: \`${result.transactionMode}\``);
  const lock = result?.lock;
  if (lock?.waitedMs)
    lines.push(`Waited ${formatSeconds(lock.waitedMs)} for ${escapeMd(lock.waitedFor ?? 'another run')}`);
  if (result?.currentVersion) lines.push(`Current version: \`${result.currentVersion}\``);
  return lines.length ? [...lines.map((l) => `${l}  `), ''] : [];
}

/** What the rehearsal came to: from its event when the board saw one, else from how the run ended. */
function rehearsalOutcome(ran: boolean, failed: boolean | undefined, result: RunResult | undefined): string {
  if (!ran) return 'not run';
  if (failed !== undefined) return failed ? 'failed' : 'passed';
  if (!result || result.status === 'success' || result.status === 'nothing-to-do') return 'passed';
  // A failed plan failed in its rehearsal when it has an error (else on its lint findings); a
  // failed apply may have failed before or after it.
  if (result.command === 'plan') return result.error ? 'failed' : 'passed';
  return 'ran';
}

function migrationList(state: BoardState): List | undefined {
  type Row = Omit<Partial<MigrationOutcome>, 'status'> & { version: string; name: string; status: string };
  const migrations: Row[] =
    state.result?.migrations ??
    (state.pending ?? []).map((p) => ({
      version: p.version,
      name: p.name,
      file: p.file,
      status: state.applied.includes(p.version)
        ? state.committed.includes(p.version)
          ? 'applied'
          : 'ran'
        : state.failed?.version === p.version
          ? 'failed'
          : 'pending',
    }));
  if (migrations.length === 0) return undefined;
  return {
    title: `Migrations (${migrations.length})`,
    header: ['| Version | Name | Status | Duration | Notes |', '|---|---|---|---|---|'],
    rows: migrations.map((m) => {
      const notes = [
        m.error ? `${errorPlace(m.error)}${m.error.message}` : '',
        m.atomic === false ? `not atomic: ${(m.nonAtomicReasons ?? []).join('; ')}` : '',
        ...(m.notes ?? []),
        m.objects ? describeObjects(m.objects) : '',
      ]
        .filter(Boolean)
        .join(' — ');
      // A pending file has a duration only when it ran for real, on a shadow database.
      const ran = m.status !== 'pending' || m.objects !== undefined;
      return `| ${m.version} | ${escapeCell(m.name)} | ${m.status} | ${m.durationMs !== undefined && ran ? `${m.durationMs} ms` : ''} | ${escapeCell(cut(notes, 500))} |`;
    }),
    noun: 'migrations',
  };
}

/** "created table public.t; dropped index public.i": what a file did on the shadow database. */
function describeObjects(objects: NonNullable<MigrationOutcome['objects']>): string {
  const parts = (['created', 'altered', 'dropped'] as const)
    .filter((k) => objects[k].length > 0)
    .map((k) => `${k} ${objects[k].join(', ')}`);
  return parts.length ? parts.join('; ') : 'no schema change';
}

/** The linter's findings, grouped per file: a line per file with its counts, its findings under it. */
function lintList(state: BoardState): List | undefined {
  const lint = state.result?.lint;
  if (!lint || lint.findings.length === 0) return undefined;
  const clip = (text: string) => cut(text, 300);
  return {
    title: escapeMd(lintTitle(lint)),
    header: [],
    rows: groupByFile(lint.findings).flatMap((group) => [
      `- ${groupTitle(group)}`,
      ...group.findings.map((f) => findingLine(f, clip, '  ')),
    ]),
    noun: 'lint lines',
  };
}

function lockList(state: BoardState): List | undefined {
  const retries = state.result?.lock?.retries ?? state.lockRetries;
  if (retries.length === 0) return undefined;
  return {
    title: `Lock-timeout retries (${retries.length})`,
    header: [],
    rows: retries.map((r) => {
      const message = 'message' in r ? `: ${escapeMd(cut(String(r.message), 300))}` : '';
      const version = 'version' in r && r.version ? ` (${r.version})` : '';
      return `- retry ${r.attempt}${version} after ${r.delayMs} ms${message}${r.blocker ? ` — blocked by ${escapeMd(cut(r.blocker, 300))}` : ''}`;
    }),
    noun: 'retries',
  };
}

function findingList(state: BoardState): List | undefined {
  const findings = state.result?.findings ?? [];
  if (findings.length === 0) return undefined;
  return {
    title: `Findings (${findings.length})`,
    header: [],
    rows: findings.map(
      (f) =>
        `- ${f.severity === 'error' ? '❌' : '⚠️'} ${escapeMd(cut(f.message, 500)).replace(/\r?\n/g, ' ')}`,
    ),
    noun: 'findings',
  };
}

function historyBlock(runs: string[]): string[] {
  if (runs.length === 0) return [];
  return [
    `<details><summary>Runs on this pull request (${runs.length})</summary>`,
    '',
    HISTORY_START,
    ...runs,
    HISTORY_END,
    '',
    '</details>',
  ];
}

/** One line for this finished run in the comment's history. */
function historyEntry(state: BoardState): string {
  const result = state.result!;
  const parts = [formatTime(result.finishedAt), `\`${result.command}\``, headline(state)];
  if (state.sha) parts.push(`\`${state.sha.slice(0, 7)}\``);
  if (state.runUrl) parts.push(`[run](${state.runUrl})`);
  return `- ${parts.join(' · ')}`;
}

function formatTime(iso: string): string {
  return `${iso.slice(0, 19).replace('T', ' ')} UTC`;
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
