import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { devNull, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { DatabaseTarget } from '../config/database-url.js';
import { withClient, type Client } from '../db/connect.js';
import { quoteIdent, quoteLiteral } from '../db/ident.js';
import { GuardError, type GuardErrorCode } from '../errors.js';
import type { Logger } from '../logger.js';
import {
  lastLines,
  LIST_TIMEOUT_MS,
  passwordScrubber,
  pgEnv,
  readToc,
  sha256File,
  tocOf,
  type Toc,
  type TocEntry,
} from './backup.js';
import { isAgeFile } from './age-crypto.js';
import { readBackEncrypted } from './encrypted-dump.js';
import { streamEncryptedRestore } from './encrypted-restore.js';
import type { PgTools } from './pg-tools.js';
import type { ProcessResult, ProcessRunner } from './process.js';

export interface RestoreOptions {
  target: DatabaseTarget;
  /** A custom-format archive written by takeBackup (a whole-database pg_dump). */
  path: string;
  /** When given, the file must have this sha256 or nothing happens. */
  expectedSha256?: string;
  tools: PgTools;
  runner: ProcessRunner;
  logger: Logger;
  /**
   * Schemas to leave exactly as they are now. Default: none, or SUPABASE_KEEP_SCHEMAS when the server
   * is a Supabase one (it has a supabase_admin role).
   */
  keepSchemas?: string[];
  /** Kept in addition to keepSchemas (or its default): e.g. the tool's own run records. */
  alsoKeep?: string[];
  /** Bound for the whole restore (default 2 hours). */
  timeoutMs?: number;
  /** How long dropping may wait for each table lock held by other sessions (default: no limit). */
  lockTimeoutMs?: number;
  /** Where the SQL script pg_restore produces is written for the moment (default: the OS temp dir). */
  workDir?: string;
  /**
   * age identities (AGE-SECRET-KEY-1…) for an encrypted backup: it is then decrypted in memory,
   * never to disk, and the SQL goes from pg_restore to psql through a pipe, not a script file.
   */
  identities?: string[];
}

export interface RestoreResult {
  sha256: string;
  /** TOC entries restored (out of `totalEntries`). */
  entries: number;
  totalEntries: number;
  /** Schemas dropped and recreated from the backup (or created, when they were dropped since). */
  restoredSchemas: string[];
  /** Schemas that did not exist at backup time, dropped. */
  droppedSchemas: string[];
  /** Schemas left as they are now, with the reason: writes made there since the backup remain. */
  keptSchemas: Array<{ name: string; reason: string }>;
  /** Objects in kept schemas that depend on restored ones: dropped with them and recreated from the backup. */
  recreated: string[];
  durationMs: number;
}

/** Platform schemas of a Supabase project: owned by Supabase's roles or full of its extensions. */
export const SUPABASE_KEEP_SCHEMAS =
  'auth,storage,realtime,_realtime,extensions,graphql,graphql_public,vault,pgsodium,pgsodium_masks,net,supabase_functions,_analytics,pgbouncer,cron,pgtle,pgmq,topology'.split(
    ',',
  );

const DEFAULT_TIMEOUT_MS = 2 * 60 * 60_000;
/** Objects PostgreSQL can drop and recreate without losing data; everything else outside the scope stops the restore. */
const ATTACHMENTS = new Set(
  'pg_trigger,pg_policy,pg_rewrite,pg_event_trigger,pg_publication_rel,pg_default_acl'.split(','),
);
const GLOBALS_BY_NAME = new Set(['EXTENSION', 'EVENT TRIGGER', 'PUBLICATION']);

/**
 * Makes the database equal to the backup for everything the backup covers, in one transaction:
 * a psql session with --single-transaction first drops every schema in scope (those in the backup
 * and those created since), then runs pg_restore's script. A failure anywhere rolls all of it back.
 */
export async function restoreBackup(options: RestoreOptions): Promise<RestoreResult> {
  const { target, tools, runner, logger } = options;
  const started = Date.now();
  const path = resolve(options.path);
  const untouched = (message: string, hint: string, code: GuardErrorCode = 'restore-failed') =>
    new GuardError(code, `${message}. Nothing was changed.`, { hint });
  if (!(await stat(path).catch(() => undefined))?.isFile()) {
    throw untouched(
      `The backup ${path} does not exist`,
      'Set backup-path to a file the backup command wrote.',
    );
  }
  const sha256 = await sha256File(path);
  const expected = options.expectedSha256?.toLowerCase();
  if (expected && expected !== sha256) {
    const hint = 'The file was damaged or replaced since it was recorded: restore an intact copy.';
    throw untouched(
      `The backup ${path} has sha256 ${sha256}, not the expected ${expected}`,
      hint,
      'backup-checksum',
    );
  }
  const psql = tools.psql;
  if (!psql) {
    const hint =
      'Install the whole PostgreSQL client package: it ships pg_dump, pg_restore and psql together.';
    throw untouched(`psql was not found beside ${tools.pgRestore.path}`, hint);
  }
  const encrypted = await isAgeFile(path);
  const identities = options.identities?.length ? options.identities : undefined;
  if (encrypted && !identities) {
    throw untouched(
      `The backup ${path} is age-encrypted`,
      'Set backup-decryption-key to the age identity (AGE-SECRET-KEY-1…) matching the backup-encryption-key it was taken with, from a secret.',
    );
  }
  if (!encrypted && identities) logger.warn(`${path} is not encrypted: backup-decryption-key is not needed`);
  // Encrypted: the whole file is decrypted (every chunk authenticated) to read its table of contents,
  // so a wrong key or a damaged file stops here, before the database is even read.
  const toc = encrypted
    ? await encryptedToc(path, identities!, tools)
    : await readToc(path, tools, runner, 'restore-failed');
  const plan = await withClient(target, { applicationName: 'supabase-migration-guard restore' }, (client) =>
    planRestore(client, toc, options.keepSchemas, options.alsoKeep ?? []),
  );
  if (plan.refused.length > 0) {
    const kept = plan.kept.map((k) => k.name).join(', ') || 'none';
    throw untouched(
      `Restoring would drop objects in schemas this restore leaves alone (${kept}) that the backup cannot ` +
        `recreate: ${plan.refused.join('; ')}`,
      'They depend on objects in the restored schemas: drop or move them first, or restore as their owner.',
    );
  }
  for (const k of plan.kept) logger.warn(`Restore leaves schema ${k.name} as it is now (${k.reason})`);
  if (toc.entries.some((e) => /^(BLOB|LARGE OBJECT)/.test(e.desc))) {
    logger.warn('Large objects are not part of any schema: the restore leaves them as they are now');
  }

  const work = await mkdtemp(join(options.workDir ?? tmpdir(), 'mg-restore-'));
  try {
    const [list, script, preamble] = ['entries.list', 'restore.sql', 'preamble.sql'].map((f) =>
      join(work, f),
    );
    await writeFile(
      list,
      toc.entries.map((e) => (plan.include.has(e.id) ? e.line : `;${e.line}`)).join('\n'),
    );
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const damaged = (stderr: string) =>
      untouched(
        `pg_restore cannot read ${path}: ${lastLines(stderr)}`,
        'The archive is damaged or incomplete: restore an intact copy or another backup.',
      );
    const preambleText = preambleSql(plan, options.lockTimeoutMs ?? 0);
    // Streamed: the transaction is begun here and committed by a COMMIT sent last (see encrypted-restore.ts).
    await writeFile(preamble, encrypted ? `BEGIN;\n${preambleText}` : preambleText);
    const args = ['--no-psqlrc', '--quiet', '--set=ON_ERROR_STOP=1', `--output=${devNull}`];
    const env = pgEnv(target, tools.pgRestore.major);
    const entries = `${plan.include.size}/${toc.entries.length} entries`;
    if (encrypted) {
      logger.info(
        `Restoring ${path} (age-encrypted, decrypted in memory) into ${target.display}: ${entries}`,
      );
      const streamed = await streamEncryptedRestore({
        path,
        identities: identities!,
        pgRestore: tools.pgRestore.path,
        list,
        psql,
        psqlArgs: args,
        preamble,
        env,
        timeoutMs,
        code: 'restore-failed',
      });
      if (streamed.decryption) throw streamed.decryption;
      if (streamed.apply.stopped) throw damaged(streamed.render.stderr);
      if (streamed.apply.code !== 0) throw psqlFailure(streamed.apply, target, passwordScrubber(target));
      if (!streamed.apply.committed) {
        throw new GuardError(
          'restore-failed',
          `psql reached the end of its input before the restore was committed, so its transaction was rolled back: ${target.display} is as it was before.`,
          { hint: 'Run the restore again; if it repeats, check what stops psql early (its output above).' },
        );
      }
    } else {
      const rendered = await runner.run(tools.pgRestore.path, ['-L', list, '-f', script, path], {
        timeoutMs,
      });
      if (rendered.code !== 0) throw damaged(rendered.stderr);
      logger.info(`Restoring ${path} into ${target.display}: ${entries}`);
      const run = await runner.run(psql, [...args, '--single-transaction', '-f', preamble, '-f', script], {
        env,
        timeoutMs,
      });
      if (run.code !== 0) throw psqlFailure(run, target, passwordScrubber(target));
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  const result: RestoreResult = {
    sha256,
    entries: plan.include.size,
    totalEntries: toc.entries.length,
    restoredSchemas: plan.restored,
    droppedSchemas: plan.dropped,
    keptSchemas: plan.kept,
    recreated: plan.recreated,
    durationMs: Date.now() - started,
  };
  logger.info(
    `Restored ${target.display} from ${path}` +
      (result.droppedSchemas.length
        ? `; dropped schemas created since the backup: ${result.droppedSchemas.join(', ')}`
        : ''),
  );
  return result;
}

async function encryptedToc(path: string, identities: string[], tools: PgTools): Promise<Toc> {
  const back = await readBackEncrypted({
    path,
    identities,
    pgRestore: tools.pgRestore.path,
    timeoutMs: LIST_TIMEOUT_MS,
    code: 'restore-failed',
  });
  return tocOf(back.listing, `${path} (decrypted)`, 'restore-failed');
}

function psqlFailure(
  run: ProcessResult,
  target: DatabaseTarget,
  scrub: (text: string) => string,
): GuardError {
  const said = scrub(lastLines(run.stderr));
  const what = run.timedOut
    ? 'The restore took too long and was stopped'
    : /changed while the restore was being prepared/.test(run.stderr)
      ? 'The database changed while the restore was being prepared'
      : 'The restore failed';
  return new GuardError(
    'restore-failed',
    `${what}; its transaction was rolled back, so ${target.display} is as it was before.` +
      (said ? `\npsql said:\n${said}` : ''),
    {
      hint:
        run.code === 2
          ? 'psql lost the connection: if that happened during COMMIT, check the database before retrying.'
          : 'Fix the cause named above (a missing role or privilege, for example) and run the restore again.',
    },
  );
}

interface RestorePlan {
  /** Schemas that exist now and are dropped first. */
  drop: string[];
  restored: string[];
  dropped: string[];
  kept: Array<{ name: string; reason: string }>;
  include: Set<number>;
  recreated: string[];
  refused: string[];
  /** classid:objid:objsubid of every object outside the scope that the drop takes with it, sorted. */
  outsideKeys: string;
  recreatePublic: boolean;
}

interface SchemaRow {
  name: string;
  droppable: boolean;
  owner: string;
  extension_member: boolean;
}

interface OutsideRow {
  k: string;
  catalog: string;
  objsubid: number;
  type: string;
  identity: string;
  names: string[];
  schema: string;
  relkind: string | null;
  contype: string | null;
}

async function planRestore(
  client: Client,
  toc: Toc,
  keepSchemas: string[] | undefined,
  alsoKeep: string[],
): Promise<RestorePlan> {
  const isSystem = (name: string) => /^pg_/.test(name) || name === 'information_schema';
  const schemas = (await client.query<SchemaRow>(SCHEMAS_SQL)).rows;
  const now = new Map(schemas.map((s) => [s.name, s]));
  const onSupabase = (
    await client.query(`SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'supabase_admin'`)
  ).rowCount;
  const keep = new Set([...(keepSchemas ?? (onSupabase ? SUPABASE_KEEP_SCHEMAS : [])), ...alsoKeep]);
  const inDump = new Set(['public']);
  for (const e of toc.entries) {
    if (e.desc === 'SCHEMA') inDump.add(e.tag);
    else if (e.namespace !== '-') inDump.add(e.namespace);
  }

  const kept: RestorePlan['kept'] = [];
  const managed = new Set<string>();
  for (const name of [...new Set([...inDump, ...now.keys()])].sort()) {
    const current = now.get(name);
    if (isSystem(name) || current?.extension_member) continue;
    if (keep.has(name)) kept.push({ name, reason: 'kept on request' });
    else if (current && !current.droppable) {
      kept.push({ name, reason: `owned by ${current.owner}, a role the restoring user is not a member of` });
    } else managed.add(name);
  }
  const drop = [...managed].filter((s) => now.has(s));
  const outside = (await client.query<OutsideRow>(outsideSql('$1::text[]'), [drop])).rows;

  const include = new Set<number>();
  const byOid = new Map(toc.entries.filter((e) => e.oid > 0).map((e) => [`${e.tableoid}:${e.oid}`, e]));
  const byName = new Map(toc.entries.map((e) => [`${e.desc}|${e.namespace}|${e.tag}`, e]));
  const recreated: string[] = [];
  const refused: string[] = [];
  for (const o of outside) {
    // Tables, views, sequences and columns hold data or shape it: never drop them outside the scope.
    const relation = o.catalog === 'pg_class' && (o.objsubid > 0 || !['i', 'I'].includes(o.relkind ?? ''));
    const entry = relation ? undefined : matchEntry(o, byOid, byName);
    if (entry) {
      include.add(entry.id);
      recreated.push(`${o.type} ${o.identity}`);
    } else if (relation || (o.schema !== '-' && !isAttachment(o))) {
      // Not in the backup as an entry of its own (a CHECK constraint or column default inside its table's
      // definition), so dropping it could not be undone.
      refused.push(`${o.type} ${o.identity}`);
    }
  }

  const existingGlobals = new Set((await client.query<{ k: string }>(GLOBALS_SQL)).rows.map((r) => r.k));
  const includedGlobals = new Set<string>();
  for (const e of toc.entries) {
    if (e.namespace !== '-') {
      if (managed.has(e.namespace)) include.add(e.id);
    } else if (e.desc === 'SCHEMA') {
      if (managed.has(e.tag)) include.add(e.id);
    } else if (GLOBALS_BY_NAME.has(e.desc) && !existingGlobals.has(`${e.desc}|${e.tag}`)) {
      include.add(e.id); // dropped since the backup: bring it back
    }
    // COMMENT and ACL entries name their object the way pg_dump quotes it ("SCHEMA \"My App\"").
    if (include.has(e.id) && e.namespace === '-') {
      for (const name of [e.tag, quoteIdent(e.tag)]) includedGlobals.add(`${e.desc} ${name}`);
    }
  }
  for (const e of toc.entries) {
    // COMMENT, ACL and SECURITY LABEL of schemas and of other objects outside schemas follow them.
    if (
      e.namespace === '-' &&
      ['COMMENT', 'ACL', 'SECURITY LABEL'].includes(e.desc) &&
      includedGlobals.has(e.tag)
    )
      include.add(e.id);
  }

  const restored = [...managed].filter((s) => inDump.has(s));
  return {
    drop,
    restored,
    dropped: drop.filter((s) => !inDump.has(s)),
    kept,
    include,
    recreated,
    refused,
    outsideKeys: outside
      .map((o) => o.k)
      .sort()
      .join(','),
    recreatePublic: managed.has('public'),
  };
}

/** Objects that pg_dump always writes as entries of their own, so one missing from the backup was created since. */
function isAttachment(o: OutsideRow): boolean {
  if (o.catalog === 'pg_constraint') return ['f', 'p', 'u', 'x'].includes(o.contype ?? '');
  if (o.catalog === 'pg_class') return o.relkind === 'i' || o.relkind === 'I';
  return ATTACHMENTS.has(o.catalog);
}

function matchEntry(o: OutsideRow, byOid: Map<string, TocEntry>, byName: Map<string, TocEntry>) {
  const [classid, objid] = o.k.split(':');
  const candidate = o.objsubid === 0 ? byOid.get(`${classid}:${objid}`) : undefined;
  // The oid is only trusted when the entry describes an object in the same place.
  if (candidate && candidate.namespace === o.schema) return candidate;
  const [first, second, third] = o.names;
  const onTable = (desc: string) => `${desc}|${first}|${second} ${third}`;
  const keys: Record<string, string | undefined> = {
    pg_trigger: onTable('TRIGGER'),
    pg_policy: onTable('POLICY'),
    pg_rewrite: onTable('RULE'),
    pg_attrdef: onTable('DEFAULT'),
    pg_constraint:
      o.type === 'table constraint' ? onTable(o.contype === 'f' ? 'FK CONSTRAINT' : 'CONSTRAINT') : undefined,
    pg_class: o.relkind === 'i' || o.relkind === 'I' ? `INDEX|${first}|${second}` : undefined,
    pg_extension: `EXTENSION|-|${first}`,
    pg_event_trigger: `EVENT TRIGGER|-|${first}`,
  };
  const key = keys[o.catalog];
  return key ? byName.get(key) : undefined;
}

function preambleSql(plan: RestorePlan, lockTimeoutMs: number): string {
  const schemas = `ARRAY[${plan.drop.map(quoteLiteral).join(', ')}]::text[]`;
  const lines = [
    'SET standard_conforming_strings = on;',
    'SET client_min_messages = warning;',
    'SET statement_timeout = 0;',
    `SET lock_timeout = ${Math.max(0, Math.round(lockTimeoutMs))};`,
    'SET idle_in_transaction_session_timeout = 0;',
    // The plan was made on another connection: if what the drop would take along has changed since,
    // stop before changing anything.
    'DO $mg_check$',
    'DECLARE found text;',
    'BEGIN',
    `  SELECT string_agg(q.k, ',' ORDER BY q.k COLLATE "C") INTO found FROM (${outsideSql(schemas)}) q;`,
    `  IF coalesce(found, '') <> ${quoteLiteral(plan.outsideKeys)} THEN`,
    `    RAISE EXCEPTION 'the database changed while the restore was being prepared: objects outside the restored schemas now depend on them (%)', coalesce(found, '');`,
    '  END IF;',
    'END',
    '$mg_check$;',
  ];
  if (plan.drop.length > 0)
    lines.push(`DROP SCHEMA IF EXISTS ${plan.drop.map(quoteIdent).join(', ')} CASCADE;`);
  // pg_dump never creates "public" (every new database has it), so recreate it as initdb does;
  // the archive's COMMENT, ACL and owner entries for it then apply on top.
  if (plan.recreatePublic) {
    lines.push(
      'DO $mg_public$',
      'BEGIN',
      "  IF pg_catalog.current_setting('server_version_num')::int >= 150000 THEN",
      "    EXECUTE 'CREATE SCHEMA public AUTHORIZATION pg_database_owner';",
      "    EXECUTE 'GRANT USAGE ON SCHEMA public TO PUBLIC';",
      '  ELSE',
      "    EXECUTE pg_catalog.format('CREATE SCHEMA public AUTHORIZATION %I', (SELECT rolname FROM pg_catalog.pg_roles WHERE oid = 10));",
      "    EXECUTE 'GRANT ALL ON SCHEMA public TO PUBLIC';",
      '  END IF;',
      "  EXECUTE 'COMMENT ON SCHEMA public IS ''standard public schema''';",
      'END',
      '$mg_public$;',
    );
  }
  return lines.join('\n') + '\n';
}

const SCHEMAS_SQL = `
SELECT n.nspname AS name,
       pg_catalog.pg_has_role(n.nspowner, 'USAGE') AS droppable,
       pg_catalog.pg_get_userbyid(n.nspowner) AS owner,
       EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                WHERE d.classid = 'pg_catalog.pg_namespace'::pg_catalog.regclass AND d.objid = n.oid AND d.deptype = 'e') AS extension_member
  FROM pg_catalog.pg_namespace n
 WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'`;

const GLOBALS_SQL = `
SELECT 'EXTENSION|' || extname AS k FROM pg_catalog.pg_extension
UNION ALL SELECT 'EVENT TRIGGER|' || evtname FROM pg_catalog.pg_event_trigger
UNION ALL SELECT 'PUBLICATION|' || pubname FROM pg_catalog.pg_publication`;

/**
 * Every object outside `schemas` that DROP SCHEMA … CASCADE would take along: walk pg_depend down
 * from the schemas (and up from an object to its owner for internal dependencies, as a view's rule
 * takes the view), then keep what lives elsewhere. Internal parts, extension members and TOAST
 * go with their owner and are not listed.
 */
function outsideSql(schemas: string): string {
  return `
WITH RECURSIVE doomed(classid, objid, objsubid) AS (
  SELECT 'pg_catalog.pg_namespace'::pg_catalog.regclass::pg_catalog.oid, n.oid, 0
    FROM pg_catalog.pg_namespace n WHERE n.nspname = ANY(${schemas})
  UNION
  SELECT CASE WHEN down THEN d.classid ELSE d.refclassid END,
         CASE WHEN down THEN d.objid ELSE d.refobjid END,
         CASE WHEN down THEN d.objsubid ELSE d.refobjsubid END
    FROM doomed x
    JOIN pg_catalog.pg_depend d
      ON (d.refclassid = x.classid AND d.refobjid = x.objid AND (x.objsubid = 0 OR d.refobjsubid = x.objsubid))
      OR (d.classid = x.classid AND d.objid = x.objid AND (x.objsubid = 0 OR d.objsubid = x.objsubid) AND d.deptype = 'i')
    CROSS JOIN LATERAL (SELECT d.refclassid = x.classid AND d.refobjid = x.objid AS down) dir
)
SELECT * FROM (
  SELECT x.classid::text || ':' || x.objid::text || ':' || x.objsubid::text AS k,
         x.classid::pg_catalog.regclass::text AS catalog, x.objsubid, i.type, i.identity, a.object_names AS names,
         coalesce(CASE WHEN i.schema LIKE '"%' THEN replace(substr(i.schema, 2, length(i.schema) - 2), '""', '"')
                       ELSE i.schema END,
                  CASE WHEN i.type IN ('trigger', 'policy', 'rule', 'default value') THEN a.object_names[1] END,
                  '-') AS schema,
         (SELECT c.relkind::text FROM pg_catalog.pg_class c
           WHERE c.oid = x.objid AND x.classid = 'pg_catalog.pg_class'::pg_catalog.regclass) AS relkind,
         (SELECT c.contype::text FROM pg_catalog.pg_constraint c
           WHERE c.oid = x.objid AND x.classid = 'pg_catalog.pg_constraint'::pg_catalog.regclass) AS contype
    FROM doomed x
   CROSS JOIN LATERAL pg_catalog.pg_identify_object(x.classid, x.objid, x.objsubid) i
   CROSS JOIN LATERAL pg_catalog.pg_identify_object_as_address(x.classid, x.objid, x.objsubid) a
   WHERE x.classid <> 'pg_catalog.pg_namespace'::pg_catalog.regclass
     AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend p
                      WHERE p.classid = x.classid AND p.objid = x.objid AND p.deptype IN ('i', 'e', 'P', 'S'))
) o WHERE o.schema <> ALL(${schemas}) AND o.schema !~ '^pg_toast'`;
}
