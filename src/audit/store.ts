import type { Client } from '../db/connect.js';
import { CREATE_AUDIT_LOG_SQL } from './schema.js';
import { chainEvents, GENESIS_HASH, type AuditEvent, type ChainedEvent } from './chain.js';

/**
 * Serialises writers of the chain (a different number from the migration lock, "mgaudt"): each
 * batch reads the newest hash and appends after it while holding this transaction-level lock, so
 * two runs writing at once still make one chain.
 */
export const AUDIT_CHAIN_LOCK = 0x6d6761756474;

const COLUMNS = [
  'at',
  'run_key',
  'run_id',
  'event',
  'environment',
  'command',
  'outcome',
  'version',
  'duration_ms',
  'actor',
  'triggering_actor',
  'event_name',
  'repository',
  'ref',
  'sha',
  'pr_number',
  'run_url',
  'os_user',
  'host',
  'reason',
  'error',
  'details',
  'prev_hash',
  'hash',
] as const;

/** The hash of the newest row: the one the next row is chained after. */
const NEWEST_HASH = 'SELECT hash FROM migration_guard.audit_log ORDER BY id DESC LIMIT 1';

/**
 * Rows go in as JSON (in chain order), not as a VALUES list of 24 parameters a row: the server
 * parses a short statement instead of one with thousands of placeholders (~27 ms for a 500-file
 * run), and no run is too long for the protocol's 65,535-parameter limit. The values every row
 * shares (who ran the run, where: most of a row) go once, as the base record; each row carries only
 * its own (`rowsPayload`), which halves what the server parses for a 500-file run (12 → 7 ms).
 * Each element becomes a row of the table's own type, so every value is converted exactly as an
 * INSERT would convert it; ORDINALITY keeps the chain order, which the ids (and so the
 * verification) follow. With `after`, the rows go in only if the newest row is still the one with
 * that hash (the chain lock is held by then: `appendAuditEvents`).
 */
function insertRows(chained: ChainedEvent[], after?: string): string {
  const { base, rows } = rowsPayload(chained);
  return `INSERT INTO migration_guard.audit_log (${COLUMNS.join(', ')})
  SELECT ${COLUMNS.map((c) => `r.${c}`).join(', ')}
    FROM json_populate_record(NULL::migration_guard.audit_log, ${dollarQuoted(base)}::json) AS base,
         json_array_elements(${dollarQuoted(rows)}::json) WITH ORDINALITY AS e(row, n),
         json_populate_record(base, e.row) AS r
   ${after === undefined ? '' : `WHERE (${NEWEST_HASH}) = '${hexHash(after)}'`}
   ORDER BY e.n`;
}

/**
 * The rows as two JSON texts: the columns whose value is the same plain value (text, number or
 * null) in every row, as one object; and each row's other columns, in order.
 */
function rowsPayload(chained: ChainedEvent[]): { base: string; rows: string } {
  const first = chained[0];
  const shared = COLUMNS.filter((column) => {
    const field = FIELD_OF[column];
    const value = first?.[field];
    return (value === null || typeof value !== 'object') && chained.every((e) => e[field] === value);
  });
  const own = COLUMNS.filter((column) => !shared.includes(column)).map((column) => ({
    field: FIELD_OF[column],
    key: `"${column}":`, // column names are plain identifiers
  }));
  // Written directly, not as an object per row first: hundreds of rows when a run ends.
  let rows = '[';
  for (let i = 0; i < chained.length; i++) {
    let row = '';
    for (const { field, key } of own) {
      const value = chained[i][field];
      if (value === undefined) continue; // as JSON.stringify leaves it out: NULL
      row += `${row ? ',' : ''}${key}${JSON.stringify(value)}`;
    }
    rows += `${i > 0 ? ',' : ''}{${row}}`;
  }
  return {
    base: JSON.stringify(Object.fromEntries(shared.map((column) => [column, first[FIELD_OF[column]]]))),
    rows: `${rows}]`,
  };
}

/** A hash as it may stand in SQL text: 64 hex digits, nothing else. */
function hexHash(hash: string): string {
  if (!/^[0-9a-f]{64}$/.test(hash)) throw new Error(`not an audit row hash: ${JSON.stringify(hash)}`);
  return hash;
}

/**
 * The rows' JSON as a literal, so that the insert and the COMMIT go in one message (a parameter
 * would need the extended protocol: a round trip of its own). Dollar quoting takes the text as it
 * is, whatever standard_conforming_strings says; the tag is one the text does not contain.
 */
export function dollarQuoted(text: string): string {
  let tag = 'mg_rows';
  for (let n = 1; text.includes(`$${tag}$`); n++) tag = `mg_rows_${n}`;
  return `$${tag}$${text}$${tag}$`;
}

/**
 * Appends events, in order, to the chain, in one transaction of two round trips whatever their
 * number (a run waits for this when it ends: every round trip counts on a busy runner):
 * BEGIN with the chain lock and the newest hash; the rows and COMMIT.
 * With `create`, the first message also creates the log (IF NOT EXISTS), so a first run pays no
 * separate transaction for it.
 * With `after` (the hash of the row the caller wrote last), the rows are chained after that row
 * and sent at once, one round trip: they go in only if it is still the newest row once the lock
 * is held; if another writer came in between, nothing went in, and they are appended as above.
 */
export async function appendAuditEvents(
  client: Client,
  events: AuditEvent[],
  options: { create?: boolean; after?: string } = {},
): Promise<ChainedEvent[]> {
  if (events.length === 0) return [];
  if (options.after !== undefined && !options.create) {
    const chained = chainEvents(options.after, events.map(wellFormed));
    if (await appendAfter(client, chained, options.after)) return chained;
  }
  return appendDecidedEvents(client, async () => events, options);
}

/** One message: the chain lock, the rows if `after` is still the newest hash, COMMIT. Whether they went in. */
function appendAfter(client: Client, chained: ChainedEvent[], after: string): Promise<boolean> {
  return rolledBackOnError(client, async () => {
    const replies = (await client.query(
      [
        'BEGIN',
        `SELECT pg_advisory_xact_lock(${AUDIT_CHAIN_LOCK})`,
        insertRows(chained, after),
        'COMMIT',
      ].join(';\n'),
    )) as unknown as Array<{ rowCount: number | null }>;
    return replies[2].rowCount === chained.length;
  });
}

/**
 * Runs `fn`, whose messages open a transaction (BEGIN is in the same message as the statements
 * that follow it, so withTransaction's round trip of its own is saved); on an error, rolls it back
 * and rethrows.
 */
async function rolledBackOnError<T>(client: Client, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    // The connection may be gone; the server then rolls back by itself.
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
}

/**
 * Like appendAuditEvents, with the events decided by `decide` while the chain lock is held: a
 * check of the log and the row that records its result commit together, so two writers cannot
 * both pass a check the first one's row would have failed (the manual-run rate limit, where two
 * runs dispatched at once must not both pass). `decide` may read the log; none to write: nothing is.
 */
export function appendDecidedEvents(
  client: Client,
  decide: (client: Client) => Promise<AuditEvent[]>,
  options: { create?: boolean } = {},
): Promise<ChainedEvent[]> {
  return rolledBackOnError(client, async () => {
    // The read must take its snapshot after the lock is granted (a later statement of the same
    // message does), or it could miss the row the previous holder just committed.
    const replies = (await client.query(
      [
        'BEGIN',
        ...(options.create ? [CREATE_AUDIT_LOG_SQL] : []),
        `SELECT pg_advisory_xact_lock(${AUDIT_CHAIN_LOCK})`,
        NEWEST_HASH,
      ].join(';\n'),
    )) as unknown as Array<{ rows: Array<{ hash: string }> }>;
    const newest = replies[replies.length - 1].rows[0]?.hash;
    const events = await decide(client);
    if (events.length === 0) {
      await client.query('ROLLBACK');
      return [];
    }
    const chained = chainEvents(newest ?? GENESIS_HASH, events.map(wellFormed));
    await client.query(`${insertRows(chained)};\nCOMMIT`);
    return chained;
  });
}

/**
 * The event with every string well-formed: a string cut between the two halves of a surrogate
 * pair (an emoji in a cut error message) holds a lone half, which jsonb refuses and UTF-8 cannot
 * carry. It becomes U+FFFD before it is hashed, so the row stored is the row hashed. Almost every
 * event has none: it is then returned as it is, without a copy (a run ends with hundreds).
 */
function wellFormed<T>(value: T): T {
  return isWellFormed(value) ? value : wellFormedCopy(value);
}

function isWellFormed(value: unknown): boolean {
  // String.prototype.isWellFormed / toWellFormed (ES2024, Node 20+): done natively.
  if (typeof value === 'string') return (value as unknown as { isWellFormed(): boolean }).isWellFormed();
  if (value === null || typeof value !== 'object') return true;
  return (Array.isArray(value) ? value : Object.values(value)).every(isWellFormed);
}

function wellFormedCopy<T>(value: T): T {
  if (typeof value === 'string') return (value as unknown as { toWellFormed(): string }).toWellFormed() as T;
  if (Array.isArray(value)) return value.map(wellFormedCopy) as T;
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, wellFormedCopy(v)])) as T;
  return value;
}

/** The event field each column holds: the one mapping, both ways (rows written and read). */
const FIELD_OF = {
  at: 'at',
  run_key: 'runKey',
  run_id: 'runId',
  event: 'event',
  environment: 'environment',
  command: 'command',
  outcome: 'outcome',
  version: 'version',
  duration_ms: 'durationMs',
  actor: 'actor',
  triggering_actor: 'triggeringActor',
  event_name: 'eventName',
  repository: 'repository',
  ref: 'ref',
  sha: 'sha',
  pr_number: 'prNumber',
  run_url: 'runUrl',
  os_user: 'osUser',
  host: 'host',
  reason: 'reason',
  error: 'error',
  details: 'details',
  prev_hash: 'prevHash',
  hash: 'hash',
} as const satisfies Record<(typeof COLUMNS)[number], keyof ChainedEvent>;

export type StoredAuditRow = ChainedEvent & { id: number };

/** Every row in chain order (verification needs them all; exports filter by time afterwards). */
export async function readAuditLog(client: Client): Promise<StoredAuditRow[]> {
  // `at` as the text it was hashed as (milliseconds, UTC), not as a Date.
  const { rows } = await client.query<Record<string, unknown>>(
    `SELECT id, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at_text,
            ${COLUMNS.filter((c) => c !== 'at').join(', ')}
       FROM migration_guard.audit_log ORDER BY id`,
  );
  return rows.map((r) => {
    const row = Object.fromEntries(
      COLUMNS.map((column) => [FIELD_OF[column], r[column]]),
    ) as unknown as ChainedEvent;
    return {
      ...row,
      id: Number(r.id),
      at: r.at_text as string,
      // bigint columns come back as text
      runId: r.run_id === null ? null : Number(r.run_id),
      durationMs: r.duration_ms === null ? null : Number(r.duration_ms),
    };
  });
}
