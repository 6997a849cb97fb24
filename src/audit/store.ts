import type { Client } from '../db/connect.js';
import { withTransaction } from '../db/transaction.js';
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

/** Appends events, in order, to the chain: one transaction, three round trips, whatever their number. */
export async function appendAuditEvents(client: Client, events: AuditEvent[]): Promise<ChainedEvent[]> {
  if (events.length === 0) return [];
  return withTransaction(client, async () => {
    // Two statements in one message: the read must take its snapshot after the lock is granted,
    // or it could miss the row the previous holder just committed.
    const replies = (await client.query(
      `SELECT pg_advisory_xact_lock(${AUDIT_CHAIN_LOCK});
       SELECT hash FROM migration_guard.audit_log ORDER BY id DESC LIMIT 1`,
    )) as unknown as Array<{ rows: Array<{ hash: string }> }>;
    const chained = chainEvents(replies[1].rows[0]?.hash ?? GENESIS_HASH, events);
    const values = chained.map(toColumns);
    const params = values.flat();
    const tuples = values.map(
      (row, r) => `(${row.map((_, c) => `$${r * COLUMNS.length + c + 1}`).join(', ')})`,
    );
    await client.query(
      `INSERT INTO migration_guard.audit_log (${COLUMNS.join(', ')}) VALUES ${tuples.join(', ')}`,
      params,
    );
    return chained;
  });
}

function toColumns(e: ChainedEvent): unknown[] {
  return [
    e.at,
    e.runKey,
    e.runId,
    e.event,
    e.environment,
    e.command,
    e.outcome,
    e.version,
    e.durationMs,
    e.actor,
    e.triggeringActor,
    e.eventName,
    e.repository,
    e.ref,
    e.sha,
    e.prNumber,
    e.runUrl,
    e.osUser,
    e.host,
    e.reason,
    e.error,
    e.details === null ? null : JSON.stringify(e.details),
    e.prevHash,
    e.hash,
  ];
}

export type StoredAuditRow = ChainedEvent & { id: number };

/** Every row in chain order (verification needs them all; exports filter by time afterwards). */
export async function readAuditLog(client: Client): Promise<StoredAuditRow[]> {
  const { rows } = await client.query<Record<string, unknown>>(
    `SELECT id, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at_text, run_key, run_id,
            event, environment, command, outcome, version, duration_ms, actor, triggering_actor,
            event_name, repository, ref, sha, pr_number, run_url, os_user, host, reason, error,
            details, prev_hash, hash
       FROM migration_guard.audit_log ORDER BY id`,
  );
  return rows.map((r) => ({
    id: Number(r.id),
    at: r.at_text as string,
    runKey: r.run_key as string,
    runId: r.run_id === null ? null : Number(r.run_id),
    event: r.event as StoredAuditRow['event'],
    environment: r.environment as string,
    command: r.command as string,
    outcome: r.outcome as string | null,
    version: r.version as string | null,
    durationMs: r.duration_ms === null ? null : Number(r.duration_ms),
    actor: r.actor as string | null,
    triggeringActor: r.triggering_actor as string | null,
    eventName: r.event_name as string | null,
    repository: r.repository as string | null,
    ref: r.ref as string | null,
    sha: r.sha as string | null,
    prNumber: r.pr_number as number | null,
    runUrl: r.run_url as string | null,
    osUser: r.os_user as string | null,
    host: r.host as string | null,
    reason: r.reason as string | null,
    error: r.error as string | null,
    details: r.details as Record<string, unknown> | null,
    prevHash: r.prev_hash as string,
    hash: r.hash as string,
  }));
}
