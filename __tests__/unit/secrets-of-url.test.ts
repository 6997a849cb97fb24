import { describe, expect, it } from '@jest/globals';
import { secretsOfDatabaseUrl } from '../../src/config/secrets-of-url.js';

describe('secretsOfDatabaseUrl', () => {
  it('returns nothing for an absent or empty URL', () => {
    expect(secretsOfDatabaseUrl(undefined)).toEqual([]);
    expect(secretsOfDatabaseUrl('')).toEqual([]);
  });

  it('returns the whole URL and its password', () => {
    const url = 'postgres://app:Hunter2-Secret@db.example.com:5432/postgres';
    const secrets = secretsOfDatabaseUrl(url);
    expect(secrets).toContain(url);
    expect(secrets).toContain('Hunter2-Secret');
    expect(secrets).not.toContain('app');
  });

  it('returns the trimmed URL as well when the input has surrounding whitespace', () => {
    const url = 'postgres://app:pw-123@db.example.com/postgres';
    expect(secretsOfDatabaseUrl(`  ${url}\n`)).toEqual([`  ${url}\n`, url, 'pw-123']);
  });

  it('returns the password as written, percent-encoding included', () => {
    expect(secretsOfDatabaseUrl('postgresql://app:p%40ss%2Fw@db.example.com/db')).toContain('p%40ss%2Fw');
  });

  it('returns a password given as a query parameter', () => {
    expect(
      secretsOfDatabaseUrl('postgres://db.example.com/db?user=app&password=q-secret&sslmode=require'),
    ).toContain('q-secret');
  });

  it('finds the password of a URL that does not parse (bad port, space in the password)', () => {
    const url = 'postgres://app:pa ss-word@db.example.com:notaport/db';
    expect(() => new URL(url)).toThrow();
    expect(secretsOfDatabaseUrl(url)).toContain('pa ss-word');
  });

  it('finds the password of a URL with the wrong scheme', () => {
    expect(secretsOfDatabaseUrl('mysql://app:my-secret@db.example.com/db')).toContain('my-secret');
  });

  it('returns only the URL when there is no password', () => {
    const url = 'postgres://app@db.example.com/db';
    expect(secretsOfDatabaseUrl(url)).toEqual([url]);
  });
});
