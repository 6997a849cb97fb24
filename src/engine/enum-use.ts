import { GuardError } from '../errors.js';
import type { PgParser } from '../migrations/parser.js';
import type { Statement } from '../migrations/statements.js';
import type { PreparedMigration } from './units.js';

/**
 * Whether SQL text mentions an enum value as a quoted literal ('it''s' for it's). Cheap and
 * generous: it also matches text in comments, strings and function bodies. Deciding when to
 * commit a file early (units.ts), a false match costs only an extra commit.
 */
export function mentionsEnumValue(sql: string, value: string): boolean {
  return sql.includes(literalOf(value));
}

function literalOf(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/**
 * PostgreSQL refuses to use an enum value in the transaction that added it (SQLSTATE 55P04),
 * unless the type itself was created in that transaction. A file that adds a value and then uses
 * it (or whose verify script does) therefore fails in any transaction mode, and in per-file mode
 * only after the files before it have committed; the per-file rehearsal cannot tell (every added
 * value is unusable there). It is refused here, before anything runs, naming both lines.
 *
 * Refusing a valid file would block a release with no way around it, so a mention counts as a use
 * only where PostgreSQL reads the value as a constant when the statement runs: a string constant
 * of the statement itself, the body of a DO block, or a LANGUAGE sql function body (analysed when
 * created). A PL/pgSQL body or a comment only mentions it.
 */
export function refuseEnumUseInSameTransaction(parser: PgParser, item: PreparedMigration): void {
  if (!item.statements.some((s) => s.addsEnumValue)) return;
  const { up, verify } = item.migration;
  const sequence = [
    ...item.statements.map((statement) => ({ statement, path: up.path })),
    ...(verify ? (item.verify ?? []).map((statement) => ({ statement, path: verify.path })) : []),
  ];
  const createdTypes = new Set<string>();
  const added = new Map<string, Statement>();
  for (const { statement, path } of sequence) {
    if (statement.nonTransactional) {
      // It runs on its own, so everything before it has committed.
      createdTypes.clear();
      added.clear();
    } else if (statement.nodeType === 'CreateEnumStmt') {
      createdTypes.add(createdEnumType(parser, statement.sql));
    } else if (statement.addsEnumValue) {
      const { type, value } = statement.addsEnumValue;
      if (!createdTypes.has(unqualified(type))) added.set(value, statement);
    } else {
      for (const [value, addition] of added) {
        if (!mentionsEnumValue(statement.sql, value) || !usesValue(parser, statement.sql, value)) continue;
        throw usedTooEarly(item, { statement, path }, addition, value);
      }
    }
  }
}

function usedTooEarly(
  item: PreparedMigration,
  use: { statement: Statement; path: string },
  addition: Statement,
  value: string,
): GuardError {
  const { up } = item.migration;
  const literal = literalOf(value);
  const addedAt = use.path === up.path ? `line ${addition.line}` : `${up.path}:${addition.line}`;
  const block = item.absorbed?.find((b) => b.beginLine <= addition.line && addition.line <= b.endLine);
  const blockNote = block
    ? ` (the ${block.keywords} block of lines ${block.beginLine}–${block.endLine} does not commit on its own: it runs inside the file's transaction)`
    : '';
  return new GuardError(
    'transaction-control',
    `enum value ${literal} is used here in the same transaction that adds it (ALTER TYPE … ADD VALUE at ${addedAt})${blockNote}: PostgreSQL refuses that (SQLSTATE 55P04, unsafe use of new enum value), so this migration would fail in either transaction mode`,
    {
      location: { file: use.path, line: use.statement.line, column: use.statement.column },
      sqlstate: '55P04',
      hint:
        `Split the migration after line ${addition.line} of ${up.path}: keep the ADD VALUE there and move the statements that use ${literal}` +
        `${use.path === up.path ? ` (from line ${use.statement.line} on)` : ' and this verify script'} into a new migration file with a later version. ` +
        'Each file then commits before the next one uses its values. Nothing has been run.',
    },
  );
}

/** Whether PostgreSQL reads `value` as a constant when `sql` runs (see refuseEnumUseInSameTransaction). */
function usesValue(parser: PgParser, sql: string, value: string): boolean {
  const literal = literalOf(value);
  const visit = (node: unknown): boolean => {
    if (Array.isArray(node)) return node.some(visit);
    if (node === null || typeof node !== 'object') return false;
    const fields = node as Record<string, unknown>;
    const constant = fields.A_Const as { sval?: { sval?: string } } | undefined;
    if (constant?.sval?.sval === value) return true;
    const routine = (fields.DoStmt ?? fields.CreateFunctionStmt) as Record<string, unknown> | undefined;
    if (routine && runsOrAnalysesBody(fields) && bodyText(routine).includes(literal)) return true;
    return Object.values(fields).some(visit);
  };
  return visit(parser.parseSync(sql).stmts ?? []);
}

/** A DO block runs its body now; a function's body is analysed at creation only in LANGUAGE sql. */
function runsOrAnalysesBody(fields: Record<string, unknown>): boolean {
  if (fields.DoStmt) return true;
  const options = (fields.CreateFunctionStmt as { options?: unknown[] }).options ?? [];
  return options.some((o) => {
    const def = (o as { DefElem?: { defname?: string; arg?: { String?: { sval?: string } } } }).DefElem;
    return def?.defname === 'language' && def.arg?.String?.sval?.toLowerCase() === 'sql';
  });
}

function bodyText(routine: Record<string, unknown>): string {
  const options = ((routine.args ?? routine.options) as unknown[] | undefined) ?? [];
  const body = options
    .map((o) => (o as { DefElem?: { defname?: string; arg?: unknown } }).DefElem)
    .find((def) => def?.defname === 'as')?.arg as
    { String?: { sval?: string }; List?: { items?: Array<{ String?: { sval?: string } }> } } | undefined;
  // DO has one string; CREATE FUNCTION a list (a C function's is file and symbol).
  return body?.String?.sval ?? (body?.List?.items ?? []).map((item) => item.String?.sval ?? '').join('\n');
}

function createdEnumType(parser: PgParser, sql: string): string {
  const stmt = parser.parseSync(sql).stmts?.[0]?.stmt.CreateEnumStmt as
    { typeName?: Array<{ String?: { sval?: string } }> } | undefined;
  const names = stmt?.typeName ?? [];
  return unqualified(names.map((n) => n.String?.sval ?? '').join('.'));
}

/**
 * Types are matched by their name without schema: `public.mood` created and `mood` extended in
 * the same file is taken as the same type, so such a file is never refused wrongly (the cost:
 * a same-named type in another schema is not checked).
 */
function unqualified(type: string): string {
  return type.slice(type.lastIndexOf('.') + 1);
}
