import { GuardError } from '../errors.js';
import type { Migration } from '../migrations/discover.js';
import { splitStatements } from '../migrations/statements.js';
import type { PreparedMigration, Step, Unit } from './units.js';

/**
 * Parses the down migrations of `migrations` (newest first) and builds the single transaction that
 * reverts them and removes their history rows. Refuses, before anything runs, when a down
 * migration is missing or cannot run inside a transaction.
 */
export async function buildRevertUnit(migrations: Migration[]): Promise<Unit> {
  const missing = migrations.filter((m) => !m.down);
  if (missing.length > 0) {
    throw new GuardError(
      'rollback-impossible',
      `No down migration for ${missing.map((m) => `${m.version} (${m.path})`).join(', ')}`,
      {
        hint: 'Add <version>_<name>.down.sql (or a "-- migrate:down" section) for each, or restore a backup (strategy: restore).',
      },
    );
  }
  const steps: Step[] = [];
  for (const migration of [...migrations].reverse()) {
    const down = migration.down!;
    const split = await splitStatements(down.source, down.start, down.end, down.path);
    const outside = split.statements.find((s) => s.nonTransactional);
    if (outside) {
      throw new GuardError(
        'rollback-impossible',
        `${outside.nonTransactional} in a down migration cannot run inside the rollback transaction`,
        {
          location: { file: down.path, line: outside.line, column: outside.column },
          hint: 'Use the non-concurrent form in down migrations (e.g. DROP INDEX instead of DROP INDEX CONCURRENTLY).',
        },
      );
    }
    const item: PreparedMigration = { migration, statements: split.statements, wrapped: split.wrapped };
    for (const statement of split.statements)
      steps.push({ kind: 'statement', migration: item, statement, part: down, role: 'down' });
    steps.push({ kind: 'record', migration: item });
  }
  return { kind: 'transaction', steps };
}
