#!/usr/bin/env node
/**
 * Large files: time and peak memory (RSS) of applying one generated data migration of 25, 50 and
 * 100 MB (hundreds of thousands of INSERTs, bench/lib/generate-large.mjs), ours beside raw psql.
 *
 *   node bench/large-files.mjs [--sizes 25,50,100] [--only ours-all,ours-per-file,psql] [--pg 17]
 *                              [--dist dist] [--node PATH] [--timeout 1800]
 *
 * One throwaway PostgreSQL server (127.0.0.1, default durability settings). Per size, every
 * contender gets a new database, applies the file (one process, timed, wall clock and peak RSS by
 * GNU time), and the table is checked (row count, sum of ids, one row's text), so a run that
 * skipped or mangled rows cannot look good. Ours: `node dist/index.js` as GitHub runs it
 * (backup off, as psql takes none). psql: `psql -1 -f file` (one transaction, no history).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { actionNode } from './lib/action-node.mjs';
import { snapshotDist } from './lib/dist.mjs';
import { expectedVerify, VERIFY_SQL, writeLargeDataFile } from './lib/generate-large.mjs';
import { startServer } from './lib/server.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '25,50,100' },
    only: { type: 'string', default: 'ours-all,ours-per-file,psql' },
    pg: { type: 'string', default: '17' },
    dist: { type: 'string', default: join(ROOT, 'dist') },
    node: { type: 'string' },
    timeout: { type: 'string', default: '1800' },
  },
});
const SIZES = args.sizes.split(',').map(Number);
const ONLY = new Set(args.only.split(','));
const TIMEOUT_MS = Number(args.timeout) * 1000;
const NODE = actionNode(args.node);
if (!existsSync('/usr/bin/time'))
  throw new Error('GNU time (/usr/bin/time) is needed to measure peak memory');

const temp = mkdtempSync(join(tmpdir(), 'mg-large-'));
// Its own folder: the server runs as another user, who cannot enter `temp` (0700).
const pgData = mkdtempSync(join(tmpdir(), 'mg-large-pgdata-'));
let server;
let dist;
const cleanup = async () => {
  await server?.stop().catch(() => {});
  for (const dir of [temp, pgData]) rmSync(dir, { recursive: true, force: true });
};
process.on('SIGINT', () => cleanup().finally(() => process.exit(130)));

try {
  ({ dir: dist } = await snapshotDist(resolve(args.dist), join(temp, 'dist')));
  server = await startServer({ major: Number(args.pg), dataDir: pgData });
  const results = [];
  for (const mb of SIZES) {
    const migrations = join(temp, `migrations-${mb}`);
    mkdirSync(migrations);
    const file = join(migrations, '20240101000000_large_data.sql');
    const rows = writeLargeDataFile(file, mb * 1e6);
    const bytes = statSync(file).size;
    for (const id of ['psql', 'ours-all', 'ours-per-file'].filter((c) => ONLY.has(c))) {
      const db = `large_${mb}_${id.replace(/-/g, '_')}`;
      await server.admin((c) => c.query(`CREATE DATABASE ${db}`));
      await server.admin((c) => c.query('CHECKPOINT'));
      const run = await measure(id, db, file, migrations);
      const check = await server
        .admin((c) => c.query(VERIFY_SQL), db)
        .then(
          (r) => r.rows[0],
          (e) => ({ error: e.message }),
        );
      const ok = run.code === 0 && JSON.stringify(check) === JSON.stringify(expectedVerify(rows));
      const result = {
        mb,
        bytes,
        rows,
        id,
        seconds: run.seconds,
        peakRssMiB: run.peakRssMiB,
        ok,
        load: loadavg()[0],
      };
      if (!ok)
        result.failure = `exit ${run.code}; table ${JSON.stringify(check)}; ${run.output.slice(-1500)}`;
      results.push(result);
      console.error(
        `${mb} MB ${id}: ${run.seconds.toFixed(1)} s, ${run.peakRssMiB} MiB${ok ? '' : ` FAILED: ${result.failure}`}`,
      );
      await server.admin((c) => c.query(`DROP DATABASE ${db}`));
    }
    rmSync(migrations, { recursive: true, force: true });
  }
  printTable(results);
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  const out = join(ROOT, 'bench', 'results', `large-files-${new Date().toISOString().slice(0, 10)}.json`);
  writeFileSync(out, JSON.stringify({ machine: machine(), results }, null, 2));
  console.log(`\nraw results: ${out}`);
} finally {
  await cleanup();
}

/** Runs one contender under GNU time: wall clock and peak RSS of the process (psql: of psql). */
function measure(id, db, file, migrations) {
  const url = server.url(db);
  const runDir = mkdtempSync(join(temp, 'run-'));
  const output = join(runDir, 'github-output');
  writeFileSync(output, '');
  const [cmd, argv, env] =
    id === 'psql'
      ? [
          'psql',
          [
            '-X',
            '-q',
            '-1',
            '-v',
            'ON_ERROR_STOP=1',
            '-h',
            '127.0.0.1',
            '-p',
            String(server.port),
            '-U',
            server.user,
            '-d',
            db,
            '-f',
            file,
          ],
          { PGPASSWORD: server.password, PGSSLMODE: 'disable' },
        ]
      : [
          NODE.path,
          [join(dist, 'index.js')],
          {
            INPUT_COMMAND: 'apply',
            'INPUT_DATABASE-URL': url,
            'INPUT_MIGRATIONS-DIR': migrations,
            'INPUT_TRANSACTION-MODE': id === 'ours-all' ? 'all' : 'per-file',
            INPUT_BACKUP: 'off',
            INPUT_COMMENT: 'false',
            GITHUB_OUTPUT: output,
            GITHUB_STEP_SUMMARY: join(runDir, 'summary.md'),
            RUNNER_TEMP: runDir,
          },
        ];
  const timeFile = join(runDir, 'time');
  return new Promise((resolveRun, reject) => {
    const clean = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !/^(INPUT_|GITHUB_|RUNNER_|PG)/.test(k)),
    );
    const child = spawn('/usr/bin/time', ['-f', '%e %M', '-o', timeFile, cmd, ...argv], {
      env: { ...clean, ...env },
      cwd: runDir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const chunks = [];
    const keep = (c) => {
      chunks.push(c);
      if (chunks.length > 200) chunks.shift();
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const [seconds, kib] = readFileSync(timeFile, 'utf8').trim().split('\n').pop().split(' ').map(Number);
      resolveRun({
        code,
        seconds,
        peakRssMiB: Math.round(kib / 1024),
        output: Buffer.concat(chunks).toString('utf8'),
      });
    });
  });
}

function printTable(results) {
  const m = machine();
  console.log(
    `\n## Large files (${new Date().toISOString()}; ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB; Node ${NODE.version} for ours; load ${m.load})\n`,
  );
  console.log('| file | rows | contender | time (s) | peak RSS (MiB) | ok |');
  console.log('|---|---|---|---|---|---|');
  for (const r of results) {
    console.log(
      `| ${r.mb} MB (${(r.bytes / 2 ** 20).toFixed(1)} MiB) | ${r.rows} | ${r.id} | ${r.seconds.toFixed(1)} | ${r.peakRssMiB} | ${r.ok ? 'yes' : 'NO'} |`,
    );
  }
}

function machine() {
  const line = readFileSync('/proc/cpuinfo', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('model name'));
  return {
    cpu: line ? line.split(':')[1].trim() : cpus()[0]?.model,
    cores: cpus().length,
    memoryGiB: +(totalmem() / 2 ** 30).toFixed(1),
    load: loadavg()
      .map((x) => x.toFixed(2))
      .join(' '),
  };
}
