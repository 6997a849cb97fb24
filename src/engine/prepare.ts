import { GuardError } from '../errors.js';
import type { Migration } from '../migrations/discover.js';
import { splitStatements } from '../migrations/statements.js';
import type { PreparedMigration } from './units.js';

/** Parses every pending file before anything runs, so a syntax error anywhere stops the run up front. */
export async function prepareMigrations(pending: Migration[]): Promise<PreparedMigration[]> {
  const prepared: PreparedMigration[] = [];
  for (const migration of pending) {
    const { up } = migration;
    const split = await splitStatements(up.source, up.start, up.end, migration.path);
    const item: PreparedMigration = { migration, statements: split.statements, wrapped: split.wrapped };
    if (migration.verify) {
      const { path, source, start, end } = migration.verify;
      const verify = await splitStatements(source, start, end, path);
      const outside = verify.statements.find((s) => s.nonTransactional);
      if (outside) {
        throw new GuardError(
          'parse-error',
          `${outside.nonTransactional} cannot run in a verify script: verify runs inside the migration's transaction`,
          {
            location: { file: path, line: outside.line, column: outside.column },
          },
        );
      }
      item.verify = verify.statements;
    }
    prepared.push(item);
  }
  return prepared;
}
