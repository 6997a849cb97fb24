import type { LintFinding, LintReport, LintSeverity } from './types.js';

/**
 * Security checks of the rehearsed schema (issue 9, item 3). Static rules read the SQL; these read
 * the catalog the pending files leave behind, so they also see what dynamic SQL, DO blocks and
 * dumps create. `plan` snapshots the catalog before the first pending file and after the last
 * (inside the rehearsal's always-rolled-back transaction, or on the shadow database), and reports
 * only the hazards that are new: what the release introduces, not what was already there.
 */

/** Queries the catalog; a pg Client or PoolClient. */
export interface CatalogClient {
  query<R>(sql: string, params?: unknown[]): Promise<{ rows: R[] }>;
}

export type CatalogRule =
  | 'rls-disabled-in-exposed-schema'
  | 'security-definer-search-path'
  | 'view-without-security-invoker'
  | 'auth-users-exposed';

/** One hazard in the catalog. `key` names the object by oid, so a table dropped and recreated is new. */
export interface CatalogHazard {
  rule: CatalogRule;
  key: string;
  /** Qualified, quoted where needed (`public.notes`, `public.f(integer)`). */
  object: string;
  /** For auth-users-exposed: how (`view`, or the grantee and privilege). */
  detail?: string;
}

/** The hazards present at one moment, keyed by rule and object. */
export type CatalogSnapshot = Map<string, CatalogHazard>;

/**
 * Default severities of the catalog's rules (the static rules of the same ids use the same ones).
 * Row-level security and exposed user data are errors; a mutable search_path is a warning.
 */
export const CATALOG_SEVERITY: Record<CatalogRule, LintSeverity> = {
  'rls-disabled-in-exposed-schema': 'error',
  'security-definer-search-path': 'warning',
  'view-without-security-invoker': 'error',
  'auth-users-exposed': 'error',
};

/** Objects that belong to an extension are the extension's business, not the release's. */
const NOT_EXTENSION_MEMBER = (classid: string, objid: string) =>
  `NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e WHERE e.classid = '${classid}'::regclass AND e.objid = ${objid} AND e.deptype = 'e')`;

/**
 * Whether the API roles can read relation `oid`: true when they can, and also when neither role
 * exists (plain PostgreSQL, where "exposed schema" is all we know).
 */
const READABLE_BY_API_ROLES = (oid: string) => `(
  NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname IN ('anon', 'authenticated'))
  OR EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname IN ('anon', 'authenticated')
             AND pg_catalog.has_table_privilege(r.oid, ${oid}, 'SELECT')))`;

/** A boolean reloption's true spellings, as PostgreSQL's parse_bool accepts them. */
const INVOKER_ON = `'^security_invoker=(t|tr|tru|true|y|ye|yes|on|1)$'`;

/**
 * One round trip; $1 is the exposed schemas. Every branch reads only the catalog and works on a
 * plain PostgreSQL without Supabase's roles or `auth` schema.
 */
const SNAPSHOT_SQL = `
SELECT 'rls-disabled-in-exposed-schema' AS rule, c.oid::text AS key,
       format('%I.%I', n.nspname, c.relname) AS object, NULL AS detail
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p') AND NOT c.relrowsecurity AND n.nspname = ANY ($1::text[])
   AND ${NOT_EXTENSION_MEMBER('pg_catalog.pg_class', 'c.oid')}
UNION ALL
SELECT 'security-definer-search-path', p.oid::text,
       format('%I.%I(%s)', n.nspname, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid)), NULL
  FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
 WHERE p.prosecdef AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'
   AND NOT EXISTS (SELECT 1 FROM unnest(coalesce(p.proconfig, '{}')) AS cfg WHERE cfg LIKE 'search\\_path=%')
   AND ${NOT_EXTENSION_MEMBER('pg_catalog.pg_proc', 'p.oid')}
UNION ALL
SELECT 'view-without-security-invoker', c.oid::text, format('%I.%I', n.nspname, c.relname), NULL
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind = 'v' AND n.nspname = ANY ($1::text[])
   AND NOT EXISTS (SELECT 1 FROM unnest(coalesce(c.reloptions, '{}')) AS o WHERE lower(o) ~ ${INVOKER_ON})
   AND ${READABLE_BY_API_ROLES('c.oid')}
   AND ${NOT_EXTENSION_MEMBER('pg_catalog.pg_class', 'c.oid')}
UNION ALL
SELECT DISTINCT 'auth-users-exposed', 'view:' || c.oid::text, format('%I.%I', n.nspname, c.relname), 'view'
  FROM pg_catalog.pg_depend d
  JOIN pg_catalog.pg_rewrite w ON w.oid = d.objid
  JOIN pg_catalog.pg_class c ON c.oid = w.ev_class
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.refclassid = 'pg_catalog.pg_class'::regclass
   AND d.refobjid = to_regclass('auth.users') AND c.oid <> d.refobjid
   AND c.relkind IN ('v', 'm') AND n.nspname = ANY ($1::text[])
   AND ${READABLE_BY_API_ROLES('c.oid')}
UNION ALL
SELECT 'auth-users-exposed', 'grant:' || coalesce(r.rolname, 'PUBLIC') || ':' || a.privilege_type || coalesce(':' || g.attname, ''),
       'auth.users', coalesce(r.rolname, 'PUBLIC') || ' ' || a.privilege_type || coalesce(' (' || g.attname || ')', '')
  FROM (SELECT NULL::name AS attname, c.relacl AS acl FROM pg_catalog.pg_class c WHERE c.oid = to_regclass('auth.users')
        UNION ALL
        SELECT t.attname, t.attacl FROM pg_catalog.pg_attribute t
         WHERE t.attrelid = to_regclass('auth.users') AND t.attacl IS NOT NULL AND NOT t.attisdropped) AS g,
       LATERAL aclexplode(g.acl) AS a
  LEFT JOIN pg_catalog.pg_roles r ON r.oid = a.grantee
 WHERE a.grantee = 0 OR r.rolname IN ('anon', 'authenticated')`;

/** The security hazards in the catalog now. `exposedSchemas` defaults to `public` (Supabase's API schema). */
export async function securitySnapshot(
  client: CatalogClient,
  exposedSchemas: string[] = ['public'],
): Promise<CatalogSnapshot> {
  const { rows } = await client.query<CatalogHazard & { detail: string | null }>(SNAPSHOT_SQL, [
    exposedSchemas,
  ]);
  const snapshot: CatalogSnapshot = new Map();
  for (const row of rows) {
    const hazard: CatalogHazard = { rule: row.rule, key: row.key, object: row.object };
    if (row.detail) hazard.detail = row.detail;
    snapshot.set(`${row.rule}:${row.key}`, hazard);
  }
  return snapshot;
}

/** A catalog finding with the object it is about (for telling it apart from static findings). */
export interface CatalogFinding {
  finding: LintFinding;
  /** Qualified name without arguments (`public.notes`, `public.f`, `auth.users`). */
  object: string;
}

/**
 * The hazards in `after` that `before` did not have, as findings (source `catalog`, no file: the
 * catalog cannot say which file made them), in a stable order. `severityOf` applies the user's
 * configured severities; a rule set to `off` there returns undefined and is dropped.
 */
export function newSecurityFindings(
  before: CatalogSnapshot,
  after: CatalogSnapshot,
  severityOf: (rule: CatalogRule) => LintSeverity | undefined = (rule) => CATALOG_SEVERITY[rule],
): CatalogFinding[] {
  const findings: CatalogFinding[] = [];
  const added = [...after.entries()]
    .filter(([key]) => !before.has(key))
    .map(([, hazard]) => hazard)
    .sort(
      (a, b) =>
        a.rule.localeCompare(b.rule) || a.object.localeCompare(b.object) || a.key.localeCompare(b.key),
    );
  for (const hazard of added) {
    const severity = severityOf(hazard.rule);
    if (!severity) continue;
    findings.push({
      finding: {
        rule: hazard.rule,
        family: 'security',
        severity,
        message: messageOf(hazard),
        source: 'catalog',
      },
      object: hazard.object.replace(/\(.*$/, ''),
    });
  }
  return findings;
}

/** Severities as the user's config sets them (`off` drops the rule), else the defaults. */
export function catalogSeverity(
  rules: Record<string, LintSeverity | 'off'> = {},
): (rule: CatalogRule) => LintSeverity | undefined {
  return (rule) => {
    const override = rules[rule];
    return override === 'off' ? undefined : (override ?? CATALOG_SEVERITY[rule]);
  };
}

const SEEN = 'the schema this release leaves behind has';

function messageOf(hazard: CatalogHazard): string {
  const { object } = hazard;
  switch (hazard.rule) {
    case 'rls-disabled-in-exposed-schema':
      return `${SEEN} table ${object} in an exposed schema without row-level security: the API roles can read and write every row. Add ALTER TABLE ${object} ENABLE ROW LEVEL SECURITY and policies`;
    case 'security-definer-search-path':
      return `${SEEN} SECURITY DEFINER function ${object} without a fixed search_path: a caller's objects can shadow the ones it means. Add SET search_path = '' (and qualify names) to the function`;
    case 'view-without-security-invoker':
      return `${SEEN} view ${object} in an exposed schema that runs with its owner's rights, bypassing row-level security. Create it WITH (security_invoker = true) (PostgreSQL 15+)`;
    case 'auth-users-exposed':
      return hazard.detail === 'view'
        ? `${SEEN} view ${object} in an exposed schema reading auth.users: user e-mails and metadata reach the API roles. Move it to a private schema or select from a table of your own`
        : `${SEEN} ${hazard.detail} granted on auth.users: user e-mails and metadata reach the API roles. Revoke it; expose a table of your own instead`;
  }
}

/**
 * Adds catalog findings to a lint report (creating one when the run has none), skipping each that
 * a static finding of the same rule already reported for the same object (ignored ones included:
 * an ignore comment on the statement covers what the catalog sees of it too).
 */
export function withCatalogFindings(report: LintReport | undefined, findings: CatalogFinding[]): LintReport {
  const out: LintReport = report
    ? { ...report, findings: [...report.findings], counts: { ...report.counts } }
    : { findings: [], unusedIgnores: [], context: 'live', counts: { error: 0, warning: 0, info: 0 } };
  for (const { finding, object } of findings) {
    const known = out.findings.some(
      (f) => f.source === 'static' && f.rule === finding.rule && mentions(f.message, object),
    );
    if (known) continue;
    out.findings.push(finding);
    out.counts[finding.severity] += 1;
  }
  return out;
}

/** Whether a static message names `object` (qualified, or unqualified in the `public` schema). */
function mentions(message: string, quoted: string): boolean {
  // The catalog quotes names as format('%I') does ("MyTable"); the rules write them as parsed.
  const object = quoted.replace(/"/g, '');
  const words = new Set(message.split(/[\s,:;()]+/));
  if (words.has(object)) return true;
  return object.startsWith('public.') && words.has(object.slice('public.'.length));
}
