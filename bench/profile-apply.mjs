#!/usr/bin/env node
/**
 * Where does an `apply` of the action spend its time?
 *
 *   node bench/profile-apply.mjs [--n 500] [--mode all|per-file] [--phase apply|noop] [--tool ours|psql|psql-single]
 *                                [--seed 42] [--top 25] [--input NAME=VALUE …]  (backup=off unless given)
 *                                [--comment] [--timeline] [--audit-log-exists] [--quiet]
 *
 * Generates the same migrations as apply-bench.mjs, starts one embedded PostgreSQL 17 (default
 * durability, 127.0.0.1 only, every statement's duration logged), and runs `node dist/index.js`
 * on a fresh database:
 *   1. once plain (wall clock),
 *   2. once more on another fresh database under `node --cpu-prof`,
 * then prints (a) a timeline from the server log: process start → first statement → last
 * statement → exit, the number of statements/round trips, and the time the server spent executing
 * them; (b) the CPU profile's heaviest functions (self and inclusive time), mapped back to the
 * src/ module each bundled function came from.
 * With --phase noop the profiled run is the second run on an already-migrated database.
 * The .cpuprofile (open it in Chrome DevTools) and a JSON summary go to bench/results/.
 * With --tool psql the plain run is the raw psql baseline of apply-bench.mjs instead (timeline
 * only), for comparison; --tool psql-single runs the same files with `psql -1` (one transaction).
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { generateMigrations, writeMigrationSets } from './lib/generate.mjs';
import { snapshotDist } from './lib/dist.mjs';
import { prepareSupabaseTemplate, startServer } from './lib/server.mjs';
import { actionNode } from './lib/action-node.mjs';
import { githubPushEnv, startGithubApi } from './lib/github-api.mjs';
import { seedAuditLog } from './lib/audit-seed.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..');
let DIST; // dist/index.js of a private copy of the build (see lib/dist.mjs): the entry that is run
let BUNDLE; // dist/action/index.js of that copy: the bundle the profile's functions are in
const results = {};

const { values: args } = parseArgs({
  options: {
    n: { type: 'string', default: '500' },
    mode: { type: 'string', default: 'all' },
    phase: { type: 'string', default: 'apply' },
    seed: { type: 'string', default: '42' },
    top: { type: 'string', default: '25' },
    tool: { type: 'string', default: 'ours' },
    input: { type: 'string', multiple: true, default: [] },
    node: { type: 'string' },
    dist: { type: 'string', default: join(ROOT, 'dist') },
    // As a push to main with the pull request comment, against a loopback GitHub API (apply-bench.mjs).
    comment: { type: 'boolean', default: false },
    // Every statement of every session of the plain run, from the process's start (which session by its pid).
    timeline: { type: 'boolean', default: false },
    // Every database starts with the audit log a first run leaves, as in apply-bench.mjs --audit-log-exists.
    'audit-log-exists': { type: 'boolean', default: false },
    // The audit log and the comment off, as apply-bench.mjs's ours-all-quiet.
    quiet: { type: 'boolean', default: false },
  },
});
let githubApi;
/** Extra inputs for our runs; backup=off unless given, as in apply-bench.mjs. */
const EXTRA_INPUTS = Object.fromEntries(
  ['backup=off', ...args.input].map((pair) => {
    const m = /^([A-Za-z][A-Za-z0-9_-]*)=(.*)$/s.exec(pair);
    if (!m) throw new Error(`--input must be NAME=VALUE, got "${pair}"`);
    return [`INPUT_${m[1].toUpperCase()}`, m[2]];
  }),
);
const N = Number(args.n);
const NODE = actionNode(args.node).path;
const TOP = Number(args.top);
if (!Number.isInteger(N) || N < 1 || N > 20_000) throw new Error('--n must be 1..20000');
if (!['all', 'per-file'].includes(args.mode)) throw new Error('--mode must be all or per-file');
if (!['apply', 'noop'].includes(args.phase)) throw new Error('--phase must be apply or noop');
if (!['ours', 'psql', 'psql-single'].includes(args.tool)) {
  throw new Error('--tool must be ours, psql (the raw psql baseline: one transaction per file) or psql-single (psql -1: the whole run in one transaction)');
}
const PSQL = args.tool !== 'ours';
if (PSQL && args.phase !== 'apply') throw new Error('psql has no no-op run');

const tempRoot = mkdtempSync(join(tmpdir(), 'mg-profile-'));
const pgDataDir = mkdtempSync(join(tmpdir(), 'mg-profile-pgdata-'));
let server;
const removeTemp = () => {
  for (const d of [tempRoot, pgDataDir]) rmSync(d, { recursive: true, force: true });
};
process.on('exit', removeTemp);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    Promise.resolve(server?.stop()).finally(() => process.exit(130));
  });
}

function run(cmd, argv, env, cwd) {
  return new Promise((resolveRun, reject) => {
    const startedAt = Date.now();
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, argv, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = [];
    child.stdout.on('data', (c) => out.push(c));
    child.stderr.on('data', (c) => out.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), 15 * 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolveRun({ code, seconds: Number(process.hrtime.bigint() - t0) / 1e9, startedAt, endedAt: Date.now(), output: Buffer.concat(out).toString() });
    });
  });
}

/** This shell's environment without inputs, GitHub or libpq settings, plus `extra`. */
function childEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(INPUT_|GITHUB_|RUNNER_|PG)/.test(k)) env[k] = v;
  return { ...env, ...extra };
}

function oursEnv(dbName, runDir, mode) {
  writeFileSync(join(runDir, 'out'), '');
  writeFileSync(join(runDir, 'summary.md'), '');
  return childEnv({
    INPUT_COMMAND: 'apply',
    'INPUT_DATABASE-URL': server.url(dbName),
    'INPUT_MIGRATIONS-DIR': join(tempRoot, 'migrations'),
    'INPUT_TRANSACTION-MODE': mode,
    GITHUB_OUTPUT: join(runDir, 'out'),
    GITHUB_STEP_SUMMARY: join(runDir, 'summary.md'),
    RUNNER_TEMP: runDir,
    ...(githubApi ? githubPushEnv(githubApi.url, runDir) : {}),
    ...EXTRA_INPUTS,
    ...(args.quiet ? { MIGRATION_GUARD_BENCHMARK_AUDIT_OFF: '1', INPUT_COMMENT: 'false' } : {}),
  });
}

/**
 * Server log lines "<epoch s.ms>|<app>|<pid>|LOG:  duration: 1.234 ms  statement: …", plus the
 * "connection authorized" line of our session (log_connections).
 */
function parseServerLog(text, app) {
  const entries = [];
  let connectedAt;
  let last;
  for (const line of text.split('\n')) {
    // A multi-line statement continues on lines without the log prefix.
    if (last && !/^\d+\.\d+\|/.test(line)) {
      last.text += `\n${line}`;
      continue;
    }
    last = undefined;
    const conn = /^(\d+\.\d+)\|[^|]*\|(\d+)\|LOG:\s+connection authorized: .*application_name=(.*)$/.exec(line);
    if (conn && conn[3].startsWith(app)) {
      connectedAt ??= Number(conn[1]) * 1000;
      entries.push({ at: Number(conn[1]) * 1000, ms: 0, kind: 'connect', pid: conn[2], text: conn[3] });
    }
    const m = /^(\d+\.\d+)\|([^|]*)\|(\d+)\|LOG:\s+duration: ([\d.]+) ms\s+(statement|parse|bind|execute)([^:]*):\s?(.*)$/.exec(line);
    if (!m || !m[2].startsWith(app)) continue;
    // The log time is when the statement finished; its start is that minus its duration.
    last = { at: Number(m[1]) * 1000, ms: Number(m[4]), kind: m[5], pid: m[3], text: m[7] };
    entries.push(last);
  }
  return { entries, connectedAt };
}

/** For each line of the action's bundle: the module it belongs to (src/… or a bundled package). */
function moduleMap() {
  const lines = readFileSync(BUNDLE, 'utf8').split('\n');
  const names = new Array(lines.length + 1);
  let current = '(bundle runtime)';
  for (let i = 0; i < lines.length; i++) {
    const concat = /^;\/\/ CONCATENATED MODULE: (.*)$/.exec(lines[i]);
    if (concat) current = concat[1].replace(/^\.\//, '');
    const cjs = /^\/\*\*\*\/ (\d+):$/.exec(lines[i]);
    if (cjs) current = `bundled CommonJS module #${cjs[1]}`;
    if (lines[i].startsWith('/******/')) current = '(bundle runtime: module loader)';
    names[i + 1] = current;
  }
  return names;
}

function analyseProfile(path) {
  const profile = JSON.parse(readFileSync(path, 'utf8'));
  const modules = moduleMap();
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // Sample time per node.
  const selfUs = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i] ?? 0;
    selfUs.set(profile.samples[i], (selfUs.get(profile.samples[i]) ?? 0) + dt);
  }
  const totalUs = profile.endTime - profile.startTime;
  const label = (n) => {
    const cf = n.callFrame;
    const fn = cf.functionName || '(anonymous)';
    if (cf.url.endsWith('/dist/action/index.js')) return `${fn}  [dist/action/index.js:${cf.lineNumber + 1} · ${modules[cf.lineNumber + 1] ?? '?'}]`;
    if (!cf.url) return fn;
    return `${fn}  [${cf.url.replace(/^file:\/\//, '').replace(dirname(DIST) + '/', 'dist/')}:${cf.lineNumber + 1}]`;
  };
  const self = new Map();
  const inclusive = new Map();
  const moduleSelf = new Map();
  for (const [id, us] of selfUs) {
    const n = byId.get(id);
    const l = label(n);
    self.set(l, (self.get(l) ?? 0) + us);
    const cf = n.callFrame;
    const mod = cf.url.endsWith('/dist/action/index.js') ? modules[cf.lineNumber + 1] : cf.url ? cf.url.replace(/^file:\/\//, '').replace(dirname(DIST) + '/', 'dist/').replace(/^node:.*/, 'node: internals') : `(${cf.functionName || 'vm'})`;
    moduleSelf.set(mod, (moduleSelf.get(mod) ?? 0) + us);
    // inclusive: count once per distinct label on the stack
    const seen = new Set();
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const cl = label(byId.get(cur));
      if (seen.has(cl)) continue;
      seen.add(cl);
      inclusive.set(cl, (inclusive.get(cl) ?? 0) + us);
    }
  }
  const top = (m) => [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, TOP).map(([k, us]) => ({ ms: +(us / 1000).toFixed(1), pct: +((100 * us) / totalUs).toFixed(1), name: k }));
  return { totalMs: totalUs / 1000, self: top(self), inclusive: top(inclusive), modules: top(moduleSelf) };
}

async function main() {
  const snapshot = await snapshotDist(resolve(args.dist), join(tempRoot, 'dist'));
  DIST = join(snapshot.dir, 'index.js');
  BUNDLE = join(snapshot.dir, 'action', 'index.js');
  results.distSha256 = snapshot.hash;
  const generated = generateMigrations(N, Number(args.seed));
  const sets = writeMigrationSets(tempRoot, generated);
  const psqlScript = join(tempRoot, 'apply-all.psql');
  const include = (f) => `\\i '${join(sets.plain, f.fileName)}'`;
  writeFileSync(
    psqlScript,
    ['\\set ON_ERROR_STOP 1', ...generated.files.flatMap((f) => (args.tool === 'psql-single' ? [include(f)] : ['BEGIN;', include(f), 'COMMIT;'])), ''].join('\n'),
  );
  const logs = [];
  const logText = [];
  server = await startServer({ major: 17, dataDir: pgDataDir, logs, maxLogChunks: Infinity });
  if (args.comment) githubApi = await startGithubApi();
  const template = await prepareSupabaseTemplate(server);
  if (args['audit-log-exists'] && !PSQL) {
    await seedAuditLog({
      runAction: ({ env, cwd }) => run(NODE, [DIST], env, cwd),
      env: childEnv,
      url: server.url(template),
      admin: (fn) => server.admin(fn, template),
    });
  }
  // Log every statement with its duration, tagged with epoch time, application and backend pid.
  await server.admin(async (c) => {
    await c.query("alter system set log_min_duration_statement = 0");
    await c.query("alter system set log_line_prefix = '%n|%a|%p|'");
    await c.query('alter system set log_connections = on');
    await c.query('select pg_reload_conf()');
  });
  const collect = () => {
    const text = logs.join('');
    logs.length = 0;
    logText.push(text);
    return text;
  };
  const app = PSQL ? 'psql' : 'migration-guard';
  let dbNo = 0;
  const fresh = async () => {
    const db = `profile_${++dbNo}`;
    await server.admin((c) => c.query(`create database ${db} template ${template}`));
    const dir = join(tempRoot, db);
    mkdirSync(dir, { recursive: true });
    return { db, dir };
  };

  // 1. plain run (and, for --phase noop, the no-op run after it)
  {
    const { db, dir } = await fresh();
    await server.admin((c) => c.query('checkpoint'));
    collect();
    let r =
      PSQL
        ? await run('psql', [...(args.tool === 'psql-single' ? ['-1'] : []), '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p', String(server.port), '-U', server.user, '-d', db, '-f', psqlScript], { ...process.env, PGPASSWORD: server.password }, dir)
        : await run(NODE, [DIST], oursEnv(db, dir, args.mode), dir);
    if (r.code !== 0) throw new Error(`plain run failed:\n${r.output}`);
    if (args.phase === 'noop') {
      await new Promise((res) => setTimeout(res, 300));
      collect();
      r = await run(NODE, [DIST], oursEnv(db, dir, args.mode), dir);
      if (r.code !== 0) throw new Error(`plain no-op run failed:\n${r.output}`);
    }
    await new Promise((res) => setTimeout(res, 300)); // let the server flush its log
    const { entries: all, connectedAt } = parseServerLog(collect(), app);
    if (args.timeline) {
      console.log(`timeline from the process's start (${r.seconds.toFixed(3)} s):`);
      for (const e of all)
        console.log(`  +${(e.at - r.startedAt).toFixed(1).padStart(6)} ms  pid ${e.pid}  ${e.ms.toFixed(1).padStart(5)} ms  ${e.kind.padEnd(9)} ${e.text.replace(/\s+/g, ' ').trim().slice(0, 80)}`);
      console.log(`  +${(r.endedAt - r.startedAt).toFixed(1).padStart(6)} ms  process exit`);
      // Lines "T <ms since the process started> <label>" a build under study may print to stderr.
      for (const m of r.output.matchAll(/^T ([\d.]+) (.*)$/gm)) console.log(`  mark +${m[1]} ms  ${m[2]}`);
    }
    const entries = all.filter((e) => e.kind !== 'connect');
    const first = entries[0]?.at;
    const last = entries[entries.length - 1]?.at;
    const firstBegin = entries.find((e) => e.kind === 'statement' && /^begin\b/i.test(e.text.trim()));
    // A COMMIT on its own, or ending a message of several transactions (per-file runs send them together).
    const commits = entries.filter((e) => e.kind === 'statement' && /(^|;\s*)commit\s*;?$/i.test(e.text.trim()));
    const lastCommit = commits[commits.length - 1];
    // per-file mode rehearses first: one transaction, always rolled back, before the first COMMIT.
    const rehearsalEnd = entries.find((e) => e.kind === 'statement' && /^rollback\s*;?$/i.test(e.text.trim()) && firstBegin && e.at > firstBegin.at && (!commits[0] || e.at < commits[0].at));
    const rehearsalTrips = rehearsalEnd ? entries.filter((e) => e.at >= firstBegin.at && e.at <= rehearsalEnd.at && (e.kind === 'statement' || e.kind === 'execute')).length : undefined;
    const serverMs = entries.reduce((s, e) => s + e.ms, 0);
    const inTx = firstBegin && lastCommit ? entries.filter((e) => e.at >= firstBegin.at && e.at <= lastCommit.at) : [];
    const roundTrips = (list) => list.filter((e) => e.kind === 'statement' || e.kind === 'execute').length;
    const byKind = {};
    for (const e of entries) {
      const key = e.kind === 'statement' ? classify(e.text) : e.kind;
      byKind[key] ??= { count: 0, ms: 0 };
      byKind[key].count++;
      byKind[key].ms += e.ms;
    }
    for (const v of Object.values(byKind)) v.ms = +v.ms.toFixed(1);
    const ms = (a, b) => (a !== undefined && b !== undefined ? Math.round(b - a) : undefined);
    results.plain = {
      wallSeconds: +r.seconds.toFixed(3),
      phases: {
        'process start → session authorized (node boot, bundle load, inputs, read + checksum files, connect)': ms(r.startedAt, connectedAt),
        'session authorized → first BEGIN (version, lock, history, parse all files, bookkeeping tables, run record, fingerprint)': ms(connectedAt, firstBegin && firstBegin.at - firstBegin.ms),
        'first BEGIN → last COMMIT (migration statements, history/checksum rows, commits)': ms(firstBegin && firstBegin.at - firstBegin.ms, lastCommit?.at),
        ...(rehearsalEnd
          ? {
              '  of which: rehearsal (first BEGIN → its ROLLBACK)': ms(firstBegin.at - firstBegin.ms, rehearsalEnd.at),
              '  of which: real apply (ROLLBACK → last COMMIT)': ms(rehearsalEnd.at, lastCommit?.at),
            }
          : {}),
        'last COMMIT → process exit (run record, report, summary, outputs, disconnect)': ms(lastCommit?.at, r.endedAt),
      },
      firstToLastStatementMs: ms(first, last),
      roundTrips: roundTrips(entries),
      roundTripsInTransactions: roundTrips(inTx),
      roundTripsInRehearsal: rehearsalTrips,
      serverExecutionMs: +serverMs.toFixed(1),
      serverExecutionInTransactionsMs: +inTx.reduce((s, e) => s + e.ms, 0).toFixed(1),
      // Every protocol message before the first migration transaction, with its end time after the
      // session was authorized: the gaps between them are client-side work (parsing, file reading…).
      beforeFirstBegin: entries
        .filter((e) => !firstBegin || e.at < firstBegin.at)
        .map((e) => ({ atMs: connectedAt !== undefined ? Math.round(e.at - connectedAt) : undefined, ms: e.ms, kind: e.kind, text: e.text.replace(/\s+/g, ' ').trim().slice(0, 90) })),
      slowest: [...entries].sort((a, b) => b.ms - a.ms).slice(0, 8).map((e) => ({ ms: e.ms, text: e.text.slice(0, 100) })),
      byKind,
    };
  }

  // 2. profiled run
  if (args.tool === 'ours') {
    const { db, dir } = await fresh();
    const profDir = join(tempRoot, 'prof');
    mkdirSync(profDir, { recursive: true });
    if (args.phase === 'noop') {
      const r0 = await run(NODE, [DIST], oursEnv(db, dir, args.mode), dir);
      if (r0.code !== 0) throw new Error(`apply before the profiled no-op failed:\n${r0.output}`);
    }
    await server.admin((c) => c.query('checkpoint'));
    const r = await run(NODE, ['--cpu-prof', `--cpu-prof-dir=${profDir}`, '--cpu-prof-interval=200', DIST], oursEnv(db, dir, args.mode), dir);
    if (r.code !== 0) throw new Error(`profiled run failed:\n${r.output}`);
    const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
    const analysis = analyseProfile(join(profDir, file));
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const resultsDir = join(HERE, 'results');
    mkdirSync(resultsDir, { recursive: true });
    const keep = join(resultsDir, `profile-ours-${args.mode}-${args.phase}-n${N}-${stamp}.cpuprofile`);
    copyFileSync(join(profDir, file), keep);
    results.profiled = { wallSeconds: +r.seconds.toFixed(3), cpuProfile: keep, ...analysis };
  }

  const p = results.plain;
  console.log(`## Profile of ${PSQL ? `raw psql${args.tool === 'psql-single' ? ' -1 (one transaction)' : ''}` : 'ours'}: ${N} migrations${args.tool === 'ours' ? `, transaction-mode ${args.mode}` : ''}, ${args.phase} run\n`);
  console.log(`build: dist files sha256 ${results.distSha256}; inputs ${Object.entries(EXTRA_INPUTS).map(([k, v]) => `${k}=${v}`).join(', ')}`);
  console.log(`wall clock ${p.wallSeconds} s${results.profiled ? ` (profiled run: ${results.profiled.wallSeconds} s)` : ''}`);
  for (const [phase, v] of Object.entries(p.phases)) console.log(`- ${phase}: ${v ?? 'n/a'} ms`);
  console.log(
    `${p.roundTrips} round trips (simple queries + extended-protocol executes), ${p.roundTripsInTransactions} of them between first BEGIN and last COMMIT` +
      (p.roundTripsInRehearsal !== undefined ? `, ${p.roundTripsInRehearsal} in the rehearsal` : ''),
  );
  console.log(`server execution time ${p.serverExecutionMs} ms in total, ${p.serverExecutionInTransactionsMs} ms between first BEGIN and last COMMIT`);
  console.log('by kind:', JSON.stringify(p.byKind));
  console.log('before the first BEGIN (end time after session authorized, duration, statement):');
  for (const e of p.beforeFirstBegin) if (e.kind !== 'parse' && e.kind !== 'bind') console.log(`  +${e.atMs} ms  ${e.ms.toFixed(1)} ms  ${e.text}`);
  console.log('slowest statements:');
  for (const s of p.slowest) console.log(`  ${s.ms.toFixed(1)} ms  ${s.text}`);
  const table = (title, rows) => {
    console.log(`\n### ${title}\n\n| ms | % of ${results.profiled.totalMs.toFixed(0)} ms | function / module |\n|---:|---:|---|`);
    for (const r of rows) console.log(`| ${r.ms} | ${r.pct} | ${r.name.replace(/\|/g, '\\|')} |`);
  };
  if (results.profiled) {
    table('CPU self time by module', results.profiled.modules);
    table('CPU self time by function', results.profiled.self);
    table('CPU inclusive time by function', results.profiled.inclusive);
  }
  const resultsDir = join(HERE, 'results');
  mkdirSync(resultsDir, { recursive: true });
  const json = join(resultsDir, `profile-${PSQL ? args.tool : `ours-${args.mode}`}-${args.phase}-n${N}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(json, `${JSON.stringify(results, null, 2)}\n`);
  console.error(`\nsummary: ${json}${results.profiled ? `\nprofile: ${results.profiled.cpuProfile}` : ''}`);
}

function classify(text) {
  const t = text.trim().toLowerCase();
  if (/^begin\b/.test(t) && /;\s*commit\s*;?$/.test(t)) return 'transactions sent together (BEGIN … COMMIT; BEGIN … COMMIT)';
  if (/^(begin|commit|rollback)\b/.test(t)) return t.split(/\s/)[0];
  if (t.startsWith('set local') || t.startsWith('set ')) return 'set';
  if (t.startsWith('insert into supabase_migrations') || t.startsWith('insert into migration_guard')) return 'history insert';
  return 'migration statement / other';
}

let code = 0;
try {
  await main();
} catch (error) {
  code = 1;
  console.error(error?.stack ?? error);
} finally {
  await githubApi?.close();
  await server?.stop().catch(() => {});
  removeTemp();
}
process.exit(code);
