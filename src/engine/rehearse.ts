import { quoteLiteral } from '../db/ident.js';
import { describeSqlError } from './execute.js';
import type { ErrorDetail } from './result.js';
import type { StatementRunner } from './statement-runner.js';
import type { Step, Unit } from './units.js';

export interface RehearsalOutcome {
  failure?: { version: string; error: ErrorDetail };
  /** Statements that were not tried (they cannot run in a transaction, or depend on one that could not). */
  notRehearsed: string[];
}

const UNSAFE_NEW_ENUM_VALUE = '55P04';

/**
 * Runs every pending statement in one transaction that is always rolled back, so a broken file
 * is found before anything commits. What cannot run in a transaction is skipped and listed. A
 * later error that may only be the consequence of a skip (it names an object a skipped statement
 * touches, or uses an enum value added in this transaction) is not a failure: the rehearsal stops
 * there and lists the rest as not rehearsed rather than failing the run on a guess.
 */
export async function rehearse(
  units: Unit[],
  options: { runner: StatementRunner; lockTimeoutMs: number; statementTimeoutMs?: number },
): Promise<RehearsalOutcome> {
  const { runner } = options;
  const notRehearsed: string[] = [];
  const skippedNames = new Set<string>();
  const steps = units.flatMap((u): Array<Step | Extract<Unit, { kind: 'autocommit' }>> =>
    u.kind === 'transaction' ? u.steps : [u],
  );
  try {
    await runner.query('BEGIN');
    await runner.query(
      `SET LOCAL lock_timeout = ${quoteLiteral(`${options.lockTimeoutMs}ms`)}; SET LOCAL statement_timeout = ${quoteLiteral(`${options.statementTimeoutMs ?? 0}ms`)}`,
    );
    for (let i = 0; i < steps.length; i++) {
      const item = steps[i];
      if ('step' in item) {
        const { migration, statement } = item.step;
        notRehearsed.push(`${migration.migration.path}:${statement.line}: ${statement.nonTransactional}`);
        for (const name of identifiersIn(statement.sql)) skippedNames.add(name);
        continue;
      }
      if (item.kind === 'record') continue;
      await runner.query('SAVEPOINT rehearsal_step');
      try {
        await runner.query(item.statement.sql);
        await runner.query('RELEASE SAVEPOINT rehearsal_step');
      } catch (error) {
        const code = (error as { code?: string }).code;
        const dependsOnSkipped = identifiersIn(item.statement.sql).some((name) => skippedNames.has(name));
        if (dependsOnSkipped || code === UNSAFE_NEW_ENUM_VALUE) {
          for (const rest of steps.slice(i)) {
            if ('step' in rest || rest.kind === 'record') continue;
            notRehearsed.push(
              `${rest.part.path}:${rest.statement.line}: depends on a statement that cannot be rehearsed`,
            );
          }
          return { notRehearsed };
        }
        return {
          failure: { version: item.migration.migration.version, error: describeSqlError(error, item) },
          notRehearsed,
        };
      }
    }
    return { notRehearsed };
  } finally {
    await runner.client.query('ROLLBACK').catch(() => {});
  }
}

const KEYWORDS = new Set(
  'create drop index concurrently if not exists on only using btree hash gist gin brin reindex table schema database system vacuum full freeze verbose analyze alter detach partition finalize cluster set tablespace subscription connection publication with without cascade restrict unique nulls distinct include where'.split(
    ' ',
  ),
);

/** Lower-cased identifier-like words of a statement, SQL keywords removed. */
function identifiersIn(sql: string): string[] {
  return (sql.toLowerCase().match(/[a-z_][a-z0-9_$]*/g) ?? []).filter((word) => !KEYWORDS.has(word));
}
