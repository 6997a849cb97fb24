import { GuardError } from '../errors.js';
import type { Migration } from './discover.js';

/**
 * The largest migration file apply and plan accept. The parser works on bounded pieces
 * (sql-pieces.ts), but the rest grows with the file: its statements are kept for the run, and the
 * history row stores every statement's text (schema_migrations.statements, as the Supabase CLI
 * does), sent in one value. Measured: 8 to 13 times the file in peak memory (100 MB: 0.75-1.0 GiB
 * in transaction-mode all, up to 1.2 GiB in per-file, bench/large-files.mjs). Per-file mode stages
 * that row as jsonb, which PostgreSQL caps at 256 MB.
 */
export const MAX_FILE_BYTES = 128 * 1024 * 1024;

/** Refuses, before anything runs, a pending file (or its verify script) above MAX_FILE_BYTES. */
export function refuseOversizedFiles(pending: Migration[]): void {
  for (const migration of pending) {
    for (const part of [migration.up, migration.verify]) {
      if (!part) continue;
      const size = part.source.byteLength;
      if (size <= MAX_FILE_BYTES) continue;
      throw new GuardError(
        'too-large',
        `The file is ${size} bytes, larger than the ${MAX_FILE_BYTES} bytes (${MAX_FILE_BYTES / 2 ** 20} MB) a migration file may have: ` +
          'applying it takes about 11 times its size in memory (its statements, and the history row that keeps ' +
          "every statement's text as the Supabase CLI does), and per-file mode stages that row in a value PostgreSQL caps at 256 MB",
        {
          location: { file: part.path },
          hint:
            `Split it into several migration files of at most ${MAX_FILE_BYTES / 2 ** 20} MB (each is applied and recorded on its own), ` +
            'or load bulk data outside the migrations (COPY, psql \\copy, pg_restore). Nothing has been run.',
        },
      );
    }
  }
}
