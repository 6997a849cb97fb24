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
