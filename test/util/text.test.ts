/** Text PostgreSQL cannot store (engine/util/text.ts): a NUL, half of a surrogate pair; found in keys and values. */
import { describe, expect, it } from 'vitest';
import { dottedPath, findUnstorable, printable, unstorableIndex, unstorableTexts } from '../../engine/util/text.js';

describe('unstorable text', () => {
  it('finds a NUL and a lone surrogate, not a whole surrogate pair', () => {
    expect(unstorableIndex('plain')).toBe(-1);
    expect(unstorableIndex('emoji 😀 ok')).toBe(-1);
    expect(unstorableIndex('a\u0000b')).toBe(1);
    expect(unstorableIndex('high \uD83D alone')).toBe(5);
    expect(unstorableIndex('low \uDE00 alone')).toBe(4);
    expect(unstorableIndex('\uD83D')).toBe(0);
  });

  it('walks keys and values, in order, with their paths', () => {
    const value = { ok: 'x', lines: [{ title: 'a\u0000' }], 'k\u0000': 1, deep: { s: '\uDC00' } };
    expect([...unstorableTexts(value)].map((t) => [dottedPath(t.path), t.key, t.what])).toEqual([
      ['lines[0].title', false, 'a NUL character (\\u0000)'],
      ['k\\u0000', true, 'a NUL character (\\u0000)'],
      ['deep.s', false, 'half of a surrogate pair (\\uDC00)'],
    ]);
    expect(findUnstorable({ a: [1, true, null, 'fine'] })).toBeUndefined();
    expect(findUnstorable(['\u0000'])).toMatchObject({ path: [0], key: false, index: 0 });
  });

  it('prints control characters and lone surrogates as escapes', () => {
    expect(printable('a\u0000b\n\uD800c😀')).toBe('a\\u0000b\\u000A\\uD800c😀');
  });
});
