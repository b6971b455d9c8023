/**
 * `rsync test` proves each flow's idempotency contract: every fixture delivered twice through the target, under the
 * ledger's rule the pipeline uses, is written once. A key that changes between deliveries (here: it embeds a
 * random number) breaks the contract, and the case fails with the flow named.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runMappingTests } from '../../engine/mapping/test-runner.js';
import { openAndValidate } from '../../engine/workspace/open.js';
import { runtimeWorkspace, SANDBOX_SYSTEMS, stockFlow } from '../helpers/runtime.js';

async function report(key: string) {
  const dir = runtimeWorkspace('rsync-idem-', {
    connections: SANDBOX_SYSTEMS,
    flows: [stockFlow({ key })],
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
    - name: a stock move
      input: { value: { id: 7, sku: A-1, location: 2, qty: "5", updated_at: "2026-11-01T00:00:00Z" } }
      expect: { valid: inventoryLevel }
    - name: another
      input: { value: { id: 8, sku: A-2, location: 3, qty: "0", updated_at: "2026-11-01T00:00:00Z" } }
      expect: { valid: inventoryLevel }
`,
  );
  const v = await openAndValidate({ path: dir });
  return runMappingTests(v.ws, v.mappings);
}

describe('rsync test: the idempotency contract', () => {
  it('passes when the same fixture gives the same key and content on every delivery', async () => {
    const r = await report("'stock-' & $string(id)");
    expect(r.cases.map((c) => [c.case, c.status, c.message])).toEqual([
      ['a stock move', 'passed', undefined],
      ['another', 'passed', undefined],
    ]);
  });

  it('fails, naming the flow, when a second delivery of the same fixture would be written again', async () => {
    // $random() differs between evaluations: the key of a re-delivery is a new key, so the target gets a duplicate.
    const r = await report("'stock-' & $string(id) & '-' & $string($random())");
    expect(r.failed).toBe(2);
    expect(r.cases[0].message).toMatch(/flow stock: this fixture delivered twice is written 2 times, not 1/);
  });
});
