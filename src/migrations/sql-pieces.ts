/**
 * Cuts SQL into pieces at statement boundaries *before* it is parsed, so that the parser (WASM,
 * whose memory grows to ~65 times its input and never shrinks) is never handed a whole large file:
 * a 50 MB data file made it run out of memory. The boundaries are found by a small lexer that
 * knows every construct of PostgreSQL's scanner (scan.l) that can hide a `;`:
 * - '…' strings ('' escapes; backslashes are plain characters, as with
 *   standard_conforming_strings = on, the only setting the parser knows), B'…', X'…', N'…', U&'…';
 * - E'…' strings (backslash escapes, also in a '…' that continues them after a newline);
 * - "…" identifiers ("" escapes) and U&"…";
 * - $tag$…$tag$ dollar quotes (a `$` inside a word, `a$b$`, belongs to the word; `$1` is a parameter);
 * - -- comments and nested /* … *\/ comments;
 * - parentheses (CREATE RULE … DO (a; b)) and the BEGIN ATOMIC … END body of a SQL-standard
 *   function or procedure, tracked as psql tracks it (psqlscan.l).
 *
 * It cuts only where it is sure: after a `;` outside all of those. Where it is not (a quote that
 * never closes, an unbalanced parenthesis), it makes no further cut, and the rest of the text is
 * one piece, parsed whole as before, so that the parser reports the error.
 */

/**
 * Pieces are about this size. Smaller pieces leave less garbage behind each parse (V8 lets it
 * pile up until a full collection: 256 KB pieces peaked ~25 MB higher on a 100 MB file) and
 * parse no slower; a file under this size is one piece, as before.
 */
export const PIECE_BYTES = 16 * 1024;

/**
 * The largest statement the parser is handed. One statement cannot be cut, and parsing it takes
 * ~65 times its size in memory (a 10 MB INSERT: ~750 MB), so a larger one is refused before
 * anything runs rather than crash the parser.
 */
export const MAX_STATEMENT_BYTES = 8 * 1024 * 1024;

export interface Piece {
  /** Byte offsets in the text (end exclusive). A piece ends just after a `;`, or at the end. */
  start: number;
  end: number;
  /** Byte offset of the first token (after whitespace and comments); -1 when there is none. */
  firstToken: number;
  /** Number of top-level `;` in the piece (plus a last statement without one). */
  statements: number;
  /** Set on the last piece when the lexer met a construct that the text never closes. */
  unclosed?: Unclosed;
}

export interface Unclosed {
  what: string;
  /** Byte offset where it opens. */
  at: number;
}

// Byte classes.
const isSpace = (b: number) => b === 0x20 || (b >= 0x09 && b <= 0x0d);
const isIdentStart = (b: number) =>
  (b >= 0x61 && b <= 0x7a) || (b >= 0x41 && b <= 0x5a) || b === 0x5f || b >= 0x80;
const isDigit = (b: number) => b >= 0x30 && b <= 0x39;
const isIdentCont = (b: number) => isIdentStart(b) || isDigit(b) || b === 0x24;
const isNewline = (b: number) => b === 0x0a || b === 0x0d;

const QUOTE = 0x27; // '
const DQUOTE = 0x22; // "
const DOLLAR = 0x24;
const SEMI = 0x3b;
const BACKSLASH = 0x5c;

/** What the lexer knows about the statement it is in (reset at every top-level `;`). */
interface StatementState {
  parens: number;
  /** BEGIN [ATOMIC] … END nesting inside CREATE [OR REPLACE] FUNCTION/PROCEDURE (as psqlscan.l). */
  begins: number;
  /** First letters of the statement's first words when they are create/or/replace/function/procedure. */
  words: string[];
  wordCount: number;
}

const freshState = (): StatementState => ({ parens: 0, begins: 0, words: [], wordCount: 0 });

/**
 * The pieces of bytes start..end, in order: each under 2 × `target` bytes, unless it is a single
 * statement (or the unsure rest). Lazily: memory stays bounded whatever the text's size.
 */
export function* sqlPieces(
  bytes: Uint8Array,
  start: number,
  end: number,
  target: number = PIECE_BYTES,
): Generator<Piece> {
  let pieceStart = start;
  let pieceFirstToken = -1;
  let pieceStatements = 0;
  // The last top-level `;` of the current piece (just after it), and the first token after it.
  let lastCut = -1;
  let tokenAfterCut = -1;
  let state = freshState();
  let i = start;

  const token = (at: number) => {
    if (pieceFirstToken < 0) pieceFirstToken = at;
    if (lastCut >= 0 && tokenAfterCut < 0) tokenAfterCut = at;
  };
  /**
   * The statement ending at `at` was counted. When the piece is full, it is handed out; when that
   * statement alone is `target` or larger, the statements before it go first, so that a piece of
   * 2 × `target` or more always holds a single statement.
   */
  function* cutAt(at: number, final: boolean): Generator<Piece> {
    if (!final && at - pieceStart < target) {
      lastCut = at;
      tokenAfterCut = -1;
      return;
    }
    if (lastCut > pieceStart && at - lastCut >= target) {
      yield piece(pieceStart, lastCut, pieceFirstToken, pieceStatements - 1);
      pieceStart = lastCut;
      pieceFirstToken = tokenAfterCut;
      pieceStatements = 1;
    }
    if (at > pieceStart) yield piece(pieceStart, at, pieceFirstToken, pieceStatements);
    pieceStart = at;
    pieceFirstToken = -1;
    pieceStatements = 0;
    lastCut = -1;
    tokenAfterCut = -1;
  }
  function* rest(unclosed: Unclosed): Generator<Piece> {
    yield { ...piece(pieceStart, end, pieceFirstToken, pieceStatements + 1), unclosed };
  }

  while (i < end) {
    const b = bytes[i];
    if (isSpace(b)) {
      i++;
      continue;
    }
    // Comments (scan.l starts one at `--` or `/*` even inside an operator).
    if (b === 0x2d && bytes[i + 1] === 0x2d && i + 1 < end) {
      i = lineEnd(bytes, i, end);
      continue;
    }
    if (b === 0x2f && bytes[i + 1] === 0x2a && i + 1 < end) {
      const close = blockCommentEnd(bytes, i, end);
      if (close < 0) return yield* rest({ what: 'a /* comment', at: i });
      i = close;
      continue;
    }
    token(i);
    if (b === SEMI) {
      i++;
      if (state.parens > 0 || state.begins > 0) continue;
      pieceStatements++;
      state = freshState();
      yield* cutAt(i, false);
      continue;
    }
    if (b === QUOTE) {
      const close = quotedEnd(bytes, i, end, QUOTE, false);
      if (close < 0) return yield* rest({ what: 'a quoted string', at: i });
      i = close;
      continue;
    }
    if (b === DQUOTE) {
      const close = quotedEnd(bytes, i, end, DQUOTE, false);
      if (close < 0) return yield* rest({ what: 'a quoted identifier', at: i });
      i = close;
      continue;
    }
    if (b === DOLLAR) {
      const tagEnd = dollarTagEnd(bytes, i, end);
      if (tagEnd < 0) {
        i++;
        while (i < end && isDigit(bytes[i])) i++; // a parameter ($1) or a lone `$`
        continue;
      }
      const close = indexOfBytes(bytes, bytes.subarray(i, tagEnd), tagEnd, end);
      if (close < 0) return yield* rest({ what: 'a dollar-quoted string', at: i });
      i = close + (tagEnd - i);
      continue;
    }
    if (isIdentStart(b)) {
      const wordStart = i;
      while (i < end && isIdentCont(bytes[i])) i++;
      // E'…' (a token of its own, not the end of a longer word): backslashes escape.
      if (i - wordStart === 1 && (b === 0x45 || b === 0x65) && bytes[i] === QUOTE && i < end) {
        const close = extendedStringEnd(bytes, i, end);
        if (close < 0) return yield* rest({ what: "an E'…' string", at: wordStart });
        i = close;
        continue;
      }
      noteWord(state, bytes, wordStart, i);
      continue;
    }
    if (isDigit(b)) {
      // A number (with any trailing junk the parser will refuse): never absorbs a `$`.
      i++;
      while (i < end && (isIdentStart(bytes[i]) || isDigit(bytes[i]) || bytes[i] === 0x2e)) i++;
      continue;
    }
    if (b === 0x28) state.parens++;
    else if (b === 0x29 && state.parens > 0) state.parens--;
    i++;
  }
  // The text after the last `;` (a last statement without one, or only comments).
  if (pieceFirstToken >= 0 && (lastCut < 0 || tokenAfterCut >= 0)) pieceStatements++;
  yield* cutAt(end, true);
}

function piece(start: number, end: number, firstToken: number, statements: number): Piece {
  return { start, end, firstToken, statements };
}

/** psqlscan.l's heuristic for `;` inside BEGIN ATOMIC … END (CASE … END nests inside it). */
function noteWord(state: StatementState, bytes: Uint8Array, start: number, end: number): void {
  const word = end - start <= 9 ? asciiLower(bytes, start, end) : '';
  if (state.wordCount < 4 && ['create', 'or', 'replace', 'function', 'procedure'].includes(word)) {
    state.words[state.wordCount] = word[0];
  }
  state.wordCount++;
  const [w0, w1, w2, w3] = state.words;
  const routine =
    w0 === 'c' && (w1 === 'f' || w1 === 'p' || (w1 === 'o' && w2 === 'r' && (w3 === 'f' || w3 === 'p')));
  if (!routine || state.parens > 0) return;
  if (word === 'begin') state.begins++;
  else if (word === 'case' && state.begins > 0) state.begins++;
  else if (word === 'end' && state.begins > 0) state.begins--;
}

function asciiLower(bytes: Uint8Array, start: number, end: number): string {
  let s = '';
  for (let i = start; i < end; i++) s += String.fromCharCode(bytes[i] | 0x20);
  return s;
}

function lineEnd(bytes: Uint8Array, i: number, end: number): number {
  while (i < end && !isNewline(bytes[i])) i++;
  return i;
}

/** Just past the `*\/` closing the (nested) comment that opens at i; -1 when it never closes. */
function blockCommentEnd(bytes: Uint8Array, i: number, end: number): number {
  let depth = 0;
  while (i < end) {
    if (bytes[i] === 0x2f && bytes[i + 1] === 0x2a && i + 1 < end) {
      depth++;
      i += 2;
    } else if (bytes[i] === 0x2a && bytes[i + 1] === 0x2f && i + 1 < end) {
      depth--;
      i += 2;
      if (depth === 0) return i;
    } else i++;
  }
  return -1;
}

/** Just past the quote closing the one at i (doubled quotes are escapes); -1 when none. */
function quotedEnd(bytes: Uint8Array, i: number, end: number, quote: number, backslashes: boolean): number {
  i++;
  while (i < end) {
    const b = bytes[i];
    if (backslashes && b === BACKSLASH) i += 2;
    else if (b === quote) {
      if (bytes[i + 1] === quote && i + 1 < end) i += 2;
      else return i + 1;
    } else i++;
  }
  return -1;
}

/**
 * An E'…' string from its quote at i, with its continuations: scan.l keeps lexing in the same
 * mode when the string is followed by whitespace holding a newline (and -- comments) and a quote.
 */
function extendedStringEnd(bytes: Uint8Array, i: number, end: number): number {
  for (;;) {
    const close = quotedEnd(bytes, i, end, QUOTE, true);
    if (close < 0 || close > end) return -1;
    const next = continuedQuote(bytes, close, end);
    if (next < 0) return close;
    i = next;
  }
}

/**
 * The position of a quote continuing the string that ended at i, or -1 (scan.l: quotecontinue):
 * spaces, a newline, any whitespace, then a quote. A comment in between ends the string (as
 * libpg-query's scanner does).
 */
function continuedQuote(bytes: Uint8Array, i: number, end: number): number {
  while (i < end && (bytes[i] === 0x20 || bytes[i] === 0x09 || bytes[i] === 0x0c)) i++;
  if (i >= end || !isNewline(bytes[i])) return -1;
  while (i < end && isSpace(bytes[i])) i++;
  return i < end && bytes[i] === QUOTE ? i : -1;
}

/** Just past the `$tag$` delimiter opening at i, or -1 when the `$` opens none. */
function dollarTagEnd(bytes: Uint8Array, i: number, end: number): number {
  let j = i + 1;
  if (j < end && bytes[j] !== DOLLAR) {
    if (!isIdentStart(bytes[j])) return -1;
    while (j < end && (isIdentStart(bytes[j]) || isDigit(bytes[j]))) j++;
  }
  return j < end && bytes[j] === DOLLAR ? j + 1 : -1;
}

function indexOfBytes(bytes: Uint8Array, needle: Uint8Array, from: number, end: number): number {
  const found = Buffer.from(bytes.buffer, bytes.byteOffset, end).indexOf(needle, from);
  return found;
}
