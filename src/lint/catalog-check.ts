import { errorMessage } from '../errors.js';
import type { RehearsalHooks } from '../engine/rehearse.js';
import {
  newSecurityFindings,
  securitySnapshot,
  type CatalogClient,
  type CatalogFinding,
  type CatalogRule,
  type CatalogSnapshot,
} from './catalog.js';
import type { LintSeverity } from './types.js';

/** SQLSTATE 25P01: SAVEPOINT outside a transaction block. */
const NO_TRANSACTION = '25P01';

export interface CatalogCheck {
  /** For `rehearse`: snapshots the catalog before the first pending file and after the last. */
  hooks: RehearsalHooks;
  /**
   * What the release introduced, once both snapshots were taken; undefined when the rehearsal
   * stopped before its end (the catalog then shows no finished release) or a snapshot failed.
   */
  findings(): CatalogFinding[] | undefined;
  /** Why the check could not run, when a snapshot query failed (the rehearsal itself went on). */
  problem(): string | undefined;
}

/**
 * The catalog security checks of one rehearsal (or of a shadow database: call the hooks with its
 * connection before the first file and after the last). Inside a transaction each snapshot runs
 * under a savepoint, so a query that fails (a catalog the role may not read, say) neither aborts
 * the rehearsal's transaction nor fails `plan`: the check is skipped and `problem()` says why.
 */
export function catalogCheck(
  options: {
    exposedSchemas?: string[];
    severityOf?: (rule: CatalogRule) => LintSeverity | undefined;
  } = {},
): CatalogCheck {
  let before: CatalogSnapshot | undefined;
  let after: CatalogSnapshot | undefined;
  let failure: string | undefined;

  const take = async (client: CatalogClient): Promise<CatalogSnapshot | undefined> => {
    if (failure) return undefined;
    // Inside a transaction (the rehearsal) under a savepoint; outside one (a shadow database
    // between files) a failed query aborts nothing, so none is needed.
    const guarded = await client.query('SAVEPOINT migration_guard_catalog').then(
      () => true,
      (error: { code?: string }) => {
        if (error.code === NO_TRANSACTION) return false;
        throw error;
      },
    );
    try {
      const snapshot = await securitySnapshot(client, options.exposedSchemas);
      if (guarded) await client.query('RELEASE SAVEPOINT migration_guard_catalog');
      return snapshot;
    } catch (error) {
      failure = `the catalog security checks could not read the catalog: ${errorMessage(error)}`;
      if (guarded) await client.query('ROLLBACK TO SAVEPOINT migration_guard_catalog');
      return undefined;
    }
  };

  return {
    hooks: {
      afterBegin: async (client) => {
        before = await take(client);
      },
      beforeRollback: async (client) => {
        if (before) after = await take(client);
      },
    },
    findings: () => (before && after ? newSecurityFindings(before, after, options.severityOf) : undefined),
    problem: () => failure,
  };
}
