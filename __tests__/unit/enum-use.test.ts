import { describe, expect, it } from '@jest/globals';
import { prepareMigration } from '../../src/engine/prepare.js';
import { GuardError } from '../../src/errors.js';
import { loadParser } from '../../src/migrations/parser.js';
import { SourceText } from '../../src/migrations/source-text.js';
import { migrationOf } from '../helpers/migrations.js';

const FILE = 'supabase/migrations/1_m.sql';

async function prepare(sql: string, verifySql?: string) {
  const migration = migrationOf('1', sql);
  if (verifySql !== undefined) {
    const source = new SourceText(verifySql);
    migration.verify = {
      path: 'supabase/migrations/1_m.verify.sql',
      source,
      start: 0,
      end: source.bytes.length,
    };
  }
  return prepareMigration(await loadParser(), migration);
}

async function refusal(sql: string, verifySql?: string): Promise<GuardError> {
  try {
    await prepare(sql, verifySql);
  } catch (error) {
    expect(error).toBeInstanceOf(GuardError);
    return error as GuardError;
  }
  throw new Error('prepareMigration accepted the file');
}

describe('a new enum value used in the transaction that adds it (SQLSTATE 55P04)', () => {
  it('is refused before anything runs, naming the line that uses it, the line that adds it, and how to split', async () => {
    const error = await refusal(
      "create table t (id int);\nalter type mood add value 'sad';\nselect 1;\nupdate people set mood = 'sad';\n",
    );
    expect(error.code).toBe('transaction-control');
    expect(error.location).toEqual({ file: FILE, line: 4, column: 1 });
    expect(error.options.sqlstate).toBe('55P04');
    expect(error.message).toBe(
      "enum value 'sad' is used here in the same transaction that adds it (ALTER TYPE … ADD VALUE at line 2): PostgreSQL refuses that (SQLSTATE 55P04, unsafe use of new enum value), so this migration would fail in either transaction mode",
    );
    expect(error.hint).toBe(
      `Split the migration after line 2 of ${FILE}: keep the ADD VALUE there and move the statements that use 'sad' (from line 4 on) into a new migration file with a later version. Each file then commits before the next one uses its values. Nothing has been run.`,
    );
  });

  it.each([
    ['a default', "create table p (m mood default 'sad');"],
    ['a cast in a DO block', "do $$ begin perform 'sad'::mood; end $$;"],
    [
      'a LANGUAGE sql function body',
      "create function f() returns mood language sql as $f$ select 'sad'::mood $f$;",
    ],
    ['a policy', "create policy p on people using (mood = 'sad');"],
    ['a quoted value', "select 'it''s'::mood;"],
  ])('counts %s as a use', async (_label, use) => {
    const add = use.includes("'it''s'")
      ? "alter type mood add value 'it''s';"
      : "alter type mood add value 'sad';";
    const error = await refusal(`${add}\n${use}`);
    expect(error.location?.line).toBe(2);
  });

  it.each([
    [
      'a PL/pgSQL function body (not run when created)',
      "create function f() returns void language plpgsql as $f$ begin update p set m = 'sad'; end $f$;",
    ],
    ['a comment', "comment on type mood is 'sad';"],
    ['another value placed after it', "alter type mood add value 'sadder' after 'sad';"],
    ['an identifier of the same name', 'create table sad (id int);'],
  ])('does not count %s as a use', async (_label, mention) => {
    const item = await prepare(`alter type mood add value 'sad';\n${mention}`);
    expect(item.statements).toHaveLength(2);
  });

  it('accepts the value used when the type was created in the same file (PostgreSQL allows it)', async () => {
    const item = await prepare(
      "create type public.mood as enum ('happy');\nalter type mood add value 'sad';\ncreate table p (m mood default 'sad');",
    );
    expect(item.statements).toHaveLength(3);
  });

  it('accepts the value used after a statement that runs on its own (everything before it committed)', async () => {
    const item = await prepare(
      "alter type mood add value 'sad';\ncreate index concurrently i on people (id);\nupdate people set mood = 'sad';",
    );
    expect(item.statements).toHaveLength(3);
  });

  it('refuses a use after an absorbed BEGIN … COMMIT block around the ADD VALUE, saying the block does not commit', async () => {
    const error = await refusal(
      "select 1;\nbegin;\nalter type mood add value 'sad';\ncommit;\nupdate people set mood = 'sad';",
    );
    expect(error.location?.line).toBe(5);
    expect(error.message).toContain(
      "(ALTER TYPE … ADD VALUE at line 3) (the BEGIN … COMMIT block of lines 2–4 does not commit on its own: it runs inside the file's transaction)",
    );
  });

  it("refuses a verify script that uses the value (it runs in the migration's transaction), naming both files", async () => {
    const error = await refusal(
      "alter type mood add value 'sad';",
      "select count(*) from people where mood = 'sad';",
    );
    expect(error.location).toEqual({ file: 'supabase/migrations/1_m.verify.sql', line: 1, column: 1 });
    expect(error.message).toContain(`ADD VALUE at ${FILE}:1`);
    expect(error.hint).toContain(
      "move the statements that use 'sad' and this verify script into a new migration",
    );
  });
});
