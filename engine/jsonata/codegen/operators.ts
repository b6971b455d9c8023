/** Binary and unary operators → calls of the runtime's operators (runtime/operators.ts) and constructors. */
import type { Gen, Node, Scope } from './context.js';
import { Unsupported } from './context.js';
import { arrayConstructor, objectConstructor } from './constructors.js';

/** Each binary operator's runtime function (`and` and `or` are written out: the right side may not run). */
const BINARY: Record<string, string> = {
  '&': 'cat',
  '+': 'add',
  '-': 'sub',
  '*': 'mul',
  '/': 'div',
  '%': 'mod',
  '=': 'eq',
  '!=': 'ne',
  '<': 'lt',
  '<=': 'le',
  '>': 'gt',
  '>=': 'ge',
  in: 'includes',
};

export function binary(g: Gen, node: Node, ctx: string, scope: Scope): string {
  const l = g.expr(node.lhs, ctx, scope);
  const r = g.expr(node.rhs, ctx, scope);
  const op: string = node.value;
  if (op === 'and') return `(R.boolize(${l}) && R.boolize(${r}))`;
  if (op === 'or') return `(R.boolize(${l}) || R.boolize(${r}))`;
  if (!Object.hasOwn(BINARY, op)) throw new Unsupported(`the operator ${op}`);
  return `R.${BINARY[op]}(${l}, ${r})`;
}

export function unary(g: Gen, node: Node, ctx: string, scope: Scope): string {
  switch (node.value) {
    case '-':
      return `R.neg(${g.expr(node.expression, ctx, scope)})`;
    case '[':
      return arrayConstructor(g, node, ctx, scope);
    case '{':
      return objectConstructor(g, node, ctx, scope);
    default:
      throw new Unsupported(`the unary ${node.value}`);
  }
}
