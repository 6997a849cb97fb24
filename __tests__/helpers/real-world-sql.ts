/**
 * SQL that real projects write, shared by the apply tests (integration/real-world-sql.test.ts) and
 * the linter's expectations on the same files (lint/fixtures.test.ts).
 */

/** Dollar quotes, DO blocks, CONCURRENTLY, a wrapped file, an empty file, CRLF and non-ASCII text. */
export const REAL_WORLD_RELEASE: Record<string, string> = {
  '20240101000000_functions.sql': [
    "-- a comment with a semicolon; and 'quotes'",
    '/* block comment; still a comment */',
    "create table notes (id int primary key, body text default 'a;b');",
    'create function add_note(p text) returns void language plpgsql as $body$',
    'begin',
    "  insert into notes values ((select coalesce(max(id), 0) + 1 from notes), p || ';');",
    'end;',
    '$body$;',
    "do $$ begin perform add_note('from a DO block; with semicolon'); end $$;",
    "select add_note($tag$dollar 'quoted'; text$tag$);",
  ].join('\n'),
  '20240102000000_index.sql':
    "create table events (id bigint, kind text);\ncreate index concurrently events_kind_idx on events (kind);\ninsert into events values (1, 'x');\n",
  '20240103000000_wrapped.sql':
    'BEGIN;\ncreate table wrapped (id int);\ninsert into wrapped values (1);\nCOMMIT;\n',
  '20240104000000_empty.sql': '',
  '20240105000000_crlf.sql': 'create table crlf (id int);\r\ninsert into crlf values (1);\r\n',
  '20240106000000_unicode.sql':
    "select 'héllo wörld 🎉; not a split';\ncreate table unicode_ok (name text default 'ünïcode');\n",
};

/** A new enum value used by a later file of the same run (applied first: `1_type.sql`). */
export const ENUM_TYPE = { '1_type.sql': "create type mood as enum ('happy');" };
export const ENUM_USE = {
  '2_add_value.sql': "alter type mood add value 'sad';",
  '3_use_value.sql': "create table people (m mood default 'sad');\ninsert into people values ('sad');",
  '4_more.sql': 'create table after_enum (id int);',
};

/** The same, failing after the early commit; with down migrations (applied first: the type). */
export const ENUM_REVERT_TYPE = {
  '1_type.sql': "create type mood as enum ('happy');",
  '1_type.down.sql': 'drop type mood;',
};
export const ENUM_REVERT_REST = {
  '2_table.sql': 'create table people (id int);',
  '2_table.down.sql': 'drop table people;',
  '3_add_value.sql': "alter type mood add value 'sad';",
  '3_add_value.down.sql': "delete from pg_enum where enumlabel = 'sad' and enumtypid = 'mood'::regtype;",
  '4_use_value.sql': "alter table people add column m mood default 'sad';\nselect 1/0;",
};

/** A runtime error and a syntax error after multi-byte text. */
export const MULTIBYTE_RUNTIME = {
  '1_runtime.sql': "select 1;\nselect 'é🎉', nosuchcolumn from pg_class;\n",
};
export const MULTIBYTE_SYNTAX = { '1_syntax.sql': "select 1;\nselect 'é🎉' frm pg_class oops;\n" };
