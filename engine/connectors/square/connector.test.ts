/**
 * The square connector against the fake Square API (fake.ts) over real HTTP on 127.0.0.1: every stream read with
 * Square's page caps, the cursor contract on 20,000 orders sharing timestamps, expired cursors, failures of each
 * kind, throttling without Retry-After, idempotent writes, lookups of notification references, and the check.
 *
 * Against a real Square sandbox (skipped unless set): SQUARE_SANDBOX_ACCESS_TOKEN (a sandbox access token from the
 * Developer Dashboard) and optionally SQUARE_SANDBOX_LOCATION_IDS (comma-separated). The same reads and the check
 * then run against https://connect.squareupsandbox.com.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { receiverFor, signFor } from '../registry.js';
import { resolveSecret } from '../secrets.js';
import { fixture } from '../testing.js';
import { ConnectorError, type OpenConnector, type Page, type WriteItem } from '../types.js';
import { localBucket } from '../kit/index.js';
import { openSquare, STREAM_SCOPES, toMinor } from './connector.js';
import {
  ALL_SCOPES,
  FAKE_SQUARE_TOKEN,
  type FakeSquare,
  type FakeSquareOptions,
  startFakeSquare,
  variant,
} from './fake.js';
import { failureOf } from '../testing.js';

// biome-ignore lint/suspicious/noExplicitAny: Square's objects, read field by field
type Obj = Record<string, any>;

const ORDER: Obj = fixture('square/RetrieveOrderResponse.example.json').order;
const PAYMENT: Obj = fixture('square/PaymentUpdatedEvent.example.json').data.object.payment;
const REFUND: Obj = fixture('square/RefundCreatedEvent.example.json').data.object.refund;
const COUNT: Obj = fixture('square/BatchRetrieveInventoryCountsResponse.example.json').counts[0];
const CUSTOMER: Obj = fixture('square/SearchCustomersResponse.example.json').customers[0];
const PAYOUT: Obj = fixture('square/ListPayoutsResponse.example.json').payouts[0];
const ITEM: Obj = fixture('square/BatchUpsertCatalogObjectsResponse.example.json').objects[1]; // Coffee: 2 variations

const TOKEN_ENV = 'RSYNC_TEST_SQUARE_TOKEN';
const T0 = Date.UTC(2026, 5, 1, 9, 0, 0);
const at = (s: number) => new Date(T0 + s * 1000).toISOString();

let fakes: FakeSquare[] = [];
afterEach(async () => {
  await Promise.all(fakes.map((f) => f.close()));
  fakes = [];
});

async function fake(o: FakeSquareOptions = {}): Promise<FakeSquare> {
  const f = await startFakeSquare(o);
  fakes.push(f);
  return f;
}

function connect(f: FakeSquare, settings: Record<string, unknown> = {}, token = FAKE_SQUARE_TOKEN): OpenConnector {
  process.env[TOKEN_ENV] = token;
  return openSquare({
    settings: { baseUrl: f.url, accessToken: { secretRef: `env:${TOKEN_ENV}` }, ...settings },
    secret: resolveSecret,
    system: 'acme/square',
  });
}

const locations = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    id: `L${String(i).padStart(12, '0')}`,
    name: `Store ${i}`,
    status: 'ACTIVE',
  }));

const order = (i: number, s: number, location: string) =>
  variant(ORDER, {
    id: `ORD${String(i).padStart(6, '0')}`,
    location_id: location,
    created_at: at(s),
    updated_at: at(s),
    version: 1,
  });

/** Reads a stream to the end of its slices, as the pipeline would: the cursor of each page fed to the next read. */
async function readAll(c: OpenConnector, stream: string, cursor: unknown = null, limit = 1000) {
  const records: Obj[] = [];
  let pages = 0;
  for (;;) {
    const page: Page = await c.read!({ stream, cursor, limit });
    records.push(...(page.records as Obj[]));
    cursor = page.cursor;
    pages++;
    if (!page.more) return { records, cursor, pages };
  }
}

const searches = (f: FakeSquare, path: string) => f.calls.filter((c) => c.path === path && c.status === 200);

describe('square reads', () => {
  it('orders: every location, 10 a call, sorted by updated_at ascending, from the cursor', async () => {
    const locs = locations(23);
    const f = await fake({ locations: locs });
    const orders = Array.from({ length: 60 }, (_, i) => order(i, i, locs[i % 23].id));
    f.seed({ orders });
    const c = connect(f);
    const { records } = await readAll(c, 'orders', null, 7);
    expect(new Set(records.map((o) => o.id))).toEqual(new Set(orders.map((o) => o.id)));
    const calls = searches(f, '/v2/orders/search');
    for (const call of calls) {
      expect(call.body?.location_ids.length).toBeLessThanOrEqual(10);
      expect(call.body?.limit).toBe(7);
      expect(call.body?.query.sort).toEqual({ sort_field: 'UPDATED_AT', sort_order: 'ASC' });
    }
    // three groups of locations: 10, 10, 3
    expect(new Set(calls.map((c) => c.body?.location_ids.join()))).toHaveLength(3);
    expect(f.calls.filter((c) => c.path === '/v2/locations')).toHaveLength(1);
    // the records are Square's orders, the shape of RetrieveOrder (and of what lookup returns for order.updated)
    expect(Object.keys(records[0]).sort()).toEqual(Object.keys(orders[0]).sort());
  });

  it('orders: a later read starts from the cursor, in UTC, inclusive, and the limit is capped at 1000', async () => {
    const f = await fake();
    f.seed({ orders: [order(1, 0, 'LFAKEMAIN0001'), order(2, 100, 'LFAKESHOP0002')] });
    const c = connect(f, { locationIds: ['LFAKEMAIN0001', 'LFAKESHOP0002'] });
    const first = await readAll(c, 'orders', null, 5000);
    expect(first.records).toHaveLength(2);
    expect(searches(f, '/v2/orders/search')[0].body?.limit).toBe(1000);
    f.seed({ orders: [order(3, 120, 'LFAKEMAIN0001')] });
    const next = await readAll(c, 'orders', first.cursor);
    // 60 s of overlap: order 2 (at 100 s) is read again, order 1 (at 0 s) is not
    expect(next.records.map((o) => o.id).sort()).toEqual(['ORD000002', 'ORD000003']);
    const filter = searches(f, '/v2/orders/search').at(-1)?.body?.query.filter.date_time_filter.updated_at;
    expect(filter.start_at).toBe(at(40));
    expect(f.calls.some((c) => c.path === '/v2/locations')).toBe(false);
  });

  it('payments: one location a call (Square defaults to the main one), updated_at range, 100 a page', async () => {
    const f = await fake();
    const payments = Array.from({ length: 250 }, (_, i) =>
      variant(PAYMENT, {
        id: `PAY${i}`,
        location_id: i % 2 ? 'LFAKESHOP0002' : 'LFAKEMAIN0001',
        created_at: at(i),
        updated_at: at(i + 5),
      }),
    );
    // a payment created two years ago and updated now: ListPayments' default begin_time would hide it
    payments.push(
      variant(PAYMENT, {
        id: 'PAYOLD',
        location_id: 'LFAKEMAIN0001',
        created_at: '2024-01-01T00:00:00Z',
        updated_at: at(1000),
      }),
    );
    f.seed({ payments });
    const { records } = await readAll(connect(f), 'payments', null, 500);
    expect(new Set(records.map((p) => p.id))).toEqual(new Set(payments.map((p) => p.id)));
    const calls = searches(f, '/v2/payments');
    for (const call of calls) {
      expect(call.query?.limit).toBe('100');
      expect(call.query?.sort_field).toBe('UPDATED_AT');
      expect(call.query?.location_id).toBeDefined();
    }
    expect(new Set(calls.map((c) => c.query?.location_id))).toEqual(
      new Set(['LFAKEMAIN0001', 'LFAKESHOP0002', 'LFAKEPOPU0003']),
    );
  });

  it('refunds: all locations in one walk, 100 a page', async () => {
    const f = await fake();
    const refunds = Array.from({ length: 130 }, (_, i) =>
      variant(REFUND, {
        id: `REF${i}`,
        location_id: i % 3 ? 'LFAKESHOP0002' : 'LFAKEMAIN0001',
        created_at: at(i),
        updated_at: at(i),
      }),
    );
    f.seed({ refunds });
    const { records, pages } = await readAll(connect(f), 'refunds', null, 1000);
    expect(records.map((r) => r.id).sort()).toEqual(refunds.map((r) => r.id).sort());
    expect(pages).toBe(2);
    expect(searches(f, '/v2/refunds').every((c) => c.query?.location_id === undefined)).toBe(true);
  });

  it('payouts: by creation time, read back 14 days so that a payout paid later is seen again', async () => {
    const f = await fake({ locations: [{ id: 'L88917AVBK2S5', name: 'Main', status: 'ACTIVE' }] });
    f.seed({ payouts: [variant(PAYOUT, { created_at: at(0), updated_at: at(10), status: 'SENT' })] });
    const c = connect(f);
    const first = await readAll(c, 'payouts');
    expect(first.records).toHaveLength(1);
    f.seed({ payouts: [variant(PAYOUT, { created_at: at(0), updated_at: at(5 * 86_400), status: 'PAID' })] });
    const later = await readAll(c, 'payouts', first.cursor);
    expect(later.records.map((p) => p.status)).toEqual(['PAID']);
  });

  it('catalogItems: items, deleted ones too, and the item of a variation changed alone', async () => {
    const f = await fake();
    const coffee = variant(ITEM, { updated_at: at(0) });
    const tea = variant(ITEM, {
      id: 'TEAITEM',
      updated_at: at(0),
      is_deleted: true,
      item_data: { name: 'Tea', variations: [] },
    });
    f.seed({ catalog: [coffee, tea] });
    const c = connect(f);
    const first = await readAll(c, 'catalogItems');
    expect(first.records.map((o) => o.id).sort()).toEqual(['PJMCEBHHUS3OKDB6PYUHLCPP', 'TEAITEM']);
    expect(first.records.find((o) => o.id === 'TEAITEM')?.is_deleted).toBe(true);
    // a price change touches only the variation: its item is read again, with the new price
    const changed = structuredClone(coffee);
    changed.item_data.variations[1].updated_at = at(500);
    changed.item_data.variations[1].item_variation_data.price_money.amount = 375;
    f.seed({ catalog: [changed] });
    expect((first.cursor as { since: string }).since).toBe(at(-60));
    const later = await readAll(c, 'catalogItems', { since: at(400) });
    expect(later.records.map((o) => o.id)).toEqual(['PJMCEBHHUS3OKDB6PYUHLCPP']);
    expect(later.records[0].item_data.variations[1].item_variation_data.price_money.amount).toBe(375);
    // begin_time is exclusive at Square: the connector asks from a millisecond before the slice's start
    const body = searches(f, '/v2/catalog/search').at(-1)?.body;
    expect(body?.begin_time).toBe(new Date(T0 + 400_000 - 1).toISOString());
    expect(body?.include_deleted_objects).toBe(true);
  });

  it('inventoryCounts: by calculated_at, 1000 a page, the counts as inventory.count.updated carries them', async () => {
    const f = await fake();
    const counts = Array.from({ length: 2500 }, (_, i) =>
      variant(COUNT, { catalog_object_id: `VAR${i}`, calculated_at: at(Math.floor(i / 3)) }),
    );
    f.seed({ counts });
    const { records, pages } = await readAll(connect(f), 'inventoryCounts', null, 5000);
    expect(records).toHaveLength(2500);
    expect(pages).toBe(3);
    expect(records[0]).toEqual(counts[0]);
  });

  it('customers: the updated_at filter, 100 a page (Square refuses more)', async () => {
    const f = await fake();
    const customers = Array.from({ length: 250 }, (_, i) =>
      variant(CUSTOMER, { id: `CUST${i}`, created_at: at(i), updated_at: at(1000 - i) }),
    );
    f.seed({ customers });
    const { records, pages } = await readAll(connect(f), 'customers', null, 1000);
    expect(new Set(records.map((r) => r.id)).size).toBe(250);
    expect(pages).toBe(3);
    expect(searches(f, '/v2/customers/search').every((c) => c.body?.limit === 100)).toBe(true);
  });

  it('sends the pinned Square-Version on every call', async () => {
    const f = await fake();
    await readAll(connect(f, { apiVersion: '2025-10-16' }), 'orders');
    expect(f.calls.length).toBeGreaterThan(0);
    expect(f.calls.every((c) => c.squareVersion === '2025-10-16')).toBe(true);
  });
});

describe('the cursor contract', () => {
  it('20,000 orders sharing timestamps across page boundaries: none lost, repeats only within the overlap', async () => {
    const locs = locations(12);
    const f = await fake({ locations: locs });
    // 37 orders a second: page boundaries (1000) fall inside groups of equal updated_at
    const first = Array.from({ length: 12_000 }, (_, i) => order(i, Math.floor(i / 37), locs[i % 12].id));
    f.seed({ orders: first });
    const c = connect(f);
    const seen = new Map<string, number>();
    const run1 = await readAll(c, 'orders', null, 1000);
    for (const o of run1.records) seen.set(o.id, (seen.get(o.id) ?? 0) + 1);
    // more orders arrive, some at the very second the first run ended on
    const last = Math.floor((12_000 - 1) / 37);
    const second = Array.from({ length: 8_000 }, (_, i) =>
      order(12_000 + i, last + Math.floor(i / 37), locs[(i * 7) % 12].id),
    );
    f.seed({ orders: second });
    const since = (run1.cursor as { since: string }).since;
    const run2 = await readAll(c, 'orders', run1.cursor, 1000);
    for (const o of run2.records) seen.set(o.id, (seen.get(o.id) ?? 0) + 1);

    const all = [...first, ...second];
    expect(seen.size).toBe(20_000);
    expect([...seen.keys()].sort()).toEqual(all.map((o) => o.id).sort());
    // a repeat is an order updated at or after the second run's start: the 60 s overlap before the newest seen
    const byId = new Map(all.map((o) => [o.id, o]));
    const repeats = [...seen].filter(([, n]) => n > 1).map(([id]) => byId.get(id) as Obj);
    expect(repeats.length).toBeGreaterThan(0);
    expect(since).toBe(at(last - 60));
    for (const o of repeats) expect(Date.parse(o.updated_at)).toBeGreaterThanOrEqual(Date.parse(since));
    expect(Math.max(...seen.values())).toBe(2);
  }, 60_000);

  it('an expired cursor restarts the slice and loses nothing', async () => {
    const f = await fake();
    const orders = Array.from({ length: 50 }, (_, i) => order(i, i, 'LFAKEMAIN0001'));
    f.seed({ orders });
    const c = connect(f, { locationIds: ['LFAKEMAIN0001'] });
    const records: Obj[] = [];
    let page = await c.read!({ stream: 'orders', cursor: null, limit: 10 });
    records.push(...(page.records as Obj[]));
    page = await c.read!({ stream: 'orders', cursor: page.cursor, limit: 10 });
    records.push(...(page.records as Obj[]));
    f.expireCursors(); // every cursor handed out so far: INVALID_CURSOR
    let cursor = page.cursor;
    for (;;) {
      const p = await c.read!({ stream: 'orders', cursor, limit: 10 });
      records.push(...(p.records as Obj[]));
      cursor = p.cursor;
      if (!p.more) break;
    }
    expect(f.calls.some((x) => x.status === 400)).toBe(true);
    expect(new Set(records.map((o) => o.id))).toEqual(new Set(orders.map((o) => o.id)));
  });

  it('a cursor refused outright (INVALID_CURSOR injected) does the same', async () => {
    const f = await fake();
    f.seed({ customers: Array.from({ length: 30 }, (_, i) => variant(CUSTOMER, { id: `C${i}`, updated_at: at(i) })) });
    const c = connect(f);
    const p1 = await c.read!({ stream: 'customers', cursor: null, limit: 10 });
    f.fail(1, 'cursor', '/v2/customers/search');
    const rest = await readAll(c, 'customers', p1.cursor, 10);
    expect(new Set([...p1.records, ...rest.records].map((r) => (r as Obj).id)).size).toBe(30);
  });
});

describe('failures', () => {
  it('5xx and a dropped connection are transient', async () => {
    const f = await fake();
    const c = connect(f, { locationIds: ['LFAKEMAIN0001'] });
    f.fail(1, 500);
    const e500 = await failureOf(c.read!({ stream: 'orders', cursor: null, limit: 10 }));
    expect(e500.kind).toBe('transient');
    expect(e500.message).toContain('INTERNAL_SERVER_ERROR');
    f.fail(1, 'drop');
    const drop = await failureOf(c.read!({ stream: 'orders', cursor: null, limit: 10 }));
    expect(drop.kind).toBe('transient');
    expect(drop.message).toMatch(/network error/);
    f.fail(1, 503);
    expect((await failureOf(c.read!({ stream: 'orders', cursor: null, limit: 10 }))).kind).toBe('transient');
    // and the next call goes through
    expect((await c.read!({ stream: 'orders', cursor: null, limit: 10 })).more).toBe(false);
  });

  it('429 RATE_LIMITED is throttled: a back-off of its own (Square sends no Retry-After), or Retry-After when sent', async () => {
    const f = await fake();
    const c = connect(f, { locationIds: ['LFAKEMAIN0001'] });
    f.fail(1, 429);
    const e = await failureOf(c.read!({ stream: 'orders', cursor: null, limit: 10 }));
    expect(e.kind).toBe('throttled');
    expect(e.retryAfterMs).toBe(500);
    expect(e.message).toContain('RATE_LIMITED');
    f.fail(1, 429);
    expect((await failureOf(c.read!({ stream: 'orders', cursor: null, limit: 10 }))).retryAfterMs).toBe(1000);

    const g = await fake({ retryAfter: true });
    const d = connect(g, { locationIds: ['LFAKEMAIN0001'] });
    g.fail(1, 429);
    expect((await failureOf(d.read!({ stream: 'orders', cursor: null, limit: 10 }))).retryAfterMs).toBe(1000);
  });

  /** Customers a record a call, again and again until `until`, each throttle waited out as the pipeline does. */
  async function readCustomersUntil(c: OpenConnector, until: number): Promise<void> {
    let cursor: unknown = null;
    while (Date.now() < until) {
      try {
        const p = await c.read!({ stream: 'customers', cursor, limit: 1 });
        cursor = p.more ? p.cursor : null;
      } catch (e) {
        if (!(e instanceof ConnectorError) || e.kind !== 'throttled') throw e;
        await new Promise((r) => setTimeout(r, e.retryAfterMs));
      }
    }
  }

  it('a throttled Square sees the connector slow down: under 1 % of calls throttled once steady', async () => {
    const f = await fake({ rate: { perSecond: 40, burst: 10 } });
    f.seed({ customers: Array.from({ length: 400 }, (_, i) => variant(CUSTOMER, { id: `C${i}`, updated_at: at(i) })) });
    // the connection claims 200 requests a second: far more than this Square allows
    const c = connect(f, { rateLimit: { perSecond: 200 } });
    const started = Date.now();
    await readCustomersUntil(c, started + 7_000);
    // steady: once the pace has come down (three halvings from 200/s, each after a 429 and its back-off)
    const steady = f.calls.filter((x) => x.at - started > 3_500);
    const throttled = steady.filter((x) => x.status === 429).length;
    expect(f.throttled).toBeGreaterThan(0); // it did hit the limit at first
    expect(steady.length).toBeGreaterThan(50);
    expect(throttled / steady.length).toBeLessThan(0.01);
    const lastSecond = f.calls.filter((x) => x.at > Date.now() - 1000);
    expect(lastSecond.length).toBeLessThanOrEqual(41);
  }, 20_000);

  it('one worker throttled slows them all: four workers sharing a bucket learn the limit from one 429, not a dozen', async () => {
    // Four workers (a connector each) share one bucket, as the runtime's limiterFor gives it: the connection claims
    // 40 a second, Square allows 20. When the pace was each process's own, every worker had to meet 429s of its own
    // (three halvings each) before together they were under the limit.
    const f = await fake({ rate: { perSecond: 20, burst: 5 } });
    f.seed({ customers: Array.from({ length: 400 }, (_, i) => variant(CUSTOMER, { id: `C${i}`, updated_at: at(i) })) });
    const bucket = localBucket(40, 10);
    const workers = Array.from({ length: 4 }, () =>
      openSquare({
        settings: { baseUrl: f.url, accessToken: { secretRef: `env:${TOKEN_ENV}` }, rateLimit: { perSecond: 40 } },
        secret: resolveSecret,
        system: 'acme/square',
        limiter: () => bucket,
      }),
    );
    process.env[TOKEN_ENV] = FAKE_SQUARE_TOKEN;
    const started = Date.now();
    await Promise.all(workers.map((c) => readCustomersUntil(c, started + 6_000)));
    expect(f.throttled).toBeGreaterThan(0);
    expect(f.throttled).toBeLessThanOrEqual(4);
    // and they still use most of what Square allows: at least half of its 20 a second over the last 4 s
    const late = f.calls.filter((x) => x.at - started > 2_000 && x.status === 200);
    expect(late.length).toBeGreaterThan(40);
  }, 20_000);

  it('a wrong token is auth, and the message carries no secret', async () => {
    const f = await fake();
    const wrong = 'EAAAl-not-the-right-token-9f8e7d6c5b4a';
    const c = connect(f, {}, wrong);
    const e = await failureOf(c.read!({ stream: 'orders', cursor: null, limit: 10 }));
    expect(e.kind).toBe('auth');
    expect(e.message).toContain('UNAUTHORIZED');
    expect(e.message).not.toContain(wrong);
    const check = await failureOf(c.check!(['orders']));
    expect(check.kind).toBe('auth');
    expect(check.message).not.toContain(wrong);
  });

  it('a missing permission is auth, naming it', async () => {
    const f = await fake({ scopes: ALL_SCOPES.filter((s) => s !== 'ORDERS_READ') });
    const e = await failureOf(connect(f).read!({ stream: 'orders', cursor: null, limit: 10 }));
    expect(e.kind).toBe('auth');
    expect(e.message).toContain('INSUFFICIENT_SCOPES');
    expect(e.message).toContain('ORDERS_READ');
  });
});

describe('square writes', () => {
  const catalog = () => [structuredClone(ITEM)];
  const level = (sku: string, available: number, locationId = 'LFAKEMAIN0001', updatedAt?: string) => ({
    sku,
    locationId,
    available,
    ...(updatedAt ? { updatedAt } : {}),
  });
  const withSkus = (item: Obj): Obj => {
    const o = structuredClone(item);
    o.item_data.variations[0].item_variation_data.sku = 'COF-REG';
    o.item_data.variations[1].item_variation_data.sku = 'COF-LRG';
    return o;
  };
  const wi = (key: string, record: Obj, writeId?: string): WriteItem => ({ key, record, writeId });

  it('inventory: a PHYSICAL_COUNT per level, keyed by the write id; a retry applies once', async () => {
    const f = await fake();
    f.seed({ catalog: [withSkus(catalog()[0])] });
    const c = connect(f);
    const item = wi('inventory-COF-REG@LFAKEMAIN0001', level('COF-REG', 12, 'LFAKEMAIN0001', at(30)), 'a'.repeat(40));
    expect(await c.write!('inventoryCount', [item])).toEqual([
      { ok: true, targetId: 'OTYDX45SPG7LJQUVCBZI4INH@LFAKEMAIN0001' },
    ]);
    // the same write again (a retry, or its repeat after a crash): Square answers with its first response
    expect(await c.write!('inventoryCount', [item])).toEqual([
      { ok: true, targetId: 'OTYDX45SPG7LJQUVCBZI4INH@LFAKEMAIN0001' },
    ]);
    expect(f.state.changes).toHaveLength(1);
    const sent = searches(f, '/v2/inventory/changes/batch-create').map((x) => x.body);
    expect(sent[0]?.idempotency_key).toBe('a'.repeat(40));
    expect(sent[0]?.changes[0]).toEqual({
      type: 'PHYSICAL_COUNT',
      physical_count: {
        reference_id: 'a'.repeat(40),
        catalog_object_id: 'OTYDX45SPG7LJQUVCBZI4INH',
        state: 'IN_STOCK',
        location_id: 'LFAKEMAIN0001',
        quantity: '12',
        occurred_at: at(30),
      },
    });
    expect(f.state.counts.get('OTYDX45SPG7LJQUVCBZI4INH|LFAKEMAIN0001|IN_STOCK')?.quantity).toBe('12');
  });

  it('inventory: a repeat whose body differs (no updatedAt: another occurred_at) meets IDEMPOTENCY_KEY_REUSED and is still applied once', async () => {
    const f = await fake();
    f.seed({ catalog: [withSkus(catalog()[0])] });
    const c = connect(f);
    const item = wi('k', level('COF-LRG', 3), 'b'.repeat(40));
    expect((await c.write!('inventoryCount', [item]))[0].ok).toBe(true);
    await new Promise((r) => setTimeout(r, 5));
    expect(await c.write!('inventoryCount', [item])).toEqual([
      { ok: true, targetId: 'GZDA3JB37FYVOPI4AOEBOITI@LFAKEMAIN0001' },
    ]);
    expect(f.calls.filter((x) => x.status === 400)).toHaveLength(1);
    expect(f.state.changes).toHaveLength(1);
  });

  it('inventory: one bad record fails alone; an ERP location maps to Square locations', async () => {
    const f = await fake();
    f.seed({ catalog: [withSkus(catalog()[0])] });
    const c = connect(f, { stockLocations: { 'DUB-WH': ['LFAKEMAIN0001', 'LFAKESHOP0002'] } });
    const results = await c.write!('inventoryCount', [
      wi('1', level('COF-REG', 5, 'DUB-WH', at(1)), 'c'.repeat(40)),
      wi('2', level('NO-SUCH-SKU', 5, 'DUB-WH', at(1)), 'd'.repeat(40)),
      wi('3', level('COF-LRG', 7, 'NOWHERE', at(1)), 'e'.repeat(40)),
      wi('4', level('COF-LRG', 9, 'LFAKESHOP0002', at(1)), 'f'.repeat(40)),
    ]);
    expect(results[0]).toEqual({ ok: true, targetId: 'OTYDX45SPG7LJQUVCBZI4INH@LFAKEMAIN0001,LFAKESHOP0002' });
    expect(results[1]).toMatchObject({ ok: false, transient: false, error: expect.stringContaining('NO-SUCH-SKU') });
    expect(results[2]).toMatchObject({ ok: false, error: expect.stringContaining('settings.stockLocations') });
    expect(results[3]).toEqual({ ok: true, targetId: 'GZDA3JB37FYVOPI4AOEBOITI@LFAKESHOP0002' });
    // one request for the two good records (three changes), under a key made from their write ids
    const sent = searches(f, '/v2/inventory/changes/batch-create');
    expect(sent).toHaveLength(1);
    expect(sent[0].body?.changes).toHaveLength(3);
    expect(sent[0].body?.idempotency_key).toMatch(/^rsync-[0-9a-f]{40}$/);
  });

  it('inventory: a request Square refuses is split to find the record it refuses', async () => {
    const f = await fake();
    f.seed({ catalog: [withSkus(catalog()[0])] });
    const c = connect(f, { locationIds: ['LFAKEMAIN0001', 'LFAKEGONE0009'] });
    const results = await c.write!('inventoryCount', [
      wi('1', level('COF-REG', 5, 'LFAKEMAIN0001', at(1)), '1'.repeat(40)),
      wi('2', level('COF-LRG', 5, 'LFAKEGONE0009', at(1)), '2'.repeat(40)),
    ]);
    expect(results[0]).toEqual({ ok: true, targetId: 'OTYDX45SPG7LJQUVCBZI4INH@LFAKEMAIN0001' });
    expect(results[1]).toMatchObject({ ok: false, transient: false, error: expect.stringContaining('INVALID_VALUE') });
  });

  it('catalog items: created with their variations, then updated in place; a retry applies once', async () => {
    const f = await fake();
    const c = connect(f);
    const product = {
      id: 'ERP-1',
      title: 'Oak table',
      description: 'Solid oak',
      currency: 'EUR',
      variants: [
        { sku: 'OAK-S', title: 'Small', price: '199.00' },
        { sku: 'OAK-L', title: 'Large', price: '299.50' },
      ],
    };
    const created = await c.write!('catalogItem', [wi('product-ERP-1', product, '3'.repeat(40))]);
    expect(created[0].ok).toBe(true);
    const id = (created[0] as { targetId: string }).targetId;
    expect(id).toMatch(/^FAKE/);
    // the same write again: IDEMPOTENCY_KEY_REUSED or Square's first answer, never a second item
    expect(await c.write!('catalogItem', [wi('product-ERP-1', product, '3'.repeat(40))])).toEqual([
      { ok: true, targetId: id },
    ]);
    expect(f.state.catalog.size).toBe(1);
    const item = f.state.catalog.get(id) as Obj;
    expect(item.item_data.variations.map((v: Obj) => v.item_variation_data.price_money)).toEqual([
      { amount: 19900, currency: 'EUR' },
      { amount: 29950, currency: 'EUR' },
    ]);
    // the next write of the product updates the same item and variations (found by SKU), with their versions
    const renamed = { ...product, title: 'Oak dining table' };
    expect(await c.write!('catalogItem', [wi('product-ERP-1', renamed, '4'.repeat(40))])).toEqual([
      { ok: true, targetId: id },
    ]);
    expect(f.state.catalog.size).toBe(1);
    expect((f.state.catalog.get(id) as Obj).item_data.name).toBe('Oak dining table');
    const upsert = searches(f, '/v2/catalog/batch-upsert').at(-1)?.body;
    expect(upsert?.idempotency_key).toBe('4'.repeat(40));
    expect(upsert?.batches[0].objects[0].version).toBe(item.version);
  });

  it('item prices: the variation found by SKU gets the price; price lists are refused', async () => {
    const f = await fake();
    f.seed({ catalog: [withSkus(catalog()[0])] });
    const c = connect(f);
    const results = await c.write!('itemPrice', [
      wi('p1', { sku: 'COF-LRG', amount: '3.75', currency: 'USD' }, '5'.repeat(40)),
      wi('p2', { sku: 'COF-REG', amount: '2.5', currency: 'USD', priceList: 'wholesale' }, '6'.repeat(40)),
      wi('p3', { sku: 'COF-REG', amount: '2.505', currency: 'USD' }, '7'.repeat(40)),
    ]);
    expect(results[0]).toEqual({ ok: true, targetId: 'GZDA3JB37FYVOPI4AOEBOITI' });
    expect(results[1]).toMatchObject({ ok: false, error: expect.stringContaining('price lists') });
    expect(results[2]).toMatchObject({ ok: false, error: expect.stringContaining('more decimals') });
    const coffee = f.state.catalog.get('PJMCEBHHUS3OKDB6PYUHLCPP') as Obj;
    expect(coffee.item_data.variations[1].item_variation_data.price_money).toEqual({ amount: 375, currency: 'USD' });
  });

  it('money: decimal strings to minor units, by the currency', () => {
    expect(toMinor('12.50', 'EUR')).toBe(1250);
    expect(toMinor('550', 'JPY')).toBe(550);
    expect(toMinor('1.005', 'KWD')).toBe(1005);
    expect(toMinor('1.5', 'JPY')).toMatch(/more decimals/);
  });
});

describe('lookup', () => {
  it('order.updated carries a reference: the order is fetched by id (BatchRetrieveOrders)', async () => {
    const f = await fake();
    const o = order(7, 10, 'LFAKEMAIN0001');
    o.version = 4;
    f.seed({ orders: [o] });
    const c = connect(f);
    // Square's order.updated, received and verified by the square receiver: its record is data.object.order_updated
    const url = 'https://hooks.example.com/hooks/acme/square';
    const body = Buffer.from(
      JSON.stringify({
        merchant_id: 'MLFAKE0RSYNC1',
        type: 'order.updated',
        event_id: '4b8e5c91-4d2a-4f5e-9a57-2f1c0b6d7e21',
        created_at: at(11),
        data: {
          type: 'order_updated',
          id: o.id,
          object: {
            order_updated: {
              created_at: at(10),
              location_id: 'LFAKEMAIN0001',
              order_id: o.id,
              state: 'OPEN',
              updated_at: at(10),
              version: 4,
            },
          },
        },
      }),
    );
    const settings = { webhookSignatureKey: 'sig-key-for-tests', notificationUrl: url };
    const receiver = receiverFor('square', { settings, secret: resolveSecret, system: 'acme/square' }, {});
    const received = receiver?.receive({
      body,
      headers: signFor('square', 'sig-key-for-tests', body, { notificationUrl: url }),
      url: '/hooks/acme/square',
    });
    const reference = received?.records[0] as Record<string, unknown>;
    expect(reference.order_id).toBe(o.id);
    expect(await c.lookup!('orders', reference)).toEqual([o]);
    expect(searches(f, '/v2/orders/batch-retrieve')[0].body).toEqual({
      location_id: 'LFAKEMAIN0001',
      order_ids: [o.id],
    });
    // a version Square has not made readable yet: transient, to be asked again
    const ahead = await failureOf(c.lookup!('orders', { ...reference, version: 5 }));
    expect(ahead.kind).toBe('transient');
    // gone: nothing
    expect(await c.lookup!('orders', { order_id: 'NOPE', location_id: 'LFAKEMAIN0001' })).toEqual([]);
  });

  it('catalog.version.updated: the items changed around that time', async () => {
    const f = await fake();
    f.seed({ catalog: [variant(ITEM, { updated_at: at(100) })] });
    const items = await connect(f).lookup!('catalogItems', { updated_at: at(100) });
    expect(items.map((i) => (i as Obj).id)).toEqual(['PJMCEBHHUS3OKDB6PYUHLCPP']);
  });
});

describe('check', () => {
  it('identity, permissions against the streams, the Square-Version, one page of each stream', async () => {
    const f = await fake({ scopes: ALL_SCOPES.filter((s) => s !== 'CUSTOMERS_READ') });
    f.seed({ orders: [order(1, 0, 'LFAKEMAIN0001')] });
    const report = await connect(f).check!(['orders', 'customers']);
    expect(report.identity).toBe('Fake Square Seller (merchant MLFAKE0RSYNC1, US)');
    expect(report.apiVersion).toEqual({ version: '2026-07-15' });
    expect(report.scopes?.missing).toEqual(['CUSTOMERS_READ']);
    expect(report.streams[0]).toEqual({ stream: 'orders', ok: true, records: 1 });
    expect(report.streams[1]).toMatchObject({
      stream: 'customers',
      ok: false,
      error: expect.stringContaining('INSUFFICIENT_SCOPES'),
    });
    expect(report.notes).toContain('the access token does not expire (a personal access token)');
    expect(f.calls.some((c) => c.path === '/oauth2/token/status')).toBe(true);
  });

  it('warns of an old Square-Version', async () => {
    const f = await fake();
    const report = await connect(f, { apiVersion: '2023-01-19' }).check!([]);
    expect(report.apiVersion?.warning).toContain('more than a year older');
  });
});

const SANDBOX_TOKEN = process.env.SQUARE_SANDBOX_ACCESS_TOKEN;
describe.skipIf(!SANDBOX_TOKEN)('against the Square sandbox (SQUARE_SANDBOX_ACCESS_TOKEN)', () => {
  const sandbox = () =>
    openSquare({
      settings: {
        environment: 'sandbox',
        accessToken: SANDBOX_TOKEN,
        ...(process.env.SQUARE_SANDBOX_LOCATION_IDS
          ? { locationIds: process.env.SQUARE_SANDBOX_LOCATION_IDS.split(',') }
          : {}),
      },
      secret: resolveSecret,
      system: 'sandbox/square',
    });

  it('checks the connection', async () => {
    const report = await sandbox().check!(Object.keys(STREAM_SCOPES));
    expect(report.identity).toBeTruthy();
    for (const s of report.streams) expect(s, s.error).toMatchObject({ ok: true });
  }, 60_000);

  it.each(Object.keys(STREAM_SCOPES))(
    'reads a page of %s',
    async (stream) => {
      const page = await sandbox().read!({ stream, cursor: null, limit: 50 });
      expect(Array.isArray(page.records)).toBe(true);
    },
    60_000,
  );
});
