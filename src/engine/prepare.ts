import { GuardError } from '../errors.js';
import type { Migration } from '../migrations/discover.js';
import { loadParser, type PgParser } from '../migrations/parser.js';
import { splitStatementsWith } from '../migrations/statements.js';
import type { PreparedMigration } from './units.js';

/** Parses every pending file before anything runs, so a syntax error anywhere stops the run up front. */
export async function prepareMigrations(pending: Migration[]): Promise<PreparedMigration[]> {
  const parser = await loadParser();
  return pending.map((migration) => prepareMigration(parser, migration));
}

/** Splits and classifies one migration and its verify script; throws a GuardError naming file:line:column. */
export function prepareMigration(parser: PgParser, migration: Migration): PreparedMigration {
  const { up } = migration;
  const split = splitStatementsWith(parser, up.source, up.start, up.end, migration.path);
  const item: PreparedMigration = { migration, statements: split.statements, wrapped: split.wrapped };
  if (migration.verify) {
    const { path, source, start, end } = migration.verify;
    const verify = splitStatementsWith(parser, source, start, end, path);
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
  return item;
}
