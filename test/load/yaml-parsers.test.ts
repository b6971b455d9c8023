/**
 * The two YAML parsers agree (issue 21): the fast one (js-yaml with engine/load/yaml-schema.ts) and the guarded one
 * (the `yaml` package, core schema) read every plain scalar, in every position, to the same value. The corpus is
 * every odd number and word YAML 1.1, 1.2 and JSON spell differently, and the scalars the fuzzer found disagreeing.
 */
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parsers } from '../../engine/load/yaml.js';

const SCALARS = [
  // integers: YAML 1.2 decimal, octal, hexadecimal; YAML 1.1 binary, old octal, underscores, sexagesimal
  '0',
  '-0',
  '+0',
  '7',
  '+7',
  '-7',
  '012',
  '0o17',
  '0o8',
  '0x1F',
  '0xg',
  '0X1F',
  '0b1100100',
  '-0b1',
  '1_000',
  '190:20:30',
  '9007199254740993',
  '-9007199254740993',
  '123456789012345678901234567890',
  // floats
  '.5',
  '-.5',
  '+.5',
  '5.',
  '-5.',
  '1.0',
  '1.50',
  '1e3',
  '1E3',
  '1e+3',
  '1e-3',
  '-1.5e-3',
  '.5e1',
  '1e999',
  '-1e999',
  '1e-999',
  '1.e3',
  'e3',
  '1e',
  '1_000.5',
  '6.8523015e+5',
  '685.230_15e+03',
  '.inf',
  '.Inf',
  '.INF',
  '-.inf',
  '+.inf',
  '.nan',
  '.NaN',
  '.NAN',
  '-.nan',
  'inf',
  'nan',
  'NaN',
  '.iNf',
  // null, booleans and their YAML 1.1 cousins
  '~',
  'null',
  'Null',
  'NULL',
  'nULL',
  'true',
  'True',
  'TRUE',
  'tRUE',
  'false',
  'False',
  'FALSE',
  'yes',
  'no',
  'on',
  'off',
  'y',
  'n',
  'Yes',
  'NO',
  // dates and other strings that look like something
  '2026-11-30',
  '2026-11-30T12:00:00Z',
  '12:30',
  '1.2.3',
  '0.0.0.0',
  '$12.50',
  '12%',
  '1,000',
  '-',
  '--1',
  '0x',
  '0o',
  '+',
  '.',
  '-.',
  '+-1',
  '1-',
  "O'Brien",
];

const read = (text: string) => {
  const fast = parsers.fast('a.yaml', text);
  const full = parsers.full('a.yaml', text);
  return {
    fast: fast?.docs.map((d) => d.value),
    full: full.docs.map((d) => d.value),
    diagnostics: full.diagnostics,
  };
};

describe('the fast and the guarded YAML parser', () => {
  const shapes: [string, (s: string) => string][] = [
    ['a block mapping value', (s) => `value: ${s}\n`],
    ['a block sequence item', (s) => `- ${s}\n- x\n`],
    ['a flow sequence item', (s) => `list: [${s}, x]\n`],
    ['a flow mapping value', (s) => `map: { k: ${s} }\n`],
    ['a mapping key', (s) => `${s}: x\n`],
    ['a multi-document stream', (s) => `a: ${s}\n---\nb: ${s}\n`],
  ];
  for (const [where, shape] of shapes) {
    it(`read every scalar alike as ${where}`, () => {
      const disagreements: string[] = [];
      let read_ = 0;
      for (const s of SCALARS) {
        const text = shape(s);
        const r = read(text);
        if (r.fast === undefined) continue; // js-yaml refused it: only the guarded parser reads it
        read_++;
        if (r.diagnostics.length) disagreements.push(`${JSON.stringify(text)}: guarded parser reports an error`);
        else if (!isDeepStrictEqual(r.fast, r.full))
          disagreements.push(`${JSON.stringify(text)}: fast ${String(r.fast)} vs guarded ${String(r.full)}`);
      }
      expect(disagreements).toEqual([]);
      // Nearly every case takes the fast path (or the agreement above would prove little).
      expect(read_).toBeGreaterThan(SCALARS.length * 0.9);
    });
  }

  it('leaves to the guarded parser what js-yaml reads differently whatever the schema (found by the fuzzer)', () => {
    for (const text of [
      'a: 1\n\uFEFFb: 2\n', // a byte order mark past the start (seeds 8746, 11669, 19568)
      '--- !!str\n...\n---\na: 1\n', // a tagged empty document (seed 16251)
      'currency: !\n', // an empty tag (seed 16936)
      'x: "two\nlines"\n', // a quoted scalar over lines, under-indented
      '~: x\n',
      '- -\n- x\n',
      'limits:\n  rateLimit: { perSecond: 20\n  }\n', // a flow mapping over lines, under-indented (seed 19620)
      'list: [a,\n  b]\n',
    ])
      expect(parsers.fast('a.yaml', text), JSON.stringify(text)).toBeUndefined();
    // …and plain text with those characters in it keeps the fast path.
    for (const text of [
      'note: Hello! world\n',
      "name: O'Brien\n",
      'ref: "a!b"\n',
      'a: { b: [1, 2] }  # {\n',
      'q: "{"\n',
    ])
      expect(parsers.fast('a.yaml', text), JSON.stringify(text)).toBeDefined();
  });

  it('reads the scalars as YAML 1.2 says, not as YAML 1.1 or JavaScript would', () => {
    const value = (s: string) => (read(`v: ${s}\n`).fast?.[0] as { v: unknown } | undefined)?.v;
    expect(value('0b1100100')).toBe('0b1100100');
    expect(value('1_000')).toBe('1_000');
    expect(value('-.5')).toBe(-0.5);
    expect(value('0o17')).toBe(15);
    expect(value('0x1F')).toBe(31);
    expect(value('012')).toBe(12);
    expect(Object.is(value('-0'), -0)).toBe(true);
    expect(value('1e999')).toBe(Number.POSITIVE_INFINITY);
    expect(value('yes')).toBe('yes');
    expect(value('2026-11-30')).toBe('2026-11-30');
    expect(Number.isNaN(value('.nan'))).toBe(true);
  });
});
