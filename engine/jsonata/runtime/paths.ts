/**
 * Paths and predicates as jsonata 2.2's evaluatePath, evaluateStep and evaluateFilter do them (no tuples, no focus, no
 * grouping: those are not compiled), with a short way for paths of plain names.
 */
import {
  collapse,
  hasOwn,
  isArrayOfNumbers,
  isFunction,
  isNumeric,
  isSequence,
  seq0,
  seq1,
  type Fn,
} from './sequences.js';

/** jsonata's fn.lookup. */
export function lookup(input: any, key: string): any {
  if (Array.isArray(input)) {
    const result = seq0();
    for (let i = 0; i < input.length; i++) {
      const res = lookup(input[i], key);
      if (res !== undefined) {
        if (Array.isArray(res)) for (const v of res) result.push(v);
        else result.push(res);
      }
    }
    return result;
  }
  if (input !== null && typeof input === 'object' && hasOwn.call(input, key) && !isFunction(input)) return input[key];
  return undefined;
}

/** jsonata's evaluateStep (not sort): evaluate the step for each item, then flatten. */
function step(input: any[], fn: (x: any) => any, last: boolean): any {
  const result = seq0();
  for (let i = 0; i < input.length; i++) {
    const res = fn(input[i]);
    if (res !== undefined) result.push(res);
  }
  if (last && result.length === 1 && Array.isArray(result[0]) && !isSequence(result[0])) return result[0];
  const out = seq0();
  for (const res of result) {
    if (!Array.isArray(res) || (res as any).cons) out.push(res);
    else for (const v of res) out.push(v);
  }
  return out;
}

/** jsonata's evaluatePath. */
export function path(
  input: any,
  firstIsVariable: boolean,
  steps: ((x: any) => any)[],
  cons0: boolean,
  keepSingletonArray: boolean,
): any {
  let seq = Array.isArray(input) && !firstIsVariable ? input : seq1(input);
  let result: any;
  for (let i = 0; i < steps.length; i++) {
    if (i === 0 && cons0) result = steps[0](seq);
    else result = step(seq, steps[i], i === steps.length - 1);
    if (result === undefined || result.length === 0) break;
    seq = result;
  }
  if (keepSingletonArray) {
    if (Array.isArray(result) && (result as any).cons && !(result as any).sequence) result = seq1(result);
    result.keepSingleton = true;
  }
  return result;
}

/**
 * A path of plain names from the context (`a.b.c`, no predicates), as jsonata's evaluatePath and evaluateStep do it
 * with each step `collapse(lookup(item, name))`, for a path node whose value is then collapsed (not `keepArray`).
 * While the value is one object, each step is a property read: a sequence of one item collapses to that item, so
 * the value returned is what the collapse would give. Arrays take jsonata's way from where they appear.
 */
export function names(input: any, keys: string[]): any {
  if (Array.isArray(input)) return namesFrom(input, keys, 0);
  return walk(input, keys, 0);
}
/** `$v.a.b`: the variable's step (its value flattened into a sequence), then the names. */
export function varNames(v: any, keys: string[]): any {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || (v as any).cons) return walk(v, keys, 0);
  const first = seq0();
  for (const x of v) first.push(x);
  return first.length === 0 ? first : namesFrom(first, keys, 0);
}
function walk(cur: any, keys: string[], from: number): any {
  const last = keys.length - 1;
  for (let s = from; s <= last; s++) {
    // an array here is a `cons` array, one item of the sequence: lookup maps over it
    if (Array.isArray(cur)) return namesFrom(seq1(cur), keys, s);
    const v =
      cur !== null &&
      typeof cur === 'object' &&
      hasOwn.call(cur, keys[s]) &&
      cur._jsonata_function !== true &&
      cur._jsonata_lambda !== true
        ? collapse(cur[keys[s]])
        : undefined;
    if (v === undefined) return undefined;
    if (!Array.isArray(v)) {
      cur = v;
      continue;
    }
    if (s === last) {
      // the last step keeps a plain array as it is; a sequence is flattened into a new one
      if (!isSequence(v) || (v as any).cons) return v;
      return namesFrom(seq1(cur), keys, s);
    }
    if ((v as any).cons) {
      cur = v;
      continue;
    }
    const seq = seq0();
    for (const x of v) seq.push(x);
    if (seq.length === 0) return seq;
    return namesFrom(seq, keys, s + 1);
  }
  return cur;
}
function namesFrom(seq: any, keys: string[], from: number): any {
  let result: any;
  const lastIndex = keys.length - 1;
  for (let s = from; s <= lastIndex; s++) {
    const key = keys[s];
    const found = seq0();
    for (let i = 0; i < seq.length; i++) {
      const res = collapse(lookup(seq[i], key));
      if (res !== undefined) found.push(res);
    }
    if (s === lastIndex && found.length === 1 && Array.isArray(found[0]) && !isSequence(found[0])) {
      result = found[0];
    } else {
      result = seq0();
      for (const res of found) {
        if (!Array.isArray(res) || (res as any).cons) result.push(res);
        else for (const v of res) result.push(v);
      }
    }
    if (result.length === 0) break;
    seq = result;
  }
  return result;
}

/** jsonata's evaluateFilter with a predicate expression; `boolean` is jsonata's $boolean. */
export function predicateFilter(boolean: Fn) {
  return function filter(input: any, pred: (x: any) => any): any {
    const results = seq0();
    if (input?.tupleStream) (results as any).tupleStream = true;
    if (!Array.isArray(input)) input = seq1(input);
    for (let index = 0; index < input.length; index++) {
      const item = input[index];
      let res = pred(item);
      if (isNumeric(res)) res = [res];
      if (isArrayOfNumbers(res)) {
        for (const ires of res) {
          let ii = Math.floor(ires);
          if (ii < 0) ii = input.length + ii;
          if (ii === index) results.push(item);
        }
      } else if (boolean(res)) {
        results.push(item);
      }
    }
    return results;
  };
}

/** jsonata's evaluateFilter with a number literal as the predicate. */
export function filterIndex(input: any, value: number): any {
  let results: any = seq0();
  if (input?.tupleStream) results.tupleStream = true;
  if (!Array.isArray(input)) input = seq1(input);
  let index = Math.floor(value);
  if (index < 0) index = input.length + index;
  const item = input[index];
  if (item !== undefined) {
    if (Array.isArray(item)) results = item;
    else results.push(item);
  }
  return results;
}
