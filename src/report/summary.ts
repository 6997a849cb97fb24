import type { MigrationOutcome, RunResult, StatusRow } from '../engine/result.js';

const STATUS_LABEL: Record<RunResult['status'], string> = {
  success: '✅ success',
  'nothing-to-do': '✅ nothing to do',
  failed: '❌ failed',
  'rolled-back': '↩️ failed and rolled back',
};

/** The job summary: pure Markdown from a run result (golden-tested). */
export function renderSummary(result: RunResult): string {
  const lines: string[] = [];
  lines.push(`## Migration guard: \`${result.command}\` on \`${result.environment}\` — ${STATUS_LABEL[result.status]}`, '');
  lines.push(escapeMd(result.message), '');
  const facts: Array<[string, string | undefined]> = [
    ['Database', result.database ? `${result.database.display}${result.database.serverVersion ? ` (PostgreSQL ${result.database.serverVersion})` : ''}` : undefined],
    ['Transaction mode', result.transactionMode],
    ['Applied', String(result.applied.length)],
    ['Pending', String(result.pendingCount)],
    ['Current version', result.currentVersion],
    ['Duration', `${(result.durationMs / 1000).toFixed(2)} s`],
    ['Lock', result.lock ? describeLock(result) : undefined],
    ['Schema fingerprint', result.schemaFingerprint ? `before \`${result.schemaFingerprint.before}\`, after \`${result.schemaFingerprint.after}\`` : undefined],
    ['Run id', result.runId !== undefined ? String(result.runId) : undefined],
  ];
  lines.push('| | |', '|---|---|');
  for (const [k, v] of facts) if (v !== undefined) lines.push(`| ${k} | ${escapeCell(v)} |`);
  lines.push('');
  if (result.error) {
    const where = result.error.file ? `${result.error.file}${result.error.line ? `:${result.error.line}` : ''}${result.error.column ? `:${result.error.column}` : ''}` : '';
    lines.push('### Error', '', '```', `${where ? `${where}: ` : ''}${result.error.message}${result.error.sqlstate ? ` (SQLSTATE ${result.error.sqlstate})` : ''}`);
    if (result.error.detail) lines.push(`DETAIL: ${result.error.detail}`);
    if (result.error.hint) lines.push(`HINT: ${result.error.hint}`);
    lines.push('```', '');
  }
  if (result.migrations.length > 0) lines.push(...migrationTable(result.migrations), '');
  if (result.status_rows) lines.push(...statusTable(result.status_rows), '');
  if (result.findings.length > 0) {
    lines.push('### Findings', '');
    for (const f of result.findings) lines.push(`- ${f.severity === 'error' ? '❌' : '⚠️'} ${escapeMd(f.message)}`);
    lines.push('');
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

function describeLock(result: RunResult): string {
  const lock = result.lock!;
  const parts = [lock.waitedMs > 0 ? `waited ${(lock.waitedMs / 1000).toFixed(1)} s for ${lock.waitedFor ?? 'another run'}` : 'acquired at once'];
  if (lock.retries.length > 0) parts.push(`${lock.retries.length} lock-timeout retr${lock.retries.length === 1 ? 'y' : 'ies'}`);
  return parts.join('; ');
}

function migrationTable(migrations: MigrationOutcome[]): string[] {
  const rows = ['| Version | Name | Status | Duration | Statements | Notes |', '|---|---|---|---|---|---|'];
  for (const m of migrations) {
    const notes = [
      m.error ? `${m.error.line ? `line ${m.error.line}: ` : ''}${m.error.message}` : '',
      m.atomic ? '' : `not atomic: ${m.nonAtomicReasons.join('; ')}`,
    ].filter(Boolean).join(' — ');
    rows.push(`| ${m.version} | ${escapeCell(m.name)} | ${m.status} | ${m.durationMs} ms | ${m.statements} | ${escapeCell(notes)} |`);
  }
  return rows;
}

function statusTable(statusRows: StatusRow[]): string[] {
  const rows = ['| Version | Name | State | Applied at | Applied by | Checksum |', '|---|---|---|---|---|---|'];
  for (const r of statusRows) {
    rows.push(`| ${r.version} | ${escapeCell(r.name)} | ${r.state} | ${r.appliedAt ?? ''} | ${escapeCell(r.appliedBy ?? '')} | ${r.checksum ?? ''} |`);
  }
  return rows;
}

function escapeCell(text: string): string {
  return escapeMd(text).replace(/\|/g, '\\|').replace(/\r?\n/g, '<br>');
}

function escapeMd(text: string): string {
  return text.replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
