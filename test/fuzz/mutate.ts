/**
 * The fuzzer's mutator (issue 15): from a seed, a few changes to a few files of a workspace, the kind of damage
 * a hand, an editor, a merge or a bad tool does to YAML and JSONata, and the odd YAML nobody writes on purpose.
 * A seed always gives the same case (the benchmark generator's mulberry32 Rng, no Math.random), so any failure is
 * replayed from its seed alone.
 *
 * Line damage (delete, swap, duplicate, re-indent, truncate), bytes and Unicode (random bytes read as UTF-8, control
 * characters, BOMs, NEL, U+2028, zero-width and right-to-left marks), types swapped, quotes and brackets broken,
 * anchors and aliases (before their anchor, cyclic, bombs), merge keys, tags, directives and document markers, huge
 * values, deep nesting, and line endings (CRLF, CR, mixed).
 */

import { Rng } from '../bench/generate.js';

type Mutation = (text: string, r: Rng, yaml: boolean) => string;

const lines = (t: string) => t.split('\n');
const lineIndex = (ls: string[], r: Rng) => r.int(0, Math.max(0, ls.length - 1));
const at = (t: string, r: Rng) => r.int(0, t.length);
const insert = (t: string, i: number, s: string) => t.slice(0, i) + s + t.slice(i);

/** The offsets just after `key: ` in a YAML text: where a value starts. */
function valueStarts(t: string): number[] {
  const out: number[] = [];
  for (const m of t.matchAll(/^[ \t-]*[\w"'$.-]+:[ \t]+(?=\S)/gm)) out.push(m.index + m[0].length);
  return out;
}

/** Replace the value that starts at a random `key: ` (to the end of its line) with `f(old)`. */
function atValue(t: string, r: Rng, f: (old: string) => string): string {
  const starts = valueStarts(t);
  if (!starts.length) return t + f('x');
  const s = r.pick(starts);
  let e = t.indexOf('\n', s);
  if (e < 0) e = t.length;
  return t.slice(0, s) + f(t.slice(s, e)) + t.slice(e);
}

const PALETTE = [
  '\u0000',
  '\u0007',
  '\u001b',
  '\u007f',
  '\u0085',
  '\u009b',
  '\ufeff',
  '\u2028',
  '\u2029',
  '\u200b',
  '\u202e',
  '\ufffd',
  '\ufffe',
  '\r',
  '\t',
  '\u00a0',
  'é',
  'ß',
  '中文',
  '😀',
  'e\u0301',
  '：',
  '＃',
  '\\',
  '%',
  '@',
  '`',
  '|',
  '>',
  '?',
  ': ',
  '- ',
  '#',
  '&',
  '*',
  '!',
  '${{ with.x }}',
];

const SCALARS = [
  '[a, b]',
  '{a: 1}',
  '[]',
  '{}',
  '123',
  '-0',
  '1e999',
  '.nan',
  '.inf',
  '0x1F',
  '0o17',
  'true',
  'no',
  'null',
  '~',
  '""',
  "''",
  '"\\u0000"',
  '"\\uD800"',
  '2026-01-01',
  '12:30:00',
  '|\n  block',
  '>-\n  folded',
  '"multi\n  line"',
  '- item',
  '{ secretRef: "env:X" }',
  '{ secretRef: "file:../etc/passwd" }',
];

const TAGS = [
  '!!binary ',
  '!!timestamp ',
  '!!set ',
  '!!omap ',
  '!custom ',
  '!<tag:example.com,2026:x> ',
  '!!python/object:os.system ',
  '!!str ',
  '!!int ',
  '!!float ',
  '!!bool ',
  '!!null ',
  '!!map ',
  '!!seq ',
  '!!merge ',
  '! ',
];

/** An alias bomb of `levels` levels of `width` aliases each (billion laughs: width^levels nodes). */
function bomb(levels: number, width: number, prefix: string): string {
  const out = [`${prefix}l0: &l0 [${Array.from({ length: width }, () => 'lol').join(', ')}]`];
  for (let i = 1; i <= levels; i++)
    out.push(`${prefix}l${i}: &l${i} [${Array.from({ length: width }, () => `*l${i - 1}`).join(', ')}]`);
  return out.join('\n');
}

const MUTATIONS: Record<string, Mutation> = {
  'delete line': (t, r) => {
    const ls = lines(t);
    ls.splice(lineIndex(ls, r), r.int(1, 3));
    return ls.join('\n');
  },
  'swap lines': (t, r) => {
    const ls = lines(t);
    const a = lineIndex(ls, r);
    const b = lineIndex(ls, r);
    [ls[a], ls[b]] = [ls[b], ls[a]];
    return ls.join('\n');
  },
  'duplicate line': (t, r) => {
    const ls = lines(t);
    const i = lineIndex(ls, r);
    ls.splice(i, 0, ls[i]);
    return ls.join('\n');
  },
  indent: (t, r) => {
    const ls = lines(t);
    const i = lineIndex(ls, r);
    const how = r.int(0, 3);
    if (how === 0) ls[i] = ' '.repeat(r.int(1, 4)) + ls[i];
    else if (how === 1) ls[i] = ls[i].replace(/^ {1,4}/, '');
    else if (how === 2) ls[i] = `\t${ls[i]}`;
    else ls[i] = ls[i].replace(/^( *)/, (s) => s.replace(/ {2}/, '\t'));
    return ls.join('\n');
  },
  'random bytes': (t, r) => {
    const bytes = Buffer.from(Array.from({ length: r.int(1, 12) }, () => r.int(0, 255)));
    return insert(t, at(t, r), bytes.toString('utf8'));
  },
  unicode: (t, r) => insert(t, at(t, r), r.pick(PALETTE)),
  truncate: (t, r) => t.slice(0, at(t, r)),
  'type swap': (t, r) => atValue(t, r, () => r.pick(SCALARS)),
  'break quote': (t, r) => {
    const quotes = [...t.matchAll(/["']/g)].map((m) => m.index);
    if (quotes.length && r.chance(0.5)) {
      const i = r.pick(quotes);
      return t.slice(0, i) + t.slice(i + 1);
    }
    return insert(t, at(t, r), r.pick(['"', "'", '\\"', "''"]));
  },
  'break bracket': (t, r) => {
    const brackets = [...t.matchAll(/[[\]{}()]/g)].map((m) => m.index);
    if (brackets.length && r.chance(0.5)) {
      const i = r.pick(brackets);
      return t.slice(0, i) + t.slice(i + 1);
    }
    return insert(t, at(t, r), r.pick(['[', ']', '{', '}', '(', ')', '[{', '}]']));
  },
  'anchor and alias': (t, r, yaml) => {
    if (!yaml) return insert(t, at(t, r), r.pick(['&', '*', '$$', '**']));
    const how = r.int(0, 6);
    if (how === 0)
      return atValue(
        atValue(t, r, (v) => `&a ${v}`),
        r,
        () => '*a',
      ); // anchor, then an alias (either order)
    if (how === 1) return atValue(t, r, () => '*nowhere');
    if (how === 2) return atValue(t, r, (v) => `&self [*self, ${v}]`);
    if (how === 3) return `${bomb(r.int(3, 10), r.int(3, 10), r.pick(['', 'x-']))}\n${t}`;
    if (how === 4) {
      const ls = lines(t);
      const i = lineIndex(ls, r);
      ls.splice(
        i,
        0,
        `${' '.repeat(r.pick([0, 2, 4]))}x${r.int(0, 9)}: ${bomb(r.int(2, 6), r.int(2, 6), '').replace(/\n/g, ', ').replace(/^/, '{ ')} }`,
      );
      return ls.join('\n');
    }
    if (how === 5) {
      // A merge key: of an anchored mapping, of a scalar, of a list, or `!!merge` as a value.
      const anchored = atValue(t, r, (v) => (r.chance(0.5) ? `&m { k: ${v} }` : `&m ${v}`));
      const ls = lines(anchored);
      const i = lineIndex(ls, r);
      const indent = /^ */.exec(ls[i])![0];
      ls.splice(
        i,
        0,
        `${indent}${r.pick(['<<: *m', '<<: [*m]', '<<: 5', '<<: { timezone: UTC }', 'x: !!merge <<', '<<: *gone', '"<<": 1'])}`,
      );
      return ls.join('\n');
    }
    return atValue(t, r, (v) => `&${r.pick(['a', 'b', 'anchor-with-dashes'])} ${v}`);
  },
  tag: (t, r) => atValue(t, r, (v) => r.pick(TAGS) + v),
  'huge value': (t, r) => {
    const size = r.pick([10_000, 100_000, 1_000_000]);
    const what = r.int(0, 2);
    if (what === 0) return atValue(t, r, () => 'x'.repeat(size));
    if (what === 1) return atValue(t, r, () => `"${'\\u00e9'.repeat(size / 6)}"`);
    return `${t}\n${Array.from({ length: Math.min(size / 20, 5000) }, (_, i) => `k${i}: v`).join(', ')}`;
  },
  'deep nesting': (t, r) => {
    const n = r.pick([20, 99, 100, 101, 150, 1000, 5000]);
    const how = r.int(0, 3);
    if (how === 0) return atValue(t, r, () => '['.repeat(n) + ']'.repeat(n));
    if (how === 1) return atValue(t, r, () => '{a: '.repeat(n) + '1' + '}'.repeat(n));
    if (how === 2) return `${t}\n${Array.from({ length: n }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n')} 1\n`;
    return `${t}\nx: ${'- '.repeat(n)}1\n`;
  },
  'line endings': (t, r) => {
    const how = r.int(0, 2);
    if (how === 0) return t.replace(/\n/g, '\r\n');
    if (how === 1) return t.replace(/\n/g, '\r');
    return t.replace(/\n/g, () => r.pick(['\n', '\r\n', '\r']));
  },
  bom: (t, r) => (r.chance(0.6) ? `\ufeff${t}` : insert(t, at(t, r), '\ufeff')),
  'documents and directives': (t, r) => {
    const ls = lines(t);
    ls.splice(
      lineIndex(ls, r),
      0,
      r.pick([
        '---',
        '...',
        '--- |',
        '%YAML 1.1\n---',
        '%YAML 1.3\n---',
        '%TAG ! tag:x,2026:\n---',
        '%FOO bar',
        '--- ~',
        '--- !!str',
        '---\n---',
      ]),
    );
    return ls.join('\n');
  },
  'duplicate key': (t, r) => {
    const ls = lines(t);
    const keyed = ls.map((l, i) => [l, i] as const).filter(([l]) => /^\s*[\w-]+:/.test(l));
    if (!keyed.length) return t;
    const [l, i] = r.pick(keyed);
    ls.splice(i + 1, 0, l);
    return ls.join('\n');
  },
};

export const MUTATION_NAMES = Object.keys(MUTATIONS);

export interface MutatedCase {
  seed: number;
  /** The workspace's files, the mutated ones replaced. */
  files: Map<string, string>;
  /** What was done, one line per mutation: `path: mutation`. */
  steps: string[];
  /** The files that were changed. */
  changed: string[];
  /** The environment the case validates with (its overlays merged), or undefined. */
  env?: string;
}

/**
 * One case: one to three files (mostly under integrations/, sometimes rsync.yaml or a template), one to three
 * mutations each. The same seed and files always give the same case.
 */
export function mutateWorkspace(
  base: ReadonlyMap<string, string>,
  seed: number,
  envs: readonly string[] = [],
): MutatedCase {
  const r = new Rng(seed);
  const all = [...base.keys()].sort();
  const integrations = all.filter((f) => f.startsWith('integrations/'));
  const files = new Map(base);
  const steps: string[] = [];
  const changed = new Set<string>();
  const count = r.int(1, 3);
  for (let f = 0; f < count; f++) {
    const file = r.chance(0.8) && integrations.length ? r.pick(integrations) : r.pick(all);
    const yaml = /\.ya?ml$/.test(file);
    let text = files.get(file)!;
    for (let m = r.int(1, 3); m > 0; m--) {
      const name = r.pick(MUTATION_NAMES);
      text = MUTATIONS[name](text, r, yaml);
      steps.push(`${file}: ${name}`);
    }
    files.set(file, text);
    changed.add(file);
  }
  const env = envs.length && r.chance(0.3) ? r.pick(envs) : undefined;
  return { seed, files, steps, changed: [...changed].sort(), env };
}
