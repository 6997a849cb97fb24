import { describe, expect, it } from '@jest/globals';
import { scrubberForInputs } from '../../src/config/run-scrubber.js';
import { outbound, STATEMENT_EXCERPT_CHARS } from '../../src/outbound.js';
import { SecretScrubber } from '../../src/secrets.js';

const PASSWORD = 'p@ss/w:rd%41';
const URL = `postgres://app:${encodeURIComponent(PASSWORD)}@db.example.com:5432/postgres`;

/** A statement whose password starts 8 characters before the excerpt's end. */
const LONG = `select '${'x'.repeat(STATEMENT_EXCERPT_CHARS - 8 - "select '".length)}${PASSWORD}' as tail`;

describe('outbound', () => {
  const scrubber = scrubberForInputs({ 'database-url': URL });

  it("scrubs an error's statement before cutting it: no fragment of a secret at the cut survives", () => {
    expect(LONG.indexOf(PASSWORD)).toBe(STATEMENT_EXCERPT_CHARS - 8);
    const { statement } = outbound({ error: { message: 'boom', statement: LONG } }, scrubber).error;
    // 492 characters, "***", then what fits of the rest up to 500, and the mark.
    expect(statement).toBe(`${LONG.slice(0, STATEMENT_EXCERPT_CHARS - 8)}***' as …`);
    expect(statement).not.toContain('p@ss');
  });

  it('cuts the statement of every error, however deep (result, migrations, rollback, run details)', () => {
    const long = 'y'.repeat(STATEMENT_EXCERPT_CHARS + 50);
    const error = { message: 'boom', statement: long };
    const value = outbound(
      { error, migrations: [{ version: '1', error }], details: { rollback: { error } } },
      new SecretScrubber(),
    );
    for (const e of [value.error, value.migrations[0].error, value.details.rollback.error])
      expect(e.statement).toBe(`${long.slice(0, STATEMENT_EXCERPT_CHARS)}…`);
    expect(error.statement).toBe(long); // the input is not modified
  });

  it("keeps statements that are not an error's whole (non-transactional statements report what ran)", () => {
    const long = 'y'.repeat(STATEMENT_EXCERPT_CHARS + 50);
    const value = { nonTransactional: [{ version: '1', file: 'f.sql', line: 1, statement: long }] };
    expect(outbound(value, new SecretScrubber())).toEqual(value);
  });

  it('returns the value itself when nothing needed scrubbing or cutting', () => {
    const value = { status: 'failed', error: { message: 'boom', statement: 'select 1' }, when: new Date(0) };
    expect(outbound(value, scrubber)).toBe(value);
  });

  it('scrubs every string, in every form the URL gives the password', () => {
    const value = outbound(
      { message: `auth ${PASSWORD} / ${encodeURIComponent(PASSWORD)} / ${URL}`, list: [PASSWORD] },
      scrubber,
    );
    expect(value).toEqual({ message: 'auth *** / *** / ***', list: ['***'] });
  });
});
