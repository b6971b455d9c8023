/**
 * What an expression does, read from its AST before anything runs: the fields it outputs (for ownership and PII
 * checks) and the functions that make it non-deterministic.
 */
import type { Expression } from './expression.js';

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

/**
 * Whether an expression reads anything of its input: a field name, `$` or `$$`. One that does not (`'order'`,
 * `$params.prefix & '-1'`) gives every record the same value. A path that starts at a variable other than `$`/`$$`
 * reads that variable, not the input.
 */
export function readsInput(expr: Expression): boolean {
  const walk = (n: unknown): boolean => {
    if (Array.isArray(n)) return n.some(walk);
    if (!n || typeof n !== 'object') return false;
    const node = n as Ast;
    if (node.type === 'name' || node.type === 'parent') return true;
    if (node.type === 'variable' && (node.value === '' || node.value === '$')) return true;
    if (node.type === 'path' && Array.isArray(node.steps)) {
      const [head, ...rest] = node.steps;
      const fromVariable = head?.type === 'variable' && head.value !== '' && head.value !== '$';
      if (fromVariable) {
        // $params.x: its names are the variable's; what its predicates or later stages read still counts.
        const others = { ...head, type: 'skip' };
        return walk(others) || rest.some((s: Ast) => walk({ ...s, type: s.type === 'name' ? 'skip' : s.type }));
      }
    }
    if (node.type === 'function' || node.type === 'partial') {
      // The procedure's name ($string) is not input; its arguments may be.
      return walk(node.arguments);
    }
    for (const v of Object.values(node)) if (v && typeof v === 'object' && walk(v)) return true;
    return false;
  };
  return walk(expr.ast());
}
