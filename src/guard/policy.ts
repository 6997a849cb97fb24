import type { RateLimit } from '../config/rate-limit.js';
import type { CommandName } from '../config/settings.js';

/** The events a person starts by hand: the runs the guard checks. */
export const MANUAL_EVENTS: ReadonlySet<string> = new Set(['workflow_dispatch', 'repository_dispatch']);

/** Commands that need a `reason` on a manual run (rollback covers `strategy: restore`). */
export const REASON_REQUIRED: ReadonlySet<CommandName> = new Set(['apply', 'rollback']);

/** Commands counted by, and held to, the rate limit. */
export const RATE_LIMITED: ReadonlySet<CommandName> = new Set(['apply', 'rollback']);

/** A user's access to the repository, as GitHub's collaborator permission endpoint gives it. */
export interface RepoPermission {
  /** admin, write, read or none (the base permission). */
  permission: string;
  /** The role's name where GitHub gives one: admin, maintain, write, triage, read, or a custom role. */
  roleName?: string;
}

/** Reads `user`'s permission on the run's repository; throws when it cannot be known. */
export type PermissionReader = (user: string) => Promise<RepoPermission>;

export type RefusalRule = 'role' | 'permission-unknown' | 'reason' | 'rate-limit';

/** Why a manual run was refused: what the error, the summary, the alert and the audit row say. */
export interface ManualRunRefusal {
  rule: RefusalRule;
  actor: string;
  event: string;
  /** The role the check saw (role name, else permission); absent when it could not be read. */
  role?: string;
  allowedRoles: string[];
  reason?: string;
  rateLimit?: string;
  /** ISO time from which the next manual apply/rollback of this environment is allowed. */
  nextAllowedAt?: string;
  /** The manual runs the rate limit counted in its window. */
  recentRuns?: number;
  /** Whether the refusal was written to the audit log. */
  recorded: boolean;
  message: string;
  hint: string;
}

/** The role compared with `allowed-roles`: the role name when GitHub gives one, else the permission. */
export function effectiveRole(permission: RepoPermission): string {
  return (permission.roleName || permission.permission || 'none').toLowerCase();
}

/**
 * When the next run is allowed, or undefined when one is allowed now. `recent` are the start
 * times of the manual runs inside the window, newest first: with `count` of them, the run must
 * wait until the count-th newest leaves the window.
 */
export function nextAllowedAt(recent: Date[], limit: RateLimit, now: Date): Date | undefined {
  if (recent.length < limit.count) return undefined;
  const leaving = recent[limit.count - 1];
  const at = new Date(leaving.getTime() + limit.windowMs);
  return at > now ? at : undefined;
}

type Facts = Omit<ManualRunRefusal, 'message' | 'hint' | 'recorded'> & {
  command: CommandName;
  environment: string;
  problem?: string;
};

/** The message and hint of a refusal: who, which role they have, which are allowed, or when to retry. */
export function describeRefusal(f: Facts): { message: string; hint: string } {
  const who = `${f.actor} (${f.event})`;
  const allowed = f.allowedRoles.join(', ');
  switch (f.rule) {
    case 'role':
      return {
        message: `Manual ${f.command} of ${f.environment} refused: ${who} has the repository role "${f.role}"; allowed-roles is ${allowed}.`,
        hint: `Ask someone with one of the roles ${allowed} to start the run, or change allowed-roles in the workflow. Nothing was run.`,
      };
    case 'permission-unknown':
      return {
        message: `Manual ${f.command} of ${f.environment} refused: the repository permission of ${who} could not be read from GitHub (${f.problem}). Manual runs are refused when it cannot be checked.`,
        hint: `Make sure github-token is set (the default \${{ github.token }} can read it) and GitHub's API is reachable, then start the run again. Nothing was run.`,
      };
    case 'reason':
      return {
        message: `Manual ${f.command} of ${f.environment} refused: ${who} gave no reason; a manual ${f.command} needs one (it is recorded in the audit log).`,
        hint: 'Start the run again with the reason input filled in (e.g. "hotfix for incident 123"). Nothing was run.',
      };
    case 'rate-limit':
      return {
        message: `Manual ${f.command} of ${f.environment} refused: rate-limit ${f.rateLimit} reached (${f.recentRuns} manual apply/rollback run(s) of ${f.environment} in the window). The next one is allowed from ${f.nextAllowedAt}.`,
        hint: `Wait until ${f.nextAllowedAt} and start the run again, or change rate-limit in the workflow. Nothing was run.`,
      };
  }
}
