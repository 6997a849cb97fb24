import { describe, expect, it } from '@jest/globals';
import { PlanNeededError } from '../../src/engine/execute.js';
import { StreamedRun, streamable } from '../../src/engine/stream.js';
import { GuardError } from '../../src/errors.js';
import { loadParser } from '../../src/migrations/parser.js';
import { migrationOf } from '../helpers/migrations.js';

const plain = (count: number) =>
  Array.from({ length: count }, (_, i) => migrationOf(String(i + 1), `create table t${i + 1} (id int);`));

describe('StreamedRun', () => {
  it('parses a file when its turn comes, and a message ahead while the server works', async () => {
    const run = new StreamedRun(plain(100), await loadParser());
    const steps = run.steps();
    expect(steps.next().value).toMatchObject({
      kind: 'statement',
      statement: { sql: 'create table t1 (id int)' },
    });
    expect(run.parsed()).toHaveLength(1);
    run.whileWaiting();
    expect(run.parsed()).toHaveLength(65); // the file handed out plus 64 ahead
  });

  it('raises a parse error when its file comes up, after the earlier files, and never reports all parsed', async () => {
    let allParsed = 0;
    const pending = [...plain(2), migrationOf('3', 'create tabel oops (id int);')];
    const run = new StreamedRun(pending, await loadParser(), () => allParsed++);
    const versions: string[] = [];
    const produce = () => {
      for (const step of run.steps()) {
        versions.push(step.migration.migration.version);
        run.whileWaiting(); // parses file 3 early: its error must wait for its turn
      }
    };
    expect(produce).toThrow(GuardError);
    expect(versions).toEqual(['1', '1', '2', '2']); // statement and record of files 1 and 2
    expect(allParsed).toBe(0);
  });

  it('says once that every file has parsed, however often the steps are produced again', async () => {
    let allParsed = 0;
    const run = new StreamedRun(plain(3), await loadParser(), () => allParsed++);
    expect([...run.steps()]).toHaveLength(6);
    expect([...run.steps()]).toHaveLength(6); // a lock-timeout retry starts over
    expect(allParsed).toBe(1);
    expect(run.produced()).toHaveLength(6);
  });

  it('stops with PlanNeededError at a file that needs a transaction of its own', async () => {
    const pending = [...plain(1), migrationOf('2', 'create index concurrently i on t1 (id);')];
    expect(streamable(pending)).toBe(false);
    const run = new StreamedRun(pending, await loadParser());
    expect(() => [...run.steps()]).toThrow(PlanNeededError);
    expect(streamable(plain(2))).toBe(true);
  });
});
