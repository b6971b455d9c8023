/**
 * The fake Shopify Admin API with bulk operations, for the Shopify benchmark (shopify.bench.ts), in a process of its
 * own so that its CPU (generating and writing the JSONL) is not counted as the connector's:
 *
 *   node .build/test/bench/shopify-fake.js <orders>
 *
 * prints one line of JSON, `{ "url": …, "token": … }`, then serves until SIGTERM. Every bulk query is answered with
 * <orders> orders, generated as they are written (never all in memory): Shopify's orders/create sample made
 * consistent (test/fixtures/shopify-variants, SOURCES.md), out of test mode, with fresh ids and times through
 * January 2026.
 */
import { flattenForJsonl, startFakeShopifyWithBulk } from '../../engine/connectors/shopify/fake-bulk.js';
import { orderNode } from '../../engine/connectors/shopify/fake.js';
import { bulkChildFields } from '../../engine/connectors/shopify/first-sync.js';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../engine/util/paths.js';

type Obj = Record<string, unknown> & { lineItems: { nodes: Obj[] } };

const n = Number(process.argv[2] ?? 100_000);
const FROM = Date.parse('2026-01-01T00:00:00Z');
const SPAN = 30 * 86_400_000;
const sample = JSON.parse(
  readFileSync(path.join(projectRoot(), 'test/fixtures/shopify-variants/orders_create.consistent.json'), 'utf8'),
).response;
const base = { ...orderNode(sample), test: false } as unknown as Obj;

function* orders(): Generator<Obj> {
  for (let i = 1; i <= n; i++) {
    const at = new Date(FROM + Math.floor((i * SPAN) / n)).toISOString().replace('.000Z', 'Z');
    const id = 6_000_000_000 + i;
    yield {
      ...base,
      id: `gid://shopify/Order/${id}`,
      name: `#B${i}`,
      createdAt: at,
      updatedAt: at,
      processedAt: at,
      lineItems: { nodes: base.lineItems.nodes.map((l, j) => ({ ...l, id: `gid://shopify/LineItem/${id * 10 + j}` })) },
    };
  }
}

const { shop } = await startFakeShopifyWithBulk(
  { maximumAvailable: 1_000_000_000, restoreRate: 1_000_000_000 },
  { rows: () => flattenForJsonl(orders(), bulkChildFields('orders')), objectCount: n },
);
process.stdout.write(`${JSON.stringify({ url: shop.url, token: shop.accessToken })}\n`);
process.on('SIGTERM', () => {
  shop.close().finally(() => process.exit(0));
});
