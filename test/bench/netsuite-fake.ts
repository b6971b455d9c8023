/**
 * The fake NetSuite (engine/connectors/netsuite/fake.ts) for the NetSuite benchmark (runtime.bench.ts --only netsuite),
 * in a process of its own so that its CPU (verifying each request's signature, keeping the records) is not counted
 * as the connector's:
 *
 *   node .build/test/bench/netsuite-fake.js
 *
 * prints one line of JSON, `{ "url", "accountId", "tba" }`, then serves until SIGTERM, when it prints a second line,
 * `{ "creates", "updates", "requests", "maxInFlight", "rejected" }`, and exits. Its items are the SKUs of the
 * benchmark's order (Shopify's orders/create sample, test/fixtures/shopify-variants/orders_create.consistent.json).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startFakeNetSuite } from '../../engine/connectors/netsuite/fake.js';
import { projectRoot } from '../../engine/util/paths.js';

const sample = JSON.parse(
  readFileSync(path.join(projectRoot(), 'test/fixtures/shopify-variants/orders_create.consistent.json'), 'utf8'),
).response as { line_items: { sku: string }[] };
// A large account (Tier 5 with SuiteCloud Plus licences): the benchmark measures the connector, not the governance.
const fake = await startFakeNetSuite({ accountLimit: 1000 });
fake.seedItems([...new Set(sample.line_items.map((l) => l.sku))].map((sku) => ({ itemId: sku })));
process.stdout.write(`${JSON.stringify({ url: fake.url, accountId: fake.accountId, tba: fake.tba })}\n`);
process.on('SIGTERM', () => {
  const s = fake.stats;
  process.stdout.write(
    `${JSON.stringify({ creates: fake.creates.get('salesOrder') ?? 0, updates: fake.updates.get('salesOrder') ?? 0, requests: s.requests, maxInFlight: s.maxInFlight, rejected: s.rejected })}\n`,
  );
  fake.close().finally(() => process.exit(0));
});
