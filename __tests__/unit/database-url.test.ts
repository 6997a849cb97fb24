import { describe, expect, it } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDatabaseUrl, type DatabaseTarget } from '../../src/config/database-url.js';
import { tempDirsFor } from '../helpers/temp.js';

const tempDir = tempDirsFor();

function target(url: string): DatabaseTarget {
  const parsed = parseDatabaseUrl(url);
  if (!parsed.ok) throw new Error(`expected ${url} to parse, got: ${parsed.reason}`);
  return parsed.target;
}

function reason(url: string): string {
  const parsed = parseDatabaseUrl(url);
  if (parsed.ok) throw new Error(`expected ${url} to be refused`);
  return parsed.reason;
}

describe('parseDatabaseUrl', () => {
  it('reads host, port, user, password and database from a postgres:// URL', () => {
    const t = target('postgres://app:pw@db.example.com:5433/appdb');
    expect(t).toMatchObject({
      host: 'db.example.com',
      port: 5433,
      user: 'app',
      password: 'pw',
      database: 'appdb',
    });
    expect(t.display).toBe('db.example.com:5433/appdb');
  });

  it('accepts the postgresql:// scheme and defaults the port to 5432 and the database to the user name', () => {
    const t = target('postgresql://alice@db.example.com');
    expect(t).toMatchObject({ port: 5432, user: 'alice', database: 'alice' });
    expect(t.password).toBeUndefined();
  });

  it('refuses the transaction pooler port 6543 and points to the session pooler', () => {
    const why = reason('postgres://postgres.abc:pw@aws-0-eu-central-1.pooler.supabase.com:6543/postgres');
    expect(why).toMatch(/port 6543/);
    expect(why).toMatch(/transaction-mode pooler/);
    expect(why).toMatch(/session pooler/);
    expect(why).toMatch(/port 5432/);
  });

  it('accepts the session pooler on port 5432', () => {
    expect(
      target('postgres://postgres.abc:pw@aws-0-eu-central-1.pooler.supabase.com:5432/postgres').port,
    ).toBe(5432);
  });

  it('defaults a remote host to TLS verify-full: certificate checked against the host name', () => {
    const t = target('postgres://app:pw@db.abcdefgh.supabase.co:5432/postgres');
    expect(t.sslmode).toBe('verify-full');
    expect(t.ssl).toEqual({ rejectUnauthorized: true, servername: 'db.abcdefgh.supabase.co' });
  });

  it.each([
    ['localhost', 'postgres://app:pw@localhost:5432/db'],
    ['127.0.0.1', 'postgres://app:pw@127.0.0.1:5432/db'],
    ['::1', 'postgres://app:pw@[::1]:5432/db'],
    ['a Unix socket directory', 'postgresql:///db?host=/var/run/postgresql&user=app'],
  ])('defaults %s to a plain connection without TLS', (_name, url) => {
    const t = target(url);
    expect(t.sslmode).toBe('disable');
    expect(t.ssl).toBe(false);
  });

  it('uses the socket directory of the host parameter as the host', () => {
    expect(target('postgresql:///db?host=/var/run/postgresql&user=app')).toMatchObject({
      host: '/var/run/postgresql',
      user: 'app',
      database: 'db',
    });
  });

  it('strips the brackets of an IPv6 host', () => {
    expect(target('postgres://app:pw@[::1]:5433/db')).toMatchObject({ host: '::1', port: 5433 });
  });

  it('honours sslmode=disable on a remote host', () => {
    const t = target('postgres://app:pw@db.example.com/db?sslmode=disable');
    expect(t.sslmode).toBe('disable');
    expect(t.ssl).toBe(false);
  });

  it('honours sslmode=require as encryption without certificate checks', () => {
    const t = target('postgres://app:pw@db.example.com/db?sslmode=require');
    expect(t.sslmode).toBe('require');
    expect(t.ssl).toEqual({ rejectUnauthorized: false });
  });

  it('honours sslmode=require on localhost too', () => {
    expect(target('postgres://app:pw@localhost/db?sslmode=require').ssl).toEqual({
      rejectUnauthorized: false,
    });
  });

  it('honours sslmode=verify-ca: the chain is checked, the host name is not', () => {
    const t = target('postgres://app:pw@10.0.0.5/db?sslmode=verify-ca');
    expect(t.sslmode).toBe('verify-ca');
    const ssl = t.ssl as Exclude<DatabaseTarget['ssl'], false>;
    expect(ssl.rejectUnauthorized).toBe(true);
    expect(ssl.servername).toBeUndefined();
    expect(typeof ssl.checkServerIdentity).toBe('function');
    expect(ssl.checkServerIdentity!('other.host', {} as never)).toBeUndefined();
  });

  it('reads the CA from sslrootcert and keeps its path for external tools', () => {
    const dir = tempDir('mg-ca-');
    const ca = join(dir, 'ca.pem');
    writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    const t = target(`postgres://app:pw@db.example.com/db?sslrootcert=${encodeURIComponent(ca)}`);
    expect(t.sslRootCert).toBe(ca);
    expect(t.ssl).toEqual({
      rejectUnauthorized: true,
      servername: 'db.example.com',
      ca: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
    });
  });

  it('refuses an sslrootcert that cannot be read, naming the path', () => {
    expect(reason('postgres://app:pw@db.example.com/db?sslrootcert=/nonexistent/ca.pem')).toBe(
      'sslrootcert "/nonexistent/ca.pem" cannot be read',
    );
  });

  it('refuses an unknown sslmode, listing the accepted ones', () => {
    expect(reason('postgres://app:pw@db.example.com/db?sslmode=on')).toBe(
      'sslmode "on" is not one of disable, allow, prefer, require, verify-ca, verify-full',
    );
  });

  it('refuses a URL without a user', () => {
    expect(reason('postgres://db.example.com/db')).toMatch(/names no user/);
    expect(reason('postgres://:pw@db.example.com/db')).toMatch(/names no user/);
  });

  it('takes the user and password from query parameters when the URL has no user info', () => {
    expect(target('postgres://db.example.com/db?user=bob&password=pw')).toMatchObject({
      user: 'bob',
      password: 'pw',
    });
  });

  it('decodes a percent-encoded user, password and database name', () => {
    const t = target('postgres://app%2Buser:p%40ss%3Aw%2Frd%25@db.example.com/my%20db');
    expect(t.user).toBe('app+user');
    expect(t.password).toBe('p@ss:w/rd%');
    expect(t.database).toBe('my db');
  });

  it.each([['mysql://app:pw@db.example.com/db'], ['https://app:pw@db.example.com/db']])(
    'refuses the scheme of %s',
    (url) => {
      expect(reason(url)).toMatch(/must be postgres:\/\/ or postgresql:\/\//);
    },
  );

  it('refuses text that is not a URL, showing the expected shape', () => {
    expect(reason('not a url')).toBe(
      'it is not a valid URL (expected postgres://user:password@host:port/database)',
    );
  });

  it('never shows the password in the display name', () => {
    expect(target('postgres://app:Hunter2-Secret@db.example.com/db').display).not.toContain('Hunter2');
  });
});
