import { describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GuardError } from '../../src/errors.js';
import { compareVersions, discoverMigrations, type SqlPart } from '../../src/migrations/discover.js';
import { tempFolder } from '../helpers/migrations.js';
import { tempDirsFor } from '../helpers/temp.js';

const tempDir = tempDirsFor();

/** A fresh migrations folder inside a fresh working directory, so paths are shown as `migrations/<file>`. */
function folder(files: Record<string, string | Buffer>): { cwd: string; dir: string } {
  const cwd = tempFolder('mg-discover-');
  const dir = join(cwd, 'migrations');
  mkdirSync(dir);
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return { cwd, dir };
}

async function discover(files: Record<string, string | Buffer>) {
  const { cwd, dir } = folder(files);
  return discoverMigrations(dir, cwd);
}

async function failure(files: Record<string, string | Buffer>): Promise<GuardError> {
  try {
    await discover(files);
  } catch (error) {
    expect(error).toBeInstanceOf(GuardError);
    return error as GuardError;
  }
  throw new Error('discoverMigrations did not fail');
}

const textOf = (part: SqlPart) => part.source.slice(part.start, part.end);

describe('discoverMigrations', () => {
  it('orders versions numerically, so 9_a comes before 10_b', async () => {
    const set = await discover({
      '10_b.sql': 'select 10;',
      '9_a.sql': 'select 9;',
      '100_c.sql': 'select 100;',
    });
    expect(set.migrations.map((m) => m.fileName)).toEqual(['9_a.sql', '10_b.sql', '100_c.sql']);
    expect(set.migrations.map((m) => [m.version, m.name])).toEqual([
      ['9', 'a'],
      ['10', 'b'],
      ['100', 'c'],
    ]);
  });

  it('orders equal numbers with different padding textually', async () => {
    const set = await discover({ '1_b.sql': 'select 1;', '01_a.sql': 'select 1;' });
    expect(set.migrations.map((m) => m.version)).toEqual(['01', '1']);
  });

  it('shows paths relative to the working directory and reads the whole file as the up migration', async () => {
    const set = await discover({ '20240101000000_create_users.sql': 'create table users (id int);\n' });
    const [m] = set.migrations;
    expect(m.path).toBe(join('migrations', '20240101000000_create_users.sql'));
    expect(m.up.path).toBe(m.path);
    expect(textOf(m.up)).toBe('create table users (id int);\n');
    expect(m.up.start).toBe(0);
    expect(m.up.end).toBe(Buffer.byteLength('create table users (id int);\n'));
    expect(m.down).toBeUndefined();
    expect(m.verify).toBeUndefined();
  });

  it('lists every file that does not match <version>_<name>.sql as skipped, with the reason', async () => {
    const set = await discover({
      '1_ok.sql': 'select 1;',
      'README.md': '# notes',
      'seed.sql': 'select 1;',
      '2-dash.sql': 'select 1;',
      '3_upper.SQL': 'select 1;',
    });
    expect(set.migrations.map((m) => m.fileName)).toEqual(['1_ok.sql']);
    expect(set.skipped).toEqual(
      ['2-dash.sql', '3_upper.SQL', 'README.md', 'seed.sql'].map((fileName) => ({
        fileName,
        reason: 'name does not match <version>_<name>.sql',
      })),
    );
  });

  it('lists sub-directories and links to them as skipped, saying what they are', async () => {
    const { cwd, dir } = folder({ '1_a.sql': 'select 1;' });
    mkdirSync(join(dir, 'archive'));
    symlinkSync('archive', join(dir, 'old'));
    symlinkSync('missing.txt', join(dir, 'notes.txt'));
    const set = await discoverMigrations(dir, cwd);
    expect(set.migrations.map((m) => m.fileName)).toEqual(['1_a.sql']);
    expect(set.skipped).toEqual([
      { fileName: 'archive', reason: 'a directory (sub-folders are not read)' },
      { fileName: 'notes.txt', reason: 'a symbolic link to missing.txt, which does not exist' },
      { fileName: 'old', reason: 'a symbolic link to a directory (archive); sub-folders are not read' },
    ]);
  });

  it('reads every file exactly, whatever its size (around the 64 KB one read takes, and far beyond)', async () => {
    // Each file differs from byte to byte (a counter in every line), so a part read twice, skipped
    // or out of order shows.
    const sizes = [1, 65_535, 65_536, 65_537, 131_072, 300_001];
    const contents = sizes.map((size, i) => {
      let text = '';
      for (let line = 0; text.length < size; line++) text += `-- ${i}:${line}\n`;
      return Buffer.from(text.slice(0, size - 1) + '\n');
    });
    const set = await discover(Object.fromEntries(contents.map((c, i) => [`${i + 1}_size.sql`, c])));
    expect(set.migrations.map((m) => m.up.end - m.up.start)).toEqual(sizes);
    set.migrations.forEach((m, i) => {
      expect(Buffer.from(m.up.source.bytes.subarray(m.up.start, m.up.end)).equals(contents[i])).toBe(true);
      expect(m.checksum).toBe(createHash('sha256').update(contents[i]).digest('hex'));
    });
  });

  it('follows a symbolic link to a migration file, and its checksum is that of the target', async () => {
    const { cwd, dir } = folder({ '1_a.sql': 'select 1;' });
    const shared = tempDir('mg-shared-');
    writeFileSync(join(shared, 'two.sql'), 'create table two (id int);\n');
    symlinkSync(join(shared, 'two.sql'), join(dir, '2_two.sql'));
    const set = await discoverMigrations(dir, cwd);
    const two = set.migrations.find((m) => m.version === '2')!;
    expect(textOf(two.up)).toBe('create table two (id int);\n');
    expect(two.checksum).toBe(createHash('sha256').update('create table two (id int);\n').digest('hex'));
  });

  it.each([
    [
      'a directory',
      '2_b.sql',
      (dir: string) => mkdirSync(join(dir, '2_b.sql')),
      'a directory (sub-folders are not read)',
    ],
    [
      'a dangling link',
      '2_b.sql',
      (dir: string) => symlinkSync('gone.sql', join(dir, '2_b.sql')),
      'a symbolic link to gone.sql, which does not exist',
    ],
    [
      'a link to a directory',
      '2_b.sql',
      (dir: string) => {
        mkdirSync(join(dir, 'sub'));
        symlinkSync('sub', join(dir, '2_b.sql'));
      },
      'a symbolic link to a directory (sub); sub-folders are not read',
    ],
    [
      'a looping link',
      '2_b.sql',
      (dir: string) => symlinkSync('2_b.sql', join(dir, '2_b.sql')),
      'a symbolic link that loops (2_b.sql)',
    ],
    [
      'a down file that is a directory',
      '1_a.down.sql',
      (dir: string) => mkdirSync(join(dir, '1_a.down.sql')),
      'a directory (sub-folders are not read)',
    ],
  ])('refuses %s named like a migration, naming it and what it is', async (_kind, name, make, reason) => {
    const { cwd, dir } = folder({ '1_a.sql': 'select 1;', '3_c.sql': 'select 3;' });
    make(dir);
    const error = await discoverMigrations(dir, cwd).then(
      () => undefined,
      (e: unknown) => e as GuardError,
    );
    expect(error).toBeInstanceOf(GuardError);
    expect(error!.code).toBe('migrations-dir');
    expect(error!.message).toContain(`  ${join('migrations', name)}: ${reason}\n`);
    expect(error!.message).toContain('Nothing was run');
    expect(error!.hint).toContain('rename it');
  });

  it('attaches .down.sql and .verify.sql companions to their migration', async () => {
    const set = await discover({
      '1_users.sql': 'create table users (id int);',
      '1_users.down.sql': 'drop table users;',
      '1_users.verify.sql': 'select 1 from users limit 0;',
      '2_posts.sql': 'create table posts (id int);',
    });
    const [users, posts] = set.migrations;
    expect(users.down?.kind).toBe('file');
    expect(users.down?.path).toBe(join('migrations', '1_users.down.sql'));
    expect(textOf(users.down!)).toBe('drop table users;');
    expect(users.verify?.path).toBe(join('migrations', '1_users.verify.sql'));
    expect(textOf(users.verify!)).toBe('select 1 from users limit 0;');
    expect(posts.down).toBeUndefined();
    expect(set.skipped).toEqual([]);
  });

  it('lists companions without a matching migration as skipped', async () => {
    const set = await discover({
      '1_users.sql': 'select 1;',
      '1_user.down.sql': 'select 1;',
      '2_gone.verify.sql': 'select 1;',
    });
    expect(set.migrations[0].down).toBeUndefined();
    expect(set.skipped).toEqual([
      { fileName: '1_user.down.sql', reason: 'companion file without a matching <version>_<name>.sql' },
      { fileName: '2_gone.verify.sql', reason: 'companion file without a matching <version>_<name>.sql' },
    ]);
  });

  it('refuses duplicate versions, naming both files', async () => {
    const error = await failure({ '5_a.sql': 'select 1;', '5_b.sql': 'select 2;', '6_c.sql': 'select 3;' });
    expect(error.code).toBe('duplicate-version');
    expect(error.message).toContain(
      `version 5: ${join('migrations', '5_a.sql')}, ${join('migrations', '5_b.sql')}`,
    );
    expect(error.message).not.toContain('6_c.sql');
  });

  it('refuses a directory that does not exist, naming it and the input to set', async () => {
    const missing = join(tmpdir(), 'mg-discover-does-not-exist', 'migrations');
    const error = await discoverMigrations(missing).catch((e: unknown) => e as GuardError);
    expect(error).toBeInstanceOf(GuardError);
    expect((error as GuardError).code).toBe('migrations-dir');
    expect((error as GuardError).message).toContain(missing);
    expect((error as GuardError).hint).toMatch(/migrations-dir/);
  });

  it('refuses a path that is a file, not a directory', async () => {
    const { dir } = folder({ '1_a.sql': 'select 1;' });
    const error = await discoverMigrations(join(dir, '1_a.sql')).catch((e: unknown) => e as GuardError);
    expect((error as GuardError).code).toBe('migrations-dir');
  });

  it('reads dbmate -- migrate:up / -- migrate:down sections as the up and down byte ranges', async () => {
    const text = "-- migrate:up\ncreate table t (v text default 'é');\n-- migrate:down\ndrop table t;\n";
    const set = await discover({ '1_dbmate.sql': text });
    const [m] = set.migrations;
    expect(textOf(m.up)).toBe("\ncreate table t (v text default 'é');\n");
    expect(m.down?.kind).toBe('section');
    expect(m.down?.path).toBe(m.path);
    expect(textOf(m.down!)).toBe('\ndrop table t;\n');
    const upStart = Buffer.byteLength('-- migrate:up');
    expect(m.up.start).toBe(upStart);
    expect(m.up.end).toBe(Buffer.byteLength(text.slice(0, text.indexOf('-- migrate:down'))));
    expect(m.down!.end).toBe(Buffer.byteLength(text));
  });

  it('reads a dbmate file with only an up section', async () => {
    const set = await discover({ '1_up_only.sql': '-- migrate:up\nselect 1;\n' });
    expect(textOf(set.migrations[0].up)).toBe('\nselect 1;\n');
    expect(set.migrations[0].down).toBeUndefined();
  });

  it('refuses a file with both a down section and a .down.sql companion', async () => {
    const error = await failure({
      '1_both.sql': '-- migrate:up\nselect 1;\n-- migrate:down\nselect 2;\n',
      '1_both.down.sql': 'select 3;',
    });
    expect(error.code).toBe('parse-error');
    expect(error.message).toContain(join('migrations', '1_both.down.sql'));
    expect(error.message).toContain('-- migrate:down');
    expect(error.location?.file).toBe(join('migrations', '1_both.sql'));
  });

  it('refuses a down section that comes before the up section, with its line', async () => {
    const error = await failure({ '1_x.sql': '-- migrate:down\nselect 2;\n-- migrate:up\nselect 1;\n' });
    expect(error.code).toBe('parse-error');
    expect(error.location).toEqual({ file: join('migrations', '1_x.sql'), line: 1 });
  });

  it('refuses SQL before the up marker, which would belong to neither direction', async () => {
    const error = await failure({ '1_x.sql': 'select 0;\n-- migrate:up\nselect 1;\n' });
    expect(error.code).toBe('parse-error');
    expect(error.message).toMatch(/before "-- migrate:up"/);
  });

  it('refuses two up markers, pointing at the second', async () => {
    const error = await failure({ '1_x.sql': '-- migrate:up\nselect 1;\n-- migrate:up\nselect 2;\n' });
    expect(error.code).toBe('parse-error');
    expect(error.location?.line).toBe(3);
  });

  it('gives the same checksum to CRLF and LF versions of a file, with or without a BOM', async () => {
    const lf = 'create table t (id int);\ninsert into t values (1);\n';
    const crlf = lf.replace(/\n/g, '\r\n');
    const set = await discover({
      '1_lf.sql': lf,
      '2_crlf.sql': crlf,
      '3_bom.sql': `\uFEFF${lf}`,
      '4_bom_crlf.sql': `\uFEFF${crlf}`,
    });
    const sums = set.migrations.map((m) => m.checksum);
    expect(sums[0]).toMatch(/^[0-9a-f]{64}$/);
    expect(new Set(sums).size).toBe(1);
  });

  it('gives the same checksums when they are computed on first use (lazyChecksums, as the linter reads a folder)', async () => {
    const files = {
      '1_a.sql': 'create table a (id int);\r\n',
      '2_b.sql': '\uFEFF-- migrate:up\nselect 1;\n-- migrate:down\nselect 2;\n',
      '3_c.sql': "insert into t values ('日本');\n",
    };
    const { cwd, dir } = folder(files);
    const eager = await discoverMigrations(dir, cwd);
    const lazy = await discoverMigrations(dir, cwd, { lazyChecksums: true });
    expect(lazy.migrations.map((m) => m.checksum)).toEqual(eager.migrations.map((m) => m.checksum));
    expect(new Set(eager.migrations.map((m) => m.checksum)).size).toBe(3);
  });

  it('gives a different checksum to a real change', async () => {
    const set = await discover({
      '1_a.sql': 'create table t (id int);\n',
      '2_b.sql': 'create table t (id bigint);\n',
      '3_c.sql': 'create table t (id int); \n',
    });
    expect(new Set(set.migrations.map((m) => m.checksum)).size).toBe(3);
  });

  it('keeps the checksums earlier versions computed on decoded text (LF, CRLF, BOM, non-ASCII, dbmate, stray CR)', async () => {
    // Computed by the text-based checksum of main before it hashed bytes (commit fb5a906): a file
    // applied then must not look changed now.
    const lfSum = 'b649b7df2368761a70b4b00395e2e5dff8a3eb0b40bbf26fcf73e054560c4edb';
    const set = await discover({
      '1_lf.sql': 'create table t (id int);\ninsert into t values (1);\n',
      '2_crlf.sql': 'create table t (id int);\r\ninsert into t values (1);\r\n',
      '3_bom.sql': '\uFEFFcreate table t (id int);\ninsert into t values (1);\n',
      '4_bomcrlf.sql': '\uFEFFcreate table t (id int);\r\ninsert into t values (1);\r\n',
      '5_nonascii.sql': "insert into t values ('café – 日本 😀');\r\n",
      '6_dbmate.sql': '\uFEFF-- migrate:up\r\nselect 1;\r\n-- migrate:down\r\nselect 2;\r\n',
      '7_cr.sql': 'select 1;\r\r\nselect 2;\rselect 3;\n',
      '8_midbom.sql': 'select 1;\uFEFF\n',
      '9_empty.sql': '',
      '10_doublebom.sql': '\uFEFF\uFEFFselect 1;\r\n',
    });
    expect(Object.fromEntries(set.migrations.map((m) => [m.fileName, m.checksum]))).toEqual({
      '1_lf.sql': lfSum,
      '2_crlf.sql': lfSum,
      '3_bom.sql': lfSum,
      '4_bomcrlf.sql': lfSum,
      '5_nonascii.sql': '34a7c38cc908471e0773a13ad7a4b5c14e31ef7cffb6c2949663b15c74d4bd35',
      '6_dbmate.sql': 'd4263107d8e34c0517ba14d7b7bee6d8e6e4f373da519e42c8485c8a7a3d764a',
      '7_cr.sql': '15d2ea04ee6d3beb9cf552c4f59c1a7cda7ffb7c4eaac59f44155e174252b20d',
      '8_midbom.sql': '143f182df3e44dc4424ec85c2d3019affe1348560c2025394df01dc1f04d35d7',
      '9_empty.sql': 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      '10_doublebom.sql': '4a45092ccf992ea92250053a80b931b787924ba61648f420555511b84f10ab6c',
    });
  });

  it.each([
    [
      'a Latin-1 byte',
      Buffer.from("select 1;\nselect 'caf\xe9';\n", 'latin1'),
      2,
      12,
      21,
      '0xE9 0x27 0x3B 0x0A',
    ],
    [
      'a truncated sequence at the end',
      Buffer.concat([Buffer.from('select 1;\n'), Buffer.from([0xe2, 0x82])]),
      2,
      1,
      10,
      '0xE2 0x82',
    ],
    [
      'an overlong encoding',
      Buffer.concat([Buffer.from('-- é\nselect '), Buffer.from([0xc0, 0xaf])]),
      2,
      8,
      13,
      '0xC0 0xAF',
    ],
    [
      'an encoded surrogate',
      Buffer.concat([Buffer.from('select '), Buffer.from([0xed, 0xa0, 0x80])]),
      1,
      8,
      7,
      '0xED 0xA0 0x80',
    ],
    [
      'a byte after a BOM',
      Buffer.concat([Buffer.from('\uFEFFselect 1;\n'), Buffer.from([0xff])]),
      2,
      1,
      13,
      '0xFF',
    ],
  ])(
    'refuses %s, naming the file, line, column and byte',
    async (_kind, bytes, line, column, offset, shown) => {
      const error = await failure({ '1_ok.sql': 'select 1;', '2_bad.sql': bytes });
      expect(error.code).toBe('parse-error');
      expect(error.location).toEqual({ file: join('migrations', '2_bad.sql'), line, column });
      expect(error.message).toBe(
        `Not valid UTF-8 at line ${line}, column ${column} (byte offset ${offset} in the file: ${shown}). PostgreSQL and psql refuse such a file; running it with the byte replaced would change the SQL, so nothing was run.`,
      );
      expect(error.hint).toContain('iconv -f WINDOWS-1252 -t UTF-8');
    },
  );

  it('refuses a NUL byte, at which the statement would silently end', async () => {
    const error = await failure({ '1_nul.sql': Buffer.from('select 1;\nselect 2;\0 drop table t;\n') });
    expect(error.location).toEqual({ file: join('migrations', '1_nul.sql'), line: 2, column: 10 });
    expect(error.message).toContain('A NUL byte at line 2, column 10 (byte offset 19 in the file: 0x00');
  });

  it('refuses invalid UTF-8 in a down or verify file too', async () => {
    const error = await failure({ '1_a.sql': 'select 1;', '1_a.down.sql': Buffer.from([0x73, 0xff]) });
    expect(error.location).toEqual({ file: join('migrations', '1_a.down.sql'), line: 1, column: 2 });
  });

  it('leaves the BOM out of the SQL the parser sees', async () => {
    const set = await discover({ '1_bom.sql': '\uFEFFselect 1;' });
    const { up } = set.migrations[0];
    expect(textOf(up)).toBe('select 1;');
    expect(up.end).toBe(Buffer.byteLength('select 1;'));
  });
});

describe('compareVersions', () => {
  it('compares numerically beyond the range of a double', () => {
    expect(compareVersions('20240101000000000001', '20240101000000000002')).toBeLessThan(0);
    expect(compareVersions('9', '10')).toBeLessThan(0);
    expect(compareVersions('10', '9')).toBeGreaterThan(0);
    expect(compareVersions('7', '7')).toBe(0);
  });
});
