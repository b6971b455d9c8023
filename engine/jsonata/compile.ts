/**
 * A JSONata → JavaScript compiler for the runtime's hot path.
 *
 * Why: even synchronous (sync-engine.ts), the jsonata interpreter walks some 2,800 AST nodes per Shopify order, each
 * through a generic `evaluate` with its dispatch, frame lookups, sequence allocations and argument checks. The issue
 * asks for 10,000 records/s end to end on two cores; the interpreter gives about 2,500 mappings/s per core. This
 * compiler turns the expression's AST (jsonata's own parser, `jsonata(text).ast()`) into one JavaScript function,
 * with every variable resolved to a JavaScript variable at compile time.
 *
 * Semantics: each node compiles to code that does what jsonata 2.2's `evaluate` does for it — the same sequence
 * rules (singleton collapse, flattening of path steps, `keepSingleton`, `cons` arrays), the same filters, the same
 * object-constructor grouping, the same lambda frames (a lambda's body sees the input of its definition) — and the
 * built-in functions are jsonata's own implementations, taken from the synchronous engine and called with jsonata's
 * own signature validation. Where this file mirrors a jsonata function it names it.
 *
 * What it does not compile (it returns null and the caller keeps the interpreter): sort, transform, `~>`, partial
 * application, wildcards, descendants, parent, focus/index/tuple bindings, grouping after a path, `..`, and the
 * built-ins that need the interpreter's environment ($now, $millis, $eval).
 *
 * Safety: a compiled expression never decides an error. When the compiled code throws anything, the caller evaluates
 * the record again with the interpreter, whose answer (or error) counts. `rsync test` evaluates every mapping test
 * case with the compiled function as well and fails on any difference from jsonata, and a test compares the
 * two on the example mappings over thousands of mutated real payloads.
 */
import jsonata from 'jsonata';
import { syncJsonata } from './sync-engine.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Node = any;
type Fn = (...a: any[]) => any;

export interface CompiledExpression {
  evaluate(input: unknown, bindings?: Record<string, unknown>): unknown;
  /** The generated JavaScript (for tests and for curiosity). */
  readonly code: string;
}

class Unsupported extends Error {}

/** Built-ins whose implementation reads the interpreter's environment (timestamp, evaluation). */
const NEEDS_ENVIRONMENT = new Set(['now', 'millis', 'eval']);

const hasOwn = Object.prototype.hasOwnProperty;

// ----------------------------------------------------------------------------------------------- runtime helpers
// Copies of jsonata 2.2's utils (not exported by the package), and the parts of its evaluator that the compiled code
// calls. Each keeps the original's behaviour, errors included.

function seq0(): any[] {
  const s: any = [];
  s.sequence = true;
  return s;
}
function seq1(x: unknown): any[] {
  const s: any = [x];
  s.sequence = true;
  return s;
}
/** jsonata's createSequence: no argument → empty, one argument (even undefined) → that one item. */
function createSequence(...a: unknown[]): any[] {
  return a.length === 1 ? seq1(a[0]) : seq0();
}
function isSequence(v: any): boolean {
  return v.sequence === true && Array.isArray(v);
}
function isNumeric(n: unknown): boolean {
  if (typeof n === 'number') {
    if (Number.isNaN(n)) return false;
    if (!Number.isFinite(n)) throw { code: 'D1001', value: n };
    return true;
  }
  return false;
}
function isArrayOfNumbers(arg: unknown): boolean {
  return Array.isArray(arg) && arg.filter((item) => !isNumeric(item)).length === 0;
}
function isFunction(arg: any): boolean {
  return (arg && (arg._jsonata_function === true || arg._jsonata_lambda === true)) || typeof arg === 'function';
}
function isIterable(arg: any): boolean {
  return (
    typeof arg === 'object' && arg !== null && Symbol.iterator in arg && 'next' in arg && typeof arg.next === 'function'
  );
}
function isDeepEqual(lhs: any, rhs: any): boolean {
  if (lhs === rhs) return true;
  if (typeof lhs === 'object' && typeof rhs === 'object' && lhs !== null && rhs !== null) {
    if (Array.isArray(lhs) && Array.isArray(rhs)) {
      if (lhs.length !== rhs.length) return false;
      for (let i = 0; i < lhs.length; i++) if (!isDeepEqual(lhs[i], rhs[i])) return false;
      return true;
    }
    let lkeys = Object.getOwnPropertyNames(lhs);
    let rkeys = Object.getOwnPropertyNames(rhs);
    if (lkeys.length !== rkeys.length) return false;
    lkeys = lkeys.sort();
    rkeys = rkeys.sort();
    for (let i = 0; i < lkeys.length; i++) if (lkeys[i] !== rkeys[i]) return false;
    for (const k of lkeys) if (!isDeepEqual(lhs[k], rhs[k])) return false;
    return true;
  }
  return false;
}
function functionArity(f: any): number {
  return typeof f.arity === 'number'
    ? f.arity
    : typeof f.implementation === 'function'
      ? f.implementation.length
      : typeof f.length === 'number'
        ? f.length
        : f.arguments.length;
}

interface Builtins {
  boolean: Fn;
  string: Fn;
  append: Fn;
  /** The built-in function definitions of the fast paths, to recognise them at the call (a binding may shadow them). */
  defs: Record<string, unknown>;
}

/** Built-ins with a fast path for their common arguments (everything else goes through jsonata's implementation). */
const FAST = new Set([
  'string',
  'count',
  'sum',
  'abs',
  'exists',
  'type',
  'not',
  'number',
  'keys',
  'replace',
  'split',
  'formatBase',
]);

/**
 * The replacement text of jsonata's $replace (`$0`, `$n` with as many digits as the regex has groups allow, `$$`),
 * parsed once per call site for a regex with `groupCount` groups: literal texts alternating with match indexes
 * (0 the whole match, n group n). This is jsonata's own scan, run ahead of time: it depends only on the text and the
 * number of groups.
 */
export function replacementParts(replacement: string, groupCount: number): (string | number)[] {
  const parts: (string | number)[] = [];
  let lit = '';
  let position = 0;
  let index = replacement.indexOf('$', position);
  while (index !== -1 && position < replacement.length) {
    lit += replacement.substring(position, index);
    position = index + 1;
    const dollarVal = replacement.charAt(position);
    if (dollarVal === '$') {
      lit += '$';
      position++;
    } else if (dollarVal === '0') {
      parts.push(lit, 0);
      lit = '';
      position++;
    } else {
      const maxDigits = groupCount === 0 ? 1 : Math.floor(Math.log(groupCount) * Math.LOG10E) + 1;
      index = parseInt(replacement.substring(position, position + maxDigits), 10);
      if (maxDigits > 1 && index > groupCount)
        index = parseInt(replacement.substring(position, position + maxDigits - 1), 10);
      if (!Number.isNaN(index)) {
        if (groupCount > 0) {
          parts.push(lit, index);
          lit = '';
        }
        position += index.toString().length;
      } else {
        lit += '$';
      }
    }
    index = replacement.indexOf('$', position);
  }
  parts.push(lit + replacement.substring(position));
  return parts;
}

/** How many capture groups a regular expression has. */
function groupCount(re: RegExp): number {
  return (new RegExp(`${re.source}|`, re.flags.replace('g', '')).exec('') as RegExpExecArray).length - 1;
}

function makeRuntime(b: Builtins) {
  const focusOf = (input: unknown) => ({ environment: undefined, input, options: undefined, createSequence });
  const plainFocus = { options: undefined, createSequence };

  /** The end of jsonata's `evaluate`: a sequence of none is nothing, of one is that one (unless kept). */
  function collapse(r: any): any {
    if (typeof r !== 'object' || r === null) return r;
    if (r.sequence === true && Array.isArray(r) && !(r as any).tupleStream) {
      if (r.length === 0) return undefined;
      if (r.length === 1) return (r as any).keepSingleton ? r : r[0];
    }
    return r;
  }
  /** The same, for a node marked `keepArray` (a path ending in `[]`). */
  function collapseKeep(r: any): any {
    if (r && r.sequence === true && Array.isArray(r) && !(r as any).tupleStream) {
      (r as any).keepSingleton = true;
      if (r.length === 0) return undefined;
    }
    return r;
  }
  /** jsonata's fn.lookup. */
  function lookup(input: any, key: string): any {
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
  /** jsonata's evaluatePath (no tuples, no focus, no grouping: those are not compiled). */
  function path(
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
  /** A path of plain names from the context (`a.b.c`, no predicates): jsonata's evaluatePath and evaluateStep with
   *  each step `collapse(lookup(item, name))`, without the closures. */
  /**
   * A path of plain names from the context (`a.b.c`, no predicates), as jsonata's evaluatePath and evaluateStep do it
   * with each step `collapse(lookup(item, name))`, for a path node whose value is then collapsed (not `keepArray`).
   * While the value is one object, each step is a property read: a sequence of one item collapses to that item, so
   * the value returned is what the collapse would give. Arrays take jsonata's way from where they appear.
   */
  function names(input: any, keys: string[]): any {
    if (Array.isArray(input)) return namesFrom(input, keys, 0);
    return walk(input, keys, 0);
  }
  /** `$v.a.b`: the variable's step (its value flattened into a sequence), then the names. */
  function varNames(v: any, keys: string[]): any {
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
  /** jsonata's evaluateFilter with a predicate expression. */
  function filter(input: any, pred: (x: any) => any): any {
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
      } else if (b.boolean(res)) {
        results.push(item);
      }
    }
    return results;
  }
  /** jsonata's evaluateFilter with a number literal as the predicate. */
  function filterIndex(input: any, value: number): any {
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
  /** One side of `&` (evaluateStringConcat): nothing is '', else jsonata's string(). */
  function catString(v: unknown): string {
    if (typeof v === 'string') return v;
    if (v === undefined) return '';
    if (Number.isInteger(v)) return String(v);
    return b.string(v);
  }
  function boolize(v: unknown): boolean {
    const r = b.boolean(v);
    return r === undefined ? false : r;
  }
  function num(lhs: unknown, rhs: unknown): boolean {
    if (lhs !== undefined && !isNumeric(lhs)) throw { code: 'T2001', value: lhs };
    if (rhs !== undefined && !isNumeric(rhs)) throw { code: 'T2002', value: rhs };
    return lhs !== undefined && rhs !== undefined;
  }
  function compare(lhs: unknown, rhs: unknown): boolean {
    const lt = typeof lhs;
    const rt = typeof rhs;
    const lc = lt === 'undefined' || lt === 'string' || lt === 'number';
    const rc = rt === 'undefined' || rt === 'string' || rt === 'number';
    if (!lc || !rc) throw { code: 'T2010', value: !(lt === 'string' || lt === 'number') ? lhs : rhs };
    if (lt === 'undefined' || rt === 'undefined') return false;
    if (lt !== rt) throw { code: 'T2009', value: lhs, value2: rhs };
    return true;
  }
  /** A compiled lambda: a JavaScript function (so built-ins can call it) that also carries its raw form. */
  function lambda(impl: (args: any[], ctx: unknown) => any, arity: number): Fn {
    const f: any = (...params: any[]) => impl(params, null);
    f.__impl = impl;
    f.arity = arity;
    return f;
  }
  /** jsonata's applyInner (compiled lambdas never return tail-call thunks, so `apply` needs no trampoline). */
  function call(proc: any, args: any[], ctx: unknown): any {
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
  function arg(v: any): any {
    if ((typeof v !== 'object' && typeof v !== 'function') || v === null || !isFunction(v)) return v;
    const c: any = (...params: any[]) => call(v, params, null);
    c.arity = functionArity(v);
    return c;
  }
  /** The array constructor of evaluateUnary. */
  function array(values: any[], nested: boolean[], cons: boolean): any {
    const result: any = [];
    for (let i = 0; i < values.length; i++) {
      const value = values[i];
      if (value !== undefined) {
        if (nested[i] || !Array.isArray(value)) result.push(value);
        // jsonata's append: concat, which spreads the array one level
        else for (let j = 0; j < value.length; j++) result.push(value[j]);
      }
    }
    if (cons) Object.defineProperty(result, 'cons', { enumerable: false, configurable: false, value: true });
    return result;
  }
  /** evaluateGroupExpression without tuple streams; a key is a string (literal) or a function of the item. */
  function group(input: any, keys: (string | ((x: any) => any))[], values: ((x: any) => any)[]): any {
    const result = Object.create(null);
    const groups = Object.create(null);
    if (!Array.isArray(input)) input = seq1(input);
    if (input.length === 0) input.push(undefined);
    for (let itemIndex = 0; itemIndex < input.length; itemIndex++) {
      const item = input[itemIndex];
      for (let pairIndex = 0; pairIndex < keys.length; pairIndex++) {
        const k = keys[pairIndex];
        const key = typeof k === 'string' ? k : k(item);
        if (typeof key !== 'string' && key !== undefined) throw { code: 'T1003', value: key };
        if (key !== undefined) {
          if (key === '_jsonata_lambda' || key === '_jsonata_function') throw { code: 'D1013', value: key };
          if (hasOwn.call(groups, key)) {
            if (groups[key].exprIndex !== pairIndex) throw { code: 'D1009', value: key };
            groups[key].data = b.append.call(plainFocus, groups[key].data, item);
          } else {
            groups[key] = { data: item, exprIndex: pairIndex };
          }
        }
      }
    }
    for (const key of Object.keys(groups)) {
      const entry = groups[key];
      const value = values[entry.exprIndex](entry.data);
      if (value !== undefined) result[key] = value;
    }
    return result;
  }
  /** evaluateRegex: a matcher closure over a fresh RegExp. */
  function regex(source: RegExp): Fn {
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

  const d = b.defs;
  const numberImpl = (d.number as { implementation: Fn }).implementation;
  const finiteNumber = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
  /** The fast paths: each answers only where it is sure to agree with jsonata, else it makes the generic call. */
  const fast = {
    string(p: unknown, x: unknown, ctx: unknown): unknown {
      if (p === d.string) {
        if (typeof x === 'string') return x;
        // jsonata's string() writes a finite number with JSON.stringify, which is String() for finite numbers, after
        // its replacer has rounded a non-integer to 15 significant digits
        if (Number.isInteger(x)) return String(x);
        if (finiteNumber(x)) return String(Number(x.toPrecision(15)));
      }
      return call(p, [arg(x)], ctx);
    },
    /** $formatBase(x, 10): jsonata rounds x (an integer stays as it is) and writes it with toString(10). */
    formatBase10(p: unknown, x: unknown, ctx: unknown): unknown {
      if (p === d.formatBase && Number.isSafeInteger(x)) return String(x);
      return call(p, [arg(x), 10], ctx);
    },
    number(p: unknown, x: unknown, ctx: unknown): unknown {
      if (p === d.number) {
        if (finiteNumber(x)) return x;
        if (typeof x === 'string') return numberImpl(x);
      }
      return call(p, [arg(x)], ctx);
    },
    /** $split(str, 'separator'): String.prototype.split, as jsonata's split does for a string separator. */
    split(p: unknown, str: unknown, separator: string, ctx: unknown): unknown {
      if (p === d.split && typeof str === 'string') return str.split(separator);
      return call(p, [arg(str), separator], ctx);
    },
    keys(p: unknown, x: unknown, ctx: unknown): unknown {
      if (p === d.keys && x !== null && typeof x === 'object' && !Array.isArray(x) && !isFunction(x)) {
        const r = seq0();
        for (const k of Object.keys(x)) r.push(k);
        return r;
      }
      return call(p, [arg(x)], ctx);
    },
    count(p: unknown, x: unknown, ctx: unknown): unknown {
      if (p === d.count) {
        if (x === undefined) return 0;
        if (Array.isArray(x)) return x.length;
      }
      return call(p, [arg(x)], ctx);
    },
    sum(p: unknown, x: unknown, ctx: unknown): unknown {
      if (p === d.sum && Array.isArray(x) && x.every(finiteNumber)) {
        let total = 0;
        for (const n of x) total += n;
        return total;
      }
      return call(p, [arg(x)], ctx);
    },
    abs: (p: unknown, x: unknown, ctx: unknown) =>
      p === d.abs && finiteNumber(x) ? Math.abs(x) : call(p, [arg(x)], ctx),
    exists: (p: unknown, x: unknown, ctx: unknown) => (p === d.exists ? x !== undefined : call(p, [arg(x)], ctx)),
    type(p: unknown, x: unknown, ctx: unknown): unknown {
      if (p === d.type) {
        if (x === undefined) return undefined;
        if (x === null) return 'null';
        if (typeof x === 'string') return 'string';
        if (typeof x === 'boolean') return 'boolean';
        if (finiteNumber(x)) return 'number';
      }
      return call(p, [arg(x)], ctx);
    },
    not: (p: unknown, x: unknown, ctx: unknown) =>
      p === d.not ? (x === undefined ? undefined : !b.boolean(x)) : call(p, [arg(x)], ctx),
    /** $replace(str, /regex/, 'text'): jsonata's loop over its regex matcher, on a RegExp made once per call site. */
    replace(
      p: unknown,
      str: unknown,
      re: RegExp,
      source: RegExp,
      replacement: string,
      parts: (string | number)[],
      ctx: unknown,
    ): unknown {
      if (p !== d.replace || typeof str !== 'string') return call(p, [arg(str), arg(regex(source)), replacement], ctx);
      re.lastIndex = 0;
      let m = re.exec(str);
      if (m === null) return str;
      let result = '';
      let position = 0;
      while (m !== null) {
        result += str.substring(position, m.index);
        result += parts[0] as string;
        for (let i = 1; i < parts.length; i += 2) {
          const g = m[parts[i] as number];
          if (g !== undefined) result += g;
          result += parts[i + 1] as string;
        }
        position = m.index + m[0].length;
        if (re.lastIndex >= str.length) break;
        m = re.exec(str);
        if (m !== null && m[0] === '') throw { code: 'D1004', value: source.source };
      }
      return result + str.substring(position);
    },
  };

  return {
    fast,
    hasOwn: (o: object, k: string) => hasOwn.call(o, k),
    seq1,
    isSequence,
    collapse,
    collapseKeep,
    lookup,
    path,
    names,
    varNames,
    filter,
    filterIndex,
    bool: b.boolean,
    boolize,
    cat(lhs: unknown, rhs: unknown): string {
      return catString(lhs).concat(catString(rhs));
    },
    add: (l: any, r: any) => (num(l, r) ? l + r : undefined),
    sub: (l: any, r: any) => (num(l, r) ? l - r : undefined),
    mul: (l: any, r: any) => (num(l, r) ? l * r : undefined),
    div: (l: any, r: any) => (num(l, r) ? l / r : undefined),
    mod: (l: any, r: any) => (num(l, r) ? l % r : undefined),
    eq: (l: unknown, r: unknown) => (l === undefined || r === undefined ? false : isDeepEqual(l, r)),
    ne: (l: unknown, r: unknown) => (l === undefined || r === undefined ? false : !isDeepEqual(l, r)),
    lt: (l: any, r: any) => (compare(l, r) ? l < r : undefined),
    le: (l: any, r: any) => (compare(l, r) ? l <= r : undefined),
    gt: (l: any, r: any) => (compare(l, r) ? l > r : undefined),
    ge: (l: any, r: any) => (compare(l, r) ? l >= r : undefined),
    includes(lhs: unknown, rhs: unknown): boolean {
      if (lhs === undefined || rhs === undefined) return false;
      const r = Array.isArray(rhs) ? rhs : [rhs];
      for (let i = 0; i < r.length; i++) if (r[i] === lhs) return true;
      return false;
    },
    neg(v: unknown): unknown {
      if (v === undefined) return undefined;
      if (isNumeric(v)) return -(v as number);
      throw { code: 'D1002', value: v };
    },
    lambda,
    call,
    arg,
    array,
    group,
    regex,
  };
}
type Runtime = ReturnType<typeof makeRuntime>;

// --------------------------------------------------------------------------------------------------- the compiler

interface Scope {
  vars: Map<string, string>;
  parent: Scope | null;
}

class Compiler {
  private n = 0;
  /** The name of the variable the next lambda is bound to. */
  private naming: string | undefined;
  readonly constants: unknown[] = [];
  /** Free variables: looked up in the bindings, then the built-ins, when evaluation starts. */
  readonly free = new Map<string, string>();

  id(base: string): string {
    return `${base}${++this.n}`;
  }
  /** How many function literals the code keeps (keep()). */
  kept = 0;
  /**
   * A function literal of the generated code, its latest closure kept in Z (see compileJsonata). Every evaluation
   * makes new closures of these literals, which die with it; without a live one, TurboFan compiled the mapping's
   * object constructors and lambdas again and again (--trace-opt: 14 times each in a 50,000-record run, no deopt
   * logged; a third of a 2-core machine in the e2e benchmark). With one kept, each is compiled once per thread. Why
   * V8 dropped the code was not pinned down.
   */
  keep(fn: string): string {
    return `(Z[${this.kept++}] = ${fn})`;
  }

  constant(v: unknown): string {
    this.constants.push(v);
    return `K[${this.constants.length - 1}]`;
  }

  /** The names a frame binds with `:=`: every bind below it that no nested block or lambda frames. */
  boundIn(node: Node, out = new Set<string>()): Set<string> {
    const visit = (n: Node): void => {
      if (Array.isArray(n)) return n.forEach(visit);
      if (!n || typeof n !== 'object') return;
      if (n.type === 'block' || (n.type === 'lambda' && !n.thunk)) return;
      if (n.type === 'bind') out.add(n.lhs.value);
      for (const [k, v] of Object.entries(n))
        if (k !== 'value' && k !== 'signature' && v && typeof v === 'object') visit(v);
    };
    if (node.type === 'block') for (const e of node.expressions) visit(e);
    else if (node.type === 'lambda' || node.type === 'top') visit(node.body);
    else visit(node);
    return out;
  }

  resolve(name: string, scope: Scope | null): string {
    for (let s = scope; s; s = s.parent) {
      const v = s.vars.get(name);
      if (v) return v;
    }
    if (name === '$') return 'root';
    let g = this.free.get(name);
    if (!g) {
      if (NEEDS_ENVIRONMENT.has(name)) throw new Unsupported(`$${name} needs the interpreter`);
      g = `g_${this.free.size}`;
      this.free.set(name, g);
    }
    return g;
  }

  /** Declarations for a frame's own variables: each starts as what the name meant outside (jsonata's frame lookup
   *  falls through to the enclosing frame until the name is bound here). */
  declare(scope: Scope, names: Iterable<string>): string {
    const decl: string[] = [];
    for (const name of names) {
      if (scope.vars.has(name)) continue;
      const outer = this.resolve(name, scope.parent);
      const v = this.id('v');
      scope.vars.set(name, v);
      decl.push(`${v} = ${outer}`);
    }
    return decl.length ? `let ${decl.join(', ')};` : '';
  }

  /** jsonata's `evaluate(node)`: the node, then its predicates, then the sequence collapse. */
  expr(node: Node, ctx: string, scope: Scope, step = false): string {
    if (node.group && node.type !== 'path') throw new Unsupported('grouping');
    if (node.stages && !step) throw new Unsupported('stages outside a path step');
    if (node.focus !== undefined || node.index !== undefined || node.tuple || node.ancestor || node.seekingParent) {
      throw new Unsupported('focus, index, tuple or parent bindings');
    }
    let code = this.bare(node, ctx, scope);
    let filtered = false;
    if (node.predicate) {
      for (const p of node.predicate) code = this.filter(code, p, scope);
      filtered = node.predicate.length > 0;
    }
    if (node.keepArray) return `R.collapseKeep(${code})`;
    if (filtered || this.maySequence(node)) return `R.collapse(${code})`;
    return code;
  }

  /** Whether a node's own value can be a sequence (else the collapse is skipped: it would change nothing). */
  maySequence(node: Node): boolean {
    switch (node.type) {
      case 'string':
      case 'number':
      case 'value':
      case 'regex':
      case 'lambda':
        return false;
      case 'binary':
        return false;
      case 'unary':
        return false;
      default:
        return true;
    }
  }

  filter(code: string, p: Node, scope: Scope): string {
    if (p.type !== 'filter') throw new Unsupported(`a ${p.type} stage`);
    const e = p.expr;
    if (e.type === 'number') return `R.filterIndex(${code}, ${this.number(e.value)})`;
    const x = this.id('x');
    return `R.filter(${code}, ${this.keep(`(${x}) => ${this.expr(e, x, scope)}`)})`;
  }

  number(v: number): string {
    return Number.isInteger(v) && Math.abs(v) < 2 ** 31 && !Object.is(v, -0) ? `(${v})` : this.constant(v);
  }

  bare(node: Node, ctx: string, scope: Scope): string {
    switch (node.type) {
      case 'string':
        return JSON.stringify(node.value);
      case 'number':
        return this.number(node.value);
      case 'value':
        if (node.value === true || node.value === false || node.value === null) return String(node.value);
        throw new Unsupported(`the value ${String(node.value)}`);
      case 'regex':
        return `R.regex(${this.constant(node.value)})`;
      case 'name':
        return `R.lookup(${ctx}, ${JSON.stringify(node.value)})`;
      case 'variable':
        if (node.value === '') return `(${ctx} && ${ctx}.outerWrapper ? ${ctx}[0] : ${ctx})`;
        return this.resolve(node.value, scope);
      case 'path':
        return this.path(node, ctx, scope);
      case 'binary':
        return this.binary(node, ctx, scope);
      case 'unary':
        return this.unary(node, ctx, scope);
      case 'condition': {
        const t = this.expr(node.then, ctx, scope);
        const e = node.else !== undefined ? this.expr(node.else, ctx, scope) : 'undefined';
        return `(R.bool(${this.expr(node.condition, ctx, scope)}) ? ${t} : ${e})`;
      }
      case 'block':
        return this.block(node, ctx, scope);
      case 'bind': {
        if (node.lhs.type !== 'variable') throw new Unsupported('a bind to a non-variable');
        const v = this.resolve(node.lhs.value, scope);
        if (!/^v\d+$/.test(v)) throw new Unsupported(`a bind outside a frame ($${node.lhs.value})`);
        if (node.rhs.type === 'lambda') this.naming = `$${node.lhs.value}`;
        return `(${v} = ${this.expr(node.rhs, ctx, scope)})`;
      }
      case 'function':
        return this.call(node, ctx, scope);
      case 'lambda':
        // A thunk is only compiled in tail position (tail()); elsewhere its value would be a thunk object.
        if (node.thunk) throw new Unsupported('a tail call under a predicate');
        return this.lambda(node, ctx, scope);
      default:
        throw new Unsupported(`a ${node.type} expression`);
    }
  }

  path(node: Node, ctx: string, scope: Scope): string {
    if (node.group) throw new Unsupported('grouping after a path');
    if (node.tuple) throw new Unsupported('a tuple stream');
    const steps: Node[] = node.steps;
    for (const s of steps) {
      if (s.tuple || s.focus !== undefined || s.index !== undefined || s.ancestor || s.type === 'sort') {
        throw new Unsupported('focus, index, ancestor or sort steps');
      }
    }
    const plain = steps.every((s) => s.type === 'name' && !s.stages && !s.predicate && !s.keepArray && !s.group);
    if (plain && !node.keepSingletonArray && !node.keepArray) {
      return `R.names(${ctx}, ${this.constant(steps.map((s) => s.value))})`;
    }
    const [first, ...rest] = steps;
    const plainRest =
      rest.length > 0 && rest.every((s) => s.type === 'name' && !s.stages && !s.predicate && !s.keepArray && !s.group);
    if (
      first.type === 'variable' &&
      first.value !== '' &&
      !first.stages &&
      plainRest &&
      !node.keepSingletonArray &&
      !node.keepArray
    ) {
      return `R.varNames(${this.expr(first, ctx, scope, true)}, ${this.constant(rest.map((s) => s.value))})`;
    }
    const fns = steps.map((s, i) => {
      const x = this.id('x');
      if (i === 0 && s.consarray) return this.keep(`(${x}) => ${this.expr(s, x, scope, true)}`);
      let code = this.expr(s, x, scope, true);
      for (const st of s.stages ?? []) code = this.filter(code, st, scope);
      return this.keep(`(${x}) => ${code}`);
    });
    return `R.path(${ctx}, ${steps[0].type === 'variable'}, [${fns.join(', ')}], ${!!steps[0].consarray}, ${!!node.keepSingletonArray})`;
  }

  binary(node: Node, ctx: string, scope: Scope): string {
    const l = this.expr(node.lhs, ctx, scope);
    const r = this.expr(node.rhs, ctx, scope);
    const op: string = node.value;
    switch (op) {
      case 'and':
        return `(R.boolize(${l}) && R.boolize(${r}))`;
      case 'or':
        return `(R.boolize(${l}) || R.boolize(${r}))`;
      case '&':
        return `R.cat(${l}, ${r})`;
      case '+':
        return `R.add(${l}, ${r})`;
      case '-':
        return `R.sub(${l}, ${r})`;
      case '*':
        return `R.mul(${l}, ${r})`;
      case '/':
        return `R.div(${l}, ${r})`;
      case '%':
        return `R.mod(${l}, ${r})`;
      case '=':
        return `R.eq(${l}, ${r})`;
      case '!=':
        return `R.ne(${l}, ${r})`;
      case '<':
        return `R.lt(${l}, ${r})`;
      case '<=':
        return `R.le(${l}, ${r})`;
      case '>':
        return `R.gt(${l}, ${r})`;
      case '>=':
        return `R.ge(${l}, ${r})`;
      case 'in':
        return `R.includes(${l}, ${r})`;
      default:
        throw new Unsupported(`the operator ${op}`);
    }
  }

  unary(node: Node, ctx: string, scope: Scope): string {
    switch (node.value) {
      case '-':
        return `R.neg(${this.expr(node.expression, ctx, scope)})`;
      case '[': {
        const values = node.expressions.map((e: Node) => this.expr(e, ctx, scope));
        const nested = node.expressions.map((e: Node) => e.value === '[');
        return `R.array([${values.join(', ')}], ${JSON.stringify(nested)}, ${!!node.consarray})`;
      }
      case '{': {
        const fastObject = this.objectLiteral(node, ctx, scope);
        if (fastObject) return fastObject;
        const keys: string[] = [];
        const values: string[] = [];
        for (const [k, v] of node.lhs as [Node, Node][]) {
          const x = this.id('x');
          keys.push(
            k.type === 'string' && !k.predicate && !k.stages
              ? JSON.stringify(k.value)
              : this.keep(`(${x}) => ${this.expr(k, x, scope)}`),
          );
          const y = this.id('x');
          values.push(this.keep(`(${y}) => ${this.expr(v, y, scope)}`));
        }
        return `R.group(${ctx}, [${keys.join(', ')}], [${values.join(', ')}])`;
      }
      default:
        throw new Unsupported(`the unary ${node.value}`);
    }
  }

  /**
   * `{ 'a': …, 'b': … }` with distinct literal keys (none an array index, which Object.keys would move first) over a
   * context that is not an array: evaluateGroupExpression makes one group per key, each evaluated on the context, in
   * key order — written out here without the groups. An array context takes the general way.
   */
  objectLiteral(node: Node, ctx: string, scope: Scope): string | null {
    const pairs = node.lhs as [Node, Node][];
    const keys = pairs.map(([k]) =>
      k.type === 'string' && !k.predicate && !k.stages && !k.keepArray ? (k.value as string) : null,
    );
    if (
      keys.some(
        (k) =>
          k === null ||
          /^(0|[1-9]\d*)$/.test(k) ||
          k === '_jsonata_lambda' ||
          k === '_jsonata_function' ||
          k === '__proto__',
      )
    )
      return null;
    if (new Set(keys).size !== keys.length) return null;
    const x = this.id('x');
    const o = this.id('o');
    const t = this.id('t');
    // The members are set in sorted key order, so the record's canonical text is JSON.stringify's (canonicalOf in
    // util/hash.ts). Values are pure, so their order only shows in which error comes first, and the compiled code
    // never decides an error (the interpreter evaluates again); a `:=` outside a block binds in this frame, so with
    // one the mapping's own order is kept.
    const order = pairs.map((_, i) => i);
    if (pairs.every(([, v]) => this.boundIn(v).size === 0)) order.sort((a, b) => (keys[a]! < keys[b]! ? -1 : 1));
    const sets = order.map(
      (i) =>
        `${t} = ${this.expr(pairs[i][1], x, scope)}; if (${t} !== undefined) ${o}[${JSON.stringify(keys[i])}] = ${t};`,
    );
    const general = `R.group(${x}, [${keys.map((k) => JSON.stringify(k)).join(', ')}], [${pairs
      .map(([, v]) => {
        const y = this.id('x');
        return this.keep(`(${y}) => ${this.expr(v, y, scope)}`);
      })
      .join(', ')}])`;
    // A plain object ({}), not jsonata's Object.create(null): V8 keeps it in fast mode (JSON.stringify and member
    // reads twice as fast), and reads through paths check own members anyway, as for a source record's objects.
    return `${this.keep(`function ${this.id('object_')}(${x}) { if (Array.isArray(${x})) return ${general}; const ${o} = {}; let ${t}; ${sets.join(' ')} return ${o}; }`)}(${ctx})`;
  }

  block(node: Node, ctx: string, scope: Scope): string {
    if (node.expressions.length === 0) return 'undefined';
    return this.frame(node, ctx, scope, (last, inner) => this.expr(last, ctx, inner));
  }

  /** A block's frame (evaluateBlock): its own variables, every expression in turn, the last one's value as `value`
   *  compiles it. */
  frame(node: Node, ctx: string, scope: Scope, value: (last: Node, inner: Scope) => string): string {
    const inner: Scope = { vars: new Map(), parent: scope };
    const decl = this.declare(inner, this.boundIn(node));
    const exprs: string[] = node.expressions.slice(0, -1).map((e: Node) => `${this.expr(e, ctx, inner)};`);
    const last = value(node.expressions[node.expressions.length - 1], inner);
    return `${this.keep(`() => { ${decl} ${exprs.join(' ')} return ${last}; }`)}()`;
  }

  call(node: Node, ctx: string, scope: Scope): string {
    if (node.type !== 'function') throw new Unsupported(`a ${node.type} call`);
    const proc = this.expr(node.procedure, ctx, scope);
    const fast = this.fastCall(node, proc, ctx, scope);
    if (fast) return fast;
    const args = node.arguments.map((a: Node) => {
      if (a.type === 'operator') throw new Unsupported('partial application');
      // evaluateFunction wraps a function argument in a closure; literals and operators never give a function
      const never = ['string', 'number', 'value', 'binary', 'unary'].includes(a.type) && !a.predicate;
      return never ? this.expr(a, ctx, scope) : `R.arg(${this.expr(a, ctx, scope)})`;
    });
    return `R.call(${proc}, [${args.join(', ')}], ${ctx})`;
  }

  /** A call of a built-in with a fast path, when the name is not bound in the expression (a binding may still
   *  shadow it: the fast path checks that the function is the built-in itself). */
  fastCall(node: Node, proc: string, ctx: string, scope: Scope): string | null {
    const p = node.procedure;
    if (p.type !== 'variable' || !FAST.has(p.value) || p.predicate || p.keepArray) return null;
    if (!/^g_\d+$/.test(this.resolve(p.value, scope))) return null;
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
      const parts = this.constant(replacementParts(args[2].value, groupCount(source)));
      return `R.fast.replace(${proc}, ${this.expr(args[0], ctx, scope)}, ${this.constant(new RegExp(source))}, ${this.constant(source)}, ${JSON.stringify(args[2].value)}, ${parts}, ${ctx})`;
    }
    if (p.value === 'split') {
      if (args.length !== 2 || args[1].type !== 'string' || !simple(args[1])) return null;
      return `R.fast.split(${proc}, ${this.expr(args[0], ctx, scope)}, ${JSON.stringify(args[1].value)}, ${ctx})`;
    }
    if (p.value === 'formatBase') {
      // $formatBase(n, 10): the decimal digits of an integer (an id given as a JSON number)
      if (args.length !== 2 || args[1].type !== 'number' || args[1].value !== 10 || !simple(args[1])) return null;
      return `R.fast.formatBase10(${proc}, ${this.expr(args[0], ctx, scope)}, ${ctx})`;
    }
    if (args.length !== 1 || args[0].type === 'operator') return null;
    return `R.fast.${p.value}(${proc}, ${this.expr(args[0], ctx, scope)}, ${ctx})`;
  }

  lambda(node: Node, ctx: string, scope: Scope): string {
    const inner: Scope = { vars: new Map(), parent: scope };
    const args = this.id('a');
    const callCtx = this.id('c');
    const params: string[] = [];
    node.arguments.forEach((p: Node, i: number) => {
      const v = this.id('v');
      inner.vars.set(p.value, v);
      params.push(`${v} = ${args}[${i}]`);
    });
    let validate = '';
    if (node.signature) {
      if (typeof node.signature.validate !== 'function' || /-/.test(node.signature.definition ?? '')) {
        throw new Unsupported('a lambda signature with a context parameter');
      }
      validate = `${args} = ${this.constant(node.signature)}.validate(${args}, ${callCtx});`;
    }
    const decl = this.declare(inner, this.boundIn(node));
    const body = this.tail(node.body, ctx, inner, 0);
    const lets = params.length ? `let ${params.join(', ')};` : '';
    // Named after the variable it is bound to, so profiles of the generated code read like the mapping.
    const name = `${(this.naming ?? 'lambda').replace(/[^A-Za-z0-9_$]/g, '_')}_${this.n}`;
    this.naming = undefined;
    return `R.lambda(${this.keep(`function ${name}(${args}, ${callCtx}) { ${validate} ${lets} ${decl} return ${body}; }`)}, ${node.arguments.length})`;
  }

  /**
   * A lambda body's value. A tail call (the parser's thunk) is returned as the called function returned it: jsonata
   * evaluates it in its trampoline, after the enclosing conditions and blocks, which pass the thunk object through
   * unchanged. Any other value gets the collapse of its own node and one more for each condition or block around it
   * (`wraps`), as `evaluate` gives it.
   */
  tail(node: Node, ctx: string, scope: Scope, wraps: number): string {
    const plain = !node.predicate && !node.keepArray && !node.stages;
    if (node.type === 'lambda' && node.thunk) return this.call(node.body, ctx, scope);
    if (node.type === 'condition' && plain) {
      const t = this.tail(node.then, ctx, scope, wraps + 1);
      const e = node.else !== undefined ? this.tail(node.else, ctx, scope, wraps + 1) : 'undefined';
      return `(R.bool(${this.expr(node.condition, ctx, scope)}) ? ${t} : ${e})`;
    }
    if (node.type === 'block' && plain && node.expressions.length > 0) {
      return this.frame(node, ctx, scope, (last, inner) => this.tail(last, ctx, inner, wraps + 1));
    }
    let code = this.expr(node, ctx, scope);
    for (let i = 0; i < wraps; i++) code = `R.collapse(${code})`;
    return code;
  }
}

// ------------------------------------------------------------------------------------------------------ the entry

const builtinCache = new Map<string, unknown>();
let runtime: Runtime | null | undefined;

function builtin(name: string): unknown {
  if (!builtinCache.has(name)) {
    const sync = syncJsonata();
    builtinCache.set(name, sync ? (sync(`$${name}`).evaluate(undefined) as unknown) : undefined);
  }
  return builtinCache.get(name);
}

function getRuntime(): Runtime | null {
  if (runtime !== undefined) return runtime;
  const impl = (name: string): Fn | undefined => (builtin(name) as { implementation?: Fn } | undefined)?.implementation;
  const boolean = impl('boolean');
  const string = impl('string');
  const append = impl('append');
  const defs: Record<string, unknown> = {};
  for (const name of FAST) defs[name] = builtin(name);
  runtime = syncJsonata() && boolean && string && append ? makeRuntime({ boolean, string, append, defs }) : null;
  return runtime;
}

let lastProblem = '';

/**
 * The strings of an AST as one-byte strings wherever their characters allow. jsonata's tokenizer cuts names and
 * literals out of the expression's text, and a text with one character beyond Latin-1 (a '→' in a comment) is a
 * two-byte string in V8, and so is every piece cut from it, ASCII or not. Such a name, once used as a property key,
 * is interned as two-byte, and then every object with that key, mapped or parsed from a source, serialises to
 * two-byte JSON: twice the bytes to hash, copy between threads and send to the target, and slow paths on the way
 * (seen on the Shopify order mapping: its `discount` key made every mapped record two-byte text).
 */
function oneByteStrings(node: unknown, seen = new Set<object>()): void {
  if (node === null || typeof node !== 'object' || node instanceof RegExp || seen.has(node)) return;
  seen.add(node);
  // jsonata's nodes are plain objects or made from its symbol table (Object.create): their own members are walked
  const o = node as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    const v = o[k];
    if (typeof v === 'string') o[k] = oneByte(v);
    else oneByteStrings(v, seen);
  }
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: the range starts at U+0000 on purpose (every Latin-1 character)
const BEYOND_LATIN1 = /[^\u0000-\u00ff]/;
/** A string as a fresh one-byte string when its characters are all Latin-1 (V8 keeps what the bytes allow). */
function oneByte(s: string): string {
  return BEYOND_LATIN1.test(s) ? s : Buffer.from(s, 'latin1').toString('latin1');
}

const byText = new Map<string, { compiled: CompiledExpression | null; problem: string }>();

/**
 * Compile a JSONata expression, or null (see `compileProblem()`) when it uses something this compiler does not.
 * Compiled once per text (a mapping revision): later calls with the same text get the same function.
 */
export function compileJsonata(text: string): CompiledExpression | null {
  const known = byText.get(text);
  if (known) {
    lastProblem = known.problem;
    return known.compiled;
  }
  lastProblem = '';
  const compiled = compileText(text);
  if (byText.size >= 500) byText.clear();
  byText.set(text, { compiled, problem: lastProblem });
  return compiled;
}

function compileText(text: string): CompiledExpression | null {
  const R = getRuntime();
  if (!R) {
    lastProblem = 'the synchronous jsonata engine is not available';
    return null;
  }
  let ast: Node;
  try {
    ast = jsonata(text).ast();
    oneByteStrings(ast);
  } catch (e) {
    lastProblem = `does not parse: ${(e as Error).message}`;
    return null;
  }
  const c = new Compiler();
  let code: string;
  try {
    const top: Scope = { vars: new Map(), parent: null };
    // The top frame is jsonata's execution frame, which also holds the bindings: its own variables start as the
    // bindings' or built-ins' values of the same names.
    const bound = [...c.boundIn({ type: 'top', body: ast })];
    const topDecl: string[] = [];
    for (const name of bound) {
      const v = c.id('v');
      topDecl.push(
        `${v} = R.hasOwn(B, ${JSON.stringify(name)}) ? B[${JSON.stringify(name)}] : S[${JSON.stringify(name)}]`,
      );
      top.vars.set(name, v);
    }
    const body = c.expr(ast, 'input', top);
    const globals = [...c.free].map(
      ([name, g]) =>
        `${g} = R.hasOwn(B, ${JSON.stringify(name)}) ? B[${JSON.stringify(name)}] : S[${JSON.stringify(name)}]`,
    );
    code = [
      `return function evaluate(input, B) {`,
      `  B = B || {};`,
      `  if (Array.isArray(input) && !R.isSequence(input)) { input = R.seq1(input); input.outerWrapper = true; }`,
      `  const root = input;`,
      globals.length ? `  const ${globals.join(',\n    ')};` : '',
      topDecl.length ? `  let ${topDecl.join(',\n    ')};` : '',
      `  return ${body};`,
      `};`,
    ].join('\n');
  } catch (e) {
    if (e instanceof Unsupported) {
      lastProblem = e.message;
      return null;
    }
    throw e;
  }
  const S: Record<string, unknown> = Object.create(null);
  for (const name of c.free.keys()) S[name] = builtin(name);
  for (const name of c.boundIn({ type: 'top', body: ast })) if (!(name in S)) S[name] = builtin(name);
  let evaluate: (input: unknown, b?: Record<string, unknown>) => unknown;
  try {
    evaluate = new Function('R', 'K', 'S', 'Z', code)(
      R,
      c.constants,
      S,
      new Array(c.kept).fill(null),
    ) as typeof evaluate;
  } catch (e) {
    // A fault of this compiler, never of the mapping: the interpreter runs it.
    lastProblem = `the generated code does not load: ${(e as Error).message}`;
    return null;
  }
  return { evaluate, code };
}

export function compileProblem(): string {
  return lastProblem;
}
