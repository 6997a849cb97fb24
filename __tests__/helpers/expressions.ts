/**
 * A small evaluator of GitHub Actions expressions (`${{ … }}`), for tests that check what a
 * workflow does, not only that it lints: the matrix, concurrency groups, artifact names and `if:`
 * conditions of our workflows evaluated for given contexts. It covers the language our workflow
 * files use (literals, property and index access, ! == != < <= > >= && ||, parentheses, and the
 * functions below), with GitHub's rules: `&&`/`||` give an operand, not a boolean; falsy values
 * are false, 0, '', null; strings compare case-insensitively; context names are case-insensitive.
 * An unknown construct throws, so a workflow that outgrows this evaluator fails its test loudly.
 */

export type Value = null | boolean | number | string | Value[] | { [key: string]: Value };
export type Contexts = Record<string, Value>;
/** Job status functions (success(), always(), …) answer from this. */
export interface EvalOptions {
  status?: 'success' | 'failure' | 'cancelled';
}

type Token =
  | { kind: 'num'; value: number }
  | { kind: 'str'; value: string }
  | { kind: 'id'; value: string }
  | { kind: 'op'; value: string };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === "'") {
      let value = '';
      i++;
      for (;;) {
        if (i >= text.length) throw new Error(`Unterminated string in ${text}`);
        if (text[i] === "'") {
          if (text[i + 1] === "'") {
            value += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += text[i++];
      }
      tokens.push({ kind: 'str', value });
    } else if (/[0-9]/.test(c)) {
      const m = /^[0-9]+(\.[0-9]+)?/.exec(text.slice(i))!;
      tokens.push({ kind: 'num', value: Number(m[0]) });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(text.slice(i))!;
      tokens.push({ kind: 'id', value: m[0] });
      i += m[0].length;
    } else {
      const op = ['&&', '||', '==', '!=', '<=', '>='].find((o) => text.startsWith(o, i)) ?? c;
      if (!['&&', '||', '==', '!=', '<=', '>=', '<', '>', '!', '(', ')', '[', ']', '.', ','].includes(op))
        throw new Error(`Unsupported character "${c}" in expression ${text}`);
      tokens.push({ kind: 'op', value: op });
      i += op.length;
    }
  }
  return tokens;
}

export function truthy(value: Value): boolean {
  return !(value === false || value === null || value === 0 || value === '' || Number.isNaN(value));
}

function toNumber(value: Value): number {
  if (value === null) return 0;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'number') return value;
  if (typeof value === 'string') return value.trim() === '' ? 0 : Number(value);
  return NaN;
}

function equal(a: Value, b: Value): boolean {
  if (typeof a === 'string' && typeof b === 'string') return a.toLowerCase() === b.toLowerCase();
  if (typeof a === 'object' || typeof b === 'object') return a === b;
  return toNumber(a) === toNumber(b);
}

export function toText(value: Value): string {
  if (value === null) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

function property(target: Value, name: Value): Value {
  if (target === null || typeof target !== 'object') return null;
  if (Array.isArray(target)) return typeof name === 'number' ? (target[name] ?? null) : null;
  const key = Object.keys(target).find((k) => k.toLowerCase() === toText(name).toLowerCase());
  return key === undefined ? null : target[key];
}

/** Evaluates one expression (the text inside `${{ }}`, or an `if:` without it). */
export function evaluate(expression: string, contexts: Contexts, options: EvalOptions = {}): Value {
  const tokens = tokenize(expression);
  let pos = 0;
  const peek = () => tokens[pos];
  const isOp = (value: string) => peek()?.kind === 'op' && peek()!.value === value;
  const expectOp = (value: string) => {
    if (!isOp(value)) throw new Error(`Expected "${value}" in ${expression}`);
    pos++;
  };
  const status = options.status ?? 'success';
  const functions: Record<string, (args: Value[]) => Value> = {
    success: () => status === 'success',
    failure: () => status === 'failure',
    cancelled: () => status === 'cancelled',
    always: () => true,
    fromjson: ([text]) => JSON.parse(toText(text)) as Value,
    tojson: ([value]) => JSON.stringify(value, null, 2),
    contains: ([haystack, needle]) =>
      Array.isArray(haystack)
        ? haystack.some((item) => equal(item, needle))
        : toText(haystack).toLowerCase().includes(toText(needle).toLowerCase()),
    startswith: ([text, prefix]) => toText(text).toLowerCase().startsWith(toText(prefix).toLowerCase()),
    endswith: ([text, suffix]) => toText(text).toLowerCase().endsWith(toText(suffix).toLowerCase()),
    format: ([template, ...args]) =>
      toText(template).replace(/\{(\d+)\}/g, (_, n) => toText(args[Number(n)])),
    join: ([items, separator]) =>
      Array.isArray(items)
        ? items.map(toText).join(separator === undefined ? ',' : toText(separator))
        : toText(items),
  };

  const primary = (): Value => {
    const token = tokens[pos++];
    if (!token) throw new Error(`Unexpected end of ${expression}`);
    if (token.kind === 'num' || token.kind === 'str') return token.value;
    if (token.kind === 'op' && token.value === '(') {
      const value = or();
      expectOp(')');
      return value;
    }
    if (token.kind === 'id') {
      const name = token.value.toLowerCase();
      if (name === 'true') return true;
      if (name === 'false') return false;
      if (name === 'null') return null;
      if (isOp('(')) {
        pos++;
        const args: Value[] = [];
        while (!isOp(')')) {
          args.push(or());
          if (isOp(',')) pos++;
        }
        pos++;
        const fn = functions[name];
        if (!fn) throw new Error(`Unsupported function ${token.value}() in ${expression}`);
        return fn(args);
      }
      return property(contexts as Value, token.value);
    }
    throw new Error(`Unexpected "${token.value}" in ${expression}`);
  };
  const postfix = (): Value => {
    let value = primary();
    for (;;) {
      if (isOp('.')) {
        pos++;
        const name = tokens[pos++];
        if (name?.kind !== 'id') throw new Error(`Expected a property name in ${expression}`);
        value = property(value, name.value);
      } else if (isOp('[')) {
        pos++;
        const index = or();
        expectOp(']');
        value = property(value, index);
      } else return value;
    }
  };
  const unary = (): Value => {
    if (isOp('!')) {
      pos++;
      return !truthy(unary());
    }
    return postfix();
  };
  const comparison = (): Value => {
    let left = unary();
    while (['==', '!=', '<', '<=', '>', '>='].some(isOp)) {
      const op = tokens[pos++].value;
      const right = unary();
      const [a, b] = [toNumber(left), toNumber(right)];
      left =
        op === '=='
          ? equal(left, right)
          : op === '!='
            ? !equal(left, right)
            : op === '<'
              ? a < b
              : op === '<='
                ? a <= b
                : op === '>'
                  ? a > b
                  : a >= b;
    }
    return left;
  };
  const and = (): Value => {
    let left = comparison();
    while (isOp('&&')) {
      pos++;
      const right = comparison();
      left = truthy(left) ? right : left;
    }
    return left;
  };
  const or = (): Value => {
    let left = and();
    while (isOp('||')) {
      pos++;
      const right = and();
      left = truthy(left) ? left : right;
    }
    return left;
  };
  const value = or();
  if (pos !== tokens.length) throw new Error(`Unexpected "${tokens[pos].value}" in ${expression}`);
  return value;
}

/**
 * A workflow value with `${{ }}` parts: a value that is one expression keeps its type (a matrix
 * from fromJSON), anything else becomes text, as the runner does.
 */
export function interpolate(text: unknown, contexts: Contexts, options: EvalOptions = {}): Value {
  if (typeof text !== 'string') return text as Value;
  const whole = /^\s*\$\{\{([\s\S]*?)\}\}\s*$/.exec(text);
  if (whole && !whole[1].includes('}}')) return evaluate(whole[1], contexts, options);
  return text.replace(/\$\{\{([\s\S]*?)\}\}/g, (_, expr: string) =>
    toText(evaluate(expr, contexts, options)),
  );
}

/**
 * An `if:` condition as the runner reads it: `${{ }}` optional, and without a status function
 * (success(), always(), cancelled(), failure()) it means `success() && (condition)`.
 */
export function condition(text: unknown, contexts: Contexts, options: EvalOptions = {}): boolean {
  if (text === undefined || text === null) return (options.status ?? 'success') === 'success';
  const raw = String(text).trim();
  const inner = /^\$\{\{([\s\S]*)\}\}$/.exec(raw)?.[1] ?? raw;
  const withStatus = /\b(success|always|cancelled|failure)\s*\(/.test(inner)
    ? inner
    : `success() && (${inner})`;
  return truthy(evaluate(withStatus, contexts, options));
}
