import { describe, expect, it } from '@jest/globals';
import { parseRateLimit } from '../../src/config/rate-limit.js';
import { parseSettings } from '../../src/config/settings.js';
import { effectiveRole, nextAllowedAt } from '../../src/guard/policy.js';

const URL_ = 'postgres://u:p@localhost:5432/db';
const settings = (extra: Record<string, string>) => parseSettings({ 'database-url': URL_, ...extra });
const problem = (extra: Record<string, string>) => {
  try {
    settings(extra);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected the inputs to be refused');
};

describe('rate-limit', () => {
  it.each([
    ['1/10m', { count: 1, windowMs: 600_000, text: '1/10m' }],
    ['3/1h', { count: 3, windowMs: 3_600_000, text: '3/1h' }],
    [' 10 / 1d ', { count: 10, windowMs: 86_400_000, text: '10/1d' }],
    ['30s', { count: 1, windowMs: 30_000, text: '1/30s' }],
  ])('reads %j', (text, limit) => {
    expect(parseRateLimit(text)).toEqual({ ok: true, limit });
  });

  it.each(['0', 'off', '0/10m'])('reads %j as no limit', (text) => {
    expect(parseRateLimit(text)).toEqual({ ok: true, limit: undefined });
  });

  it('defaults to one manual apply/rollback per 10 minutes', () => {
    expect(settings({}).rateLimit).toEqual({ count: 1, windowMs: 600_000, text: '1/10m' });
    expect(settings({ 'rate-limit': '0' }).rateLimit).toBeUndefined();
  });

  it.each([
    ['1/10', 'is not a rate limit: use COUNT/WINDOW'],
    ['one per hour', 'is not a rate limit'],
    ['1/0m', 'the window must be longer than 0'],
    ['1/31d', 'at most 30d'],
    ['5000/1h', 'at most 1000 runs per window'],
    ['-1/10m', 'is not a rate limit'],
  ])('refuses %j naming the input and the format', (text, message) => {
    const text_ = problem({ 'rate-limit': text });
    expect(text_).toContain('rate-limit: ');
    expect(text_).toContain(message);
    expect(text_).toContain('e.g. 1/10m');
  });
});

describe('allowed-roles, notify-on, notify-webhook-url', () => {
  it('defaults to admin,maintain and failed,rolled-back; lists are trimmed and lower-cased', () => {
    const s = settings({});
    expect(s.allowedRoles).toEqual(['admin', 'maintain']);
    expect(s.notifyOn).toEqual(['failed', 'rolled-back']);
    expect(settings({ 'allowed-roles': ' Admin , maintain,Release Manager' }).allowedRoles).toEqual([
      'admin',
      'maintain',
      'release manager',
    ]);
    expect(settings({ 'notify-on': 'success, refused,cancelled,nothing-to-do' }).notifyOn).toEqual([
      'success',
      'refused',
      'cancelled',
      'nothing-to-do',
    ]);
  });

  it('refuses an unknown outcome, an empty role list, and a webhook URL that is not http(s) without quoting it', () => {
    expect(problem({ 'notify-on': 'failed,exploded' })).toContain(
      'notify-on: "exploded" is not accepted: use a comma-separated list of failed, rolled-back, success, refused, cancelled, nothing-to-do',
    );
    expect(problem({ 'allowed-roles': ',' })).toContain('allowed-roles: must be a comma-separated list');
    const secret = 'ftp://hooks.example.com/T0/B0/s3cr3tT0ken';
    const message = problem({ 'notify-webhook-url': secret });
    expect(message).toContain('notify-webhook-url: is not an http(s) URL');
    expect(message).not.toContain('s3cr3tT0ken');
  });
});

describe('guard policy', () => {
  it('compares the role name when GitHub gives one, else the permission', () => {
    expect(effectiveRole({ permission: 'write', roleName: 'maintain' })).toBe('maintain');
    expect(effectiveRole({ permission: 'admin' })).toBe('admin');
    expect(effectiveRole({ permission: 'write', roleName: '' })).toBe('write');
  });

  it('allows the next run when the count-th newest run leaves the window', () => {
    const now = new Date('2026-01-01T12:00:00Z');
    const limit = { count: 2, windowMs: 600_000, text: '2/10m' };
    const at = (m: number) => new Date(now.getTime() - m * 60_000);
    expect(nextAllowedAt([at(1)], limit, now)).toBeUndefined();
    expect(nextAllowedAt([at(1), at(4)], limit, now)?.toISOString()).toBe('2026-01-01T12:06:00.000Z');
    expect(nextAllowedAt([at(2)], { ...limit, count: 1 }, now)?.toISOString()).toBe(
      '2026-01-01T12:08:00.000Z',
    );
  });
});
