import { describe, expect, it } from '@jest/globals';
import { SourceText } from '../../src/migrations/source-text.js';
import { splitStatements } from '../../src/migrations/statements.js';

async function touches(sql: string): Promise<Array<string | undefined>> {
  const source = new SourceText(sql);
  const { statements } = await splitStatements(source, 0, source.bytes.length, 'supabase/migrations/1_x.sql');
  return statements.map((s) => s.touchesTimeouts);
}

describe('statements that can change the lock or statement timeout', () => {
  it.each([
    ['SET statement_timeout = 0', 'sets statement_timeout for the session'],
    ['SET lock_timeout = 0', 'sets lock_timeout for the session'],
    ['set session Lock_Timeout to 0', 'sets lock_timeout for the session'],
    ["SET LOCAL lock_timeout = '0'", 'sets lock_timeout for the rest of the transaction'],
    ['SET lock_timeout TO DEFAULT', "resets lock_timeout to the server's default"],
    ['RESET statement_timeout', "resets statement_timeout to the server's default"],
    ['RESET ALL', 'resets every setting, lock_timeout and statement_timeout included'],
    ["select set_config('lock_timeout','0',false)", 'sets lock_timeout with set_config'],
    [
      "SELECT pg_catalog.set_config('statement_timeout', '0', true), set_config('lock_timeout', '0', true)",
      'sets statement_timeout and lock_timeout with set_config',
    ],
    [
      "select set_config(name, '0', false) from pg_settings",
      'calls set_config with a setting name computed at run time',
    ],
    [
      "select set_config('lock' || '_timeout', '0', false)",
      'calls set_config with a setting name computed at run time',
    ],
    ["do $$ begin execute 'set lock_timeout = 0'; end $$", 'runs a DO block that can change lock_timeout'],
    [
      "do $$ begin perform set_config(current_setting('app.name'), '0', false); end $$",
      'runs a DO block that can change any setting',
    ],
    ["do $$ begin execute 'reset all'; end $$", 'runs a DO block that can change every setting (RESET ALL)'],
    [
      'create function loosen() returns void language sql set statement_timeout = 0 as $$ select 1 $$',
      'defines a function that can change statement_timeout: each call may change it',
    ],
    ["update app_config set value = 'statement_timeout'", 'mentions statement_timeout, which it may change'],
  ])('%s', async (sql, expected) => {
    expect(await touches(sql)).toEqual([expected]);
  });

  it.each([
    ['SET search_path = public'],
    ['SET client_min_messages = warning'],
    ["SELECT pg_catalog.set_config('search_path', '', false)"],
    ['SET idle_in_transaction_session_timeout = 0'],
    ['SET TRANSACTION ISOLATION LEVEL SERIALIZABLE'],
    ['create table locks (my_lock_timeout_ms int)'],
    // Defaults for sessions opened later: the engine sets its own values explicitly.
    ['ALTER ROLE authenticator SET statement_timeout = 8000'],
    ['ALTER DATABASE postgres SET lock_timeout = 0'],
  ])('leaves %s alone', async (sql) => {
    expect(await touches(sql)).toEqual([undefined]);
  });

  it('classifies each statement of a pg_dump header on its own', async () => {
    const header = [
      'SET statement_timeout = 0;',
      'SET lock_timeout = 0;',
      'SET idle_in_transaction_session_timeout = 0;',
      "SET client_encoding = 'UTF8';",
      "SELECT pg_catalog.set_config('search_path', '', false);",
      'create table t (id int);',
    ].join('\n');
    expect(await touches(header)).toEqual([
      'sets statement_timeout for the session',
      'sets lock_timeout for the session',
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });
});
