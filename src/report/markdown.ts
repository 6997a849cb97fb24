/** Small Markdown helpers shared by the renderers that post to GitHub (pure). */

/** Text shown as Markdown: angle brackets escaped so a message cannot inject HTML (or end a comment marker). */
export function escapeMd(text: string): string {
  return text.replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Text in a table cell: also its pipes (they would split the cell) and line breaks. */
export function escapeCell(text: string): string {
  return escapeMd(text).replace(/\|/g, '\\|').replace(/\r?\n/g, '<br>');
}

/** Text inside a fenced code block: a run of backticks could close the fence early. */
export function escapeFenced(text: string): string {
  return text.replace(/```/g, '`\u200b``');
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}

export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

/** `file:line:column: ` (as much of it as is known), or '' when the error has no place. */
export function errorPlace(error: { file?: string; line?: number; column?: number }): string {
  if (!error.file) return error.line ? `line ${error.line}: ` : '';
  return `${error.file}${error.line ? `:${error.line}` : ''}${error.line && error.column ? `:${error.column}` : ''}: `;
}
