import { GuardError } from '../errors.js';
import type { PreparedMigration } from './units.js';

/**
 * Statements that act on the whole server rather than on this database: they cannot run in a
 * transaction, no rollback or down migration of ours undoes them, and a backup of this database
 * (pg_dump) does not hold them. They have no business in a migration run, so a run that holds one
 * is refused before the backup and before anything runs. Keyed by the reason statements.ts gives.
 */
const OUT_OF_PLACE: Record<string, string> = {
  'CREATE DATABASE':
    'create the database outside the migrations (for example with the platform, or psql), then point a run at it',
  'DROP DATABASE': 'drop the database outside the migrations, deliberately and by hand',
  'CREATE TABLESPACE': 'tablespaces belong to the server: create it outside the migrations',
  'DROP TABLESPACE': 'tablespaces belong to the server: drop it outside the migrations',
  'ALTER SYSTEM':
    'server settings are not part of this database (pg_dump does not keep them): set them outside the migrations',
};

/** Throws a GuardError naming file:line of the first refused statement of the run. */
export function refuseOutOfPlaceStatements(prepared: PreparedMigration[]): void {
  for (const item of prepared) {
    for (const statement of item.statements) {
      const fix = statement.nonTransactional ? OUT_OF_PLACE[statement.nonTransactional] : undefined;
      if (!fix) continue;
      throw new GuardError(
        'refused-statement',
        `${statement.nonTransactional} has no place in a migration run: it acts on the whole server, runs outside any transaction and cannot be rolled back; nothing was run`,
        {
          location: { file: item.migration.path, line: statement.line, column: statement.column },
          hint: `Remove the statement from ${item.migration.fileName}: ${fix}.`,
        },
      );
    }
  }
}
