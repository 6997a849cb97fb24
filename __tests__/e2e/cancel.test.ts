import { describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MIGRATION_LOCK_ID } from '../../src/db/lock.js';
import { databaseState, freshDatabase, query, testServers, withPg } from '../helpers/db.js';
import { migrationsDir } from '../helpers/migrations.js';
import { tempDirsFor } from '../helpers/temp.js';

const tempDir = tempDirsFor();

describe.each(testServers())('SIGTERM to the action on $name', (server) => {
  it('cancels the running statement, rolls back, records the cancellation, frees the lock and exits non-zero', async () => {
    const db = await freshDatabase(server);
    try {
      const dir = migrationsDir({
        '1_a.sql': 'create table a (id int);',
        '2_slow.sql': 'create table b (id int);\nselect pg_sleep(60);',
      });
      const temp = tempDir('mg-cancel-');
      const output = join(temp, 'output');
      writeFileSync(output, '');
      const before = await databaseState(db.url);
      const child = spawn(process.execPath, ['dist/index.js'], {
        env: {
          PATH: process.env.PATH,
          INPUT_COMMAND: 'apply',
          'INPUT_DATABASE-URL': db.url,
          'INPUT_MIGRATIONS-DIR': dir,
          INPUT_BACKUP: 'off',
          GITHUB_OUTPUT: output,
          RUNNER_TEMP: temp,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      child.stdout.on('data', (d) => (stdout += d));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      for (let i = 0; i < 400; i++) {
        const rows = await query(
          db.url,
          "select 1 from pg_stat_activity where query like '%pg_sleep(60)%' and state = 'active' and application_name like 'migration-guard%' and pid <> pg_backend_pid()",
        );
        if (rows.length) break;
        await new Promise((r) => setTimeout(r, 25));
        if (i === 399) throw new Error('the migration never reached pg_sleep');
      }
      child.kill('SIGTERM');
      const code = await exited;
      expect(code).not.toBe(0);
      expect(stdout).toMatch(/Received SIGTERM/);
      expect(stdout).toMatch(/::error::Cancelled \(SIGTERM\)/);
      expect(await databaseState(db.url)).toEqual(before);
      expect(await query(db.url, 'select status from migration_guard.runs order by id desc limit 1')).toEqual(
        [{ status: 'cancelled' }],
      );
      const free = await withPg(
        db.url,
        async (c) =>
          (await c.query('select pg_try_advisory_lock($1::bigint) as ok', [MIGRATION_LOCK_ID.toString()]))
            .rows[0].ok,
      );
      expect(free).toBe(true);
      expect(
        await query(
          db.url,
          "select count(*)::int as n from pg_stat_activity where query like '%pg_sleep(60)%' and state = 'active' and pid <> pg_backend_pid()",
        ),
      ).toEqual([{ n: 0 }]);
    } finally {
      await db.drop();
    }
  });
});
