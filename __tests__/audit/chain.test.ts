import { describe, expect, it } from '@jest/globals';
import {
  canonicalEvent,
  chainEvents,
  chainHash,
  GENESIS_HASH,
  verifyChain,
  type AuditEvent,
} from '../../src/audit/chain.js';
import { auditCsv, buildAuditReport } from '../../src/audit/export.js';
import { dollarQuoted } from '../../src/audit/store.js';
import { parseSettings } from '../../src/config/settings.js';

function event(i: number, details: Record<string, unknown> | null = null): AuditEvent {
  return {
    at: `2026-03-0${(i % 9) + 1}T00:00:00.000Z`,
    runKey: `k${i}`,
    runId: i,
    event: 'run-ended',
    environment: 'prod',
    command: 'apply',
    outcome: 'success',
    version: null,
    durationMs: 10 * i,
    actor: 'a',
    triggeringActor: null,
    eventName: null,
    repository: null,
    ref: null,
    sha: null,
    prNumber: null,
    runUrl: null,
    osUser: null,
    host: null,
    reason: null,
    error: null,
    details,
  };
}

const stored = (n: number) =>
  chainEvents(
    GENESIS_HASH,
    Array.from({ length: n }, (_, i) => event(i)),
  ).map((e, i) => ({ ...e, id: i + 1 }));

describe('audit hash chain', () => {
  it('does not depend on the key order of details (jsonb reorders keys)', () => {
    const a = event(1, { b: 1, a: { d: [1, { z: 1, y: 2 }], c: 'x' } });
    const b = event(1, { a: { c: 'x', d: [1, { y: 2, z: 1 }] }, b: 1 });
    expect(canonicalEvent(a)).toBe(canonicalEvent(b));
    expect(chainHash(GENESIS_HASH, a)).toBe(chainHash(GENESIS_HASH, b));
    expect(chainHash(GENESIS_HASH, a)).not.toBe(chainHash(GENESIS_HASH, event(1, { b: 2 })));
  });

  it('keeps the text every existing chain was hashed with (pinned), and equals JSON.stringify of a key-sorted copy', () => {
    const pinned = {
      ...event(7, {
        z: [1, null, undefined, { b: 2, a: 'x' }],
        a: { y: undefined, x: true },
        file: 'm/1_a.sql',
      }),
      at: '2026-05-01T10:00:00.000Z',
      runKey: '6f1c1c0e-0000-4000-8000-000000000001',
      event: 'migration-applied',
      environment: 'production',
      outcome: null,
      version: '20260501000001',
      durationMs: 12,
      actor: 'octocat',
      triggeringActor: 'hubot',
      eventName: 'push',
      repository: 'acme/app',
      ref: 'refs/heads/main',
      sha: 'abc123',
      prNumber: 42,
      runUrl: 'https://github.com/acme/app/actions/runs/1',
      host: undefined as unknown as null,
      reason: 'straße 日本 😀',
      error: 'a "quoted" \\ back\nslash',
    } satisfies AuditEvent;
    // Computed by the first implementation (a sorted copy, then JSON.stringify); rows in
    // production databases carry hashes made this way, so this text can never change.
    expect(chainHash(GENESIS_HASH, pinned)).toBe(
      '03cfe8898466b6b95639149f7f3295fbe8454a3e5ef41dae3ed90c9c68ce779a',
    );
    // The same, over values of every kind JSON has (and some it has not).
    const sortedCopy = (value: unknown): unknown => {
      if (Array.isArray(value)) return value.map(sortedCopy);
      if (value && typeof value === 'object')
        return Object.fromEntries(
          Object.keys(value)
            .sort()
            .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
            .map((k) => [k, sortedCopy((value as Record<string, unknown>)[k])]),
        );
      return value;
    };
    const values: unknown[] = [
      null,
      0,
      -0,
      1.5e300,
      Number.NaN,
      Infinity,
      true,
      '',
      'line\nbreak "quote" \\ \u0000 \u2028 😀',
      [],
      {},
      [undefined, () => 1, Symbol('s'), null, [[]], { b: undefined }],
      {
        '': 1,
        é: 2,
        e: 3,
        E: 4,
        '10': 5,
        '9': 6,
        '01': 7,
        '4294967295': 8,
        '-1': 9,
        f: () => 1,
        s: Symbol('s'),
        u: undefined,
        n: null,
      },
      { deep: { list: [{ z: 1, a: [{ y: 2, x: 1 }] }] } },
      new Date(0),
      () => 1,
      // Already in order (written as they are), and nearly so.
      { a: 1, b: [1, { c: 2, d: null }], file: 'x', name: 'y' },
      { a: 1, b: { c: 2, at: new Date(0) } },
      { a: 1, b: [{ d: 1, c: 2 }] },
      { a: 1, b: undefined, c: 2 },
      Object.assign(Object.create(null) as object, { a: 1, b: 2 }),
      { a: 1, '1': 2 },
    ];
    for (const details of values) {
      const e = { ...event(1), details: details as AuditEvent['details'] };
      const reference = JSON.stringify(
        (Object.keys(e) as Array<keyof AuditEvent>).map((k) => sortedCopy(e[k] ?? null)),
      );
      expect(canonicalEvent(e)).toBe(reference);
    }
  });

  it('covers the previous hash, so the same row after another row hashes differently', () => {
    expect(chainHash(GENESIS_HASH, event(1))).not.toBe(chainHash('f'.repeat(64), event(1)));
  });

  it('accepts an intact chain and names the first row that was changed, removed or reordered', () => {
    expect(verifyChain(stored(5))).toBeUndefined();

    const edited = stored(5);
    edited[2] = { ...edited[2], actor: 'mallory' };
    expect(verifyChain(edited)).toMatchObject({
      id: 3,
      problem: expect.stringMatching(/changed after it was written/),
    });

    const removed = stored(5).filter((r) => r.id !== 3);
    expect(verifyChain(removed)).toMatchObject({
      id: 4,
      problem: expect.stringMatching(/does not follow row 2/),
    });

    expect(verifyChain(stored(5).slice(1))).toMatchObject({
      id: 2,
      problem: expect.stringMatching(/first row/),
    });

    const swapped = stored(5);
    [swapped[1], swapped[2]] = [swapped[2], swapped[1]];
    expect(verifyChain(swapped)).toMatchObject({ id: 3 });
  });
});

describe('audit CSV export', () => {
  it('quotes separators and defuses spreadsheet formulas', () => {
    const rows = chainEvents(GENESIS_HASH, [{ ...event(1), error: '=HYPERLINK("x"), "quoted"\nnext' }]).map(
      (e) => ({ ...e, id: 1 }),
    );
    const csv = auditCsv(buildAuditReport(rows, {}, { rows: 1, valid: true }));
    const line = csv.split('\r\n')[1];
    expect(line).toContain(`"'=HYPERLINK(""x""), ""quoted""\nnext"`);
  });
});

describe('audit range inputs', () => {
  const base = { 'database-url': 'postgres://u:p@localhost/db', command: 'audit' };
  it('reads ISO dates and spans back from now, and refuses anything else naming the input', () => {
    const settings = parseSettings({ ...base, since: '2026-01-10', until: '2026-01-20T12:00:00Z' });
    expect(settings.since?.toISOString()).toBe('2026-01-10T00:00:00.000Z');
    expect(settings.until?.toISOString()).toBe('2026-01-20T12:00:00.000Z');
    const span = parseSettings({ ...base, since: '7d' }).since!;
    expect(Math.abs(Date.now() - 7 * 86_400_000 - span.getTime())).toBeLessThan(60_000);
    expect(() => parseSettings({ ...base, since: 'last tuesday' })).toThrow(
      /since: must be a date or time in ISO 8601/,
    );
  });
});

describe('the audit rows literal', () => {
  it('is dollar-quoted with a tag the text does not hold', () => {
    expect(dollarQuoted('[{"a":1}]')).toBe('$mg_rows$[{"a":1}]$mg_rows$');
    expect(dollarQuoted('x $mg_rows$ y')).toBe('$mg_rows_1$x $mg_rows$ y$mg_rows_1$');
    expect(dollarQuoted('$mg_rows$ $mg_rows_1$')).toBe('$mg_rows_2$$mg_rows$ $mg_rows_1$$mg_rows_2$');
  });
});
