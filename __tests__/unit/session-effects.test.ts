import { describe, expect, it } from '@jest/globals';
import { findSessionHazards } from '../../src/commands/session-effects.js';
import { SourceText } from '../../src/migrations/source-text.js';
import { migrationOf } from '../helpers/migrations.js';

describe('findSessionHazards', () => {
  it('names each call to a lock- or session-ending function at its file and line, in any case', () => {
    const m = migrationOf(
      '2',
      'create table t (id int);\nSELECT PG_ADVISORY_UNLOCK_ALL();\nselect pg_terminate_backend (pid) from pg_stat_activity;\nselect pg_cancel_backend(1), pg_advisory_unlock(42);\n',
    );
    expect(findSessionHazards([m])).toEqual([
      { version: '2', file: m.path, line: 2, call: 'pg_advisory_unlock_all' },
      { version: '2', file: m.path, line: 3, call: 'pg_terminate_backend' },
      { version: '2', file: m.path, line: 4, call: 'pg_cancel_backend' },
      { version: '2', file: m.path, line: 4, call: 'pg_advisory_unlock' },
    ]);
  });

  it('ignores calls in line comments and names that only contain the function name', () => {
    const m = migrationOf(
      '3',
      '-- select pg_advisory_unlock_all();\nselect 1; -- pg_terminate_backend(1)\nselect my_pg_terminate_backend_log(1);\n',
    );
    expect(findSessionHazards([m])).toEqual([]);
  });

  it('counts lines from the start of the file when the up part starts further down (dbmate sections)', () => {
    const text =
      '-- migrate:up\ncreate table t (id int);\nselect pg_advisory_unlock_all();\n-- migrate:down\nselect pg_terminate_backend(1);\n';
    const source = new SourceText(text);
    const up = Buffer.from('-- migrate:up\n').length;
    const down = Buffer.from(text.slice(0, text.indexOf('-- migrate:down'))).length;
    const m = { ...migrationOf('4', text), up: { path: 'f.sql', source, start: up, end: down } };
    expect(findSessionHazards([m])).toEqual([
      { version: '4', file: 'f.sql', line: 3, call: 'pg_advisory_unlock_all' },
    ]);
  });
});
