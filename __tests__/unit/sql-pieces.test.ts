import { beforeAll, describe, expect, it } from '@jest/globals';
import { GuardError } from '../../src/errors.js';
import { parseInPieces, piecesOf, type RawStatement } from '../../src/migrations/parse-pieces.js';
import { loadParser, type PgParser } from '../../src/migrations/parser.js';
import { SourceText } from '../../src/migrations/source-text.js';
import { MAX_STATEMENT_BYTES, PIECE_BYTES, sqlPieces, type Piece } from '../../src/migrations/sql-pieces.js';
import { splitStatementsWith } from '../../src/migrations/statements.js';

const FILE = 'supabase/migrations/1_pieces.sql';

/**
 * SQL where a `;` hides inside something, or where a naive lexer would see a quote or comment
 * that is not one. Each entry is a whole file; the real parser is the reference.
 */
const CORPUS: Record<string, string> = {
  'doubled quotes': "insert into t values ('it''s; fine');\nselect ';''';",
  'backslash is plain in a standard string': "select 'a\\'; select 'b;c';",
  'E string with escaped quote': "select E'it\\'s; fine'; select e'\\\\'; select 'x';",
  'E string continued after a newline keeps escaping':
    "select E'a;'\n  'b\\'; c'; select 1;\nselect E'x'\n  \n 'y\\';z';",
  'a standard string continued is not an E string': "select 'a'\n'b\\'; select 2;",
  'B X N and U& strings': "select B'0101', X'1F;', N'n;n', U&'d\\0061t;a', U&\"d;a\"; select 1;",
  'quoted identifiers': 'create table "a;b" ("c"";d" int); select "x"";"  from "a;b";',
  'dollar quotes': 'select $$a;b$$; select $tag$ $$ ; $tag$; select $a$ $b$ ;$b$ $a$;',
  'a $ inside a word is not a dollar quote': 'select 1 as a$b$; select $$c;$$; select 2 as x$;',
  parameters: 'prepare p(int) as select $1; execute p(1); deallocate p;',
  'line comments': "select 1 -- a; b\n; select 2; -- trailing; 'quote\nselect 3",
  'nested block comments': 'select /* a; /* b; */ c; */ 1; /* only a comment; */ select 2;',
  'comment inside an operator': 'select 1 +-- ; comment\n2; select 3 */* ; */ 4;',
  'CREATE RULE with several actions': [
    'create table a (id int); create table b (id int);',
    'create rule r as on insert to a do also (insert into b values (1); insert into b values (2));',
    'select 1;',
  ].join('\n'),
  'BEGIN ATOMIC function with CASE': [
    'create function f(x int) returns int language sql',
    'begin atomic',
    '  select case when x > 0 then 1 else 2 end;',
    '  select x + 1;',
    'end;',
    'create or replace procedure p() language sql begin atomic insert into t values (1); end;',
    'select f(1);',
  ].join('\n'),
  'transaction blocks': 'begin; create table t (id int); commit; start transaction; end;',
  'empty statements': ';; select 1;;; select 2 ;',
  'non-ASCII': "create table café (nom text); insert into café values ('été; ☕'); select 'é';",
  numbers: 'select 1.5e3, .5, 0x1F, 1_000; select 2, $a$;$a$;',
  'DO block': "do $do$ begin raise notice 'x; y'; end $do$; select 1;",
  'no final semicolon': 'select 1; select 2 -- end',
  'only comments at the end': 'select 1;\n-- done; really\n/* ; */\n',
};

const ERRORS: Record<string, string> = {
  'syntax error in a later statement': 'select 1;\nselect 2;\nselec 3;\nselect 4;',
  'unterminated string': "select 1; select 'abc; select 2;",
  'unterminated dollar quote': 'select 1; select $x$ abc; select 2;',
  'unterminated comment': 'select 1; /* select 2;',
  'syntax error after non-ASCII': "select 'é😀';\nselect 1 from t where x = = 1;",
  'unbalanced parenthesis': 'select (1; select 2; select 3;',
  'a comment does not continue an E string': "select E'x'\n-- c\n'y\\';z';\nselect 1;",
};

let parser: PgParser;
beforeAll(async () => {
  parser = await loadParser();
});

/** What the whole-text parse says: statements (type, location, length) or the error position. */
function whole(text: string) {
  try {
    return parser.parseSync(text).stmts?.map(summary) ?? [];
  } catch (error) {
    return {
      error: (error as Error).message,
      at: (error as { sqlDetails?: { cursorPosition: number } }).sqlDetails,
    };
  }
}

function summary(raw: RawStatement) {
  return [Object.keys(raw.stmt)[0], raw.stmt_location ?? 0, raw.stmt_len || 0];
}

/** A parser that records what it is handed. */
function spy(inner: PgParser) {
  const inputs: string[] = [];
  return {
    inputs,
    parser: { parseSync: (sql: string) => (inputs.push(sql), inner.parseSync(sql)) } as PgParser,
  };
}

function pieced(text: string, pieceBytes: number, using: PgParser = parser) {
  const source = new SourceText(text);
  return [...parseInPieces(using, source, 0, source.byteLength, FILE, pieceBytes).stmts].map(summary);
}

describe('sqlPieces and parseInPieces', () => {
  describe.each(Object.entries(CORPUS))('%s', (_name, text) => {
    it('gives exactly the whole-text parse, cut at every boundary (1-byte pieces) and in larger pieces', () => {
      const reference = whole(text);
      expect(Array.isArray(reference)).toBe(true);
      for (const size of [1, 7, 40, PIECE_BYTES]) expect(pieced(text, size)).toEqual(reference);
    });

    it('cuts only right after a statement-ending `;` of the whole parse, and never needs the fallback', () => {
      const source = new SourceText(text);
      const ends = new Set(
        (parser.parseSync(text).stmts ?? []).map((s) => (s.stmt_location ?? 0) + (s.stmt_len ?? 0) + 1),
      );
      const pieces = [...sqlPieces(source.bytes, 0, source.byteLength, 1)];
      // A cut ends a statement of the whole parse, or a piece holding only empty statements (`;;`).
      const wrong = pieces
        .slice(0, -1)
        .filter((p) => !ends.has(p.end) && !/^[\s;]*$/.test(source.slice(p.start, p.end)));
      expect(wrong).toEqual([]);
      expect(pieces.every((p) => !p.unclosed)).toBe(true);
      const { inputs, parser: recording } = spy(parser);
      pieced(text, 1, recording);
      // One call per piece holding a token: no piece failed and was parsed again with the rest.
      expect(inputs.length).toBe(pieces.filter((p) => p.firstToken >= 0).length);
    });
  });

  it('really cuts: 1-byte pieces hand the parser one statement at a time', () => {
    const { inputs, parser: recording } = spy(parser);
    pieced(CORPUS['dollar quotes'], 1, recording);
    expect(inputs).toEqual(['select $$a;b$$;', ' select $tag$ $$ ; $tag$;', ' select $a$ $b$ ;$b$ $a$;']);
  });

  it.each(Object.entries(ERRORS))(
    '%s: the same error at the same file:line:column as the whole parse',
    (_name, text) => {
      const reference = whole(text);
      expect(Array.isArray(reference)).toBe(false);
      const located = (pieceBytes: number) => {
        const source = new SourceText(text);
        try {
          Array.from(parseInPieces(parser, source, 0, source.byteLength, FILE, pieceBytes).stmts);
        } catch (error) {
          expect(error).toBeInstanceOf(GuardError);
          return [(error as GuardError).message, (error as GuardError).location];
        }
        throw new Error('parsed without error');
      };
      const expected = located(1 << 30); // one piece: the whole text, as before pieces existed
      expect(expected[0]).toBe(`SQL syntax error: ${(reference as { error: string }).error}`);
      for (const size of [1, 5]) expect(located(size)).toEqual(expected);
    },
  );

  it('parses the rest whole when a piece fails, and then hands out each statement once', () => {
    // Stands in for a wrong cut: the parser refuses the second piece it is handed, the first time.
    const text = 'select 1; select 2; select 3; select 4;';
    let calls = 0;
    const inputs: string[] = [];
    const flaky: PgParser = {
      parseSync: (sql) => {
        inputs.push(sql);
        if (++calls === 2)
          throw Object.assign(new Error('syntax error at end of input'), {
            sqlDetails: { cursorPosition: 9, message: '' },
          });
        return parser.parseSync(sql);
      },
    };
    expect(pieced(text, 1, flaky)).toEqual(whole(text));
    expect(inputs).toEqual(['select 1;', ' select 2;', ' select 2; select 3; select 4;']);
  });

  it('matches the whole parse on random mixes of the corpus', () => {
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const parts = Object.values(CORPUS).filter((t) => !/begin;|start transaction/.test(t));
    for (let round = 0; round < 40; round++) {
      const chosen = Array.from({ length: 6 }, () => parts[Math.floor(random() * parts.length)]);
      const text = chosen
        .map((t) => (/;\s*$/.test(t) ? t : `${t}\n;`))
        .join(random() < 0.5 ? '\n' : '\n-- ;\n');
      const reference = whole(text);
      if (!Array.isArray(reference)) continue; // two parts that do not combine (a name defined twice is fine)
      expect(pieced(text, 1 + Math.floor(random() * 60))).toEqual(reference);
    }
  });

  it('keeps pieces near their size and gives a statement larger than a piece a piece of its own', () => {
    const big = `insert into t values ('${'x'.repeat(3000)}');`;
    const text = `${'select 1;\n'.repeat(300)}${big}\n${'select 2;\n'.repeat(300)}`;
    const source = new SourceText(text);
    const pieces = [...sqlPieces(source.bytes, 0, source.byteLength, 1000)];
    const sizes = pieces.map((p) => p.end - p.start);
    expect(pieces.find((p) => source.slice(p.start, p.end).trim() === big)).toBeDefined();
    expect(sizes.filter((s) => s > 1010)).toEqual([big.length + 1]);
    expect(pieces.map((p) => source.slice(p.start, p.end)).join('')).toBe(text);
  });

  it('refuses one statement larger than the limit before parsing it, naming its line, the limit and the reason', () => {
    const huge = `insert into t values ${Array.from({ length: Math.ceil(MAX_STATEMENT_BYTES / 20) }, (_, i) => `(${i}, 'row ${i}')`).join(',\n')};`;
    const text = `select 1;\n-- the data\n${huge}\nselect 2;`;
    const { inputs, parser: recording } = spy(parser);
    const source = new SourceText(text);
    let error: GuardError | undefined;
    try {
      splitStatementsWith(recording, source, 0, source.byteLength, FILE);
    } catch (e) {
      error = e as GuardError;
    }
    expect(error).toBeInstanceOf(GuardError);
    expect(error?.code).toBe('too-large');
    expect(error?.location).toEqual({ file: FILE, line: 3, column: 1 });
    expect(error?.message).toMatch(
      /^Statement of \d+(\.\d)? MB is larger than the 8 MB a single statement may have: the SQL parser needs about 65 times/,
    );
    expect(error?.hint).toMatch(/Split it into smaller statements/);
    expect(inputs.every((sql) => sql.length < 1024)).toBe(true);
  });

  it('reports a quote that never closes in a large rest without handing the rest to the parser', () => {
    const text = `select 1;\nselect 'never closed;\n${'insert into t values (1);\n'.repeat(Math.ceil(MAX_STATEMENT_BYTES / 25))}`;
    const { inputs, parser: recording } = spy(parser);
    const source = new SourceText(text);
    let error: GuardError | undefined;
    try {
      splitStatementsWith(recording, source, 0, source.byteLength, FILE);
    } catch (e) {
      error = e as GuardError;
    }
    expect(error?.code).toBe('parse-error');
    expect(error?.location).toEqual({ file: FILE, line: 2, column: 8 });
    expect(error?.message).toMatch(/^SQL syntax error: a quoted string opened here is never closed/);
    expect(inputs).toEqual([]);
  });
});

describe('piecesOf', () => {
  it('hands a range under the piece size to the parser whole, as the lexer would, without lexing it', () => {
    const source = new SourceText("create table a (id int);\ninsert into a values ('x;y'); -- end\n");
    const size = source.byteLength;
    const bounds = (pieces: Iterable<Piece>) => [...pieces].map((p) => [p.start, p.end]);
    expect(bounds(piecesOf(source, 0, size))).toEqual([[0, size]]);
    expect(bounds(piecesOf(source, 0, size))).toEqual(bounds(sqlPieces(source.bytes, 0, size)));
    expect(bounds(piecesOf(source, 5, 5))).toEqual([]); // the parser refuses empty text
    // From the piece size on, the lexer cuts at statement ends.
    expect(bounds(piecesOf(source, 0, size, 10))).toEqual(bounds(sqlPieces(source.bytes, 0, size, 10)));
    expect(bounds(piecesOf(source, 0, size, 10)).length).toBeGreaterThan(1);
  });
});
