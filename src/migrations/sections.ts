/**
 * dbmate keeps both directions in one file: `-- migrate:up` … `-- migrate:down` …
 * Returns byte-free character ranges of each section in the file text, or undefined when the file
 * has no markers (then the whole file is the up migration).
 */
export interface Sections {
  up: { start: number; end: number };
  down?: { start: number; end: number };
}

const MARKER = /^--\s*migrate:(up|down)\b[^\n]*$/gm;

export function findSections(text: string): Sections | undefined | { error: string; line: number } {
  const markers = [...text.matchAll(MARKER)].map((m) => ({
    kind: m[1] as 'up' | 'down',
    start: m.index,
    end: m.index + m[0].length,
  }));
  if (markers.length === 0) return undefined;
  const ups = markers.filter((m) => m.kind === 'up');
  const downs = markers.filter((m) => m.kind === 'down');
  const lineOf = (offset: number) => text.slice(0, offset).split('\n').length;
  if (ups.length !== 1 || downs.length > 1) {
    const extra = ups.length !== 1 ? (ups[1] ?? markers[0]) : downs[1];
    return {
      error: 'expected exactly one "-- migrate:up" and at most one "-- migrate:down" marker',
      line: lineOf(extra.start),
    };
  }
  const up = ups[0];
  const down = downs[0];
  if (down && down.start < up.start) {
    return { error: '"-- migrate:down" must come after "-- migrate:up"', line: lineOf(down.start) };
  }
  if (text.slice(0, up.start).trim() !== '') {
    return { error: 'SQL before "-- migrate:up" would belong to neither direction', line: 1 };
  }
  return {
    up: { start: up.end, end: down ? down.start : text.length },
    down: down ? { start: down.end, end: text.length } : undefined,
  };
}
