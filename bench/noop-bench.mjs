#!/usr/bin/env node
/**
 * The no-op run (everything already applied) against dbmate's, many times, alternating, on one
 * migrated database each:
 *
 *   node bench/noop-bench.mjs [--n 500] [--runs 30] [--dist dist] [--node PATH] [--quiet-too]
 *
 * Each run is timed by wall clock and by the CPU time (user + system) the process used, read from
 * the kernel through /usr/bin/time. On a busy machine wall clock moves with the load; CPU time moves
 * much less, so the CPU ratio still says which tool does less work. Ours runs as GitHub runs it
 * (`node dist/index.js`, INPUT_* variables, GITHUB_OUTPUT, the environment of a push to main with a
 * loopback GitHub API, audit log on); `--quiet-too` adds ours with the audit log and the comment off.
 * Every run is checked (our `status` output is `nothing-to-do`; dbmate exits 0 and applies nothing).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadavg } from 'node:os';
import { actionNode } from './lib/action-node.mjs';
import { snapshotDist } from './lib/dist.mjs';
import { generateMigrations, writeMigrationSets } from './lib/generate.mjs';
import { githubPushEnv, startGithubApi } from './lib/github-api.mjs';
import { prepareSupabaseTemplate, startServer } from './lib/server.mjs';
import { BENCH_DIR, cleanEnv, makeTempDir, median, onCleanup, runMain, runProcess, writeResults } from './lib/safety-common.mjs';

const { values: args } = parseArgs({
  options: {
    n: { type: 'string', default: '500' },
    runs: { type: 'string', default: '30' },
    dist: { type: 'string', default: 'dist' },
    node: { type: 'string' },
    'quiet-too': { type: 'boolean', default: false },
  },
});
const N = Number(args.n);
const RUNS = Number(args.runs);
const DBMATE = [join(BENCH_DIR, '..', 'node_modules', '.bin', 'dbmate'), join(BENCH_DIR, '.tools', 'node_modules', '.bin', 'dbmate')].find((p) => {
  try {
    readFileSync(p);
    return true;
  } catch {
    return false;
  }
});

/** Runs argv under /usr/bin/time: wall seconds from our clock, CPU seconds from the kernel. */
async function timed(cmd, argv, options) {
  const timeFile = join(options.cwd, 'time.txt');
  const started = performance.now();
  const r = await runProcess('/usr/bin/time', ['-o', timeFile, '-f', '%U %S', cmd, ...argv], options);
  const wall = (performance.now() - started) / 1000;
  const [user, sys] = readFileSync(timeFile, 'utf8').trim().split('\n').pop().split(' ').map(Number);
  return { r, wall, cpu: user + sys };
}

async function main() {
  if (!DBMATE) throw new Error('dbmate is missing: npm i --prefix bench/.tools dbmate@2.36.0');
  const node = actionNode(args.node);
  const root = makeTempDir('mg-noop-bench-');
  const { dir: distDir, hash } = await snapshotDist(resolve(args.dist), join(root, 'dist'));
  const sets = writeMigrationSets(join(root, 'sets'), generateMigrations(N));
  // The server runs as the `postgres` OS user, which cannot enter `root` (mode 0700): its own folder.
  const server = await startServer({ dataDir: makeTempDir('mg-noop-bench-pgdata-') });
  onCleanup(() => server.stop());
  const api = await startGithubApi();
  onCleanup(() => api.close?.());
  const template = await prepareSupabaseTemplate(server);
  const dbs = ['ours', 'dbmate', ...(args['quiet-too'] ? ['quiet'] : [])];
  await server.admin(async (c) => {
    for (const db of dbs) await c.query(`create database noop_${db} template ${template}`);
  });

  const contenders = {
    ours: (runDir, quiet = false) => {
      const output = join(runDir, 'out');
      writeFileSync(output, '');
      // The runner creates the step's summary file before the step starts (the action writes to it).
      const summary = join(runDir, 'summary.md');
      writeFileSync(summary, '');
      return {
        cmd: node.path,
        argv: [join(distDir, 'index.js')],
        options: {
          cwd: runDir,
          env: cleanEnv({
            'INPUT_COMMAND': 'apply',
            'INPUT_DATABASE-URL': server.url(quiet ? 'noop_quiet' : 'noop_ours'),
            'INPUT_MIGRATIONS-DIR': sets.plain,
            'INPUT_BACKUP': 'off',
            GITHUB_OUTPUT: output,
            GITHUB_STEP_SUMMARY: summary,
            RUNNER_TEMP: runDir,
            ...githubPushEnv(api.url, runDir),
            ...(quiet ? { MIGRATION_GUARD_BENCHMARK_AUDIT_OFF: '1', INPUT_COMMENT: 'false' } : {}),
          }),
        },
        check: (first) => {
          const status = /status<<(\S+)\n(.*)\n/.exec(readFileSync(output, 'utf8'))?.[2];
          const want = first ? 'success' : 'nothing-to-do';
          return status === want ? undefined : `status "${status}", expected ${want}`;
        },
      };
    },
    dbmate: (runDir) => ({
      cmd: DBMATE,
      argv: ['--url', `${server.url('noop_dbmate')}?sslmode=disable`, '--migrations-dir', sets.dbmate, '--no-dump-schema', 'up'],
      options: { cwd: runDir, env: cleanEnv() },
      check: () => undefined,
    }),
  };
  const order = ['ours', 'dbmate', ...(args['quiet-too'] ? ['quiet'] : [])];
  const spec = (id, runDir) => (id === 'quiet' ? contenders.ours(runDir, true) : contenders[id](runDir));
  const samples = Object.fromEntries(order.map((id) => [id, []]));
  const loads = [];
  for (let i = -1; i < RUNS; i++) {
    // Round -1 applies the N files (not timed); the rounds after it are no-op runs.
    const rotated = order.map((_, k) => order[(k + Math.max(i, 0)) % order.length]);
    for (const id of rotated) {
      const runDir = join(root, `${id}-${i + 1}`);
      mkdirSync(runDir, { recursive: true });
      const s = spec(id, runDir);
      loads.push(loadavg()[0]);
      const { r, wall, cpu } = await timed(s.cmd, s.argv, s.options);
      const problem = r.code !== 0 ? `exit ${r.code}: ${r.stderr.slice(-400)}` : s.check(i < 0);
      if (problem) throw new Error(`${id} run ${i + 1}: ${problem}`);
      if (i >= 0) samples[id].push({ wall, cpu });
    }
  }
  const stats = Object.fromEntries(
    order.map((id) => [id, { wall: median(samples[id].map((s) => s.wall)), cpu: median(samples[id].map((s) => s.cpu)) }]),
  );
  const lines = [
    `No-op runs on ${N} applied migrations, PostgreSQL 17, ${RUNS} alternating runs each; ours on Node ${node.version}, dist ${hash.slice(0, 8)}`,
    `Machine load (1-minute average at each run): median ${median(loads).toFixed(2)}, max ${Math.max(...loads).toFixed(2)}`,
    '',
    '| contender | wall median (s) | CPU median (s, user+sys) | wall ÷ dbmate | CPU ÷ dbmate |',
    '|---|---:|---:|---:|---:|',
    ...order.map((id) => {
      const s = stats[id];
      const label = id === 'quiet' ? 'ours, audit log and comment off' : id === 'ours' ? 'ours (apply, nothing to do)' : 'dbmate up';
      return `| ${label} | ${s.wall.toFixed(3)} | ${s.cpu.toFixed(3)} | ${(s.wall / stats.dbmate.wall).toFixed(2)} | ${(s.cpu / stats.dbmate.cpu).toFixed(2)} |`;
    }),
  ];
  console.log(lines.join('\n'));
  const file = writeResults('noop', { N, RUNS, node: node.version, dist: hash, samples, stats, loads });
  console.log(`\nraw results: ${file}`);
}

runMain(main);
