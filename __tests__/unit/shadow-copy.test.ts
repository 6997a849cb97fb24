import { describe, expect, it } from '@jest/globals';
import { conninfoDbname, restoreErrors } from '../../src/backup/schema-copy.js';
import { diffCatalog } from '../../src/db/catalog-objects.js';

describe('the shadow copy', () => {
  it('lists what pg_restore could not create, one line per entry, the count past 20', () => {
    const stderr = [
      'pg_restore: while PROCESSING TOC:',
      'pg_restore: from TOC entry 2; 3079 16385 EXTENSION pg_graphql',
      'pg_restore: error: could not execute query: ERROR:  extension "pg_graphql" is not available',
      'DETAIL:  Could not open extension control file.',
      'Command was: CREATE EXTENSION IF NOT EXISTS pg_graphql WITH SCHEMA graphql;',
      'pg_restore: error: could not execute query: ERROR:  role "supabase_admin" does not exist',
      'pg_restore: warning: errors ignored on restore: 2',
    ].join('\n');
    expect(restoreErrors(stderr)).toEqual([
      'extension "pg_graphql" is not available',
      'role "supabase_admin" does not exist',
    ]);
    const many = Array.from(
      { length: 25 },
      (_, i) => `pg_restore: error: could not execute query: ERROR:  e${i}`,
    );
    expect(restoreErrors(many.join('\n'))).toHaveLength(21);
    expect(restoreErrors(many.join('\n'))[20]).toBe('… and 5 more');
  });

  it('passes the database name to pg_restore as a quoted conninfo value, never as a connection string', () => {
    expect(conninfoDbname('plan_shadow')).toBe("dbname='plan_shadow'");
    expect(conninfoDbname("host=evil dbname=x'y\\z")).toBe("dbname='host=evil dbname=x\\'y\\\\z'");
  });

  it('tells created, altered and dropped objects apart, sorted', () => {
    const before = new Map([
      ['table public.a', '1'],
      ['index public.a_idx', '2'],
      ['table public.b', '3'],
    ]);
    const after = new Map([
      ['table public.a', '1*'],
      ['table public.b', '3'],
      ['view public.v', '4'],
      ['table public.c', '5'],
    ]);
    expect(diffCatalog(before, after)).toEqual({
      created: ['table public.c', 'view public.v'],
      altered: ['table public.a'],
      dropped: ['index public.a_idx'],
    });
  });
});
