import { list, location, names, wrapped, type Node } from '../ast.js';
import { tableKey, tableOf, type LintRule, type ReleaseHit, type RuleHit } from '../context.js';
import {
  OBSERVED_NODE_TYPES,
  isExposed,
  observe,
  placeOf,
  securityState,
  type Place,
} from '../security-state.js';

/**
 * Supabase security: what exposes data through Supabase's API (tables without row-level
 * security, definer views, auth.users) or lets a caller run code with the owner's rights (definer
 * functions with a mutable search_path), and policies that re-evaluate auth.uid() on every row.
 * "Exposed" means a schema the API serves (`exposedSchemas`, default `public`). Release-level
 * findings (RLS never enabled, a view never made security_invoker) are made in `finish`, so a
 * later statement of the release that fixes the object counts. docs/lint/<id>.md for each.
 */

const API_ROLES = new Set(['anon', 'authenticated']);

function releaseHit(place: Place, message: string): ReleaseHit {
  return {
    message,
    file: place.file,
    version: place.version,
    line: place.line,
    column: place.column,
    statementStart: place.statementStart,
  };
}

export const rlsDisabledInExposedSchema: LintRule = {
  id: 'rls-disabled-in-exposed-schema',
  family: 'security',
  defaultSeverity: 'error',
  summary: 'A table created in an exposed schema without ENABLE ROW LEVEL SECURITY anywhere in the release',
  nodeTypes: OBSERVED_NODE_TYPES,
  check(stmt, ctx) {
    observe(stmt, ctx);
  },
  finish(ctx) {
    const hits: ReleaseHit[] = [];
    for (const facts of securityState(ctx).tables.values()) {
      if (!facts.created || facts.rls || !isExposed(ctx, facts.ref)) continue;
      const name = tableKey(facts.ref);
      hits.push(
        releaseHit(
          facts.created,
          `Table ${name} is created in exposed schema ${facts.ref.schema} and the release never enables row-level security on it: the API's anon and authenticated roles can read and change every row. Add ALTER TABLE ${name} ENABLE ROW LEVEL SECURITY and the policies its callers need`,
        ),
      );
    }
    return hits;
  },
};

export const rlsEnabledNoPolicy: LintRule = {
  id: 'rls-enabled-no-policy',
  family: 'security',
  defaultSeverity: 'info',
  summary: 'Row-level security enabled on a table that has no policy: every API call sees no rows',
  nodeTypes: OBSERVED_NODE_TYPES,
  check(stmt, ctx) {
    observe(stmt, ctx);
  },
  finish(ctx) {
    const hits: ReleaseHit[] = [];
    for (const facts of securityState(ctx).tables.values()) {
      if (!facts.rls || facts.policies > 0 || facts.enabled.length === 0) continue;
      // A table the release did not create may have policies from earlier migrations: only a
      // live database can say it has none.
      if (!facts.created && ctx.tableSecurity(facts.ref.schema, facts.ref.table)?.policies !== 0) continue;
      const name = tableKey(facts.ref);
      hits.push(
        releaseHit(
          facts.enabled[facts.enabled.length - 1],
          `Row-level security is enabled on ${name} but no policy is created for it: the API's roles see no rows and cannot write any. Create the policies in this release (or ignore this finding with the reason, if only the service role uses the table)`,
        ),
      );
    }
    return hits;
  },
};

export const securityDefinerSearchPath: LintRule = {
  id: 'security-definer-search-path',
  family: 'security',
  defaultSeverity: 'warning',
  summary: 'A SECURITY DEFINER function without SET search_path: callers can shadow the objects it uses',
  nodeTypes: OBSERVED_NODE_TYPES,
  check(stmt, ctx) {
    observe(stmt, ctx);
  },
  finish(ctx) {
    return [...securityState(ctx).definers.values()].map((f) =>
      releaseHit(
        f.place,
        `SECURITY DEFINER function ${f.name} has no fixed search_path: it runs with its owner's rights but resolves names through the caller's search_path, so a caller's object can stand in for the one it means. Add SET search_path = '' (and schema-qualify the names in its body)`,
      ),
    );
  },
};

export const viewWithoutSecurityInvoker: LintRule = {
  id: 'view-without-security-invoker',
  family: 'security',
  defaultSeverity: 'error',
  summary:
    'A view in an exposed schema without security_invoker reads with its owner’s rights, bypassing RLS',
  nodeTypes: OBSERVED_NODE_TYPES,
  check(stmt, ctx) {
    observe(stmt, ctx);
  },
  finish(ctx) {
    return [...securityState(ctx).views.values()].map((v) =>
      releaseHit(
        v.place,
        `View ${v.name} in an exposed schema runs with its owner's rights, so the row-level security of the tables it reads does not apply to the API's callers: create it WITH (security_invoker = true) (PostgreSQL 15+), or keep it out of exposed schemas`,
      ),
    );
  },
};

/** A grant waiting for the end of its file: RLS enabled later in the same file still covers it. */
interface GrantSeen {
  key: string;
  place: Place;
  hit: RuleHit;
}

export const grantToApiRoleWithoutRls: LintRule = {
  id: 'grant-to-api-role-without-rls',
  family: 'security',
  defaultSeverity: 'error',
  summary: 'GRANT to anon/authenticated on a table whose row-level security is off',
  nodeTypes: [...OBSERVED_NODE_TYPES, ...['GrantStmt']],
  check(stmt, ctx) {
    const state = observe(stmt, ctx);
    const { node } = stmt;
    if (stmt.nodeType !== 'GrantStmt' || !node.is_grant || node.targtype !== 'ACL_TARGET_OBJECT') return;
    if (node.objtype !== 'OBJECT_TABLE') return;
    const roles = apiGrantees(node.grantees);
    if (roles.length === 0) return;
    const grants = ctx.state<GrantSeen[]>('security-grants', () => []);
    for (const object of list(node.objects)) {
      const ref = tableOf(wrapped(object, 'RangeVar'));
      if (!ref || (ref.schema === 'auth' && ref.table === 'users')) continue;
      const key = tableKey(ref);
      if (state.views.has(key)) continue;
      const facts = state.tables.get(key);
      if (facts?.rls) continue;
      // Created in an exposed schema without RLS: rls-disabled-in-exposed-schema reports the table itself.
      if (facts?.created && isExposed(ctx, ref)) continue;
      // Not created by the release: only the live table can say whether RLS is off.
      if (!facts?.created && ctx.tableSecurity(ref.schema, ref.table)?.rowSecurity !== false) continue;
      grants.push({
        key,
        place: placeOf(stmt, state.seq, location(wrapped(object, 'RangeVar'))),
        hit: {
          message: `GRANT to ${roles.join(', ')} on ${key}, whose row-level security is off: the grant hands them every row. Enable row-level security on ${key} (with policies) before granting`,
        },
      });
    }
  },
  finish(ctx) {
    const state = securityState(ctx);
    return ctx
      .state<GrantSeen[]>('security-grants', () => [])
      .flatMap((g) => {
        const facts = state.tables.get(g.key);
        const enabledLaterInFile = facts?.enabled.some((e) => e.file === g.place.file && e.seq > g.place.seq);
        return enabledLaterInFile ? [] : [releaseHit(g.place, g.hit.message)];
      });
  },
};

/** The API roles among a GRANT's grantees (PUBLIC includes them). */
function apiGrantees(grantees: unknown): string[] {
  return list(grantees).flatMap((g) => {
    const role = wrapped(g, 'RoleSpec') as { roletype?: string; rolename?: string } | undefined;
    if (role?.roletype === 'ROLESPEC_PUBLIC') return ['PUBLIC'];
    return role?.rolename && API_ROLES.has(role.rolename) ? [role.rolename] : [];
  });
}

const AUTH_FUNCTIONS = new Set(['uid', 'jwt', 'role', 'email']);

export const authFunctionUnwrappedInPolicy: LintRule = {
  id: 'auth-function-unwrapped-in-policy',
  family: 'security',
  defaultSeverity: 'warning',
  summary: 'A policy calls auth.uid()/auth.jwt()/auth.role() per row instead of once as (select auth.uid())',
  nodeTypes: [...OBSERVED_NODE_TYPES, ...['AlterPolicyStmt']],
  check(stmt, ctx) {
    observe(stmt, ctx);
    if (stmt.nodeType !== 'CreatePolicyStmt' && stmt.nodeType !== 'AlterPolicyStmt') return;
    // Walking the expression trees is the costly part: most policies never name the auth schema.
    if (!/auth/i.test(stmt.statement.sql)) return;
    const calls: Node[] = [];
    unwrappedAuthCalls(stmt.node.qual, false, calls);
    unwrappedAuthCalls(stmt.node.with_check, false, calls);
    if (calls.length === 0) return;
    const first = calls.sort((a, b) => (location(a) ?? 0) - (location(b) ?? 0))[0];
    const fn = names(first.funcname).join('.');
    const table = tableOf(stmt.node.table);
    return {
      message: `Policy ${String(stmt.node.policy_name)}${table ? ` on ${tableKey(table)}` : ''} calls ${fn}() directly, so it is evaluated again for every row: write (select ${fn}()) so PostgreSQL computes it once per statement`,
      location: location(first),
    };
  },
};

/**
 * Collects auth.<fn>() calls that are not the whole work of a scalar sub-select without FROM.
 * `isWrapped` is true inside the target list of such a select; a select that reads a table (or a
 * sub-query of it) starts over: there the call would run for every row it reads. (Plain loops
 * over keys: this walks every policy's expression trees, so it allocates nothing per node.)
 */
function unwrappedAuthCalls(node: unknown, isWrapped: boolean, out: Node[]): void {
  if (Array.isArray(node)) {
    for (const item of node) unwrappedAuthCalls(item, isWrapped, out);
    return;
  }
  if (!node || typeof node !== 'object') return;
  for (const key in node as Node) {
    const value = (node as Node)[key];
    if (key === 'SelectStmt') {
      const select = value as Node;
      const noFrom = list(select.fromClause).length === 0;
      for (const part in select)
        unwrappedAuthCalls(select[part], part === 'targetList' ? noFrom : false, out);
      continue;
    }
    if (key === 'FuncCall' && !isWrapped && isAuthCall(value as Node)) out.push(value as Node);
    unwrappedAuthCalls(value, isWrapped, out);
  }
}

function isAuthCall(call: Node): boolean {
  const parts = names(call.funcname);
  return parts.length === 2 && parts[0] === 'auth' && AUTH_FUNCTIONS.has(parts[1]);
}

export const authUsersExposed: LintRule = {
  id: 'auth-users-exposed',
  family: 'security',
  defaultSeverity: 'error',
  summary: 'A view in an exposed schema reading auth.users, or a grant on auth.users to the API roles',
  nodeTypes: [...OBSERVED_NODE_TYPES, ...['GrantStmt']],
  check(stmt, ctx) {
    observe(stmt, ctx);
    const { node } = stmt;
    if (
      stmt.nodeType === 'ViewStmt' ||
      (stmt.nodeType === 'CreateTableAsStmt' && node.objtype === 'OBJECT_MATVIEW')
    ) {
      const ref = tableOf(stmt.nodeType === 'ViewStmt' ? node.view : (node.into as Node | undefined)?.rel);
      if (!ref || !isExposed(ctx, ref) || !/users/i.test(stmt.statement.sql)) return;
      const read = authUsersIn(node.query);
      if (!read) return;
      return {
        message: `${stmt.nodeType === 'ViewStmt' ? 'View' : 'Materialized view'} ${tableKey(ref)} in an exposed schema reads auth.users: every user's e-mail and metadata reach the API's roles. Keep it out of exposed schemas, or read a profiles table of your own`,
        location: location(read),
      };
    }
    if (stmt.nodeType === 'GrantStmt' && node.is_grant && node.objtype === 'OBJECT_TABLE') {
      const roles = apiGrantees(node.grantees);
      if (roles.length === 0) return;
      const users = list(node.objects)
        .map((o) => wrapped(o, 'RangeVar'))
        .find((r) => r?.schemaname === 'auth' && r.relname === 'users');
      if (!users) return;
      return {
        message: `GRANT on auth.users to ${roles.join(', ')}: every user's e-mail and metadata reach the API's roles. Revoke it and expose a profiles table of your own instead`,
        location: location(users),
      };
    }
  },
};

/** The first RangeVar reading auth.users in a query, if any. */
function authUsersIn(node: unknown): Node | undefined {
  if (Array.isArray(node)) {
    for (const item of node) {
      const found = authUsersIn(item);
      if (found) return found;
    }
    return undefined;
  }
  if (!node || typeof node !== 'object') return undefined;
  for (const key in node as Node) {
    const value = (node as Node)[key] as Node;
    if (key === 'RangeVar' && value.schemaname === 'auth' && value.relname === 'users') return value;
    const found = authUsersIn(value);
    if (found) return found;
  }
  return undefined;
}

export const SECURITY_RULES: LintRule[] = [
  rlsDisabledInExposedSchema,
  rlsEnabledNoPolicy,
  grantToApiRoleWithoutRls,
  securityDefinerSearchPath,
  viewWithoutSecurityInvoker,
  authUsersExposed,
  authFunctionUnwrappedInPolicy,
];
