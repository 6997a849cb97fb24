import { describe, expect, it } from '@jest/globals';
import pgCrypto from 'pg/lib/crypto/utils.js';
import { parseDatabaseUrl } from '../../src/config/database-url.js';
import { closeClient, connect } from '../../src/db/connect.js';
import { REPLACED, useNodeCryptoForScram } from '../../src/db/pg-scram.js';
import { testServers } from '../helpers/db.js';

type Step = (...args: unknown[]) => Promise<ArrayBuffer | Uint8Array> | Uint8Array;
const utils = pgCrypto as unknown as Record<string, Step>;
// pg's own steps (Web Crypto), kept before they are replaced.
const pgOwn = Object.fromEntries(REPLACED.map((name) => [name, utils[name]])) as Record<string, Step>;

const bytes = async (value: ReturnType<Step>) => Buffer.from((await value) as ArrayBuffer);

describe("pg's SCRAM steps through node:crypto", () => {
  it('pg still has every step by the name we replace (a pg upgrade that renames one fails here)', () => {
    for (const name of REPLACED) expect(typeof pgOwn[name]).toBe('function');
    expect(useNodeCryptoForScram()).toBe(true);
    for (const name of REPLACED) expect(utils[name]).not.toBe(pgOwn[name]);
  });

  it('gives the same bytes as pg’s Web Crypto steps', async () => {
    useNodeCryptoForScram();
    const salt = Buffer.from('c2FsdHNhbHRzYWx0c2FsdA==', 'base64');
    for (const password of ['secret', 'pässwörd with spaces ✓', '']) {
      const ours = await bytes(utils.deriveKey(password, salt, 4096));
      expect(ours).toEqual(await bytes(pgOwn.deriveKey(password, salt, 4096)));
      expect(ours).toHaveLength(32);
      // pg hands the derived key back as Web Crypto gave it (an ArrayBuffer) or as ours (a Buffer).
      for (const key of [ours, new Uint8Array(ours).buffer]) {
        expect(await bytes(utils.hmacSha256(key, 'Client Key'))).toEqual(
          await bytes(pgOwn.hmacSha256(key, 'Client Key')),
        );
      }
      expect(await bytes(utils.sha256(ours))).toEqual(await bytes(pgOwn.sha256(ours)));
    }
    const nonce = utils.randomBytes(18) as Uint8Array;
    expect(Buffer.isBuffer(nonce)).toBe(true);
    expect(nonce).toHaveLength(18);
    expect(Buffer.from(nonce).equals(Buffer.from(utils.randomBytes(18) as Uint8Array))).toBe(false);
  });

  for (const server of testServers()) {
    it(`logs in with SCRAM-SHA-256 through them (PostgreSQL ${server.name}); a wrong password still fails`, async () => {
      const parsed = parseDatabaseUrl(server.url);
      if (!parsed.ok) throw new Error('bad test url');
      // The first connection puts our steps in place; the next ones are counted.
      await closeClient(await connect(parsed.target, { applicationName: 'mg scram test' }));
      const ourDerive = utils.deriveKey;
      expect(ourDerive).not.toBe(pgOwn.deriveKey);
      let derived = 0;
      utils.deriveKey = (...args) => (derived++, ourDerive(...args));
      try {
        const client = await connect(parsed.target, { applicationName: 'mg scram test' });
        try {
          // The test servers store SCRAM verifiers and ask for them (global-setup.ts).
          const { rows } = await client.query<{ enc: string }>(
            "SELECT current_setting('password_encryption') AS enc",
          );
          expect(rows[0].enc).toBe('scram-sha-256');
        } finally {
          await closeClient(client);
        }
        expect(derived).toBe(1);
        const wrong = parseDatabaseUrl(server.url.replace(/:[^:@/]*@/, ':not-the-password@'));
        if (!wrong.ok) throw new Error('bad test url');
        await expect(connect(wrong.target, { applicationName: 'mg scram test' })).rejects.toThrow(
          /Password authentication failed/,
        );
        expect(derived).toBe(2);
      } finally {
        utils.deriveKey = ourDerive;
      }
    });
  }
});
