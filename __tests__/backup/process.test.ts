import { describe, expect, it } from '@jest/globals';
import { createProcessRunner } from '../../src/backup/process.js';

const runner = createProcessRunner();

describe('createProcessRunner', () => {
  it('returns exit code, stdout and stderr, passing arguments without a shell', async () => {
    const result = await runner.run('/bin/sh', [
      '-c',
      'echo "$1"; echo oops >&2; exit 3',
      'sh',
      '$HOME; rm -rf /',
    ]);
    expect(result).toEqual({ code: 3, stdout: '$HOME; rm -rf /\n', stderr: 'oops\n' });
  });

  it('gives the child exactly the environment it is handed', async () => {
    const result = await runner.run('/bin/sh', ['-c', 'echo "$PGPASSWORD|$HOME"'], {
      env: { PGPASSWORD: 'p' },
    });
    expect(result.stdout).toBe('p|\n');
  });

  it('reports a program that cannot be started as exit 127', async () => {
    const result = await runner.run('/nonexistent/pg_dump', ['--version']);
    expect(result.code).toBe(127);
    expect(result.stderr).toContain('cannot run /nonexistent/pg_dump');
  });

  it('stops a program that runs past its timeout', async () => {
    const started = Date.now();
    const result = await runner.run('/bin/sleep', ['10'], { timeoutMs: 200 });
    expect(result.timedOut).toBe(true);
    expect(result.code).toBe(128 + 15);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('stops a program when its abort signal fires (a cancelled job), and one started already aborted', async () => {
    const controller = new AbortController();
    const running = runner.run('/bin/sleep', ['30'], { signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    expect((await running).code).toBe(128 + 15);
    expect((await runner.run('/bin/sleep', ['30'], { signal: controller.signal })).code).toBe(128 + 15);
  });
});
