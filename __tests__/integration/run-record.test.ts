import { describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { RunRecord } from '../../src/commands/run-record.js';
import { parseSettings } from '../../src/config/settings.js';
import { SecretScrubber } from '../../src/secrets.js';
import { databasesFor, query, testServers } from '../helpers/db.js';
import { capturingLogger } from '../helpers/run.js';

describe.each(testServers())('the run record, on $name', (server) => {
  const newDb = databasesFor(server);

  it('is on record even when its row was opened inside a migration transaction that rolled back', async () => {
    const db = await newDb();
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const settings = parseSettings({ command: 'apply', 'database-url': db.url, environment: 'staging' });
      const record = new RunRecord(
        { settings, logger: capturingLogger([]), run: { actor: 'jest' }, scrubber: new SecretScrubber() },
        client,
      );
      // What happens when the control connection could not open the row: the session opens it
      // (and, on a fresh database, our schema) inside the migration transaction, which then fails.
      await client.query('BEGIN');
      await record.open();
      await client.query('ROLLBACK');
      const id = await record.finish({ status: 'rolled-back', applied: [], error: 'x failed' });
      expect(await query(db.url, 'select id, status, error, environment from migration_guard.runs')).toEqual([
        { id: String(id), status: 'rolled-back', error: 'x failed', environment: 'staging' },
      ]);
      // A row that exists is closed in place.
      expect(await record.finish({ status: 'failed', applied: [] })).toBe(id);
      expect(await query(db.url, 'select count(*)::int as n from migration_guard.runs')).toEqual([{ n: 1 }]);
    } finally {
      await client.end();
    }
  });
});
