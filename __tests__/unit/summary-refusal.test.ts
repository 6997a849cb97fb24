import { describe, expect, it } from '@jest/globals';
import type { RunResult } from '../../src/engine/result.js';
import { renderSummary } from '../../src/report/summary.js';
import { golden, runResultWith } from '../helpers/report-cases.js';

const MESSAGE =
  'Manual apply of production refused: rate-limit 1/10m reached (1 manual apply/rollback run(s) of production in the window). The next one is allowed from 2026-05-01T09:10:00.000Z.';

/** A manual apply refused by the rate limit, whose refusal could not be recorded. */
const refused: RunResult = runResultWith({
  environment: 'production',
  runUrl: 'https://github.com/acme/app/actions/runs/4242',
  message: MESSAGE,
  error: {
    message: MESSAGE,
    hint: 'Wait until 2026-05-01T09:10:00.000Z and start the run again, or change rate-limit in the workflow. Nothing was run.',
  },
  refusal: {
    rule: 'rate-limit',
    actor: 'alice',
    event: 'workflow_dispatch',
    role: 'admin',
    allowedRoles: ['admin', 'maintain'],
    reason: 'hotfix | incident 12',
    rateLimit: '1/10m',
    nextAllowedAt: '2026-05-01T09:10:00.000Z',
    recentRuns: 1,
    recorded: false,
    message: MESSAGE,
    hint: 'wait',
  },
});

describe('renderSummary of a refused manual run', () => {
  it('renders golden-refused.md: who, their role, the allowed roles, the reason, when the next run is allowed, and that the refusal was not recorded', () => {
    const markdown = renderSummary(refused);
    expect(markdown).toBe(golden('golden-refused.md', markdown));
  });

  it('shows no refusal section for a run that was not refused', () => {
    expect(renderSummary({ ...refused, refusal: undefined })).not.toContain('Manual run refused');
  });
});
