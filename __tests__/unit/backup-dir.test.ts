import { describe, expect, it } from '@jest/globals';
import { defaultBackupDir } from '../../src/commands/backup-stage.js';

describe('defaultBackupDir', () => {
  it("uses the runner's temp folder on a runner", () => {
    expect(defaultBackupDir({ RUNNER_TEMP: '/home/runner/work/_temp', HOME: '/home/runner' }, 'linux')).toBe(
      '/home/runner/work/_temp/migration-guard-backups',
    );
  });

  it('uses a folder of the user, never a shared one in the temp directory, without RUNNER_TEMP', () => {
    expect(defaultBackupDir({ HOME: '/home/ana' }, 'linux')).toBe(
      '/home/ana/.local/state/supabase-migration-guard/backups',
    );
    expect(defaultBackupDir({ HOME: '/home/ana', XDG_STATE_HOME: '/data/state' }, 'linux')).toBe(
      '/data/state/supabase-migration-guard/backups',
    );
  });

  it('ignores a relative XDG_STATE_HOME, as the XDG specification says', () => {
    expect(defaultBackupDir({ HOME: '/home/ana', XDG_STATE_HOME: 'state' }, 'linux')).toBe(
      '/home/ana/.local/state/supabase-migration-guard/backups',
    );
  });

  it('uses LOCALAPPDATA on Windows', () => {
    expect(defaultBackupDir({ LOCALAPPDATA: 'C:\\Users\\ana\\AppData\\Local' }, 'win32')).toContain(
      'supabase-migration-guard',
    );
  });
});
