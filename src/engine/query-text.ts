import { prepareWasmLoad } from '../migrations/wasm-load.js';

/**
 * Another session's query, as reports may show it: without a single literal value. The text read
 * from pg_stat_activity is the application's, and its constants are the application's data
 * (an e-mail in a WHERE clause, a password in ALTER ROLE), so no report ever shows it raw.
 */

/** The longest normalised query a report shows, in characters. */
export const QUERY_TEXT_LIMIT = 200;

/** What libpg-query offers for this (its pg_stat_statements-style normaliser). */
export interface QueryNormaliser {
  normalizeSync(sql: string): string;
  parseSync(sql: string): unknown;
}

/**
 * Normalises `text` for a report: constants become placeholders ($1, $2, …) and comments go.
 * The PostgreSQL parser's normaliser is used when the text parses; it leaves some constants in
 * place (a utility statement's, a column DEFAULT's) and keeps comments, so our own masking runs
 * over its output as well. Text that does not parse (pg_stat_activity cuts queries at
 * track_activity_query_size) is masked by our own code alone. The result is at most
 * QUERY_TEXT_LIMIT characters.
 */
export async function normaliseQueryText(
  text: string,
  normaliser: () => Promise<QueryNormaliser> = loadNormaliser,
): Promise<string> {
  let parsed: string | undefined;
  // A backslash before a quote reads differently with standard_conforming_strings off, which the
  // parser does not know about: such text goes to the masking below, which treats it as ambiguous.
  if (!/\\'/.test(text)) {
    try {
      const lib = await normaliser();
      lib.parseSync(text); // throws on text that does not parse: normalizeSync may not
      parsed = lib.normalizeSync(text);
    } catch {
      parsed = undefined;
    }
  }
  return cut(maskLiterals(parsed ?? text));
}

let loadingNormaliser: Promise<QueryNormaliser> | undefined;

/**
 * libpg-query's API, loaded the first time a report names a blocking query (a lock retry): the
 * migrations' parser (parser.ts) uses the module's byte interface, which has no normaliser.
 */
function loadNormaliser(): Promise<QueryNormaliser> {
  loadingNormaliser ??= (async () => {
    await prepareWasmLoad();
    const lib = await import('libpg-query');
    await lib.loadModule();
    return lib;
  })();
  return loadingNormaliser;
}

/** Cuts `text` to QUERY_TEXT_LIMIT characters (code points), marking the cut. */
function cut(text: string): string {
  const chars = Array.from(text);
  if (chars.length <= QUERY_TEXT_LIMIT) return text;
  return `${chars
    .slice(0, QUERY_TEXT_LIMIT - 1)
    .join('')
    .trimEnd()}…`;
}

const IDENT_START = /[A-Za-z_\u0080-\uffff]/;
const IDENT_PART = /[A-Za-z0-9_$\u0080-\uffff]/;
const DIGIT = /[0-9]/;

/**
 * Replaces every literal in `sql` by a placeholder and drops comments, without parsing: strings
 * ('…', E'…', B'…', X'…', U&'…', N'…'), dollar-quoted strings and numbers (decimal, exponent,
 * hex/octal/binary, with underscores), each possibly cut off by the end of the text. Quoted
 * identifiers and $n parameters stay. A string holding a backslash before a quote reads
 * differently depending on standard_conforming_strings; where that could move a literal's end,
 * everything from that string on is masked. Whitespace is collapsed.
 */
export function maskLiterals(sql: string): string {
  let next = highestParameter(sql) + 1;
  const placeholder = () => `$${next++}`;
  let out = '';
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i];
    const d = sql[i + 1];
    if (c === '-' && d === '-') {
      const end = sql.indexOf('\n', i);
      i = end < 0 ? n : end;
      out += ' ';
    } else if (c === '/' && d === '*') {
      i = blockCommentEnd(sql, i);
      out += ' ';
    } else if (c === "'") {
      const end = stringEnd(sql, i);
      if (end === undefined) return collapse(`${out}${placeholder()} …`);
      out += placeholder();
      i = end;
    } else if (c === '"') {
      const end = sql.indexOf('"', i + 1);
      const stop = end < 0 ? n : end + 1;
      out += sql.slice(i, stop);
      i = stop;
    } else if (c === '$') {
      const tag = /^\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/.exec(sql.slice(i, i + 65));
      if (tag) {
        const close = sql.indexOf(tag[0], i + tag[0].length);
        out += placeholder();
        if (close < 0) return collapse(`${out} …`);
        i = close + tag[0].length;
      } else {
        const param = /^\$[0-9]+/.exec(sql.slice(i, i + 12));
        const stop = i + (param ? param[0].length : 1);
        out += sql.slice(i, stop);
        i = stop;
      }
    } else if (DIGIT.test(c) || (c === '.' && d !== undefined && DIGIT.test(d))) {
      i = numberEnd(sql, i);
      out += placeholder();
    } else if (IDENT_START.test(c)) {
      let end = i + 1;
      while (end < n && IDENT_PART.test(sql[end])) end++;
      // E'…', B'…', X'…', N'…': the prefix is part of the literal (U&'…' keeps its "U&").
      if (sql[end] === "'" && /^[EeBbXxNn]$/.test(sql.slice(i, end))) i = end;
      else {
        out += sql.slice(i, end);
        i = end;
      }
    } else {
      out += c;
      i++;
    }
  }
  return collapse(out);
}

/**
 * Where the string literal opening at `start` ends (after its closing quote), or undefined when
 * the text ends first or the end is ambiguous: with standard_conforming_strings off, and in
 * E'…', a backslash escapes the next character, and whether it did here is unknown, so both
 * readings are tried and must agree.
 */
function stringEnd(sql: string, start: number): number | undefined {
  const standard = closingQuote(sql, start, false);
  const escaped = closingQuote(sql, start, true);
  return standard !== undefined && standard === escaped ? standard : undefined;
}

function closingQuote(sql: string, start: number, backslashEscapes: boolean): number | undefined {
  for (let i = start + 1; i < sql.length; i++) {
    const c = sql[i];
    if (backslashEscapes && c === '\\') i++;
    else if (c === "'") {
      if (sql[i + 1] !== "'") return i + 1;
      i++;
    }
  }
  return undefined;
}

function blockCommentEnd(sql: string, start: number): number {
  let depth = 0;
  let i = start;
  while (i < sql.length) {
    if (sql[i] === '/' && sql[i + 1] === '*') {
      depth++;
      i += 2;
    } else if (sql[i] === '*' && sql[i + 1] === '/') {
      depth--;
      i += 2;
      if (depth === 0) return i;
    } else i++;
  }
  return sql.length;
}

function numberEnd(sql: string, start: number): number {
  const m =
    /^(?:0[xX][0-9A-Fa-f_]*|0[oO][0-7_]*|0[bB][01_]*|(?:[0-9][0-9_]*)?\.?[0-9_]*(?:[eE][+-]?[0-9_]*)?)/.exec(
      sql.slice(start, start + 400),
    );
  const length = m && m[0].length > 0 ? m[0].length : 1;
  let end = start + length;
  // A number glued to letters (1abc, 0x1Fg) is still one token to hide.
  while (end < sql.length && IDENT_PART.test(sql[end])) end++;
  return end;
}

function highestParameter(sql: string): number {
  let max = 0;
  for (const m of sql.matchAll(/\$([0-9]+)/g)) max = Math.max(max, Number(m[1]));
  return max;
}

function collapse(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
