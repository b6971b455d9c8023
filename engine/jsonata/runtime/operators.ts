/** jsonata 2.2's binary and unary operators (evaluateBinary and friends), as the compiled code calls them. */
import { isDeepEqual, isNumeric, type Fn } from './sequences.js';

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

/** The operators, over jsonata's own $boolean and $string (`and`, `or`, conditions and `&` go through them). */
export function operators(boolean: Fn, string: Fn) {
  /** One side of `&` (evaluateStringConcat): nothing is '', else jsonata's string(). */
  function catString(v: unknown): string {
    if (typeof v === 'string') return v;
    if (v === undefined) return '';
    if (Number.isInteger(v)) return String(v);
    return string(v);
  }
  return {
    bool: boolean,
    boolize(v: unknown): boolean {
      const r = boolean(v);
      return r === undefined ? false : r;
    },
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
  };
}
