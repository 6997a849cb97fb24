import { describe, expect, it } from '@jest/globals';
import { liveStatsLoader, liveTableStats } from '../../src/lint/index.js';
import { databasesFor, testServers, withPg } from '../helpers/db.js';
import { brief, lintSql } from '../helpers/lint.js';

/**
 * Severity from the live table: the same CREATE INDEX is an error on a table of over a million
 * rows, a warning in between, info on a small one, and silent on a table the release creates.
 * The sizes are real: rows inserted, then the planner's statistics gathered (VACUUM ANALYZE).
 */
describe.each(testServers())('lint with live table sizes on $name', (server) => {
  const newDb = databasesFor(server);

  it('grades the same index statement by the size of its table, and stays silent on a new one', async () => {
    const db = await newDb();
    await withPg(db.url, async (c) => {
      await c.query('create table big (id int); create table mid (id int); create table small (id int)');
      await c.query('insert into big select generate_series(1, 1100000)');
      await c.query('insert into mid select generate_series(1, 20000)');
      await c.query('insert into small select generate_series(1, 50)');
      await c.query('vacuum analyze big, mid, small');
    });
    const files = [
      'create index on big (id);\ncreate index on mid (id);\ncreate index on small (id);',
      'create table fresh (id int);',
      'create index on fresh (id);',
    ];
    const asked: string[][] = [];
    const report = await withPg(db.url, async (client) => {
      const load = liveStatsLoader(client);
      return lintSql(files, {
        loadTableStats: (tables) => {
          asked.push(tables.map((t) => `${t.schema}.${t.table}`));
          return load(tables);
        },
      });
    });
    expect(brief(report)).toEqual([
      '1_m.sql:1:17 error index-without-concurrently',
      '1_m.sql:2:17 warning index-without-concurrently',
      '1_m.sql:3:17 info index-without-concurrently',
    ]);
    expect(report.context).toBe('live');
    // One round trip, for exactly the tables the findings name (not the new one).
    expect(asked).toEqual([['public.big', 'public.mid', 'public.small']]);
    expect(report.findings[0].message).toMatch(/\(~1,1\d\d,\d{3} rows, \d\d MB\)$/);
    expect(report.findings[1].message).toMatch(
      /\(~20,000 rows, \d+(\.\d)? kB\)$|\(~20,000 rows, \d(\.\d)? MB\)$/,
    );
    expect(report.findings[2].message).toMatch(/\(~50 rows, \d+ kB\)$/);
    expect(report.counts).toEqual({ error: 1, warning: 1, info: 1 });

    // Without a database the same files get the static severity.
    expect(brief(await lintSql(files))).toEqual([
      '1_m.sql:1:17 warning index-without-concurrently',
      '1_m.sql:2:17 warning index-without-concurrently',
      '1_m.sql:3:17 warning index-without-concurrently',
    ]);
  });

  it('a table never analysed (reltuples -1) is graded by its size alone and says the row count is unknown', async () => {
    const db = await newDb();
    const stats = await withPg(db.url, async (c) => {
      await c.query('create schema app; create table app.fresh (id int)');
      await c.query('insert into app.fresh select generate_series(1, 10)');
      return liveTableStats(c, [
        { schema: 'app', table: 'fresh' },
        { schema: 'app', table: 'missing' },
      ]);
    });
    expect([...stats.keys()]).toEqual(['app.fresh']);
    expect(stats.get('app.fresh')).toEqual({ rows: -1, bytes: expect.any(Number) });
    const report = await lintSql(
      ['alter table app.fresh add constraint c check (id > 0);\ncreate index on app.missing (id);'],
      {
        tableStats: (schema, table) => stats.get(`${schema}.${table}`),
      },
    );
    expect(brief(report)).toEqual([
      '1_m.sql:1:27 info constraint-without-not-valid',
      // Not in the database: static severity.
      '1_m.sql:2:17 warning index-without-concurrently',
    ]);
    expect(report.findings[0].message).toMatch(/\(\d+ kB, row count unknown: never analysed\)$/);
  });
});
