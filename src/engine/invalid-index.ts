import { quoteLiteral } from '../db/ident.js';
import type { Client } from '../db/connect.js';

/**
 * A failed `CREATE INDEX CONCURRENTLY` (a duplicate key, a timeout, a cancellation) or
 * `REINDEX … CONCURRENTLY` leaves an INVALID index behind: never used by queries, still updated
 * on every write, and in the way of the statement's next attempt ("already exists"). The indexes
 * that were invalid before the statement are noted; after a failure, the new ones are dropped
 * (concurrently, under the lock timeout), or named with the statement that drops them.
 */
const LEAVES_INVALID_INDEX = new Set(['CREATE INDEX CONCURRENTLY', 'REINDEX CONCURRENTLY']);

const INVALID_INDEXES = 'SELECT indexrelid::regclass::text AS name FROM pg_index WHERE NOT indisvalid';

export const MAY_HAVE_LEFT_INVALID_INDEX =
  'it may have left an INVALID index behind: check pg_index for indisvalid = false';

export interface InvalidIndexWatch {
  /**
   * After the statement failed: what it left behind and what became of it, for the report
   * (`note`), and whether nothing of it remains (`clean`), so it can be tried again.
   */
  cleanUp(lockTimeoutMs: number): Promise<{ note?: string; clean: boolean }>;
}

export async function watchInvalidIndexes(
  client: Client,
  reason: string | undefined,
): Promise<InvalidIndexWatch | undefined> {
  if (!reason || !LEAVES_INVALID_INDEX.has(reason)) return undefined;
  const before = new Set((await client.query<{ name: string }>(INVALID_INDEXES)).rows.map((r) => r.name));
  return {
    async cleanUp(lockTimeoutMs) {
      let left: string[];
      try {
        left = (await client.query<{ name: string }>(INVALID_INDEXES)).rows
          .map((r) => r.name)
          .filter((name) => !before.has(name));
      } catch {
        return { note: MAY_HAVE_LEFT_INVALID_INDEX, clean: false };
      }
      if (left.length === 0) return { clean: true };
      const notes: string[] = [];
      for (const name of left) {
        // regclass text is already quoted and schema-qualified where needed.
        const drop = `DROP INDEX CONCURRENTLY IF EXISTS ${name}`;
        try {
          await client.query(
            `SET lock_timeout = ${quoteLiteral(`${lockTimeoutMs}ms`)}; SET statement_timeout = ${quoteLiteral(`${Math.max(5000, lockTimeoutMs * 2)}ms`)}`,
          );
          await client.query(drop);
          notes.push(`the INVALID index ${name} it left behind was dropped`);
        } catch {
          notes.push(`it left the INVALID index ${name} behind: drop it with ${drop}`);
        } finally {
          await client.query('RESET lock_timeout; RESET statement_timeout').catch(() => {});
        }
      }
      return { note: notes.join('; '), clean: notes.every((n) => n.endsWith('was dropped')) };
    },
  };
}
