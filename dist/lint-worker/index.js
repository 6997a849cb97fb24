import { createRequire as __WEBPACK_EXTERNAL_createRequire } from "module";
/******/ var __webpack_modules__ = ({

/***/ 227:
/***/ ((__unused_webpack_module, __webpack_exports__, __nccwpck_require__) => {

/* harmony export */ __nccwpck_require__.d(__webpack_exports__, {
/* harmony export */   OF: () => (/* binding */ AHEAD_BYTES),
/* harmony export */   Xf: () => (/* binding */ WORKER_MAX_FILE_BYTES),
/* harmony export */   fe: () => (/* binding */ CONSUMED)
/* harmony export */ });
/** What the linter's main thread and its parse worker (parse-ahead.ts, parse-worker.ts) exchange. */
/** The one slot of the shared Int32Array: the file the main thread is linting (the worker waits when it is too far ahead of it). */
const CONSUMED = 0;
/** How much source the worker parses beyond the main thread's file (their JSON is ~6 times that). */
const AHEAD_BYTES = 4 * 1024 * 1024;
/** Larger files are left to the main thread, which parses them piece by piece in bounded memory. */
const WORKER_MAX_FILE_BYTES = 1024 * 1024;


/***/ }),

/***/ 181:
/***/ ((module, __unused_webpack___webpack_exports__, __nccwpck_require__) => {

__nccwpck_require__.a(module, async (__webpack_handle_async_dependencies__, __webpack_async_result__) => { try {
/* harmony import */ var node_worker_threads__WEBPACK_IMPORTED_MODULE_0__ = __nccwpck_require__(919);
/* harmony import */ var node_worker_threads__WEBPACK_IMPORTED_MODULE_0___default = /*#__PURE__*/__nccwpck_require__.n(node_worker_threads__WEBPACK_IMPORTED_MODULE_0__);
/* harmony import */ var _migrations_parse_pieces_js__WEBPACK_IMPORTED_MODULE_1__ = __nccwpck_require__(435);
/* harmony import */ var _migrations_parser_js__WEBPACK_IMPORTED_MODULE_2__ = __nccwpck_require__(348);
/* harmony import */ var _migrations_source_text_js__WEBPACK_IMPORTED_MODULE_4__ = __nccwpck_require__(890);
/* harmony import */ var _parse_protocol_js__WEBPACK_IMPORTED_MODULE_3__ = __nccwpck_require__(227);
/**
 * The lint parse worker (bundled on its own as dist/lint-worker/index.js; started by
 * parse-ahead.ts). It parses the migration files in order, ahead of the linter on the main
 * thread, with its own copy of the parser and exactly as the main thread would (parseInPieces,
 * piece by piece), and hands back every parse it made as the parser's JSON text: the main thread
 * then only reads the JSON, and the parsing (the larger part of a lint) runs on a second core.
 */





const shared = new Int32Array(node_worker_threads__WEBPACK_IMPORTED_MODULE_0__.workerData.shared);
const port = node_worker_threads__WEBPACK_IMPORTED_MODULE_0__.parentPort;
// The parser loads while the main thread reads the files; then they come, in one message.
const [parser, input] = await Promise.all([
    (0,_migrations_parser_js__WEBPACK_IMPORTED_MODULE_2__/* .loadParser */ .q)(),
    new Promise((resolve) => port.once('message', resolve)),
]);
// Source bytes before each file: how far ahead of the main thread the worker is.
const before = [0];
for (const file of input.files)
    before.push(before[before.length - 1] + (file.end - file.start));
for (let index = 0; index < input.files.length; index++) {
    waitWhileFarAhead(index);
    port.postMessage(parseFile(index));
}
/**
 * Parses up to AHEAD_BYTES of source beyond the file the main thread is linting, at least one
 * file: the JSON of what the main thread has not read yet stays bounded.
 */
function waitWhileFarAhead(next) {
    for (;;) {
        const consumed = Atomics.load(shared, _parse_protocol_js__WEBPACK_IMPORTED_MODULE_3__/* .CONSUMED */ .fe);
        if (next <= consumed + 1 || before[next] - before[consumed] <= _parse_protocol_js__WEBPACK_IMPORTED_MODULE_3__/* .AHEAD_BYTES */ .OF)
            return;
        // Woken when the main thread moves on; the timeout only guards against a missed wake-up.
        Atomics.wait(shared, _parse_protocol_js__WEBPACK_IMPORTED_MODULE_3__/* .CONSUMED */ .fe, consumed, 100);
    }
}
function parseFile(index) {
    const { file, bytes, start, end } = input.files[index];
    // A file this large is parsed piece by piece on the main thread, as without a worker: its
    // whole parse tree at once (~6 times its size as JSON) is what the pieces exist to avoid.
    if (!bytes || end - start > _parse_protocol_js__WEBPACK_IMPORTED_MODULE_3__/* .WORKER_MAX_FILE_BYTES */ .Xf)
        return { index, calls: [], clean: false };
    const calls = [];
    let pieces;
    const source = new _migrations_source_text_js__WEBPACK_IMPORTED_MODULE_4__/* .SourceText */ .D(undefined, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    const record = (call, sql) => {
        try {
            const json = parseToJson(sql);
            calls.push({ ...call, json });
            return { stmts: [] };
        }
        catch (error) {
            const { message, sqlDetails } = error;
            calls.push({ ...call, error: { message, sqlDetails } });
            throw error;
        }
    };
    const recorder = {
        // Cut once, here, and handed over with the parses.
        knownPieces: (from, to) => from === start && to === end && !pieces ? (pieces = [...(0,_migrations_parse_pieces_js__WEBPACK_IMPORTED_MODULE_1__/* .piecesOf */ .X)(source, from, to)]) : undefined,
        // The worker never reads the tree (the main thread does), so nothing more is parsed here.
        parseRange: (text, from, to) => record({ range: [from, to] }, text.slice(from, to)),
        parseSync: (sql) => record({ sql }, sql),
    };
    try {
        for (const raw of (0,_migrations_parse_pieces_js__WEBPACK_IMPORTED_MODULE_1__/* .parseInPieces */ .w)(recorder, source, start, end, file).stmts)
            void raw;
        return { index, calls, pieces, clean: true };
    }
    catch {
        // A syntax error or a psql feature: the main thread parses what follows it itself (the
        // recorded calls still answer the ones it repeats).
        return { index, calls, clean: false };
    }
}
/**
 * The parser's result as the JSON text it produces. libpg-query hands that text to JSON.parse
 * and returns the object; the main thread would have to stringify it again to receive it as
 * cheaply. Catching the text on its way (this worker's JSON only, for the duration of one
 * synchronous call) saves the worker a parse and a stringify per piece; should a future version
 * of the library build its tree differently, the object it returns is stringified instead.
 */
function parseToJson(sql) {
    const realParse = JSON.parse;
    let text;
    const caught = { stmts: [] };
    JSON.parse = ((json) => {
        text = json;
        return caught;
    });
    let tree;
    try {
        tree = parser.parseSync(sql);
    }
    finally {
        JSON.parse = realParse;
    }
    return tree === caught && text !== undefined ? text : JSON.stringify(tree);
}

__webpack_async_result__();
} catch(e) { __webpack_async_result__(e); } }, 1);

/***/ }),

/***/ 435:
/***/ ((__unused_webpack_module, __webpack_exports__, __nccwpck_require__) => {


// EXPORTS
__nccwpck_require__.d(__webpack_exports__, {
  w: () => (/* binding */ parseInPieces),
  X: () => (/* binding */ piecesOf)
});

;// CONCATENATED MODULE: ./src/errors.ts
/**
 * An error the user can act on: `message` says what happened, `location` where, `hint` what to do.
 * `code` is stable and machine-readable (used in reports and tests).
 */
class GuardError extends Error {
    code;
    options;
    constructor(code, message, options = {}) {
        super(message, { cause: options.cause });
        this.code = code;
        this.options = options;
        this.name = 'GuardError';
    }
    get location() {
        return this.options.location;
    }
    get hint() {
        return this.options.hint;
    }
    /** One line for logs: "file:line:col: message (hint)". */
    describe() {
        return [formatLocation(this.location), this.message, this.hint ? `\n  ${this.hint}` : '']
            .filter(Boolean)
            .join('');
    }
}
/** "file:line:column: " (or "" without a file); takes a SourceLocation or an error detail. */
function formatLocation(location) {
    if (!location?.file)
        return '';
    const parts = [location.file, location.line, location.column].filter((p) => p !== undefined);
    return `${parts.join(':')}: `;
}
function errorMessage(error) {
    if (error instanceof GuardError)
        return error.describe();
    if (error instanceof Error)
        return error.message;
    return String(error);
}

;// CONCATENATED MODULE: ./src/migrations/psql-features.ts

/**
 * Scripts written for psql may use what only psql understands: meta-commands (`\i`, `\set`,
 * `\connect`, …) and the data lines of `COPY … FROM stdin`. The server never sees those, and
 * neither does this tool, which sends SQL statements only: say so at their line instead of
 * reporting a syntax error (or, for a COPY, hanging on input that never comes).
 */
const NOTHING_RUN = 'Nothing has been run.';
/** `COPY … FROM stdin` (or `pstdin`): the server would wait for rows that only psql can send. */
function isCopyFromStdin(nodeType, node) {
    return nodeType === 'CopyStmt' && node.is_from === true && node.filename === undefined && !node.is_program;
}
function copyFromStdinError(file, at) {
    return new GuardError('parse-error', 'COPY … FROM stdin reads its rows from psql (the data lines after the statement); this tool runs SQL statements only and has no such input', {
        location: { file, ...at },
        hint: `Write the rows as INSERT statements (pg_dump --inserts produces them), or load the data in a step of its own outside the migration. ${NOTHING_RUN}`,
    });
}
/**
 * After the parser stopped at `errorByte`: the psql feature that made it stop, as an error
 * naming its line, or undefined for an ordinary syntax error. The parser's position is where the
 * text stopped being SQL, so nothing inside a string or a dollar-quoted body is ever mistaken for
 * a meta-command.
 */
function psqlFeatureError(parser, source, start, errorByte, file) {
    // Rows after a COPY … FROM stdin can look like anything, a `\N` (NULL) or the closing `\.`
    // included: the COPY comes first.
    const copy = copyFromStdinBefore(parser, source, start, errorByte);
    if (copy !== undefined)
        return copyFromStdinError(file, source.position(copy));
    if (source.bytes[errorByte] !== 0x5c)
        return undefined;
    const command = /^\\([A-Za-z_]+|\S)?/.exec(source.slice(errorByte, errorByte + 64))?.[1] ?? '';
    const { message, hint } = describeMetaCommand(command);
    return new GuardError('parse-error', message, {
        location: { file, ...source.position(errorByte) },
        hint: `${hint} ${NOTHING_RUN}`,
    });
}
function describeMetaCommand(command) {
    const name = `\\${command}`;
    const only = 'this tool runs SQL statements only, not psql meta-commands';
    switch (command) {
        case 'i':
        case 'ir':
        case 'include':
        case 'include_relative':
            return {
                message: `${name} includes another file in psql; ${only}`,
                hint: "Inline the included file's statements here, or make that file a migration of its own.",
            };
        case 'set':
        case 'unset':
            return {
                message: `${name} sets a psql variable; ${only}, and :variables are never substituted`,
                hint: `Write the value into the SQL where the variable is used, and remove the ${name} line.`,
            };
        case 'c':
        case 'connect':
            return {
                message: `${name} connects psql to another database; ${only}, and a migration runs on the one database the run targets`,
                hint: 'Remove it; migrate another database with a run of its own (its own database-url).',
            };
        case 'copy':
            return {
                message: `${name} copies data through psql; ${only}`,
                hint: 'Write the rows as INSERT statements.',
            };
        case '.':
            return {
                message: `\\. ends the data of a COPY … FROM stdin in psql; ${only}`,
                hint: 'Write the rows as INSERT statements instead of COPY data.',
            };
        default:
            return {
                message: `${name} is a psql meta-command; ${only}`,
                hint: `Remove it, or do in SQL what ${name} does.`,
            };
    }
}
/** Lines to step back from the error while looking for the statement the COPY data follows. */
const COPY_SEARCH_LINES = 8;
/**
 * The byte offset of a `COPY … FROM stdin` whose data lines the parser stopped in, if any. Every
 * statement before the data parses, so the text up to the line where parsing failed (or a line
 * or so before it, when the data happened to continue a statement) parses and ends with it.
 */
function copyFromStdinBefore(parser, source, start, errorByte) {
    const before = source.slice(start, errorByte);
    // Most syntax errors have no COPY before them: they cost no second parse.
    if (!/\bcopy\b/i.test(before) || !/\bp?stdin\b/i.test(before))
        return undefined;
    let cut = lineStart(source, errorByte);
    for (let tries = 0; tries < COPY_SEARCH_LINES && cut > start; tries++) {
        const text = source.slice(start, cut);
        if (text.trim() === '')
            return undefined;
        let stmts;
        try {
            stmts = parser.parseSync(text).stmts ?? [];
        }
        catch {
            cut = lineStart(source, cut - 1);
            continue;
        }
        for (const raw of stmts) {
            const [nodeType, node] = Object.entries(raw.stmt)[0];
            if (isCopyFromStdin(nodeType, node))
                return start + (raw.stmt_location ?? 0);
        }
        return undefined;
    }
    return undefined;
}
function lineStart(source, byteOffset) {
    return byteOffset <= 0 ? 0 : source.bytes.lastIndexOf(0x0a, byteOffset - 1) + 1;
}

;// CONCATENATED MODULE: ./src/migrations/sql-pieces.ts
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
const PIECE_BYTES = 16 * 1024;
/**
 * The largest statement the parser is handed. One statement cannot be cut, and parsing it takes
 * ~65 times its size in memory (a 10 MB INSERT: ~750 MB), so a larger one is refused before
 * anything runs rather than crash the parser.
 */
const MAX_STATEMENT_BYTES = 8 * 1024 * 1024;
// Byte classes.
const isSpace = (b) => b === 0x20 || (b >= 0x09 && b <= 0x0d);
const isIdentStart = (b) => (b >= 0x61 && b <= 0x7a) || (b >= 0x41 && b <= 0x5a) || b === 0x5f || b >= 0x80;
const isDigit = (b) => b >= 0x30 && b <= 0x39;
const isIdentCont = (b) => isIdentStart(b) || isDigit(b) || b === 0x24;
const isNewline = (b) => b === 0x0a || b === 0x0d;
const QUOTE = 0x27; // '
const DQUOTE = 0x22; // "
const DOLLAR = 0x24;
const SEMI = 0x3b;
const BACKSLASH = 0x5c;
const freshState = () => ({ parens: 0, begins: 0, words: [], wordCount: 0 });
/**
 * The pieces of bytes start..end, in order: each under 2 × `target` bytes, unless it is a single
 * statement (or the unsure rest). Lazily: memory stays bounded whatever the text's size.
 */
function* sqlPieces(bytes, start, end, target = PIECE_BYTES) {
    let pieceStart = start;
    let pieceFirstToken = -1;
    let pieceStatements = 0;
    // The last top-level `;` of the current piece (just after it), and the first token after it.
    let lastCut = -1;
    let tokenAfterCut = -1;
    let state = freshState();
    let i = start;
    const token = (at) => {
        if (pieceFirstToken < 0)
            pieceFirstToken = at;
        if (lastCut >= 0 && tokenAfterCut < 0)
            tokenAfterCut = at;
    };
    /**
     * The statement ending at `at` was counted. When the piece is full, it is handed out; when that
     * statement alone is `target` or larger, the statements before it go first, so that a piece of
     * 2 × `target` or more always holds a single statement.
     */
    function* cutAt(at, final) {
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
        if (at > pieceStart)
            yield piece(pieceStart, at, pieceFirstToken, pieceStatements);
        pieceStart = at;
        pieceFirstToken = -1;
        pieceStatements = 0;
        lastCut = -1;
        tokenAfterCut = -1;
    }
    function* rest(unclosed) {
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
            if (close < 0)
                return yield* rest({ what: 'a /* comment', at: i });
            i = close;
            continue;
        }
        token(i);
        if (b === SEMI) {
            i++;
            if (state.parens > 0 || state.begins > 0)
                continue;
            pieceStatements++;
            state = freshState();
            yield* cutAt(i, false);
            continue;
        }
        if (b === QUOTE) {
            const close = quotedEnd(bytes, i, end, QUOTE, false);
            if (close < 0)
                return yield* rest({ what: 'a quoted string', at: i });
            i = close;
            continue;
        }
        if (b === DQUOTE) {
            const close = quotedEnd(bytes, i, end, DQUOTE, false);
            if (close < 0)
                return yield* rest({ what: 'a quoted identifier', at: i });
            i = close;
            continue;
        }
        if (b === DOLLAR) {
            const tagEnd = dollarTagEnd(bytes, i, end);
            if (tagEnd < 0) {
                i++;
                while (i < end && isDigit(bytes[i]))
                    i++; // a parameter ($1) or a lone `$`
                continue;
            }
            const close = indexOfBytes(bytes, bytes.subarray(i, tagEnd), tagEnd, end);
            if (close < 0)
                return yield* rest({ what: 'a dollar-quoted string', at: i });
            i = close + (tagEnd - i);
            continue;
        }
        if (isIdentStart(b)) {
            const wordStart = i;
            while (i < end && isIdentCont(bytes[i]))
                i++;
            // E'…' (a token of its own, not the end of a longer word): backslashes escape.
            if (i - wordStart === 1 && (b === 0x45 || b === 0x65) && bytes[i] === QUOTE && i < end) {
                const close = extendedStringEnd(bytes, i, end);
                if (close < 0)
                    return yield* rest({ what: "an E'…' string", at: wordStart });
                i = close;
                continue;
            }
            noteWord(state, bytes, wordStart, i);
            continue;
        }
        if (isDigit(b)) {
            // A number (with any trailing junk the parser will refuse): never absorbs a `$`.
            i++;
            while (i < end && (isIdentStart(bytes[i]) || isDigit(bytes[i]) || bytes[i] === 0x2e))
                i++;
            continue;
        }
        if (b === 0x28)
            state.parens++;
        else if (b === 0x29 && state.parens > 0)
            state.parens--;
        i++;
    }
    // The text after the last `;` (a last statement without one, or only comments).
    if (pieceFirstToken >= 0 && (lastCut < 0 || tokenAfterCut >= 0))
        pieceStatements++;
    yield* cutAt(end, true);
}
function piece(start, end, firstToken, statements) {
    return { start, end, firstToken, statements };
}
/** psqlscan.l's heuristic for `;` inside BEGIN ATOMIC … END (CASE … END nests inside it). */
function noteWord(state, bytes, start, end) {
    const word = end - start <= 9 ? asciiLower(bytes, start, end) : '';
    if (state.wordCount < 4 && ['create', 'or', 'replace', 'function', 'procedure'].includes(word)) {
        state.words[state.wordCount] = word[0];
    }
    state.wordCount++;
    const [w0, w1, w2, w3] = state.words;
    const routine = w0 === 'c' && (w1 === 'f' || w1 === 'p' || (w1 === 'o' && w2 === 'r' && (w3 === 'f' || w3 === 'p')));
    if (!routine || state.parens > 0)
        return;
    if (word === 'begin')
        state.begins++;
    else if (word === 'case' && state.begins > 0)
        state.begins++;
    else if (word === 'end' && state.begins > 0)
        state.begins--;
}
function asciiLower(bytes, start, end) {
    let s = '';
    for (let i = start; i < end; i++)
        s += String.fromCharCode(bytes[i] | 0x20);
    return s;
}
function lineEnd(bytes, i, end) {
    while (i < end && !isNewline(bytes[i]))
        i++;
    return i;
}
/** Just past the `*\/` closing the (nested) comment that opens at i; -1 when it never closes. */
function blockCommentEnd(bytes, i, end) {
    let depth = 0;
    while (i < end) {
        if (bytes[i] === 0x2f && bytes[i + 1] === 0x2a && i + 1 < end) {
            depth++;
            i += 2;
        }
        else if (bytes[i] === 0x2a && bytes[i + 1] === 0x2f && i + 1 < end) {
            depth--;
            i += 2;
            if (depth === 0)
                return i;
        }
        else
            i++;
    }
    return -1;
}
/** Just past the quote closing the one at i (doubled quotes are escapes); -1 when none. */
function quotedEnd(bytes, i, end, quote, backslashes) {
    i++;
    while (i < end) {
        const b = bytes[i];
        if (backslashes && b === BACKSLASH)
            i += 2;
        else if (b === quote) {
            if (bytes[i + 1] === quote && i + 1 < end)
                i += 2;
            else
                return i + 1;
        }
        else
            i++;
    }
    return -1;
}
/**
 * An E'…' string from its quote at i, with its continuations: scan.l keeps lexing in the same
 * mode when the string is followed by whitespace holding a newline (and -- comments) and a quote.
 */
function extendedStringEnd(bytes, i, end) {
    for (;;) {
        const close = quotedEnd(bytes, i, end, QUOTE, true);
        if (close < 0 || close > end)
            return -1;
        const next = continuedQuote(bytes, close, end);
        if (next < 0)
            return close;
        i = next;
    }
}
/**
 * The position of a quote continuing the string that ended at i, or -1 (scan.l: quotecontinue):
 * spaces, a newline, any whitespace, then a quote. A comment in between ends the string (as
 * libpg-query's scanner does).
 */
function continuedQuote(bytes, i, end) {
    while (i < end && (bytes[i] === 0x20 || bytes[i] === 0x09 || bytes[i] === 0x0c))
        i++;
    if (i >= end || !isNewline(bytes[i]))
        return -1;
    while (i < end && isSpace(bytes[i]))
        i++;
    return i < end && bytes[i] === QUOTE ? i : -1;
}
/** Just past the `$tag$` delimiter opening at i, or -1 when the `$` opens none. */
function dollarTagEnd(bytes, i, end) {
    let j = i + 1;
    if (j < end && bytes[j] !== DOLLAR) {
        if (!isIdentStart(bytes[j]))
            return -1;
        while (j < end && (isIdentStart(bytes[j]) || isDigit(bytes[j])))
            j++;
    }
    return j < end && bytes[j] === DOLLAR ? j + 1 : -1;
}
function indexOfBytes(bytes, needle, from, end) {
    const found = Buffer.from(bytes.buffer, bytes.byteOffset, end).indexOf(needle, from);
    return found;
}

;// CONCATENATED MODULE: ./src/migrations/parse-pieces.ts



/**
 * Parses bytes start..end of `source` as `parser.parseSync` would parse them whole, but piece by
 * piece (sql-pieces.ts): the parser is handed one piece at a time (~16 KB, or one statement up to
 * MAX_STATEMENT_BYTES), and each piece's syntax tree is dropped once its statements are consumed,
 * so memory stays bounded whatever the file's size. Offsets are shifted to be relative to `start`,
 * exactly as a whole parse gives them.
 *
 * Errors are GuardErrors naming file:line:column: a syntax error as the whole parse reports it,
 * a statement too large to parse, or (above that size) a quote or comment that never closes.
 */
function parseInPieces(parser, source, start, end, file, 
/** Piece size (tests use tiny pieces to cut at every boundary). */
pieceBytes = PIECE_BYTES) {
    // Where the statements handed out so far end (a fallback parses the rest of the range at once).
    let parsedTo = start;
    return { stmts: statements() };
    function* statements() {
        for (const piece of parser.knownPieces?.(start, end) ?? piecesOf(source, start, end, pieceBytes)) {
            if (piece.start < parsedTo)
                continue;
            if (piece.firstToken < 0 && !piece.unclosed)
                continue; // whitespace and (closed) comments only
            yield* parsePiece(piece);
        }
    }
    function parseBytes(from, to) {
        return parser.parseRange ? parser.parseRange(source, from, to) : parser.parseSync(source.slice(from, to));
    }
    function parsePiece(piece) {
        refuseOversized(piece);
        let parsed;
        try {
            parsed = parseBytes(piece.start, piece.end);
        }
        catch (error) {
            // The lexer cut where it was sure; should it have been wrong, the rest of the file parsed
            // whole (as before pieces existed) is the reference, when it is small enough to parse.
            if (piece.end === end || end - piece.start > MAX_STATEMENT_BYTES) {
                throw syntaxError(error, piece.start, piece.end);
            }
            try {
                parsed = parseBytes(piece.start, end);
            }
            catch (wholeError) {
                throw syntaxError(wholeError, piece.start, end);
            }
            piece = { ...piece, end };
        }
        parsedTo = piece.end;
        const shift = piece.start - start;
        return (parsed.stmts ?? []).map((raw) => {
            const location = raw.stmt_location ?? 0;
            // Only the range's very last statement may run to its end without a length.
            const length = raw.stmt_len || (piece.end === end ? undefined : piece.end - piece.start - location);
            return { stmt: raw.stmt, stmt_location: shift + location, stmt_len: length, nodeBase: piece.start };
        });
    }
    function refuseOversized(piece) {
        const size = piece.end - piece.start;
        if (size <= MAX_STATEMENT_BYTES)
            return;
        if (piece.unclosed) {
            // What the parser would report, found without handing it the rest of the file.
            throw new GuardError('parse-error', `SQL syntax error: ${piece.unclosed.what} opened here is never closed: the rest of the file (${megabytes(end - piece.unclosed.at)}) would be part of it`, {
                location: { file, ...source.position(piece.unclosed.at) },
                hint: 'Close it; nothing has been run.',
            });
        }
        throw new GuardError('too-large', `Statement of ${megabytes(size)} is larger than the ${megabytes(MAX_STATEMENT_BYTES)} a single statement may have: the SQL parser needs about 65 times a statement's size in memory to split and classify it`, {
            location: { file, ...source.position(piece.firstToken < 0 ? piece.start : piece.firstToken) },
            hint: 'Split it into smaller statements (for example INSERTs of fewer rows each; a file may hold any number of them), ' +
                'or load the data outside the migration (COPY, psql). Nothing has been run.',
        });
    }
    function syntaxError(error, from, to) {
        const details = error.sqlDetails;
        if (!details) {
            // Not a syntax error (the parser itself failed): say so rather than blame the SQL.
            return new GuardError('parse-error', `The SQL parser failed on the ${megabytes(to - from)} of SQL starting here: ${error.message}`, {
                location: { file, ...source.position(from) },
                hint: 'This is not known to be an error in the file: split the file and report the problem. Nothing has been run.',
                cause: error,
            });
        }
        // cursorPosition counts characters (code points) from the start of the text parsed.
        const at = source.byteOffsetOfChar(from, details.cursorPosition, to);
        // Where the parser stopped at a psql meta-command (or the data of a COPY … FROM stdin), say so.
        const psqlFeature = psqlFeatureError(parser, source, start, at, file);
        if (psqlFeature)
            return psqlFeature;
        return new GuardError('parse-error', `SQL syntax error: ${error.message}`, {
            location: { file, ...source.position(at) },
            hint: 'Fix the statement at this position; nothing has been run.',
            cause: error,
        });
    }
}
/**
 * The pieces of bytes start..end. A range under the piece size is one piece whatever it holds (the
 * lexer would cut nowhere before its end), so it goes to the parser whole without being lexed:
 * most migration files are that small.
 */
function piecesOf(source, start, end, pieceBytes = PIECE_BYTES) {
    if (end <= start)
        return []; // the parser refuses empty text
    if (end - start < pieceBytes)
        return [{ start, end, firstToken: start, statements: 1 }];
    return sqlPieces(source.bytes, start, end, pieceBytes);
}
function megabytes(bytes) {
    const mb = bytes / (1024 * 1024);
    return `${mb >= 10 ? Math.round(mb) : Math.round(mb * 10) / 10} MB`;
}


/***/ }),

/***/ 348:
/***/ ((__unused_webpack_module, __webpack_exports__, __nccwpck_require__) => {


// EXPORTS
__nccwpck_require__.d(__webpack_exports__, {
  q: () => (/* binding */ loadParser)
});

// EXTERNAL MODULE: external "node:fs"
var external_node_fs_ = __nccwpck_require__(24);
;// CONCATENATED MODULE: external "node:path"
const external_node_path_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:path");
;// CONCATENATED MODULE: external "node:url"
const external_node_url_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:url");
;// CONCATENATED MODULE: ./src/migrations/parser.ts



let loading;
/**
 * Loads the PostgreSQL parser (WASM) on first use only: status and no-op runs never pay for it.
 * Inside the ncc bundle the library looks for its .wasm beside `__dirname`, which ESM lacks,
 * so point it at the bundle's folder when the build copied the file there.
 */
function loadParser() {
    loading ??= (async () => {
        const here = (0,external_node_path_namespaceObject.dirname)((0,external_node_url_namespaceObject.fileURLToPath)(import.meta.url));
        // The CLI bundle sits in dist/cli/ and shares the action's copy in dist/.
        const bundleDir = [here, (0,external_node_path_namespaceObject.dirname)(here)].find((dir) => (0,external_node_fs_.existsSync)((0,external_node_path_namespaceObject.join)(dir, 'libpg-query.wasm')));
        if (bundleDir)
            globalThis.__dirname = bundleDir;
        await keepWasmOnBaselineTier();
        const lib = await __nccwpck_require__.e(/* import() */ 627).then(__nccwpck_require__.t.bind(__nccwpck_require__, 627, 23));
        await lib.loadModule();
        return lib;
    })();
    return loading;
}
/**
 * V8 compiles WebAssembly with its baseline compiler first and recompiles hot functions with its
 * optimising one in the background. The parser's state machine is one huge function: optimising
 * it takes a core for ~1.8 s (on this project's 2-core machine), far longer than a run parses,
 * so it never pays off; it only takes the CPU from the database server beside us, and Node 24
 * waits for it to finish before the process can exit (+1 s on every apply). These flags are read
 * when a module is compiled, so setting them before the parser's first (and only) compilation is
 * enough; the V8 flags of anything else are untouched. Measured with 500 files: the same parse
 * time, exit right after the work instead of ~1 s later.
 */
const BASELINE_WASM_FLAGS = ['--no-wasm-tier-up', '--no-wasm-dynamic-tiering'];
async function keepWasmOnBaselineTier() {
    // Imported here: node:v8 costs ~1.5 ms to load, and most runs never parse.
    const { setFlagsFromString } = await Promise.resolve(/* import() */).then(__nccwpck_require__.t.bind(__nccwpck_require__, 877, 23));
    for (const flag of BASELINE_WASM_FLAGS)
        setFlagsFromString(flag);
}


/***/ }),

/***/ 890:
/***/ ((__unused_webpack_module, __webpack_exports__, __nccwpck_require__) => {

/* harmony export */ __nccwpck_require__.d(__webpack_exports__, {
/* harmony export */   D: () => (/* binding */ SourceText)
/* harmony export */ });
/**
 * A migration file's text with the byte-offset bookkeeping the parser needs: libpg-query reports
 * UTF-8 byte offsets, users want 1-based line:column in characters. "Character" means a Unicode
 * code point, as PostgreSQL counts them in error positions (an emoji is one character, not two).
 */
class SourceText {
    encoded;
    decoded;
    lines;
    /**
     * Nothing is computed up front: a run with nothing pending reads files only to checksum them.
     * `bytes`, when the caller has them (the file as read), must be `text` in UTF-8: they are used
     * as they are instead of encoding the text again.
     */
    constructor(text, bytes) {
        if (text === undefined && !bytes)
            throw new Error('SourceText needs its text or its bytes');
        this.decoded = text;
        this.encoded = bytes;
    }
    /**
     * Once the bytes exist (the parser works on them), the string is let go and decoded again only
     * if asked for: a 100 MB data file with one non-ASCII character is a 200 MB string in V8.
     */
    get text() {
        return this.decoded ?? this.bytes.toString('utf8');
    }
    get bytes() {
        this.encoded ??= Buffer.from(this.text, 'utf8');
        this.decoded = undefined;
        return this.encoded;
    }
    /** Length in UTF-8 bytes, without encoding the text. */
    get byteLength() {
        return this.encoded ? this.encoded.length : Buffer.byteLength(this.text, 'utf8');
    }
    get lineStarts() {
        if (!this.lines) {
            const bytes = this.bytes;
            const starts = [0];
            for (let i = bytes.indexOf(0x0a); i !== -1; i = bytes.indexOf(0x0a, i + 1))
                starts.push(i + 1);
            this.lines = starts;
        }
        return this.lines;
    }
    slice(startByte, endByte) {
        return this.bytes.subarray(startByte, endByte).toString('utf8');
    }
    /** 1-based line and column (in characters) of a byte offset. */
    position(byteOffset) {
        let lo = 0;
        let hi = this.lineStarts.length - 1;
        while (lo < hi) {
            const mid = (lo + hi + 1) >> 1;
            if (this.lineStarts[mid] <= byteOffset)
                lo = mid;
            else
                hi = mid - 1;
        }
        const column = codePointLength(this.bytes.subarray(this.lineStarts[lo], byteOffset).toString('utf8')) + 1;
        return { line: lo + 1, column };
    }
    /** Byte offset of a code-point offset inside the substring that starts at `startByte`. */
    byteOffsetOfChar(startByte, charOffset, endByte = this.bytes.length) {
        let bytes = 0;
        let seen = 0;
        for (const char of this.slice(startByte, endByte)) {
            if (seen++ >= charOffset)
                break;
            bytes += Buffer.byteLength(char, 'utf8');
        }
        return startByte + bytes;
    }
}
function codePointLength(text) {
    return Array.from(text).length;
}


/***/ }),

/***/ 598:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:crypto");

/***/ }),

/***/ 24:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:fs");

/***/ }),

/***/ 877:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:v8");

/***/ }),

/***/ 919:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:worker_threads");

/***/ })

/******/ });
/************************************************************************/
/******/ // The module cache
/******/ var __webpack_module_cache__ = {};
/******/ 
/******/ // The require function
/******/ function __nccwpck_require__(moduleId) {
/******/ 	// Check if module is in cache
/******/ 	var cachedModule = __webpack_module_cache__[moduleId];
/******/ 	if (cachedModule !== undefined) {
/******/ 		return cachedModule.exports;
/******/ 	}
/******/ 	// Create a new module (and put it into the cache)
/******/ 	var module = __webpack_module_cache__[moduleId] = {
/******/ 		// no module.id needed
/******/ 		// no module.loaded needed
/******/ 		exports: {}
/******/ 	};
/******/ 
/******/ 	// Execute the module function
/******/ 	var threw = true;
/******/ 	try {
/******/ 		__webpack_modules__[moduleId].call(module.exports, module, module.exports, __nccwpck_require__);
/******/ 		threw = false;
/******/ 	} finally {
/******/ 		if(threw) delete __webpack_module_cache__[moduleId];
/******/ 	}
/******/ 
/******/ 	// Return the exports of the module
/******/ 	return module.exports;
/******/ }
/******/ 
/******/ // expose the modules object (__webpack_modules__)
/******/ __nccwpck_require__.m = __webpack_modules__;
/******/ 
/************************************************************************/
/******/ /* webpack/runtime/asset-relocator-loader */
/******/ if (typeof __nccwpck_require__ !== 'undefined') __nccwpck_require__.ab = decodeURIComponent(new URL('.', import.meta.url).pathname).slice(import.meta.url.match(/^file:\/\/\/\w:/) ? 1 : 0, -1) + "/";
/******/ 
/******/ /* webpack/runtime/async module */
/******/ (() => {
/******/ 	var webpackQueues = typeof Symbol === "function" ? Symbol("webpack queues") : "__webpack_queues__";
/******/ 	var webpackExports = typeof Symbol === "function" ? Symbol("webpack exports") : "__webpack_exports__";
/******/ 	var webpackError = typeof Symbol === "function" ? Symbol("webpack error") : "__webpack_error__";
/******/ 	var resolveQueue = (queue) => {
/******/ 		if(queue && queue.d < 1) {
/******/ 			queue.d = 1;
/******/ 			queue.forEach((fn) => (fn.r--));
/******/ 			queue.forEach((fn) => (fn.r-- ? fn.r++ : fn()));
/******/ 		}
/******/ 	}
/******/ 	var wrapDeps = (deps) => (deps.map((dep) => {
/******/ 		if(dep !== null && typeof dep === "object") {
/******/ 			if(dep[webpackQueues]) return dep;
/******/ 			if(dep.then) {
/******/ 				var queue = [];
/******/ 				queue.d = 0;
/******/ 				dep.then((r) => {
/******/ 					obj[webpackExports] = r;
/******/ 					resolveQueue(queue);
/******/ 				}, (e) => {
/******/ 					obj[webpackError] = e;
/******/ 					resolveQueue(queue);
/******/ 				});
/******/ 				var obj = {};
/******/ 				obj[webpackQueues] = (fn) => (fn(queue));
/******/ 				return obj;
/******/ 			}
/******/ 		}
/******/ 		var ret = {};
/******/ 		ret[webpackQueues] = x => {};
/******/ 		ret[webpackExports] = dep;
/******/ 		return ret;
/******/ 	}));
/******/ 	__nccwpck_require__.a = (module, body, hasAwait) => {
/******/ 		var queue;
/******/ 		hasAwait && ((queue = []).d = -1);
/******/ 		var depQueues = new Set();
/******/ 		var exports = module.exports;
/******/ 		var currentDeps;
/******/ 		var outerResolve;
/******/ 		var reject;
/******/ 		var promise = new Promise((resolve, rej) => {
/******/ 			reject = rej;
/******/ 			outerResolve = resolve;
/******/ 		});
/******/ 		promise[webpackExports] = exports;
/******/ 		promise[webpackQueues] = (fn) => (queue && fn(queue), depQueues.forEach(fn), promise["catch"](x => {}));
/******/ 		module.exports = promise;
/******/ 		body((deps) => {
/******/ 			currentDeps = wrapDeps(deps);
/******/ 			var fn;
/******/ 			var getResult = () => (currentDeps.map((d) => {
/******/ 				if(d[webpackError]) throw d[webpackError];
/******/ 				return d[webpackExports];
/******/ 			}))
/******/ 			var promise = new Promise((resolve) => {
/******/ 				fn = () => (resolve(getResult));
/******/ 				fn.r = 0;
/******/ 				var fnQueue = (q) => (q !== queue && !depQueues.has(q) && (depQueues.add(q), q && !q.d && (fn.r++, q.push(fn))));
/******/ 				currentDeps.map((dep) => (dep[webpackQueues](fnQueue)));
/******/ 			});
/******/ 			return fn.r ? promise : getResult();
/******/ 		}, (err) => ((err ? reject(promise[webpackError] = err) : outerResolve(exports)), resolveQueue(queue)));
/******/ 		queue && queue.d < 0 && (queue.d = 0);
/******/ 	};
/******/ })();
/******/ 
/******/ /* webpack/runtime/compat get default export */
/******/ (() => {
/******/ 	// getDefaultExport function for compatibility with non-harmony modules
/******/ 	__nccwpck_require__.n = (module) => {
/******/ 		var getter = module && module.__esModule ?
/******/ 			() => (module['default']) :
/******/ 			() => (module);
/******/ 		__nccwpck_require__.d(getter, { a: getter });
/******/ 		return getter;
/******/ 	};
/******/ })();
/******/ 
/******/ /* webpack/runtime/create fake namespace object */
/******/ (() => {
/******/ 	var getProto = Object.getPrototypeOf ? (obj) => (Object.getPrototypeOf(obj)) : (obj) => (obj.__proto__);
/******/ 	var leafPrototypes;
/******/ 	// create a fake namespace object
/******/ 	// mode & 1: value is a module id, require it
/******/ 	// mode & 2: merge all properties of value into the ns
/******/ 	// mode & 4: return value when already ns object
/******/ 	// mode & 16: return value when it's Promise-like
/******/ 	// mode & 8|1: behave like require
/******/ 	__nccwpck_require__.t = function(value, mode) {
/******/ 		if(mode & 1) value = this(value);
/******/ 		if(mode & 8) return value;
/******/ 		if(typeof value === 'object' && value) {
/******/ 			if((mode & 4) && value.__esModule) return value;
/******/ 			if((mode & 16) && typeof value.then === 'function') return value;
/******/ 		}
/******/ 		var ns = Object.create(null);
/******/ 		__nccwpck_require__.r(ns);
/******/ 		var def = {};
/******/ 		leafPrototypes = leafPrototypes || [null, getProto({}), getProto([]), getProto(getProto)];
/******/ 		for(var current = mode & 2 && value; typeof current == 'object' && !~leafPrototypes.indexOf(current); current = getProto(current)) {
/******/ 			Object.getOwnPropertyNames(current).forEach((key) => (def[key] = () => (value[key])));
/******/ 		}
/******/ 		def['default'] = () => (value);
/******/ 		__nccwpck_require__.d(ns, def);
/******/ 		return ns;
/******/ 	};
/******/ })();
/******/ 
/******/ /* webpack/runtime/define property getters */
/******/ (() => {
/******/ 	// define getter functions for harmony exports
/******/ 	__nccwpck_require__.d = (exports, definition) => {
/******/ 		for(var key in definition) {
/******/ 			if(__nccwpck_require__.o(definition, key) && !__nccwpck_require__.o(exports, key)) {
/******/ 				Object.defineProperty(exports, key, { enumerable: true, get: definition[key] });
/******/ 			}
/******/ 		}
/******/ 	};
/******/ })();
/******/ 
/******/ /* webpack/runtime/ensure chunk */
/******/ (() => {
/******/ 	__nccwpck_require__.f = {};
/******/ 	// This file contains only the entry chunk.
/******/ 	// The chunk loading function for additional chunks
/******/ 	__nccwpck_require__.e = (chunkId) => {
/******/ 		return Promise.all(Object.keys(__nccwpck_require__.f).reduce((promises, key) => {
/******/ 			__nccwpck_require__.f[key](chunkId, promises);
/******/ 			return promises;
/******/ 		}, []));
/******/ 	};
/******/ })();
/******/ 
/******/ /* webpack/runtime/get javascript chunk filename */
/******/ (() => {
/******/ 	// This function allow to reference async chunks
/******/ 	__nccwpck_require__.u = (chunkId) => {
/******/ 		// return url for filenames based on template
/******/ 		return "" + chunkId + ".index.js";
/******/ 	};
/******/ })();
/******/ 
/******/ /* webpack/runtime/hasOwnProperty shorthand */
/******/ (() => {
/******/ 	__nccwpck_require__.o = (obj, prop) => (Object.prototype.hasOwnProperty.call(obj, prop))
/******/ })();
/******/ 
/******/ /* webpack/runtime/make namespace object */
/******/ (() => {
/******/ 	// define __esModule on exports
/******/ 	__nccwpck_require__.r = (exports) => {
/******/ 		if(typeof Symbol !== 'undefined' && Symbol.toStringTag) {
/******/ 			Object.defineProperty(exports, Symbol.toStringTag, { value: 'Module' });
/******/ 		}
/******/ 		Object.defineProperty(exports, '__esModule', { value: true });
/******/ 	};
/******/ })();
/******/ 
/******/ /* webpack/runtime/import chunk loading */
/******/ (() => {
/******/ 	// no baseURI
/******/ 	
/******/ 	// object to store loaded and loading chunks
/******/ 	// undefined = chunk not loaded, null = chunk preloaded/prefetched
/******/ 	// [resolve, Promise] = chunk loading, 0 = chunk loaded
/******/ 	var installedChunks = {
/******/ 		792: 0
/******/ 	};
/******/ 	
/******/ 	var installChunk = (data) => {
/******/ 		var {ids, modules, runtime} = data;
/******/ 		// add "modules" to the modules object,
/******/ 		// then flag all "ids" as loaded and fire callback
/******/ 		var moduleId, chunkId, i = 0;
/******/ 		for(moduleId in modules) {
/******/ 			if(__nccwpck_require__.o(modules, moduleId)) {
/******/ 				__nccwpck_require__.m[moduleId] = modules[moduleId];
/******/ 			}
/******/ 		}
/******/ 		if(runtime) runtime(__nccwpck_require__);
/******/ 		for(;i < ids.length; i++) {
/******/ 			chunkId = ids[i];
/******/ 			if(__nccwpck_require__.o(installedChunks, chunkId) && installedChunks[chunkId]) {
/******/ 				installedChunks[chunkId][0]();
/******/ 			}
/******/ 			installedChunks[ids[i]] = 0;
/******/ 		}
/******/ 	
/******/ 	}
/******/ 	
/******/ 	__nccwpck_require__.f.j = (chunkId, promises) => {
/******/ 			// import() chunk loading for javascript
/******/ 			var installedChunkData = __nccwpck_require__.o(installedChunks, chunkId) ? installedChunks[chunkId] : undefined;
/******/ 			if(installedChunkData !== 0) { // 0 means "already installed".
/******/ 	
/******/ 				// a Promise means "currently loading".
/******/ 				if(installedChunkData) {
/******/ 					promises.push(installedChunkData[1]);
/******/ 				} else {
/******/ 					if(true) { // all chunks have JS
/******/ 						// setup Promise in chunk cache
/******/ 						var promise = import("./" + __nccwpck_require__.u(chunkId)).then(installChunk, (e) => {
/******/ 							if(installedChunks[chunkId] !== 0) installedChunks[chunkId] = undefined;
/******/ 							throw e;
/******/ 						});
/******/ 						var promise = Promise.race([promise, new Promise((resolve) => (installedChunkData = installedChunks[chunkId] = [resolve]))])
/******/ 						promises.push(installedChunkData[1] = promise);
/******/ 					}
/******/ 				}
/******/ 			}
/******/ 	};
/******/ 	
/******/ 	// no prefetching
/******/ 	
/******/ 	// no preloaded
/******/ 	
/******/ 	// no external install chunk
/******/ 	
/******/ 	// no on chunks loaded
/******/ })();
/******/ 
/************************************************************************/
/******/ 
/******/ // startup
/******/ // Load entry module and return exports
/******/ // This entry module used 'module' so it can't be inlined
/******/ var __webpack_exports__ = __nccwpck_require__(181);
/******/ __webpack_exports__ = await __webpack_exports__;
/******/ 
