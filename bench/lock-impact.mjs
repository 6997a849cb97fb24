#!/usr/bin/env node
/**
 * Lock impact: what a migration that must wait for a lock does to the application's latency.
 *
 *   node bench/lock-impact.mjs [--rate 200] [--clients 4] [--threads 2] [--duration 60]
 *        [--blocker-at 2] [--hold 20] [--migrate-at 3] [--lock-timeout 2s] [--lock-retries 10]
 *        [--rounds 1] [--only ours,psql,psql-retry,dbmate,supabase] [--pg 17] [--rows 100000]
 *
 * One embedded PostgreSQL (127.0.0.1, default durability). A template database holds
 * `t (id int primary key, val int, payload text)` with --rows rows; every contender gets its own
 * copy (CREATE DATABASE … TEMPLATE), so all start from the same state. For each contender:
 *
 *   t=0               pgbench starts the application workload: point reads (3/4) and point updates
 *                     (1/4) on t, at a fixed rate (-R), -c clients, -j threads, for --duration s,
 *                     logging every transaction (-l).
 *   t=--blocker-at    a "blocker" session runs BEGIN; SELECT … FROM t WHERE id = 1; and stays idle in
 *                     that transaction for --hold s: it holds ACCESS SHARE on t (a long report or a
 *                     forgotten idle-in-transaction session). The app is not blocked by it.
 *   t=--migrate-at    the contender starts the migration `ALTER TABLE t ADD COLUMN note text`
 *                     (ACCESS EXCLUSIVE: it must wait for the blocker, and every app query that
 *                     arrives meanwhile queues behind the waiting ALTER).
 *
 * Latency: pgbench's per-transaction log field 3 ("time"). With --rate, pgbench measures it from
 * the transaction's SCHEDULED start (man pgbench, -R: "the transaction latency … is calculated from
 * the scheduled start times"; field 7 "schedule_lag" is the part spent waiting to start), so a
 * stalled client's backlog counts in full. The script checks time >= schedule_lag on every line.
 *
 * Reported per contender: app max / p99 / p99.9 latency, transactions over 1 s, "stall" (measure
 * of the union of [scheduled start, end] of transactions slower than 200 ms), failed app
 * transactions (pgbench failures + aborted clients), and the migration's duration, exit status and
 * whether the column exists afterwards.
 */
import pg from 'pg';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { snapshotDist } from './lib/dist.mjs';
import { startServer } from './lib/server.mjs';
import {
  BIN,
  ROOT,
  fmt,
  gitHead,
  intOption,
  libpqEnv,
  cleanEnv,
  machineInfo,
  machineMarkdown,
  makeTempDir,
  markdownTable,
  median,
  onCleanup,
  percentileSorted,
  runMain,
  runProcess,
  sleep,
  toolVersion,
  writeResults,
} from './lib/safety-common.mjs';

// dbmate is not a dev dependency (the npm registry mirror lacks its non-Linux packages, which
// breaks `npm ci`): install it for the benchmarks only.
if (!(await import('node:fs')).existsSync(new URL('../node_modules/.bin/dbmate', import.meta.url))) {
  console.error('dbmate is missing: run `npm i --no-save dbmate@2.36.0` first');
  process.exit(1);
}

const CONTENDERS = ['ours', 'psql', 'psql-retry', 'dbmate', 'supabase'];

const { values: args } = parseArgs({
  options: {
    rate: { type: 'string', default: '200' },
    clients: { type: 'string', default: '4' },
    threads: { type: 'string', default: '2' },
    duration: { type: 'string', default: '60' },
    'blocker-at': { type: 'string', default: '2' },
    hold: { type: 'string', default: '20' },
    'migrate-at': { type: 'string', default: '3' },
    'lock-timeout': { type: 'string', default: '2s' },
    'lock-retries': { type: 'string', default: '10' },
    'retry-sleep': { type: 'string', default: '1' },
    rounds: { type: 'string', default: '1' },
    only: { type: 'string' },
    pg: { type: 'string', default: '17' },
    rows: { type: 'string', default: '100000' },
    timeout: { type: 'string', default: '180' },
    dist: { type: 'string', default: join(ROOT, 'dist') },
    help: { type: 'boolean', short: 'h' },
  },
});
if (args.help) {
  console.log(
    'usage: node bench/lock-impact.mjs [--rate 200] [--clients 4] [--threads 2] [--duration 60] [--blocker-at 2] [--hold 20]\n' +
      '         [--migrate-at 3] [--lock-timeout 2s] [--lock-retries 10] [--retry-sleep 1] [--rounds 1]\n' +
      `         [--only ${CONTENDERS.join(',')}] [--pg 17] [--rows 100000] [--timeout 180] [--dist dist]`,
  );
  process.exit(0);
}
const RATE = intOption(args.rate, 'rate', 1, 100_000);
const CLIENTS = intOption(args.clients, 'clients', 1, 40);
const THREADS = intOption(args.threads, 'threads', 1, CLIENTS);
const DURATION = intOption(args.duration, 'duration', 10, 3600);
const BLOCKER_AT = Number(args['blocker-at']);
const HOLD = Number(args.hold);
const MIGRATE_AT = Number(args['migrate-at']);
const LOCK_TIMEOUT = args['lock-timeout'];
const LOCK_RETRIES = intOption(args['lock-retries'], 'lock-retries', 0, 50);
const RETRY_SLEEP = Number(args['retry-sleep']);
const ROUNDS = intOption(args.rounds, 'rounds', 1, 50);
const PG_MAJOR = intOption(args.pg, 'pg', 15, 17);
const ROWS = intOption(args.rows, 'rows', 1000, 100_000_000);
const TIMEOUT_MS = intOption(args.timeout, 'timeout', 10, 3600) * 1000;
for (const [name, v] of [['blocker-at', BLOCKER_AT], ['hold', HOLD], ['migrate-at', MIGRATE_AT], ['retry-sleep', RETRY_SLEEP]]) {
  if (!Number.isFinite(v) || v < 0 || v > 3600) {
    console.error(`--${name} must be a number of seconds`);
    process.exit(2);
  }
}
const LOCK_TIMEOUT_MS = parseDuration(LOCK_TIMEOUT);
const ONLY = args.only ? args.only.split(',').map((s) => s.trim()) : CONTENDERS;
for (const id of ONLY) {
  if (!CONTENDERS.includes(id)) {
    console.error(`--only: unknown contender "${id}" (known: ${CONTENDERS.join(', ')})`);
    process.exit(2);
  }
}
/** Transactions slower than this count towards the "stall" measure. */
const STALL_THRESHOLD_MS = 200;
const VERSION = '20250101000000';
const MIGRATION_SQL = 'ALTER TABLE t ADD COLUMN note text;';

function parseDuration(text) {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|min|m)?$/.exec(text.trim());
  if (!m) {
    console.error(`--lock-timeout must look like 500ms, 2s or 1min, got "${text}"`);
    process.exit(2);
  }
  const n = Number(m[1]);
  return m[2] === 'ms' ? n : m[2] === 'min' || m[2] === 'm' ? n * 60_000 : n * 1000;
}

/**
 * The minimum time our tool keeps trying before it gives up: (retries + 1) lock waits plus the
 * smallest backoff of each retry (src/engine/execute.ts: random(0..min(30 s, 500 ms·2^k)) + 100 ms).
 */
function oursMinimumPersistenceMs() {
  return (LOCK_RETRIES + 1) * LOCK_TIMEOUT_MS + LOCK_RETRIES * 100;
}

// ---------------------------------------------------------------------------------------------
// Files: the migration for each tool, the pgbench scripts, the psql retry loop
// ---------------------------------------------------------------------------------------------
function writeFiles(root) {
  const plain = join(root, 'migrations');
  const dbmate = join(root, 'dbmate-migrations');
  const supabaseWork = join(root, 'supabase-project');
  const supabaseMigrations = join(supabaseWork, 'supabase', 'migrations');
  for (const d of [plain, dbmate, supabaseMigrations]) mkdirSync(d, { recursive: true });
  const file = `${VERSION}_add_note.sql`;
  writeFileSync(join(plain, file), `${MIGRATION_SQL}\n`);
  writeFileSync(join(plain, `${VERSION}_add_note.down.sql`), 'ALTER TABLE t DROP COLUMN note;\n');
  writeFileSync(join(supabaseMigrations, file), `${MIGRATION_SQL}\n`);
  writeFileSync(join(dbmate, file), `-- migrate:up\n${MIGRATION_SQL}\n\n-- migrate:down\nALTER TABLE t DROP COLUMN note;\n`);
  const read = join(root, 'app-read.sql');
  const write = join(root, 'app-write.sql');
  writeFileSync(read, `\\set id random(1, ${ROWS})\nSELECT val, payload FROM t WHERE id = :id;\n`);
  writeFileSync(write, `\\set id random(1, ${ROWS})\nUPDATE t SET val = val + 1 WHERE id = :id;\n`);
  // The hand-written good practice: lock_timeout, and a retry loop with a fixed pause.
  const retry = join(root, 'psql-retry.sh');
  const attempts = Math.ceil((TIMEOUT_MS / 1000) / (LOCK_TIMEOUT_MS / 1000 + RETRY_SLEEP));
  writeFileSync(
    retry,
    [
      '#!/usr/bin/env bash',
      '# psql with a lock timeout, retried after a pause until it succeeds (bounded).',
      'set -u',
      `for attempt in $(seq 1 ${attempts}); do`,
      `  if psql -X -q -v ON_ERROR_STOP=1 -c "SET lock_timeout = '${LOCK_TIMEOUT_MS}ms'" -f "$1"; then`,
      '    echo "attempt $attempt succeeded"; exit 0',
      '  fi',
      `  sleep ${RETRY_SLEEP}`,
      'done',
      'exit 1',
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  return { plain, dbmate, supabaseWork, file, read, write, retry };
}

function contenderCommand(id, { server, db, files, dist }) {
  const url = server.url(db);
  switch (id) {
    case 'ours':
      return {
        label: `ours (cli apply --lock-timeout ${LOCK_TIMEOUT} --lock-retries ${LOCK_RETRIES} --backup off)`,
        cmd: process.execPath,
        argv: [
          join(dist, 'cli.js'), 'apply', '--database-url', url, '--migrations-dir', files.plain, '--backup', 'off',
          '--lock-timeout', LOCK_TIMEOUT, '--lock-retries', String(LOCK_RETRIES), '--environment', 'bench', '--json',
        ],
        env: cleanEnv(),
      };
    case 'psql':
      return {
        label: 'psql -f (no lock_timeout)',
        cmd: 'psql',
        argv: ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', join(files.plain, files.file)],
        env: libpqEnv(server, db),
      };
    case 'psql-retry':
      return {
        label: `psql + SET lock_timeout ${LOCK_TIMEOUT_MS}ms, bash retry every ${RETRY_SLEEP} s`,
        cmd: 'bash',
        argv: [files.retry, join(files.plain, files.file)],
        env: libpqEnv(server, db),
      };
    case 'dbmate':
      return {
        label: 'dbmate up',
        cmd: join(BIN, 'dbmate'),
        argv: ['--url', `${url}?sslmode=disable`, '--migrations-dir', files.dbmate, '--no-dump-schema', 'up'],
        env: cleanEnv(),
      };
    case 'supabase':
      return {
        label: 'supabase db push',
        cmd: join(BIN, 'supabase'),
        argv: ['db', 'push', '--db-url', `${url}?sslmode=disable`, '--yes'],
        cwd: files.supabaseWork,
        env: cleanEnv(),
      };
    default:
      throw new Error(id);
  }
}

// ---------------------------------------------------------------------------------------------
// pgbench log analysis
// ---------------------------------------------------------------------------------------------
function readPgbenchLogs(dir, prefix) {
  const entries = [];
  let failedLines = 0;
  let lagViolations = 0;
  for (const name of readdirSync(dir).filter((n) => n.startsWith(`${prefix}.`))) {
    for (const line of readFileSync(join(dir, name), 'utf8').split('\n')) {
      if (!line.trim()) continue;
      const f = line.trim().split(/\s+/);
      // client_id transaction_no time script_no time_epoch time_us [schedule_lag] [retries]
      if (f[2] === 'failed' || f[2] === 'serialization' || f[2] === 'deadlock') {
        failedLines++;
        continue;
      }
      if (f[2] === 'skipped') continue;
      const latencyUs = Number(f[2]);
      const endMs = Number(f[4]) * 1000 + Number(f[5]) / 1000;
      const lagUs = f[6] !== undefined ? Number(f[6]) : 0;
      if (latencyUs + 1 < lagUs) lagViolations++;
      entries.push({ script: Number(f[3]), latencyMs: latencyUs / 1000, lagMs: lagUs / 1000, endMs, scheduledMs: endMs - latencyUs / 1000 });
    }
  }
  return { entries, failedLines, lagViolations };
}

/** Total length of the union of [scheduled start, end] of the slow transactions (ms). */
function stallMs(entries, thresholdMs) {
  const spans = entries.filter((e) => e.latencyMs > thresholdMs).map((e) => [e.scheduledMs, e.endMs]).sort((a, b) => a[0] - b[0]);
  let total = 0;
  let cur;
  for (const [s, e] of spans) {
    if (!cur || s > cur[1]) {
      if (cur) total += cur[1] - cur[0];
      cur = [s, e];
    } else cur[1] = Math.max(cur[1], e);
  }
  if (cur) total += cur[1] - cur[0];
  return total;
}

/** Stall windows (merged spans of slow transactions), relative to t0, for the raw results. */
function stallWindows(entries, thresholdMs, t0) {
  const spans = entries.filter((e) => e.latencyMs > thresholdMs).map((e) => [e.scheduledMs, e.endMs]).sort((a, b) => a[0] - b[0]);
  const out = [];
  for (const [s, e] of spans) {
    const last = out[out.length - 1];
    if (!last || s > last[1]) out.push([s, e]);
    else last[1] = Math.max(last[1], e);
  }
  return out.map(([s, e]) => ({ fromS: round3((s - t0) / 1000), toS: round3((e - t0) / 1000), lengthMs: Math.round(e - s) }));
}

const round3 = (x) => Math.round(x * 1000) / 1000;

function summariseSummary(stdout, stderr) {
  const num = (re) => {
    const m = re.exec(stdout);
    return m ? Number(m[1]) : undefined;
  };
  return {
    processed: num(/number of transactions actually processed:\s*(\d+)/),
    failed: num(/^number of failed transactions:\s*(\d+)/m) ?? 0,
    maxLagMs: num(/rate limit schedule lag: avg [\d.]+ \(max ([\d.]+)\) ms/),
    tps: num(/tps = ([\d.]+)/),
    abortedClients: (stderr.match(/client \d+ aborted/g) ?? []).length,
  };
}

// ---------------------------------------------------------------------------------------------
// One contender run
// ---------------------------------------------------------------------------------------------
async function runContender(id, round, { server, files, dist, work, template }) {
  const db = `lock_${id.replace(/-/g, '_')}_${round}`;
  await server.admin(async (c) => {
    await c.query(`DROP DATABASE IF EXISTS ${db}`);
    await c.query(`CREATE DATABASE ${db} TEMPLATE ${template}`);
    await c.query('CHECKPOINT');
  });
  const command = contenderCommand(id, { server, db, files, dist });
  const logDir = join(work, `${db}-log`);
  mkdirSync(logDir, { recursive: true });
  const prefix = 'app';
  console.error(`\n[${id} round ${round}] ${command.label}`);

  const t0 = Date.now();
  const bench = runProcess(
    'pgbench',
    [
      '-n', '-f', `${files.read}@3`, '-f', `${files.write}@1`, '-c', String(CLIENTS), '-j', String(THREADS),
      '-R', String(RATE), '-T', String(DURATION), '-l', '--log-prefix', join(logDir, prefix), '--random-seed=1',
    ],
    { env: libpqEnv(server, db, { PGAPPNAME: 'app' }), cwd: logDir, timeoutMs: (DURATION + 120) * 1000 },
  );

  // The blocker: a transaction that has read t and stays open (ACCESS SHARE on t).
  const blocker = new pg.Client({ connectionString: server.url(db), application_name: 'blocker' });
  const blockerInfo = {};
  const blockerDone = (async () => {
    await sleep(Math.max(0, t0 + BLOCKER_AT * 1000 - Date.now()));
    await blocker.connect();
    await blocker.query('BEGIN');
    await blocker.query('SELECT val FROM t WHERE id = 1');
    blockerInfo.lockedMs = Date.now();
    const { rows } = await blocker.query(
      "SELECT count(*)::int AS n FROM pg_locks WHERE pid = pg_backend_pid() AND relation = 't'::regclass AND mode = 'AccessShareLock' AND granted",
    );
    blockerInfo.holdsAccessShare = rows[0].n === 1;
    await sleep(HOLD * 1000);
    await blocker.query('COMMIT');
    blockerInfo.releasedMs = Date.now();
    await blocker.end();
  })();
  blockerDone.catch(() => {});

  await sleep(Math.max(0, t0 + MIGRATE_AT * 1000 - Date.now()));
  const migration = await runProcess(command.cmd, command.argv, { env: command.env, cwd: command.cwd ?? work, timeoutMs: TIMEOUT_MS });
  console.error(`  migration exited ${migration.code ?? migration.signal} after ${migration.seconds.toFixed(2)} s${migration.timedOut ? ' (timed out)' : ''}`);
  await blockerDone;
  const app = await bench;
  if (app.code !== 0 && app.code !== 2) throw new Error(`pgbench failed (${app.code}): ${app.stderr.slice(-2000)}`);

  const columnExists = await server.admin(
    async (c) =>
      (await c.query("SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = 't' AND column_name = 'note'")).rows[0].n === 1,
    db,
  );
  const logs = readPgbenchLogs(logDir, prefix);
  if (logs.lagViolations > 0) console.error(`  warning: ${logs.lagViolations} log lines with time < schedule_lag`);
  const summary = summariseSummary(app.stdout, app.stderr);
  const latencies = logs.entries.map((e) => e.latencyMs).sort((a, b) => a - b);
  const worst = logs.entries.reduce((w, e) => (!w || e.latencyMs > w.latencyMs ? e : w), undefined);
  let ours;
  if (id === 'ours') {
    try {
      const report = JSON.parse(migration.stdout);
      ours = {
        status: report.status,
        retries: report.lock?.retries ?? [],
        totalBackoffMs: (report.lock?.retries ?? []).reduce((s, r) => s + r.delayMs, 0),
        message: report.message,
      };
    } catch {
      ours = { status: 'unparsable report', stdoutTail: migration.stdout.slice(-500) };
    }
  }
  const result = {
    id,
    round,
    label: command.label,
    migration: {
      startS: round3((migration.startMs - t0) / 1000),
      endS: round3((migration.endMs - t0) / 1000),
      seconds: round3(migration.seconds),
      exitCode: migration.code,
      signal: migration.signal,
      timedOut: migration.timedOut,
      columnExists,
      succeeded: migration.code === 0 && columnExists,
      finishedAfterAppWindow: migration.endMs > t0 + DURATION * 1000,
      stdoutTail: migration.stdout.slice(-1500),
      stderrTail: migration.stderr.slice(-3000),
    },
    ours,
    blocker: {
      lockedS: blockerInfo.lockedMs ? round3((blockerInfo.lockedMs - t0) / 1000) : undefined,
      releasedS: blockerInfo.releasedMs ? round3((blockerInfo.releasedMs - t0) / 1000) : undefined,
      holdsAccessShare: blockerInfo.holdsAccessShare,
    },
    app: {
      transactions: logs.entries.length,
      expectedAtRate: RATE * DURATION,
      maxMs: latencies[latencies.length - 1],
      p50Ms: percentileSorted(latencies, 50),
      p99Ms: percentileSorted(latencies, 99),
      p999Ms: percentileSorted(latencies, 99.9),
      over1s: latencies.filter((x) => x > 1000).length,
      overTarget: latencies.filter((x) => x > LOCK_TIMEOUT_MS + 200).length,
      stallMs: Math.round(stallMs(logs.entries, STALL_THRESHOLD_MS)),
      stallWindows: stallWindows(logs.entries, STALL_THRESHOLD_MS, t0),
      worst: worst && { latencyMs: worst.latencyMs, lagMs: worst.lagMs, scheduledS: round3((worst.scheduledMs - t0) / 1000), endS: round3((worst.endMs - t0) / 1000) },
      failed: summary.failed, // pgbench's count; the log's "failed" lines are the same transactions
      failedLogLines: logs.failedLines,
      abortedClients: summary.abortedClients,
      pgbench: summary,
      lagViolations: logs.lagViolations,
    },
  };
  console.error(
    `  app: max ${fmt(result.app.maxMs, 1)} ms, p99 ${fmt(result.app.p99Ms, 1)} ms, stall ${(result.app.stallMs / 1000).toFixed(2)} s, ` +
      `failed ${result.app.failed}, aborted clients ${result.app.abortedClients}; column ${columnExists ? 'added' : 'MISSING'}`,
  );
  await server.admin(async (c) => {
    await c.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
  });
  return result;
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------
runMain(async () => {
  const machine = machineInfo();
  const work = makeTempDir('mg-lock-');
  const { dir: dist, hash: distSha } = await snapshotDist(resolve(args.dist), join(work, 'dist'));
  const build = `${resolve(args.dist)} (files sha256 ${distSha}, git ${gitHead()})`;
  const files = writeFiles(work);

  const server = await startServer({ major: PG_MAJOR, dataDir: makeTempDir('mg-lock-pgdata-') });
  onCleanup(() => server.stop());
  const template = 'lock_template';
  await server.admin((c) => c.query(`CREATE DATABASE ${template}`));
  await server.admin(async (c) => {
    await c.query('CREATE TABLE t (id int PRIMARY KEY, val int NOT NULL DEFAULT 0, payload text NOT NULL)');
    await c.query(`INSERT INTO t SELECT g, 0, md5(g::text) FROM generate_series(1, ${ROWS}) g`);
    await c.query('VACUUM ANALYZE t');
  }, template);
  const serverVersion = await server.admin(async (c) => (await c.query('SHOW server_version')).rows[0].server_version);

  const persistence = oursMinimumPersistenceMs();
  const mustOutlastMs = (BLOCKER_AT + HOLD - MIGRATE_AT) * 1000;
  console.error(
    `ours: --lock-timeout ${LOCK_TIMEOUT} --lock-retries ${LOCK_RETRIES} keeps trying for at least ${(persistence / 1000).toFixed(1)} s ` +
      `(${LOCK_RETRIES + 1} lock waits of ${LOCK_TIMEOUT_MS} ms + ≥ 100 ms backoff each); the blocker ends ${(mustOutlastMs / 1000).toFixed(1)} s after the migration starts`,
  );

  const results = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const order = ONLY.slice((round - 1) % ONLY.length).concat(ONLY.slice(0, (round - 1) % ONLY.length));
    for (const id of order) results.push(await runContender(id, round, { server, files, dist, work, template }));
  }

  const versions = {
    pgbench: toolVersion('pgbench'),
    psql: toolVersion('psql'),
    dbmate: toolVersion(join(BIN, 'dbmate')),
    supabase: toolVersion(join(BIN, 'supabase')),
  };
  const targetMs = LOCK_TIMEOUT_MS + 200;
  const rows = ONLY.map((id) => {
    const rs = results.filter((r) => r.id === id);
    const m = (f) => median(rs.map(f));
    const ok = rs.filter((r) => r.migration.succeeded).length;
    const extra = id === 'ours' ? ` (${median(rs.map((r) => r.ours?.retries?.length ?? NaN))} retries)` : '';
    return [
      rs[0].label,
      fmt(m((r) => r.app.maxMs), 0),
      fmt(m((r) => r.app.p99Ms), 0),
      fmt(m((r) => r.app.p999Ms), 0),
      fmt(m((r) => r.app.over1s), 0),
      fmt(m((r) => r.app.stallMs / 1000), 1),
      String(rs.reduce((s, r) => s + r.app.failed, 0) + (rs.some((r) => r.app.abortedClients) ? ` (+${rs.reduce((s, r) => s + r.app.abortedClients, 0)} aborted clients)` : '')),
      fmt(m((r) => r.migration.seconds), 1) + extra,
      `${ok}/${rs.length}${rs.some((r) => r.migration.finishedAfterAppWindow) ? ' (ended after the app window)' : ''}`,
    ];
  });
  const table = markdownTable(
    ['contender', 'app max latency ms', 'app p99 ms', 'app p99.9 ms', 'app txns > 1 s', 'app stalled s', 'failed app txns', 'migration s', 'migration succeeded'],
    rows,
  );
  const ours = results.filter((r) => r.id === 'ours');
  const verdict = ours.length
    ? `Target (ours): max app latency ≤ lock timeout + 0.2 s = ${targetMs} ms: ${ours.every((r) => r.app.maxMs <= targetMs) ? 'MET' : 'MISSED'} ` +
      `(max ${ours.map((r) => fmt(r.app.maxMs, 0)).join(', ')} ms); migration succeeds after the blocker ends: ${ours.every((r) => r.migration.succeeded) ? 'MET' : 'MISSED'}.`
    : '';
  const naive = results.filter((r) => ['psql', 'dbmate', 'supabase'].includes(r.id));
  const naiveLine = naive.length
    ? `Claim "every naive tool stalls the app for ~17–18 s": measured max latency ${naive.map((r) => `${r.id} ${fmt(r.app.maxMs / 1000, 1)} s`).join(', ')}.`
    : '';
  const output = [
    `## Lock impact: app latency while a migration waits for a lock (${ROUNDS} round${ROUNDS > 1 ? 's, medians' : ''})`,
    '',
    machineMarkdown(machine, `${serverVersion}`),
    `- Build under test: ${build}`,
    `- Workload: pgbench ${versions.pgbench.replace(/^pgbench \(PostgreSQL\) /, '')} -R ${RATE} -c ${CLIENTS} -j ${THREADS} -T ${DURATION}; 3/4 point SELECT, 1/4 point UPDATE on t (${ROWS} rows). ` +
      'Latency = per-transaction log field "time", measured from the SCHEDULED start (includes schedule_lag).',
    `- Blocker: BEGIN; SELECT … FROM t WHERE id = 1; idle in transaction (ACCESS SHARE on t) from t=${BLOCKER_AT} s for ${HOLD} s. Migration \`${MIGRATION_SQL}\` started at t=${MIGRATE_AT} s.`,
    `- Ours: --lock-timeout ${LOCK_TIMEOUT} --lock-retries ${LOCK_RETRIES}: keeps trying ≥ ${(persistence / 1000).toFixed(1)} s (the blocker ends ${(mustOutlastMs / 1000).toFixed(1)} s after the start). psql-retry: bash loop, SET lock_timeout, sleep ${RETRY_SLEEP} s between attempts.`,
    `- "app stalled s": total time covered by transactions slower than ${STALL_THRESHOLD_MS} ms (union of their scheduled-start→end spans). Versions: ${versions.dbmate}, supabase CLI ${versions.supabase}.`,
    '',
    table,
    '',
    verdict,
    naiveLine,
  ].join('\n');
  console.log(output);
  const path = writeResults('lock-impact', {
    build,
    machine,
    serverVersion,
    versions,
    settings: { RATE, CLIENTS, THREADS, DURATION, BLOCKER_AT, HOLD, MIGRATE_AT, LOCK_TIMEOUT, LOCK_RETRIES, RETRY_SLEEP, ROUNDS, ROWS, STALL_THRESHOLD_MS, latencyField: 'pgbench -l field 3 "time" (from scheduled start when -R is used)' },
    results,
    markdown: output,
  });
  console.error(`raw results: ${path}`);
});
