import type { Client } from './connect.js';

/**
 * One read of a session's opening (the history, the checksums, the partly applied files): a
 * statement without parameters and how to make its rows into the answer, or, when the table is
 * not there, the answer itself. `readInOneTrip` sends the statements of several reads as one
 * message: one round trip instead of one each (~1.5 ms each on a local server, a network round
 * trip each to a remote one).
 */
export type BatchRead<T> = { sql: string; answer(rows: Array<Record<string, unknown>>): T } | { value: T };

/** Answers one read on its own. */
export async function readOne<T>(client: Client, read: BatchRead<T>): Promise<T> {
  if ('value' in read) return read.value;
  return read.answer((await client.query(read.sql)).rows);
}

/** Answers the reads in order, their statements sent in one message (simple query protocol). */
export async function readInOneTrip<T extends unknown[]>(
  client: Client,
  ...reads: { [K in keyof T]: BatchRead<T[K]> }
): Promise<T> {
  const asked = reads.filter((r): r is Extract<BatchRead<unknown>, { sql: string }> => 'sql' in r);
  let replies: Array<{ rows: Array<Record<string, unknown>> }> = [];
  if (asked.length > 0) {
    const reply = (await client.query(asked.map((r) => r.sql).join(';\n'))) as unknown;
    // pg answers a message of several statements with one result each, of one with the result.
    replies = asked.length === 1 ? [reply as (typeof replies)[number]] : (reply as typeof replies);
  }
  let next = 0;
  return reads.map((read) => ('value' in read ? read.value : read.answer(replies[next++].rows))) as T;
}
