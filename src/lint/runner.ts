import type { Migration } from '../migrations/discover.js';
import type { SourceText } from '../migrations/source-text.js';
import {
  splitReadsNode,
  type KeptStatements,
  type SplitInput,
  type Statement,
} from '../migrations/statements.js';
import type { DeclaredColumn } from './columns.js';
import { loadParser } from '../migrations/parser.js';
import { defaultLintConfig, type LintConfig } from './config.js';
import {
  LintContext,
  tableKey,
  type LintRule,
  type LintStatement,
  type ReleaseHit,
  type RuleHit,
  type RuleHits,
  type TableRef,
  type TableSecurity,
  type TableStats,
} from './context.js';
import { findIgnores, type IgnoreComment } from './ignore.js';
import { ParseWorker, type ParseAhead } from './parse-ahead.js';
import { parsedStatementsOf, type ParseProblem } from './runner-parse.js';
import { RULES } from './rules/index.js';
import { IGNORE_WITHOUT_REASON, PARSE_RULES, UNUSED_IGNORE } from './rules/robustness.js';
import { estimate, sizedSeverity } from './size.js';
import { track } from './track.js';
import type { LintFinding, LintReport, LintSeverity } from './types.js';

export type TableStatsLookup = (schema: string, table: string) => TableStats | undefined;

export interface LintOptions {
  exposedSchemas?: string[];
  config?: LintConfig;
  /** Live sizes (plan): lock and rewrite findings then take their severity from the table's size. */
  tableStats?: TableStatsLookup;
  /**
   * Live sizes loaded once the files are read, for exactly the tables the findings name (one
   * round trip: see liveTableStats in live-stats.ts). Used when `tableStats` is not given.
   */
  loadTableStats?: (tables: TableRef[]) => Promise<TableStatsLookup>;
  /**
   * `release` (default): a table created anywhere earlier in `migrations` is new (they are the
   * pending set). `file`: only in the same file (the `lint` command reads a whole folder, applied
   * files included, so it cannot tell which tables already exist).
   */
  newTableScope?: 'release' | 'file';
  /** Live tables' row-level security (plan: liveTableSecurity in live-security.ts), for the security rules. */
  tableSecurity?: (schema: string, table: string) => TableSecurity | undefined;
  /** The rules to run (default: all registered ones); for tests of one rule. */
  rules?: LintRule[];
  /**
   * Parse ahead on a worker thread when the files are large enough (parse-ahead.ts): the
   * findings are the same, the parsing runs on a second core. `true` starts one for these files;
   * a ParseWorker started earlier (before the files were read) is used, and stopped, here.
   */
  parseAhead?: boolean | ParseWorker;
  /**
   * Filled with each file's statements as parsed here (the nodes only where the split reads them),
   * for the files that parsed without a problem: apply splits them from this parse instead of
   * parsing every pending file a second time.
   */
  keep?: KeptStatements;
  debug?: (message: string) => void;
}

/** A hit on its way to becoming a finding. */
interface Pending {
  rule: LintRule;
  hit: RuleHit;
  file?: string;
  version?: string;
  line?: number;
  column?: number;
  /** The statement the hit is about: ignore comments before it apply. */
  statementStart?: number;
}

interface FileIgnores {
  file: string;
  ignores: Array<IgnoreComment & { target?: number }>;
}

/**
 * Lints migrations in order, statement by statement, each file parsed once and its statements
 * dropped as soon as their rules have run. Never throws for what a file contains: a file the
 * splitter refuses (syntax error, psql meta-command) gives a finding at its line.
 */
export async function lintMigrations(
  migrations: Migration[],
  options: LintOptions = {},
): Promise<LintReport> {
  const worker =
    options.parseAhead instanceof ParseWorker
      ? options.parseAhead
      : options.parseAhead
        ? ParseWorker.startFor(migrations)
        : undefined;
  try {
    const ahead = worker?.parseAhead(migrations, loadParser);
    const report = await lintInOrder(migrations, options, ahead);
    if (ahead)
      options.debug?.(`Lint: ${ahead.byWorker} of ${migrations.length} file(s) parsed on a worker thread`);
    return report;
  } finally {
    await worker?.stop();
  }
}

async function lintInOrder(
  migrations: Migration[],
  options: LintOptions,
  ahead: ParseAhead | undefined,
): Promise<LintReport> {
  const parser = ahead ? undefined : await loadParser();
  const config = options.config ?? defaultLintConfig();
  const rules = (options.rules ?? RULES).filter((r) => config.rules[r.id] !== 'off');
  const ctx = new LintContext({
    exposedSchemas: options.exposedSchemas ?? config.exposedSchemas,
    newTableScope: options.newTableScope,
    tableSecurity: options.tableSecurity,
  });
  // Rules by the node types they look at: most statements of a long history (INSERTs) meet few rules.
  const forAll = rules.filter((r) => r.check && !r.nodeTypes);
  const byType = new Map<string, LintRule[]>();
  for (const rule of rules.filter((r) => r.check && r.nodeTypes)) {
    for (const type of rule.nodeTypes!) byType.set(type, [...(byType.get(type) ?? []), rule]);
  }
  const rulesFor = new Map<string, LintRule[]>();
  const checking = (nodeType: string): LintRule[] => {
    let list = rulesFor.get(nodeType);
    if (!list) {
      const typed = new Set(byType.get(nodeType) ?? []);
      // Registry order, whatever the grouping.
      list = rules.filter((r) => typed.has(r) || forAll.includes(r));
      rulesFor.set(nodeType, list);
    }
    return list;
  };
  const pending: Pending[] = [];
  const ignoresByFile = new Map<string, FileIgnores>();

  for (const [index, migration] of migrations.entries()) {
    const fileParser = ahead ? await ahead.parserFor(index) : parser!;
    const { source, start, end } = migration.up;
    const file = migration.path;
    const version = migration.version;
    ctx.startFile(file);
    const ignores = findIgnores(source, start, end);
    // Where each statement starts and ends, for ignore comments to find theirs (only in a file
    // that has some: measuring every statement's length cost a long history ~10 ms).
    const spans: Array<[number, number]> = [];
    let statements = 0;
    const add = (
      rule: LintRule,
      hits: RuleHits,
      at: (h: RuleHit) => { line: number; column: number },
      statementStart?: number,
    ) => {
      for (const hit of asList(hits)) {
        if (hit.table && ctx.isNewTable(hit.table)) continue;
        const position = hit.line !== undefined ? { line: hit.line, column: hit.column ?? 1 } : at(hit);
        pending.push({ rule, hit, file, version, ...position, statementStart });
      }
    };
    for (const rule of rules) {
      if (rule.checkFile)
        add(rule, rule.checkFile({ file, version, source, start, end }, ctx), () => source.position(start));
    }
    let inBlock = false;
    const kept: SplitInput[] | undefined = options.keep ? [] : undefined;
    let parsedCleanly = true;
    const onProblem = (problem: ParseProblem) => {
      parsedCleanly = false;
      const rule = PARSE_RULES[problem.kind];
      if (config.rules[rule.id] === 'off') return;
      pending.push({
        rule,
        hit: { message: problem.message },
        file,
        version,
        line: problem.line,
        column: problem.column,
      });
    };
    for (const parsed of parsedStatementsOf(fileParser, migration, onProblem)) {
      const { statement, nodeType, node, nodeBase } = parsed;
      kept?.push(splitReadsNode(nodeType) ? { statement, node } : { statement });
      if (statement.transactionControl === 'commit') inBlock = false;
      const stmt = new StatementInFile(
        file,
        version,
        nodeType,
        node,
        statement,
        statements++,
        inBlock,
        source,
        nodeBase,
      );
      if (ignores.length > 0)
        spans.push([statement.startByte, statement.startByte + Buffer.byteLength(statement.sql, 'utf8')]);
      for (const rule of checking(nodeType)) {
        const hits = rule.check!(stmt, ctx);
        if (hits) add(rule, hits, (h) => stmt.at(h.location), statement.startByte);
      }
      track(stmt, ctx);
      if (statement.transactionControl === 'begin') inBlock = true;
    }
    if (kept && parsedCleanly) options.keep!.set(migration, kept);
    for (const rule of rules) {
      if (rule.endFile)
        add(rule, rule.endFile({ file, version, source, start, end }, ctx), () => source.position(start));
    }
    if (ignores.length > 0) {
      ignoresByFile.set(file, {
        file,
        // A `next` ignore applies to the statement it sits in (a comment between a table's
        // columns), else to the first statement that starts after it.
        ignores: ignores.map((ignore) => ({
          ...ignore,
          target: (spans.find(([from, to]) => from <= ignore.byte && ignore.byte < to) ??
            spans.find(([from]) => from > ignore.byte))?.[0],
        })),
      });
    }
  }

  for (const rule of rules) {
    for (const hit of rule.finish?.(ctx) ?? []) {
      const release = hit as ReleaseHit;
      pending.push({
        rule,
        hit,
        file: release.file,
        version: release.version,
        line: hit.line,
        column: hit.column,
        statementStart: release.statementStart,
      });
    }
  }

  const stats = options.tableStats ?? (await loadStats(pending, options.loadTableStats));
  const entries = dedupe(pending.map((p) => ({ pending: p, finding: toFinding(p, config, stats) })));
  const unusedIgnores = applyIgnores(entries, ignoresByFile, config, rules);
  const order = new Map(migrations.map((m, i) => [m.path, i]));
  const rank = (f: LintFinding) => (f.file === undefined ? migrations.length : (order.get(f.file) ?? 0));
  // File by file in release order, then by position; rules in registry order at one position (stable sort).
  const findings = entries
    .map((e) => e.finding)
    .sort((a, b) => rank(a) - rank(b) || (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
  const counts: Record<LintSeverity, number> = { error: 0, warning: 0, info: 0 };
  for (const f of findings) if (!f.ignored) counts[f.severity]++;
  return { findings, unusedIgnores, context: stats ? 'live' : 'static', counts };
}

async function loadStats(
  pending: Pending[],
  load: LintOptions['loadTableStats'],
): Promise<TableStatsLookup | undefined> {
  if (!load) return undefined;
  const tables = new Map<string, TableRef>();
  for (const p of pending)
    if (p.hit.table && p.rule.family === 'locks') tables.set(tableKey(p.hit.table), p.hit.table);
  return load([...tables.values()]);
}

function toFinding(p: Pending, config: LintConfig, stats: TableStatsLookup | undefined): LintFinding {
  const override = config.rules[p.rule.id];
  // Sizes grade locks and rewrites only (data lost from a small table is lost all the same), and
  // not a hit that sets its own severity (an unsure one says info whatever the size).
  const size =
    p.rule.family === 'locks' && p.hit.table && p.hit.severity === undefined
      ? stats?.(p.hit.table.schema, p.hit.table.table)
      : undefined;
  const severity: LintSeverity =
    override && override !== 'off'
      ? override
      : size
        ? sizedSeverity(size)
        : (p.hit.severity ?? p.rule.defaultSeverity);
  return {
    rule: p.rule.id,
    family: p.rule.family,
    severity,
    message: size ? `${p.hit.message} (${estimate(size)})` : p.hit.message,
    file: p.file,
    version: p.version,
    line: p.line,
    column: p.column,
    source: 'static',
  };
}

/**
 * Marks findings silenced by an ignore comment (a reason is required: an ignore without one
 * silences nothing and is a finding itself), then reports ignores that silenced nothing.
 */
function applyIgnores(
  entries: Entry[],
  byFile: Map<string, FileIgnores>,
  config: LintConfig,
  rules: LintRule[],
): LintReport['unusedIgnores'] {
  const unused: LintReport['unusedIgnores'] = [];
  const extra: LintFinding[] = [];
  const known = new Set([...RULES.map((r) => r.id), ...rules.map((r) => r.id)]);
  for (const { pending, finding } of entries) {
    if (!pending) continue;
    const entry = finding.file ? byFile.get(finding.file) : undefined;
    if (!entry) continue;
    const start = pending.statementStart;
    const ignore = entry.ignores.find(
      (ig) =>
        ig.rule === finding.rule &&
        ig.reason !== '' &&
        (ig.scope === 'file' || (start !== undefined && ig.target === start)),
    );
    if (!ignore) continue;
    ignore.used = true;
    finding.ignored = { reason: ignore.reason, line: ignore.line };
  }
  for (const { file, ignores } of byFile.values()) {
    for (const ig of ignores) {
      if (ig.reason === '') {
        extra.push(
          ruleFinding(
            IGNORE_WITHOUT_REASON,
            config,
            file,
            ig,
            `Ignore of ${ig.rule || '(no rule id)'} gives no reason, so it silences nothing: write -- migration-guard:ignore${ig.scope === 'file' ? '-file' : ''} ${ig.rule || '<rule-id>'} <why this is safe>`,
          ),
        );
        continue;
      }
      // A rule turned off in the config reports nothing for its ignores to silence: not stale.
      if (ig.used || config.rules[ig.rule] === 'off') continue;
      unused.push({ file, line: ig.line, rule: ig.rule });
      const why = known.has(ig.rule)
        ? `no ${ig.rule} finding ${ig.scope === 'file' ? 'in this file' : 'on the next statement'}`
        : `no rule has the id "${ig.rule}"`;
      extra.push(
        ruleFinding(UNUSED_IGNORE, config, file, ig, `Ignore comment silences nothing (${why}): remove it`),
      );
    }
  }
  for (const finding of extra) if (finding.severity) entries.push({ pending: undefined, finding });
  return unused;
}

function ruleFinding(
  rule: LintRule,
  config: LintConfig,
  file: string,
  at: { line: number; column: number },
  message: string,
): LintFinding {
  const override = config.rules[rule.id];
  return {
    rule: rule.id,
    family: rule.family,
    // Turned off: filtered out by the caller (no severity).
    severity: (override === 'off' ? undefined : (override ?? rule.defaultSeverity)) as LintSeverity,
    message,
    file,
    line: at.line,
    column: at.column,
    source: 'static',
  };
}

interface Entry {
  pending?: Pending;
  finding: LintFinding;
}

/** The same rule at the same place once (a COPY both parsed and refused, say). */
function dedupe(entries: Entry[]): Entry[] {
  const seen = new Set<string>();
  return entries.filter(({ finding: f }) => {
    const key = `${f.rule}\u0000${f.file}\u0000${f.line}\u0000${f.column}\u0000${f.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function asList(hits: RuleHits): RuleHit[] {
  return hits === undefined ? [] : Array.isArray(hits) ? hits : [hits as RuleHit];
}

/**
 * A statement as the rules see it (LintStatement). A class: a long history has ~50,000 statements,
 * and a method on the prototype costs nothing per statement where a closure did.
 */
class StatementInFile implements LintStatement {
  declared: DeclaredColumn[] | undefined = undefined;

  constructor(
    readonly file: string,
    readonly version: string,
    readonly nodeType: string,
    readonly node: Record<string, unknown>,
    readonly statement: Statement,
    readonly index: number,
    readonly inTransactionBlock: boolean,
    private readonly source: SourceText,
    /** Where the tree's `location` fields count from. */
    private readonly nodeBase: number,
  ) {}

  at(location: number | undefined): { line: number; column: number } {
    return location === undefined || location < 0
      ? { line: this.statement.line, column: this.statement.column }
      : this.source.position(this.nodeBase + location);
  }
}
