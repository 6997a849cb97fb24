import type { Migration } from '../migrations/discover.js';
import { splitStatements } from '../migrations/statements.js';
import type { PreparedMigration } from './units.js';

/** Parses every pending file before anything runs, so a syntax error anywhere stops the run up front. */
export async function prepareMigrations(pending: Migration[]): Promise<PreparedMigration[]> {
  const prepared: PreparedMigration[] = [];
  for (const migration of pending) {
    const { up } = migration;
    const split = await splitStatements(up.source, up.start, up.end, migration.path);
    prepared.push({ migration, statements: split.statements, wrapped: split.wrapped });
  }
  return prepared;
}
