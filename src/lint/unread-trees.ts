/**
 * Statement types no lint rule reads beyond their type and place (no rule names them, nor does
 * the tracking of the release's schema or of its security; the checks every statement meets read
 * only what classifiedStatements derives, which for these is nothing). A long history is full of
 * them: INSERTs of seed data and COMMENTs were a sixth of the parse trees' JSON on the bench's
 * history, all of it read on the linter's thread for nothing.
 */
export const UNREAD_TYPES = ['InsertStmt', 'CommentStmt', 'CreateTrigStmt'] as const;

const STATEMENT_START = '{"stmt":{"';
const NEXT_STATEMENT = `,${STATEMENT_START}`;

/**
 * The parser's JSON (`{"version":…,"stmts":[{"stmt":{"<Type>":{…}},"stmt_location":…,"stmt_len":…},…]}`)
 * with the tree of each statement of an unread type replaced by `{}`, its type, place and length
 * kept. Found with plain text searches: inside the JSON, `"` only delimits keys and strings (a quote
 * in a value is escaped), and only the top-level statements have a "stmt" key, so `,{"stmt":{"`
 * starts the next statement and `,"stmt_location":` / `,"stmt_len":` its place. Unchanged (the
 * same string) when there is none.
 */
export function withoutUnreadTrees(json: string): string {
  let out: string | undefined;
  let copied = 0;
  for (const type of UNREAD_TYPES) if (json.includes(`${STATEMENT_START}${type}":`)) out = '';
  if (out === undefined) return json;
  // The statements in order; each one of an unread type is cut down.
  let at = json.indexOf(STATEMENT_START);
  while (at !== -1) {
    const next = json.indexOf(NEXT_STATEMENT, at);
    const end = next === -1 ? json.lastIndexOf(']') : next;
    const typeStart = at + STATEMENT_START.length;
    const type = json.slice(typeStart, json.indexOf('"', typeStart));
    if ((UNREAD_TYPES as readonly string[]).includes(type)) {
      const place = placeOf(json, at, end);
      out += `${json.slice(copied, at)}${STATEMENT_START}${type}":{}}${place}`;
      copied = end;
    }
    at = next === -1 ? -1 : next + 1;
  }
  return out + json.slice(copied);
}

/** The statement's tail after its tree: `,"stmt_location":…,"stmt_len":…}`, fewer when zero. */
function placeOf(json: string, start: number, end: number): string {
  for (const key of [',"stmt_location":', ',"stmt_len":']) {
    const found = json.lastIndexOf(key, end);
    if (found > start) return json.slice(found, end);
  }
  return '}';
}
