/**
 * `rsync test` and the filter marker: a mapping that filters with `{ "$filter": "<reason>" }` is filtered, so a
 * case's `output: null` matches it and the idempotency contract expects no write; `output: { $filter: … }` checks
 * the reason too; a malformed marker (an empty reason, or other members beside it) fails the case.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runMappingTests } from '../../engine/mapping/test-runner.js';
import { openAndValidate } from '../../engine/workspace/open.js';
import { runtimeWorkspace, SANDBOX_SYSTEMS, STOCK_MAPPING, stockFlow } from '../helpers/runtime.js';

const MAPPING = `location = 9 ? { "$filter": "returns cage" } :
location = 8 ? { "$filter": "" } :
location = 7 ? { "$filter": "closed", "sku": sku } :
${STOCK_MAPPING}`;

const move = (location: number) =>
  `{ value: { id: 7, sku: A-1, location: ${location}, qty: "5", updated_at: "2026-11-01T00:00:00Z" } }`;

describe('rsync test: the filter marker', () => {
  it('is filtered for output: null and the idempotency contract; the reason can be checked; malformed fails', async () => {
    const dir = runtimeWorkspace('rsync-filter-marker-', {
      connections: SANDBOX_SYSTEMS,
      flows: [stockFlow({ mapping: MAPPING })],
    });
    writeFileSync(
      path.join(dir, 'integrations', 'acme', 'mappings', 'stock.test.yaml'),
      `apiVersion: rsync/v1
kind: MappingTest
metadata: { name: stock }
spec:
  mapping: stock.jsonata
  canonical: inventoryLevel
  cases:
    - name: filtered, output null
      input: ${move(9)}
      output: null
    - name: filtered, with its reason
      input: ${move(9)}
      output: { $filter: returns cage }
    - name: filtered, another reason expected
      input: ${move(9)}
      output: { $filter: closed }
    - name: an empty reason
      input: ${move(8)}
      output: null
    - name: a marker with fields
      input: ${move(7)}
    - name: a stock move
      input: ${move(2)}
      expect: { valid: inventoryLevel }
`,
    );
    const v = await openAndValidate({ path: dir });
    const r = await runMappingTests(v.ws, v.mappings);
    expect(r.cases.map((c) => [c.case, c.status])).toEqual([
      ['filtered, output null', 'passed'],
      ['filtered, with its reason', 'passed'],
      ['filtered, another reason expected', 'failed'],
      ['an empty reason', 'failed'],
      ['a marker with fields', 'failed'],
      ['a stock move', 'passed'],
    ]);
    expect(r.cases[3].message).toBe(
      `the mapping's output is not a filter: the filter marker's "$filter" must be a non-empty string (the reason), not ""`,
    );
    expect(r.cases[4].message).toMatch(/must stand alone, but the output also has sku/);
  });
});
