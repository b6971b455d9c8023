/**
 * The shopify connector (connector.ts) against the fake Shopify GraphQL Admin API (fake.ts) over real HTTP on
 * 127.0.0.1: every stream read by updated time, 20,000 orders sharing timestamps across page boundaries, the cost
 * budget under a small bucket, failures of each kind, writes (inventory idempotency and compare-and-swap, prices,
 * products), lookups, deletes, the check, and the template order mapping fed from GraphQL as from REST.
 *
 * Against a real store (read only, nothing is written): set
 *   SHOPIFY_SHOP=<name>.myshopify.com SHOPIFY_ACCESS_TOKEN=shpat_…   [SHOPIFY_API_VERSION=2026-07]
 * and the last suite reads one page of each stream and checks the connection.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { compile } from '../../jsonata/index.js';
import { projectRoot } from '../../util/paths.js';
import { ConnectorError } from '../kit/index.js';
import { resolveSecret } from '../secrets.js';
import { failureOf, fixture } from '../testing.js';
import type { Page, WriteResult } from '../types.js';
import { apiVersionSupport, openShopify, type ShopifyConnection } from './connector.js';
import {
  type FakeShopify,
  fulfillmentNode,
  orderNode,
  type ShopifyFakeOptions,
  startFakeShopify,
  transactionNode,
} from './fake.js';
import { convert, nodeCost, ORDER_FIELDS, SELECTIONS } from './graphql.js';

type Json = Record<string, unknown>;
const ENV = 'RSYNC_TEST_SHOPIFY_TOKEN';
const FAST = { maximumAvailable: 1_000_000_000, restoreRate: 1_000_000_000 };

let fake: FakeShopify;

async function start(o: ShopifyFakeOptions = {}) {
  fake = await startFakeShopify({ ...FAST, ...o });
  process.env[ENV] = fake.accessToken;
}

function open(settings: Json = {}): ShopifyConnection {
  return openShopify(
    {
      settings: {
        shop: 'northwind.myshopify.com',
        accessToken: { secretRef: `env:${ENV}` },
        baseUrl: fake.url,
        rateLimit: { perSecond: 1_000_000_000, burst: 1_000_000_000 },
        // The paged reads; first syncs through bulk operations are first-sync.test.ts's.
        bulk: false,
        ...settings,
      },
      secret: resolveSecret,
      system: 'acme/shopify',
    },
    { timeoutMs: 5_000 },
  );
}

async function readAll(c: ShopifyConnection, stream: string, cursor: unknown = null, limit = 250, until?: string) {
  const pages: Page[] = [];
  for (let n = 0; n < 100_000; n++) {
    const p = await c.read!({ stream, cursor, limit, until });
    pages.push(p);
    cursor = p.cursor;
    if (!p.more) break;
  }
  return { records: pages.flatMap((p) => p.records as Json[]), cursor, pages };
}

afterEach(async () => {
  await fake?.close();
});

describe('reads', () => {
  it('reads orders in the REST shape: numeric ids from gids, money as decimal strings, the token in its header', async () => {
    await start();
    const { records } = await readAll(open(), 'orders');
    expect(records).toHaveLength(1);
    const o = records[0] as Json & { line_items: Json[]; total_price_set: Json };
    expect(o.id).toBe(450789469);
    expect(o.admin_graphql_api_id).toBe('gid://shopify/Order/450789469');
    expect(o.total_price).toBe('409.94');
    expect(o.total_price_set).toEqual({
      shop_money: { amount: '409.94', currency_code: 'USD' },
      presentment_money: { amount: '409.94', currency_code: 'USD' },
    });
    expect(o.line_items.map((l) => l.sku)).toEqual(['IPOD2008GREEN', 'IPOD2008RED', 'IPOD2008BLACK']);
    expect(o.financial_status).toBe('authorized');
    expect(fake.calls[0].variables.query).toBeNull();
    expect(fake.calls.every((c) => c.requested <= 1000)).toBe(true);
  });

  it('an order with more line items than a page holds is completed by order(id) { lineItems(after:) }', async () => {
    await start();
    const order = fake.store.orders[0];
    const line = order.lineItems.nodes[0];
    order.lineItems.nodes = Array.from({ length: 57 }, (_, i) => ({ ...line, id: `gid://shopify/LineItem/${i + 1}` }));
    fake.touch();
    const { records } = await readAll(open(), 'orders');
    expect((records[0].line_items as Json[]).map((l) => l.id)).toEqual(Array.from({ length: 57 }, (_, i) => i + 1));
    expect(fake.calls.filter((c) => c.root === 'order')).toHaveLength(1); // 10 with the order, then 47 (≤ 50)
  });

  it("an order's discount applications and shipping lines past their first page are read too, not cut", async () => {
    await start();
    const order = fake.store.orders[0];
    const app = order.discountApplications.nodes[0] ?? {
      __typename: 'ManualDiscountApplication',
      allocationMethod: 'ACROSS',
      targetSelection: 'ALL',
      targetType: 'LINE_ITEM',
      value: { __typename: 'MoneyV2', amount: '1.00', currencyCode: 'USD' },
      title: 'manual',
    };
    order.discountApplications = { nodes: Array.from({ length: 12 }, (_, i) => ({ ...app, index: i })) };
    const ship = order.shippingLines.nodes[0];
    order.shippingLines = {
      nodes: Array.from({ length: 7 }, (_, i) => ({
        ...ship,
        id: `gid://shopify/ShippingLine/${i + 1}`,
        title: `parcel ${i + 1}`,
      })),
    };
    fake.touch();
    const { records } = await readAll(open(), 'orders');
    expect((records[0].discount_applications as Json[]).length).toBe(12);
    expect((records[0].shipping_lines as Json[]).map((l) => l.title)).toEqual(
      Array.from({ length: 7 }, (_, i) => `parcel ${i + 1}`),
    );
    expect(fake.calls.filter((c) => c.root === 'order').length).toBe(2); // one follow-up each
  });

  it("a refund's lines and transactions past their first page are read too (a credit memo never loses a line)", async () => {
    await start();
    const refund = (await import('./fake.js')).refundNode(
      fixture('shopify-webhooks/refunds_create.json').response,
      'USD',
    );
    const line = refund.refundLineItems.nodes[0];
    const tx = refund.transactions.nodes[0];
    refund.refundLineItems = {
      nodes: Array.from({ length: 23 }, (_, i) => ({ ...line, id: `gid://shopify/RefundLineItem/${i + 1}` })),
    };
    refund.transactions = {
      nodes: Array.from({ length: 4 }, (_, i) => ({ ...tx, id: `gid://shopify/OrderTransaction/${i + 1}` })),
    };
    fake.store.orders[0].refunds = [refund];
    fake.touch();
    const { records } = await readAll(open(), 'refunds');
    expect(records).toHaveLength(1);
    expect((records[0].refund_line_items as Json[]).map((l) => l.id)).toEqual(
      Array.from({ length: 23 }, (_, i) => i + 1),
    );
    expect(records[0].transactions as Json[]).toHaveLength(4);
    expect(fake.calls.filter((c) => c.root === 'refund')).toHaveLength(2); // one follow-up for each list
  });

  it('reads products (variants inside), customers, inventory levels per location, and the order children', async () => {
    await start();
    const c = open();
    const products = (await readAll(c, 'products')).records;
    expect(products).toHaveLength(1);
    expect((products[0].variants as Json[]).map((v) => [v.sku, v.price])).toContainEqual(['IPOD2008PINK', '199.00']);
    const customers = (await readAll(c, 'customers')).records;
    expect(customers.length).toBeGreaterThan(0);
    expect(customers[0]).toMatchObject({ id: 207119551, email: 'bob.norman@hostmail.com', first_name: 'Bob' });
    const levels = (await readAll(c, 'inventoryLevels')).records;
    expect(levels.length).toBe(fake.store.inventoryLevels.length);
    expect(levels[0]).toMatchObject({ inventory_item_id: expect.any(Number), location_id: expect.any(Number) });
    expect(typeof levels[0].available).toBe('number');
    // Refunds are the children of the orders updated: the REST order of the fixtures has none; a webhook refund has.
    const refund = fixture('shopify-webhooks/refunds_create.json').response;
    fake.store.orders[0].refunds = [(await import('./fake.js')).refundNode(refund, 'USD')];
    fake.touch();
    const refunds = (await readAll(c, 'refunds')).records;
    expect(refunds).toHaveLength(1);
    expect(refunds[0]).toMatchObject({ order_id: 450789469, admin_graphql_api_id: refund.admin_graphql_api_id });
    expect((refunds[0].refund_line_items as Json[]).length).toBe(refund.refund_line_items.length);
  });

  it('inventory levels changed while their locations are walked one by one are read by the next slice', async () => {
    await start();
    const c = open();
    const p1 = await c.read!({ stream: 'inventoryLevels', cursor: null, limit: 250 });
    expect(p1.more).toBe(true); // the first of two locations
    // A level of the first location changes now; the second location has one changed a minute later still.
    const [a, b] = [
      fake.store.inventoryLevels.find((l) => l.location.id === fake.store.locations[0].id)!,
      fake.store.inventoryLevels.find((l) => l.location.id === fake.store.locations[1].id)!,
    ];
    a.updatedAt = new Date().toISOString();
    b.updatedAt = new Date(Date.now() + 3_600_000).toISOString();
    fake.touch();
    const rest = await readAll(c, 'inventoryLevels', p1.cursor);
    const next = await readAll(c, 'inventoryLevels', rest.cursor);
    expect(next.records).toContainEqual(expect.objectContaining({ admin_graphql_api_id: a.id }));
  });

  it('fulfillments and transactions are the children of the orders updated, in the REST shape', async () => {
    await start();
    const order = fake.store.orders[0];
    order.fulfillments = [
      fulfillmentNode({
        id: 255858046,
        status: 'success',
        created_at: '2026-06-01T10:00:00Z',
        updated_at: '2026-06-01T10:00:00Z',
        tracking_company: 'UPS',
        tracking_number: '1Z2345',
        line_items: [{ id: 466157049, quantity: 1, sku: 'IPOD2008GREEN' }],
      }),
    ];
    order.transactions = [
      transactionNode(
        {
          id: 389404469,
          kind: 'authorization',
          status: 'success',
          amount: '409.94',
          created_at: '2026-06-01T09:00:00Z',
        },
        'USD',
      ),
    ];
    fake.touch();
    const c = open();
    const [f] = (await readAll(c, 'fulfillments')).records;
    expect(f).toMatchObject({ id: 255858046, order_id: 450789469, status: 'success', tracking_number: '1Z2345' });
    expect(f.line_items).toEqual([expect.objectContaining({ id: 466157049, sku: 'IPOD2008GREEN', quantity: 1 })]);
    const [t] = (await readAll(c, 'transactions')).records;
    expect(t).toMatchObject({
      id: 389404469,
      order_id: 450789469,
      kind: 'authorization',
      amount: '409.94',
      currency: 'USD',
    });
  });

  it('order children move on with the orders read, even when the orders have none', async () => {
    await start();
    fake.store.orders.length = 0;
    fake.seedOrders(40, { from: '2026-06-01T00:00:00Z', to: '2026-06-01T01:00:00Z' });
    const c = open();
    const first = await readAll(c, 'refunds');
    expect(first.records).toHaveLength(0);
    const newest = Math.max(...fake.store.orders.map((o) => Date.parse(o.updatedAt)));
    fake.calls.length = 0;
    await readAll(c, 'refunds', first.cursor);
    expect(fake.calls[0].variables.query).toBe(`updated_at:>='${new Date(newest - 60_000).toISOString()}'`);
  });

  it('asks updated_at:>= the slice start (UTC) and < until in a backfill window, sorted by UPDATED_AT', async () => {
    await start();
    const c = open();
    await c.read!({
      stream: 'orders',
      cursor: null,
      limit: 50,
      since: '2026-07-01T10:00:00-04:00',
      until: '2026-07-02T00:00:00Z',
    });
    const q = fake.calls.at(-1)!.variables.query;
    expect(q).toBe("updated_at:>='2026-07-01T14:00:00.000Z' AND updated_at:<'2026-07-02T00:00:00.000Z'");
  });
});

describe('20,000 orders sharing timestamps across page boundaries', () => {
  it('are read once each, nothing lost; the next slice re-reads only the overlap', async () => {
    await start();
    fake.store.orders.length = 0;
    const from = Date.parse('2026-06-01T00:00:00Z');
    // 7 orders a second: pages of 4 orders (1,000 points ÷ 246 a node) split every timestamp.
    fake.seedOrders(20_000, { from, to: from + 2_858_000, perTimestamp: 7 });
    expect(Math.floor(998 / nodeCost(ORDER_FIELDS))).toBe(4);
    const c = open();
    const { records, cursor, pages } = await readAll(c, 'orders', null, 250);
    const ids = records.map((r) => r.admin_graphql_api_id);
    expect(new Set(ids).size).toBe(20_000);
    expect(ids.length).toBe(20_000);
    expect(pages.at(-1)!.more).toBe(false);
    // The next slice starts 60 s before the newest order seen: those 60 s (7 a second) again, nothing else.
    const again = await readAll(c, 'orders', cursor);
    const newest = Math.max(...records.map((r) => Date.parse(r.updated_at as string)));
    expect(again.records.length).toBe(
      records.filter((r) => Date.parse(r.updated_at as string) >= newest - 60_000).length,
    );
  }, 120_000);
});

describe('the cost budget', () => {
  /** `n` customers (the fixture's first, with its own id and a second apart), for reads that go on. */
  const manyCustomers = (n: number) => {
    fake.store.customers = Array.from({ length: n }, (_, i) => ({
      ...fake.store.customers[0],
      id: `gid://shopify/Customer/${1000 + i}`,
      updatedAt: new Date(Date.parse('2026-06-01T00:00:00Z') + i * 1000).toISOString(),
    }));
    fake.touch();
  };

  it('a throttled fake sees the connector slow down: under 1 % of calls throttled once steady', async () => {
    // A bucket of 1,000 points restored at 500 a second (time-compressed: Shopify's standard is 2,000 at 100), and
    // customer pages of 25 (requested and actual 52 points): about 10 pages a second once the bucket is spent.
    await start({ maximumAvailable: 1000, restoreRate: 500 });
    manyCustomers(3000);
    const c = open({ rateLimit: { perSecond: 100_000, burst: 100_000 } });
    const startedAt = Date.now();
    let cursor: unknown = null;
    let throttledErrors = 0;
    while (Date.now() - startedAt < 6_000) {
      try {
        const p = await c.read!({ stream: 'customers', cursor, limit: 25 });
        cursor = p.cursor;
      } catch (e) {
        if (!(e instanceof ConnectorError) || e.kind !== 'throttled') throw e;
        expect(e.retryAfterMs).toBeGreaterThan(0);
        throttledErrors++;
        await new Promise((r) => setTimeout(r, e.retryAfterMs));
      }
    }
    expect(throttledErrors).toBe(fake.throttled);
    const steady = fake.calls.filter((_, i) => i >= fake.calls.length / 3);
    expect(steady.filter((k) => k.throttled).length / steady.length).toBeLessThan(0.01);
    // The bucket (1,000) then 500 points a second, of 52-point pages: about 13 calls a second over the 6 s, where
    // the connector's own limit (100,000 a second) would allow thousands.
    const rate = fake.calls.length / 6;
    expect(rate).toBeLessThan(20);
    expect(rate).toBeGreaterThan(5);
    expect(steady.length).toBeGreaterThan(30);
  }, 20_000);

  it('a THROTTLED body is a throttled failure waiting (requested − available) ÷ restoreRate', async () => {
    await start({ maximumAvailable: 100, restoreRate: 50 });
    const c = open();
    const e = await failureOf(c.read!({ stream: 'customers', cursor: null, limit: 250 }));
    expect(e.kind).toBe('throttled');
    // requested 502, 100 available, 50 a second: 8.04 s.
    expect(e.retryAfterMs).toBeGreaterThanOrEqual(8000);
    expect(e.retryAfterMs).toBeLessThanOrEqual(8100);
    expect(e.message).toContain('THROTTLED');
  });

  it('an inventory write gets through while steady reads keep the bucket low: its SKU lookup asks only what it needs', async () => {
    // Shopify runs a query only when its whole requested cost is available. Two readers spend the bucket as fast as
    // it restores (52-point pages); a lookup that asked for 100 variants (502 points) to find one waited for a
    // bucket that never filled that far, and was THROTTLED each time it tried (the steady run of the runtime
    // benchmark's throttle part found writers that never wrote).
    await start({ maximumAvailable: 1000, restoreRate: 200 });
    manyCustomers(3000);
    const readers = [open(), open()];
    const until = Date.now() + 4_000;
    const reading = readers.map(async (c) => {
      let cursor: unknown = null;
      while (Date.now() < until) {
        try {
          cursor = (await c.read!({ stream: 'customers', cursor, limit: 25 })).cursor;
        } catch (e) {
          if (!(e instanceof ConnectorError) || e.kind !== 'throttled') throw e;
          await new Promise((r) => setTimeout(r, e.retryAfterMs));
        }
      }
    });
    await new Promise((r) => setTimeout(r, 1_500)); // the bucket spent, the readers steady
    const w = open();
    let written: WriteResult | undefined;
    let throttled = 0;
    while (!written && Date.now() < until) {
      try {
        [written] = await w.write!('inventoryLevel', [
          {
            key: 'IPOD2008PINK@487838322',
            writeId: 'w-steady',
            record: { sku: 'IPOD2008PINK', locationId: '487838322', available: 31 },
          },
        ]);
      } catch (e) {
        if (!(e instanceof ConnectorError) || e.kind !== 'throttled') throw e;
        throttled++;
        await new Promise((r) => setTimeout(r, e.retryAfterMs));
      }
    }
    await Promise.all(reading);
    expect(written).toMatchObject({ ok: true });
    expect(throttled).toBeLessThanOrEqual(1);
    const lookups = fake.calls.filter((k) => k.root === 'productVariants');
    expect(Math.max(...lookups.map((k) => k.requested))).toBeLessThan(52);
  }, 20_000);

  it('a SKU on more variants than the lookup asked for cuts no other SKU out: a full page is asked again', async () => {
    await start();
    // A product whose four variants share one SKU, stored first: a lookup of two SKUs asks for 4 variants, all its.
    const dup = structuredClone(fake.store.products[0]);
    dup.id = 'gid://shopify/Product/999';
    dup.variants.nodes = dup.variants.nodes.slice(0, 1).flatMap((v: Json) =>
      [1, 2, 3, 4].map((n) => ({
        ...v,
        id: `gid://shopify/ProductVariant/99${n}`,
        sku: 'DUP-1',
        inventoryItem: { ...(v.inventoryItem as Json), id: `gid://shopify/InventoryItem/99${n}` },
      })),
    );
    fake.store.products.unshift(dup);
    fake.touch();
    const results = await open().write!('inventoryLevel', [
      { key: 'a', writeId: 'w-a', record: { sku: 'DUP-1', locationId: '487838322', available: 1 } },
      { key: 'b', writeId: 'w-b', record: { sku: 'IPOD2008PINK', locationId: '487838322', available: 7 } },
    ]);
    expect(results[0]).toMatchObject({ ok: false, transient: false });
    expect(!results[0].ok && results[0].error).toContain('is on 4 Shopify variants');
    expect(results[1]).toMatchObject({ ok: true });
    expect(fake.calls.filter((k) => k.root === 'productVariants').map((k) => k.variables.query)).toHaveLength(2);
  });
});

describe('failures', () => {
  it('5xx and a dropped connection are transient; a 429 is throttled with its Retry-After', async () => {
    await start();
    const c = open();
    fake.fail('500');
    expect((await failureOf(c.read!({ stream: 'orders', cursor: null, limit: 10 }))).kind).toBe('transient');
    fake.fail('drop');
    expect((await failureOf(c.read!({ stream: 'orders', cursor: null, limit: 10 }))).kind).toBe('transient');
    fake.fail('429');
    const t = await failureOf(c.read!({ stream: 'orders', cursor: null, limit: 10 }));
    expect(t.kind).toBe('throttled');
    expect(t.retryAfterMs).toBe(2000);
  });

  it('a wrong token is auth (401), and no message carries it; a missing scope is ACCESS_DENIED, auth', async () => {
    await start();
    process.env[ENV] = 'shpat_wrong0000000000000000000000000';
    const e = await failureOf(open().read!({ stream: 'orders', cursor: null, limit: 10 }));
    expect(e.kind).toBe('auth');
    expect(e.status).toBe(401);
    expect(e.message).toContain('Invalid API key or access token');
    expect(e.message).not.toContain('shpat_wrong');
    await fake.close();
    await start({ scopes: ['read_orders'] });
    const denied = await failureOf(open().read!({ stream: 'customers', cursor: null, limit: 10 }));
    expect(denied.kind).toBe('auth');
    expect(denied.message).toContain('ACCESS_DENIED');
  });

  it('other GraphQL errors are permanent: first over 250, a query over 1,000 points', async () => {
    await start();
    const c = open();
    const big = await failureOf(c.graphql.gql('{ orders(first: 300) { nodes { id } } }'));
    expect(big.kind).toBe('permanent');
    expect(big.message).toContain('250');
    const costly = await failureOf(
      c.graphql.gql('{ orders(first: 250) { nodes { lineItems(first: 250) { nodes { id } } } } }'),
    );
    expect(costly.kind).toBe('permanent');
    expect(costly.message).toContain('MAX_COST_EXCEEDED');
  });

  it('a cursor Shopify no longer knows restarts the slice, losing nothing', async () => {
    await start();
    fake.store.orders.length = 0;
    fake.seedOrders(30, { from: '2026-06-01T00:00:00Z', to: '2026-06-01T00:10:00Z' });
    const c = open();
    const first = await c.read!({ stream: 'orders', cursor: null, limit: 4 });
    const broken = { ...(first.cursor as Json), token: { p: 0, c: 'not-a-cursor' } };
    const rest = await readAll(c, 'orders', broken, 4);
    const ids = new Set([...first.records, ...rest.records].map((r) => (r as Json).admin_graphql_api_id));
    expect(ids.size).toBe(30);
  });
});

describe('writes', () => {
  const level = () =>
    fake.store.inventoryLevels.find(
      (l) => l.item.sku === 'IPOD2008PINK' && l.location.id === 'gid://shopify/Location/487838322',
    );

  it('inventory: set absolutely with changeFromQuantity and an @idempotent key; a retry after a lost reply does not count twice', async () => {
    await start();
    const c = open();
    const before = level()!.quantities.find((q: Json) => q.name === 'available').quantity;
    const item = {
      key: 'IPOD2008PINK@487838322',
      writeId: 'w-1',
      record: { sku: 'IPOD2008PINK', locationId: '487838322', available: before + 5 },
    };
    fake.fail('drop-after', 1, 'inventorySetQuantities'); // applied, then the reply lost
    const lost = await c.write!('inventoryLevel', [item]).catch((e) => e);
    expect(lost).toBeInstanceOf(ConnectorError);
    expect((lost as ConnectorError).kind).toBe('transient');
    const [r] = await c.write!('inventoryLevel', [item]);
    expect(r.ok).toBe(true);
    expect(level()!.quantities.find((q: Json) => q.name === 'available').quantity).toBe(before + 5);
    const sent = fake.calls.filter((k) => k.root === 'inventorySetQuantities');
    expect(sent).toHaveLength(1); // the retry read the stock already set: nothing to send
    expect((sent[0].variables.input as Json).quantities).toEqual([
      expect.objectContaining({ quantity: before + 5, changeFromQuantity: before }),
    ]);
  });

  it('the same inventorySetQuantities sent again under its key is answered from the first, applied once', async () => {
    await start();
    const c = open();
    const l = level()!;
    const q = `mutation ($input: InventorySetQuantitiesInput!) { inventorySetQuantities(input: $input) @idempotent(key: "k-1") { userErrors { code message } } }`;
    const from = l.quantities.find((x: Json) => x.name === 'available').quantity;
    const input = {
      name: 'available',
      reason: 'correction',
      quantities: [
        { inventoryItemId: l.item.id, locationId: l.location.id, quantity: from + 1, changeFromQuantity: from },
      ],
    };
    await c.graphql.gql(q, { input });
    const again = await c.graphql.gql(q, { input });
    expect(again.inventorySetQuantities.userErrors).toEqual([]);
    expect(fake.replays).toBe(1);
    expect(l.quantities.find((x: Json) => x.name === 'available').quantity).toBe(from + 1);
  });

  it('a compare mismatch (the stock changed since read) fails the item clearly, to be retried', async () => {
    let bump = true;
    await start({
      graphqlHook: (query) => {
        // Another app sells one between the connector's read and its write.
        if (bump && query.includes('productVariants')) {
          bump = false;
          setImmediate(() => {
            const q = level()!.quantities.find((x: Json) => x.name === 'available');
            q.quantity -= 1;
          });
        }
        return undefined;
      },
    });
    const c = open();
    const [r] = await c.write!('inventoryLevel', [
      {
        key: 'k',
        writeId: 'w-2',
        record: { sku: 'IPOD2008PINK', locationId: 'gid://shopify/Location/487838322', available: 50 },
      },
    ]);
    expect(r).toMatchObject({ ok: false, transient: true });
    expect(!r.ok && r.error).toContain('CHANGE_FROM_QUANTITY_STALE');
    const [retry] = await c.write!('inventoryLevel', [
      {
        key: 'k',
        writeId: 'w-2',
        record: { sku: 'IPOD2008PINK', locationId: 'gid://shopify/Location/487838322', available: 50 },
      },
    ]);
    expect(retry.ok).toBe(true);
    expect(level()!.quantities.find((x: Json) => x.name === 'available').quantity).toBe(50);
  });

  it("inventory: an ERP's location id is counted at the connection's location, or where stockLocations maps it", async () => {
    await start();
    const at = 'gid://shopify/Location/487838322';
    const write = (settings: Json, locationId: string, available: number) =>
      open(settings).write!('inventoryLevel', [
        {
          key: `IPOD2008PINK@${locationId}`,
          writeId: `w-${available}`,
          record: { sku: 'IPOD2008PINK', locationId, available },
        },
      ]);
    const available = () => level()!.quantities.find((q: Json) => q.name === 'available').quantity;
    // NetSuite's location "1" is not Shopify's location 1: with a location of its own, the connection counts it there.
    const [a] = await write({ locationId: at }, '1', 17);
    expect(a.ok).toBe(true);
    expect(available()).toBe(17);
    const [b] = await write({ stockLocations: { 'DUB-WH': '487838322' } }, 'DUB-WH', 23);
    expect(b.ok).toBe(true);
    expect(available()).toBe(23);
    const [c] = await write({}, 'DUB-WH', 29);
    expect(c).toMatchObject({ ok: false, transient: false });
    expect(!c.ok && c.error).toContain('settings.stockLocations');
  });

  it('variant prices by SKU (productVariantsBulkUpdate); an unknown SKU and a refused price fail their item only', async () => {
    await start();
    const c = open();
    const results = await c.write!('variantPrice', [
      { key: 'a', record: { sku: 'IPOD2008PINK', amount: '189.00', currency: 'USD' } },
      { key: 'b', record: { sku: 'NOPE', amount: '1.00', currency: 'USD' } },
      { key: 'c', record: { sku: 'IPOD2008RED', amount: '-1.00', currency: 'USD' } },
    ]);
    expect(results[0].ok).toBe(true);
    expect(results[1]).toMatchObject({ ok: false, transient: false });
    expect(results[2]).toMatchObject({ ok: false, transient: false });
    expect(!results[2].ok && results[2].error).toContain('GREATER_THAN_OR_EQUAL_TO');
    const v = fake.store.products[0].variants.nodes.find((x: Json) => x.sku === 'IPOD2008PINK');
    expect(v.price).toBe('189.00');
  });

  it('products by productSet: an existing one found by SKU is updated, a new one created', async () => {
    await start();
    const c = open();
    const [updated, created, bad] = await c.write!('product', [
      {
        key: 'p1',
        record: { id: 'E1', title: 'iPod Nano', variants: [{ sku: 'IPOD2008PINK', title: 'Pink', price: '199.00' }] },
      },
      { key: 'p2', record: { id: 'E2', title: 'Trail Mug', sku: 'MUG-1', price: '12.50' } },
      { key: 'p3', record: { id: 'E3', title: '' } },
    ]);
    expect(updated).toEqual({ ok: true, targetId: fake.store.products[0].id });
    expect(created.ok).toBe(true);
    expect(fake.store.products.find((p) => p.title === 'Trail Mug')?.variants.nodes[0]).toMatchObject({
      sku: 'MUG-1',
      price: '12.50',
    });
    expect(bad.ok).toBe(false);
  });
});

describe('customers', () => {
  it('are upserted by target id or e-mail (customerUpdate), else created with their addresses; a refused one fails alone', async () => {
    await start();
    const c = open();
    const [byEmail, created, refused] = await c.write!('customer', [
      { key: 'c1', record: { externalId: 'E1', email: 'bob.norman@hostmail.com', firstName: 'Robert' } },
      {
        key: 'c2',
        record: {
          externalId: 'E2',
          email: 'ann@example.com',
          lastName: 'Lee',
          addresses: [{ line1: '1 Main St', city: 'Dublin', country: 'IE', postalCode: 'D01' }],
        },
      },
      { key: 'c3', record: { externalId: 'E3', email: 'not-an-email' } },
    ]);
    expect(byEmail).toEqual({ ok: true, targetId: 'gid://shopify/Customer/207119551' });
    expect(fake.store.customers.find((x) => x.email === 'bob.norman@hostmail.com')?.firstName).toBe('Robert');
    expect(created.ok).toBe(true);
    expect(fake.store.customers.find((x) => x.email === 'ann@example.com')?.defaultAddress).toMatchObject({
      address1: '1 Main St',
      zip: 'D01',
    });
    expect(refused).toMatchObject({ ok: false, transient: false });
    expect(!refused.ok && refused.error).toContain('Email is invalid');
  });
});

describe('lookup and deletes', () => {
  it('orders/edited names the order (order_edit.order_id): the order is fetched; a deleted one is a delete record', async () => {
    await start();
    const c = open();
    const [o] = (await c.lookup!('orders', { order_edit: { id: 1, order_id: 450789469 } })) as Json[];
    expect(o.admin_graphql_api_id).toBe('gid://shopify/Order/450789469');
    expect(await c.lookup!('orders', { id: 999 })).toEqual([
      { id: 999, admin_graphql_api_id: 'gid://shopify/Order/999', deleted: true },
    ]);
    expect(((await c.lookup!('customers', { id: 207119551 })) as Json[])[0].email).toBe('bob.norman@hostmail.com');
  });

  it('a deleted product is a delete record in the products stream (deletionEvents) and from products/delete', async () => {
    await start();
    const c = open();
    const first = await readAll(c, 'products');
    const gid = fake.store.products[0].id;
    fake.deleteProduct(gid);
    const after = await readAll(c, 'products', first.cursor);
    expect(after.records).toContainEqual(expect.objectContaining({ admin_graphql_api_id: gid, deleted: true }));
    expect(await c.lookup!('products', { id: 632910392 })).toEqual([
      { id: 632910392, admin_graphql_api_id: gid, deleted: true },
    ]);
  });
});

describe('check', () => {
  it('reports the shop, the scopes missing, the headroom and the version', async () => {
    await start({ scopes: ['read_orders', 'read_products'], ...{ maximumAvailable: 2000, restoreRate: 100 } });
    const report = await open({ apiVersion: '2026-07' }).check!(['orders', 'customers']);
    expect(report.identity).toBe('Northwind Outdoor (northwind.myshopify.com)');
    expect(report.scopes).toEqual({ granted: ['read_orders', 'read_products'], missing: ['read_customers'] });
    expect(report.rateLimit).toMatchObject({ max: 2000, unit: 'points' });
    expect(report.apiVersion?.version).toBe('2026-07');
    expect(report.apiVersion?.supportedUntil).toBe('2027-07-01');
    expect(report.streams.find((s) => s.stream === 'orders')?.ok).toBe(true);
    expect(report.streams.find((s) => s.stream === 'customers')?.ok).toBe(false);
  });

  it('a wrong token is a clear auth failure', async () => {
    await start();
    process.env[ENV] = 'shpat_wrong0000000000000000000000000';
    const e = await failureOf(open().check!(['orders']));
    expect(e.kind).toBe('auth');
    expect(e.message).toMatch(/^shopify: POST \/admin\/api\/2026-07\/graphql\.json: HTTP 401/);
  });

  it('apiVersionSupport: 12 months from the release, a warning past it and in its last 90 days', () => {
    expect(apiVersionSupport('2026-07', new Date('2026-12-01'))).toEqual({
      version: '2026-07',
      supportedUntil: '2027-07-01',
    });
    expect(apiVersionSupport('2026-01', new Date('2026-12-01')).warning).toContain('supported until 2027-01-01');
    expect(apiVersionSupport('2025-10', new Date('2026-12-01')).warning).toContain('past its 12 months');
  });
});

describe('the template order mapping, fed from GraphQL as from REST', () => {
  const mapping = () => {
    const m = compile(
      readFileSync(
        path.join(projectRoot(), 'templates/shopify-orders-to-erp/2/mappings/shopify-order.jsonata'),
        'utf8',
      ),
    );
    if (!m.ok) throw new Error(m.problem.message);
    return m.expr;
  };
  /** Instants compared as instants: GraphQL gives UTC, REST the shop's offset. */
  const instants = (o: Json): Json =>
    JSON.parse(
      JSON.stringify(o, (k, v) =>
        typeof v === 'string' && /At$/.test(k) && !Number.isNaN(Date.parse(v)) ? new Date(v).toISOString() : v,
      ),
    );

  it.each([
    ['shopify-rest/order.json', 'order'],
    ['shopify-variants/orders_create.consistent.json', 'response'],
    ['shopify-variants/orders_create.free_shipping.json', 'response'],
    ['shopify-variants/orders_create.edited.json', 'response'],
    ['shopify-variants/orders_create.tip.json', 'response'],
    ['shopify-variants/orders_create.presentment_jpy.json', 'response'],
    ['shopify-variants/orders_create.taxes_included.json', 'response'],
  ])('%s read from the fake maps as the REST payload does', async (file, at) => {
    const rest = fixture(file)[at];
    await start();
    fake.store.orders = [orderNode(rest)];
    fake.touch();
    const { records } = await readAll(open(), 'orders');
    const params = { params: { skipTestOrders: false } };
    const fromRest = instants((await mapping().evaluate(rest, params)) as Json);
    const fromGraphql = instants((await mapping().evaluate(records[0], params)) as Json);
    if (file === 'shopify-rest/order.json') {
      // The old REST order has discount_codes without discount_applications, and a TENOFF of 10.00 that its
      // total_discounts (0.00) does not count (SOURCES.md): GraphQL has no per-code amount but the allocations.
      delete fromRest.discounts;
      delete fromGraphql.discounts;
    }
    expect(fromGraphql).toEqual(fromRest);
  });

  it('convert and the selections are what the bulk reader shares: children as nodes', () => {
    const node = orderNode(fixture('shopify-rest/order.json').order);
    expect(convert('orders', node)[0].line_items).toHaveLength(3);
    expect(Object.keys(SELECTIONS).sort()).toEqual([
      'customers',
      'fulfillments',
      'inventoryLevels',
      'orders',
      'products',
      'refunds',
      'transactions',
    ]);
  });
});

describe('the fake, for the bulk-operations fake and the benchmarks', () => {
  it('graphqlHook answers first (after auth and the bucket, with cost extensions); routeHook serves other routes unauthenticated', async () => {
    await start({
      graphqlHook: (query, variables) =>
        query.includes('bulkOperationRunQuery') ? { bulkOperationRunQuery: { echo: variables.x } } : undefined,
      routeHook: (req, res) => {
        if (!req.url?.startsWith('/bulk/')) return false;
        res.writeHead(200, { 'content-type': 'application/jsonl' });
        res.end('{"id":"gid://shopify/Order/1"}\n');
        return true;
      },
    });
    const c = open();
    expect(
      await c.graphql.gql('mutation { bulkOperationRunQuery(query: "") { bulkOperation { id } } }', { x: 7 }),
    ).toEqual({
      bulkOperationRunQuery: { echo: 7 },
    });
    expect(c.graphql.throttleStatus()).toMatchObject({ maximumAvailable: FAST.maximumAvailable });
    const r = await fetch(`${fake.url}/bulk/result.jsonl`);
    expect(await r.text()).toBe('{"id":"gid://shopify/Order/1"}\n');
    process.env[ENV] = 'shpat_wrong0000000000000000000000000';
    expect(
      (await failureOf(open().graphql.gql('mutation { bulkOperationRunQuery(query: "") { bulkOperation { id } } }')))
        .kind,
    ).toBe('auth');
  });

  it('seedOrders: distinct ids, several sharing each timestamp, in the shape the order query returns', async () => {
    await start();
    const made = fake.seedOrders(9, { from: '2026-06-01T00:00:00Z', to: '2026-06-01T00:00:30Z', perTimestamp: 3 });
    expect(new Set(made.map((o) => o.id)).size).toBe(9);
    expect(new Set(made.map((o) => o.updatedAt)).size).toBe(3);
    const lines = made[0].lineItems.nodes.length;
    expect(lines).toBeGreaterThan(0);
    expect(new Set(made.flatMap((o) => o.lineItems.nodes.map((l: Json) => l.id))).size).toBe(9 * lines);
    expect(Object.keys(made[0]).sort()).toEqual(Object.keys(fake.store.orders[0]).sort());
  });
});

const SHOP = process.env.SHOPIFY_SHOP;
const TOKEN = process.env.SHOPIFY_ACCESS_TOKEN;
describe.skipIf(!SHOP || !TOKEN)('a real Shopify store (SHOPIFY_SHOP, SHOPIFY_ACCESS_TOKEN)', () => {
  it('reads one page of each stream and checks the connection', async () => {
    process.env[ENV] = TOKEN;
    const c = openShopify(
      {
        settings: {
          shop: SHOP,
          accessToken: { secretRef: `env:${ENV}` },
          bulk: false,
          ...(process.env.SHOPIFY_API_VERSION ? { apiVersion: process.env.SHOPIFY_API_VERSION } : {}),
        },
        secret: resolveSecret,
        system: 'test/shopify',
      },
      {},
    );
    for (const stream of Object.keys(SELECTIONS)) {
      const p = await c.read!({ stream, cursor: null, limit: 5 });
      for (const r of p.records as Json[]) expect(typeof r.admin_graphql_api_id).toBe('string');
    }
    const report = await c.check!(Object.keys(SELECTIONS));
    expect(report.identity).toContain('.myshopify.com');
  }, 120_000);
});
