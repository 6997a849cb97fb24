import { describe, expect, it } from '@jest/globals';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { lintCommand } from '../../src/commands/lint.js';
import { lintMigrations } from '../../src/lint/index.js';
import { discoverMigrations } from '../../src/migrations/discover.js';
import { line } from '../helpers/lint.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * The example schema (migrations/) follows the safe patterns: every table is created with its
 * indexes in the same file, keys are uuid, times timestamptz, no destructive step in the up files.
 * The lock, destructive, robustness and types families report nothing on it; the security
 * family (its own tests) reports the tables exposed without row-level security.
 */
describe('the example schema in migrations/', () => {
  it('gives no finding outside the security family, with the lint command and as a pending release', async () => {
    const outcome = await lintCommand({ migrationsDir: 'migrations', lint: 'error' }, root);
    expect(outcome.files).toBe(3);
    expect(outcome.report.findings.filter((f) => f.family !== 'security').map(line)).toEqual([]);
    expect(outcome.report.unusedIgnores).toEqual([]);

    const set = await discoverMigrations(join(root, 'migrations'), root);
    const release = await lintMigrations(set.migrations);
    expect(release.findings.filter((f) => f.family !== 'security').map(line)).toEqual([]);
  });
});
