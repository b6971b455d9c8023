/**
 * The runtime's JSONata compiler (engine/jsonata/compile.ts) must give what jsonata gives: the same value, or an
 * error where jsonata has one (the pipeline then asks the interpreter, whose error counts).
 *
 * 1. Expressions chosen for JSONata's sequence rules (singletons, flattening, `[]`, predicates, grouping), lambdas and
 *    frames (closures, shadowing, recursion, tail calls), operators, built-ins and their fast paths.
 * 2. Every mapping in templates/ and integrations/ compiles, and agrees with jsonata on every vendor payload in
 *    test/fixtures (and the objects inside it) and on seeded random mutations of them: fields removed, nulled,
 *    emptied, retyped, arrays emptied or cut to one item, objects wrapped in arrays, odd decimals.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import jsonata from 'jsonata';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { type CompiledExpression, compileToJavaScript } from '../../engine/jsonata/index.js';
import { canonicalJson, canonicalOf } from '../../engine/util/hash.js';

/** Mappings whose whole output is built by object constructors: the compiled output's keys are all in sorted order. */
const SORTED_OUTPUT = new Set(['shopify-order.jsonata']);

/** True when every object in the value has its keys in sorted order (JSON.stringify then writes canonical JSON). */
function ownSorted(v: unknown): boolean {
  if (Array.isArray(v)) return v.every(ownSorted);
  if (v === null || typeof v !== 'object') return true;
  const keys = Object.keys(v);
  return keys.every((k, i) => i === 0 || keys[i - 1] < k) && Object.values(v).every(ownSorted);
}
import { ROOT } from '../helpers/cli.js';

const order = JSON.parse(readFileSync(path.join(ROOT, 'test', 'fixtures', 'shopify-rest', 'order.json'), 'utf8')).order;

type Outcome = { value: unknown } | { error: string };

const normal = (v: unknown) => (v === undefined ? undefined : JSON.parse(JSON.stringify(v)));

/** jsonata's parse of each text, made once: evaluate() starts a fresh frame each call, so it can be reused. */
const parsed = new Map<string, ReturnType<typeof jsonata>>();

async function viaJsonata(text: string, input: unknown, bindings: Record<string, unknown>): Promise<Outcome> {
  try {
    let expr = parsed.get(text);
    if (!expr) parsed.set(text, (expr = jsonata(text)));
    return { value: normal(await expr.evaluate(structuredClone(input), bindings)) };
  } catch (e) {
    return { error: (e as { code?: string }).code ?? 'no code' };
  }
}

/** The expression compiled to JavaScript; the test fails (with the compiler's reason) when it does not compile. */
function compiled(text: string, what = 'the expression'): CompiledExpression {
  const c = compileToJavaScript(text);
  expect(c.ok, `${what} does not compile: ${c.ok ? '' : c.problem}`).toBe(true);
  return (c as { expr: CompiledExpression }).expr;
}

function viaCompiled(c: CompiledExpression, input: unknown, bindings: Record<string, unknown>): Outcome {
  try {
    return { value: normal(c.evaluate(structuredClone(input), bindings)) };
  } catch (e) {
    return { error: (e as { code?: string }).code ?? 'no code' };
  }
}

const EXPRESSIONS: [string, unknown?][] = [
  ['line_items.sku'],
  ['line_items[0].sku'],
  ['line_items[-1].price'],
  ['line_items[quantity > 1].sku'],
  ['line_items[[0, 1]].id'],
  ['line_items.tax_lines.price'],
  ['line_items.tax_lines[0].rate'],
  ['line_items.sku[]'],
  ['nothing.here'],
  ['[line_items.sku]'],
  ['[line_items.sku][0]'],
  ['[[1, 2], [3]]'],
  ['[1, [2, 3], nothing, "x"]'],
  ['line_items.[sku, quantity]'],
  ['$.line_items[0].sku'],
  ['$$.line_items[0].sku'],
  ['line_items.{ "sku": sku, "q": quantity }'],
  ['{ "a": line_items.sku, "b": nothing, "c": null, "1": "one", "0": "zero" }'],
  [
    '{ sku: quantity }',
    [
      { sku: 'a', quantity: 1 },
      { sku: 'b', quantity: 2 },
      { sku: 'a', quantity: 3 },
    ],
  ],
  ['{ "x": 1, "x": 2 }'],
  ['{ "k": $ }', []],
  ['line_items.{ "first": $, "n": $count($) }'],
  ['$sum(line_items.($number(price) * quantity))'],
  ['$sum([])'],
  ['$sum(["1"])'],
  ['$count(line_items) & "/" & $count(nothing) & "/" & $count(id)'],
  ['$string(total_price) & $string(1.1 + 2.2) & $string(100) & $string(-0) & $string(true) & $string({"a": 1})'],
  ['$string(1e21) & " " & $string(123456789012345678)'],
  [
    '[$string(0.1 + 0.2), $string(-1.5e-7), $string(1/3), $string(2.5e300), $string(line_items.tax_lines[0].rate), $string(-0.0)]',
  ],
  [
    '[$formatBase(id, 10), $formatBase(-42, 10), $formatBase(1.5, 10), $formatBase(2.5, 10), $formatBase(123456789012345678, 10), $formatBase(customer.id, 10)]',
  ],
  ['$formatBase(nothing, 10)'],
  ['$formatBase("12", 10)'],
  ['$formatBase(255, 16) & $formatBase(7, 2)'],
  ['$number("12.50") + $number(" 1")'],
  ['$number("0x1F") + $number(true)'],
  ['$abs(-3.5) & $abs("x")'],
  [
    '$type(nothing) & $type(null) & $type(1) & $type("s") & $type(true) & $type([]) & $type({}) & $type(function() {1})',
  ],
  ['$exists(nothing) & $exists(null) & $not("") & $not(nothing) & $not([0])'],
  ['$keys(billing_address)'],
  ['$keys(line_items)'],
  ['$keys({"only": 1})'],
  ['$replace(email, /(\\w+)@/, "***@")'],
  ['$replace("a1b22c333", /\\d+/, "<$0>")'],
  ['$replace("abc", /(b)/, "$$1 $1 $2 $12 $")'],
  ['$replace("abcdefghijkl", /(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)/, "$10-$11-$12")'],
  ['$replace("aaa", /x*/, "-")'],
  ['$replace("", /^$/, "empty")'],
  ['$replace(123, /2/, "x")'],
  ['$replace(nothing, /2/, "x")'],
  ['$replace("a.b.c", ".", "-")'],
  ['$split(tags, ", ")[-1]'],
  ['[$split("a,b,,c", ","), $split("abc", ""), $split("", ",")]'],
  ['$split(123, ",")'],
  ['$split(nothing, ",")'],
  ['$split("a/b/c", "/")[1]'],
  ['$map(line_items, function($l, $i) { $i & ":" & $l.sku })'],
  ['$filter(line_items, function($l) { $l.quantity > 0 }).id'],
  ['$reduce(line_items, function($a, $l) { $a + $l.quantity }, 0)'],
  ['$map([1, 2, 3], $string)'],
  ['($f := function($x) { $x < 2 ? $x : $f($x - 1) + $f($x - 2) }; $f(15))'],
  ['($count := function($n) { $n <= 0 ? "done" : $count($n - 1) }; $count(200))'],
  ['($x := 1; ($y := $x; $x := 2; [$y, $x]) )'],
  ['($x := 1; $f := function() { $x }; $x := 5; $f())'],
  ['($g := function($a) { ($a := $a & "!"; $a) }; $g("hi") & $g(nothing))'],
  ['($p := function($v) { $v != null and $v != "" ? $v }; [$p(""), $p(null), $p("x"), $p(0)])'],
  ['($t := function($x) { $x ? $lookup({"a": [1]}, "a") : $lookup({"a": [1, 2]}, "a") }; [$t(true), $t(false)])'],
  ['($s := function($x)<s:s> { $uppercase($x) }; $s("abc"))'],
  ['($s := function($x)<n:n> { $x * 2 }; $s("abc"))'],
  ['line_items.(($d := $number(price)); $d * 2)'],
  ['(line_items.sku)[1]'],
  ['$lookup(line_items[0], "sku")'],
  ['financial_status in ["paid", "pending"]'],
  ['"x" in "x"'],
  ['1 + nothing'],
  ['"a" + 1'],
  ['1 / 0 = 2'],
  ['-"a"'],
  ['-(line_items.quantity)'],
  ['"a" < 1'],
  ['"a" < "b" and 1 >= 1 and nothing < 1'],
  ['{"a": 1} = {"a": 1} and [1, 2] != [2, 1] and nothing != 1'],
  ['true and nothing or "x"'],
  ['test = true ? "test" : "live"'],
  ['$count(tax_lines) > 0 ? [tax_lines.{ "t": title }]'],
  ['[line_items.(price)][$ != "0.00"]'],
  ['$split(tags, ",").$trim($)[$ != ""]'],
  ['line_items.$string(id)'],
  ['$now()'],
  ['line_items^(price).sku'],
  ['line_items.%.id'],
  ['**.sku'],
  ['$undefinedFunction(1)'],
  ['nothing()'],
  ['[1..3]'],
  ['$', [1, 2, 3]],
  ['$[1]', [1, 2, 3]],
  ['$.a', [{ a: 1 }, { a: 2 }]],
  ['a.b', { a: [{ b: [1, 2] }, { b: 3 }] }],
  ['a.b[0]', { a: [{ b: [1, 2] }, { b: 3 }] }],
  ['a[0].b', { a: [[{ b: 1 }], { b: 2 }] }],
  ['a.b.c', { a: { b: [[{ c: 1 }], { c: [2, [3]] }] } }],
  ['a.b.c', { a: { b: { c: [1] } } }],
  ['a.b', { a: { b: [] } }],
  ['a.b.c', { a: { b: [] } }],
  ['id[]'],
  ['nothing[]'],
  ['customer.id[]'],
  ['[{"b": 1}, {"b": [2, 3]}].b'],
  ['($v := [{"b": 1}, {"b": [2, 3]}]; $v.b)'],
  ['($v := customer; $v.default_address.city & $v.nothing.city)'],
  ['($v := [customer]; $v.email)'],
  ['($v := line_items.sku; $v)'],
  ['($v := $map([1, 2], function($i) { { "n": $i } }); $v.n)'],
  ['($o := { "a": [1, 2], "b": { "c": [[1], [2]] } }; [$o.a, $o.b.c, $o.b.c[0]])'],
  ['{ "a": line_items }.a.sku'],
];

describe('the JSONata compiler', () => {
  for (const [text, input] of EXPRESSIONS) {
    it(`agrees with jsonata: ${text}`, async () => {
      const data = input === undefined ? order : input;
      const want = await viaJsonata(text, data, { params: { channel: 'web' } });
      const c = compileToJavaScript(text);
      if (!c.ok) {
        // Not compiled: the runtime uses the interpreter. Only constructs the compiler leaves out may get here.
        expect(c.problem).toMatch(
          /sort|wildcard|descendant|parent|\.\.|needs the interpreter|expression|partial|operator/,
        );
        return;
      }
      const got = viaCompiled(c.expr, data, { params: { channel: 'web' } });
      if ('error' in want) expect(got).toHaveProperty('error');
      else expect(got).toEqual(want);
    });
  }

  it('sees through a binding that shadows a built-in with a fast path', () => {
    const c = compiled('$string(1.5) & $count([1, 2])');
    expect(c.evaluate({}, { string: () => 'mine' })).toBe('mine2');
  });

  it('gives one-byte text for ASCII output when the mapping text has a character beyond Latin-1', () => {
    // V8 keeps a string one byte a character when it can, but a piece cut from a two-byte text stays two-byte, and
    // the first copy of a name to be interned is the one every object with that key gets. The names are made here
    // at random so that nothing (this file's own literals included) has interned them before the compiler.
    const n = (what: string) => `${what}${Math.random().toString(36).slice(2, 10)}`;
    const [v, amount, note] = [n('discount'), n('amount'), n('note')];
    const text = `/* order → ERP */ ( $${v} := $sum(lines.${amount}); { '${v}': $string($${v}), '${note}': 'x' & ${note} } )`;
    expect(isOneByte(text)).toBe(false);
    const c = compiled(text);
    const out = c.evaluate(JSON.parse(`{"lines":[{"${amount}":2},{"${amount}":3}],"${note}":"y"}`)) as Record<
      string,
      unknown
    >;
    expect(out).toEqual({ [v]: '5', [note]: 'xy' });
    for (const k of Object.keys(out)) expect(isOneByte(k)).toBe(true);
    expect(isOneByte(JSON.stringify(out))).toBe(true);
  });
});

/**
 * Whether V8 holds a string one byte a character: its structured-clone form (after the 2-byte header and any
 * padding bytes, 0, that align two-byte data) tags one-byte strings '"' and two-byte ones 'c'.
 */
function isOneByte(s: string): boolean {
  const b = v8.serialize(s);
  let i = 2;
  while (b[i] === 0) i++;
  if (b[i] !== 0x22 && b[i] !== 0x63) throw new Error(`unexpected serialisation tag ${b[i]}`);
  return b[i] === 0x22;
}

// ------------------------------------------------------------------------------------------ the example mappings

function files(dir: string, ext: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) out.push(...files(p, ext));
    else if (name.endsWith(ext)) out.push(p);
  }
  return out;
}

/** A small seeded generator (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ODD_VALUES: unknown[] = [
  '',
  '0',
  '.5',
  '-',
  '-0.5',
  '3.',
  '7',
  '12.3456',
  '1e3',
  '  2 ',
  0,
  -1,
  2.5,
  1e21,
  true,
  false,
  null,
  [],
  {},
  [1],
  ['a', ''],
  'x,y, ,z',
];

/** Paths to every value inside `v`. */
function paths(v: unknown, at: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  if (at.length) out.push(at);
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...at, i], out));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) paths(x, [...at, k], out);
  return out;
}

function mutate(input: unknown, rnd: () => number): unknown {
  const copy = structuredClone(input);
  const all = paths(copy);
  const edits = 1 + Math.floor(rnd() * 3);
  for (let e = 0; e < edits && all.length; e++) {
    const p = all[Math.floor(rnd() * all.length)];
    let parent = copy as Record<string | number, unknown>;
    for (const k of p.slice(0, -1)) parent = parent?.[k] as Record<string | number, unknown>;
    if (!parent || typeof parent !== 'object') continue;
    const key = p[p.length - 1];
    const old = parent[key];
    const r = rnd();
    if (r < 0.2 && !Array.isArray(parent)) delete parent[key];
    else if (r < 0.3) parent[key] = null;
    else if (r < 0.45 && Array.isArray(old)) parent[key] = rnd() < 0.5 ? [] : old.slice(0, 1);
    else if (r < 0.55 && old && typeof old === 'object' && !Array.isArray(old)) parent[key] = [old];
    else if (r < 0.7 && typeof old === 'string' && old !== '' && !Number.isNaN(Number(old))) parent[key] = Number(old);
    else if (r < 0.8 && typeof old === 'number') parent[key] = String(old);
    else parent[key] = structuredClone(ODD_VALUES[Math.floor(rnd() * ODD_VALUES.length)]);
  }
  return copy;
}

/** The cases of the MappingTest beside a mapping (`x.test.yaml` for `x.jsonata`): input and params. */
function ownCases(mappingFile: string): { input: unknown; params: Record<string, unknown> }[] {
  const testFile = mappingFile.replace(/\.jsonata$/, '.test.yaml');
  let doc: { spec?: { cases?: Record<string, unknown>[] } };
  try {
    doc = parseYaml(readFileSync(testFile, 'utf8'));
  } catch {
    return [];
  }
  const out: { input: unknown; params: Record<string, unknown> }[] = [];
  for (const c of doc.spec?.cases ?? []) {
    const input = (c.input ?? {}) as { value?: unknown; file?: string; path?: string };
    let value: unknown = input.value;
    if (typeof input.file === 'string') {
      value = JSON.parse(readFileSync(path.resolve(path.dirname(testFile), input.file), 'utf8'));
      for (const k of input.path ? input.path.split('.') : []) value = (value as Record<string, unknown>)?.[k];
    }
    if (value !== undefined) out.push({ input: value, params: (c.params ?? {}) as Record<string, unknown> });
  }
  return out;
}

describe('the example mappings, compiled', () => {
  const mappings = [
    ...files(path.join(ROOT, 'templates'), '.jsonata'),
    ...files(path.join(ROOT, 'integrations'), '.jsonata'),
  ];
  const inputs: unknown[] = [];
  for (const f of files(path.join(ROOT, 'test', 'fixtures'), '.json')) {
    if (f.includes(`${path.sep}broken`)) continue;
    const v = JSON.parse(readFileSync(f, 'utf8')) as unknown;
    inputs.push(v);
    if (v && typeof v === 'object' && !Array.isArray(v))
      for (const x of Object.values(v)) if (x && typeof x === 'object') inputs.push(x);
  }
  const bindingsList = [
    { params: {} },
    { params: { channel: 'web', skipTestOrders: false, currency: 'EUR', location: 'store-1' } },
  ];
  const MUTATIONS = Number(process.env.RSYNC_COMPILE_MUTATIONS ?? 12);

  it('finds the mappings and the payloads', () => {
    expect(mappings.length).toBeGreaterThanOrEqual(10);
    expect(inputs.length).toBeGreaterThanOrEqual(14);
  });

  for (const file of mappings) {
    const rel = path.relative(ROOT, file);
    it(`${rel} compiles and agrees with jsonata on the payloads and ${MUTATIONS} mutations of each`, async () => {
      const text = readFileSync(file, 'utf8');
      const c = compiled(text, rel);
      const rnd = random(rel.length * 7919);
      let compared = 0;
      let values = 0;
      let sortedOutputs = 0;
      const own = ownCases(file);
      const corpus = [
        ...own.map((c) => ({ input: c.input, params: c.params })),
        ...inputs.map((input) => ({ input, params: undefined })),
      ];
      for (const { input, params } of corpus) {
        for (let m = 0; m <= MUTATIONS; m++) {
          const data = m === 0 ? input : mutate(input, rnd);
          const bindings = params ? { params } : bindingsList[m % bindingsList.length];
          const want = await viaJsonata(text, data, bindings);
          const got = viaCompiled(c, data, bindings);
          if ('error' in want) expect(got, `${rel} on ${JSON.stringify(data).slice(0, 300)}`).toHaveProperty('error');
          else {
            expect(got, `${rel} on ${JSON.stringify(data).slice(0, 300)}`).toEqual(want);
            if (want.value !== undefined) values++;
            // The compiled object constructors set their members in sorted key order, so the runtime writes a mapped
            // record's canonical text with JSON.stringify (canonicalOf); source objects passed through keep theirs.
            if (
              m === 0 &&
              own.length &&
              'value' in got &&
              got.value &&
              typeof got.value === 'object' &&
              input === own[0]?.input
            ) {
              expect(canonicalOf(got.value).text).toBe(canonicalJson(got.value));
              if (ownSorted(got.value)) sortedOutputs++;
            }
          }
          compared++;
        }
      }
      expect(compared).toBe(corpus.length * (MUTATIONS + 1));
      if (own.length && SORTED_OUTPUT.has(path.basename(file)))
        expect(sortedOutputs, `${rel}: its first own case's output has every key in sorted order`).toBe(1);
      // The payloads must exercise the mapping, not only its filters.
      expect(values).toBeGreaterThan(0);
    }, 120_000);
  }
});
