import { describe, expect, it } from '@jest/globals';
import type { ChecksumRow } from '../../src/db/guard-store.js';
import type { HistoryRow } from '../../src/db/history.js';
import { buildPlan } from '../../src/engine/plan.js';
import type { Migration, MigrationSet, SkippedFile } from '../../src/migrations/discover.js';
import { SourceText } from '../../src/migrations/source-text.js';

const DIR = 'supabase/migrations';

function migration(version: string, name: string, checksum = `sum-${version}`): Migration {
  const fileName = `${version}_${name}.sql`;
  const path = `${DIR}/${fileName}`;
  const source = new SourceText('select 1;');
  return {
    version,
    name,
    fileName,
    path,
    checksum,
    up: { path, source, start: 0, end: source.bytes.length },
  };
}

function set(migrations: Migration[], skipped: SkippedFile[] = []): MigrationSet {
  return { dir: DIR, migrations, skipped };
}

function checksums(...rows: Array<Partial<ChecksumRow> & { version: string }>): Map<string, ChecksumRow> {
  return new Map(
    rows.map((row) => [
      row.version,
      {
        checksum: `sum-${row.version}`,
        appliedAt: '2024-05-01T10:00:00.000Z',
        appliedBy: 'octocat',
        method: 'applied',
        ...row,
      } as ChecksumRow,
    ]),
  );
}

const history = (...versions: Array<[string, string | null]>): HistoryRow[] =>
  versions.map(([version, name]) => ({ version, name }));

const STRICT = { allowOutOfOrder: false };

describe('buildPlan', () => {
  it('lists every file as pending on a fresh database', () => {
    const files = [migration('2', 'b'), migration('10', 'c')];
    const plan = buildPlan(set(files), [], new Map(), STRICT);
    expect(plan.pending).toEqual(files);
    expect(plan.rows).toEqual([
      { version: '2', name: 'b', file: `${DIR}/2_b.sql`, state: 'pending' },
      { version: '10', name: 'c', file: `${DIR}/10_c.sql`, state: 'pending' },
    ]);
    expect(plan.findings).toEqual([]);
    expect(plan.currentVersion).toBeUndefined();
  });

  it('marks applied files with a matching checksum ok, with when and by whom', () => {
    const plan = buildPlan(
      set([migration('1', 'a'), migration('2', 'b')]),
      history(['1', 'a']),
      checksums({ version: '1' }),
      STRICT,
    );
    expect(plan.rows).toEqual([
      {
        version: '1',
        name: 'a',
        file: `${DIR}/1_a.sql`,
        state: 'applied',
        appliedAt: '2024-05-01T10:00:00.000Z',
        appliedBy: 'octocat',
        checksum: 'ok',
      },
      { version: '2', name: 'b', file: `${DIR}/2_b.sql`, state: 'pending' },
    ]);
    expect(plan.pending.map((m) => m.version)).toEqual(['2']);
    expect(plan.findings).toEqual([]);
    expect(plan.currentVersion).toBe('1');
  });

  it('reports an applied file whose checksum changed as drift, an error naming the file', () => {
    const plan = buildPlan(
      set([migration('1', 'a', 'edited')]),
      history(['1', 'a']),
      checksums({ version: '1' }),
      STRICT,
    );
    expect(plan.rows[0]).toMatchObject({ version: '1', state: 'applied', checksum: 'changed' });
    expect(plan.findings).toEqual([
      {
        code: 'drift',
        severity: 'error',
        version: '1',
        file: `${DIR}/1_a.sql`,
        message: expect.stringContaining(`${DIR}/1_a.sql was changed after it was applied`),
      },
    ]);
    expect(plan.pending).toEqual([]);
  });

  it('marks an applied file without a recorded checksum (applied by another tool) as unverified, not drift', () => {
    const plan = buildPlan(set([migration('1', 'a')]), history(['1', 'a']), new Map(), STRICT);
    expect(plan.rows).toEqual([
      {
        version: '1',
        name: 'a',
        file: `${DIR}/1_a.sql`,
        state: 'applied',
        appliedAt: undefined,
        appliedBy: 'another tool (no checksum recorded)',
        checksum: 'unverified',
      },
    ]);
    expect(plan.findings).toEqual([]);
  });

  it('leaves appliedBy empty when the checksum row has no actor', () => {
    const plan = buildPlan(
      set([migration('1', 'a')]),
      history(['1', 'a']),
      checksums({ version: '1', appliedBy: null }),
      STRICT,
    );
    expect(plan.rows[0].appliedBy).toBeUndefined();
    expect(plan.rows[0].checksum).toBe('ok');
  });

  it('reports an applied version without a file as missing locally, an error naming the version and folder', () => {
    const plan = buildPlan(
      set([migration('1', 'a'), migration('3', 'c')]),
      history(['1', 'a'], ['2', 'b']),
      checksums({ version: '1' }, { version: '2' }),
      STRICT,
    );
    expect(plan.rows.map((r) => [r.version, r.state])).toEqual([
      ['1', 'applied'],
      ['2', 'missing-locally'],
      ['3', 'pending'],
    ]);
    expect(plan.rows[1]).toEqual({ version: '2', name: 'b', state: 'missing-locally', checksum: undefined });
    expect(plan.findings).toEqual([
      {
        code: 'missing-locally',
        severity: 'error',
        version: '2',
        message: expect.stringMatching(
          /^version 2 \(b\) is applied on the database but has no file in supabase\/migrations/,
        ),
      },
    ]);
    expect(plan.currentVersion).toBe('2');
  });

  it('names a missing version without a name in history by its version alone', () => {
    const plan = buildPlan(set([]), history(['7', null]), new Map(), STRICT);
    expect(plan.rows).toEqual([{ version: '7', name: '', state: 'missing-locally', checksum: undefined }]);
    expect(plan.findings[0].message).toMatch(/^version 7 is applied/);
  });

  // A row written by hand or by another tool: it once crashed every command (BigInt conversion).
  it.each([[''], ['abc'], ['2024-01-01'], [' 3']])(
    'reports the history version %p as invalid, orders it after the numeric ones and never counts it as current',
    (bad) => {
      const plan = buildPlan(
        set([migration('1', 'a'), migration('2', 'b')]),
        history([bad, 'hand made'], ['1', 'a']),
        checksums({ version: '1' }),
        STRICT,
      );
      expect(plan.rows.map((r) => [r.version, r.state])).toEqual([
        ['1', 'applied'],
        ['2', 'pending'],
        [bad, 'missing-locally'],
      ]);
      expect(plan.pending.map((m) => m.version)).toEqual(['2']);
      expect(plan.currentVersion).toBe('1');
      // Not older than an invalid version: no out-of-order finding for file 2.
      expect(plan.findings).toEqual([
        {
          code: 'invalid-version',
          severity: 'error',
          version: bad,
          message:
            `supabase_migrations.schema_migrations has a row with ${bad === '' ? 'an empty version' : `version ${JSON.stringify(bad)}`} (name "hand made"), ` +
            'which is not a migration version (digits only, the start of a file name): no file can match it, ' +
            'it was written by hand or by another tool. Check what it records, then delete it deliberately ' +
            `(DELETE FROM supabase_migrations.schema_migrations WHERE version = '${bad}')`,
        },
      ]);
    },
  );

  it('quotes an invalid version holding a quote in the DELETE it suggests', () => {
    const plan = buildPlan(set([]), history(["it's", null]), new Map(), STRICT);
    expect(plan.findings[0].message).toContain(`version "it's", which`);
    expect(plan.findings[0].message).toContain(`WHERE version = 'it''s')`);
    expect(plan.currentVersion).toBeUndefined();
  });

  it('refuses a pending file older than the newest applied version, naming the file', () => {
    const plan = buildPlan(
      set([migration('1', 'a'), migration('2', 'late'), migration('3', 'c')]),
      history(['1', 'a'], ['3', 'c']),
      checksums({ version: '1' }, { version: '3' }),
      STRICT,
    );
    expect(plan.pending.map((m) => m.version)).toEqual(['2']);
    expect(plan.findings).toEqual([
      {
        code: 'out-of-order',
        severity: 'error',
        version: '2',
        file: `${DIR}/2_late.sql`,
        message: expect.stringContaining('older than the newest applied version 3'),
      },
    ]);
    expect(plan.findings[0].message).toMatch(/allow-out-of-order: true/);
  });

  it('only warns about an out-of-order file when allow-out-of-order is set', () => {
    const plan = buildPlan(
      set([migration('2', 'late'), migration('3', 'c')]),
      history(['3', 'c']),
      checksums({ version: '3' }),
      { allowOutOfOrder: true },
    );
    expect(plan.findings).toEqual([
      {
        code: 'out-of-order',
        severity: 'warning',
        version: '2',
        file: `${DIR}/2_late.sql`,
        message: expect.stringContaining('(allowed by allow-out-of-order)'),
      },
    ]);
    expect(plan.pending.map((m) => m.version)).toEqual(['2']);
  });

  it('compares versions numerically when deciding what is out of order', () => {
    const plan = buildPlan(
      set([migration('9', 'a'), migration('10', 'b')]),
      history(['9', 'a']),
      checksums({ version: '9' }),
      STRICT,
    );
    expect(plan.findings).toEqual([]);
    expect(plan.currentVersion).toBe('9');
    const later = buildPlan(
      set([migration('9', 'a'), migration('10', 'b')]),
      history(['10', 'b']),
      checksums({ version: '10' }),
      STRICT,
    );
    expect(later.findings.map((f) => [f.code, f.version])).toEqual([['out-of-order', '9']]);
    expect(later.currentVersion).toBe('10');
  });

  it('reports skipped files as warnings', () => {
    const plan = buildPlan(
      set(
        [migration('1', 'a')],
        [{ fileName: 'seed.sql', reason: 'name does not match <version>_<name>.sql' }],
      ),
      [],
      new Map(),
      STRICT,
    );
    expect(plan.findings).toEqual([
      {
        code: 'skipped-file',
        severity: 'warning',
        file: 'seed.sql',
        message: 'seed.sql skipped: name does not match <version>_<name>.sql',
      },
    ]);
  });

  it('takes the numerically newest applied version as the current version', () => {
    const plan = buildPlan(
      set([migration('9', 'a'), migration('10', 'b'), migration('100', 'c')]),
      history(['100', 'c'], ['9', 'a'], ['10', 'b']),
      checksums({ version: '9' }, { version: '10' }, { version: '100' }),
      STRICT,
    );
    expect(plan.currentVersion).toBe('100');
    expect(plan.pending).toEqual([]);
    expect(plan.rows.map((r) => r.checksum)).toEqual(['ok', 'ok', 'ok']);
  });
});

describe('buildPlan: files an earlier run left partly applied', () => {
  const partial = (version: string, checksum: string) =>
    new Map([
      [
        version,
        {
          version,
          name: 'b',
          checksum,
          statementsTotal: 3,
          statementsDone: 2,
          statements: ['create table b (id int)', 'create index concurrently b_id on b (id)'],
          outsideTransaction: [{ line: 2, statement: 'create index concurrently b_id on b (id)' }],
          runId: 7,
        },
      ],
    ]);

  it('keeps the file pending and shows what committed', () => {
    const plan = buildPlan(
      set([migration('1', 'a'), migration('2', 'b')]),
      [],
      new Map(),
      STRICT,
      partial('2', 'sum-2'),
    );
    expect(plan.pending.map((m) => m.version)).toEqual(['1', '2']);
    expect(plan.partial.get('2')?.statementsDone).toBe(2);
    expect(plan.findings).toEqual([]);
    expect(plan.rows[1]).toMatchObject({
      state: 'pending',
      partial: {
        statementsDone: 2,
        statementsTotal: 3,
        runId: 7,
        outsideTransaction: [2],
        description:
          'partially applied: statements 1-2 of 3 committed, 1 of them outside a transaction (line 2) by run 7, no history row; the next apply resumes at statement 3 if the file is unchanged',
      },
    });
  });

  it('refuses a partly applied file that changed since, with the way out', () => {
    const plan = buildPlan(set([migration('2', 'b')]), [], new Map(), STRICT, partial('2', 'other'));
    expect(plan.findings).toEqual([
      expect.objectContaining({
        code: 'drift',
        severity: 'error',
        version: '2',
        message: expect.stringMatching(
          /was partly applied by run 7 .* has changed since .* or undo those statements by hand and then run: DELETE FROM migration_guard\.partial_migrations WHERE version = '2'$/,
        ),
      }),
    ]);
  });

  it('flags a partly applied version with no file, and ignores the row of one applied since', () => {
    const gone = buildPlan(set([]), [], new Map(), STRICT, partial('2', 'sum-2'));
    expect(gone.findings).toEqual([expect.objectContaining({ code: 'missing-locally', version: '2' })]);
    // Pending, not missing-locally: rollback counts missing-locally rows as applied.
    expect(gone.rows).toEqual([expect.objectContaining({ version: '2', state: 'pending' })]);
    expect(gone.pending).toEqual([]);
    const done = buildPlan(
      set([migration('2', 'b')]),
      history(['2', 'b']),
      checksums({ version: '2' }),
      STRICT,
      partial('2', 'sum-2'),
    );
    expect(done.findings).toEqual([]);
    expect(done.partial.size).toBe(0);
    expect(done.rows).toEqual([expect.objectContaining({ state: 'applied' })]);
    expect(done.rows[0].partial).toBeUndefined();
  });
});
