import type { Finding, MigrationOutcome, RunResult, StatusRow } from '../engine/result.js';
import { findingLine, groupByFile, groupTitle, lintTitle } from './lint.js';
import { clip, countsBy, escapeCell, escapeMd, fitToSize, foldList, type FoldOptions } from './markdown.js';

/** GitHub refuses a step summary larger than this. */
export const SUMMARY_LIMIT_BYTES = 1024 * 1024;
/**
 * What the summary allows itself: a tenth of the limit stays free, so a byte count that differs
 * from GitHub's (line endings, a wrapper it adds) never tips a run's summary over.
 */
export const SUMMARY_BUDGET_BYTES = SUMMARY_LIMIT_BYTES - 100 * 1024;
/** The audit command's compliance report may take at most this much of the budget. */
const AUDIT_BUDGET_BYTES = 512 * 1024;

/** Tables longer than this fold into `<details>`; longer than the maximum, they are cut. */
const FOLD_ROWS_ABOVE = 30;
const MAX_ROWS = 250;
/** Lists (findings, lock waits, statements outside a transaction) fold and cut sooner. */
const FOLD_ITEMS_ABOVE = 10;
const MAX_ITEMS = 100;
/** Longest text of one cell or list line: a huge error message cannot crowd out the rest. */
const MAX_CELL = 600;
const MAX_MESSAGE = 3000;

/** Where the whole data is when the summary leaves some out. */
const JSON_REPORT = 'the JSON report of the run (the `report-path` output)';
const FULL_DATA = `${JSON_REPORT} holds every one`;

const STATUS_LABEL: Record<RunResult['status'], string> = {
  success: '✅ success',
  'nothing-to-do': '✅ nothing to do',
  failed: '❌ failed',
  'rolled-back': '↩️ failed and rolled back',
  cancelled: '⏹️ cancelled',
};

/** Findings that mean the history and the files disagree: shown as their own section. */
const DRIFT_CODES: ReadonlySet<Finding['code']> = new Set(['drift', 'missing-locally', 'out-of-order']);

/** Commands whose runs have pending, applied, failed and rolled-back migrations to count. */
const COUNTED_COMMANDS: ReadonlySet<RunResult['command']> = new Set([
  'plan',
  'apply',
  'rollback',
  'baseline',
]);

/**
 * The job summary, a status board of the run: outcome, counts, facts (backup, lock, run link),
 * error, one row per migration, what stayed applied, rollback, drift and findings. Pure Markdown
 * from a run result (golden-tested); long lists fold into `<details>` and are cut with a note, and
 * the whole stays under GitHub's size limit.
 */
export function renderSummary(result: RunResult): string {
  const sections: string[][] = [
    [
      `## Migration guard: \`${result.command}\` on \`${result.environment}\` — ${STATUS_LABEL[result.status]}`,
    ],
    [escapeMd(clip(result.message, MAX_MESSAGE))],
    result.refusal ? refusalSection(result.refusal) : [],
    countsTable(result),
    factsTable(result),
    errorSection(result),
    migrationSection(result.migrations),
    shadowSection(result.shadow),
    lintSection(result.lint),
    committedSection(result.committedBeforeFailure),
    result.rollback ? rollbackSection(result.rollback) : [],
    nonTransactionalSection(result.nonTransactional),
    partialSection(result.partiallyApplied),
    rehearsalSection(result),
    lockSection(result.lock),
    sessionEffectsSection(result.sessionEffects),
    abandonedSection(result.abandonedRuns),
    result.status_rows ? statusSection(result.status_rows) : [],
    findingsSection(
      '### Drift: the history and the files disagree',
      result.findings.filter((f) => DRIFT_CODES.has(f.code)),
    ),
    findingsSection(
      '### Findings',
      result.findings.filter((f) => !DRIFT_CODES.has(f.code)),
    ),
    result.audit
      ? [
          fitToSize(
            result.audit.markdown.trimEnd(),
            AUDIT_BUDGET_BYTES,
            () =>
              `_The compliance report is cut here to fit the job summary: the whole report is in ${escapeMd(result.audit!.files.markdown)}._`,
          ).trimEnd(),
        ]
      : [],
  ];
  const markdown = `${sections
    .filter((s) => s.length > 0)
    .map((s) => s.join('\n'))
    .join('\n\n')}\n`;
  return fitToSize(
    markdown,
    SUMMARY_BUDGET_BYTES,
    (kept) =>
      `_The summary is cut here (${kept} bytes kept) to stay under GitHub's 1 MiB limit: ${JSON_REPORT} holds the whole run._`,
  );
}

/** A refused manual run: who, the role they have, the roles allowed, or when the next run is allowed. */
function refusalSection(refusal: NonNullable<RunResult['refusal']>): string[] {
  const rows: Array<[string, string | undefined]> = [
    ['Who', `${refusal.actor} (${refusal.event})`],
    ['Their role', refusal.role ?? 'could not be read'],
    ['Allowed roles', refusal.allowedRoles.join(', ')],
    ['Reason given', refusal.reason ?? 'none'],
    ['Rate limit', refusal.rateLimit],
    ['Next run allowed from', refusal.nextAllowedAt],
    [
      'Audit log',
      refusal.recorded
        ? 'refusal recorded'
        : 'the refusal could NOT be recorded (the warning in the log says why): it stands all the same',
    ],
  ];
  return [
    '### ⛔ Manual run refused: nothing was run',
    '',
    '| | |',
    '|---|---|',
    ...rows
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `| ${k} | ${escapeCell(clip(v!, MAX_CELL))} |`),
  ];
}

function countsTable(result: RunResult): string[] {
  if (!COUNTED_COMMANDS.has(result.command)) return [];
  const count = (...statuses: MigrationOutcome['status'][]) =>
    result.migrations.filter((m) => statuses.includes(m.status)).length;
  return [
    '| Pending | Applied | Failed | Rolled back |',
    '|---|---|---|---|',
    `| ${result.pendingCount} | ${result.applied.length} | ${count('failed', 'partially-applied')} | ${count('rolled-back')} |`,
  ];
}

function factsTable(result: RunResult): string[] {
  const facts: Array<[string, string | undefined]> = [
    ['Database changed', result.changed ? 'yes' : 'no'],
    [
      'Database',
      result.database
        ? `${result.database.display}${result.database.serverVersion ? ` (PostgreSQL ${result.database.serverVersion})` : ''}`
        : undefined,
    ],
    ['Transaction mode', result.transactionMode],
    [
      'Backup',
      result.backup
        ? `${result.backup.path} (${formatBytes(result.backup.sizeBytes)}, sha256 \`${result.backup.sha256}\`, ${result.backup.pgDumpVersion}, ${(result.backup.durationMs / 1000).toFixed(2)} s)` +
          (result.backup.encrypted
            ? `; age-encrypted, the archive inside: ${formatBytes(result.backup.encrypted.clearSizeBytes)}, sha256 \`${result.backup.encrypted.clearSha256}\``
            : '')
        : undefined,
    ],
    ['Current version', result.currentVersion],
    ['Duration', `${(result.durationMs / 1000).toFixed(2)} s`],
    ['Lock', result.lock ? describeLock(result.lock) : undefined],
    [
      'Schema fingerprint',
      result.schemaFingerprint
        ? `before \`${result.schemaFingerprint.before}\`, after \`${result.schemaFingerprint.after}\``
        : undefined,
    ],
    ['Run id', result.runId !== undefined ? String(result.runId) : undefined],
  ];
  const rows = facts.flatMap(([k, v]) => (v === undefined ? [] : [`| ${k} | ${escapeCell(v)} |`]));
  // A link, not text: built from GitHub's own variables, and only an http(s) address is linked.
  if (result.runUrl && /^https?:\/\/[^\s()<>]+$/.test(result.runUrl))
    rows.push(`| Workflow run | [${escapeCell(result.runUrl)}](${result.runUrl}) |`);
  return ['| | |', '|---|---|', ...rows];
}

function errorSection(result: RunResult): string[] {
  const error = result.error;
  if (!error) return [];
  const where = error.file
    ? `${error.file}${error.line ? `:${error.line}` : ''}${error.column ? `:${error.column}` : ''}`
    : '';
  const text = [
    `${where ? `${where}: ` : ''}${clip(error.message, MAX_MESSAGE)}${error.sqlstate ? ` (SQLSTATE ${error.sqlstate})` : ''}`,
  ];
  if (error.detail) text.push(`DETAIL: ${clip(error.detail, MAX_MESSAGE)}`);
  if (error.hint) text.push(`HINT: ${clip(error.hint, MAX_MESSAGE)}`);
  // A line of the error that starts a fence would close the block early and let the rest render.
  return ['### Error', '', '```', ...text.map((l) => l.replace(/^```/gm, '` ``')), '```'];
}

function migrationSection(migrations: MigrationOutcome[]): string[] {
  if (migrations.length === 0) return [];
  return [
    '### Migrations',
    '',
    ...foldList(
      migrations,
      migrationRow,
      ['| Version | Name | Status | Duration | Statements | Notes |', '|---|---|---|---|---|---|'],
      {
        foldAbove: FOLD_ROWS_ABOVE,
        maxItems: MAX_ROWS,
        keep: (m) => m.error !== undefined || m.status === 'failed' || m.status === 'partially-applied',
        summary: `${migrations.length} migrations: ${countsBy(migrations, (m) => m.status)}`,
        gap: (_n, left) => `| … | ${countsBy(left, (m) => m.status)} |  |  |  |  |`,
        cutNote: (shown, total) => `Showing ${shown} of ${total} migrations: ${FULL_DATA}.`,
      },
    ),
  ];
}

function migrationRow(m: MigrationOutcome): string {
  const notes = [
    m.error ? `${errorPlace(m.error)}${m.error.message}` : '',
    m.atomic ? '' : `not atomic: ${m.nonAtomicReasons.join('; ')}`,
    ...(m.notes ?? []),
    m.objects ? describeObjects(m.objects) : '',
  ]
    .filter(Boolean)
    .join(' — ');
  return `| ${m.version} | ${escapeCell(m.name)} | ${m.status} | ${m.durationMs} ms | ${m.statements} | ${escapeCell(clip(notes, MAX_CELL))} |`;
}

/** What a file did on the shadow database: "created table public.t, …; dropped index public.i". */
function describeObjects(objects: NonNullable<MigrationOutcome['objects']>): string {
  const parts = (['created', 'altered', 'dropped'] as const)
    .filter((k) => objects[k].length > 0)
    .map((k) => `${k} ${objects[k].join(', ')}`);
  return parts.length ? parts.join('; ') : 'no schema change';
}

function shadowSection(shadow: RunResult['shadow']): string[] {
  if (!shadow) return [];
  const copy = [
    `${shadow.entries} schema entries`,
    `${shadow.historyRows} history row(s)`,
    shadow.owners ? 'owners kept' : 'owners not kept (--no-owner)',
    shadow.privileges ? 'grants kept' : 'grants not copied (--no-privileges)',
    ...(shadow.rolesCreated.length ? [`roles created (NOLOGIN): ${shadow.rolesCreated.join(', ')}`] : []),
  ];
  const lines = [
    '### Rehearsal on the shadow database',
    '',
    escapeMd(
      `The pending files ran for real, one transaction per file, on ${shadow.display}${shadow.serverVersion ? ` (PostgreSQL ${shadow.serverVersion})` : ''}, ` +
        `a copy of the target's schema (${copy.join(', ')}; copied in ${(shadow.copyMs / 1000).toFixed(2)} s). The target was not changed.`,
    ),
  ];
  for (const note of shadow.notes) lines.push('', `- ⚠️ ${escapeMd(clip(note, MAX_CELL))}`);
  if (shadow.notCopied.length)
    lines.push(
      '',
      'Not copied (pg_restore could not create them; a file that needs them fails on the shadow only):',
      '',
      ...foldList(
        shadow.notCopied,
        (n) => `- ${escapeMd(clip(n, MAX_CELL))}`,
        [],
        listOptions(shadow.notCopied.length, 'entries not copied'),
      ),
    );
  return lines;
}

/**
 * The linter's findings, grouped per file with their counts; with many findings each file folds
 * into `<details>`, and a long file's list is cut (errors kept) with a note.
 */
function lintSection(lint: RunResult['lint']): string[] {
  if (!lint || lint.findings.length === 0) return [];
  const groups = groupByFile(lint.findings);
  const fold = lint.findings.length > FOLD_ITEMS_ABOVE;
  const lines = [`### ${escapeMd(lintTitle(lint))}`];
  for (const group of groups) {
    const items = foldList(group.findings, (f) => findingLine(f, (t) => clip(t, MAX_CELL)), [], {
      ...listOptions(group.findings.length, 'findings'),
      foldAbove: Number.POSITIVE_INFINITY,
      keep: (f) => f.severity === 'error' && !f.ignored,
    });
    lines.push('');
    if (fold)
      lines.push(`<details><summary>${groupTitle(group, true)}</summary>`, '', ...items, '', '</details>');
    else lines.push(`**${groupTitle(group)}**`, '', ...items);
  }
  return lines;
}

function committedSection(versions: string[] | undefined): string[] {
  if (!versions?.length) return [];
  return [
    '### Left applied by this run (not undone)',
    '',
    ...foldList(versions, (v) => `- ${v}`, [], listOptions(versions.length, 'versions')),
  ];
}

function rollbackSection(rollback: NonNullable<RunResult['rollback']>): string[] {
  const title =
    rollback.kind === 'automatic'
      ? 'Automatic rollback'
      : rollback.kind === 'restore'
        ? 'Restore'
        : 'Rollback';
  const lines = [`### ${title}: ${rollback.succeeded ? 'succeeded' : 'NOT completed'}`];
  if (rollback.reverted.length) lines.push('', `Reverted (newest first): ${versionList(rollback.reverted)}`);
  if (rollback.backupPath) lines.push('', `Backup restored: ${escapeMd(rollback.backupPath)}`);
  if (rollback.error) {
    const where = errorPlace(rollback.error);
    lines.push('', `Error: ${escapeMd(`${where}${clip(rollback.error.message, MAX_MESSAGE)}`)}`);
  }
  if (rollback.stillApplied?.length) lines.push('', `Still applied: ${versionList(rollback.stillApplied)}`);
  if (rollback.nextStep) lines.push('', `**Next step:** ${escapeMd(clip(rollback.nextStep, MAX_MESSAGE))}`);
  return lines;
}

function nonTransactionalSection(items: RunResult['nonTransactional']): string[] {
  if (!items?.length) return [];
  return [
    '### Ran outside a transaction (not undone by a rollback)',
    '',
    ...foldList(
      items,
      (n) =>
        `- ${escapeMd(n.file)}:${n.line}: \`${escapeCell(clip(n.statement.split('\n')[0], 200))}\`${n.failed ? ` — FAILED${n.leftBehind ? `: ${escapeCell(n.leftBehind)}` : ''}` : ''}${n.down ? ` — down: ${escapeMd(n.down)}` : ' — no down migration'}`,
      [],
      { ...listOptions(items.length, 'statements'), keep: (n) => n.failed === true },
    ),
  ];
}

function partialSection(items: RunResult['partiallyApplied']): string[] {
  if (!items?.length) return [];
  return [
    '### Partly applied (no history row)',
    '',
    ...foldList(
      items,
      (p) => `- ${escapeMd(p.file)}: ${escapeMd(clip(p.nextStep, MAX_CELL))}`,
      [],
      listOptions(items.length, 'files'),
    ),
  ];
}

function rehearsalSection(result: RunResult): string[] {
  const lines: string[] = [];
  if (result.rehearsal?.reason && result.command === 'apply')
    lines.push(`Rehearsal: ${result.rehearsal.ran ? 'yes' : 'no'}: ${escapeMd(result.rehearsal.reason)}`);
  const notRehearsed = result.rehearsal?.notRehearsed ?? [];
  if (notRehearsed.length) {
    if (lines.length) lines.push('');
    lines.push(
      '### Not rehearsed',
      '',
      ...foldList(
        notRehearsed,
        (n) => `- ${escapeMd(clip(n, MAX_CELL))}`,
        [],
        listOptions(notRehearsed.length, 'statements'),
      ),
    );
  }
  return lines;
}

function lockSection(lock: RunResult['lock']): string[] {
  if (!lock?.retries.length) return [];
  return [
    '### Lock waits',
    '',
    ...foldList(
      lock.retries,
      (r) =>
        `- retry ${r.attempt} after ${r.delayMs} ms: ${escapeMd(clip(r.message, MAX_CELL))}${r.blocker ? ` — blocked by ${escapeMd(clip(r.blocker, MAX_CELL))}` : ''}`,
      [],
      listOptions(lock.retries.length, 'retries'),
    ),
  ];
}

function sessionEffectsSection(effects: RunResult['sessionEffects']): string[] {
  if (!effects?.length) return [];
  return [
    '### What the migrations did to this run',
    '',
    ...foldList(
      effects,
      (e) => `- ⚠️ ${escapeMd(clip(e.message, MAX_CELL))}`,
      [],
      listOptions(effects.length, 'effects'),
    ),
  ];
}

function abandonedSection(runs: RunResult['abandonedRuns']): string[] {
  if (!runs?.length) return [];
  return [
    '### Runs that ended without finishing',
    '',
    ...foldList(
      runs,
      (r) =>
        `- run #${r.id} (${escapeMd(r.command)}, started ${r.startedAt}${r.actor ? ` by ${escapeMd(r.actor)}` : ''}): ${r.applied.length ? `the history shows it applied ${versionList(r.applied)}` : 'it applied nothing'}; ${r.closed ? 'closed as abandoned by this run' : 'still recorded as running (the next apply closes it)'}`,
      [],
      listOptions(runs.length, 'runs'),
    ),
  ];
}

function statusSection(statusRows: StatusRow[]): string[] {
  if (statusRows.length === 0) return [];
  return [
    '### Migrations',
    '',
    ...foldList(
      statusRows,
      (r) =>
        `| ${r.version} | ${escapeCell(r.name)} | ${r.partial ? escapeCell(clip(`${r.state}: ${r.partial.description}`, MAX_CELL)) : r.state} | ${r.appliedAt ?? ''} | ${escapeCell(r.appliedBy ?? '')} | ${r.checksum ?? ''} |`,
      ['| Version | Name | State | Applied at | Applied by | Checksum |', '|---|---|---|---|---|---|'],
      {
        foldAbove: FOLD_ROWS_ABOVE,
        maxItems: MAX_ROWS,
        keep: (r) => r.state !== 'applied' || (r.checksum !== undefined && r.checksum !== 'ok'),
        summary: `${statusRows.length} migrations: ${countsBy(statusRows, (r) => r.state)}`,
        gap: (_n, left) => `| … | ${countsBy(left, (r) => r.state)} |  |  |  |  |`,
        cutNote: (shown, total) => `Showing ${shown} of ${total} migrations: ${FULL_DATA}.`,
      },
    ),
  ];
}

function findingsSection(title: string, findings: Finding[]): string[] {
  if (findings.length === 0) return [];
  return [
    title,
    '',
    ...foldList(
      findings,
      (f) => `- ${f.severity === 'error' ? '❌' : '⚠️'} ${escapeMd(clip(f.message, MAX_CELL))}`,
      [],
      {
        ...listOptions(findings.length, 'findings'),
        summary: `${findings.length} findings: ${countsBy(findings, (f) => (f.severity === 'error' ? 'errors' : 'warnings'))}`,
        keep: (f) => f.severity === 'error',
      },
    ),
  ];
}

/** Fold and cut options for a plain list of `total` things called `what`. */
function listOptions<T>(total: number, what: string): FoldOptions<T> {
  return {
    foldAbove: FOLD_ITEMS_ABOVE,
    maxItems: MAX_ITEMS,
    summary: `${total} ${what}`,
    gap: (n) => `- … ${n} more`,
    cutNote: (shown, all) => `Showing ${shown} of ${all} ${what}: ${FULL_DATA}.`,
  };
}

/** A list of versions on one line, cut after the first 50 with how many more there are. */
function versionList(versions: string[]): string {
  const max = 50;
  return versions.length <= max
    ? versions.join(', ')
    : `${versions.slice(0, max).join(', ')} and ${versions.length - max} more`;
}

function errorPlace(error: { file?: string; line?: number }): string {
  if (error.file) return `${error.file}${error.line ? `:${error.line}` : ''}: `;
  return error.line ? `line ${error.line}: ` : '';
}

function formatBytes(size: number): string {
  if (size < 1024) return `${size} B`;
  if (size < 1024 ** 2) return `${(size / 1024).toFixed(1)} KiB`;
  if (size < 1024 ** 3) return `${(size / 1024 ** 2).toFixed(1)} MiB`;
  return `${(size / 1024 ** 3).toFixed(2)} GiB`;
}

function describeLock(lock: NonNullable<RunResult['lock']>): string {
  const parts = [
    lock.waitedMs > 0
      ? `waited ${(lock.waitedMs / 1000).toFixed(1)} s for ${lock.waitedFor ?? 'another run'}`
      : 'acquired at once',
  ];
  if (lock.retries.length > 0)
    parts.push(`${lock.retries.length} lock-timeout retr${lock.retries.length === 1 ? 'y' : 'ies'}`);
  return parts.join('; ');
}
