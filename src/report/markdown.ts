/**
 * Markdown building blocks shared by the renderers: escaping, clipping, folding long lists into
 * `<details>`, and keeping a document under a size limit. Pure functions over strings.
 */

/** Escapes the characters that would let report text inject HTML into GitHub's Markdown. */
export function escapeMd(text: string): string {
  return text.replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** One table cell: escaped, its pipes escaped and its line breaks kept as <br>, so a row keeps its cells. */
export function escapeCell(text: string): string {
  return escapeMd(text).replace(/\|/g, '\\|').replace(/\r?\n/g, '<br>');
}

/** `text` cut to `max` characters with an ellipsis (before escaping, so no entity is cut in two). */
export function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export function bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

export interface FoldOptions<T> {
  /** Shown openly up to this many items; more fold into `<details>`. */
  foldAbove: number;
  /** At most this many items are listed; rows that `keep` selects are listed first in any case. */
  maxItems: number;
  /** Items that must stay listed when the list is cut (a failed migration). */
  keep?: (item: T) => boolean;
  /** The `<summary>` line of the folded list. */
  summary: string;
  /** Stands for `count` items left out between two listed ones (a table row or a list line). */
  gap: (count: number, left: T[]) => string;
  /** Said under a cut list: how many were left out and where the whole list is. */
  cutNote: (shown: number, total: number) => string;
}

/**
 * Lines for a long list (table rows after `header`, or list lines): open when short, folded into
 * `<details>` when long, and cut to `maxItems` (in their order, the kept ones first in priority,
 * a gap line where items were left out) with a note saying what is missing and where it is.
 */
export function foldList<T>(
  items: T[],
  render: (item: T) => string,
  header: string[],
  options: FoldOptions<T>,
): string[] {
  const chosen = chooseItems(items, options.maxItems, options.keep);
  const body: string[] = [];
  let previous = -1;
  for (const index of chosen) {
    if (index > previous + 1) body.push(options.gap(index - previous - 1, items.slice(previous + 1, index)));
    body.push(render(items[index]));
    previous = index;
  }
  if (previous < items.length - 1)
    body.push(options.gap(items.length - previous - 1, items.slice(previous + 1)));
  const lines = [...header, ...body];
  if (chosen.length < items.length) lines.push('', options.cutNote(chosen.length, items.length));
  if (items.length <= options.foldAbove) return lines;
  // A blank line after <summary> and before </details>: GitHub renders the Markdown inside then.
  return [`<details><summary>${options.summary}</summary>`, '', ...lines, '', '</details>'];
}

/**
 * The indexes of the items to list, in order: every kept one (up to `max`), then their neighbours
 * (what ran just before a failure), then the first others.
 */
function chooseItems<T>(items: T[], max: number, keep?: (item: T) => boolean): number[] {
  if (items.length <= max) return items.map((_, i) => i);
  const kept = keep ? items.flatMap((item, i) => (keep(item) ? [i] : [])) : [];
  const chosen = new Set<number>();
  const add = (i: number) => {
    if (i >= 0 && i < items.length && chosen.size < max) chosen.add(i);
  };
  for (const i of kept) add(i);
  for (let d = 1; d <= CONTEXT; d++) for (const i of kept) [i - d, i + d].forEach(add);
  for (let i = 0; i < items.length; i++) add(i);
  return [...chosen].sort((a, b) => a - b);
}

/** Items listed on each side of a kept one when a list is cut. */
const CONTEXT = 3;

/** "3 applied, 1 failed": how many items fall in each group, in the order groups first appear. */
export function countsBy<T>(items: T[], group: (item: T) => string): string {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(group(item), (counts.get(group(item)) ?? 0) + 1);
  return [...counts].map(([name, n]) => `${n} ${name}`).join(', ');
}

/**
 * `markdown` cut at a line boundary so that it and `note` fit in `limit` bytes, with any open code
 * fence and `<details>` closed, so what is left still renders. Unchanged when it fits.
 */
export function fitToSize(markdown: string, limit: number, note: (keptBytes: number) => string): string {
  if (bytes(markdown) <= limit) return markdown;
  // Room for the note and the closing tags; the note itself is short.
  const room = limit - bytes(note(limit)) - 64;
  let cut = Buffer.from(markdown, 'utf8').subarray(0, Math.max(0, room)).toString('utf8');
  if (cut.endsWith('\uFFFD')) cut = cut.slice(0, -1); // a character split by the byte cut
  const lastLine = cut.lastIndexOf('\n');
  cut = lastLine >= 0 ? cut.slice(0, lastLine + 1) : '';
  const closing: string[] = [];
  if ((cut.match(/^```/gm) ?? []).length % 2 === 1) closing.push('```');
  const open = (cut.match(/<details>/g) ?? []).length - (cut.match(/<\/details>/g) ?? []).length;
  for (let i = 0; i < open; i++) closing.push('', '</details>');
  return `${cut}${closing.length ? `${closing.join('\n')}\n` : ''}\n${note(bytes(cut))}\n`;
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
