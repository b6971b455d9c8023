import { describe, expect, it } from 'vitest';
import { canonicalJson, canonicalOf, hashOf } from '../../engine/util/hash.js';

// Deployed resources keep the hashes of this text: it must never change, or every resource would plan as an update.
describe('canonicalJson', () => {
  it('sorts keys at every level and drops undefined members, exactly as before', () => {
    const value = { b: [3, { z: 1, a: null }, undefined, 'x"y'], a: { d: true, c: undefined, é: -0 }, n: NaN };
    expect(canonicalJson(value)).toBe('{"a":{"d":true,"é":0},"b":[3,{"a":null,"z":1},null,"x\\"y"],"n":null}');
    // eslint-disable-next-line no-sparse-arrays
    // biome-ignore lint/suspicious/noSparseArray: a hole is the case under test
    expect(canonicalJson([1, , 3])).toBe('[1,,3]');
    expect(canonicalJson(undefined)).toBe('null');
    expect(canonicalJson({})).toBe('{}');
    expect(hashOf({ b: 1, a: [2] })).toBe('63c9663de90ee828bbda6cd9acf02d0c653986c1ec25aa239920641edc9a1de5');
  });
});

// The runtime hashes every mapped record with canonicalOf: the same text as canonicalJson, by JSON.stringify when the
// keys are already sorted; `plain` says whether the value itself may be checked instead of its parsed text.
describe('canonicalOf', () => {
  const cases: [string, unknown, boolean][] = [
    ['sorted, nested', { a: 1, b: { c: [1, 'x', null, { d: true, e: -0 }], f: 'é"\n' } }, true],
    ['unsorted keys', { b: 1, a: { z: 1, y: 2 } }, true],
    ['integer-like keys (Object.keys puts them first)', { '10': 1, '9': 2, a: 3 }, true],
    ['an undefined member', { a: undefined, b: 1 }, false],
    ['NaN and Infinity', { a: NaN, b: [Infinity] }, false],
    ['a function member', { a: () => 1, b: 1 }, false],
    ['an undefined array item', { a: [1, undefined] }, false],
    // eslint-disable-next-line no-sparse-arrays
    // biome-ignore lint/suspicious/noSparseArray: a hole is the case under test
    ['a hole', { a: [1, , 3] }, false],
    ['a class instance', { a: new Date(0) }, false],
    ['a null-prototype object', Object.assign(Object.create(null), { b: 1, a: 2 }), true],
    ['a JSONata sequence (an array with extra members)', { a: Object.assign([1, 2], { sequence: true }) }, true],
    ['an empty object', {}, true],
  ];
  for (const [what, value, plain] of cases) {
    it(`${what}: canonicalJson's text, plain ${plain}`, () => {
      const c = canonicalOf(value);
      expect(c.text).toBe(canonicalJson(value));
      expect(c.plain).toBe(plain);
      // What a check of the value sees is what a check of its text would: the same data (-0 reads back as 0, and an
      // array's own non-index members, a JSONata sequence's flags, are not data).
      if (plain) expect(JSON.parse(c.text)).toEqual(JSON.parse(JSON.stringify(value)));
    });
  }

  it("gives canonicalJson's text on a thousand random values", () => {
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const keys = ['a', 'b', 'B', '_', 'é', '1', '02', 'zz', 'a b', '"q"'];
    const gen = (depth: number): unknown => {
      const r = rnd();
      if (depth > 3 || r < 0.3) return [1.5, -2, 'x', '\u2028', true, null, 0][Math.floor(rnd() * 7)];
      if (r < 0.55) return Array.from({ length: Math.floor(rnd() * 4) }, () => gen(depth + 1));
      const o: Record<string, unknown> = {};
      const shuffled = [...keys].sort(() => rnd() - 0.5).slice(0, Math.floor(rnd() * 5));
      for (const k of rnd() < 0.5 ? shuffled.sort() : shuffled) o[k] = gen(depth + 1);
      return o;
    };
    for (let i = 0; i < 1000; i++) {
      const v = gen(0);
      expect(canonicalOf(v).text).toBe(canonicalJson(v));
    }
  });
});
