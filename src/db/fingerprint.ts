import type { Client } from './connect.js';

/**
 * A digest of the user-visible schema (our own bookkeeping schemas excluded), so a report can show
 * that a rolled-back run left the schema exactly as it found it.
 */
const FINGERPRINT_SQL = `
WITH user_ns AS (
  SELECT oid, nspname FROM pg_namespace
   WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast', 'supabase_migrations', 'migration_guard')
     AND nspname NOT LIKE 'pg_temp_%' AND nspname NOT LIKE 'pg_toast_temp_%'
), parts AS (
  SELECT 'n:' || nspname AS item FROM user_ns
  UNION ALL
  SELECT 'r:' || n.nspname || '.' || c.relname || ':' || c.relkind::text || ':' || coalesce(c.relrowsecurity::text, '')
    FROM pg_class c JOIN user_ns n ON n.oid = c.relnamespace
  UNION ALL
  SELECT 'a:' || n.nspname || '.' || c.relname || '.' || a.attname || ':' || format_type(a.atttypid, a.atttypmod)
         || ':' || a.attnotnull || ':' || coalesce(pg_get_expr(d.adbin, d.adrelid), '')
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN user_ns n ON n.oid = c.relnamespace
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
   WHERE a.attnum > 0 AND NOT a.attisdropped
  UNION ALL
  SELECT 'c:' || n.nspname || '.' || con.conname || ':' || pg_get_constraintdef(con.oid)
    FROM pg_constraint con JOIN user_ns n ON n.oid = con.connamespace
  UNION ALL
  SELECT 'i:' || pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN user_ns n ON n.oid = c.relnamespace
  UNION ALL
  SELECT 'f:' || n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || '):' || md5(coalesce(p.prosrc, ''))
    FROM pg_proc p JOIN user_ns n ON n.oid = p.pronamespace
  UNION ALL
  SELECT 't:' || n.nspname || '.' || t.typname || ':' || t.typtype::text FROM pg_type t JOIN user_ns n ON n.oid = t.typnamespace
  UNION ALL
  SELECT 'e:' || t.typname || ':' || e.enumlabel || ':' || e.enumsortorder
    FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid JOIN user_ns n ON n.oid = t.typnamespace
  UNION ALL
  SELECT 'v:' || n.nspname || '.' || c.relname || ':' || pg_get_viewdef(c.oid)
    FROM pg_class c JOIN user_ns n ON n.oid = c.relnamespace WHERE c.relkind IN ('v', 'm')
  UNION ALL
  SELECT 'p:' || pol.polname || ':' || pol.polrelid::regclass::text || ':' || coalesce(pg_get_expr(pol.polqual, pol.polrelid), '')
    FROM pg_policy pol JOIN pg_class c ON c.oid = pol.polrelid JOIN user_ns n ON n.oid = c.relnamespace
  UNION ALL
  SELECT 'g:' || tg.tgname || ':' || pg_get_triggerdef(tg.oid)
    FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid JOIN user_ns n ON n.oid = c.relnamespace
   WHERE NOT tg.tgisinternal
  UNION ALL
  SELECT 'x:' || extname || ':' || extversion FROM pg_extension
)
SELECT md5(coalesce(string_agg(item, E'\\n' ORDER BY item), '')) AS fingerprint FROM parts`;

export async function schemaFingerprint(client: Client): Promise<string> {
  const { rows } = await client.query<{ fingerprint: string }>(FINGERPRINT_SQL);
  return rows[0].fingerprint;
}
