#!/usr/bin/env node
/**
 * Encrypted backup: our age-encrypted backup against a bare `pg_dump -Fc` of the same database.
 *
 *   node bench/backup-encryption.mjs [--mib 360] [--rounds 3] [--warmup 1] [--dist dist] [--node PATH]
 *
 * One embedded PostgreSQL 15 (the pg_dump on PATH is 15 and refuses newer servers), 127.0.0.1,
 * default durability. The database is about --mib × 0.84 MiB (the default gives ~300 MiB), made
 * server-side with generate_series: an `orders` table (ids, amounts, timestamps, md5 text;
 * compresses like typical rows) and an `events` table of jsonb payloads with md5 strings
 * (compresses less), plus their indexes. After
 * --warmup untimed rounds, --rounds rounds each run, in rotating order:
 *
 *   bare:       pg_dump -Fc -f FILE                                   (libpq environment)
 *   bareStdout: bash -c 'pg_dump -Fc | cat > FILE'  (pg_dump to a pipe, as ours runs it when encrypting)
 *   plain:      node dist/cli.js backup --backup-dir DIR --json        (our backup, unencrypted)
 *   encrypted:  the same with --backup-encryption-key age1…
 *               = pg_dump -Fc to stdout → sha256 + age (X25519, ChaCha20-Poly1305) in the Node
 *                 process → a 0600 file; fsync; read back from disk, decrypted in memory, sha256
 *                 of both, pg_restore --list on the decrypted stream; rename; JSON report
 *
 * Our runs use Node 24 (as GitHub runs the action; see bench/lib/action-node.mjs). Wall-clock time
 * of each process is measured. Every result is checked (bare: pg_restore --list reads it; ours:
 * status success, sha256 of the file as reported; encrypted: the file starts with the age header,
 * pg_restore cannot read it, and decrypting it here with the identity gives the reported archive
 * sha256, which pg_restore --list reads), outside the timing. Prints medians and the ratio to bare
 * (target ≤ 1.25×) and writes the raw results to bench/results/.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import * as age from 'age-encryption';
import { actionNode } from './lib/action-node.mjs';
import { snapshotDist } from './lib/dist.mjs';
import { startServer } from './lib/server.mjs';
import {
  ROOT,
  cleanEnv,
  fmt,
  gitHead,
  intOption,
  libpqEnv,
  machineInfo,
  machineMarkdown,
  makeTempDir,
  markdownTable,
  median,
  onCleanup,
  runMain,
  runProcess,
  toolVersion,
  writeResults,
} from './lib/safety-common.mjs';

const { values: args } = parseArgs({
  options: {
    mib: { type: 'string', default: '360' },
    rounds: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '1' },
    timeout: { type: 'string', default: '1800' },
    dist: { type: 'string', default: join(ROOT, 'dist') },
    node: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (args.help) {
  console.log('usage: node bench/backup-encryption.mjs [--mib 360] [--rounds 3] [--warmup 1] [--timeout 1800] [--dist dist] [--node PATH]');
  process.exit(0);
}
const MIB = intOption(args.mib, 'mib', 10, 100_000);
const ROUNDS = intOption(args.rounds, 'rounds', 1, 100);
const WARMUP = intOption(args.warmup, 'warmup', 0, 10);
const TIMEOUT_MS = intOption(args.timeout, 'timeout', 10, 24 * 3600) * 1000;
const TARGET_RATIO = 1.25;
const DB = 'encryption_bench';
const NODE = actionNode(args.node);
const CONTENDERS = ['bare', 'bareStdout', 'plain', 'encrypted'];

async function sha256Of(stream) {
  const hash = createHash('sha256');
  await pipeline(stream, hash);
  return hash.digest('hex');
}

runMain(async () => {
  const machine = { ...machineInfo(), actionNode: NODE.version };
  const work = makeTempDir('mg-encbench-');
  const { dir: dist, hash: distSha } = await snapshotDist(resolve(args.dist), join(work, 'dist'));
  const build = `${resolve(args.dist)} (files sha256 ${distSha}, git ${gitHead()})`;
  const server = await startServer({ major: 15, dataDir: makeTempDir('mg-encbench-pgdata-') });
  onCleanup(() => server.stop());
  await server.admin((c) => c.query(`CREATE DATABASE ${DB}`));
  const env = libpqEnv(server, DB);
  const identity = await age.generateIdentity();
  const recipient = await age.identityToRecipient(identity);

  // 1. The database: ~60 % orders (≈ 190 B/row on disk with its index), ~40 % events (≈ 330 B/row).
  const orders = Math.round((MIB * 0.6 * 2 ** 20) / 190);
  const events = Math.round((MIB * 0.4 * 2 ** 20) / 330);
  console.error(`generating the database (~${MIB} MiB): ${orders} orders, ${events} events…`);
  const genStart = Date.now();
  await server.admin(async (c) => {
    await c.query(`CREATE TABLE orders (
      id bigint PRIMARY KEY, customer_id int NOT NULL, amount_cents int NOT NULL, status text NOT NULL,
      reference text NOT NULL, created_at timestamptz NOT NULL)`);
    await c.query(`INSERT INTO orders
      SELECT g, ((g * 7919) % 100000)::int, ((g * 31) % 100000)::int, (ARRAY['new','paid','shipped','refunded'])[1 + g % 4],
             'ORD-' || md5(g::text), timestamptz '2024-01-01' + g * interval '1 second'
        FROM generate_series(1::bigint, ${orders}) g`);
    await c.query(`CREATE TABLE events (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, order_id bigint NOT NULL, payload jsonb NOT NULL)`);
    await c.query(`INSERT INTO events (order_id, payload)
      SELECT 1 + (g * 13) % ${orders}, jsonb_build_object('session', md5(g::text), 'ip', md5((g * 31)::text),
             'agent', 'Mozilla/5.0 ' || (g % 97), 'note', md5((g * 17)::text) || md5((g * 13)::text))
        FROM generate_series(1::bigint, ${events}) g`);
    await c.query('CREATE INDEX orders_customer ON orders (customer_id, created_at)');
    await c.query('VACUUM ANALYZE');
    await c.query('CHECKPOINT');
  }, DB);
  const dbInfo = await server.admin(
    async (c) =>
      (await c.query(`SELECT pg_database_size(current_database())::bigint AS bytes, current_setting('server_version') AS version`)).rows[0],
    DB,
  );
  const dbMiB = Number(dbInfo.bytes) / 2 ** 20;
  console.error(`database: ${dbMiB.toFixed(0)} MiB, generated in ${((Date.now() - genStart) / 1000).toFixed(1)} s`);

  const dumps = join(work, 'dumps');
  mkdirSync(dumps, { recursive: true });
  const migrationsDir = join(work, 'migrations'); // the backup command reads one: give it an empty one
  mkdirSync(migrationsDir, { recursive: true });
  const versions = { pgDump: toolVersion('pg_dump'), pgRestore: toolVersion('pg_restore') };

  // 2. The contenders
  async function bare(round) {
    const file = join(dumps, `bare-${round}.dump`);
    const r = await runProcess('pg_dump', ['-Fc', '-f', file], { env, cwd: work, timeoutMs: TIMEOUT_MS });
    if (r.code !== 0) throw new Error(`pg_dump failed: ${r.stderr.slice(-2000)}`);
    const list = await runProcess('pg_restore', ['--list', file], { env: cleanEnv(), cwd: work });
    if (list.code !== 0 || !/Format: CUSTOM/.test(list.stdout)) throw new Error(`bare dump unreadable: ${list.stderr}`);
    return { seconds: r.seconds, sizeBytes: readFileSync(file).length, cleanup: () => rmSync(file, { force: true }) };
  }

  // pg_dump writing to a pipe (as ours does when encrypting) that another process writes to the
  // file: separates the cost of the pipe and of a second process from that of the encryption.
  async function bareStdout(round) {
    const file = join(dumps, `bare-stdout-${round}.dump`);
    const r = await runProcess('bash', ['-c', 'set -o pipefail; pg_dump -Fc | cat > "$1"', 'bash', file], { env, cwd: work, timeoutMs: TIMEOUT_MS });
    if (r.code !== 0) throw new Error(`pg_dump | cat > file failed: ${r.stderr.slice(-2000)}`);
    const list = await runProcess('pg_restore', ['--list', file], { env: cleanEnv(), cwd: work });
    if (list.code !== 0 || !/Format: CUSTOM/.test(list.stdout)) throw new Error(`bare stdout dump unreadable: ${list.stderr}`);
    return { seconds: r.seconds, sizeBytes: readFileSync(file).length, cleanup: () => rmSync(file, { force: true }) };
  }

  async function ours(round, encrypted) {
    const dir = join(dumps, `${encrypted ? 'encrypted' : 'plain'}-${round}`);
    const argv = [join(dist, 'cli.js'), 'backup', '--database-url', server.url(DB), '--backup-dir', dir, '--migrations-dir', migrationsDir, '--environment', 'bench', '--json'];
    if (encrypted) argv.push('--backup-encryption-key', recipient);
    const r = await runProcess(NODE.path, argv, { env: cleanEnv(), cwd: work, timeoutMs: TIMEOUT_MS, timestamps: true });
    const at = (re) => r.lines.find((l) => re.test(l.line))?.t;
    const dumping = at(/^Backing up .* with pg_dump/);
    const written = at(/^Backup .*: .* entries, sha256/);
    let report;
    try {
      report = JSON.parse(r.stdout);
    } catch {
      throw new Error(`ours: no JSON report (exit ${r.code}): ${r.stderr.slice(-2000)}`);
    }
    const backup = report.backup;
    if (r.code !== 0 || report.status !== 'success' || !backup?.path || !existsSync(backup.path)) {
      throw new Error(`ours (${encrypted ? 'encrypted' : 'plain'}): backup failed (exit ${r.code}, status ${report.status}): ${report.message}`);
    }
    // Checks, outside the timing.
    const sha = await sha256Of(createReadStream(backup.path));
    if (sha !== backup.sha256) throw new Error(`sha256 mismatch (${sha} vs reported ${backup.sha256})`);
    if (encrypted) {
      const head = readFileSync(backup.path).subarray(0, 22).toString('latin1');
      if (head !== 'age-encryption.org/v1\n' || !backup.encrypted) throw new Error('the encrypted backup is not an age file');
      const listed = await runProcess('pg_restore', ['--list', backup.path], { env: cleanEnv(), cwd: work });
      if (listed.code === 0) throw new Error('pg_restore reads the encrypted file');
      const d = new age.Decrypter();
      d.addIdentity(identity);
      const clear = await d.decrypt(readFileSync(backup.path));
      const clearSha = createHash('sha256').update(clear).digest('hex');
      // The benchmark's own check that pg_restore reads the decrypted archive (ours never writes it).
      const clearPath = join(dumps, `clear-${round}.dump`);
      writeFileSync(clearPath, clear);
      const clearList = await runProcess('pg_restore', ['--list', clearPath], { env: cleanEnv(), cwd: work });
      rmSync(clearPath, { force: true });
      if (clearSha !== backup.encrypted.clearSha256 || clearList.code !== 0) {
        throw new Error(`decrypted content mismatch or unreadable (${clearSha} vs ${backup.encrypted.clearSha256})`);
      }
    }
    return {
      seconds: r.seconds,
      sizeBytes: backup.sizeBytes,
      clearSizeBytes: backup.encrypted?.clearSizeBytes,
      internalSeconds: backup.durationMs / 1000,
      stageSeconds: dumping && written ? (written - dumping) / 1000 : undefined,
      cleanup: () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const run = { bare, bareStdout, plain: (i) => ours(i, false), encrypted: (i) => ours(i, true) };

  // 3. Rounds, rotating the order so no contender always runs first after the checkpoint.
  const rounds = [];
  for (let i = 1 - WARMUP; i <= ROUNDS; i++) {
    const shift = (i + WARMUP) % CONTENDERS.length;
    const order = [...CONTENDERS.slice(shift), ...CONTENDERS.slice(0, shift)];
    const round = { round: i, warmup: i < 1, order };
    for (const id of order) {
      await server.admin((c) => c.query('CHECKPOINT'));
      round[id] = await run[id](i);
      round[id].cleanup();
      delete round[id].cleanup;
    }
    round.ratio = round.encrypted.seconds / round.bare.seconds;
    round.plainRatio = round.plain.seconds / round.bare.seconds;
    console.error(
      `${round.warmup ? 'warm-up' : `round ${i}/${ROUNDS}`} (${order.join(', ')}): bare ${fmt(round.bare.seconds)} s, bare to a pipe ${fmt(round.bareStdout.seconds)} s, plain ${fmt(round.plain.seconds)} s, ` +
        `encrypted ${fmt(round.encrypted.seconds)} s; encrypted/bare ${fmt(round.ratio, 3)}, dump ${fmt(round.bare.sizeBytes / 2 ** 20, 1)} MiB`,
    );
    rounds.push(round);
  }

  // 4. Report
  const timed = rounds.filter((r) => !r.warmup);
  const med = (f) => median(timed.map(f));
  const range = (f) => `${fmt(Math.min(...timed.map(f)))}–${fmt(Math.max(...timed.map(f)))}`;
  const bareMed = med((r) => r.bare.seconds);
  const plainMed = med((r) => r.plain.seconds);
  const encMed = med((r) => r.encrypted.seconds);
  const encStage = med((r) => r.encrypted.stageSeconds ?? NaN);
  const plainStage = med((r) => r.plain.stageSeconds ?? NaN);
  const ratio = encMed / bareMed;
  const table = markdownTable(
    ['contender', 'median s', 'min–max s', 'ratio to bare (median)', 'per-round ratios'],
    [
      ['bare `pg_dump -Fc -f FILE`', fmt(bareMed), range((r) => r.bare.seconds), '1.000', ''],
      ['bare `pg_dump -Fc | cat > FILE` (pg_dump to a pipe, as ours runs it when encrypting)', fmt(med((r) => r.bareStdout.seconds)), range((r) => r.bareStdout.seconds), fmt(med((r) => r.bareStdout.seconds) / bareMed, 3), timed.map((r) => fmt(r.bareStdout.seconds / r.bare.seconds, 3)).join(', ')],
      ['ours `cli.js backup` (unencrypted)', fmt(plainMed), range((r) => r.plain.seconds), fmt(plainMed / bareMed, 3), timed.map((r) => fmt(r.plainRatio, 3)).join(', ')],
      ['ours `cli.js backup --backup-encryption-key age1…`', fmt(encMed), range((r) => r.encrypted.seconds), fmt(ratio, 3), timed.map((r) => fmt(r.ratio, 3)).join(', ')],
      ['ours encrypted, the backup stage alone (pg_dump → age → file, read-back, fsync; no Node start, connect or report)', fmt(encStage), range((r) => r.encrypted.stageSeconds ?? NaN), fmt(encStage / bareMed, 3), ''],
    ],
  );
  const dumpMiB = med((r) => r.bare.sizeBytes) / 2 ** 20;
  const output = [
    `## Encrypted backup (${ROUNDS} rounds after ${WARMUP} warm-up, rotating order; medians)`,
    '',
    machineMarkdown(machine, dbInfo.version),
    `- Our runs: Node ${NODE.version}. Build under test: ${build}`,
    `- Database: ${dbMiB.toFixed(0)} MiB (${orders} orders, ${events} events with jsonb payloads); custom-format dump ${dumpMiB.toFixed(1)} MiB, encrypted file ${fmt(med((r) => r.encrypted.sizeBytes) / 2 ** 20, 1)} MiB. ${versions.pgDump}.`,
    '',
    table,
    '',
    `Backup stage alone (medians, from the tool's log lines): unencrypted ${fmt(plainStage)} s, encrypted ${fmt(encStage)} s: encryption and its decrypting read-back add ${fmt(encStage - plainStage)} s.`,
    '',
    `Target: encrypted ≤ ${TARGET_RATIO.toFixed(2)}× bare: whole \`cli.js backup\` process ${ratio <= TARGET_RATIO ? 'MET' : 'MISSED'} (${fmt(ratio, 3)}×); ` +
      `the stage alone ${encStage / bareMed <= TARGET_RATIO ? 'MET' : 'MISSED'} (${fmt(encStage / bareMed, 3)}×).`,
  ].join('\n');
  console.log(output);
  const path = writeResults('backup-encryption', {
    build,
    machine,
    server: dbInfo.version,
    versions,
    settings: { MIB, ROUNDS, WARMUP },
    database: { bytes: Number(dbInfo.bytes), orders, events },
    rounds,
    medians: { bareSeconds: bareMed, bareStdoutSeconds: med((r) => r.bareStdout.seconds), plainSeconds: plainMed, encryptedSeconds: encMed, ratio, encryptedStageSeconds: encStage, plainStageSeconds: plainStage },
    markdown: output,
  });
  console.error(`raw results: ${path}`);
});
