/**
 * Parts of the parse trees no lint rule reads, dropped from the parser's JSON on the lint worker
 * so that the linter's thread does not read them (JSON.parse is its largest cost):
 * - whole statements of types no rule reads beyond their type and place (no rule names them, nor
 *   does the tracking of the release's schema or of its security; the checks every statement
 *   meets read only what classifiedStatements derives, which for these is nothing, and so does
 *   the engine that apply hands these statements to: kept-statements.test.ts). A long
 *   history is full of them: INSERTs of seed data and COMMENTs were a sixth of the bench
 *   history's JSON;
 * - in CREATE TABLE, the expressions of CHECK, DEFAULT and generated-column constraints
 *   (`raw_expr`): the rules read those only in ALTER TABLE (a new column's default, a CHECK added
 *   before SET NOT NULL). They were a tenth of the JSON.
 * It works on the JSON's bytes, as the parser wrote them, before they are decoded: the searches
 * are native, and what is dropped is never decoded.
 */
export const UNREAD_TYPES = ['InsertStmt', 'CommentStmt', 'CreateTrigStmt'] as const;
/** By statement type, the key of an object value no rule reads there (one per type). */
const UNREAD_PARTS: Record<string, Buffer> = { CreateStmt: Buffer.from('"raw_expr":{') };

const STATEMENT_START = Buffer.from('{"stmt":{"');
const NEXT_STATEMENT = Buffer.from(',{"stmt":{"');
const PLACE_KEYS = [Buffer.from(',"stmt_location":'), Buffer.from(',"stmt_len":')];
const CLOSE = Buffer.from('}');

/**
 * The parser's JSON (`{"version":…,"stmts":[{"stmt":{"<Type>":{…}},"stmt_location":…,"stmt_len":…},…]}`)
 * with those parts replaced by `{}`; each statement's type, place and length kept. Found with byte
 * searches: inside the JSON, `"` only delimits keys and strings (a quote in a value is escaped),
 * and only the top-level statements have a "stmt" key, so `,{"stmt":{"` starts the next statement
 * and `,"stmt_location":` / `,"stmt_len":` its place. `json` itself when there is nothing to drop.
 */
export function withoutUnreadTrees(json: Buffer): Buffer {
  const kept: Buffer[] = [];
  let copied = 0;
  // One pass over the statements; a search inside one is bounded by its end.
  let at = json.indexOf(STATEMENT_START);
  while (at !== -1) {
    const next = json.indexOf(NEXT_STATEMENT, at);
    const end = next === -1 ? json.lastIndexOf(0x5d) : next; // `]`
    const typeStart = at + STATEMENT_START.length;
    const type = json.toString('latin1', typeStart, json.indexOf(0x22, typeStart));
    const part = UNREAD_PARTS[type];
    if ((UNREAD_TYPES as readonly string[]).includes(type)) {
      // Up to and including the type's key, then an empty tree and the statement's place.
      const open = typeStart + type.length + 2;
      kept.push(json.subarray(copied, open + 1), CLOSE, CLOSE, placeOf(json, at, end));
      copied = end;
    } else if (part) {
      const statement = json.subarray(0, end);
      for (let found = statement.indexOf(part, at); found !== -1; found = statement.indexOf(part, copied)) {
        const open = found + part.length - 1;
        kept.push(json.subarray(copied, open + 1));
        copied = closingBrace(json, open);
      }
    }
    at = next === -1 ? -1 : next + 1;
  }
  if (kept.length === 0) return json;
  kept.push(json.subarray(copied));
  return Buffer.concat(kept);
}

/** The statement's tail after its tree: `,"stmt_location":…,"stmt_len":…}`, fewer when zero. */
function placeOf(json: Buffer, start: number, end: number): Buffer {
  for (const key of PLACE_KEYS) {
    const found = json.lastIndexOf(key, end - 1);
    if (found > start) return json.subarray(found, end);
  }
  return CLOSE;
}

/** Index of the `}` that closes the object opened at `open`, skipping strings. */
function closingBrace(json: Buffer, open: number): number {
  let depth = 0;
  for (let i = open; i < json.length; i++) {
    const c = json[i];
    if (c === 0x22) {
      // A string: to its unescaped closing quote.
      for (i++; i < json.length && json[i] !== 0x22; i++) if (json[i] === 0x5c) i++;
    } else if (c === 0x7b || c === 0x5b) depth++;
    else if ((c === 0x7d || c === 0x5d) && --depth === 0) return i;
  }
  throw new Error('The parser JSON ends inside an object');
}
