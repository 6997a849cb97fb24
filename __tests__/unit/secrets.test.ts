import { describe, expect, it } from '@jest/globals';
import { cut, SecretScrubber } from '../../src/secrets.js';

const URL = 'postgres://app:Hunter2-Secret@db.example.com:5432/postgres';

describe('SecretScrubber', () => {
  it('replaces a registered password everywhere in a text', () => {
    const scrubber = new SecretScrubber();
    scrubber.add('Hunter2-Secret');
    expect(scrubber.scrub('password Hunter2-Secret and again Hunter2-Secret.')).toBe(
      'password *** and again ***.',
    );
  });

  it('replaces a whole URL at once, even when its password was registered first', () => {
    const scrubber = new SecretScrubber();
    scrubber.add('Hunter2-Secret');
    scrubber.add(URL);
    expect(scrubber.scrub(`could not connect to ${URL}: timeout`)).toBe('could not connect to ***: timeout');
  });

  it('still removes the password where it appears without the URL', () => {
    const scrubber = new SecretScrubber();
    scrubber.add(URL);
    scrubber.add('Hunter2-Secret');
    expect(scrubber.scrub(`url ${URL}, password "Hunter2-Secret"`)).toBe('url ***, password "***"');
  });

  it('also removes the decoded form of a URL-encoded secret', () => {
    const scrubber = new SecretScrubber();
    scrubber.add('p%40ss%2Fword');
    expect(scrubber.scrub('auth failed for p@ss/word')).toBe('auth failed for ***');
    expect(scrubber.scrub('url has p%40ss%2Fword')).toBe('url has ***');
  });

  it('also removes the URL-encoded form of a plain secret', () => {
    const scrubber = new SecretScrubber();
    scrubber.add('p@ss word');
    expect(scrubber.scrub('postgres://app:p%40ss%20word@host/db')).toBe('postgres://app:***@host/db');
    expect(scrubber.scrub('p@ss word')).toBe('***');
  });

  it('registers each secret with its encoded and decoded forms', () => {
    const scrubber = new SecretScrubber();
    scrubber.add('p%40ss');
    expect(scrubber.list().sort()).toEqual(['p%2540ss', 'p%40ss', 'p@ss'].sort());
  });

  it('accepts a secret that is not valid percent-encoding', () => {
    const scrubber = new SecretScrubber();
    scrubber.add('100%zz');
    expect(scrubber.scrub('x 100%zz y')).toBe('x *** y');
    expect(scrubber.scrub('x 100%25zz y')).toBe('x *** y');
  });

  it('ignores undefined, empty and very short secrets, which would mangle ordinary text', () => {
    const scrubber = new SecretScrubber();
    scrubber.add(undefined);
    scrubber.add('');
    scrubber.add('ab');
    expect(scrubber.list()).toEqual([]);
    expect(scrubber.scrub('about a table')).toBe('about a table');
  });

  it('can be passed around as a plain function', () => {
    const scrubber = new SecretScrubber();
    scrubber.add('Hunter2-Secret');
    expect(['a Hunter2-Secret', 'b'].map(scrubber.scrub)).toEqual(['a ***', 'b']);
  });

  it('deep-scrubs every string of a JSON value and leaves everything else as it was', () => {
    const scrubber = new SecretScrubber();
    scrubber.add(URL);
    scrubber.add('Hunter2-Secret');
    const value = {
      status: 'failed',
      count: 3,
      ok: false,
      nothing: null,
      message: `could not connect to ${URL}`,
      migrations: [{ error: { message: 'password Hunter2-Secret rejected', line: 4 } }, { error: null }],
      list: ['Hunter2-Secret', 'plain'],
    };
    expect(scrubber.scrubValue(value)).toEqual({
      status: 'failed',
      count: 3,
      ok: false,
      nothing: null,
      message: 'could not connect to ***',
      migrations: [{ error: { message: 'password *** rejected', line: 4 } }, { error: null }],
      list: ['***', 'plain'],
    });
    expect(value.message).toContain(URL);
  });

  it('scrubs a secret that needs escaping in JSON (quote, backslash, newline) deep inside a value', () => {
    const scrubber = new SecretScrubber();
    const secret = 'pa"ss\\wo\nrd';
    scrubber.add(secret);
    const value = { migrations: [{ name: 'a' }, { error: { message: `auth failed for ${secret}!` } }] };
    expect(scrubber.scrubValue(value)).toEqual({
      migrations: [{ name: 'a' }, { error: { message: 'auth failed for ***!' } }],
    });
    const clean = { migrations: [{ name: 'a' }], count: 1 };
    expect(scrubber.scrubValue(clean)).toEqual(clean);
  });

  it('excerpts by scrubbing first: a secret straddling the cut is replaced whole, no fragment left', () => {
    const scrubber = new SecretScrubber();
    scrubber.add('Hunter2-Secret');
    const text = `${'x'.repeat(10)}Hunter2-Secret${'y'.repeat(20)}`;
    expect(scrubber.excerpt(text, 15)).toBe(`${'x'.repeat(10)}***yy…`);
    expect(scrubber.excerpt(text, 15)).not.toContain('Hunt');
    // Cutting first would have left "Hunte", which no scrub recognises.
    expect(scrubber.scrub(cut(text, 15))).toContain('Hunte');
  });

  it('leaves a scrubbed text that fits as it is', () => {
    const scrubber = new SecretScrubber();
    scrubber.add('Hunter2-Secret');
    expect(scrubber.excerpt('a Hunter2-Secret b', 100)).toBe('a *** b');
  });
});

describe('cut', () => {
  it('keeps a text of at most max characters as it is', () => {
    expect(cut('abc', 3)).toBe('abc');
    expect(cut('', 0)).toBe('');
  });

  it('cuts to max characters and marks the cut', () => {
    expect(cut('abcdef', 4)).toBe('abcd…');
  });

  it('leaves an excerpt as it is when cut again', () => {
    const once = cut('x'.repeat(600), 500);
    expect(cut(once, 500)).toBe(once);
  });

  it('never splits a surrogate pair', () => {
    const text = `${'a'.repeat(4)}😀tail`; // the emoji is two UTF-16 units, at indices 4 and 5
    expect(cut(text, 5)).toBe('aaaa…');
    expect(cut(text, 6)).toBe('aaaa😀…');
  });
});
