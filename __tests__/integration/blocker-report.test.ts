/**
 * A migration that waits for an application's lock reports who blocked it (pid, user, application
 * name, age) with the blocker's query normalised: the application's literal values (customer
 * data) reach no log line, result, run record or audit row.
 */
import { describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { MIGRATION_LOCK_ID } from '../../src/db/lock.js';
import { databasesFor, query, testServers } from '../helpers/db.js';
import { addFiles, migrationsDir } from '../helpers/migrations.js';
import { runGuard } from '../helpers/run.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const EMAIL = 'alice@example.com';

/** A session of the "application": runs `sql` in an open transaction and keeps it open. */
async function applicationSession(url: string, sql: string) {
  const client = new pg.Client({ connectionString: url, application_name: 'crm-backend' });
  client.on('error', () => {}); // terminated when the test's database is dropped
  await client.connect();
  const { rows } = await client.query('select pg_backend_pid() as pid, current_user as user');
  await client.query('begin');
  await client.query(sql);
  return {
    pid: rows[0].pid as number,
    user: rows[0].user as string,
    client,
    release: async () => {
      await client.query('commit').catch(() => {});
      await client.end();
    },
  };
}

/** Every row of every table in our schema, as text. */
async function guardRowsText(url: string): Promise<string> {
  const tables = await query<{ name: string }>(
    url,
    "select quote_ident(table_name) as name from information_schema.tables where table_schema = 'migration_guard'",
  );
  const texts: string[] = [];
  for (const { name } of tables)
    for (const row of await query<{ t: string }>(url, `select t::text as t from migration_guard.${name} t`))
      texts.push(row.t);
  return texts.join('\n');
}

describe.each(testServers())('blocker reports on $name', (server) => {
  const newDb = databasesFor(server);

  async function withCustomers() {
    const db = await newDb();
    const dir = migrationsDir({
      '1_customers.sql':
        "create table customers (id int primary key, email text);\ninsert into customers values (1, 'alice@example.com');",
    });
    expect((await runGuard('apply', db.url, dir)).result.status).toBe('success');
    addFiles(dir, { '2_note.sql': 'alter table customers add column note text;' });
    return { db, dir };
  }

  it('names the blocking session with its query normalised, in the result, the log, the run record and the audit log', async () => {
    const { db, dir } = await withCustomers();
    const app = await applicationSession(db.url, `select * from customers where email = '${EMAIL}'`);
    try {
      const run = runGuard(
        'apply',
        db.url,
        dir,
        { 'lock-timeout': '200ms', 'lock-retries': '8' },
        { overrides: { lockRetryBaseMs: 100 } },
      );
      await sleep(900);
      await app.release();
      const { result, logs } = await run;
      expect(result.status).toBe('success');
      const expected = new RegExp(
        `^pid ${app.pid} "crm-backend" \\(idle in transaction, user ${app.user}, transaction open \\d+ s\\): ` +
          'select \\* from customers where email = \\$1$',
      );
      expect(result.lock?.retries.length).toBeGreaterThanOrEqual(1);
      for (const retry of result.lock!.retries) expect(retry.blocker).toMatch(expected);
      const warning = logs.find((l) => l.startsWith('warn:') && l.includes('no lock within'));
      expect(warning).toContain(`blocked by pid ${app.pid} "crm-backend"`);
      expect(warning).toContain('select * from customers where email = $1');

      const runs = await query(
        db.url,
        "select details from migration_guard.runs where status = 'success' order by id desc limit 1",
      );
      expect(runs[0].details.lockRetries[0].blocker).toMatch(expected);
      const audit = await query(
        db.url,
        "select details from migration_guard.audit_log where event = 'lock-retry' order by id",
      );
      expect(audit.length).toBe(result.lock!.retries.length);
      for (const row of audit) expect(row.details.blocker).toMatch(expected);

      expect(JSON.stringify(result)).not.toContain(EMAIL);
      expect(logs.join('\n')).not.toContain(EMAIL);
      expect(await guardRowsText(db.url)).not.toContain(EMAIL);
    } finally {
      await app.release().catch(() => {});
    }
  });

  it('masks a blocking query that pg_stat_activity cut off inside a literal (it does not parse)', async () => {
    const { db, dir } = await withCustomers();
    // track_activity_query_size (1 KB by default) cuts this inside the long literal.
    const long = `${'x'.repeat(990)} ${EMAIL} ${'y'.repeat(200)}`;
    const app = await applicationSession(
      db.url,
      `select * from customers where email is distinct from '${long}'`,
    );
    try {
      const shown = await query(db.url, 'select query from pg_stat_activity where pid = $1', [app.pid]);
      expect(shown[0].query.length).toBeLessThan(long.length); // really cut
      const run = runGuard(
        'apply',
        db.url,
        dir,
        { 'lock-timeout': '200ms', 'lock-retries': '8' },
        { overrides: { lockRetryBaseMs: 100 } },
      );
      await sleep(900);
      await app.release();
      const { result, logs } = await run;
      expect(result.status).toBe('success');
      expect(result.lock?.retries[0].blocker).toMatch(
        /: select \* from customers where email is distinct from \$1 …$/,
      );
      for (const text of [JSON.stringify(result), logs.join('\n'), await guardRowsText(db.url)]) {
        expect(text).not.toContain('alice');
        expect(text).not.toContain('xxxxxxxx');
      }
    } finally {
      await app.release().catch(() => {});
    }
  });

  it("the wait for another run's lock names that session without its query", async () => {
    const { db, dir } = await withCustomers();
    const other = new pg.Client({ connectionString: db.url, application_name: 'other-run' });
    await other.connect();
    try {
      await other.query('select pg_advisory_lock($1::bigint)', [MIGRATION_LOCK_ID.toString()]);
      await other.query(`select count(*) from customers where email = '${EMAIL}'`);
      const { result, logs } = await runGuard(
        'apply',
        db.url,
        dir,
        {},
        { overrides: { runLockTimeoutMs: 300 } },
      );
      expect(result.status).toBe('failed');
      const waiting = logs.find((l) => l.includes('Another migration run holds the lock'));
      expect(waiting).toMatch(/pid \d+ "other-run"/);
      expect(result.message).toMatch(/pid \d+ "other-run"/);
      expect(logs.join('\n')).not.toContain(EMAIL);
      expect(JSON.stringify(result)).not.toContain(EMAIL);
    } finally {
      await other.end();
    }
  });
});
