/**
 * First syncs and backfills through bulk operations (first-sync.ts), end to end over 127.0.0.1: the shopify
 * connector against the fake Admin API with the bulk fake mounted on it, answering from the same store its paged
 * reads do — so the records a bulk operation gives can be compared with the paged read's, field by field.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { resolveSecret } from '../secrets.js';
import type { Page } from '../types.js';
import { openShopify, type ShopifyConnection } from './connector.js';
import { type BulkFake, startFakeShopifyWithBulk } from './fake-bulk.js';
import type { FakeShopify } from './fake.js';
import { bulkQuery } from './first-sync.js';

// biome-ignore lint/suspicious/noExplicitAny: records read field by field
type Json = Record<string, any>;

const ENV = 'FIRST_SYNC_SHOPIFY_TOKEN';
let shop: FakeShopify;
let bulk: BulkFake;
const open: ShopifyConnection[] = [];

afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close?.()));
  await shop?.close();
});

async function start(orders = 0) {
  ({ shop, bulk } = await startFakeShopifyWithBulk({ maximumAvailable: 1_000_000, restoreRate: 1_000_000 }, {}));
  if (orders) shop.seedOrders(orders, { from: '2026-03-01T00:00:00Z', to: '2026-03-05T00:00:00Z' });
  process.env[ENV] = shop.accessToken;
}

function connect(settings: Json = {}): ShopifyConnection {
  const c = openShopify({
    settings: {
      shop: 'northwind.myshopify.com',
      accessToken: { secretRef: `env:${ENV}` },
      baseUrl: shop.url,
      rateLimit: { perSecond: 1_000_000_000, burst: 1_000_000_000 },
      ...settings,
    },
    secret: resolveSecret,
    system: 'acme/shopify',
  });
  open.push(c);
  return c;
}

async function readAll(
  c: ShopifyConnection,
  stream: string,
  o: { cursor?: unknown; since?: string; until?: string; limit?: number; pages?: number } = {},
) {
  const pages: Page[] = [];
  let cursor = (o.cursor ?? null) as Page['cursor'] | null;
  for (let n = 0; n < (o.pages ?? 100_000); n++) {
    const p = await c.read!({ stream, cursor, limit: o.limit ?? 250, since: o.since, until: o.until });
    pages.push(p);
    cursor = p.cursor;
    if (!p.more) break;
  }
  return { records: pages.flatMap((p) => p.records as Json[]), cursor, pages, more: pages.at(-1)?.more ?? false };
}

const byId = (a: Json, b: Json) => String(a.admin_graphql_api_id).localeCompare(String(b.admin_graphql_api_id));
const graphqlRoots = () => shop.calls.map((c) => c.root);

describe('shopify first syncs through bulk operations', () => {
  it('a first sync of orders is one bulk operation, and gives exactly the records the paged read gives', async () => {
    await start(1_200);
    const viaBulk = await readAll(connect(), 'orders', { limit: 500 });
    expect(bulk.operations).toHaveLength(1);
    expect(graphqlRoots().filter((r) => r === 'orders')).toEqual([]); // not one page of orders was asked for
    const paged = await readAll(connect({ bulk: false }), 'orders', { limit: 250 });
    expect(viaBulk.records.length).toBe(shop.store.orders.length);
    expect(new Set(viaBulk.records.map((r) => r.admin_graphql_api_id)).size).toBe(viaBulk.records.length);
    expect([...viaBulk.records].sort(byId)).toEqual([...paged.records].sort(byId));
    // The fixture order's money and lines, as the mapping reads them.
    const fixture = viaBulk.records.find((r) => r.admin_graphql_api_id === shop.store.orders[0].id)!;
    expect(typeof fixture.total_price).toBe('string');
    expect(fixture.line_items.length).toBe(shop.store.orders[0].lineItems.nodes.length);
  });

  it('hands over to incremental reads from just before the operation started: later changes come by pages', async () => {
    await start(300);
    const c = connect();
    const first = await readAll(c, 'orders', { limit: 500 });
    const op = bulk.operations[0];
    expect(first.cursor).toEqual({ since: new Date(Date.parse(op.createdAt) - 60_000).toISOString() });
    // An order edited after the first sync: the next read is a paged one from that cursor, and finds it.
    const edited = shop.store.orders[5];
    edited.updatedAt = new Date(Date.now() + 1_000).toISOString();
    edited.note = 'edited after the first sync';
    shop.touch();
    const next = await readAll(c, 'orders', { cursor: first.cursor });
    expect(bulk.operations).toHaveLength(1); // no second bulk operation
    expect(graphqlRoots()).toContain('orders');
    expect(next.records.map((r) => r.note)).toContain('edited after the first sync');
    expect(next.records.length).toBeLessThan(first.records.length);
  });

  it('a backfill window is one bulk operation over [since, until), and ends there', async () => {
    await start(900);
    const since = '2026-03-02T00:00:00.000Z';
    const until = '2026-03-03T00:00:00.000Z';
    const w = await readAll(connect(), 'orders', { since, until, limit: 100 });
    const want = shop.store.orders.filter((o) => o.updatedAt >= since && o.updatedAt < until).length;
    expect(want).toBeGreaterThan(100);
    expect(w.records).toHaveLength(want);
    expect(w.more).toBe(false);
    expect(w.cursor).toMatchObject({ bulk: { done: true } }); // a window's cursor stays its operation's
    expect(bulk.operations[0].query).toBe(bulkQuery('orders', since, until));
  });

  it('a worker that dies mid-read resumes the same operation from the stored cursor: nothing lost, nothing twice', async () => {
    await start(1_000);
    const a = connect();
    const part = await readAll(a, 'orders', { limit: 100, pages: 4 });
    expect(part.more).toBe(true);
    await a.close?.(); // the worker is gone; `part.cursor` is what it had committed
    const b = connect();
    const rest = await readAll(b, 'orders', { cursor: part.cursor, limit: 100 });
    expect(bulk.operations).toHaveLength(1);
    const ids = [...part.records, ...rest.records].map((r) => r.admin_graphql_api_id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBe(shop.store.orders.length);
  });

  it('products through bulk give the same product and price records as pages, variants whole', async () => {
    await start();
    const viaBulk = await readAll(connect(), 'products');
    const paged = await readAll(connect({ bulk: false }), 'products');
    const real = (r: Json[]) => r.filter((x) => !x.deleted).sort(byId);
    expect(real(viaBulk.records).length).toBeGreaterThan(0);
    expect(real(viaBulk.records)).toEqual(real(paged.records));
    expect(bulk.operations).toHaveLength(1);
  });

  it('the bulk query asks for every child: no first: on nested connections', () => {
    const q = bulkQuery('orders', '2026-01-01T00:00:00Z');
    expect(q).toMatch(
      /^\{ orders\(query: "updated_at:>='2026-01-01T00:00:00.000Z'", sortKey: UPDATED_AT\) \{ edges \{ node \{/,
    );
    expect(q).not.toMatch(/lineItems\(first/);
    expect(q).toMatch(/shippingLines\(includeRemovals: true\)/);
  });
});
