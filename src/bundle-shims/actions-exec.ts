/**
 * Stands in for `@actions/exec` inside the bundles only (tsconfig.json `paths`, as for
 * actions-http-client.ts). `@actions/core` imports it for one feature, `core.platform.getDetails()`
 * (the runner's OS name and version, read by running lsb_release, sw_vers or PowerShell), which
 * this action never calls; the real package loads node:child_process, node:assert and @actions/io
 * at every start (~4 ms of a ~110 ms run with nothing to do). Our own programs (pg_dump, pg_restore,
 * psql) run through src/backup/process.ts.
 */
export function getExecOutput(): never {
  throw new Error('supabase-migration-guard does not bundle @actions/exec: core.platform is not supported');
}

export const exec = getExecOutput;
