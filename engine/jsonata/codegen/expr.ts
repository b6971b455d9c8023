/** One node → JavaScript: the dispatch over node types, and what `evaluate` does around every node. */
import { call } from './calls.js';
import type { Gen, Node, Scope } from './context.js';
import { Unsupported } from './context.js';
import { block, lambda } from './frames.js';
import { binary, unary } from './operators.js';
import { path, predicate } from './path.js';

/** jsonata's `evaluate(node)`: the node, then its predicates, then the sequence collapse. */
export function expr(g: Gen, node: Node, ctx: string, scope: Scope, step: boolean): string {
  if (node.group && node.type !== 'path') throw new Unsupported('grouping');
  if (node.stages && !step) throw new Unsupported('stages outside a path step');
  if (node.focus !== undefined || node.index !== undefined || node.tuple || node.ancestor || node.seekingParent) {
    throw new Unsupported('focus, index, tuple or parent bindings');
  }
  let code = bare(g, node, ctx, scope);
  let filtered = false;
  if (node.predicate) {
    for (const p of node.predicate) code = predicate(g, code, p, scope);
    filtered = node.predicate.length > 0;
  }
  if (node.keepArray) return `R.collapseKeep(${code})`;
  if (filtered || maySequence(node)) return `R.collapse(${code})`;
  return code;
}

/** Whether a node's own value can be a sequence (else the collapse is skipped: it would change nothing). */
function maySequence(node: Node): boolean {
  switch (node.type) {
    case 'string':
    case 'number':
    case 'value':
    case 'regex':
    case 'lambda':
    case 'binary':
    case 'unary':
      return false;
    default:
      return true;
  }
}

/** The node itself, without its predicates and collapse. */
function bare(g: Gen, node: Node, ctx: string, scope: Scope): string {
  switch (node.type) {
    case 'string':
      return JSON.stringify(node.value);
    case 'number':
      return g.number(node.value);
    case 'value':
      if (node.value === true || node.value === false || node.value === null) return String(node.value);
      throw new Unsupported(`the value ${String(node.value)}`);
    case 'regex':
      return `R.regex(${g.constant(node.value)})`;
    case 'name':
      return `R.lookup(${ctx}, ${JSON.stringify(node.value)})`;
    case 'variable':
      if (node.value === '') return `(${ctx} && ${ctx}.outerWrapper ? ${ctx}[0] : ${ctx})`;
      return g.resolve(node.value, scope);
    case 'path':
      return path(g, node, ctx, scope);
    case 'binary':
      return binary(g, node, ctx, scope);
    case 'unary':
      return unary(g, node, ctx, scope);
    case 'condition': {
      const t = g.expr(node.then, ctx, scope);
      const e = node.else !== undefined ? g.expr(node.else, ctx, scope) : 'undefined';
      return `(R.bool(${g.expr(node.condition, ctx, scope)}) ? ${t} : ${e})`;
    }
    case 'block':
      return block(g, node, ctx, scope);
    case 'bind': {
      if (node.lhs.type !== 'variable') throw new Unsupported('a bind to a non-variable');
      const v = g.resolve(node.lhs.value, scope);
      if (!/^v\d+$/.test(v)) throw new Unsupported(`a bind outside a frame ($${node.lhs.value})`);
      if (node.rhs.type === 'lambda') g.naming = `$${node.lhs.value}`;
      return `(${v} = ${g.expr(node.rhs, ctx, scope)})`;
    }
    case 'function':
      return call(g, node, ctx, scope);
    case 'lambda':
      // A thunk is only compiled in tail position (tail()); elsewhere its value would be a thunk object.
      if (node.thunk) throw new Unsupported('a tail call under a predicate');
      return lambda(g, node, ctx, scope);
    default:
      throw new Unsupported(`a ${node.type} expression`);
  }
}
