import { describe, expect, it } from 'vitest';
import { canonicalJson, hashOf } from '../engine/util/hash.js';

// Deployed resources keep the hashes of this text: it must never change, or every resource would plan as an update.
describe('canonicalJson', () => {
  it('sorts keys at every level and drops undefined members, exactly as before', () => {
    const value = { b: [3, { z: 1, a: null }, undefined, 'x"y'], a: { d: true, c: undefined, 'é': -0 }, n: NaN };
    expect(canonicalJson(value)).toBe('{"a":{"d":true,"é":0},"b":[3,{"a":null,"z":1},null,"x\\"y"],"n":null}');
    // eslint-disable-next-line no-sparse-arrays
    expect(canonicalJson([1, , 3])).toBe('[1,,3]');
    expect(canonicalJson(undefined)).toBe('null');
    expect(canonicalJson({})).toBe('{}');
    expect(hashOf({ b: 1, a: [2] })).toBe('63c9663de90ee828bbda6cd9acf02d0c653986c1ec25aa239920641edc9a1de5');
  });
});
