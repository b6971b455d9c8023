/** Text PostgreSQL cannot store (engine/util/text.ts): a NUL, half of a surrogate pair; found in keys and values. */
import { describe, expect, it } from 'vitest';
import { mapRecords } from '../../engine/runtime/mapping/map-records.js';
import {
  dottedPath,
  findUnstorable,
  printable,
  storable,
  unstorableIndex,
  unstorableTexts,
} from '../../engine/util/text.js';

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

  it('storable: the characters replaced by U+FFFD in keys and values, the value itself when it has none', () => {
    const ok = { a: ['x', 1, { b: 'emoji 😀' }] };
    expect(storable(ok)).toBe(ok);
    expect(storable({ 'k\u0000': 'a\u0000b', n: [1, '\uD800x'] })).toEqual({
      'k\uFFFD': 'a\uFFFDb',
      n: [1, '\uFFFDx'],
    });
    expect(findUnstorable(storable({ s: '\uDE00\u0000' }))).toBeUndefined();
  });

  it('a source record that maps to such text is dead-lettered where it is mapped, saying where; the others map', async () => {
    const out = await mapRecords({
      mapping: '{ "sku": sku, "locationId": "1", "available": 1 }',
      key: "'k' & $string(id)",
      params: {},
      canonical: 'inventoryLevel',
      records: ['{"id":1,"sku":"A\\u0000B"}', '{"id":2,"sku":"C\\ud800"}', '{"id":3,"sku":"ok 😀"}'],
      json: true,
    });
    expect(out.map((o) => o.kind)).toEqual(['dead', 'dead', 'mapped']);
    const [nul, half] = out as { error: string }[];
    expect(nul.error).toBe(
      "the mapped record holds a NUL character (\\u0000) in sku, which PostgreSQL cannot store: remove it in the mapping (e.g. $replace(x, /\\u0000/, '')) or at the source",
    );
    expect(half.error).toContain('half of a surrogate pair (\\uD800) in sku');
    expect(findUnstorable(nul.error)).toBeUndefined();
  });
});
