import * as crypto from 'node:crypto';

/** One audit event as written: everything but the id the database assigns and the two hashes. */
export interface AuditEvent {
  /** ISO 8601, UTC, millisecond precision: stored as timestamptz and read back unchanged. */
  at: string;
  /** This invocation's key (a UUID): ties together the rows of one run before its run id exists. */
  runKey: string;
  runId: number | null;
  event: AuditEventName;
  environment: string;
  command: string;
  outcome: string | null;
  version: string | null;
  durationMs: number | null;
  actor: string | null;
  triggeringActor: string | null;
  eventName: string | null;
  repository: string | null;
  ref: string | null;
  sha: string | null;
  prNumber: number | null;
  runUrl: string | null;
  osUser: string | null;
  host: string | null;
  reason: string | null;
  error: string | null;
  details: Record<string, unknown> | null;
}

export type AuditEventName =
  | 'run-started'
  | 'backup-taken'
  | 'lock-retry'
  | 'migration-applied'
  | 'migration-failed'
  | 'verify-failed'
  | 'migration-rolled-back'
  | 'migration-reverted'
  | 'migration-baselined'
  | 'backup-restored'
  | 'run-ended'
  | 'manual-run-refused';

export interface ChainedEvent extends AuditEvent {
  prevHash: string;
  hash: string;
}

/** The previous hash of the first row. */
export const GENESIS_HASH = '0'.repeat(64);

/** The fields in the order the hash covers them: changing this list breaks every existing chain. */
export const HASHED_FIELDS: ReadonlyArray<keyof AuditEvent> = [
  'at',
  'runKey',
  'runId',
  'event',
  'environment',
  'command',
  'outcome',
  'version',
  'durationMs',
  'actor',
  'triggeringActor',
  'eventName',
  'repository',
  'ref',
  'sha',
  'prNumber',
  'runUrl',
  'osUser',
  'host',
  'reason',
  'error',
  'details',
];

/**
 * The canonical text of an event: a JSON array of its fields in fixed order, objects with sorted
 * keys (jsonb does not keep key order), absent values as null. The same event read back from the
 * database gives the same text.
 */
export function canonicalEvent(event: AuditEvent): string {
  const values: unknown[] = [];
  for (const field of HASHED_FIELDS) {
    const value = event[field] ?? null;
    values.push(value !== null && typeof value === 'object' && !inOrder(value) ? sortKeys(value) : value);
  }
  return JSON.stringify(values);
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
        .map((key) => [key, sortKeys((value as Record<string, unknown>)[key])]),
    );
  }
  return value;
}

/**
 * Whether JSON.stringify writes `value` as it writes its sorted copy (`sortKeys`), so the copy can
 * be skipped: plain objects whose keys are in sort order already, none of them an array index
 * ("9", which an object lists first) nor holding undefined, all the way down. Almost every event's
 * details are (a run ends with hundreds of rows to hash, and copying them cost as much as hashing).
 */
function inOrder(value: object): boolean {
  if (Array.isArray(value)) return value.every((v) => v === null || typeof v !== 'object' || inOrder(v));
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return false; // a Date, say: its copy is {}
  let previous: string | undefined;
  for (const key of Object.keys(value)) {
    const code = key.charCodeAt(0);
    if ((code >= 48 && code <= 57) || (previous !== undefined && !(previous < key))) return false;
    const v = (value as Record<string, unknown>)[key];
    if (v === undefined || (v !== null && typeof v === 'object' && !inOrder(v))) return false;
    previous = key;
  }
  return true;
}

/** sha256 over the previous row's hash and this row's canonical text. */
export function chainHash(prevHash: string, event: AuditEvent): string {
  return sha256Hex(`${prevHash}\n${canonicalEvent(event)}`);
}

/** crypto.hash (Node 20.12+) hashes in one call, ~4× faster than a Hash object for short texts. */
const oneShot = (crypto as { hash?: (algorithm: string, data: string) => string }).hash;
function sha256Hex(text: string): string {
  return oneShot ? oneShot('sha256', text) : crypto.createHash('sha256').update(text).digest('hex');
}

/** Links `events`, in order, after the row whose hash is `prevHash`. */
export function chainEvents(prevHash: string, events: AuditEvent[]): ChainedEvent[] {
  const chained: ChainedEvent[] = [];
  let previous = prevHash;
  for (const event of events) {
    const hash = chainHash(previous, event);
    chained.push({ ...event, prevHash: previous, hash });
    previous = hash;
  }
  return chained;
}

export interface ChainBreak {
  id: number;
  at: string;
  event: string;
  problem: string;
}

/**
 * Checks rows in id order: each must name the previous row's hash and carry the hash of its own
 * content. Returns the first row that does not, with what no longer matches.
 */
export function verifyChain(rows: Array<ChainedEvent & { id: number }>): ChainBreak | undefined {
  let previous = GENESIS_HASH;
  let previousId: number | undefined;
  for (const row of rows) {
    const at = { id: row.id, at: row.at, event: row.event };
    if (row.prevHash !== previous) {
      return {
        ...at,
        problem:
          previousId === undefined
            ? 'the first row does not start the chain: rows before it were removed'
            : `it does not follow row ${previousId}: rows between them were removed, or row ${previousId} was changed and its hash recomputed`,
      };
    }
    const expected = chainHash(previous, row);
    if (row.hash !== expected) {
      return {
        ...at,
        problem: 'its content no longer matches its hash: the row was changed after it was written',
      };
    }
    previous = row.hash;
    previousId = row.id;
  }
  return undefined;
}
