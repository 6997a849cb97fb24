import { describe, expect } from '@jest/globals';
import { GuardError } from '../../src/errors.js';
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseDatabaseUrl, type DatabaseTarget } from '../../src/config/database-url.js';
import type { Logger } from '../../src/logger.js';
import { createProcessRunner, type ProcessRunner, type RunOptions } from '../../src/backup/process.js';
import type { TestServer } from '../helpers/db.js';
import { withPg } from '../helpers/db.js';

/**
 * The PostgreSQL client tools installed on this machine (Debian: /usr/lib/postgresql/<major>/bin).
 * Found from pg_dump, not pg_config: the postgresql-client package alone does not ship pg_config.
 */
export const REAL_BIN = findClientBin();

function findClientBin(): string {
  const version = execFileSync('pg_dump', ['--version'], { encoding: 'utf8' });
  const major = /\(PostgreSQL\) (\d+)/.exec(version)?.[1];
  const debian = `/usr/lib/postgresql/${major}/bin`;
  if (existsSync(join(debian, 'pg_dump'))) return debian;
  const onPath = execFileSync('sh', ['-c', 'command -v pg_dump'], { encoding: 'utf8' }).trim();
  return dirname(realpathSync(onPath));
}
export const REAL_MAJOR = Number(
  /\(PostgreSQL\) (\d+)/.exec(
    execFileSync(join(REAL_BIN, 'pg_dump'), ['--version'], { encoding: 'utf8' }),
  )![1],
);

export function serverMajor(server: TestServer): number {
  const out = execFileSync('psql', ['-XAtc', 'SHOW server_version_num', server.url], { encoding: 'utf8' });
  return Math.floor(Number(out.trim()) / 10000);
}

/** describe.each that tolerates an empty table (a server set without that kind of server). */
export function eachServer<T extends TestServer>(servers: T[]) {
  return servers.length > 0 ? describe.each(servers) : describe.skip.each([{ name: 'none', url: '' } as T]);
}

export function targetOf(url: string): DatabaseTarget {
  const parsed = parseDatabaseUrl(url);
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.target;
}

let scratch: string | undefined;

/** A new directory under this test file's scratch root; `removeTempDirs` (in afterAll) deletes them all. */
export function tempDir(prefix: string): string {
  scratch ??= mkdtempSync(join(tmpdir(), 'mg-backup-tests-'));
  return mkdtempSync(join(scratch, `${prefix}-`));
}

export function removeTempDirs(): void {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  scratch = undefined;
}

/** A stand-in for a client program of another version: prints what `--version` would. */
export function fakeTool(dir: string, name: string, version: string): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\necho "${name} (PostgreSQL) ${version}"\n`);
  chmodSync(path, 0o755);
  return path;
}

/** Links the real client programs into `dir`, the way /usr/lib/postgresql/<major>/bin holds them. */
export function realToolsIn(dir: string, names = ['pg_dump', 'pg_restore', 'psql']): void {
  mkdirSync(dir, { recursive: true });
  for (const name of names) symlinkSync(join(REAL_BIN, name), join(dir, name));
}

export interface Call {
  file: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
}

/** The real runner, recording every call; `override` may answer a call instead of running it. */
export function recordingRunner(
  override?: (
    call: Call,
  ) => Promise<{ code: number; stdout: string; stderr: string } | undefined> | undefined,
): ProcessRunner & { calls: Call[] } {
  const real = createProcessRunner();
  const calls: Call[] = [];
  return {
    calls,
    async run(file: string, args: readonly string[], options: RunOptions = {}) {
      const call = { file, args: [...args], env: options.env };
      calls.push(call);
      return (await override?.(call)) ?? real.run(file, args, options);
    },
  };
}

export function capture(lines: string[] = []): Logger & { lines: string[] } {
  return {
    lines,
    info: (m) => lines.push(`info: ${m}`),
    warn: (m) => lines.push(`warn: ${m}`),
    error: (m) => lines.push(`error: ${m}`),
    debug: () => {},
    group: (_t, fn) => fn(),
  };
}

/** `pg_dump --schema-only` without the \restrict lines, which carry a random key on every run. */
export function schemaDump(url: string): string {
  const out = execFileSync(join(REAL_BIN, 'pg_dump'), ['--schema-only', '--dbname', url], {
    encoding: 'utf8',
  });
  return out
    .split('\n')
    .filter((l) => !/^\\(un)?restrict /.test(l))
    .join('\n');
}

/** Every row of every user table (sorted), and every sequence's position. */
export async function contents(url: string): Promise<Record<string, unknown>> {
  return withPg(url, async (c) => {
    const out: Record<string, unknown> = {};
    const tables = await c.query<{ t: string }>(
      `SELECT format('%I.%I', schemaname, tablename) AS t FROM pg_tables
        WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`,
    );
    for (const { t } of tables.rows) {
      const rows = await c.query<{ r: string }>(`SELECT row_to_json(mg_row_)::text AS r FROM ${t} mg_row_`);
      out[t] = rows.rows.map((r) => r.r).sort();
    }
    const seqs = await c.query<{ s: string; v: string; called: boolean }>(
      `SELECT format('%I.%I', schemaname, sequencename) AS s, last_value::text AS v FROM pg_sequences ORDER BY 1`,
    );
    for (const s of seqs.rows) out[`sequence ${s.s}`] = s.v;
    return out;
  });
}

/** The GuardError a promise rejects with (the test fails if it resolves or rejects otherwise). */
export async function failure(promise: Promise<unknown>): Promise<GuardError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(GuardError);
  return error as GuardError;
}
