/**
 * The release workflow: the whole CI runs first, and only then is the major tag moved. The tag
 * step is run here (helpers/local-runner.ts) in a scratch git repository with a bare "origin".
 */
import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { condition } from '../helpers/expressions.js';
import { runJobLocally, type Job } from '../helpers/local-runner.js';
import { tempDirsFor } from '../helpers/temp.js';

const release = parse(readFileSync('.github/workflows/release.yml', 'utf8')) as {
  on: Record<string, unknown>;
  permissions: Record<string, string>;
  jobs: Record<
    string,
    Job & { uses?: string; needs?: string; if?: string; permissions?: Record<string, string> }
  >;
};
const ci = parse(readFileSync('.github/workflows/ci.yml', 'utf8')) as { on: Record<string, unknown> };
const tempDir = tempDirsFor();

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 't',
      GIT_AUTHOR_EMAIL: 't@t',
      GIT_COMMITTER_NAME: 't',
      GIT_COMMITTER_EMAIL: 't@t',
    },
  }).trim();

/** A clone with two commits, v1.0.0 on the first and `tag` on the second, and its bare origin. */
function repository(tag: string) {
  const origin = join(tempDir('mg-release-origin-'), 'origin.git');
  git(process.cwd(), 'init', '--quiet', '--bare', origin);
  const work = tempDir('mg-release-work-');
  git(work, 'init', '--quiet');
  git(work, 'remote', 'add', 'origin', origin);
  writeFileSync(join(work, 'a'), '1');
  git(work, 'add', 'a');
  git(work, 'commit', '--quiet', '-m', 'one');
  git(work, 'tag', 'v1.0.0');
  git(work, 'tag', 'v1', 'HEAD');
  writeFileSync(join(work, 'a'), '2');
  git(work, 'commit', '--quiet', '-am', 'two');
  git(work, 'tag', '--annotate', tag, '-m', tag);
  git(work, 'push', '--quiet', 'origin', 'HEAD:refs/heads/main', '--tags');
  return { origin, work };
}

async function moveTag(tag: string) {
  const { origin, work } = repository(tag);
  const job = release.jobs['move-major-tag'];
  const temp = tempDir('mg-release-job-');
  const run = await runJobLocally(job, {
    workspace: work,
    temp,
    artifacts: join(temp, 'artifacts'),
    contexts: { github: { event_name: 'release', event: { release: { tag_name: tag, prerelease: false } } } },
    actions: {},
  });
  return { run, origin, work };
}

describe('release workflow', () => {
  it('runs the whole CI first (ci.yml is callable), and moves the tag only after it, not for prereleases', () => {
    expect(Object.keys(release.on)).toEqual(['release']);
    expect(ci.on).toHaveProperty('workflow_call');
    expect(release.jobs.ci.uses).toBe('./.github/workflows/ci.yml');
    const move = release.jobs['move-major-tag'];
    expect(move.needs).toBe('ci');
    expect(release.permissions).toEqual({});
    expect(move.permissions).toEqual({ contents: 'write' });
    expect(release.jobs.ci.permissions).toEqual({ contents: 'read' });
    const on = (prerelease: boolean) => ({ github: { event: { release: { prerelease } } } });
    expect(condition(move.if, on(false))).toBe(true);
    expect(condition(move.if, on(true))).toBe(false);
  });

  it('moves v1 to the commit of v1.4.2 on origin', async () => {
    const { run, origin, work } = await moveTag('v1.4.2');
    expect(run.status).toBe('success');
    expect(git(origin, 'rev-parse', 'v1^{commit}')).toBe(git(work, 'rev-parse', 'v1.4.2^{commit}'));
    expect(git(origin, 'rev-parse', 'v1^{commit}')).not.toBe(git(work, 'rev-parse', 'v1.0.0^{commit}'));
    expect(run.records.at(-1)!.summary).toContain('Moved v1 to v1.4.2');
  });

  it('refuses a tag that is not vMAJOR.MINOR.PATCH and moves nothing', async () => {
    const { run, origin, work } = await moveTag('v1.4');
    expect(run.status).toBe('failure');
    expect(run.records.at(-1)!.out).toContain('is not vMAJOR.MINOR.PATCH');
    expect(git(origin, 'rev-parse', 'v1^{commit}')).toBe(git(work, 'rev-parse', 'v1.0.0^{commit}'));
  });
});
