/**
 * The runtime the generated code calls as `R`: jsonata 2.2's evaluator, taken apart into the pieces a compiled node
 * needs (sequences, paths, operators, constructors, calls, fast paths of built-ins), over the built-in functions of
 * the synchronous engine. Where a piece mirrors a jsonata function it names it.
 *
 * Owns: what compiled code does at evaluation time. Must not: know about the AST or the generated text (codegen/).
 */
import type { Jsonata } from '../sync-engine.js';
import { array, grouping } from './constructors.js';
import { FAST, fastPaths } from './fast.js';
import { arg, call, lambda, regex } from './functions.js';
import { operators } from './operators.js';
import { filterIndex, lookup, names, path, predicateFilter, varNames } from './paths.js';
import { collapse, collapseKeep, hasOwn, isSequence, seq1, type Fn } from './sequences.js';

export type { Fn } from './sequences.js';
export type Runtime = ReturnType<typeof makeRuntime>;

/** Built-in definitions by name, per engine: what `$name` evaluates to. */
const builtinsOf = new WeakMap<Jsonata, Map<string, unknown>>();

/** A built-in function's definition, as jsonata's `$name` evaluates (its implementation and signature). */
export function builtin(sync: Jsonata, name: string): unknown {
  let byName = builtinsOf.get(sync);
  if (!byName) builtinsOf.set(sync, (byName = new Map()));
  if (!byName.has(name)) byName.set(name, sync(`$${name}`).evaluate(undefined) as unknown);
  return byName.get(name);
}

function makeRuntime(boolean: Fn, string: Fn, append: Fn, defs: Record<string, unknown>) {
  return {
    fast: fastPaths(defs, boolean),
    hasOwn: (o: object, k: string) => hasOwn.call(o, k),
    seq1,
    isSequence,
    collapse,
    collapseKeep,
    lookup,
    path,
    names,
    varNames,
    filter: predicateFilter(boolean),
    filterIndex,
    ...operators(boolean, string),
    lambda,
    call,
    arg,
    array,
    group: grouping(append),
    regex,
  };
}

const runtimes = new WeakMap<Jsonata, Runtime | null>();

/** The runtime over a synchronous engine (made once), or null when that engine lacks a built-in it calls. */
export function runtimeFor(sync: Jsonata): Runtime | null {
  let r = runtimes.get(sync);
  if (r === undefined) {
    const impl = (name: string) => (builtin(sync, name) as { implementation?: Fn } | undefined)?.implementation;
    const boolean = impl('boolean');
    const string = impl('string');
    const append = impl('append');
    const defs: Record<string, unknown> = {};
    for (const name of FAST) defs[name] = builtin(sync, name);
    r = boolean && string && append ? makeRuntime(boolean, string, append, defs) : null;
    runtimes.set(sync, r);
  }
  return r;
}
