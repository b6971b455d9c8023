/** Paths and their predicates → calls of the runtime's path, names and filter (runtime/paths.ts). */
import type { Gen, Node, Scope } from './context.js';
import { Unsupported } from './context.js';

const plainName = (s: Node) => s.type === 'name' && !s.stages && !s.predicate && !s.keepArray && !s.group;

export function path(g: Gen, node: Node, ctx: string, scope: Scope): string {
  if (node.group) throw new Unsupported('grouping after a path');
  if (node.tuple) throw new Unsupported('a tuple stream');
  const steps: Node[] = node.steps;
  for (const s of steps) {
    if (s.tuple || s.focus !== undefined || s.index !== undefined || s.ancestor || s.type === 'sort') {
      throw new Unsupported('focus, index, ancestor or sort steps');
    }
  }
  if (steps.every(plainName) && !node.keepSingletonArray && !node.keepArray) {
    return `R.names(${ctx}, ${g.constant(steps.map((s) => s.value))})`;
  }
  const [first, ...rest] = steps;
  if (
    first.type === 'variable' &&
    first.value !== '' &&
    !first.stages &&
    rest.length > 0 &&
    rest.every(plainName) &&
    !node.keepSingletonArray &&
    !node.keepArray
  ) {
    return `R.varNames(${g.expr(first, ctx, scope, true)}, ${g.constant(rest.map((s) => s.value))})`;
  }
  const fns = steps.map((s, i) => {
    const x = g.id('x');
    if (i === 0 && s.consarray) return g.keep(`(${x}) => ${g.expr(s, x, scope, true)}`);
    let code = g.expr(s, x, scope, true);
    for (const st of s.stages ?? []) code = predicate(g, code, st, scope);
    return g.keep(`(${x}) => ${code}`);
  });
  return `R.path(${ctx}, ${steps[0].type === 'variable'}, [${fns.join(', ')}], ${!!steps[0].consarray}, ${!!node.keepSingletonArray})`;
}

/** A predicate or a step's stage, applied to the value `code` computes. */
export function predicate(g: Gen, code: string, p: Node, scope: Scope): string {
  if (p.type !== 'filter') throw new Unsupported(`a ${p.type} stage`);
  const e = p.expr;
  if (e.type === 'number') return `R.filterIndex(${code}, ${g.number(e.value)})`;
  const x = g.id('x');
  return `R.filter(${code}, ${g.keep(`(${x}) => ${g.expr(e, x, scope)}`)})`;
}
