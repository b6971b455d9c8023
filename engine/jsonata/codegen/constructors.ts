/** Array and object constructors → the runtime's array and group (runtime/constructors.ts), or a plain object. */
import type { Gen, Node, Scope } from './context.js';

export function arrayConstructor(g: Gen, node: Node, ctx: string, scope: Scope): string {
  const values = node.expressions.map((e: Node) => g.expr(e, ctx, scope));
  const nested = node.expressions.map((e: Node) => e.value === '[');
  return `R.array([${values.join(', ')}], ${JSON.stringify(nested)}, ${!!node.consarray})`;
}

export function objectConstructor(g: Gen, node: Node, ctx: string, scope: Scope): string {
  const fastObject = objectLiteral(g, node, ctx, scope);
  if (fastObject) return fastObject;
  const keys: string[] = [];
  const values: string[] = [];
  for (const [k, v] of node.lhs as [Node, Node][]) {
    const x = g.id('x');
    keys.push(
      k.type === 'string' && !k.predicate && !k.stages
        ? JSON.stringify(k.value)
        : g.keep(`(${x}) => ${g.expr(k, x, scope)}`),
    );
    const y = g.id('x');
    values.push(g.keep(`(${y}) => ${g.expr(v, y, scope)}`));
  }
  return `R.group(${ctx}, [${keys.join(', ')}], [${values.join(', ')}])`;
}

/** Keys an object literal cannot set as written: array indexes (Object.keys would move them first), jsonata's markers. */
const SPECIAL_KEY = (k: string) =>
  /^(0|[1-9]\d*)$/.test(k) || k === '_jsonata_lambda' || k === '_jsonata_function' || k === '__proto__';

/**
 * `{ 'a': …, 'b': … }` with distinct literal keys (none special) over a context that is not an array:
 * evaluateGroupExpression makes one group per key, each evaluated on the context, in key order — written out here
 * without the groups. An array context takes the general way.
 */
function objectLiteral(g: Gen, node: Node, ctx: string, scope: Scope): string | null {
  const pairs = node.lhs as [Node, Node][];
  const keys = pairs.map(([k]) =>
    k.type === 'string' && !k.predicate && !k.stages && !k.keepArray ? (k.value as string) : null,
  );
  if (keys.some((k) => k === null || SPECIAL_KEY(k))) return null;
  if (new Set(keys).size !== keys.length) return null;
  const x = g.id('x');
  const o = g.id('o');
  const t = g.id('t');
  // The members are set in sorted key order, so the record's canonical text is JSON.stringify's (canonicalOf in
  // engine/util/hash.ts). Values are pure, so their order only shows in which error comes first, and the compiled code
  // never decides an error (the interpreter evaluates again); a `:=` outside a block binds in this frame, so with
  // one the mapping's own order is kept.
  const order = pairs.map((_, i) => i);
  if (pairs.every(([, v]) => g.boundIn(v).size === 0)) order.sort((a, b) => (keys[a]! < keys[b]! ? -1 : 1));
  const sets = order.map(
    (i) => `${t} = ${g.expr(pairs[i][1], x, scope)}; if (${t} !== undefined) ${o}[${JSON.stringify(keys[i])}] = ${t};`,
  );
  const general = `R.group(${x}, [${keys.map((k) => JSON.stringify(k)).join(', ')}], [${pairs
    .map(([, v]) => {
      const y = g.id('x');
      return g.keep(`(${y}) => ${g.expr(v, y, scope)}`);
    })
    .join(', ')}])`;
  // A plain object ({}), not jsonata's Object.create(null): V8 keeps it in fast mode (JSON.stringify and member
  // reads twice as fast), and reads through paths check own members anyway, as for a source record's objects.
  return `${g.keep(`function ${g.id('object_')}(${x}) { if (Array.isArray(${x})) return ${general}; const ${o} = {}; let ${t}; ${sets.join(' ')} return ${o}; }`)}(${ctx})`;
}
