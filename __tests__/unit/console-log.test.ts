import { describe, expect, it } from '@jest/globals';
import type { StageEvent } from '../../src/engine/events.js';
import { consoleLines, consoleLogListener } from '../../src/report/console-log.js';
import { capturingLogger } from '../helpers/run.js';

const backup = {
  path: '/tmp/b/prod.dump',
  sizeBytes: 2048,
  sha256: 'ab'.repeat(32),
  durationMs: 10,
  pgDumpVersion: '15.8',
} as unknown as Extract<StageEvent, { type: 'backup-taken' }>['backup'];

describe('console log (a listener of stage events)', () => {
  it.each<[string, StageEvent, string[]]>([
    [
      'started: said by the engine',
      { type: 'run-started', command: 'apply', environment: 'e', pending: [] },
      [],
    ],
    ['backup', { type: 'backup-taken', backup }, ['Backup ready: /tmp/b/prod.dump (2.0 KiB)']],
    ['no rehearsal', { type: 'rehearsal-done', ran: false, failed: false, notRehearsed: [] }, []],
    [
      'rehearsal passed',
      { type: 'rehearsal-done', ran: true, failed: false, notRehearsed: [] },
      ['Rehearsal passed (rolled back)'],
    ],
    [
      'rehearsal failed',
      { type: 'rehearsal-done', ran: true, failed: true, notRehearsed: [] },
      ['Rehearsal failed: nothing was applied'],
    ],
    [
      'file applied',
      {
        type: 'file-applied',
        version: '7',
        file: 'm/7_x.sql',
        durationMs: 12,
        index: 3,
        total: 9,
        committed: true,
      },
      ['Applied 3/9: m/7_x.sql (12 ms)'],
    ],
    [
      'file failed, first line of the message',
      {
        type: 'file-failed',
        version: '7',
        error: { message: 'boom\nDETAIL: more', file: 'm/7_x.sql', line: 4 },
      },
      ['Failed: m/7_x.sql:4: boom'],
    ],
    [
      'rolled back by down migrations',
      { type: 'rolled-back', versions: ['2', '1'], how: 'down-migrations', succeeded: true },
      ['Rolled back by their down migrations: 2, 1'],
    ],
    [
      'rollback that failed',
      { type: 'rolled-back', versions: ['2'], how: 'transaction', succeeded: false },
      ['Could not roll back with the failed transaction: 2'],
    ],
    ['cancelled', { type: 'cancelled', reason: 'SIGTERM\nmore' }, ['Cancelled: SIGTERM']],
    ['lock retry: said by the engine', { type: 'lock-retry', attempt: 1, delayMs: 5 }, []],
  ])('%s', (_name, event, lines) => {
    expect(consoleLines(event)).toEqual(lines);
  });

  it('the listener writes plain lines (never warnings: those become annotations in the action)', () => {
    const logs: string[] = [];
    consoleLogListener(capturingLogger(logs))({ type: 'cancelled', reason: 'stop' });
    expect(logs).toEqual(['info: Cancelled: stop']);
  });
});
