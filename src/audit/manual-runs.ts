import type { Client } from '../db/connect.js';
import { auditLogExists } from './schema.js';

/**
 * The start times of this environment's recent manual runs of `commands`, newest first, at most
 * `limit`: what the rate limit counts. Read from the audit log's "run started" rows, so the count
 * holds across runners, re-runs and workflows; a database without a log has none.
 */
export async function recentManualRuns(
  client: Client,
  query: { environment: string; commands: string[]; events: string[]; since: Date; limit: number },
): Promise<Date[]> {
  if (!(await auditLogExists(client))) return [];
  const { rows } = await client.query<{ at: Date }>(
    `SELECT at FROM migration_guard.audit_log
      WHERE event = 'run-started' AND environment = $1 AND command = ANY($2::text[])
        AND event_name = ANY($3::text[]) AND at > $4
      ORDER BY at DESC LIMIT $5`,
    [query.environment, query.commands, query.events, query.since, query.limit],
  );
  return rows.map((r) => new Date(r.at));
}
