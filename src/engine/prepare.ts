import { GuardError } from '../errors.js';
import type { Migration } from '../migrations/discover.js';
import { loadParser, type PgParser } from '../migrations/parser.js';
import { splitClassified, splitStatementsWith, type KeptStatements } from '../migrations/statements.js';
import { describeAbsorbedBlock } from '../migrations/transaction-blocks.js';
import { refuseEnumUseInSameTransaction } from './enum-use.js';
import type { PreparedMigration } from './units.js';

/** Parses every pending file before anything runs, so a syntax error anywhere stops the run up front. */
export async function prepareMigrations(
  pending: Migration[],
  kept?: KeptStatements,
): Promise<PreparedMigration[]> {
  const parser = await loadParser();
  return pending.map((migration) => prepareMigration(parser, migration, kept));
}

/**
 * Splits and classifies one migration and its verify script; throws a GuardError naming
 * file:line:column, also for a failure the file is certain to meet (a new enum value used in
 * the transaction that adds it). The up section's statements are taken from `kept` when the
 * linter parsed it already (apply lints every pending file first).
 */
export function prepareMigration(
  parser: PgParser,
  migration: Migration,
  kept?: KeptStatements,
): PreparedMigration {
  const { up } = migration;
  const parsed = kept?.get(migration);
  // Used once (a file is prepared once per run): dropped, so the map says what was not used.
  kept?.delete(migration);
  const split = parsed
    ? splitClassified(parsed, migration.path)
    : splitStatementsWith(parser, up.source, up.start, up.end, migration.path);
  const item: PreparedMigration = { migration, statements: split.statements, wrapped: split.wrapped };
  if (split.absorbed) item.absorbed = split.absorbed;
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
  refuseEnumUseInSameTransaction(parser, item);
  return item;
}

/** The report's notes on a prepared file (MigrationOutcome.notes), when there is anything to say. */
export function notesOf(item: PreparedMigration): string[] | undefined {
  return item.absorbed?.map(describeAbsorbedBlock);
}
