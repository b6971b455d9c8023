/**
 * JSONata, as rsync uses it: compile once with errors as values (with the character they point at), list the
 * fields an expression outputs (for ownership and PII checks, before anything runs), and spot functions that make
 * a mapping non-deterministic.
 */
import jsonata from 'jsonata';

export type Expression = ReturnType<typeof jsonata>;

export interface JsonataProblem {
  /** 0-based character index in the expression text. */
  index: number;
  code: string;
  message: string;
}

export type Compiled = { ok: true; expr: Expression } | { ok: false; problem: JsonataProblem };

interface JsonataError {
  code?: string;
  position?: number;
  token?: string;
  message?: string;
}

/**
 * Compiled expressions by text: 10,000 flows share a few dozen key expressions, and customers copy mappings.
 * Bounded, so a long `rsync watch` does not keep every version of a file it has seen.
 */
const compiledByText = new Map<string, Compiled>();
const MAX_CACHED = 20_000;

/** Compile an expression (once per distinct text); a syntax error is returned, not thrown. */
export function compile(text: string): Compiled {
  let hit = compiledByText.get(text);
  if (!hit) {
    if (compiledByText.size >= MAX_CACHED) compiledByText.clear();
    hit = compileUncached(text);
    compiledByText.set(text, hit);
  }
  return hit;
}

function compileUncached(text: string): Compiled {
  try {
    return { ok: true, expr: jsonata(text) };
  } catch (e) {
    const err = e as JsonataError;
    return {
      ok: false,
      problem: { index: errorIndex(text, err), code: err.code ?? 'S0000', message: err.message ?? String(e) },
    };
  }
}

/**
 * The character an error points at. jsonata's `position` is the index just after the offending token, whose text
 * is `token`, except for a string literal (`token` is its value, without the quotes) and the end of the expression
 * (`token` is "(end)": point just after the last token, not past trailing comments and blank lines).
 */
function errorIndex(text: string, err: JsonataError): number {
  const position = Math.min(text.length, err.position ?? 0);
  if (err.token === '(end)') {
    let end = text.length;
    for (;;) {
      while (end > 0 && /\s/.test(text[end - 1])) end--;
      if (!text.slice(0, end).endsWith('*/')) break;
      const open = text.lastIndexOf('/*', end - 2);
      if (open < 0) break;
      end = open;
    }
    return end;
  }
  const quote = text[position - 1];
  if ((quote === '"' || quote === "'") && typeof err.token === 'string') {
    // Back to the opening quote: the first unescaped quote of that kind before the closing one.
    for (let i = position - 2; i >= 0; i--) {
      if (text[i] !== quote) continue;
      let backslashes = 0;
      for (let j = i - 1; j >= 0 && text[j] === '\\'; j--) backslashes++;
      if (backslashes % 2 === 0) return i;
    }
  }
  const tokenLength = typeof err.token === 'string' ? err.token.length : 1;
  return Math.max(0, Math.min(text.length, position - tokenLength));
}

/** `text` and an index in it → 1-based line and column. */
export function lineColumn(text: string, index: number): { line: number; column: number } {
  let line = 1;
  let last = -1;
  for (let i = 0; i < index && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      last = i;
    }
  }
  return { line, column: index - last };
}

type Ast = {
  type: string;
  value?: unknown;
  lhs?: unknown;
  steps?: Ast[];
  expressions?: Ast[];
  then?: Ast;
  else?: Ast;
  stages?: Ast[];
  procedure?: Ast;
  arguments?: Ast[];
  body?: Ast;
};

/**
 * The field paths an expression outputs (`customer.email`, `lines.sku`, …), read from its object constructors,
 * or undefined when the shape cannot be known without running it (keys computed at run time, $merge, …).
 */
const fieldsCache = new WeakMap<Expression, string[] | undefined>();

export function outputFields(expr: Expression): string[] | undefined {
  if (fieldsCache.has(expr)) return fieldsCache.get(expr);
  const result = outputFieldsUncached(expr);
  fieldsCache.set(expr, result);
  return result;
}

function outputFieldsUncached(expr: Expression): string[] | undefined {
  const out = new Set<string>();
  const ok = collect(expr.ast() as Ast, '', out);
  return ok ? [...out].sort() : undefined;
}

function collect(node: Ast | undefined, prefix: string, out: Set<string>): boolean {
  if (!node) return true;
  switch (node.type) {
    case 'unary':
      if (node.value === '{' && Array.isArray(node.lhs)) {
        for (const pair of node.lhs as [Ast, Ast][]) {
          const [k, v] = pair;
          if (k.type !== 'string') return false;
          const p = prefix ? `${prefix}.${String(k.value)}` : String(k.value);
          out.add(p);
          if (!collect(v, p, out)) return false;
        }
        return true;
      }
      if (node.value === '[' && Array.isArray(node.expressions)) {
        return node.expressions.every((e) => collect(e, prefix, out));
      }
      return true;
    case 'path': {
      const last = node.steps?.[node.steps.length - 1];
      return last ? collect(last, prefix, out) : true;
    }
    case 'block': {
      const last = node.expressions?.[node.expressions.length - 1];
      return last ? collect(last, prefix, out) : true;
    }
    case 'condition':
      return collect(node.then, prefix, out) && collect(node.else, prefix, out);
    case 'function':
    case 'partial': {
      const name = node.procedure?.value;
      // $merge and friends build objects whose keys are known only at run time.
      if (name === 'merge' || name === 'spread' || name === 'sift' || name === 'each') return false;
      return true;
    }
    case 'bind':
    case 'apply':
      return true;
    default:
      return true;
  }
}

const NONDETERMINISTIC = ['now', 'millis', 'random', 'uuid'];

/** The non-deterministic functions an expression calls ($now, $millis, $random). */
const callsCache = new WeakMap<Expression, string[]>();

export function nondeterministicCalls(expr: Expression): string[] {
  let hit = callsCache.get(expr);
  if (!hit) {
    hit = nondeterministicUncached(expr);
    callsCache.set(expr, hit);
  }
  return hit;
}

function nondeterministicUncached(expr: Expression): string[] {
  const found = new Set<string>();
  const walk = (n: unknown): void => {
    if (Array.isArray(n)) return n.forEach(walk);
    if (!n || typeof n !== 'object') return;
    const node = n as Ast;
    if (
      node.type === 'function' &&
      typeof node.procedure?.value === 'string' &&
      NONDETERMINISTIC.includes(node.procedure.value)
    ) {
      found.add(`$${node.procedure.value}()`);
    }
    for (const v of Object.values(node)) if (v && typeof v === 'object') walk(v);
  };
  walk(expr.ast());
  return [...found].sort();
}
