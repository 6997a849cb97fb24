import { describe, expect, it } from '@jest/globals';
import { chainFrom, locateChainFailure, type ChainText } from '../../src/engine/chain.js';
import { prepareMigrations } from '../../src/engine/prepare.js';
import { buildExecutionPlan, type Unit } from '../../src/engine/units.js';
import { migrationOf } from '../helpers/migrations.js';

async function perFileUnits(files: string[]): Promise<Unit[]> {
  const prepared = await prepareMigrations(files.map((sql, i) => migrationOf(String(i + 1), sql)));
  return buildExecutionPlan(prepared, 'per-file').units;
}

const text = (overrides: Partial<ChainText> = {}): ChainText => ({
  open: (index) => [`OPEN ${index}`],
  record: (ordinal) => `RECORD ${ordinal}`,
  firstOrdinal: 7,
  ...overrides,
});

describe('chainFrom', () => {
  it('sends consecutive per-file transactions as one message, each with its settings, history row and commit', async () => {
    const units = await perFileUnits(['select 1; select 2;', 'select 3;', 'select 4;']);
    const chain = chainFrom(units, 0, text({ prelude: ['CREATE PRELUDE'] }));
    expect([chain.first, chain.end]).toEqual([0, 3]);
    expect(chain.commands.map((c) => c.sql)).toEqual([
      'BEGIN',
      'OPEN 0',
      'CREATE PRELUDE', // only in the first transaction
      'select 1',
      'select 2',
      'RECORD 7',
      'COMMIT',
      'BEGIN',
      'OPEN 1',
      'select 3',
      'RECORD 8',
      'COMMIT',
      'BEGIN',
      'OPEN 2',
      'select 4',
      'RECORD 9',
      'COMMIT',
    ]);
    expect(chain.sql).toBe(chain.commands.map((c) => c.sql).join('\n;\n'));
    expect(chain.records.map((r) => [r.ordinal, r.step.migration.migration.version])).toEqual([
      [7, '1'],
      [8, '2'],
      [9, '3'],
    ]);
    expect(chain.commands.filter((c) => c.commit).map((c) => c.unit)).toEqual([0, 1, 2]);
  });

  it('stops at a statement that must run outside a transaction, and starts where it is asked to', async () => {
    const units = await perFileUnits([
      'select 1;',
      'select 2;\ncreate index concurrently i on t (c);\nselect 3;',
      'select 4;',
    ]);
    expect(units.map((u) => u.kind)).toEqual([
      'transaction',
      'transaction',
      'autocommit',
      'transaction',
      'transaction',
    ]);
    const first = chainFrom(units, 0, text());
    expect([first.first, first.end]).toEqual([0, 2]);
    expect(first.records).toHaveLength(1); // file 2's row belongs to its last transaction
    const after = chainFrom(units, 3, text());
    expect([after.first, after.end]).toEqual([3, 5]);
    expect(after.commands.filter((c) => c.step).map((c) => c.sql)).toEqual([
      'select 3',
      'RECORD 7',
      'select 4',
      'RECORD 8',
    ]);
  });

  it('ends a message after the transaction that fills 32 KB of statements, never inside one', async () => {
    const big = `select '${'x'.repeat(20_000)}';`;
    const units = await perFileUnits([`${big} ${big} ${big}`, big, big, 'select 1;']);
    const cuts: Array<[number, number]> = [];
    for (let at = 0; at < units.length;) {
      const chain = chainFrom(units, at, text());
      cuts.push([chain.first, chain.end]);
      at = chain.end;
    }
    expect(cuts).toEqual([
      [0, 1], // one transaction bigger than a message still goes, whole and alone
      [1, 3],
      [3, 4],
    ]);
  });
});

describe('locateChainFailure', () => {
  it('counts the transactions whose COMMIT completed and finds the failing command', async () => {
    const units = await perFileUnits(['select 1;', 'select 2;\nselect nosuch;', 'select 4;']);
    const chain = chainFrom(units, 0, text());
    const failing = chain.commands.findIndex((c) => c.sql === 'select nosuch');
    const located = locateChainFailure(chain, failing);
    expect(located.committed).toBe(1);
    expect(located.command.sql).toBe('select nosuch');
    expect(located.command.unit).toBe(1);
    expect(located.command.stepIndex).toBe(1);
  });

  it("turns the server's position in the whole message into a position in the failing command", async () => {
    const units = await perFileUnits(['select 1;', "select 'ünïcödé 🎉', nosuch;"]);
    const chain = chainFrom(units, 0, text());
    const failing = chain.commands.findIndex((c) => c.sql.includes('nosuch'));
    // PostgreSQL counts characters (code points) from 1.
    const position = Array.from(chain.sql.slice(0, chain.sql.indexOf('nosuch'))).length + 1;
    const located = locateChainFailure(chain, failing, position);
    expect(located.positionInCommand).toBe(Array.from("select 'ünïcödé 🎉', ").length + 1);
    // A position that does not fall inside the failing command is not trusted.
    expect(locateChainFailure(chain, failing, 3).positionInCommand).toBeUndefined();
  });

  it('blames a failed COMMIT on its own transaction, not the next one', async () => {
    const units = await perFileUnits(['select 1;', 'select 2;']);
    const chain = chainFrom(units, 0, text());
    const commits = chain.commands.flatMap((c, i) => (c.commit ? [i] : []));
    const located = locateChainFailure(chain, commits[1]);
    expect(located.committed).toBe(1);
    expect(located.command.commit).toBe(true);
    expect(located.command.unit).toBe(1);
    // A count past the end (the connection dropped after the last reply) is clamped to the last command.
    expect(locateChainFailure(chain, chain.commands.length).committed).toBe(1);
  });

  it('sets the timeouts again right after a statement that can change them, blaming a failure there on that statement', async () => {
    const units = await perFileUnits(['SET lock_timeout = 0;\nselect 1;', 'select 2;']);
    const chain = chainFrom(units, 0, text({ reassert: ['RESET A', 'SET B'] }));
    expect(chain.commands.map((c) => c.sql)).toEqual([
      'BEGIN',
      'OPEN 0',
      'SET lock_timeout = 0',
      'RESET A',
      'SET B',
      'select 1',
      'RECORD 7',
      'COMMIT',
      'BEGIN',
      'OPEN 1',
      'select 2',
      'RECORD 8',
      'COMMIT',
    ]);
    const failed = locateChainFailure(chain, 4);
    expect(failed.command).toMatchObject({ sql: 'SET B', stepIndex: 0 });
    expect(failed.command.step).toBeUndefined(); // no position inside it is reported
    expect(failed.committed).toBe(0);
  });

  it('ends before a transaction that must be sent on its own', async () => {
    const units = await perFileUnits(['select 1;', 'RESET ALL;', 'select 3;']);
    const alone = (unit: Unit) => unit === units[1];
    expect([chainFrom(units, 0, text({ alone })).end]).toEqual([1]);
    expect([chainFrom(units, 1, text({ alone })).end]).toEqual([3]); // unless it starts there
  });
});

describe('travelsAlone', () => {
  it('sends a transaction larger than a message, or one with RESET ALL, on its own; others chain', async () => {
    const { travelsAlone } = await import('../../src/engine/execute/run-chain.js');
    const { FILE_MESSAGE_BYTES } = await import('../../src/engine/batches.js');
    const row = `insert into t values ('${'x'.repeat(1000)}');\n`;
    const big = row.repeat(Math.ceil((2 * FILE_MESSAGE_BYTES) / row.length));
    const units = await perFileUnits(['select 1;', big, 'reset all;', row.repeat(10)]);
    expect(units.map(travelsAlone)).toEqual([false, true, true, false]);
    // The chain starting before the large file stops in front of it.
    const chain = chainFrom(units, 0, text({ alone: travelsAlone }));
    expect([chain.first, chain.end]).toEqual([0, 1]);
  });
});
