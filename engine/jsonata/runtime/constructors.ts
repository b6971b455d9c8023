/** jsonata 2.2's array and object constructors (evaluateUnary's `[`, evaluateGroupExpression). */
import { plainFocus } from './functions.js';
import { hasOwn, seq1, type Fn } from './sequences.js';

/** The array constructor of evaluateUnary. */
export function array(values: any[], nested: boolean[], cons: boolean): any {
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

/**
 * evaluateGroupExpression without tuple streams, over jsonata's own $append; a key is a string (literal) or a
 * function of the item.
 */
export function grouping(append: Fn) {
  return function group(input: any, keys: (string | ((x: any) => any))[], values: ((x: any) => any)[]): any {
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
            groups[key].data = append.call(plainFocus, groups[key].data, item);
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
  };
}
