/**
 * A large data migration as real projects have them (a seed or backfill of hundreds of thousands
 * of INSERTs), with what makes splitting hard on every row: `;` inside quoted strings, E'…'
 * strings with backslash escapes, dollar quotes, -- and /* *\/ comments, non-ASCII text.
 * Deterministic: the same size gives the same file.
 */
import { closeSync, openSync, writeSync } from 'node:fs';

export const TABLE = 'public.bench_data';

export const CREATE_TABLE = `CREATE TABLE ${TABLE} (
  id bigint PRIMARY KEY,
  name text NOT NULL,
  note text,
  amount numeric(12, 2),
  tags text,
  payload text
);
`;

/** One row's INSERT statement (with its newline). */
export function insertRow(id) {
  const note = id % 7 === 0 ? `café ☕ n°${id}; it''s fine` : `it''s; row ${id} -- not a comment`;
  const tags = `E'tab\\there; \\'quoted\\' ${id % 100}'`;
  const payload = id % 3 === 0 ? `$p$ {"id": ${id}; "x": "$ not a tag"} $p$` : `'/* not a comment ${id} */'`;
  const comment =
    id % 1000 === 0 ? `-- batch ${id / 1000}; rows so far: ${id}\n/* block; comment /* nested; */ */\n` : '';
  return `${comment}INSERT INTO ${TABLE} (id, name, note, amount, tags, payload) VALUES (${id}, 'name ${id}', '${note}', ${(id % 10000) / 100}, ${tags}, ${payload});\n`;
}

/** Writes a migration of about `bytes` bytes to `path`; returns the number of rows it inserts. */
export function writeLargeDataFile(path, bytes) {
  const fd = openSync(path, 'w');
  try {
    let written = writeSync(
      fd,
      `-- generated data migration (~${Math.round(bytes / 1e6)} MB)\n${CREATE_TABLE}`,
    );
    let id = 0;
    const buffer = [];
    let pending = 0;
    while (written + pending < bytes) {
      const row = insertRow(++id);
      buffer.push(row);
      pending += Buffer.byteLength(row);
      if (buffer.length === 10_000) {
        written += writeSync(fd, buffer.join(''));
        buffer.length = 0;
        pending = 0;
      }
    }
    if (buffer.length > 0) writeSync(fd, buffer.join(''));
    return id;
  } finally {
    closeSync(fd);
  }
}

/** SQL returning one row { rows, ids, sample } to check a run inserted exactly the generated data. */
export const VERIFY_SQL = `SELECT count(*)::int AS rows, coalesce(sum(id), 0)::text AS ids,
  (SELECT note || '|' || tags || '|' || payload FROM ${TABLE} WHERE id = 21) AS sample FROM ${TABLE}`;

/** What VERIFY_SQL must return for `rows` generated rows. */
export function expectedVerify(rows) {
  return {
    rows,
    ids: String((BigInt(rows) * BigInt(rows + 1)) / 2n),
    sample:
      rows >= 21 ? `café ☕ n°21; it's fine|tab\there; 'quoted' 21| {"id": 21; "x": "$ not a tag"} ` : null,
  };
}
