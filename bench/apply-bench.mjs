#!/usr/bin/env node
/**
 * Apply benchmark: our action (dist/index.js) against raw psql, dbmate and `supabase db push`.
 *
 *   npm run bench -- [--n 500] [--rounds 5] [--warmup 1] [--seed 42] [--only a,b] [--timeout 900]
 *                    [--pg 17] [--dist dist] [--input NAME=VALUE …]
 *
 * Our runs get `backup: off` unless --input says otherwise (no other contender takes a backup).
 *
 * Generates N deterministic Supabase-style migrations, starts one embedded PostgreSQL 17 server
 * (default durability settings, 127.0.0.1 only), and for each round gives every contender, in a
 * rotated order, a brand-new database (from a template holding the Supabase roles and auth.uid())
 * on which it applies all N files, then runs again on the same database (the no-op run). Wall-clock
 * time of the whole process is measured; every run is verified (objects, seed rows, history rows,
 * action outputs) so a broken run cannot look fast. Prints a Markdown table and writes the raw
 * results to bench/results/.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { generateMigrations, verifySql, writeMigrationSets } from './lib/generate.mjs';
import { distHash, snapshotDist } from './lib/dist.mjs';
import { prepareSupabaseTemplate, startServer } from './lib/server.mjs';
import { actionNode } from './lib/action-node.mjs';
import { startLatencyProxy } from './lib/latency-proxy.mjs';
import { githubPushEnv, startGithubApi } from './lib/github-api.mjs';
import { seedAuditLog } from './lib/audit-seed.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..');
const BIN = join(ROOT, 'node_modules', '.bin');

// dbmate is not a dev dependency (the npm registry mirror lacks its non-Linux packages, which
// breaks `npm ci`): install it for the benchmarks only, in node_modules or beside Node 24 in
// bench/.tools (`npm i --prefix bench/.tools dbmate@2.36.0`, which leaves node_modules alone).
const DBMATE = [join(BIN, 'dbmate'), join(HERE, '.tools', 'node_modules', '.bin', 'dbmate')].find((p) => existsSync(p));
if (!DBMATE) {
  console.error('dbmate is missing: run `npm i --no-save dbmate@2.36.0` (or `npm i --prefix bench/.tools dbmate@2.36.0`) first');
  process.exit(1);
}

const { values: args } = parseArgs({
  options: {
    n: { type: 'string', default: '500' },
    rounds: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    seed: { type: 'string', default: '42' },
    only: { type: 'string' },
    timeout: { type: 'string', default: '900' },
    pg: { type: 'string', default: '17' },
    dist: { type: 'string', default: join(ROOT, 'dist') },
    input: { type: 'string', multiple: true, default: [] },
    node: { type: 'string' },
    rtt: { type: 'string', default: '0' },
    'audit-log-exists': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h' },
  },
});
if (args.help) {
  console.log('usage: node bench/apply-bench.mjs [--n 500] [--rounds 5] [--warmup 1] [--seed 42] [--only ours-all,ours-all-quiet,ours-per-file,psql,dbmate,supabase] [--timeout 900] [--pg 17] [--dist dist] [--input NAME=VALUE ...] [--node PATH] [--rtt MS] [--audit-log-exists]\n  --audit-log-exists starts every database with the audit log already there (as after a first run), without rows in the history\n  --rtt puts every contender behind a loopback proxy adding MS of round-trip latency (a remote database)\n  --input passes an extra action input to our runs; backup=off unless given (e.g. --input backup=required --pg 15)');
  process.exit(0);
}
const N = positiveInt(args.n, 'n', 1, 20_000);
const ACTION_NODE = actionNode(args.node);
const ROUNDS = positiveInt(args.rounds, 'rounds', 1, 100);
const WARMUP = positiveInt(args.warmup, 'warmup', 0, 10);
const SEED = positiveInt(args.seed, 'seed', 0, 2 ** 31);
const TIMEOUT_MS = positiveInt(args.timeout, 'timeout', 10, 24 * 3600) * 1000;
const PG_MAJOR = positiveInt(args.pg, 'pg', 15, 17);
/** Round-trip latency between the contenders and the server (0: direct; see lib/latency-proxy.mjs). */
const RTT_MS = positiveInt(args.rtt, 'rtt', 0, 1000);
/** Where contenders connect: the server itself, or the latency proxy in front of it. */
let contenderPort;
const contenderUrl = (db) => server.url(db).replace(`:${server.port}/`, `:${contenderPort}/`);
/**
 * Inputs added to our runs. `backup` defaults to off: the other contenders take no backup, and the
 * embedded server is PostgreSQL 17 while the pg_dump on this machine may be older (the action then
 * refuses to run, as it should). `--input backup=required --pg 15` measures the backup stage too.
 */
const EXTRA_INPUTS = Object.fromEntries(
  ['backup=off', ...args.input].map((pair) => {
    const m = /^([A-Za-z][A-Za-z0-9_-]*)=(.*)$/s.exec(pair);
    if (!m) {
      console.error(`--input must be NAME=VALUE, got "${pair}"`);
      process.exit(2);
    }
    return [`INPUT_${m[1].toUpperCase()}`, m[2]];
  }),
);

function positiveInt(text, name, min, max) {
  const v = Number(text);
  if (!Number.isInteger(v) || v < min || v > max) {
    console.error(`--${name} must be a whole number from ${min} to ${max}, got "${text}"`);
    process.exit(2);
  }
  return v;
}

// ---------------------------------------------------------------------------------------------
// Temp folders and cleanup (normal exit, error, Ctrl-C)
// ---------------------------------------------------------------------------------------------
const tempRoot = mkdtempSync(join(tmpdir(), 'mg-bench-'));
// The server runs as the `postgres` OS user, which cannot enter tempRoot (mode 0700): own folder.
const pgDataDir = mkdtempSync(join(tmpdir(), 'mg-bench-pgdata-'));
let server;
let latencyProxy;
/** The loopback GitHub API our runs talk to (the sticky PR comment), as a push to main would. */
let githubApi;
let currentChild;
let interrupted = false;
let cleanedUp = false;

function removeTemp() {
  for (const dir of [tempRoot, pgDataDir]) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      /* best effort */
    }
  }
}
async function cleanup() {
  if (cleanedUp) return;
  cleanedUp = true;
  if (currentChild && currentChild.exitCode === null) currentChild.kill('SIGKILL');
  await latencyProxy?.close();
  await githubApi?.close();
  try {
    await server?.stop();
  } catch (error) {
    console.error(`could not stop PostgreSQL: ${error?.message ?? error}`);
  }
  removeTemp();
}
process.on('exit', removeTemp); // last resort, synchronous
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    if (interrupted) return;
    interrupted = true;
    console.error(`\n${signal}: stopping`);
    if (currentChild && currentChild.exitCode === null) currentChild.kill('SIGTERM');
    cleanup().finally(() => process.exit(130));
  });
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------
/** Runs one process; resolves with its wall-clock time (spawn to exit, stdio closed). */
function runProcess(cmd, argv, { env, cwd }) {
  return new Promise((resolveRun, reject) => {
    if (interrupted) return reject(new Error('interrupted'));
    const out = [];
    const err = [];
    const keep = (list) => (chunk) => {
      list.push(chunk);
      if (list.length > 400) list.splice(0, list.length - 400);
    };
    const started = process.hrtime.bigint();
    const child = spawn(cmd, argv, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    currentChild = child;
    child.stdout.on('data', keep(out));
    child.stderr.on('data', keep(err));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
    }, TIMEOUT_MS);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      clearTimeout(timer);
      currentChild = undefined;
      resolveRun({
        seconds,
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        timedOut: seconds * 1000 >= TIMEOUT_MS,
      });
    });
  });
}

/** The child environment: ours, without inputs, GitHub or libpq settings leaking in from this shell. */
function baseEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(INPUT_|GITHUB_|RUNNER_|PG|DATABASE_URL$|DBMATE_)/.test(k)) continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

/** GitHub's GITHUB_OUTPUT file format: name<<delimiter / value / delimiter. */
function parseGithubOutput(path) {
  const outputs = {};
  if (!existsSync(path)) return outputs;
  const lines = readFileSync(path, 'utf8').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^([^<=]+)<<(.+)$/.exec(lines[i]);
    if (!m) continue;
    const value = [];
    for (i++; i < lines.length && lines[i] !== m[2]; i++) value.push(lines[i]);
    outputs[m[1]] = value.join('\n');
  }
  return outputs;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};
const fmt = (x, d = 3) => (x === undefined || Number.isNaN(x) ? 'n/a' : x.toFixed(d));

async function versionOf(cmd, argv) {
  try {
    const r = await runProcess(cmd, argv, { env: baseEnv(), cwd: tempRoot });
    return (r.stdout || r.stderr).trim().split('\n')[0];
  } catch {
    return 'unknown';
  }
}

function machineInfo() {
  let cpuModel = 'unknown';
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('model name'));
    if (line) cpuModel = line.split(':').slice(1).join(':').trim();
  } catch {
    cpuModel = cpus()[0]?.model ?? 'unknown';
  }
  return { cpuModel, cores: cpus().length, memoryGiB: +(totalmem() / 2 ** 30).toFixed(1), node: process.version, actionNode: ACTION_NODE.version, platform: `${process.platform} ${process.arch}` };
}

// ---------------------------------------------------------------------------------------------
// Contenders
// ---------------------------------------------------------------------------------------------
function contenders(sets, psqlScript, distDir) {
  /**
   * Our runs see the environment of a push to main with a loopback GitHub API (bench/lib/github-api.mjs),
   * so the PR comment, when the build has one, is updated as in a real job. `quiet` is the same run
   * with the audit log (a hidden benchmarking switch, src/commands/index.ts) and the comment off:
   * the audit-overhead baseline.
   */
  const ours = (id, label, mode, quiet = false) => ({
    id,
    label,
    audit: !quiet,
    history: 'supabase_migrations.schema_migrations',
    noop: true,
    command(dbName, runDir) {
      const githubOutput = join(runDir, 'github-output');
      const summary = join(runDir, 'step-summary.md');
      writeFileSync(githubOutput, '');
      writeFileSync(summary, '');
      return {
        cmd: ACTION_NODE.path,
        argv: [join(distDir, 'index.js')],
        cwd: runDir,
        env: baseEnv({
          'INPUT_COMMAND': 'apply',
          'INPUT_DATABASE-URL': contenderUrl(dbName),
          'INPUT_MIGRATIONS-DIR': sets.plain,
          'INPUT_TRANSACTION-MODE': mode,
          GITHUB_OUTPUT: githubOutput,
          GITHUB_STEP_SUMMARY: summary,
          RUNNER_TEMP: runDir,
          ...githubPushEnv(githubApi.url, runDir),
          ...EXTRA_INPUTS,
          ...(quiet ? { MIGRATION_GUARD_BENCHMARK_AUDIT_OFF: '1', INPUT_COMMENT: 'false' } : {}),
        }),
        check(phase) {
          const o = parseGithubOutput(githubOutput);
          const want = phase === 'apply' ? { status: 'success', 'applied-count': String(N) } : { status: 'nothing-to-do', 'applied-count': '0' };
          for (const [k, v] of Object.entries(want)) {
            if (o[k] !== v) return `output ${k} is "${o[k]}", expected "${v}"`;
          }
          return undefined;
        },
      };
    },
  });
  return [
    ours('ours-all', 'ours (transaction-mode: all)', 'all'),
    ours('ours-all-quiet', 'ours (transaction-mode: all), audit log and PR comment off', 'all', true),
    ours('ours-per-file', 'ours (transaction-mode: per-file)', 'per-file'),
    {
      id: 'psql',
      label: 'raw psql (1 process, BEGIN/\\i/COMMIT per file)',
      history: undefined,
      noop: false,
      command(dbName, runDir) {
        return {
          cmd: 'psql',
          argv: ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p', String(contenderPort), '-U', server.user, '-d', dbName, '-f', psqlScript],
          cwd: runDir,
          env: baseEnv({ PGPASSWORD: server.password, PGSSLMODE: 'disable' }),
        };
      },
    },
    {
      id: 'dbmate',
      label: 'dbmate up',
      history: 'public.schema_migrations',
      noop: true,
      command(dbName, runDir) {
        return {
          cmd: DBMATE,
          argv: ['--url', `${contenderUrl(dbName)}?sslmode=disable`, '--migrations-dir', sets.dbmate, '--no-dump-schema', 'up'],
          cwd: runDir, // no .env there
          env: baseEnv(),
        };
      },
    },
    {
      id: 'supabase',
      label: 'supabase db push',
      history: 'supabase_migrations.schema_migrations',
      noop: true,
      command(dbName) {
        return {
          cmd: join(BIN, 'supabase'),
          argv: ['db', 'push', '--db-url', `${contenderUrl(dbName)}?sslmode=disable`, '--yes'],
          cwd: sets.supabaseWork,
          env: baseEnv(),
        };
      },
    },
  ];
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------
async function main() {
  const started = new Date();
  const machine = machineInfo();
  console.error(`temp folder ${tempRoot}`);

  // 0. The build under test, copied so that a rebuild during the run cannot interfere.
  const dist = await snapshotDist(resolve(args.dist), join(tempRoot, 'dist'));
  console.error(`testing ${resolve(args.dist)} (files sha256 ${dist.hash}), copied to ${dist.dir}`);

  // 1. Migrations
  const generated = generateMigrations(N, SEED);
  const sets = writeMigrationSets(tempRoot, generated);
  const psqlScript = join(tempRoot, 'apply-all.psql');
  writeFileSync(
    psqlScript,
    ['\\set ON_ERROR_STOP 1', ...generated.files.flatMap((f) => ['BEGIN;', `\\i '${join(sets.plain, f.fileName)}'`, 'COMMIT;']), ''].join('\n'),
  );
  const kinds = {};
  for (const f of generated.files) kinds[f.kind] = (kinds[f.kind] ?? 0) + 1;
  const bytes = generated.files.reduce((s, f) => s + Buffer.byteLength(f.sql), 0);
  console.error(`generated ${N} migrations (${(bytes / 1024).toFixed(0)} KiB): ${Object.entries(kinds).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  console.error(`expected: ${JSON.stringify(generated.expected)}`);

  // 2. Server
  const serverLogs = [];
  server = await startServer({ major: PG_MAJOR, dataDir: pgDataDir, logs: serverLogs });
  const template = await prepareSupabaseTemplate(server);
  const serverInfo = await server.admin(async (c) => {
    const v = (await c.query('select version() as v')).rows[0].v;
    const settings = (await c.query("select name, setting from pg_settings where name in ('fsync','synchronous_commit','full_page_writes','wal_sync_method','shared_buffers','listen_addresses')")).rows;
    return { version: v, settings: Object.fromEntries(settings.map((r) => [r.name, r.setting])) };
  });
  console.error(`server: ${serverInfo.version} on 127.0.0.1:${server.port} ${JSON.stringify(serverInfo.settings)}`);
  if (RTT_MS > 0) {
    latencyProxy = await startLatencyProxy(server.port, RTT_MS);
    contenderPort = latencyProxy.port;
    console.error(`contenders connect through a proxy adding ${RTT_MS} ms of round-trip latency (port ${contenderPort})`);
  } else contenderPort = server.port;
  // The audit log's rows already in every database (--audit-log-exists), or 0.
  // --audit-log-exists: every database starts with the log a first run leaves (lib/audit-seed.mjs).
  const auditBase = args['audit-log-exists']
    ? await seedAuditLog({
        runAction: async ({ env, cwd }) => {
          const r = await runProcess(ACTION_NODE.path, [join(dist.dir, 'index.js')], { env, cwd });
          return { code: r.code, output: `${r.stdout}\n${r.stderr}` };
        },
        env: baseEnv,
        url: contenderUrl(template),
        admin: (fn) => server.admin(fn, template),
      })
    : 0;
  githubApi = await startGithubApi();

  const tools = {
    psql: await versionOf('psql', ['--version']),
    dbmate: await versionOf(DBMATE, ['--version']),
    supabase: await versionOf(join(BIN, 'supabase'), ['--version']),
    dist: resolve(args.dist),
    distSha256: dist.hash,
  };

  const all = contenders(sets, psqlScript, dist.dir);
  const only = args.only ? args.only.split(',').map((s) => s.trim()) : undefined;
  if (only) {
    const unknown = only.filter((id) => !all.some((c) => c.id === id));
    if (unknown.length) throw new Error(`--only: unknown contender(s) ${unknown.join(', ')}; use ${all.map((c) => c.id).join(', ')}`);
  }
  const list = only ? all.filter((c) => only.includes(c.id)) : all;
  const expectedJson = JSON.stringify(generated.expected);
  const verifyQuery = verifySql(generated);

  async function verify(contender, dbName, phase) {
    return server.admin(async (c) => {
      const got = (await c.query(verifyQuery)).rows[0];
      const ordered = Object.fromEntries(Object.keys(generated.expected).map((k) => [k, got[k]]));
      if (JSON.stringify(ordered) !== expectedJson) return `${phase}: objects ${JSON.stringify(ordered)}, expected ${expectedJson}`;
      if (contender.history) {
        const n = Number((await c.query(`select count(*) as n from ${contender.history}`)).rows[0].n);
        if (n !== N) return `${phase}: ${n} history rows in ${contender.history}, expected ${N}`;
      }
      if (contender.audit !== undefined) {
        // On: run started + one row per file + run ended (then two more for the no-op run). Off: no log at all.
        const exists = (await c.query("select to_regclass('migration_guard.audit_log') is not null as e")).rows[0].e;
        const rows = exists ? Number((await c.query('select count(*) as n from migration_guard.audit_log')).rows[0].n) : -1;
        const want = contender.audit ? auditBase + N + (phase === 'apply' ? 2 : 4) : auditBase > 0 ? auditBase : -1;
        if (rows !== want) return `${phase}: audit log ${rows < 0 ? 'missing' : `holds ${rows} rows`}, expected ${want < 0 ? 'none' : `${want} rows`}`;
      }
      return undefined;
    }, dbName);
  }

  async function timed(contender, dbName, runDir, phase) {
    const spec = contender.command(dbName, runDir);
    await server.admin((c) => c.query('checkpoint')); // start every run from the same WAL state
    const load = loadavg()[0];
    const r = await runProcess(spec.cmd, spec.argv, { env: spec.env, cwd: spec.cwd });
    let problem;
    if (r.timedOut) problem = `timed out after ${TIMEOUT_MS / 1000} s`;
    else if (r.code !== 0) problem = `exit code ${r.code}${r.signal ? ` (${r.signal})` : ''}`;
    problem ??= spec.check?.(phase);
    problem ??= await verify(contender, dbName, phase);
    if (problem) {
      const tail = (s) => s.split('\n').slice(-25).join('\n');
      throw new Error(`${contender.id} ${phase} on ${dbName} failed: ${problem}\n--- stdout ---\n${tail(r.stdout)}\n--- stderr ---\n${tail(r.stderr)}`);
    }
    // What the run waited for the audit log (its own debug line; the action prints ::debug:: lines).
    const audit = /::debug::Audit log: (\d+) rows written in (\d+) ms/.exec(r.stdout);
    // And what it waited for after its report: the pull request comment's last update, the alert and
    // the audit log's last write (which goes on while the report is written).
    const comment = /::debug::Pull request comment, alert and audit log: waited (\d+) ms/.exec(r.stdout);
    return { seconds: r.seconds, load, auditMs: audit ? Number(audit[2]) : undefined, commentMs: comment ? Number(comment[1]) : undefined };
  }

  // 3. Rounds
  const runs = [];
  let dbCounter = 0;
  const totalRounds = WARMUP + ROUNDS;
  for (let round = 0; round < totalRounds; round++) {
    const warm = round < WARMUP;
    const measured = round - WARMUP;
    const shift = warm ? 0 : measured % list.length;
    const order = [...list.slice(shift), ...list.slice(0, shift)];
    console.error(`${warm ? `warm-up ${round + 1}/${WARMUP}` : `round ${measured + 1}/${ROUNDS}`}: ${order.map((c) => c.id).join(' → ')}`);
    for (const contender of order) {
      if (interrupted) throw new Error('interrupted');
      const dbName = `bench_${++dbCounter}_${contender.id.replace(/-/g, '_')}`;
      const runDir = join(tempRoot, 'runs', dbName);
      mkdirSync(runDir, { recursive: true });
      await server.admin((c) => c.query(`create database ${dbName} template ${template}`));
      try {
        const apply = await timed(contender, dbName, runDir, 'apply');
        const noop = contender.noop ? await timed(contender, dbName, runDir, 'noop') : undefined;
        console.error(
          `  ${contender.id.padEnd(14)} apply ${fmt(apply.seconds)} s${noop ? `   no-op ${fmt(noop.seconds)} s` : ''}   (load average ${apply.load.toFixed(2)})`,
        );
        if (!warm) {
          const position = order.indexOf(contender) + 1;
          runs.push({ round: measured + 1, position, contender: contender.id, phase: 'apply', seconds: apply.seconds, loadAverage1m: apply.load, auditMs: apply.auditMs, commentMs: apply.commentMs });
          if (noop) runs.push({ round: measured + 1, position, contender: contender.id, phase: 'noop', seconds: noop.seconds, loadAverage1m: noop.load });
        }
      } finally {
        await server.admin((c) => c.query(`drop database if exists ${dbName} with (force)`));
        rmSync(runDir, { recursive: true, force: true });
      }
    }
  }

  // 4. Report
  const secondsOf = (id, phase) => runs.filter((r) => r.contender === id && r.phase === phase).map((r) => r.seconds);
  const med = (id, phase) => {
    const xs = secondsOf(id, phase);
    return xs.length ? median(xs) : undefined;
  };
  const psqlApply = med('psql', 'apply');
  const dbmateNoop = med('dbmate', 'noop');
  const summary = list.map((c) => {
    const apply = secondsOf(c.id, 'apply');
    const noop = secondsOf(c.id, 'noop');
    return {
      contender: c.id,
      label: c.label,
      applyMedian: med(c.id, 'apply'),
      applyMin: Math.min(...apply),
      applyMax: Math.max(...apply),
      applyVsPsql: psqlApply ? med(c.id, 'apply') / psqlApply : undefined,
      noopMedian: noop.length ? median(noop) : undefined,
      noopVsDbmate: noop.length && dbmateNoop ? median(noop) / dbmateNoop : undefined,
    };
  });

  const lines = [];
  lines.push(`## Apply benchmark: ${N} migrations, ${ROUNDS} rounds (+${WARMUP} warm-up), PostgreSQL ${PG_MAJOR}`);
  lines.push('');
  lines.push(`- Machine: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.platform}, Node ${machine.node} (our action ran on Node ${machine.actionNode})`);
  lines.push(`- Server: ${serverInfo.version.split(',')[0]} (embedded), fsync=${serverInfo.settings.fsync}, synchronous_commit=${serverInfo.settings.synchronous_commit}, full_page_writes=${serverInfo.settings.full_page_writes}, wal_sync_method=${serverInfo.settings.wal_sync_method}`);
  if (RTT_MS > 0) lines.push(`- Network: every contender reaches the server through a loopback proxy adding ${RTT_MS} ms per round trip (a remote database); verification connects directly`);
  lines.push(`- Tools: ${tools.psql}; dbmate ${tools.dbmate}; supabase ${tools.supabase}; dist files sha256 ${tools.distSha256}…`);
  lines.push(
    `- Inputs for ours besides command, database-url, migrations-dir, transaction-mode: ${Object.entries(EXTRA_INPUTS).map(([k, v]) => `${k}=${v}`).join(', ')}` +
      (EXTRA_INPUTS.INPUT_BACKUP === 'off' ? ' (no contender takes a backup; --input backup=required includes the backup stage)' : ''),
  );
  lines.push(`- Date: ${started.toISOString()}; seed ${SEED}; migrations: ${Object.entries(kinds).map(([k, v]) => `${k} ${v}`).join(', ')} (${(bytes / 1024).toFixed(0)} KiB)`);
  lines.push('');
  lines.push('| contender | apply median (s) | min–max (s) | apply ÷ raw psql | no-op median (s) | no-op ÷ dbmate no-op |');
  lines.push('|---|---:|---:|---:|---:|---:|');
  for (const s of summary) {
    lines.push(
      `| ${s.label} | ${fmt(s.applyMedian)} | ${fmt(s.applyMin)}–${fmt(s.applyMax)} | ${fmt(s.applyVsPsql, 2)} | ${s.noopMedian !== undefined ? fmt(s.noopMedian) : 'n/a'} | ${s.noopVsDbmate !== undefined ? fmt(s.noopVsDbmate, 2) : 'n/a'} |`,
    );
  }
  const perRound = [];
  for (let r = 1; r <= ROUNDS; r++) {
    const at = (id, phase) => runs.find((x) => x.round === r && x.contender === id && x.phase === phase)?.seconds;
    const order = runs.filter((x) => x.round === r && x.phase === 'apply').sort((a, b) => a.position - b.position).map((x) => x.contender);
    perRound.push({
      round: r,
      order,
      allVsPsql: at('psql', 'apply') ? at('ours-all', 'apply') / at('psql', 'apply') : undefined,
      perFileVsPsql: at('psql', 'apply') ? at('ours-per-file', 'apply') / at('psql', 'apply') : undefined,
      noopVsDbmate: at('dbmate', 'noop') ? at('ours-all', 'noop') / at('dbmate', 'noop') : undefined,
      perFileNoopVsDbmate: at('dbmate', 'noop') ? at('ours-per-file', 'noop') / at('dbmate', 'noop') : undefined,
    });
  }
  lines.push('');
  lines.push('| round | order | ours all ÷ psql | ours per-file ÷ psql | ours no-op (all) ÷ dbmate no-op | ours no-op (per-file) ÷ dbmate no-op |');
  lines.push('|---:|---|---:|---:|---:|---:|');
  for (const p of perRound) {
    lines.push(`| ${p.round} | ${p.order.join(' → ')} | ${fmt(p.allVsPsql, 2)} | ${fmt(p.perFileVsPsql, 2)} | ${fmt(p.noopVsDbmate, 2)} | ${fmt(p.perFileNoopVsDbmate, 2)} |`);
  }
  const byId = Object.fromEntries(summary.map((s) => [s.contender, s]));
  // The audit log's (and the PR comment's) cost: the same build, the same apply, with them on and off.
  const auditRatios = [];
  for (let r = 1; r <= ROUNDS; r++) {
    const at = (id) => runs.find((x) => x.round === r && x.contender === id && x.phase === 'apply')?.seconds;
    if (at('ours-all') && at('ours-all-quiet')) auditRatios.push(at('ours-all') / at('ours-all-quiet'));
  }
  const auditOverhead = byId['ours-all'] && byId['ours-all-quiet'] ? byId['ours-all'].applyMedian / byId['ours-all-quiet'].applyMedian : undefined;
  const pairedOverhead = auditRatios.length ? median(auditRatios) : undefined;
  const apiCalls = githubApi.requests.length;
  // Less sensitive to a busy machine than the on/off difference: the time each run spent writing
  // its audit rows after its work was done (measured by the action), against that run's duration.
  const auditShares = runs.filter((x) => x.contender === 'ours-all' && x.phase === 'apply' && x.auditMs !== undefined).map((x) => x.auditMs / (x.seconds * 1000));
  const auditMsAll = runs.filter((x) => x.contender === 'ours-all' && x.phase === 'apply' && x.auditMs !== undefined).map((x) => x.auditMs);
  const commentMsAll = runs.filter((x) => x.contender === 'ours-all' && x.phase === 'apply' && x.commentMs !== undefined).map((x) => x.commentMs);
  if (auditOverhead !== undefined) {
    lines.push('');
    lines.push(
      `Audit log + PR comment overhead (ours all, on ÷ off${args['audit-log-exists'] ? '; the audit log existed before each run' : '; each run created the audit log on its fresh database'}): ${fmt(auditOverhead, 3)} (ratio of medians); ${fmt(pairedOverhead, 3)} (median of the rounds' ratios, each from runs of the same round, so a machine that drifts between rounds moves both); per round ${auditRatios.map((x) => fmt(x, 3)).join(', ')}. ` +
        `The loopback GitHub API received ${apiCalls} request(s) in all${apiCalls === 0 ? ' (this build makes no comment updates: the figure is the audit log alone)' : ''}.`,
    );
    if (auditShares.length)
      lines.push(
        `Audit rows written after the run (measured by the action; its report, outputs and summary are written meanwhile): median ${fmt(median(auditMsAll), 0)} ms (${auditMsAll.join(', ')} ms), ` +
          `${fmt(100 * median(auditShares), 1)} % of the run's wall clock (median of per-run shares).`,
      );
    if (commentMsAll.length)
      lines.push(
        `Wait for the pull request comment's last update and the audit log's last write after the report (measured by the action): median ${fmt(median(commentMsAll), 0)} ms (${commentMsAll.join(', ')} ms).`,
      );
  }
  const targets = [];
  const target = (name, value, limit) => {
    if (value === undefined) return;
    targets.push({ name, value, limit, met: value <= limit });
  };
  target('ours (all) apply ÷ raw psql ≤ 1.00', byId['ours-all']?.applyVsPsql, 1.0);
  target('ours (per-file) apply ÷ raw psql ≤ 1.15', byId['ours-per-file']?.applyVsPsql, 1.15);
  target('ours no-op ÷ dbmate no-op ≤ 1.00', byId['ours-all']?.noopVsDbmate, 1.0);
  target('audit log + comment on ÷ off (ours all, apply) ≤ 1.03', auditOverhead, 1.03);
  if (targets.length) {
    lines.push('');
    lines.push('Targets (medians):');
    for (const t of targets) lines.push(`- ${t.met ? 'met' : 'MISSED'}: ${t.name}: ${fmt(t.value, 2)}`);
  }
  const loads = runs.map((r) => r.loadAverage1m);
  lines.push('');
  lines.push(
    `Machine load (1-minute load average when each timed run started): median ${fmt(median(loads), 2)}, max ${fmt(Math.max(...loads), 2)} on ${machine.cores} cores` +
      (Math.max(...loads) > machine.cores * 0.75 ? ' (other processes were competing for the CPU: expect noise)' : ''),
  );
  let distNow = 'missing';
  try {
    distNow = distHash(resolve(args.dist));
  } catch {
    /* being rebuilt */
  }
  if (distNow !== tools.distSha256) lines.push(`Note: ${tools.dist} changed while the benchmark ran (${tools.distSha256} → ${distNow}); every run used the snapshot taken at the start (${tools.distSha256}).`);
  const table = lines.join('\n');
  console.log(table);

  const resultsDir = join(HERE, 'results');
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `apply-${started.toISOString().replace(/[:.]/g, '-')}-n${N}.json`);
  writeFileSync(
    file,
    `${JSON.stringify({ params: { n: N, rttMs: RTT_MS, auditLogExists: args['audit-log-exists'], rounds: ROUNDS, warmup: WARMUP, seed: SEED, pgMajor: PG_MAJOR, only: only ?? null, extraInputs: EXTRA_INPUTS }, machine, server: serverInfo, tools, migrations: { kinds, bytes, expected: generated.expected }, runs, summary, perRound, auditOverhead: { ratioOfMedians: auditOverhead, medianOfRoundRatios: pairedOverhead, perRound: auditRatios, auditMs: auditMsAll, auditShares, commentMs: commentMsAll, githubApiRequests: githubApi.requests }, targets, markdown: table }, null, 2)}\n`,
  );
  console.error(`\nraw results: ${file}`);
}

let exitCode = 0;
try {
  await main();
} catch (error) {
  exitCode = 1;
  console.error(`benchmark failed: ${error?.stack ?? error}`);
} finally {
  await cleanup();
}
process.exit(exitCode);
