/**
 * The YAML guards (engine/load/yaml-guards.ts) at their edges, where the broken-workspace fixtures (yaml-alias-*,
 * yaml-depth, yaml-merge-key, yaml-line-endings-*) do not reach: what must not be refused (ordinary anchors, JSONata
 * brackets in block scalars, a quote inside a plain scalar), and that the two parsers read a merge, a quoted
 * anchor-like text and the three line endings alike.
 */
import { describe, expect, it } from 'vitest';
import { parseYamlFile, rangeOf } from '../../engine/load/yaml.js';
import { depthExceeded, MAX_DEPTH } from '../../engine/load/yaml-guards.js';

const values = (text: string) => parseYamlFile('f.yaml', text).docs.map((d) => d.value);
const codes = (text: string) => parseYamlFile('f.yaml', text).diagnostics.map((d) => d.code);

describe('YAML guards', () => {
  it('ordinary anchors and aliases are read, and repeat their value', () => {
    const text = 'a: &base { x: 1, y: [1, 2] }\nb: *base\nc: [*base, *base]\n';
    expect(codes(text)).toEqual([]);
    expect(values(text)).toEqual([
      {
        a: { x: 1, y: [1, 2] },
        b: { x: 1, y: [1, 2] },
        c: [
          { x: 1, y: [1, 2] },
          { x: 1, y: [1, 2] },
        ],
      },
    ]);
  });

  it('brackets inside a block scalar are text, not nesting', () => {
    const deep = `${'['.repeat(MAX_DEPTH * 2)}${']'.repeat(MAX_DEPTH * 2)}`;
    const text = `key: |\n  ${deep}\n  $x\nnext: 1\n`;
    expect(depthExceeded(text)).toBeUndefined();
    expect(values(text)).toEqual([{ key: `${deep}\n$x\n`, next: 1 }]);
    // The same brackets as YAML are refused, at the bracket that passes the limit: the mapping is the first level.
    expect(depthExceeded(`key: ${deep}\n`)).toBe('key: '.length + MAX_DEPTH - 1);
  });

  it('a bracket or a quote inside a plain scalar does not hide the nesting after it (fuzz seed 16322)', () => {
    const deepBlock = Array.from({ length: MAX_DEPTH + 20 }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n');
    expect(depthExceeded(`a: x[1\n${deepBlock} 1\n`)).toBeDefined();
    expect(depthExceeded(`a: text\n  'more text\n${deepBlock} 1\n`)).toBeDefined();
  });

  it('a quote inside a plain scalar does not hide an alias from the guarded parser', () => {
    const text = "a: &c { k: 1 }\nx: [it's, *c, 'q *c']\n";
    expect(codes(text)).toEqual([]);
    expect(values(text)).toEqual([{ a: { k: 1 }, x: ["it's", { k: 1 }, 'q *c'] }]);
  });

  it('a JSONata key with & and * inside quotes is plain text', () => {
    const text = `key: "'order-' & $string(id) & '-' & qty*2"\n`;
    expect(values(text)).toEqual([{ key: "'order-' & $string(id) & '-' & qty*2" }]);
  });

  it('merge keys: own keys win, then the sources in order; a merged value is located where it is written', () => {
    const text = 'base: &b { x: 1, y: 2 }\nextra: &e { y: 3, z: 4 }\nm:\n  <<: [*b, *e]\n  x: 0\n';
    const parsed = parseYamlFile('f.yaml', text);
    expect(parsed.diagnostics).toEqual([]);
    expect(parsed.docs[0].value).toEqual({ base: { x: 1, y: 2 }, extra: { y: 3, z: 4 }, m: { x: 0, y: 2, z: 4 } });
    expect(rangeOf(parsed.docs[0], ['m', 'z']).start).toEqual({ line: 2, column: 22 });
    expect(rangeOf(parsed.docs[0], ['m', 'y']).start).toEqual({ line: 1, column: 21 });
    expect(rangeOf(parsed.docs[0], ['m', 'x']).start).toEqual({ line: 5, column: 6 });
  });

  it('LF, CRLF and CR read alike, with the same positions', () => {
    const lf = 'a: 1\nb:\n  c: [x, y]\n  d: "two\n    lines"\n';
    const read = (text: string) => {
      const p = parseYamlFile('f.yaml', text);
      return { values: p.docs.map((d) => d.value), at: rangeOf(p.docs[0], ['b', 'd']).start };
    };
    const expected = read(lf);
    expect(expected.at).toEqual({ line: 4, column: 6 });
    expect(read(lf.replace(/\n/g, '\r\n'))).toEqual(expected);
    expect(read(lf.replace(/\n/g, '\r'))).toEqual(expected);
    expect(read(`\ufeff${lf}`)).toEqual(expected);
  });

  it('an alias used as often as a real file uses one is not a bomb', () => {
    const lines = [
      'x: &x { connection: shopify, stream: orders }',
      ...Array.from({ length: 500 }, (_, i) => `k${i}: *x`),
    ];
    expect(codes(`${lines.join('\n')}\n`)).toEqual([]);
  });
});
