import { describe, expect, it } from '@jest/globals';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { databaseState, databasesFor, query, testServers } from '../helpers/db.js';
import { migrationsDir } from '../helpers/migrations.js';
import { runGuard } from '../helpers/run.js';
import { tempDirsFor } from '../helpers/temp.js';

const BASE =
  "create table accounts (id int primary key, legacy text);\ninsert into accounts values (1, 'x');\n";
const DROP = 'create table notes (id int);\nalter table accounts drop column legacy;\n';
const ACCEPTED =
  'create table notes (id int);\n-- migration-guard:ignore drop-column legacy is unused since release 41 (checked in logs)\nalter table accounts drop column legacy;\n';

describe.each(testServers())('apply: the destructive-change guard on $name', (server) => {
  const newDb = databasesFor(server);
  const tempDir = tempDirsFor();

  async function withBase(): Promise<string> {
    const db = await newDb();
    const { result } = await runGuard('apply', db.url, migrationsDir({ '1_base.sql': BASE }));
    expect(result.status).toBe('success');
    return db.url;
  }

  it('refuses a DROP COLUMN with allow-destructive false, before the backup: schema, data, history unchanged, no backup, no run record', async () => {
    const url = await withBase();
    const backupDir = join(tempDir('mg-guard-'), 'backups');
    const dir = migrationsDir({ '1_base.sql': BASE, '2_drop.sql': DROP });
    const before = await databaseState(url);
    const runsBefore = await query(url, 'select count(*)::int as n from migration_guard.runs');
    const { result } = await runGuard('apply', url, dir, { backup: 'required', 'backup-dir': backupDir });
    expect(result.status).toBe('failed');
    expect(result.error?.message).toMatch(
      /^Nothing was applied: 1 destructive statement\(s\) in the pending files, and allow-destructive is false:\n {2}- .*2_drop\.sql:2:\d+: \[drop-column\] /,
    );
    expect(result.error).toMatchObject({ file: `${dir}/2_drop.sql`, line: 2 });
    expect(result.error?.hint).toMatch(
      /-- migration-guard:ignore drop-column <why this is safe>.*allow-destructive: true/s,
    );
    expect(result.changed).toBe(false);
    expect(result.backup).toBeUndefined();
    expect(existsSync(backupDir) ? readdirSync(backupDir) : []).toEqual([]);
    expect(await databaseState(url)).toEqual(before);
    expect(await query(url, 'select count(*)::int as n from migration_guard.runs')).toEqual(runsBefore);
    expect(result.lint?.findings.map((f) => [f.rule, f.family, f.line, f.ignored])).toContainEqual([
      'drop-column',
      'destructive',
      2,
      undefined,
    ]);
  });

  it('a backfill of a column the release adds (UPDATE without WHERE) is info and passes; an UPDATE of existing data is refused', async () => {
    const url = await withBase();
    const backfill = migrationsDir({
      '1_base.sql': BASE,
      '2_backfill.sql': "alter table accounts add column email text;\nupdate accounts set email = 'a@b.c';\n",
    });
    const ok = await runGuard('apply', url, backfill);
    expect(ok.result.status).toBe('success');
    expect(ok.result.lint?.findings.map((f) => [f.rule, f.severity, f.line])).toContainEqual([
      'update-without-where',
      'info',
      2,
    ]);
    expect(await query(url, 'select email from accounts')).toEqual([{ email: 'a@b.c' }]);
    const before = await databaseState(url);
    const overwrite = migrationsDir({
      '1_base.sql': BASE,
      '2_backfill.sql': "alter table accounts add column email text;\nupdate accounts set email = 'a@b.c';\n",
      '3_overwrite.sql': "update accounts set legacy = 'gone';\n",
    });
    const refused = await runGuard('apply', url, overwrite);
    expect(refused.result.status).toBe('failed');
    expect(refused.result.error?.message).toMatch(/\[update-without-where\]/);
    expect(await databaseState(url)).toEqual(before);
  });

  it('applies it when the statement carries an ignore with a reason: the reason is in the JSON report and the audit log', async () => {
    const url = await withBase();
    const dir = migrationsDir({ '1_base.sql': BASE, '2_drop.sql': ACCEPTED });
    const { result } = await runGuard('apply', url, dir);
    expect(result.status).toBe('success');
    expect(result.applied).toEqual(['2']);
    const accepted = result.lint?.findings.find((f) => f.rule === 'drop-column');
    expect(accepted).toMatchObject({
      line: 3,
      ignored: { reason: 'legacy is unused since release 41 (checked in logs)', line: 2 },
    });
    const report = JSON.parse(JSON.stringify(result)) as typeof result;
    expect(report.lint?.findings).toContainEqual(accepted);
    const rows = await query<{ event: string; details: Record<string, unknown> }>(
      url,
      "select event, details from migration_guard.audit_log where event in ('migration-applied', 'run-ended') and version is distinct from '1' order by id desc limit 2",
    );
    const ignored = {
      rule: 'drop-column',
      family: 'destructive',
      version: '2',
      file: `${dir}/2_drop.sql`,
      line: 3,
      reason: 'legacy is unused since release 41 (checked in logs)',
    };
    expect(rows.map((r) => [r.event, r.details.lintIgnored])).toEqual([
      ['run-ended', [ignored]],
      ['migration-applied', [ignored]],
    ]);
    expect(
      await query(
        url,
        "select count(*)::int as n from information_schema.columns where column_name = 'legacy'",
      ),
    ).toEqual([{ n: 0 }]);
  });

  it('applies it with allow-destructive true', async () => {
    const url = await withBase();
    const dir = migrationsDir({ '1_base.sql': BASE, '2_drop.sql': DROP });
    const { result } = await runGuard('apply', url, dir, { 'allow-destructive': 'true' });
    expect(result.status).toBe('success');
    expect(result.applied).toEqual(['2']);
    expect(result.lint?.findings.filter((f) => f.family === 'destructive' && !f.ignored)).toHaveLength(1);
  });

  it('lints only the pending files: a DROP in an applied file does not stop the next apply', async () => {
    const url = await withBase();
    await runGuard('apply', url, migrationsDir({ '1_base.sql': BASE, '2_drop.sql': DROP }), {
      'allow-destructive': 'true',
    });
    const dir = migrationsDir({
      '1_base.sql': BASE,
      '2_drop.sql': DROP,
      '3_more.sql': 'create table more (id int);\n',
    });
    const { result } = await runGuard('apply', url, dir);
    expect(result.status).toBe('success');
    expect(result.applied).toEqual(['3']);
    expect(result.lint?.findings.filter((f) => f.family === 'destructive')).toEqual([]);
  });
});
