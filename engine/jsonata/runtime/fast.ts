/**
 * Fast paths for built-ins called with their common arguments. Each answers only where it is sure to agree with
 * jsonata, else it makes the generic call; the compiled call passes the function it found under the name, so a
 * binding that shadows the built-in takes the generic way too.
 */
import { arg, call, regex } from './functions.js';
import { isFunction, seq0, type Fn } from './sequences.js';

/** The built-ins with a fast path (everything else goes through jsonata's implementation). */
export const FAST = new Set([
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
export function groupCount(re: RegExp): number {
  return (new RegExp(`${re.source}|`, re.flags.replace('g', '')).exec('') as RegExpExecArray).length - 1;
}

const finiteNumber = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

/** The fast paths over the built-in definitions `d` (by name, as jsonata's `$name` evaluates) and its $boolean. */
export function fastPaths(d: Record<string, unknown>, boolean: Fn) {
  const numberImpl = (d.number as { implementation: Fn }).implementation;
  return {
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
      p === d.not ? (x === undefined ? undefined : !boolean(x)) : call(p, [arg(x)], ctx),
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
}
