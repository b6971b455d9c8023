/**
 * jsonata 2.2's sequences and value tests (its utils, which the package does not export), and the collapse at the end
 * of its `evaluate`. Each keeps the original's behaviour, errors included.
 */
export type Fn = (...a: any[]) => any;

export const hasOwn = Object.prototype.hasOwnProperty;

export function seq0(): any[] {
  const s: any = [];
  s.sequence = true;
  return s;
}
export function seq1(x: unknown): any[] {
  const s: any = [x];
  s.sequence = true;
  return s;
}
/** jsonata's createSequence: no argument → empty, one argument (even undefined) → that one item. */
export function createSequence(...a: unknown[]): any[] {
  return a.length === 1 ? seq1(a[0]) : seq0();
}
export function isSequence(v: any): boolean {
  return v.sequence === true && Array.isArray(v);
}
export function isNumeric(n: unknown): boolean {
  if (typeof n === 'number') {
    if (Number.isNaN(n)) return false;
    if (!Number.isFinite(n)) throw { code: 'D1001', value: n };
    return true;
  }
  return false;
}
export function isArrayOfNumbers(arg: unknown): boolean {
  return Array.isArray(arg) && arg.filter((item) => !isNumeric(item)).length === 0;
}
export function isFunction(arg: any): boolean {
  return (arg && (arg._jsonata_function === true || arg._jsonata_lambda === true)) || typeof arg === 'function';
}
export function isIterable(arg: any): boolean {
  return (
    typeof arg === 'object' && arg !== null && Symbol.iterator in arg && 'next' in arg && typeof arg.next === 'function'
  );
}
export function isDeepEqual(lhs: any, rhs: any): boolean {
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
export function functionArity(f: any): number {
  return typeof f.arity === 'number'
    ? f.arity
    : typeof f.implementation === 'function'
      ? f.implementation.length
      : typeof f.length === 'number'
        ? f.length
        : f.arguments.length;
}

/** The end of jsonata's `evaluate`: a sequence of none is nothing, of one is that one (unless kept). */
export function collapse(r: any): any {
  if (typeof r !== 'object' || r === null) return r;
  if (r.sequence === true && Array.isArray(r) && !(r as any).tupleStream) {
    if (r.length === 0) return undefined;
    if (r.length === 1) return (r as any).keepSingleton ? r : r[0];
  }
  return r;
}
/** The same, for a node marked `keepArray` (a path ending in `[]`). */
export function collapseKeep(r: any): any {
  if (r && r.sequence === true && Array.isArray(r) && !(r as any).tupleStream) {
    (r as any).keepSingleton = true;
    if (r.length === 0) return undefined;
  }
  return r;
}
