/**
 * Ignore comments. `-- migration-guard:ignore <rule-id> <reason>` silences that rule on the next
 * statement; `-- migration-guard:ignore-file <rule-id> <reason>` on the whole file. The reason is
 * required (it is what the report shows instead of the finding); an ignore that silences nothing
 * is reported, so stale ignores do not pile up.
 */

import type { SourceText } from '../migrations/source-text.js';

export interface IgnoreComment {
  rule: string;
  reason: string;
  scope: 'next' | 'file';
  line: number;
  column: number;
  /** Byte offset of the comment: a `next` ignore applies to the first statement starting after it. */
  byte: number;
  used: boolean;
}

const IGNORE = /--[ \t]*migration-guard:(ignore-file|ignore)\b[ \t]*([^\s]*)[ \t]*([^\n]*)/g;

/** Every ignore comment in bytes start..end of the file (comments only: no statement holds `--migration-guard:` otherwise). */
export function findIgnores(source: SourceText, start: number, end: number): IgnoreComment[] {
  // Most files hold none: looked for in the bytes, without decoding the file into a string.
  const first = source.bytes.indexOf('migration-guard:', start);
  if (first === -1 || first >= end) return [];
  const text = source.slice(start, end);
  const found: IgnoreComment[] = [];
  for (const m of text.matchAll(IGNORE)) {
    const byte = start + Buffer.byteLength(text.slice(0, m.index), 'utf8');
    found.push({
      rule: m[2],
      reason: m[3].trim(),
      scope: m[1] === 'ignore-file' ? 'file' : 'next',
      ...source.position(byte),
      byte,
      used: false,
    });
  }
  return found;
}
