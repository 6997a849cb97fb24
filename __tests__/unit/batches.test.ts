import { describe, expect, it } from '@jest/globals';
import {
  batchesOf,
  CLOCK,
  CLOCK_SQL,
  durationsOf,
  GUARD,
  FILE_MESSAGE_BYTES,
  locateFailure,
  type Batch,
} from '../../src/engine/batches.js';
import { prepareMigrations } from '../../src/engine/prepare.js';
import { stepsOfAtomicFile, type Step } from '../../src/engine/units.js';
import { migrationOf } from '../helpers/migrations.js';

async function stepsOf(files: string[]): Promise<Step[]> {
  const prepared = await prepareMigrations(files.map((sql, i) => migrationOf(String(i + 1), sql)));
  return prepared.flatMap(stepsOfAtomicFile);
}

const statementBatches = (batches: Batch[]) =>
  batches.filter((b): b is Extract<Batch, { kind: 'statements' }> => b.kind === 'statements');

describe('batchesOf', () => {
  it('sends the statements of several files in one message, reading the clock between files, and passes their records on separately', async () => {
    const steps = await stepsOf(['select 1; select 2;', 'select 3;\nselect 4;', 'select 5;']);
    const batches = batchesOf(steps);
    const [message] = statementBatches(batches);
    expect(statementBatches(batches)).toHaveLength(1);
    const C = CLOCK_SQL;
    expect(message.sql).toBe(
      [C, 'select 1', 'select 2', C, 'select 3', 'select 4', C, 'select 5', C].join('\n;\n'),
    );
    expect(message.commands).toEqual([CLOCK, 0, 1, CLOCK, 2, 3, CLOCK, 4, CLOCK]);
    // Statement steps keep their place among the transaction's steps (records sit between files).
    expect(message.indices).toEqual([0, 1, 3, 4, 6]);
    expect(batches.filter((b) => b.kind === 'record').map((b) => b.first)).toEqual([2, 5, 7]);
  });

  it('cuts a file larger than a message into several (bounded memory for data files), each file timed across them', async () => {
    const row = `insert into t values ('${'x'.repeat(1000)}')`;
    const big = `${row};\n`.repeat(Math.ceil((2.5 * FILE_MESSAGE_BYTES) / (row.length + 2)));
    const steps = await stepsOf(['select 1;', big, 'select 2;']);
    const messages = statementBatches(batchesOf(steps));
    // 1 MB, 1 MB, the last 0.5 MB (cut at the file's end, as any message over 32 KB), then 'select 2'.
    expect(messages.length).toBe(4);
    for (const m of messages) expect(m.sql.length).toBeLessThan(FILE_MESSAGE_BYTES + 2 * row.length);
    // Every statement is sent once, in order.
    const sent = messages.flatMap((m) =>
      m.commands.filter((c) => c !== CLOCK).map((c) => m.steps[c].statement.sql),
    );
    expect(sent).toEqual(steps.flatMap((s) => (s.kind === 'statement' ? [s.statement.sql] : [])));
    const durations = new Map<string, number>();
    for (const m of messages) {
      const rows = m.commands.map((c, i) => (c === CLOCK ? { clock_ms: 1000 + i } : undefined));
      for (const [v, ms] of durationsOf(m, { completed: m.commands.length, rows }))
        durations.set(v, (durations.get(v) ?? 0) + ms);
    }
    expect([...durations.keys()].sort()).toEqual(['1', '2', '3']);
  });

  it('gives each file the time between the clock readings around its statements, as far as the message got', async () => {
    const steps = await stepsOf(['select 1; select 2;', '', 'select 3;', 'select 4;']);
    const [message] = statementBatches(batchesOf(steps));
    expect(message.commands).toEqual([CLOCK, 0, 1, CLOCK, 2, CLOCK, 3, CLOCK]); // the empty file adds no reading
    const rows = message.commands.map((c, i) => (c === CLOCK ? { clock_ms: 1000 + i * 10 } : undefined));
    const all = durationsOf(message, { completed: message.commands.length, rows });
    expect(Object.fromEntries(all)).toEqual({ '1': 30, '3': 20, '4': 20 });
    // Failed at 'select 4' (command 6): the readings up to then still count.
    expect(Object.fromEntries(durationsOf(message, { completed: 6, rows }))).toEqual({ '1': 30, '3': 20 });
  });

  it('leaves the clock out when asked (the rehearsal measures nothing), and still locates failures', async () => {
    const steps = await stepsOf(['select 1; select 2;', 'select nosuch;']);
    const [message] = statementBatches(batchesOf(steps, { clock: false }));
    expect(message.sql).toBe('select 1\n;\nselect 2\n;\nselect nosuch');
    expect(message.commands).toEqual([0, 1, 2]);
    const located = locateFailure(
      message,
      Object.assign(new Error('x'), { reply: { completed: 2, rows: [] } }),
    );
    expect(located.step.statement.sql).toBe('select nosuch');
  });

  it('starts a new message after the file that fills one, never inside a file', async () => {
    const big = `select '${'x'.repeat(10_000)}';`;
    const steps = await stepsOf([big, `${big} ${big}`, big, 'select 1;', big]);
    const messages = statementBatches(batchesOf(steps));
    expect(messages.length).toBeGreaterThan(1);
    const filesOf = (b: (typeof messages)[number]) => [
      ...new Set(b.steps.map((s) => s.migration.migration.version)),
    ];
    const files = messages.map(filesOf);
    expect(files.flat()).toEqual(['1', '2', '3', '4', '5']); // each file in exactly one message, in order
    for (const b of messages) expect(b.sql.length).toBeLessThan(64 * 1024);
  });

  it('locates a failure in a message spanning files by commands completed and by position', async () => {
    const steps = await stepsOf(['select 1;', 'select 2;\nselect nosuch;', 'select 4;']);
    const [message] = statementBatches(batchesOf(steps));
    // Commands: clock, select 1, clock, select 2, select nosuch, …: four completed before the error.
    const failed = (extra: object) =>
      Object.assign(new Error('x'), { reply: { completed: 4, rows: [] } }, extra);
    const byCount = locateFailure(message, failed({}));
    expect(byCount.step.statement.sql).toBe('select nosuch');
    expect(byCount.step.migration.migration.version).toBe('2');
    expect(byCount.index).toBe(3); // steps: 1:select 1, 1:record, 2:select 2, 2:select nosuch, …
    const offset = message.sql.indexOf('nosuch') + 1; // PostgreSQL positions count from 1
    const byPosition = locateFailure(message, failed({ position: String(offset) }));
    expect(byPosition.step.statement.sql).toBe('select nosuch');
    expect(byPosition.positionInStatement).toBe('select '.length + 1);
    // A failure while the clock was read (a cancellation) is put on the statement before it.
    const atClock = locateFailure(
      message,
      Object.assign(new Error('x'), { reply: { completed: 2, rows: [] } }),
    );
    expect(atClock.step.statement.sql).toBe('select 1');
  });

  it('with the engine timeouts: sets them again at each clock reading and right after a statement that can change them', async () => {
    const steps = await stepsOf(['select 1;\nSET lock_timeout = 0;\nselect 2;', 'select 3;']);
    const [message] = statementBatches(batchesOf(steps, { timeouts: { lockTimeoutMs: 1500 } }));
    const local = "set_config('lock_timeout', '1500ms', true), set_config('statement_timeout', '0ms', true)";
    const C = `SELECT ${local}, extract(epoch FROM clock_timestamp()) * 1000 AS clock_ms`;
    const G = ['RESET lock_timeout', 'RESET statement_timeout', `SELECT ${local}`];
    expect(message.texts).toEqual([
      C,
      'select 1',
      'SET lock_timeout = 0',
      ...G,
      'select 2',
      C,
      'select 3',
      C,
    ]);
    expect(message.commands).toEqual([CLOCK, 0, 1, GUARD, GUARD, GUARD, 2, CLOCK, 3, CLOCK]);
    expect(message.sql).toBe(message.texts.join('\n;\n'));
    // The extra commands change neither the durations nor where a failure is put.
    const rows = message.commands.map((c, i) => (c === CLOCK ? { clock_ms: 1000 + i * 10 } : undefined));
    const all = durationsOf(message, { completed: message.commands.length, rows });
    expect(Object.fromEntries(all)).toEqual({ '1': 70, '2': 20 });
    const failedAt = (completed: number, extra: object = {}) =>
      locateFailure(message, Object.assign(new Error('x'), { reply: { completed, rows: [] } }, extra));
    expect(failedAt(4).step.statement.sql).toBe('SET lock_timeout = 0'); // during RESET statement_timeout
    expect(failedAt(6).step.statement.sql).toBe('select 2');
    const offset = message.sql.indexOf('select 2') + 'select '.length + 1;
    expect(failedAt(6, { position: String(offset) }).positionInStatement).toBe('select '.length + 1);
    // Without a statement that can change them, no command is added: only the readings differ.
    const [plain] = statementBatches(
      batchesOf(await stepsOf(['select 1;', 'select 2;']), { timeouts: { lockTimeoutMs: 1500 } }),
    );
    expect(plain.commands).toEqual([CLOCK, 0, CLOCK, 1, CLOCK]);
  });
});
