/**
 * `migration-guard aggregate`: the last job of a fan-out over many databases. Reads every target's
 * JSON report, writes one status board to the job summary (and stdout) and exits 1 when a target
 * failed or left no report. Needs no database.
 */
import { appendFile, readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { runContextFromEnv } from '../config/run-context.js';
import type { RunResult } from '../engine/result.js';
import {
  boardRows,
  boardSucceeded,
  renderBoard,
  type AggregateTarget,
  type TargetReport,
} from '../report/aggregate.js';

export const AGGREGATE_USAGE = `Usage: migration-guard aggregate [--targets JSON] [--summary-path FILE] [--json] REPORT|DIR ...

Reads the JSON reports of a fan-out (one per target, named <target>.json; a folder stands for the
.json files in it) and writes one status board: a row per target, failures first.

  --targets JSON        the fan-out's target list ([{"name": "eu", "environment": "prod-eu",
                        "secret": "EU_DATABASE_URL"}, ...]); a listed target without a report is
                        shown as a job that died. Without it, one row per report.
  --summary-path FILE   append the board here (default: $GITHUB_STEP_SUMMARY when set)
  --json                print the rows as JSON instead of the Markdown board

Exit codes: 0 every target succeeded, 1 a target failed or has no report, 2 bad usage.`;

/** Target names become artifact names, concurrency groups and file names: keep them plain. */
const TARGET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

class AggregateUsageError extends Error {}

interface AggregateArgs {
  targets?: AggregateTarget[];
  summaryPath?: string;
  json: boolean;
  paths: string[];
}

export function parseAggregateArgs(argv: string[], env: NodeJS.ProcessEnv): AggregateArgs {
  const args: AggregateArgs = { json: false, paths: [], summaryPath: env.GITHUB_STEP_SUMMARY || undefined };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split(/=(.*)/s, 2);
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined || v.trim() === '') throw new AggregateUsageError(`${flag} needs a value`);
      return v;
    };
    if (flag === '--targets') args.targets = parseTargets(value());
    else if (flag === '--summary-path') args.summaryPath = value();
    else if (flag === '--json') args.json = true;
    else if (flag.startsWith('--')) throw new AggregateUsageError(`Unknown flag ${flag}`);
    else args.paths.push(argv[i]);
  }
  if (args.paths.length === 0 && !args.targets)
    throw new AggregateUsageError('Give the report files (or their folder), or --targets, or both');
  return args;
}

/** The target list, as the reusable workflow's `targets` input holds it. */
export function parseTargets(json: string): AggregateTarget[] {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    throw new AggregateUsageError(`--targets is not valid JSON: ${(error as Error).message}`);
  }
  if (!Array.isArray(value)) throw new AggregateUsageError('--targets must be a JSON array of targets');
  const seen = new Set<string>();
  return value.map((item, i) => {
    const where = `--targets[${i}]`;
    if (typeof item !== 'object' || item === null || Array.isArray(item))
      throw new AggregateUsageError(`${where} must be an object with a "name"`);
    const { name, environment, secret } = item as Record<string, unknown>;
    if (typeof name !== 'string' || !TARGET_NAME.test(name))
      throw new AggregateUsageError(
        `${where}.name must be 1–63 letters, digits, ".", "_" or "-" (it names artifacts and files); got ${JSON.stringify(name)}`,
      );
    if (seen.has(name)) throw new AggregateUsageError(`${where}.name "${name}" is listed twice`);
    seen.add(name);
    for (const [key, v] of Object.entries({ environment, secret }))
      if (v !== undefined && typeof v !== 'string')
        throw new AggregateUsageError(`${where}.${key} must be a string`);
    return { name, environment: environment as string | undefined, secret: secret as string | undefined };
  });
}

/** The report files: each path as given, a folder as the `.json` files in it (sorted). */
async function reportFiles(paths: string[]): Promise<string[]> {
  const files: string[] = [];
  for (const path of paths) {
    const info = await stat(path).catch(() => undefined);
    if (info?.isDirectory()) {
      const names = (await readdir(path)).filter((n) => n.endsWith('.json')).sort();
      files.push(...names.map((n) => join(path, n)));
    } else files.push(path);
  }
  return files;
}

async function readReport(file: string): Promise<TargetReport> {
  const target = basename(file).replace(/\.json$/, '');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    return {
      file,
      target,
      problem: `Could not read ${file}: ${(error as NodeJS.ErrnoException).code ?? error}`,
    };
  }
  try {
    const result = JSON.parse(text) as RunResult;
    if (result?.tool?.name !== 'supabase-migration-guard' || typeof result.status !== 'string')
      return { file, target, problem: `${file} is not a supabase-migration-guard report` };
    return { file, target, result };
  } catch (error) {
    return { file, target, problem: `${file} is not valid JSON: ${(error as Error).message}` };
  }
}

/** Runs the command; returns the exit code. */
export async function aggregateMain(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${AGGREGATE_USAGE}\n`);
    return 0;
  }
  let args: AggregateArgs;
  try {
    args = parseAggregateArgs(argv, env);
  } catch (error) {
    if (!(error instanceof AggregateUsageError)) throw error;
    process.stderr.write(`${error.message}\n\n${AGGREGATE_USAGE}\n`);
    return 2;
  }
  const reports = await Promise.all((await reportFiles(args.paths)).map(readReport));
  const rows = boardRows(args.targets, reports);
  const board = renderBoard(rows, { runUrl: runContextFromEnv(env).runUrl });
  if (args.summaryPath) {
    try {
      await appendFile(args.summaryPath, board);
    } catch (error) {
      // The board is on stdout too: a summary that cannot be written must not hide the outcome.
      process.stderr.write(`warning: could not write the job summary: ${(error as Error).message}\n`);
    }
  }
  process.stdout.write(args.json ? `${JSON.stringify(rows, null, 2)}\n` : board);
  return boardSucceeded(rows) ? 0 : 1;
}
