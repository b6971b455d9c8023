/**
 * Text PostgreSQL cannot store, written raw into files (the escapes are the broken case `text-unstorable`): a NUL
 * byte in a YAML value validated and then failed apply ("unsupported Unicode escape sequence", exit 70). Now
 * validation reports it at its file:line:col, in YAML and in a .jsonata file (whose text apply stores), so plan and
 * apply never see it; a MappingTest's input, never stored, may hold one.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatDiagnostic } from '../../engine/diagnostics/diagnostic.js';
import { openAndValidate } from '../../engine/workspace/open.js';
import { materialise } from '../helpers/broken.js';

const dir = materialise('_baseline');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const rewrite = (rel: string, from: string, to: string) => {
  const file = path.join(dir, rel);
  const text = readFileSync(file, 'utf8');
  expect(text).toContain(from);
  writeFileSync(file, text.replace(from, to));
};

describe('NUL bytes and lone surrogates written raw', () => {
  it('are errors at the character, in YAML and in JSONata; the rest of the workspace is untouched', async () => {
    rewrite('integrations/northwind/customer.yaml', 'Northwind Traders', 'North\u0000wind Traders');
    rewrite('integrations/northwind/mappings/order.jsonata', '"number": name', '"number": name & "\u0000"');
    const v = await openAndValidate({ path: dir });
    expect(v.shown.map((d) => formatDiagnostic(d).split('\n')[0])).toEqual([
      'integrations/northwind/customer.yaml:5:21 error text-unstorable A NUL character (\\u0000) in the value of spec.displayName [northwind/customer/northwind]',
      'integrations/northwind/mappings/order.jsonata:3:21 error text-unstorable A NUL character (\\u0000) in the mapping',
    ]);
    expect(v.shown[0].detail).toMatch(/^PostgreSQL cannot store it, so apply would fail on it\. Remove it/);
  });

  it('a MappingTest may hold one in its input (it is never stored)', async () => {
    rewrite('integrations/northwind/customer.yaml', 'North\u0000wind Traders', 'Northwind Traders');
    rewrite('integrations/northwind/mappings/order.jsonata', ' & "\u0000"', '');
    writeFileSync(
      path.join(dir, 'integrations/northwind/mappings/order.test.yaml'),
      `apiVersion: rsync/v1
kind: MappingTest
metadata: { name: order }
spec:
  mapping: order.jsonata
  cases:
    - name: a name with a NUL
      input: { value: { id: 1, name: "#1\\0", currency: USD, total_price: "1.00" } }
      expect: { externalId: "1", number: "#1\\0", currency: USD, total: "1.00" }
`,
    );
    const v = await openAndValidate({ path: dir });
    expect(v.shown.filter((d) => d.code === 'text-unstorable')).toEqual([]);
  });
});
