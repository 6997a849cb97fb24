/**
 * Shared plumbing of the safety benchmarks (lock-impact, backup-overhead, rollback): temp folders
 * and child processes that are cleaned up on exit, error and Ctrl-C; a process runner with a time
 * bound; statistics; Markdown tables; machine information; the raw-results writer.
 *
 * Separate from apply-bench.mjs's own helpers on purpose: those live inside that script.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const ROOT = resolve(BENCH_DIR, '..');
export const BIN = join(ROOT, 'node_modules', '.bin');
export const RESULTS_DIR = join(BENCH_DIR, 'results');

// ---------------------------------------------------------------------------------------------
// Cleanup: temp folders, child processes, async finalisers (servers)
// ---------------------------------------------------------------------------------------------
const tempDirs = new Set();
const children = new Set();
const finalisers = [];
let cleaning;
let interrupted = false;

export function isInterrupted() {
  return interrupted;
}

/** A temp folder removed at exit (also after an error or a signal). */
export function makeTempDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

/** An async step run once at cleanup, newest first (e.g. stopping a server). */
export function onCleanup(fn) {
  finalisers.push(fn);
}

function removeTempDirs() {
  for (const dir of tempDirs) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      /* best effort */
    }
  }
}

function killChildren(signal = 'SIGKILL') {
  for (const child of children) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    try {
      process.kill(-child.pid, signal); // its whole process group (bash loops, psql under it)
    } catch {
      try {
        child.kill(signal);
      } catch {
        /* gone */
      }
    }
  }
}

export async function cleanup() {
  if (!cleaning) {
    cleaning = (async () => {
      killChildren('SIGKILL');
      for (const fn of [...finalisers].reverse()) {
        try {
          await fn();
        } catch (error) {
          console.error(`cleanup: ${error?.message ?? error}`);
        }
      }
      removeTempDirs();
    })();
  }
  return cleaning;
}

process.on('exit', () => {
  killChildren('SIGKILL');
  removeTempDirs();
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    if (interrupted) return;
    interrupted = true;
    console.error(`\n${signal}: stopping and cleaning up`);
    cleanup().finally(() => process.exit(130));
  });
}

/** Runs `main`, always cleans up, exits 1 on error. */
export function runMain(main) {
  main()
    .then(async () => {
      await cleanup();
    })
    .catch(async (error) => {
      console.error(error?.stack ?? String(error));
      await cleanup();
      process.exitCode = 1;
    });
}

// ---------------------------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------------------------
/**
 * Runs a process in its own process group (so a timeout or cleanup can kill what it started).
 * Resolves with { code, signal, stdout, stderr, startMs, endMs, seconds, timedOut, lines } where
 * `lines` are the output lines with their arrival time (epoch ms), when `timestamps` is set.
 */
export function runProcess(cmd, argv, { env = cleanEnv(), cwd, timeoutMs = 600_000, timestamps = false, input } = {}) {
  return new Promise((resolveRun, reject) => {
    if (interrupted) return reject(new Error('interrupted'));
    const out = [];
    const err = [];
    const lines = [];
    const partial = { stdout: '', stderr: '' };
    const keep = (list, stream) => (chunk) => {
      list.push(chunk);
      if (timestamps) {
        const now = Date.now();
        const text = partial[stream] + chunk.toString('utf8');
        const parts = text.split('\n');
        partial[stream] = parts.pop();
        for (const line of parts) lines.push({ t: now, stream, line });
      }
    };
    const startMs = Date.now();
    const started = process.hrtime.bigint();
    const child = spawn(cmd, argv, { env, cwd, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], detached: true });
    children.add(child);
    if (input !== undefined) child.stdin.end(input);
    child.stdout.on('data', keep(out, 'stdout'));
    child.stderr.on('data', keep(err, 'stderr'));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      children.delete(child);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      const endMs = Date.now();
      for (const stream of ['stdout', 'stderr'])
        if (timestamps && partial[stream]) lines.push({ t: endMs, stream, line: partial[stream] });
      resolveRun({
        code,
        signal,
        startMs,
        endMs,
        seconds: Number(process.hrtime.bigint() - started) / 1e9,
        timedOut,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        lines,
      });
    });
  });
}

/** The parent's environment without inputs, GitHub, libpq or tool settings leaking in. */
export function cleanEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(INPUT_|GITHUB_|RUNNER_|PG|DATABASE_URL$|DBMATE_|SUPABASE_|MIGRATION_GUARD_)/.test(k)) continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

/** libpq variables for psql/pgbench/pg_dump: the password never on a command line. */
export function libpqEnv(server, database, extra = {}) {
  return cleanEnv({
    PGHOST: '127.0.0.1',
    PGPORT: String(server.port),
    PGUSER: server.user,
    PGPASSWORD: server.password,
    PGDATABASE: database,
    PGSSLMODE: 'disable',
    PGCONNECT_TIMEOUT: '10',
    ...extra,
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// Statistics and formatting
// ---------------------------------------------------------------------------------------------
export function median(xs) {
  const s = xs.filter((x) => typeof x === 'number' && !Number.isNaN(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Nearest-rank percentile (p in 0..100) of an already sorted array. */
export function percentileSorted(sorted, p) {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

export const fmt = (x, digits = 2) => (x === undefined || x === null || Number.isNaN(x) ? 'n/a' : Number(x).toFixed(digits));

export function markdownTable(headers, rows) {
  const line = (cells) => `| ${cells.map((c) => String(c ?? '').replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}

// ---------------------------------------------------------------------------------------------
// Machine, server, results
// ---------------------------------------------------------------------------------------------
export function machineInfo() {
  const cpu = cpus();
  let cpuModel = cpu[0]?.model ?? 'unknown';
  try {
    const lscpu = spawnSync('lscpu', [], { encoding: 'utf8' }).stdout ?? '';
    const m = /^Model name:\s*(.+)$/m.exec(lscpu);
    if (m && m[1].trim().length > cpuModel.length) cpuModel = m[1].trim();
  } catch {
    /* keep os.cpus() */
  }
  return {
    cpuModel,
    cores: cpu.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: release(),
    node: process.version,
    loadavg: loadavg().map((x) => Math.round(x * 100) / 100),
    date: new Date().toISOString(),
  };
}

export function toolVersion(cmd, argv = ['--version']) {
  try {
    const r = spawnSync(cmd, argv, { encoding: 'utf8', env: cleanEnv(), timeout: 30_000 });
    return (r.stdout || r.stderr || '').trim().split('\n')[0] || 'unknown';
  } catch {
    return 'unknown';
  }
}

export function machineMarkdown(machine, server) {
  return [
    `- Machine: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB RAM, Linux ${machine.kernel}, Node ${machine.node}`,
    `- PostgreSQL: ${server ?? 'n/a'} (embedded, 127.0.0.1, default durability settings)`,
    `- Date: ${machine.date}; load average at start ${machine.loadavg.join(' / ')}`,
  ].join('\n');
}

/** Writes the raw results as JSON into bench/results/ (gitignored); returns the path. */
export function writeResults(name, data) {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const path = join(RESULTS_DIR, `${name}-${stamp}.json`);
  writeFileSync(path, `${JSON.stringify(data, null, 2)}\n`);
  return path;
}

export function readJsonSafe(path) {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Parses a whole number option within bounds, or exits with a usage error. */
export function intOption(text, name, min, max) {
  const v = Number(text);
  if (!Number.isInteger(v) || v < min || v > max) {
    console.error(`--${name} must be a whole number from ${min} to ${max}, got "${text}"`);
    process.exit(2);
  }
  return v;
}

/** The commit the working tree is at (plus "+changes" when it differs), for the results. */
export function gitHead() {
  try {
    const head = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim();
    const dirty = spawnSync('git', ['status', '--porcelain', '--', 'src', 'dist'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim();
    return head ? `${head}${dirty ? '+changes in src/dist' : ''}` : 'unknown';
  } catch {
    return 'unknown';
  }
}
