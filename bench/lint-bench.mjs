#!/usr/bin/env node
/**
 * Linter benchmark (issue 9): our `lint` command against squawk's binary on the same files, in one
 * run. Two generated Supabase-style histories (bench/lib/generate-lint.mjs): ~1,000 statements in
 * small files, and ~200,000 lines packed ~160 lines a file (the shape of a long-lived project).
 * Each round runs every contender once per history, in a rotated order; the table shows the median
 * wall time (whole process: start-up, reading, parsing, rules, output), min–max, the number of
 * findings each reported on the same files and the ours ÷ squawk ratio. No database.
 *
 *   node bench/lint-bench.mjs                     # 5 rounds + 1 warm-up
 *   node bench/lint-bench.mjs --rounds 3 --only large
 *   node bench/lint-bench.mjs --dist /path/to/dist --node /path/to/node24
 *
 * squawk (`squawk-cli`; its native binary is run directly, not the Node wrapper in .bin) is installed
 * on demand into bench/.tools
 * (`npm i --prefix bench/.tools squawk-cli@2.66.0`), beside the Node 24 the other benches use.
 * Raw results go to bench/results/lint-<date>.json (gitignored).
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { actionNode } from './lib/action-node.mjs';
import { snapshotDist } from './lib/dist.mjs';
import { generateLintHistory, writeHistory } from './lib/generate-lint.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..');
const TOOLS = join(HERE, '.tools');
const SQUAWK_VERSION = '2.66.0';
const SQUAWK_WRAPPER = join(TOOLS, 'node_modules', '.bin', 'squawk');
/** The native binary itself: `.bin/squawk` is a Node script that starts it (and Node) first. */
const SQUAWK_NATIVE = join(TOOLS, 'node_modules', '@squawk-cli', `${process.platform}-${process.arch}`, 'bin', 'squawk');
/** GNU time, for each run's CPU time (user + system): steadier than wall time on a busy machine. */
const GNU_TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    only: { type: 'string' },
    dist: { type: 'string', default: join(ROOT, 'dist') },
    node: { type: 'string' },
    'small-migrations': { type: 'string', default: '250' },
    'large-migrations': { type: 'string', default: '12500' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (args.help) {
  console.log(
    'usage: node bench/lint-bench.mjs [--rounds 5] [--warmup 1] [--only small|large] [--dist dist] [--node PATH] [--small-migrations 250] [--large-migrations 12500]',
  );
  process.exit(0);
}
const ROUNDS = whole(args.rounds, 'rounds', 1, 100);
const WARMUP = whole(args.warmup, 'warmup', 0, 10);
const NODE = actionNode(args.node);

function whole(text, name, min, max) {
  const v = Number(text);
  if (!Number.isInteger(v) || v < min || v > max) {
    console.error(`--${name} must be a whole number from ${min} to ${max}, got "${text}"`);
    process.exit(2);
  }
  return v;
}

const tempRoot = mkdtempSync(join(tmpdir(), 'mg-lint-bench-'));
let child;
const cleanup = () => {
  child?.kill('SIGKILL');
  rmSync(tempRoot, { recursive: true, force: true });
};
process.on('exit', cleanup);
for (const signal of ['SIGINT', 'SIGTERM'])
  process.on(signal, () => {
    cleanup();
    process.exit(130);
  });

let SQUAWK;
function ensureSquawk() {
  if (!existsSync(SQUAWK_WRAPPER)) {
    console.error(`installing squawk-cli@${SQUAWK_VERSION} into bench/.tools …`);
    execFileSync('npm', ['i', '--prefix', TOOLS, '--no-audit', '--no-fund', `squawk-cli@${SQUAWK_VERSION}`], {
      stdio: 'inherit',
    });
  }
  SQUAWK = existsSync(SQUAWK_NATIVE) ? SQUAWK_NATIVE : SQUAWK_WRAPPER;
  return execFileSync(SQUAWK, ['--version'], { encoding: 'utf8' }).trim();
}

/** Runs a process to its end; resolves with wall and CPU time (ms), exit code and stdout. */
function timed(file, argv, options = {}) {
  const cpuFile = join(tempRoot, 'cpu.txt');
  const [command, args] = GNU_TIME ? [GNU_TIME, ['-f', '%U %S', '-o', cpuFile, file, ...argv]] : [file, argv];
  return new Promise((resolvePromise, reject) => {
    const started = process.hrtime.bigint();
    const chunks = [];
    const errors = [];
    child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (c) => chunks.push(c));
    child.stderr.on('data', (c) => errors.push(c));
    child.on('error', reject);
    child.on('close', (code) => {
      child = undefined;
      const cpu = GNU_TIME ? readFileSync(cpuFile, 'utf8').trim().split('\n').pop().split(' ').map(Number) : [];
      resolvePromise({
        ms: Number(process.hrtime.bigint() - started) / 1e6,
        cpuMs: cpu.length === 2 ? (cpu[0] + cpu[1]) * 1000 : undefined,
        code,
        stdout: Buffer.concat(chunks).toString('utf8'),
        stderr: Buffer.concat(errors).toString('utf8'),
      });
    });
  });
}

/** The contenders: how to run each on a folder and how to count what it found. */
function contenders(dist) {
  return {
    ours: {
      run: (dir) => timed(NODE.path, [join(dist, 'cli.js'), 'lint', '--migrations-dir', dir, '--json']),
      count(out) {
        if (out.code !== 0 && out.code !== 1) throw new Error(`ours exited ${out.code}: ${out.stderr.slice(0, 2000)}`);
        const report = JSON.parse(out.stdout);
        const lint = report.lint ?? report;
        return byRule(lint.findings.filter((f) => !f.ignored).map((f) => f.rule));
      },
    },
    squawk: {
      // A pattern, not a list of paths: the large history has more files than an argument list holds.
      run: (dir) => timed(SQUAWK, ['--reporter', 'json', `${dir}/*.sql`]),
      count(out) {
        if (out.code !== 0 && out.code !== 1) throw new Error(`squawk exited ${out.code}: ${out.stderr.slice(0, 2000)}`);
        return byRule(JSON.parse(out.stdout).map((v) => v.rule_name));
      },
    },
  };
}

function byRule(rules) {
  const counts = {};
  for (const r of rules) counts[r] = (counts[r] ?? 0) + 1;
  return counts;
}

const total = (counts) => Object.values(counts).reduce((a, b) => a + b, 0);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function countStatements(dir, files) {
  const lib = await import('libpg-query');
  await lib.loadModule();
  let n = 0;
  for (const f of files) n += lib.parseSync(f.sql).stmts?.length ?? 0;
  return n;
}

async function main() {
  const squawkVersion = ensureSquawk();
  const { dir: dist, hash } = await snapshotDist(args.dist, join(tempRoot, 'dist'));
  const histories = [
    { name: 'small', migrations: whole(args['small-migrations'], 'small-migrations', 1, 100_000), linesPerFile: 0 },
    { name: 'large', migrations: whole(args['large-migrations'], 'large-migrations', 1, 100_000), linesPerFile: 160 },
  ].filter((h) => !args.only || args.only.split(',').includes(h.name));
  const tools = contenders(dist);
  const names = Object.keys(tools);
  const results = [];
  for (const history of histories) {
    const files = generateLintHistory(history);
    const dir = join(tempRoot, history.name);
    const shape = writeHistory(dir, files);
    shape.statements = await countStatements(dir, files);
    console.error(
      `${history.name}: ${shape.files} files, ${shape.lines} lines, ${shape.statements} statements, ${(shape.bytes / 1e6).toFixed(1)} MB`,
    );
    const runs = Object.fromEntries(names.map((n) => [n, []]));
    const cpu = Object.fromEntries(names.map((n) => [n, []]));
    const found = {};
    for (let round = 0; round < WARMUP + ROUNDS; round++) {
      const order = names.map((_, i) => names[(i + round) % names.length]);
      for (const name of order) {
        const out = await tools[name].run(dir);
        const counts = tools[name].count(out);
        found[name] ??= counts;
        if (total(found[name]) !== total(counts)) throw new Error(`${name} found a different number of things in round ${round}`);
        if (round >= WARMUP) {
          runs[name].push(out.ms);
          if (out.cpuMs !== undefined) cpu[name].push(out.cpuMs);
        }
      }
    }
    results.push({ history: history.name, shape, runs, cpu, found, load: loadavg()[0] });
  }

  const lines = [
    `| history | files | lines | statements | ours: wall (median, min–max) | squawk: wall (median, min–max) | ours ÷ squawk (wall) | ours ÷ squawk (CPU) | findings: ours | findings: squawk |`,
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  const range = (xs) => `${ms(median(xs))} (${ms(Math.min(...xs))}–${ms(Math.max(...xs))})`;
  for (const r of results) {
    lines.push(
      `| ${r.history} | ${r.shape.files} | ${r.shape.lines} | ${r.shape.statements} | ${range(r.runs.ours)} | ${range(r.runs.squawk)} | ${(median(r.runs.ours) / median(r.runs.squawk)).toFixed(2)} | ${cpuRatio(r)} | ${total(r.found.ours)} | ${total(r.found.squawk)} |`,
    );
  }
  console.log(lines.join('\n'));
  for (const r of results) {
    console.log(`\n${r.history}: findings by rule`);
    for (const name of names) {
      const sorted = Object.entries(r.found[name]).sort((a, b) => b[1] - a[1]);
      console.log(`  ${name}: ${sorted.map(([rule, n]) => `${rule} ${n}`).join(', ')}`);
    }
  }
  console.log(
    `\n${ROUNDS} rounds (+${WARMUP} warm-up), ours on Node ${NODE.version} (dist ${hash}), squawk ${squawkVersion}, ${cpus().length} CPUs, load ${loadavg()[0].toFixed(2)}`,
  );
  const resultsDir = join(HERE, 'results');
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `lint-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(
    file,
    `${JSON.stringify({ node: NODE.version, dist: hash, squawk: squawkVersion, rounds: ROUNDS, warmup: WARMUP, results }, null, 2)}\n`,
  );
  console.error(`raw results: ${file}`);
}

/** Medians of CPU time (user + system), e.g. `1.27 (2.41 s / 1.90 s)`. */
function cpuRatio(r) {
  if (r.cpu.ours.length === 0 || r.cpu.squawk.length === 0) return 'n/a';
  const [o, s] = [median(r.cpu.ours), median(r.cpu.squawk)];
  return `${(o / s).toFixed(2)} (${ms(o)} / ${ms(s)})`;
}

function ms(x) {
  return x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${Math.round(x)} ms`;
}

main().catch((error) => {
  console.error(error instanceof Error ? error.stack : error);
  process.exitCode = 1;
});
