/** Function calls → the runtime's call (runtime/functions.ts), or a fast path of a built-in (runtime/fast.ts). */
import { FAST, groupCount, replacementParts } from '../runtime/fast.js';
import type { Gen, Node, Scope } from './context.js';
import { Unsupported } from './context.js';

export function call(g: Gen, node: Node, ctx: string, scope: Scope): string {
  if (node.type !== 'function') throw new Unsupported(`a ${node.type} call`);
  const proc = g.expr(node.procedure, ctx, scope);
  const fast = fastCall(g, node, proc, ctx, scope);
  if (fast) return fast;
  const args = node.arguments.map((a: Node) => {
    if (a.type === 'operator') throw new Unsupported('partial application');
    // evaluateFunction wraps a function argument in a closure; literals and operators never give a function
    const never = ['string', 'number', 'value', 'binary', 'unary'].includes(a.type) && !a.predicate;
    return never ? g.expr(a, ctx, scope) : `R.arg(${g.expr(a, ctx, scope)})`;
  });
  return `R.call(${proc}, [${args.join(', ')}], ${ctx})`;
}

/** A call of a built-in with a fast path, when the name is not bound in the expression (a binding may still
 *  shadow it: the fast path checks that the function is the built-in itself). */
function fastCall(g: Gen, node: Node, proc: string, ctx: string, scope: Scope): string | null {
  const p = node.procedure;
  if (p.type !== 'variable' || !FAST.has(p.value) || p.predicate || p.keepArray) return null;
  if (!/^g_\d+$/.test(g.resolve(p.value, scope))) return null;
  const args: Node[] = node.arguments;
  const simple = (a: Node) => a && !a.predicate && !a.stages && !a.keepArray;
  if (p.value === 'replace') {
    if (
      args.length !== 3 ||
      args[1].type !== 'regex' ||
      args[2].type !== 'string' ||
      !simple(args[1]) ||
      !simple(args[2])
    )
      return null;
    const source: RegExp = args[1].value;
    const parts = g.constant(replacementParts(args[2].value, groupCount(source)));
    return `R.fast.replace(${proc}, ${g.expr(args[0], ctx, scope)}, ${g.constant(new RegExp(source))}, ${g.constant(source)}, ${JSON.stringify(args[2].value)}, ${parts}, ${ctx})`;
  }
  if (p.value === 'split') {
    if (args.length !== 2 || args[1].type !== 'string' || !simple(args[1])) return null;
    return `R.fast.split(${proc}, ${g.expr(args[0], ctx, scope)}, ${JSON.stringify(args[1].value)}, ${ctx})`;
  }
  if (p.value === 'formatBase') {
    // $formatBase(n, 10): the decimal digits of an integer (an id given as a JSON number)
    if (args.length !== 2 || args[1].type !== 'number' || args[1].value !== 10 || !simple(args[1])) return null;
    return `R.fast.formatBase10(${proc}, ${g.expr(args[0], ctx, scope)}, ${ctx})`;
  }
  if (args.length !== 1 || args[0].type === 'operator') return null;
  return `R.fast.${p.value}(${proc}, ${g.expr(args[0], ctx, scope)}, ${ctx})`;
}
