/**
 * The runtime's synchronous JSONata (engine/jsonata/sync-engine.ts) is derived from the installed jsonata: it must
 * give the same value, or the same error code, as jsonata itself for every kind of expression — paths, predicates,
 * grouping, sorting, higher-order functions, transforms, regular expressions, parent references, errors — on a real
 * Shopify order.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import jsonata from 'jsonata';
import { describe, expect, it } from 'vitest';
import { syncJsonata } from '../../engine/jsonata/index.js';
import { ROOT } from '../helpers/cli.js';

const order = JSON.parse(readFileSync(path.join(ROOT, 'test', 'fixtures', 'shopify-rest', 'order.json'), 'utf8')).order;

const EXPRESSIONS = [
  'line_items.{ "sku": sku, "q": quantity }',
  'line_items[quantity > 1].sku',
  '$sum(line_items.($number(price) * quantity))',
  'line_items^(>price, sku).title',
  'line_items{ sku: $sum(quantity) }',
  'line_items.tax_lines{ title: $sum($number(price)) }',
  '$map(line_items, function($l, $i) { $i & ":" & $l.sku })',
  '$filter(line_items, function($l) { $l.quantity > 0 }).id',
  '$reduce(line_items, function($a, $l) { $a + $l.quantity }, 0)',
  '$sift(customer, function($v, $k) { $k ~> /^first|^last/ })',
  '$ ~> |line_items|{ "checked": true }, ["properties"]|',
  '$replace(email, /(\\w+)@/, "***@")',
  '$split(tags, ", ")[-1]',
  '**.admin_graphql_api_id[0]',
  'line_items.tax_lines.%.sku',
  '$each(customer, function($v, $k) { $k })[[0..2]]',
  '($f := function($x) { $x < 2 ? $x : $f($x - 1) + $f($x - 2) }; $f(15))',
  '$string($now()) = $string($now())',
  '$formatNumber(1234.5, "#,##0.00") & " " & $formatBase(255, 16) & " " & $pad("7", -3, "0")',
  '$distinct(line_items.vendor)',
  '$count(shipping_lines) > 0 ? shipping_lines[0].title : "none"',
  'line_items.$lookup($, "sku")',
  '$keys(billing_address)[$contains($, "name")]',
  '$number("n/a")',
  'line_items[0].price + "x"',
  '$undefinedFunction(1)',
  '$assert(false, "failed on purpose")',
];

describe('the synchronous JSONata engine', () => {
  it('is derived from the installed jsonata', () => {
    const sync = syncJsonata();
    expect(sync.ok ? '' : sync.problem).toBe('');
    expect(sync.ok).toBe(true);
  });

  for (const text of EXPRESSIONS) {
    it(`agrees with jsonata: ${text}`, async () => {
      const made = syncJsonata();
      if (!made.ok) throw new Error(made.problem);
      const sync = made.jsonata;
      const outcome = async (f: () => unknown) => {
        try {
          const v = await f();
          return { value: v === undefined ? undefined : JSON.parse(JSON.stringify(v)) };
        } catch (e) {
          return { error: (e as { code?: string }).code ?? 'no code' };
        }
      };
      const bindings = { params: { channel: 'web' } };
      const reference = await outcome(() => jsonata(text).evaluate(structuredClone(order), bindings));
      if (!('error' in reference)) {
        const direct = sync(text).evaluate(structuredClone(order), bindings) as unknown;
        expect(direct instanceof Promise).toBe(false);
      }
      expect(await outcome(() => sync(text).evaluate(structuredClone(order), bindings))).toEqual(reference);
    });
  }
});
