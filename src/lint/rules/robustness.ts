import {
  alterTableCmds,
  constraintsOf,
  funcCalls,
  funcName,
  list,
  location,
  typeInfo,
  wrapped,
} from '../ast.js';
import { tableOf, type LintContext, type LintRule, type LintStatement, type RuleHit } from '../context.js';

/** Reported by the runner where the parser stops at a psql meta-command or COPY … FROM stdin data. */
export const psqlMetaCommand: LintRule = {
  id: 'psql-meta-command',
  family: 'robustness',
  defaultSeverity: 'error',
  summary: 'psql meta-commands (\\i, \\set, \\connect) and COPY … FROM stdin only work in psql',
};

/** Reported by the runner where the parser stops at a syntax error: the rest of the file is not linted. */
export const syntaxError: LintRule = {
  id: 'syntax-error',
  family: 'robustness',
  defaultSeverity: 'error',
  summary: 'The file does not parse: nothing after the error is linted',
};

/** Reported by the `lint` command when the folder cannot be read as migrations (marker sections, duplicate versions). */
export const invalidMigrationFile: LintRule = {
  id: 'invalid-migration-file',
  family: 'robustness',
  defaultSeverity: 'error',
  summary: 'The folder cannot be read as migrations (misplaced markers, duplicate versions)',
};

export const ignoreWithoutReason: LintRule = {
  id: 'ignore-without-reason',
  family: 'robustness',
  defaultSeverity: 'warning',
  summary: 'An ignore comment without a reason silences nothing',
};

export const unusedIgnore: LintRule = {
  id: 'unused-ignore',
  family: 'robustness',
  defaultSeverity: 'warning',
  summary: 'An ignore comment that silences no finding',
};

interface FileState {
  file: string;
  open?: { line: number };
}

/** Per-file bookkeeping of a rule that looks at statement order. */
function fileState(ctx: LintContext, key: string, stmt: LintStatement): FileState {
  const state = ctx.state<{ current?: FileState }>(key, () => ({}));
  if (state.current?.file !== stmt.file) state.current = { file: stmt.file };
  return state.current;
}

export const transactionControl: LintRule = {
  id: 'transaction-control',
  family: 'robustness',
  defaultSeverity: 'warning',
  summary: 'BEGIN / COMMIT / ROLLBACK inside a migration file: the runner owns the transaction',
  nodeTypes: ['TransactionStmt'],
  check(stmt, ctx) {
    const state = fileState(ctx, 'transaction-control', stmt);
    const first = stmt.index === 0;
    const kind = stmt.statement.transactionControl;
    if (!kind || kind === 'savepoint') return;
    const word = stmt.statement.sql.split(/\s+/)[0].toUpperCase();
    switch (kind) {
      case 'begin': {
        const nested = state.open;
        state.open = { line: stmt.statement.line };
        if (nested) {
          return {
            message: `${word} inside the block opened at line ${nested.line}: PostgreSQL does not nest transactions and the runner refuses this file; close the first block or remove this ${word}`,
            severity: 'error',
          };
        }
        return first
          ? {
              message: `${word} wraps the file in a transaction block: the runner already runs each file in its own transaction and absorbs this block, so it can go`,
              severity: 'info',
            }
          : {
              message: `${word} opens a block inside the file: the runner absorbs it into the migration's transaction, so it does not commit on its own as written; remove BEGIN/COMMIT or split the file`,
            };
      }
      case 'commit':
      case 'chain':
        if (state.open) {
          if (kind === 'commit') state.open = undefined;
          return;
        }
        return {
          message: `${word} without a BEGIN before it would commit part of the file on its own: the runner refuses it; remove it`,
          severity: 'error',
        };
      case 'rollback':
        return {
          message: `${word} inside a migration would discard the run's work, not just this file's: the runner refuses it; use SAVEPOINT … ROLLBACK TO SAVEPOINT to undo part of a file`,
          severity: 'error',
        };
      default:
        return {
          message: `${word}: two-phase commit inside a migration is refused by the runner, which commits the transaction itself; remove it`,
          severity: 'error',
        };
    }
  },
  endFile(file, ctx) {
    const state = ctx.state<{ current?: FileState }>('transaction-control', () => ({})).current;
    if (state?.file !== file.file || !state.open) return;
    return {
      message: `BEGIN at line ${state.open.line} is never closed with COMMIT: the runner refuses the file; add COMMIT where the block ends, or remove the BEGIN`,
      line: state.open.line,
      column: 1,
      severity: 'error',
    };
  },
};

/** `ADD COLUMN … NOT NULL` without a default fails as soon as the table has a row. */
export const notNullColumnWithoutDefault: LintRule = {
  id: 'not-null-column-without-default',
  family: 'robustness',
  defaultSeverity: 'warning',
  summary: 'ADD COLUMN … NOT NULL without a DEFAULT fails on a table that has rows',
  nodeTypes: ['AlterTableStmt'],
  check(stmt) {
    const table = tableOf(stmt.node.relation);
    if (!table) return;
    const hits: RuleHit[] = [];
    for (const cmd of alterTableCmds(stmt.node)) {
      const column = cmd.subtype === 'AT_AddColumn' ? wrapped(cmd.def, 'ColumnDef') : undefined;
      if (!column) continue;
      const kinds = constraintsOf(column.constraints).map((k) => k.contype);
      const filled = ['CONSTR_DEFAULT', 'CONSTR_IDENTITY', 'CONSTR_GENERATED'].some((k) => kinds.includes(k));
      const serial = /^(small|big)?serial[248]?$/.test(typeInfo(column.typeName)?.name ?? '');
      if (!kinds.includes('CONSTR_NOTNULL') || filled || serial) continue;
      hits.push({
        message: `ADD COLUMN ${String(column.colname)} … NOT NULL on ${table.schema}.${table.table} without a DEFAULT fails as soon as the table has a row: give it a constant default, or add it nullable, backfill, then SET NOT NULL (after a validated CHECK)`,
        location: location(column),
        table,
      });
    }
    return hits;
  },
};

export const concurrentlyInTransaction: LintRule = {
  id: 'concurrently-in-transaction',
  family: 'robustness',
  defaultSeverity: 'error',
  summary: 'CONCURRENTLY (or another statement PostgreSQL refuses in a transaction) inside BEGIN … COMMIT',
  check(stmt) {
    const reason = stmt.statement.nonTransactional;
    if (!reason || !stmt.inTransactionBlock) return;
    return {
      message: `${reason} cannot run inside a transaction block, and this one sits inside the file's BEGIN … COMMIT: move it to a file of its own without BEGIN/COMMIT`,
    };
  },
};

const SESSION_SETTINGS = new Set(['lock_timeout', 'statement_timeout', 'search_path']);

export const sessionSetting: LintRule = {
  id: 'session-setting',
  family: 'robustness',
  defaultSeverity: 'warning',
  summary: 'SET lock_timeout / statement_timeout / search_path for the session (dump headers)',
  nodeTypes: ['VariableSetStmt', 'SelectStmt'],
  check(stmt) {
    const hits: RuleHit[] = [];
    const { node } = stmt;
    if (stmt.nodeType === 'VariableSetStmt') {
      const name = typeof node.name === 'string' ? node.name.toLowerCase() : '';
      if (node.kind === 'VAR_RESET_ALL' || (SESSION_SETTINGS.has(name) && !node.is_local)) {
        hits.push({
          message: settingMessage(node.kind === 'VAR_RESET_ALL' ? 'every setting (RESET ALL)' : name, 'SET'),
        });
      } else if (node.is_local && name !== 'search_path' && SESSION_SETTINGS.has(name)) {
        hits.push({
          message: `SET LOCAL ${name} ${stmt.statement.touchesTimeouts ?? 'changes a timeout'}: this runner sets its own again right after it, so it has no effect here: remove it (change the timeouts with the lock-timeout and statement-timeout inputs)`,
        });
      }
      return hits;
    }
    if (stmt.nodeType !== 'SelectStmt') return;
    for (const call of funcCalls(node.targetList)) {
      if (funcName(call) !== 'set_config') continue;
      const args = list(call.args);
      const name = (wrapped(args[0], 'A_Const') as { sval?: { sval?: string } } | undefined)?.sval?.sval;
      const local = (wrapped(args[2], 'A_Const') as { boolval?: { boolval?: boolean } } | undefined)?.boolval
        ?.boolval;
      if (name && SESSION_SETTINGS.has(name.toLowerCase()) && !local) {
        hits.push({
          message: settingMessage(name.toLowerCase(), 'set_config'),
          location: call.location as number,
        });
      }
    }
    return hits;
  },
};

function settingMessage(name: string, how: string): string {
  if (name === 'search_path') {
    return `${how} search_path for the session changes how every later statement resolves names, in this file and the files after it (a pg_dump header): remove it and schema-qualify names, or use SET LOCAL`;
  }
  // What the statement does is described by timeout-settings.ts, as the engine's own finding says it.
  return `${how} ${name} for the session (a pg_dump / db pull header): this runner sets its lock_timeout and statement_timeout again right after it, so here it only misleads, but under psql or supabase db push the rest of the file runs without them: remove it (change the timeouts with the lock-timeout and statement-timeout inputs)`;
}

export const migrateMarkerMisplaced: LintRule = {
  id: 'migrate-marker-misplaced',
  family: 'robustness',
  defaultSeverity: 'error',
  summary: 'A -- migrate:up/down marker not at the start of a line: dbmate does not see it',
  checkFile(file) {
    const text = file.source.text;
    if (!text.includes('migrate:')) return;
    const hits: RuleHit[] = [];
    for (const m of text.matchAll(/--[ \t]*migrate:(up|down)\b/g)) {
      const lineStart = text.lastIndexOf('\n', m.index - 1) + 1;
      if (m.index === lineStart) continue;
      const before = text.slice(lineStart, m.index);
      const position = file.source.position(Buffer.byteLength(text.slice(0, m.index), 'utf8'));
      hits.push({
        ...position,
        message: /^[ \t]*$/.test(before)
          ? `Indented "-- migrate:${m[1]}": dbmate only sees markers at the start of a line, so ${m[1] === 'down' ? 'the down section runs as part of the up migration' : 'this marker is ignored'}: remove the indentation`
          : `"-- migrate:${m[1]}" after other text on its line: dbmate only sees markers at the start of a line, so ${m[1] === 'down' ? 'the down section runs as part of the up migration' : 'this marker is ignored'}: put it on a line of its own`,
      });
    }
    return hits;
  },
};

export const PARSE_RULES = { psql: psqlMetaCommand, syntax: syntaxError } as const;
export const IGNORE_WITHOUT_REASON = ignoreWithoutReason;
export const UNUSED_IGNORE = unusedIgnore;

export const ROBUSTNESS_RULES: LintRule[] = [
  transactionControl,
  concurrentlyInTransaction,
  notNullColumnWithoutDefault,
  sessionSetting,
  migrateMarkerMisplaced,
  psqlMetaCommand,
  syntaxError,
  invalidMigrationFile,
  ignoreWithoutReason,
  unusedIgnore,
];
