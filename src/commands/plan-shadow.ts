import { applicationName } from '../config/run-context.js';
import { catalogSnapshot, diffCatalog, type ObjectChanges } from '../db/catalog-objects.js';
import { connect, withClient, type Client } from '../db/connect.js';
import { CREATE_HISTORY, insertHistoryRow, readHistory } from '../db/history.js';
import {
  copyHistory,
  createMissingRoles,
  markShadow,
  refuseSameDatabase,
  resetShadow,
  rolesNamedBy,
  shadowState,
} from '../db/shadow.js';
import { GuardError } from '../errors.js';
import { executeUnits } from '../engine/execute.js';
import { baseExecuteOptions } from '../engine/execute/options.js';
import type { ErrorDetail, ShadowReport } from '../engine/result.js';
import { StatementRunner } from '../engine/statement-runner.js';
import { buildExecutionPlan, type PreparedMigration } from '../engine/units.js';
import { TOOL_VERSION } from '../version.js';
import { resolvePgTools } from './backup-stage.js';
import type { CommandContext } from './context.js';
import type { Session } from './session.js';

/** One pending file as it ran on the shadow database. */
export interface ShadowFile {
  version: string;
  durationMs: number;
  objects: ObjectChanges;
  error?: ErrorDetail;
}

export interface ShadowRehearsal {
  report: ShadowReport;
  /** The files that ran, in order; the last one carries the error when one failed. */
  files: ShadowFile[];
  failure?: { version: string; error: ErrorDetail; cancelled: boolean };
}

/**
 * Looks at the shadow's catalog (plan's catalog security checks): once the schema is copied,
 * before the first pending file, and once every file has run without error. Each call runs
 * inside a transaction of its own on the shadow. The same shape as the rehearsal's hooks.
 */
export interface ShadowHooks {
  afterBegin?(client: Client): Promise<void>;
  beforeRollback?(client: Client): Promise<void>;
}

/** Our own bookkeeping on the target: not needed to rehearse, and its append-only triggers are not ours to copy. */
const NOT_COPIED_SCHEMAS = ['migration_guard'];

/**
 * `plan` with `shadow-database-url`: the target's schema (and history rows) is copied into the
 * shadow database, then the pending files are applied there for real, one transaction per file
 * as a per-file apply would, by the same engine. Each file's duration and the objects it created,
 * altered and dropped (catalog read before and after it) are reported. On the target this only
 * reads: the catalog, the history, and pg_dump's schema-only copy.
 *
 * The shadow is reset first, and only when it is empty or an earlier plan prepared it (its marker
 * schema): anything else is refused untouched. It is left as the files leave it, for inspection.
 */
export async function rehearseOnShadow(
  ctx: CommandContext,
  session: Session,
  prepared: PreparedMigration[],
  hooks: ShadowHooks = {},
): Promise<ShadowRehearsal> {
  const { settings, logger } = ctx;
  const shadow = settings.shadowDatabase!;
  const appName = `${applicationName(settings.command, settings.environment, ctx.run)} shadow`;
  return withClient(shadow, { applicationName: appName }, async (client) => {
    const { rows } = await client.query<{ server_version: string; num: string; pid: number }>(
      "SELECT current_setting('server_version') AS server_version, current_setting('server_version_num') AS num, pg_backend_pid() AS pid",
    );
    const shadowMajor = Math.floor(Number(rows[0].num) / 10000);
    await refuseSameDatabase(session.client, client, settings.database.display);
    const state = await shadowState(client);
    if (!state.prepared && state.content.length > 0) {
      throw new GuardError(
        'shadow-database',
        `The shadow database ${shadow.display} is not empty and was not prepared by plan (it holds ${state.content.join(', ')}): ` +
          'plan resets the shadow database before copying into it, and refuses to reset one it did not prepare. Nothing was changed.',
        {
          hint: 'Point shadow-database-url at a new, empty database (CREATE DATABASE …), which plan then prepares and reuses.',
        },
      );
    }
    const notes: string[] = [];
    if (shadowMajor < session.serverMajor)
      notes.push(
        `the shadow runs PostgreSQL ${shadowMajor}, older than the target's ${session.serverMajor}: what the target's version accepts may fail here`,
      );
    // Found before the shadow is touched: a missing pg_dump stops the run with nothing reset.
    const tools = await resolvePgTools(ctx, session.serverMajor);
    if (state.prepared) {
      logger.info(`Resetting the shadow database ${shadow.display} (prepared by an earlier plan)`);
      await resetShadow(client);
    }
    await markShadow(client, settings.database.display, TOOL_VERSION);

    const roles = await createMissingRoles(client, await rolesNamedBy(session.client));
    if (roles.created.length > 0)
      logger.info(`Created missing roles in the shadow's server (NOLOGIN): ${roles.created.join(', ')}`);
    const keepOwners = roles.superuser;
    const keepPrivileges = roles.missing.length === 0;
    if (!keepOwners)
      notes.push(
        "owners not kept (--no-owner): the shadow's user is not a superuser, so every object belongs to it",
      );
    if (!keepPrivileges)
      notes.push(
        `grants not copied (--no-privileges): roles ${roles.missing.join(', ')} are missing in the shadow's server and its user may not create roles`,
      );
    const { copySchema, createProcessRunner } = await import('../backup/index.js');
    const copy = await copySchema({
      source: settings.database,
      destination: shadow,
      tools,
      runner: createProcessRunner(),
      logger,
      lockWaitTimeoutMs: settings.lockTimeoutMs,
      keepOwners,
      keepPrivileges,
      excludeSchemas: NOT_COPIED_SCHEMAS,
      signal: ctx.signal,
    });
    for (const line of copy.notCopied) logger.warn(`Not copied into the shadow database: ${line}`);
    const historyRows = await copyHistory(session.client, client, CREATE_HISTORY);
    // An older CLI's history table lacks columns the rows are written with: the shadow's is upgraded.
    await client.query(CREATE_HISTORY.join(';\n'));
    // The shadow must count the same files pending as the target, or the rehearsal proves nothing.
    const copied = new Set((await readHistory(client))?.map((r) => r.version));
    const missing = session.plan.rows.filter((r) => r.state !== 'pending' && !copied.has(r.version));
    if (missing.length > 0 || copied.size !== historyRows)
      throw new GuardError(
        'shadow-database',
        `The history copied into the shadow database does not match the target's (${missing.length} applied version(s) missing there, e.g. ${missing[0]?.version ?? '?'}). The target was not changed.`,
        { hint: 'Check that the shadow database is not written to by anything else while plan runs.' },
      );
    const report: ShadowReport = {
      display: shadow.display,
      serverVersion: rows[0].server_version,
      entries: copy.entries,
      historyRows,
      owners: keepOwners,
      privileges: keepPrivileges,
      rolesCreated: roles.created,
      notCopied: copy.notCopied,
      notes,
      copyMs: copy.durationMs,
    };
    logger.info(
      `Copied the schema of ${settings.database.display} into the shadow database ${shadow.display}: ${copy.entries} entries, ${historyRows} history row(s)`,
    );
    await inTransaction(client, hooks.afterBegin);
    const ran = await applyFiles(ctx, client, rows[0].pid, prepared);
    if (!ran.failure) await inTransaction(client, hooks.beforeRollback);
    return { report, ...ran };
  });
}

/** Applies the files on the shadow one transaction per file, reading the catalog around each. */
async function applyFiles(
  ctx: CommandContext,
  client: Client,
  backendPid: number,
  prepared: PreparedMigration[],
): Promise<Pick<ShadowRehearsal, 'files' | 'failure'>> {
  const { settings, logger } = ctx;
  const shadow = settings.shadowDatabase!;
  const runner = new StatementRunner(client, {
    openControl: () =>
      connect(shadow, {
        applicationName: `${applicationName(settings.command, settings.environment, ctx.run)} shadow control`,
      }),
    backendPid,
    signal: ctx.signal,
    lockTimeoutMs: settings.lockTimeoutMs,
  });
  const options = baseExecuteOptions(settings, logger, runner, async (items) => {
    for (const { migration } of items)
      await insertHistoryRow(client, {
        version: migration.migration.version,
        name: migration.migration.name,
        statements: migration.statements.map((s) => s.historyText),
      });
  });
  const files: ShadowFile[] = [];
  try {
    await runner.start();
    let before = await catalogSnapshot(client);
    for (const item of prepared) {
      const { version } = item.migration;
      const outcome = await executeUnits(buildExecutionPlan([item], 'per-file').units, options);
      // Read even after a failure: a statement outside a transaction may have left something behind.
      const after = await catalogSnapshot(client);
      const file: ShadowFile = {
        version,
        durationMs: Math.round(outcome.durations.get(version) ?? 0),
        objects: diffCatalog(before, after),
      };
      files.push(file);
      before = after;
      if (outcome.failure) {
        file.error = outcome.failure.error;
        return {
          files,
          failure: { version, error: outcome.failure.error, cancelled: outcome.failure.cancelled },
        };
      }
      logger.info(
        `Shadow: ${item.migration.path} applied in ${file.durationMs} ms (${describeChanges(file.objects)})`,
      );
    }
    return { files };
  } finally {
    await runner.close();
  }
}

async function inTransaction(client: Client, hook: ((client: Client) => Promise<void>) | undefined) {
  if (!hook) return;
  await client.query('BEGIN');
  try {
    await hook(client);
  } finally {
    await client.query('COMMIT').catch(() => {});
  }
}

export function describeChanges(changes: ObjectChanges): string {
  const parts = [
    changes.created.length ? `created ${changes.created.join(', ')}` : '',
    changes.altered.length ? `altered ${changes.altered.join(', ')}` : '',
    changes.dropped.length ? `dropped ${changes.dropped.join(', ')}` : '',
  ].filter(Boolean);
  return parts.join('; ') || 'no schema change';
}
