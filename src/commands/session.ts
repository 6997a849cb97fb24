import { applicationName } from '../config/run-context.js';
import { errorMessage } from '../errors.js';
import { connect, withClient, withClientAfter, type Client } from '../db/connect.js';
import { readInOneTrip, readOne, type BatchRead } from '../db/batch-read.js';
import { openRunsRead } from '../db/abandoned-runs.js';
import { checksumsRead, readChecksums, type ChecksumRow } from '../db/guard-store.js';
import { tablesPresent, tablesRead, type TablesPresent } from '../db/guard-tables.js';
import { historyRead, readHistoryTable, type HistoryTable } from '../db/history.js';
import { partialsRead, readPartialMigrations, type PartialMigration } from '../db/partial-store.js';
import { describeHolder, TRY_LOCK_ITEM, withAdvisoryLock } from '../db/lock.js';
import { reconcileAbandonedRuns } from './abandoned.js';
import { noteSessionPid } from './run-record.js';
import {
  findSessionHazards,
  holdsMigrationLock,
  reportSessionEffects,
  warnSessionHazards,
} from './session-effects.js';
import { buildPlan, type Plan } from '../engine/plan.js';
import type { ExecuteOptions } from '../engine/execute.js';
import { baseExecuteOptions } from '../engine/execute/options.js';
import { StatementRunner } from '../engine/statement-runner.js';
import type { RunResult } from '../engine/result.js';
import { discoverMigrations, type MigrationSet } from '../migrations/discover.js';
import type { CommandContext } from './context.js';

export interface Session {
  client: Client;
  set: MigrationSet;
  plan: Plan;
  serverMajor: number;
  /**
   * Whether supabase_migrations.schema_migrations existed, with every column the current Supabase
   * CLI gives it, when the session read it. When false, writers create or upgrade it (CREATE_HISTORY).
   */
  historyReady: boolean;
  /** Runs migration statements; cancellable and lock-aware when the session has a control connection. */
  runner: StatementRunner;
}

/**
 * The common opening of every command: read the files, connect, (optionally) take the migration
 * lock, read the history and compare. Nothing here writes to the database, except that a command
 * holding the lock closes the rows of runs that died without a word (commands/abandoned.ts).
 */
export async function withSession<T>(
  ctx: CommandContext,
  result: RunResult,
  options: { lock: boolean; files?: boolean },
  fn: (session: Session) => Promise<T>,
): Promise<T> {
  const { settings, logger } = ctx;
  // Commands that never look at files (backup, restore) work without a migrations folder.
  const readFiles = async (): Promise<MigrationSet> => {
    const set: MigrationSet =
      options.files === false
        ? { dir: settings.migrationsDir, migrations: [], skipped: [] }
        : await discoverMigrations(settings.migrationsDir, ctx.cwd);
    result.skippedFiles = set.skipped;
    for (const skipped of set.skipped) logger.warn(`Skipped ${skipped.fileName}: ${skipped.reason}`);
    return set;
  };

  const appName = applicationName(settings.command, settings.environment, ctx.run);
  // What the session ends with, for handing its connection over (below).
  let auditLogExists = false;
  let sessionLost = false;
  // Once done, an idle session whose connection still works can be kept by the audit log, which
  // then writes on it instead of opening a connection of its own (commands/index.ts).
  const handOver = (client: Client) =>
    !sessionLost &&
    client.getTransactionStatus() === 'I' &&
    (ctx.adoptSession?.(client, auditLogExists) ?? false);
  // The files are read while the connection opens and the session's first reads go on (a problem
  // with the files is still reported first).
  return withClientAfter<MigrationSet, Opening, T>(
    settings.database,
    { applicationName: appName },
    readFiles,
    async (client, set, opening) => {
      // Asked here when the first message failed (openSession): its error comes where it always did.
      const server = opening?.server ?? (await readOne(client, serverRead(options.lock)));
      const serverMajor = Math.floor(Number(server.server_version_num) / 10000);
      noteSessionPid(client, server.pid);
      result.database = { display: settings.database.display, serverVersion: server.server_version };
      logger.info(`Connected to ${settings.database.display} (PostgreSQL ${server.server_version})`);
      ctx.onConnected?.();
      // With the migration lock: releases it, saying whether the session still held it.
      const inner = async (releaseLock?: () => Promise<boolean>, read?: Opening['read']) => {
        // Which of our tables exist, asked once (after the lock: what the run plans from).
        const tables = read?.tables ?? (await tablesPresent(client));
        auditLogExists = tables.auditLog;
        const [history, checksums, partials] = await readRecords(
          ctx,
          result,
          client,
          tables,
          options,
          read?.records,
        );
        const plan = buildPlan(
          set,
          history?.rows ?? [],
          checksums,
          { allowOutOfOrder: settings.allowOutOfOrder },
          partials,
        );
        if (options.files !== false) result.findings = plan.findings;
        result.currentVersion = plan.currentVersion;
        result.pendingCount = plan.pending.length;
        ctx.onPlanned?.(plan.pending.length);
        const hazards = findSessionHazards(plan.pending);
        if (settings.command === 'plan' || settings.command === 'apply') warnSessionHazards(ctx, hazards);
        // The control connection only watches: it cancels on abort and reads lock blockers. Its end
        // before the run closes it means someone (a migration, say) terminated it.
        let controlLost = false;
        let closing = false;
        const runner = new StatementRunner(client, {
          openControl: async () => {
            const control = await connect(settings.database, { applicationName: `${appName} control` });
            control.on('end', () => (controlLost ||= !closing));
            return control;
          },
          backendPid: server.pid,
          signal: ctx.signal,
          lockTimeoutMs: settings.lockTimeoutMs,
        });
        try {
          const historyReady = history !== undefined && history.missingColumns.length === 0;
          return await fn({ client, set, plan, serverMajor, runner, historyReady });
        } finally {
          // Still on this session: whether it kept the lock it took (releasing it, one round trip
          // for both), and whether it is still there.
          const lockHeld = await (releaseLock ?? (() => holdsMigrationLock(client)))().catch(
            () => void (sessionLost = true),
          );
          await reportSessionEffects(ctx, result, client, {
            lockHeld: options.lock ? lockHeld : undefined,
            sessionLost,
            controlLost,
            hazards,
          });
          closing = true;
          await runner.close();
        }
      };
      if (!options.lock) return inner(undefined, opening?.read);
      const cancelWait = () =>
        withClient(settings.database, { applicationName: `${appName} control` }, async (control) => {
          await control.query('SELECT pg_cancel_backend($1)', [server.pid]);
        });
      const lockOptions = {
        timeoutMs: settings.runLockTimeoutMs,
        logger,
        signal: ctx.signal,
        cancelWait,
        tried: server.locked,
      };
      return withAdvisoryLock(client, lockOptions, async (lock) => {
        result.lock = {
          waitedMs: lock.waitedMs,
          waitedFor: lock.waitedFor ? describeHolder(lock.waitedFor) : undefined,
          retries: [],
        };
        // Read before the files were, when the lock was taken at once; else after the wait.
        return inner(lock.release, opening?.read);
      });
    },
    { early: (client) => openSession(client, options), handOver },
  );
}

/**
 * What a session reads first: none of it when that message failed; `read` only when it holds the
 * lock it needs (or needs none).
 */
interface Opening {
  server?: ServerFacts;
  read?: { tables: TablesPresent; records?: Records | null };
}

type ServerFacts = { server_version: string; server_version_num: string; pid: number; locked?: boolean };

/** The server's version and this session's pid, with the migration lock tried in the same statement. */
function serverRead(lock: boolean): BatchRead<ServerFacts> {
  return {
    sql: `SELECT current_setting('server_version') AS server_version, current_setting('server_version_num') AS server_version_num, pg_backend_pid() AS pid${lock ? `, ${TRY_LOCK_ITEM}` : ''}`,
    answer: ([row]) => row as ServerFacts,
  };
}

type Records = [boolean, HistoryTable | undefined, Map<string, ChecksumRow>, Map<string, PartialMigration>];

/**
 * The session's first reads, made as soon as it is connected, while the files are still being
 * read: they do not depend on the files, and against a remote database each round trip saved
 * from the run's critical path is a network round trip. The server's version, with the migration
 * lock tried in the same statement, and which tables exist, in one message; then, if the lock was
 * taken (or is not needed), the records the run plans from (null when that message failed: they
 * are read one by one later). A lock held by someone else is waited for only once the files are
 * known to be good, and the tables are then asked again.
 */
async function openSession(client: Client, options: { lock: boolean; files?: boolean }): Promise<Opening> {
  let server: ServerFacts;
  let tables: TablesPresent;
  try {
    [server, tables] = await readInOneTrip(client, serverRead(options.lock), tablesRead);
  } catch {
    // The session then asks each on its own, as it did before this message existed: a lock the
    // failed message took (advisory locks outlive its transaction) is let go first.
    if (options.lock) await client.query('SELECT pg_advisory_unlock_all()').catch(() => {});
    return {};
  }
  if (options.lock && server.locked !== true) return { server };
  if (options.files === false) return { server, read: { tables } };
  return { server, read: { tables, records: await recordsTogether(client, tables).catch(() => null) } };
}

/**
 * The records in one message. Async, so that a history table the reads refuse (historyRead
 * throws) is a failed message like any other: the session then reads them one by one and
 * reports it where it always did, connected and holding the lock.
 */
async function recordsTogether(client: Client, tables: TablesPresent): Promise<Records> {
  return readInOneTrip(
    client,
    openRunsRead(tables),
    historyRead(tables),
    checksumsRead(tables),
    partialsRead(tables),
  );
}

/**
 * What the session plans from, after closing the records of runs that died without a word: the
 * history, the checksums and the partly applied files. One round trip with the look for open
 * runs; should that message fail, the reads go one by one, each failing (or warning) as it does
 * on its own. Backup and restore never compare files with the history: one they cannot read is
 * no reason for them to stop.
 */
async function readRecords(
  ctx: CommandContext,
  result: RunResult,
  client: Client,
  tables: TablesPresent,
  options: { lock: boolean; files?: boolean },
  // Read already (openSession); null when that message failed.
  read?: Records | null,
): Promise<[HistoryTable | undefined, Map<string, ChecksumRow>, Map<string, PartialMigration>]> {
  const close = options.lock;
  if (options.files !== false && read !== null) {
    const together = read ?? (await recordsTogether(client, tables).catch(() => undefined));
    if (together) {
      const [anyOpen, ...records] = together;
      await reconcileAbandonedRuns(ctx, result, client, { close, tables, anyOpen });
      return records;
    }
  }
  await reconcileAbandonedRuns(ctx, result, client, { close, tables });
  const history = await readHistoryTable(client, tables).catch((error: unknown) => {
    if (options.files !== false) throw error;
    ctx.logger.warn(errorMessage(error));
    return undefined;
  });
  return [history, await readChecksums(client, tables), await readPartialMigrations(client, tables)];
}

/** The execution settings every command shares: the session's runner and the lock/timeout inputs. */
export function executionOptions(
  ctx: CommandContext,
  session: Session,
  record: ExecuteOptions['record'],
): ExecuteOptions {
  return baseExecuteOptions(ctx.settings, ctx.logger, session.runner, record);
}
