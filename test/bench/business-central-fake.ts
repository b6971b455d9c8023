/**
 * The fake Business Central (engine/connectors/business-central/fake.ts) for the benchmark's business-central part,
 * in a process of its own so that its CPU (validating and storing the orders) is not counted as the connector's:
 *
 *   node .build/test/bench/business-central-fake.js
 *
 * prints one line of JSON, `{ "url": …, "stats": … }`, then serves until SIGTERM. Its items are the SKUs of the
 * Shopify order sample the benchmark posts (test/fixtures/shopify-variants), its customer WEB, its limits lifted (the
 * benchmark measures rsync, not Business Central's 6,000 requests per 5 minutes). `stats` is a second server on
 * 127.0.0.1 answering GET with the sales orders created so far, by key, so the benchmark can check what it posted.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { startFakeBusinessCentral, WEB_CUSTOMER } from '../../engine/connectors/business-central/fake.js';
import { projectRoot } from '../../engine/util/paths.js';

const sample = JSON.parse(
  readFileSync(path.join(projectRoot(), 'test/fixtures/shopify-variants/orders_create.consistent.json'), 'utf8'),
).response as { line_items: { sku: string; title: string }[] };

const bc = await startFakeBusinessCentral({ window: { requests: 1e9, ms: 1_000 }, processing: 1_000 });
bc.seed({
  customers: [WEB_CUSTOMER],
  items: sample.line_items.map((l) => ({ number: l.sku, displayName: l.title, type: 'Inventory' })),
});
const stats = createServer((_req, res) => {
  const created = bc.creates.get('salesOrders') ?? new Map<string, number>();
  let twice = 0;
  for (const n of created.values()) if (n > 1) twice++;
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ orders: created.size, twice }));
});
await new Promise<void>((r) => stats.listen(0, '127.0.0.1', r));
process.stdout.write(
  `${JSON.stringify({ url: bc.url, stats: `http://127.0.0.1:${(stats.address() as AddressInfo).port}` })}\n`,
);
process.on('SIGTERM', () => {
  stats.close();
  bc.close().finally(() => process.exit(0));
});
