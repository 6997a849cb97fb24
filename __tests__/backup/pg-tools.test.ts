import { afterAll, describe, expect, it } from '@jest/globals';
import { chmodSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger } from '../../src/logger.js';
import { createProcessRunner } from '../../src/backup/process.js';
import {
  aptInstaller,
  findPgTools,
  parsePgVersion,
  type ClientInstaller,
  type FindPgToolsOptions,
} from '../../src/backup/pg-tools.js';
import {
  capture,
  fakeTool,
  REAL_MAJOR,
  realToolsIn,
  recordingRunner,
  tempDir,
  type Call,
  removeTempDirs,
  failure,
} from './support.js';

afterAll(removeTempDirs);

const runner = createProcessRunner();

/** A root laid out like /usr/lib/postgresql: the real client as REAL_MAJOR, fakes as 16 and 17. */
function toolRoot(): string {
  const root = tempDir('pgroot');
  realToolsIn(join(root, String(REAL_MAJOR), 'bin'));
  for (const [major, version] of [
    ['16', '16.6'],
    ['17', '17.2'],
  ]) {
    fakeTool(join(root, major, 'bin'), 'pg_dump', version);
    fakeTool(join(root, major, 'bin'), 'pg_restore', version);
  }
  return root;
}

async function find(options: Partial<FindPgToolsOptions> & { serverMajor: number }) {
  return findPgTools({ searchPath: '', extraDirs: [], runner, logger: silentLogger, ...options });
}

describe('parsePgVersion', () => {
  it('reads Debian, plain, beta and old banners', () => {
    expect(parsePgVersion('pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)\n')).toEqual({
      version: '15.18',
      major: 15,
      banner: 'pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)',
    });
    expect(parsePgVersion('pg_dump (PostgreSQL) 17.2')).toMatchObject({ version: '17.2', major: 17 });
    expect(parsePgVersion('pg_dump (PostgreSQL) 18beta1')).toMatchObject({ version: '18beta1', major: 18 });
    expect(parsePgVersion('pg_dump (PostgreSQL) 9.6.24')).toMatchObject({ major: 9 });
    expect(parsePgVersion('bash: pg_dump: command not found')).toBeUndefined();
  });
});

describe('findPgTools', () => {
  it('picks the newest pg_dump and pg_restore that are at least the server major', async () => {
    const root = toolRoot();
    const tools = await find({ serverMajor: 15, extraDirs: [`${root}/*/bin`] });
    expect(tools.pgDump).toMatchObject({
      path: join(root, '17', 'bin', 'pg_dump'),
      version: '17.2',
      major: 17,
    });
    expect(tools.pgRestore).toMatchObject({ path: join(root, '17', 'bin', 'pg_restore'), major: 17 });
    expect(tools.psql).toBeUndefined();
  });

  it('uses the real client when it is the only one new enough, and finds psql beside it', async () => {
    const root = tempDir('pgroot');
    realToolsIn(join(root, String(REAL_MAJOR), 'bin'));
    fakeTool(join(root, '14', 'bin'), 'pg_dump', '14.12');
    fakeTool(join(root, '14', 'bin'), 'pg_restore', '14.12');
    const tools = await find({ serverMajor: REAL_MAJOR, extraDirs: [`${root}/*/bin`] });
    expect(tools.pgDump.path).toBe(join(root, String(REAL_MAJOR), 'bin', 'pg_dump'));
    expect(tools.pgDump.banner).toMatch(new RegExp(`^pg_dump \\(PostgreSQL\\) ${REAL_MAJOR}\\.`));
    expect(tools.psql).toBe(join(root, String(REAL_MAJOR), 'bin', 'psql'));
  });

  it('fails naming the needed major, every pg_dump found with its version, and the fixes', async () => {
    const root = toolRoot();
    const error = await failure(find({ serverMajor: 18, extraDirs: [`${root}/*/bin`] }));
    expect(error.code).toBe('pg-tools');
    expect(error.message).toContain('PostgreSQL 18');
    expect(error.message).toContain(`${join(root, '17', 'bin', 'pg_dump')} (17.2)`);
    expect(error.message).toContain(`${join(root, '16', 'bin', 'pg_dump')} (16.6)`);
    expect(error.message).toMatch(
      new RegExp(`${join(root, String(REAL_MAJOR), 'bin', 'pg_dump')} \\(${REAL_MAJOR}\\.\\d+\\)`),
    );
    expect(error.hint).toContain('pg-dump-path');
    expect(error.hint).toContain('sudo apt-get install postgresql-client-18');
    expect(error.hint).toContain('brew install postgresql@18');
  });

  it('says so when there is no pg_dump at all', async () => {
    const error = await failure(find({ serverMajor: 15, extraDirs: [join(tempDir('empty'), '*', 'bin')] }));
    expect(error.message).toContain('no pg_dump at all');
  });

  it('uses an explicit path even when a newer client exists elsewhere', async () => {
    const root = toolRoot();
    const explicit = join(root, String(REAL_MAJOR), 'bin', 'pg_dump');
    const tools = await find({
      serverMajor: REAL_MAJOR,
      explicitPath: explicit,
      extraDirs: [`${root}/*/bin`],
    });
    expect(tools.pgDump.path).toBe(explicit);
    expect(tools.pgDump.major).toBe(REAL_MAJOR);
    expect(tools.pgRestore.path).toBe(join(root, String(REAL_MAJOR), 'bin', 'pg_restore'));
  });

  it('refuses an explicit pg_dump that is too old instead of picking another one', async () => {
    const root = toolRoot();
    const explicit = join(root, '16', 'bin', 'pg_dump');
    const error = await failure(
      find({ serverMajor: 17, explicitPath: explicit, extraDirs: [`${root}/*/bin`] }),
    );
    expect(error.message).toBe(
      `pg-dump-path "${explicit}" is pg_dump 16.6, but the server runs PostgreSQL 17: pg_dump must be version 17 or newer`,
    );
  });

  it('refuses an explicit path that does not exist, or has no pg_restore beside it', async () => {
    const missing = join(tempDir('none'), 'pg_dump');
    expect((await failure(find({ serverMajor: 15, explicitPath: missing }))).message).toBe(
      `pg-dump-path "${missing}" does not exist`,
    );
    const lonely = fakeTool(tempDir('lonely'), 'pg_dump', '17.2');
    const error = await failure(find({ serverMajor: 17, explicitPath: lonely }));
    expect(error.message).toContain('pg_restore 17+ must sit beside it');
  });

  it('searches PATH, and prefers the newest over the first', async () => {
    const onPath = tempDir('path');
    fakeTool(onPath, 'pg_dump', '16.6');
    fakeTool(onPath, 'pg_restore', '16.6');
    expect((await find({ serverMajor: 16, searchPath: `relative/dir:${onPath}` })).pgDump.path).toBe(
      join(onPath, 'pg_dump'),
    );
    const root = toolRoot();
    const both = await find({ serverMajor: 16, searchPath: onPath, extraDirs: [`${root}/*/bin`] });
    expect(both.pgDump.version).toBe('17.2');
  });

  it("prefers a real binary over Debian's pg_wrapper reporting the same version", async () => {
    const onPath = tempDir('wrapper');
    const wrapper = fakeTool(join(onPath, 'share'), 'pg_wrapper', '17.2');
    writeFileSync(wrapper, '#!/bin/sh\necho "$(basename "$0") (PostgreSQL) 17.2"\n');
    symlinkSync(wrapper, join(onPath, 'pg_dump'));
    symlinkSync(wrapper, join(onPath, 'pg_restore'));
    const root = toolRoot();
    const tools = await find({ serverMajor: 17, searchPath: onPath, extraDirs: [`${root}/*/bin`] });
    expect(tools.pgDump.path).toBe(join(root, '17', 'bin', 'pg_dump'));
    expect((await find({ serverMajor: 17, searchPath: onPath })).pgDump.path).toBe(join(onPath, 'pg_dump'));
  });

  it('skips non-executable files and reports a pg_dump without pg_restore or with a broken --version', async () => {
    const root = tempDir('broken');
    chmodSync(fakeTool(join(root, '17', 'bin'), 'pg_dump', '17.2'), 0o644);
    fakeTool(join(root, '17', 'bin'), 'pg_restore', '17.2');
    fakeTool(join(root, '16', 'bin'), 'pg_dump', '16.6');
    fakeTool(join(root, '18', 'bin'), 'pg_restore', '18.1');
    writeFileSync(fakeTool(join(root, '18', 'bin'), 'pg_dump', '18.1'), '#!/bin/sh\necho nonsense\n');
    const error = await failure(find({ serverMajor: 16, extraDirs: [`${root}/*/bin`] }));
    expect(error.message).not.toContain(join(root, '17'));
    expect(error.message).toContain(
      `${join(root, '16', 'bin', 'pg_dump')} (16.6; no usable pg_restore beside it)`,
    );
    expect(error.message).toContain(
      `${join(root, '18', 'bin', 'pg_dump')} ("pg_dump --version" did not report`,
    );
  });
});

describe('findPgTools with an installer', () => {
  function installer(root: string, behaviour: 'works' | 'fails' | 'unavailable') {
    const installed: number[] = [];
    const fake: ClientInstaller = {
      available: async () => behaviour !== 'unavailable',
      install: async (major) => {
        installed.push(major);
        if (behaviour === 'fails') throw new Error('E: Unable to locate package postgresql-client-' + major);
        fakeTool(join(root, String(major), 'bin'), 'pg_dump', `${major}.1`);
        fakeTool(join(root, String(major), 'bin'), 'pg_restore', `${major}.1`);
      },
    };
    return { fake, installed };
  }

  it('installs the missing major on Linux and then uses it', async () => {
    const root = toolRoot();
    const { fake, installed } = installer(root, 'works');
    const logger = capture();
    const tools = await findPgTools({
      serverMajor: 18,
      searchPath: '',
      extraDirs: [`${root}/*/bin`],
      installer: fake,
      platform: 'linux',
      runner,
      logger,
    });
    expect(installed).toEqual([18]);
    expect(tools.pgDump).toMatchObject({ path: join(root, '18', 'bin', 'pg_dump'), version: '18.1' });
    expect(logger.lines.join('\n')).toContain('installing postgresql-client-18');
  });

  it('does not install when a suitable client exists, nor off Linux', async () => {
    const root = toolRoot();
    const { fake, installed } = installer(root, 'works');
    await find({ serverMajor: 17, extraDirs: [`${root}/*/bin`], installer: fake, platform: 'linux' });
    const error = await failure(
      find({ serverMajor: 18, extraDirs: [`${root}/*/bin`], installer: fake, platform: 'darwin' }),
    );
    expect(installed).toEqual([]);
    expect(error.message).toContain('PostgreSQL 18');
  });

  it('fails with the reason when the installer is unavailable or fails', async () => {
    const root = toolRoot();
    const unavailable = installer(root, 'unavailable');
    const e1 = await failure(
      find({ serverMajor: 18, extraDirs: [`${root}/*/bin`], installer: unavailable.fake, platform: 'linux' }),
    );
    expect(e1.message).toContain('cannot be installed automatically here');
    expect(unavailable.installed).toEqual([]);
    const failing = installer(root, 'fails');
    const e2 = await failure(
      find({ serverMajor: 18, extraDirs: [`${root}/*/bin`], installer: failing.fake, platform: 'linux' }),
    );
    expect(e2.message).toContain(
      'Installing postgresql-client-18 failed: E: Unable to locate package postgresql-client-18',
    );
    expect(e2.message).toContain('17.2');
  });
});

describe('aptInstaller (commands recorded, never run)', () => {
  const osRelease = join(tempDir('os'), 'os-release');
  writeFileSync(osRelease, 'PRETTY_NAME="Ubuntu 24.04 LTS"\nVERSION_CODENAME=noble\nID=ubuntu\n');

  function fakeApt(answers: {
    candidate: string[];
    sudo?: number;
    aptGet?: number;
    fail?: string;
    curl?: number;
  }) {
    const lists: string[] = [];
    const rec = recordingRunner(async (call: Call) => {
      const line = [call.file, ...call.args].join(' ');
      if (line === 'apt-cache policy postgresql-client-17') {
        const candidate = answers.candidate.shift() ?? '(none)';
        return {
          code: 0,
          stdout: `postgresql-client-17:\n  Installed: (none)\n  Candidate: ${candidate}\n`,
          stderr: '',
        };
      }
      if (line.includes('install -m 0644')) lists.push(readFileSync(call.args[call.args.length - 2], 'utf8'));
      if (answers.fail && line.includes(answers.fail))
        return { code: 100, stdout: '', stderr: 'E: network unreachable' };
      if (line === 'sudo -n true') return { code: answers.sudo ?? 0, stdout: '', stderr: '' };
      if (line === 'apt-get --version') return { code: answers.aptGet ?? 0, stdout: 'apt 2.7', stderr: '' };
      if (line === 'curl --version') return { code: answers.curl ?? 0, stdout: 'curl 8', stderr: '' };
      return { code: 0, stdout: '', stderr: '' };
    });
    return { rec, lists, lines: () => rec.calls.map((c) => [c.file, ...c.args].join(' ')) };
  }

  it('is available with passwordless sudo and apt-get, or as root', async () => {
    expect(
      await aptInstaller(fakeApt({ candidate: [] }).rec, silentLogger, { isRoot: false }).available(),
    ).toBe(true);
    expect(
      await aptInstaller(fakeApt({ candidate: [], sudo: 1 }).rec, silentLogger, {
        isRoot: false,
      }).available(),
    ).toBe(false);
    expect(
      await aptInstaller(fakeApt({ candidate: [], aptGet: 127 }).rec, silentLogger, {
        isRoot: true,
      }).available(),
    ).toBe(false);
    const root = fakeApt({ candidate: [], sudo: 1 });
    expect(await aptInstaller(root.rec, silentLogger, { isRoot: true }).available()).toBe(true);
    expect(root.lines()).not.toContain('sudo -n true');
  });

  it('installs straight from the configured sources when they have the package', async () => {
    const apt = fakeApt({ candidate: ['17.2-1.pgdg24.04+1'] });
    await aptInstaller(apt.rec, silentLogger, { isRoot: false, osReleasePath: osRelease }).install(17);
    expect(apt.lines()).toEqual([
      'apt-cache policy postgresql-client-17',
      'sudo -n env DEBIAN_FRONTEND=noninteractive apt-get -q install -y --no-install-recommends postgresql-client-17',
    ]);
  });

  it('adds the PostgreSQL apt repository with its signing key first when they do not', async () => {
    const apt = fakeApt({ candidate: ['(none)', '17.2-1.pgdg24.04+1'] });
    await aptInstaller(apt.rec, silentLogger, { isRoot: false, osReleasePath: osRelease }).install(17);
    const lines = apt.lines();
    expect(lines[0]).toBe('apt-cache policy postgresql-client-17');
    expect(lines.slice(1, 4)).toEqual([
      'curl --version',
      'sudo -n install -d /usr/share/postgresql-common/pgdg',
      'sudo -n curl -fsSL -o /usr/share/postgresql-common/pgdg/apt.postgresql.org.asc https://www.postgresql.org/media/keys/ACCC4CF8.asc',
    ]);
    expect(lines[4]).toMatch(
      /^sudo -n install -m 0644 \S+\/pgdg\.list \/etc\/apt\/sources\.list\.d\/pgdg\.list$/,
    );
    expect(apt.lists).toEqual([
      'deb [signed-by=/usr/share/postgresql-common/pgdg/apt.postgresql.org.asc] https://apt.postgresql.org/pub/repos/apt noble-pgdg main\n',
    ]);
    expect(lines.slice(5)).toEqual([
      'sudo -n env DEBIAN_FRONTEND=noninteractive apt-get -q update',
      'apt-cache policy postgresql-client-17',
      'sudo -n env DEBIAN_FRONTEND=noninteractive apt-get -q install -y --no-install-recommends postgresql-client-17',
    ]);
  });

  it('runs without sudo as root and installs curl when it is missing', async () => {
    const apt = fakeApt({ candidate: ['(none)', '17.2-1'], curl: 127 });
    await aptInstaller(apt.rec, silentLogger, { isRoot: true, osReleasePath: osRelease }).install(17);
    expect(apt.lines().filter((l) => l.startsWith('sudo'))).toEqual([]);
    expect(apt.lines()).toContain(
      'env DEBIAN_FRONTEND=noninteractive apt-get -q install -y --no-install-recommends curl ca-certificates',
    );
  });

  it('fails with apt-get’s message, and when the repository has no such package either', async () => {
    const failing = fakeApt({ candidate: ['17.2-1'], fail: 'install -y' });
    await expect(aptInstaller(failing.rec, silentLogger, { isRoot: false }).install(17)).rejects.toThrow(
      'installing postgresql-client-17 failed (exit 100): E: network unreachable',
    );
    const none = fakeApt({ candidate: ['(none)', '(none)'] });
    await expect(
      aptInstaller(none.rec, silentLogger, { isRoot: false, osReleasePath: osRelease }).install(17),
    ).rejects.toThrow('the PostgreSQL apt repository offers no postgresql-client-17 for noble');
    expect(
      none.lines().some((l) => l.includes('apt-get -q install -y --no-install-recommends postgresql-client')),
    ).toBe(false);
  });
});
