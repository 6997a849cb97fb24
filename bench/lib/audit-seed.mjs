import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Gives a template database the audit log a first run leaves: our action applies one trivial file
 * to it, then that run's history row and run record are deleted, so that every database made from
 * the template starts as a production database does after its first run (the log is there, none of
 * the benchmark's migrations is applied). Returns the rows the log holds.
 *
 * runAction(argv, { env, cwd }) runs `node <dist>/index.js` and resolves { code, output };
 * env(extra) builds the child's environment; url is the template's URL as the action sees it;
 * admin(fn) runs fn on a connection to the template.
 */
export async function seedAuditLog({ runAction, env, url, admin }) {
  const dir = mkdtempSync(join(tmpdir(), 'mg-bench-seed-'));
  try {
    mkdirSync(join(dir, 'migrations'));
    writeFileSync(join(dir, 'migrations', '00000000000000_audit_log_seed.sql'), 'select 1;\n');
    writeFileSync(join(dir, 'github-output'), '');
    const r = await runAction({
      cwd: dir,
      env: env({
        INPUT_COMMAND: 'apply',
        'INPUT_DATABASE-URL': url,
        'INPUT_MIGRATIONS-DIR': join(dir, 'migrations'),
        INPUT_BACKUP: 'off',
        INPUT_COMMENT: 'false',
        MIGRATION_GUARD_BENCHMARK_AUDIT_OFF: '0', // this run is the one that writes the log
        GITHUB_OUTPUT: join(dir, 'github-output'),
        RUNNER_TEMP: dir,
      }),
    });
    if (r.code !== 0) throw new Error(`seeding the audit log failed (exit ${r.code}):\n${r.output.slice(-4000)}`);
    return await admin(async (c) => {
      await c.query('delete from supabase_migrations.schema_migrations');
      await c.query('delete from migration_guard.runs');
      return Number((await c.query('select count(*) as n from migration_guard.audit_log')).rows[0].n);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
