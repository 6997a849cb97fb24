import { describe, expect, it } from '@jest/globals';
import { unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { databaseState, query, testServers, databasesFor } from '../helpers/db.js';
import { addFiles, migrationsDir } from '../helpers/migrations.js';
import { runGuard } from '../helpers/run.js';

describe.each(testServers())('rollback with down migrations on $name', (server) => {
  const newDb = databasesFor(server);

  const files = {
    '1_users.sql': 'create table users (id int primary key);\ninsert into users values (1);',
    '1_users.down.sql': 'drop table users;',
    '2_email.sql': 'alter table users add column email text;',
    '2_email.down.sql': 'alter table users drop column email;',
    // dbmate-style sections in one file
    '3_posts.sql':
      '-- migrate:up\ncreate table posts (id int, user_id int references users (id));\n\n-- migrate:down\ndrop table posts;\n',
  };

  it('reverts the newest migrations newest first, removes their history, and equals the state before they were applied', async () => {
    const db = await newDb();
    const dir = migrationsDir({
      '1_users.sql': files['1_users.sql'],
      '1_users.down.sql': files['1_users.down.sql'],
    });
    await runGuard('apply', db.url, dir);
    const afterFirst = await databaseState(db.url);
    addFiles(dir, files);
    expect((await runGuard('apply', db.url, dir)).result.applied).toEqual(['2', '3']);

    const { result } = await runGuard('rollback', db.url, dir, { count: '2' });
    expect(result.status).toBe('success');
    expect(result.rollback).toMatchObject({ kind: 'command', succeeded: true, reverted: ['3', '2'] });
    expect(result.currentVersion).toBe('1');
    expect(await databaseState(db.url)).toEqual(afterFirst);

    // and forward again: the reverted files are pending once more
    expect((await runGuard('apply', db.url, dir)).result.applied).toEqual(['2', '3']);
  });

  it('reverts down to target-version (the newest version to keep)', async () => {
    const db = await newDb();
    const dir = migrationsDir(files);
    await runGuard('apply', db.url, dir);
    const { result } = await runGuard('rollback', db.url, dir, { 'target-version': '1' });
    expect(result.rollback?.reverted).toEqual(['3', '2']);
    expect(
      (await query(db.url, 'select version from supabase_migrations.schema_migrations')).map(
        (r) => r.version,
      ),
    ).toEqual(['1']);
    expect(
      await query(db.url, "select column_name from information_schema.columns where table_name = 'users'"),
    ).toEqual([{ column_name: 'id' }]);
  });

  it('refuses before any change when a needed down migration is missing, naming it', async () => {
    const db = await newDb();
    const dir = migrationsDir(files);
    await runGuard('apply', db.url, dir);
    unlinkSync(join(dir, '2_email.down.sql'));
    const before = await databaseState(db.url);
    const { result } = await runGuard('rollback', db.url, dir, { count: '2' });
    expect(result.status).toBe('failed');
    expect(result.message).toMatch(/No down migration for 2 \(.*2_email\.sql\)/);
    expect(await databaseState(db.url)).toEqual(before);
  });

  it('a failing down migration rolls the whole rollback back', async () => {
    const db = await newDb();
    const dir = migrationsDir({
      ...files,
      '2_email.down.sql': 'alter table users drop column no_such_column;',
    });
    await runGuard('apply', db.url, dir);
    const before = await databaseState(db.url);
    const { result } = await runGuard('rollback', db.url, dir, { count: '2' });
    expect(result.status).toBe('failed');
    expect(result.error).toMatchObject({
      sqlstate: '42703',
      file: expect.stringContaining('2_email.down.sql'),
    });
    expect(result.message).toMatch(/3, 2 are still applied|2, 3 are still applied/);
    expect(await databaseState(db.url)).toEqual(before);
  });

  it('rejects count and target-version together, and a count larger than what is applied', async () => {
    const db = await newDb();
    const dir = migrationsDir(files);
    await runGuard('apply', db.url, dir);
    await expect(runGuard('rollback', db.url, dir, { count: '1', 'target-version': '1' })).rejects.toThrow(
      /either count or target-version/,
    );
    const { result } = await runGuard('rollback', db.url, dir, { count: '9' });
    expect(result.message).toMatch(/count 9 is more than the 3 applied/);
  });
});
