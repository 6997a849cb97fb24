import type { Client } from './connect.js';

/** What one migration file did to the schema, as "kind schema.name" labels. */
export interface ObjectChanges {
  created: string[];
  altered: string[];
  dropped: string[];
}

/**
 * Every user-visible schema object, keyed by "kind schema.name" and valued by a definition: two
 * snapshots taken around a file tell what it created, altered and dropped. The catalog is read
 * rather than the statements' parse trees because that is exact whatever the file did (DO blocks,
 * dynamic SQL, a CASCADE that takes dependants with it), and one query per file is cheap on a
 * scratch database. Columns, row security and ownership fold into their table's definition, so a
 * column added shows as the table altered. Our own schemas and the history are left out.
 */
const OBJECTS_SQL = `
WITH user_ns AS (
  SELECT oid, nspname FROM pg_namespace
   WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast', 'supabase_migrations',
                         'migration_guard', 'migration_guard_shadow')
     AND nspname NOT LIKE 'pg_temp_%' AND nspname NOT LIKE 'pg_toast_temp_%'
), rels AS (
  SELECT c.oid, c.relkind, format('%I.%I', n.nspname, c.relname) AS name, c.relowner, c.relrowsecurity,
         c.relforcerowsecurity, c.relacl, c.reloptions
    FROM pg_class c JOIN user_ns n ON n.oid = c.relnamespace
   WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f', 'i', 'I')
), parts AS (
  SELECT 'schema ' || quote_ident(nspname) AS key, '' AS def FROM user_ns
  UNION ALL
  SELECT CASE r.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'table' WHEN 'v' THEN 'view'
           WHEN 'm' THEN 'materialized view' WHEN 'S' THEN 'sequence' WHEN 'f' THEN 'foreign table'
           ELSE 'index' END || ' ' || r.name,
         concat_ws('|', r.relkind, r.relowner, r.relrowsecurity, r.relforcerowsecurity, r.relacl::text,
           r.reloptions::text,
           CASE WHEN r.relkind IN ('v', 'm') THEN pg_get_viewdef(r.oid) END,
           CASE WHEN r.relkind IN ('i', 'I') THEN pg_get_indexdef(r.oid) END,
           (SELECT string_agg(concat_ws(':', a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                     pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated, a.attacl::text), ',' ORDER BY a.attnum)
              FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
             WHERE a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped))
    FROM rels r
  UNION ALL
  SELECT 'constraint ' || format('%I', con.conname) || ' on ' || r.name, pg_get_constraintdef(con.oid)
    FROM pg_constraint con JOIN rels r ON r.oid = con.conrelid
  UNION ALL
  SELECT 'policy ' || format('%I', pol.polname) || ' on ' || r.name,
         concat_ws('|', pol.polcmd, pol.polpermissive, pol.polroles::text, pg_get_expr(pol.polqual, pol.polrelid),
           pg_get_expr(pol.polwithcheck, pol.polrelid))
    FROM pg_policy pol JOIN rels r ON r.oid = pol.polrelid
  UNION ALL
  SELECT 'trigger ' || format('%I', tg.tgname) || ' on ' || r.name, pg_get_triggerdef(tg.oid)
    FROM pg_trigger tg JOIN rels r ON r.oid = tg.tgrelid WHERE NOT tg.tgisinternal
  UNION ALL
  SELECT CASE p.prokind WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate' ELSE 'function' END || ' '
           || format('%I.%I', n.nspname, p.proname) || '(' || pg_get_function_identity_arguments(p.oid) || ')',
         concat_ws('|', md5(coalesce(p.prosrc, '')), p.prorettype, p.prosecdef, p.provolatile, p.proconfig::text,
           p.proowner, p.proacl::text)
    FROM pg_proc p JOIN user_ns n ON n.oid = p.pronamespace
   WHERE NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
  UNION ALL
  SELECT CASE t.typtype WHEN 'e' THEN 'enum' WHEN 'd' THEN 'domain' ELSE 'type' END || ' '
           || format('%I.%I', n.nspname, t.typname),
         concat_ws('|', t.typtype, format_type(t.typbasetype, t.typtypmod), t.typnotnull,
           (SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid),
           (SELECT string_agg(pg_get_constraintdef(c.oid), ',' ORDER BY c.conname) FROM pg_constraint c WHERE c.contypid = t.oid))
    FROM pg_type t JOIN user_ns n ON n.oid = t.typnamespace
   WHERE t.typtype IN ('e', 'd', 'r', 'm')
      OR (t.typtype = 'c' AND (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')
  UNION ALL
  SELECT 'extension ' || quote_ident(extname), extversion FROM pg_extension
)
SELECT key, md5(coalesce(def, '')) AS def FROM parts`;

export type CatalogSnapshot = Map<string, string>;

export async function catalogSnapshot(client: Client): Promise<CatalogSnapshot> {
  const { rows } = await client.query<{ key: string; def: string }>(OBJECTS_SQL);
  return new Map(rows.map((r) => [r.key, r.def]));
}

/** What changed between two snapshots, each list sorted. */
export function diffCatalog(before: CatalogSnapshot, after: CatalogSnapshot): ObjectChanges {
  const changes: ObjectChanges = { created: [], altered: [], dropped: [] };
  for (const [key, def] of after) {
    const was = before.get(key);
    if (was === undefined) changes.created.push(key);
    else if (was !== def) changes.altered.push(key);
  }
  for (const key of before.keys()) if (!after.has(key)) changes.dropped.push(key);
  for (const list of Object.values(changes)) list.sort();
  return changes;
}
