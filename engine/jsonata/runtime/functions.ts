/** Function values in compiled code: compiled lambdas, calls of jsonata's built-ins and of bound functions, regexes. */
import { createSequence, functionArity, isFunction, isIterable, type Fn } from './sequences.js';

/** The `this` jsonata gives a built-in's implementation. */
const focusOf = (input: unknown) => ({ environment: undefined, input, options: undefined, createSequence });
/** The same, for a built-in that reads no input. */
export const plainFocus = { options: undefined, createSequence };

/** A compiled lambda: a JavaScript function (so built-ins can call it) that also carries its raw form. */
export function lambda(impl: (args: any[], ctx: unknown) => any, arity: number): Fn {
  const f: any = (...params: any[]) => impl(params, null);
  f.__impl = impl;
  f.arity = arity;
  return f;
}

/** jsonata's applyInner (compiled lambdas never return tail-call thunks, so `apply` needs no trampoline). */
export function call(proc: any, args: any[], ctx: unknown): any {
  if (typeof proc === 'function' && proc.__impl) return proc.__impl(args, ctx);
  if (proc && proc._jsonata_function === true) {
    const validated = proc.signature ? proc.signature.validate(args, ctx) : args;
    let r = proc.implementation.apply(focusOf(ctx), validated);
    if (isIterable(r)) r = r.next().value;
    if (r && typeof r.then === 'function') throw new Error('an asynchronous function cannot be compiled');
    return r;
  }
  if (proc && proc._jsonata_lambda === true)
    throw new Error('an interpreter lambda cannot be called from compiled code');
  if (typeof proc === 'function') {
    const validated = proc.signature ? proc.signature.validate(args, ctx) : args;
    const r = proc.apply(ctx, validated);
    if (r && typeof r.then === 'function') throw new Error('an asynchronous function cannot be compiled');
    return r;
  }
  throw { code: 'T1006' };
}

/** evaluateFunction wraps a function given as an argument in a closure (so built-ins can call it). */
export function arg(v: any): any {
  if ((typeof v !== 'object' && typeof v !== 'function') || v === null || !isFunction(v)) return v;
  const c: any = (...params: any[]) => call(v, params, null);
  c.arity = functionArity(v);
  return c;
}

/** evaluateRegex: a matcher closure over a fresh RegExp. */
export function regex(source: RegExp): Fn {
  const re = new RegExp(source);
  const closure = (str: string, fromIndex?: number): any => {
    let result: any;
    re.lastIndex = fromIndex || 0;
    const match = re.exec(str);
    if (match !== null) {
      result = { match: match[0], start: match.index, end: match.index + match[0].length, groups: [] as string[] };
      for (let i = 1; i < match.length; i++) result.groups.push(match[i]);
      result.next = () => {
        if (re.lastIndex >= str.length) return undefined;
        const next = closure(str, re.lastIndex);
        if (next && next.match === '') throw { code: 'D1004', value: source.source };
        return next;
      };
    }
    return result;
  };
  return closure;
}
