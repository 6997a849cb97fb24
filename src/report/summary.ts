import type { MigrationOutcome, RunResult, StatusRow } from '../engine/result.js';

const STATUS_LABEL: Record<RunResult['status'], string> = {
  success: '✅ success',
  'nothing-to-do': '✅ nothing to do',
  failed: '❌ failed',
  'rolled-back': '↩️ failed and rolled back',
  cancelled: '⏹️ cancelled',
};

/** The job summary: pure Markdown from a run result (golden-tested). */
export function renderSummary(result: RunResult): string {
  const lines: string[] = [];
  lines.push(
    `## Migration guard: \`${result.command}\` on \`${result.environment}\` — ${STATUS_LABEL[result.status]}`,
    '',
  );
  lines.push(escapeMd(result.message), '');
  const facts: Array<[string, string | undefined]> = [
    [
      'Database',
      result.database
        ? `${result.database.display}${result.database.serverVersion ? ` (PostgreSQL ${result.database.serverVersion})` : ''}`
        : undefined,
    ],
    ['Transaction mode', result.transactionMode],
    ['Applied', String(result.applied.length)],
    ['Pending', String(result.pendingCount)],
    ['Failed', countOf(result, 'failed', 'partially-applied')],
    ['Rolled back', countOf(result, 'rolled-back')],
    [
      'Backup',
      result.backup
        ? `${result.backup.path} (${formatBytes(result.backup.sizeBytes)}, sha256 \`${result.backup.sha256}\`, ${result.backup.pgDumpVersion}, ${(result.backup.durationMs / 1000).toFixed(2)} s)`
        : undefined,
    ],
    ['Current version', result.currentVersion],
    ['Duration', `${(result.durationMs / 1000).toFixed(2)} s`],
    ['Lock', result.lock ? describeLock(result) : undefined],
    [
      'Schema fingerprint',
      result.schemaFingerprint
        ? `before \`${result.schemaFingerprint.before}\`, after \`${result.schemaFingerprint.after}\``
        : undefined,
    ],
    ['Run id', result.runId !== undefined ? String(result.runId) : undefined],
  ];
  lines.push('| | |', '|---|---|');
  for (const [k, v] of facts) if (v !== undefined) lines.push(`| ${k} | ${escapeCell(v)} |`);
  lines.push('');
  if (result.error) {
    const where = result.error.file
      ? `${result.error.file}${result.error.line ? `:${result.error.line}` : ''}${result.error.column ? `:${result.error.column}` : ''}`
      : '';
    lines.push(
      '### Error',
      '',
      '```',
      `${where ? `${where}: ` : ''}${result.error.message}${result.error.sqlstate ? ` (SQLSTATE ${result.error.sqlstate})` : ''}`,
    );
    if (result.error.detail) lines.push(`DETAIL: ${result.error.detail}`);
    if (result.error.hint) lines.push(`HINT: ${result.error.hint}`);
    lines.push('```', '');
  }
  if (result.migrations.length > 0) lines.push(...migrationTable(result.migrations), '');
  if (result.committedBeforeFailure?.length) {
    lines.push(
      '### Left applied by the failed run',
      '',
      ...result.committedBeforeFailure.map((v) => `- ${v}`),
      '',
    );
  }
  if (result.rollback) lines.push(...rollbackSection(result.rollback), '');
  if (result.nonTransactional?.length) {
    lines.push('### Ran outside a transaction (not undone by a rollback)', '');
    for (const n of result.nonTransactional) {
      lines.push(
        `- ${n.file}:${n.line}: \`${escapeCell(n.statement.split('\n')[0])}\`${n.failed ? ` — FAILED${n.leftBehind ? `: ${escapeCell(n.leftBehind)}` : ''}` : ''}${n.down ? ` — down: ${n.down}` : ' — no down migration'}`,
      );
    }
    lines.push('');
  }
  if (result.partiallyApplied?.length) {
    lines.push('### Partly applied (no history row)', '');
    for (const p of result.partiallyApplied) lines.push(`- ${escapeMd(p.file)}: ${escapeMd(p.nextStep)}`);
    lines.push('');
  }
  if (result.rehearsal?.reason && result.command === 'apply')
    lines.push(`Rehearsal: ${result.rehearsal.ran ? 'yes' : 'no'}: ${escapeMd(result.rehearsal.reason)}`, '');
  if (result.rehearsal?.notRehearsed.length) {
    lines.push('### Not rehearsed', '', ...result.rehearsal.notRehearsed.map((n) => `- ${escapeMd(n)}`), '');
  }
  if (result.lock?.retries.length) {
    lines.push('### Lock waits', '');
    for (const r of result.lock.retries) {
      lines.push(
        `- retry ${r.attempt} after ${r.delayMs} ms: ${escapeMd(r.message)}${r.blocker ? ` — blocked by ${escapeMd(r.blocker)}` : ''}`,
      );
    }
    lines.push('');
  }
  if (result.sessionEffects?.length) {
    lines.push('### What the migrations did to this run', '');
    for (const e of result.sessionEffects) lines.push(`- ⚠️ ${escapeMd(e.message)}`);
    lines.push('');
  }
  if (result.abandonedRuns?.length) {
    lines.push('### Runs that ended without finishing', '');
    for (const r of result.abandonedRuns)
      lines.push(
        `- run #${r.id} (${escapeMd(r.command)}, started ${r.startedAt}${r.actor ? ` by ${escapeMd(r.actor)}` : ''}): ${r.applied.length ? `the history shows it applied ${r.applied.join(', ')}` : 'it applied nothing'}; ${r.closed ? 'closed as abandoned by this run' : 'still recorded as running (the next apply closes it)'}`,
      );
    lines.push('');
  }
  if (result.status_rows) lines.push(...statusTable(result.status_rows), '');
  if (result.audit) lines.push(result.audit.markdown, '');
  if (result.findings.length > 0) {
    lines.push('### Findings', '');
    for (const f of result.findings)
      lines.push(`- ${f.severity === 'error' ? '❌' : '⚠️'} ${escapeMd(f.message)}`);
    lines.push('');
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

function errorPlace(error: { file?: string; line?: number }): string {
  if (error.file) return `${error.file}${error.line ? `:${error.line}` : ''}: `;
  return error.line ? `line ${error.line}: ` : '';
}

function countOf(result: RunResult, ...statuses: string[]): string | undefined {
  if (result.migrations.length === 0) return undefined;
  return String(result.migrations.filter((m) => statuses.includes(m.status)).length);
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}

function rollbackSection(rollback: NonNullable<RunResult['rollback']>): string[] {
  const title =
    rollback.kind === 'automatic'
      ? 'Automatic rollback'
      : rollback.kind === 'restore'
        ? 'Restore'
        : 'Rollback';
  const lines = [`### ${title}: ${rollback.succeeded ? 'succeeded' : 'NOT completed'}`, ''];
  if (rollback.reverted.length) lines.push(`Reverted (newest first): ${rollback.reverted.join(', ')}`, '');
  if (rollback.backupPath) lines.push(`Backup restored: ${rollback.backupPath}`, '');
  if (rollback.error) lines.push(`Error: ${escapeMd(rollback.error.message)}`, '');
  if (rollback.stillApplied?.length) lines.push(`Still applied: ${rollback.stillApplied.join(', ')}`, '');
  if (rollback.nextStep) lines.push(`**Next step:** ${escapeMd(rollback.nextStep)}`);
  return lines;
}

function describeLock(result: RunResult): string {
  const lock = result.lock!;
  const parts = [
    lock.waitedMs > 0
      ? `waited ${(lock.waitedMs / 1000).toFixed(1)} s for ${lock.waitedFor ?? 'another run'}`
      : 'acquired at once',
  ];
  if (lock.retries.length > 0)
    parts.push(`${lock.retries.length} lock-timeout retr${lock.retries.length === 1 ? 'y' : 'ies'}`);
  return parts.join('; ');
}

function migrationTable(migrations: MigrationOutcome[]): string[] {
  const rows = ['| Version | Name | Status | Duration | Statements | Notes |', '|---|---|---|---|---|---|'];
  for (const m of migrations) {
    const notes = [
      m.error ? `${errorPlace(m.error)}${m.error.message}` : '',
      m.atomic ? '' : `not atomic: ${m.nonAtomicReasons.join('; ')}`,
      ...(m.notes ?? []),
    ]
      .filter(Boolean)
      .join(' — ');
    rows.push(
      `| ${m.version} | ${escapeCell(m.name)} | ${m.status} | ${m.durationMs} ms | ${m.statements} | ${escapeCell(notes)} |`,
    );
  }
  return rows;
}

function statusTable(statusRows: StatusRow[]): string[] {
  const rows = [
    '| Version | Name | State | Applied at | Applied by | Checksum |',
    '|---|---|---|---|---|---|',
  ];
  for (const r of statusRows) {
    rows.push(
      `| ${r.version} | ${escapeCell(r.name)} | ${r.partial ? escapeCell(`${r.state}: ${r.partial.description}`) : r.state} | ${r.appliedAt ?? ''} | ${escapeCell(r.appliedBy ?? '')} | ${r.checksum ?? ''} |`,
    );
  }
  return rows;
}

function escapeCell(text: string): string {
  return escapeMd(text).replace(/\|/g, '\\|').replace(/\r?\n/g, '<br>');
}

function escapeMd(text: string): string {
  return text.replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
