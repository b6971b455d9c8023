/** Blocks and lambdas, the two kinds of frame, and a lambda body's tail position. */
import { call } from './calls.js';
import type { Gen, Node, Scope } from './context.js';
import { Unsupported } from './context.js';

export function block(g: Gen, node: Node, ctx: string, scope: Scope): string {
  if (node.expressions.length === 0) return 'undefined';
  return frame(g, node, ctx, scope, (last, inner) => g.expr(last, ctx, inner));
}

/** A block's frame (evaluateBlock): its own variables, every expression in turn, the last one's value as `value`
 *  compiles it. */
function frame(g: Gen, node: Node, ctx: string, scope: Scope, value: (last: Node, inner: Scope) => string): string {
  const inner: Scope = { vars: new Map(), parent: scope };
  const decl = g.declare(inner, g.boundIn(node));
  const exprs: string[] = node.expressions.slice(0, -1).map((e: Node) => `${g.expr(e, ctx, inner)};`);
  const last = value(node.expressions[node.expressions.length - 1], inner);
  return `${g.keep(`() => { ${decl} ${exprs.join(' ')} return ${last}; }`)}()`;
}

export function lambda(g: Gen, node: Node, ctx: string, scope: Scope): string {
  const inner: Scope = { vars: new Map(), parent: scope };
  const args = g.id('a');
  const callCtx = g.id('c');
  const params: string[] = [];
  node.arguments.forEach((p: Node, i: number) => {
    const v = g.id('v');
    inner.vars.set(p.value, v);
    params.push(`${v} = ${args}[${i}]`);
  });
  let validate = '';
  if (node.signature) {
    if (typeof node.signature.validate !== 'function' || /-/.test(node.signature.definition ?? '')) {
      throw new Unsupported('a lambda signature with a context parameter');
    }
    validate = `${args} = ${g.constant(node.signature)}.validate(${args}, ${callCtx});`;
  }
  const decl = g.declare(inner, g.boundIn(node));
  const body = tail(g, node.body, ctx, inner, 0);
  const lets = params.length ? `let ${params.join(', ')};` : '';
  // Named after the variable it is bound to, so profiles of the generated code read like the mapping.
  const name = `${(g.naming ?? 'lambda').replace(/[^A-Za-z0-9_$]/g, '_')}_${g.n}`;
  g.naming = undefined;
  return `R.lambda(${g.keep(`function ${name}(${args}, ${callCtx}) { ${validate} ${lets} ${decl} return ${body}; }`)}, ${node.arguments.length})`;
}

/**
 * A lambda body's value. A tail call (the parser's thunk) is returned as the called function returned it: jsonata
 * evaluates it in its trampoline, after the enclosing conditions and blocks, which pass the thunk object through
 * unchanged. Any other value gets the collapse of its own node and one more for each condition or block around it
 * (`wraps`), as `evaluate` gives it.
 */
function tail(g: Gen, node: Node, ctx: string, scope: Scope, wraps: number): string {
  const plain = !node.predicate && !node.keepArray && !node.stages;
  if (node.type === 'lambda' && node.thunk) return call(g, node.body, ctx, scope);
  if (node.type === 'condition' && plain) {
    const t = tail(g, node.then, ctx, scope, wraps + 1);
    const e = node.else !== undefined ? tail(g, node.else, ctx, scope, wraps + 1) : 'undefined';
    return `(R.bool(${g.expr(node.condition, ctx, scope)}) ? ${t} : ${e})`;
  }
  if (node.type === 'block' && plain && node.expressions.length > 0) {
    return frame(g, node, ctx, scope, (last, inner) => tail(g, last, ctx, inner, wraps + 1));
  }
  let code = g.expr(node, ctx, scope);
  for (let i = 0; i < wraps; i++) code = `R.collapse(${code})`;
  return code;
}
