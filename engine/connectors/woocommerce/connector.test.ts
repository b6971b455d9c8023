/**
 * The WooCommerce connector against its fake (fake.ts: real HTTP on 127.0.0.1, WooCommerce's documented behaviour),
 * fed with WooCommerce's own payloads (test/fixtures/woocommerce, from the REST API docs).
 *
 * A real store: set WOOCOMMERCE_URL (https://…), WOOCOMMERCE_CONSUMER_KEY and WOOCOMMERCE_CONSUMER_SECRET (a Read
 * key is enough) and the last suite reads one slice of each stream and runs the connection check against it. It
 * writes nothing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { resolveSecret } from '../secrets.js';
import { fixture } from '../testing.js';
import { ConnectorError, type OpenConnector, type Page, type WriteItem } from '../types.js';
import { openWooCommerce } from './connector.js';
import { clones, type FakeWoo, type FakeWooOptions, startFakeWoo, wooTime } from './fake.js';
import { failureOf } from '../testing.js';

const KEY = 'ck_3f9a1c7e5b2d4f6a8c0e1b3d5f7a9c2e4b6d8f01';
const SECRET = 'cs_8e2c4a6f0b1d3e5f7a9c1e3b5d7f9a2c4e6b8d03';
process.env.WOO_TEST_CK = KEY;
process.env.WOO_TEST_CS = SECRET;

const ORDER = fixture('woocommerce/order.retrieve.json');
const REFUND = fixture('woocommerce/order_refund.retrieve.json');
const PRODUCT = fixture('woocommerce/product.retrieve.json');
const VARIATION = fixture('woocommerce/product_variation.retrieve.json');
const CUSTOMER = fixture('woocommerce/customer.retrieve.json');

const T0 = Date.UTC(2026, 5, 1, 12, 0, 0);

let fakes: FakeWoo[] = [];
afterEach(async () => {
  await Promise.all(fakes.map((f) => f.close()));
  fakes = [];
});

async function fake(o: FakeWooOptions = {}): Promise<FakeWoo> {
  const f = await startFakeWoo({ consumerKey: KEY, consumerSecret: SECRET, ...o });
  fakes.push(f);
  return f;
}

function open(f: FakeWoo, settings: Record<string, unknown> = {}): OpenConnector {
  return openWooCommerce({
    settings: {
      url: f.url,
      consumerKey: { secretRef: 'env:WOO_TEST_CK' },
      consumerSecret: { secretRef: 'env:WOO_TEST_CS' },
      rateLimit: { perSecond: 10_000, burst: 10_000 },
      ...settings,
    },
    secret: resolveSecret,
    system: 'acme/woo',
  });
}

/** One slice: pages until `more` is false. */
async function slice(c: OpenConnector, stream: string, cursor: unknown = null, limit = 250) {
  const records: Record<string, unknown>[] = [];
  let pages = 0;
  for (;;) {
    const p: Page = await c.read!({ stream, cursor, limit });
    records.push(...(p.records as Record<string, unknown>[]));
    cursor = p.cursor;
    pages++;
    if (!p.more) break;
  }
  return { records, cursor, pages };
}

const ids = (rs: Record<string, unknown>[]) => rs.map((r) => Number(r.id));

const item = (key: string, record: Record<string, unknown>, extra: Partial<WriteItem> = {}): WriteItem => ({
  key,
  record,
  writeId: `w-${key}`,
  ...extra,
});

describe('reads', () => {
  it('reads each stream end to end, 100 a page at most, in the shape its webhook carries', async () => {
    const f = await fake();
    f.seed('orders', clones(ORDER, 250, { firstId: 1000, start: T0 }));
    f.seed('products', clones(PRODUCT, 130, { firstId: 5000, start: T0, vary: (r, i) => (r.sku = `P-${i}`) }));
    f.seed(
      'variations',
      clones(VARIATION, 120, {
        firstId: 7000,
        start: T0,
        vary: (r, i) => Object.assign(r, { sku: `V-${i}`, parent_id: 5000 }),
      }),
    );
    f.seed(
      'customers',
      clones(CUSTOMER, 105, { firstId: 20, start: T0, vary: (r, i) => (r.email = `c${i}@example.com`) }),
    );
    const c = open(f);
    for (const [stream, n] of [
      ['orders', 250],
      ['products', 130],
      ['variations', 120],
      ['customers', 105],
    ] as const) {
      const { records, pages } = await slice(c, stream);
      expect(new Set(ids(records)).size, stream).toBe(n);
      expect(pages, stream).toBe(Math.ceil(n / 100));
    }
    const lists = f.calls.filter((x) => x.method === 'GET' && x.path.startsWith('/wp-json/wc/v3/'));
    expect(lists.every((x) => Number(x.query.per_page) <= 100)).toBe(true);
    expect(
      lists
        .filter((x) => x.path.endsWith('/orders'))
        .every((x) => x.query.orderby === 'modified' && x.query.order === 'asc' && x.query.dates_are_gmt === 'true'),
    ).toBe(true);
    // The order is the REST resource itself, as order.created delivers it.
    const { records } = await slice(c, 'orders', null, 1);
    expect(Object.keys(records[0]).sort()).toEqual(Object.keys(ORDER).sort());
  });

  it('sends times in UTC without an offset (WordPress would shift one carrying "Z" to the site timezone), inclusive of since', async () => {
    const f = await fake({ siteOffsetMinutes: -180 });
    f.seed('orders', clones(ORDER, 10, { firstId: 1, start: T0, stepMs: 60_000 }));
    const c = open(f);
    const since = new Date(T0 + 5 * 60_000).toISOString();
    const { records } = await slice(c, 'orders', { since });
    expect(ids(records)).toEqual([6, 7, 8, 9, 10]);
    const q = f.calls.find((x) => x.path.endsWith('/orders'))?.query;
    expect(q?.modified_after).toBe(wooTime(T0 + 5 * 60_000 - 1000));
    expect(q?.modified_after).not.toMatch(/Z|[+-]\d\d:\d\d$/);
  });

  it('reads refunds from /refunds with their order id and the order currency, one orders request per page', async () => {
    const f = await fake();
    f.seed('orders', [
      { ...ORDER, id: 723, currency: 'EUR' },
      { ...ORDER, id: 724, currency: 'JPY' },
    ]);
    f.seed(
      'refunds',
      clones(REFUND, 150, { firstId: 800, start: T0, vary: (r, i) => (r.parent_id = i % 2 ? 724 : 723) }),
    );
    const c = open(f);
    const { records } = await slice(c, 'refunds');
    expect(records).toHaveLength(150);
    expect(records[0]).toMatchObject({ id: 800, order_id: 723, currency: 'EUR', amount: '10.00' });
    expect(records[1]).toMatchObject({ id: 801, order_id: 724, currency: 'JPY' });
    const orderCalls = f.calls.filter((x) => x.path === '/wp-json/wc/v3/orders');
    expect(orderCalls).toHaveLength(1); // the second page's orders are cached
    expect(f.calls.find((x) => x.path.endsWith('/refunds'))?.query).toMatchObject({ orderby: 'date', order: 'asc' });
  });

  it('reads refunds order by order before WooCommerce 9.0, and says which version variations need', async () => {
    const f = await fake({ version: '8.9.3' });
    f.seed('orders', [
      { ...ORDER, id: 723, currency: 'EUR', refunds: [{ id: 726, reason: '', total: '-10.00' }] },
      { ...ORDER, id: 724, currency: 'EUR' },
    ]);
    f.seed('refunds', [{ ...REFUND, parent_id: 723 }]);
    const c = open(f);
    const { records } = await slice(c, 'refunds');
    expect(records).toEqual([expect.objectContaining({ id: 726, order_id: 723, currency: 'EUR', amount: '10.00' })]);
    expect(f.calls.filter((x) => x.path.includes('/refunds')).map((x) => x.path)).toEqual([
      '/wp-json/wc/v3/refunds',
      '/wp-json/wc/v3/orders/723/refunds',
    ]);
    const e = await failureOf(slice(c, 'variations'));
    expect(e.kind).toBe('permanent');
    expect(e.message).toMatch(/WooCommerce 10\.3 or later/);
  });

  it('loses nothing of 20,000 orders sharing timestamps across pages while orders are edited mid-read; repeats only within the overlap window', async () => {
    const f = await fake();
    const N = 20_000;
    // 7 orders a second: every page boundary (100) falls inside a second.
    f.seed('orders', clones(ORDER, N, { firstId: 1, start: T0, perTimestamp: 7 }));
    const touched = new Map<number, string>();
    let lists = 0;
    const later = T0 + 10 * 86_400_000;
    f.onList = () => {
      // Every 9th page, an order not read yet and one already read are edited (each moves to the end).
      if (++lists % 9 !== 0) return;
      for (const id of [1 + ((lists * 7919) % N), 1 + ((lists * 104729) % N)]) {
        const at = later + lists * 1000;
        f.touch('orders', id, { status: 'completed' }, at);
        touched.set(id, wooTime(at));
      }
    };
    const c = open(f);
    const first = await slice(c, 'orders', null, 100);
    f.onList = undefined;
    const second = await slice(c, 'orders', first.cursor, 100);
    const all = [...first.records, ...second.records];
    expect(new Set(ids(all)).size).toBe(N);
    // Every edited order's last version was read.
    for (const [id, at] of touched) {
      const versions = all.filter((r) => r.id === id).map((r) => r.date_modified_gmt);
      expect(versions, `order ${id}`).toContain(at);
    }
    // Within a slice nothing is read twice but an edited order's new version.
    const seen = new Map<number, number>();
    for (const id of ids(first.records)) seen.set(id, (seen.get(id) ?? 0) + 1);
    const twice = [...seen].filter(([, n]) => n > 1).map(([id]) => id);
    expect(twice.every((id) => touched.has(id))).toBe(true);
    // The next slice re-reads only the overlap window before the newest record.
    const high = Math.max(...first.records.map((r) => Date.parse(`${r.date_modified_gmt}Z`)));
    expect(second.records.every((r) => Date.parse(`${r.date_modified_gmt}Z`) >= high - 60_000)).toBe(true);
    expect(second.records.length).toBeLessThanOrEqual(
      all.filter((r) => Date.parse(`${r.date_modified_gmt}Z`) >= high - 60_000).length,
    );
  }, 60_000);

  it('reads more than a page of orders that share one second, and records of that second edited away do not shift it', async () => {
    const f = await fake();
    f.seed('orders', clones(ORDER, 450, { firstId: 1, start: T0, perTimestamp: 450 }));
    let lists = 0;
    f.onList = () => {
      // After the second page, 30 orders already read leave the second (edited): every offset moves by 30.
      if (++lists === 2) for (let id = 1; id <= 30; id++) f.touch('orders', id, {}, T0 + 3_600_000);
    };
    const c = open(f);
    const { records } = await slice(c, 'orders', null, 100);
    expect(new Set(ids(records)).size).toBe(450);
  });

  it('an unreadable page position restarts its slice and loses nothing', async () => {
    const f = await fake();
    f.seed('orders', clones(ORDER, 300, { firstId: 1, start: T0, perTimestamp: 3 }));
    const c = open(f);
    const p1 = await c.read!({ stream: 'orders', cursor: null, limit: 100 });
    const broken = { ...(p1.cursor as Record<string, unknown>), token: 'page=2' };
    const rest = await slice(c, 'orders', broken, 100);
    expect(new Set([...ids(p1.records as Record<string, unknown>[]), ...ids(rest.records)]).size).toBe(300);
    expect(rest.records[0].id).toBe(1); // the slice began again
  });

  it('walks customers by id with overlapping offsets: customers deleted mid-walk shift nothing past it', async () => {
    const f = await fake();
    f.seed(
      'customers',
      clones(CUSTOMER, 330, { firstId: 1, start: T0, vary: (r, i) => (r.email = `c${i}@example.com`) }),
    );
    let lists = 0;
    f.onList = () => {
      if (++lists === 1) for (let id = 1; id <= 12; id++) f.remove('customers', id);
    };
    const c = open(f);
    const { records } = await slice(c, 'customers', null, 100);
    expect(ids(records)).toEqual(Array.from({ length: 330 }, (_, i) => i + 1).filter((id) => id > 12 || id <= 100));
    // A second slice keeps only those modified since the first's newest, less the overlap.
    f.touch('customers', 200, { first_name: 'Jo' }, T0 + 86_400_000);
    const again = await slice(c, 'customers', { since: new Date(T0 + 3_600_000).toISOString() }, 100);
    expect(ids(again.records)).toEqual([200]);
  });
});

describe('failures', () => {
  it('a 5xx and a dropped connection are transient; a 429 is throttled with its Retry-After', async () => {
    const f = await fake();
    f.seed('orders', clones(ORDER, 3, { firstId: 1, start: T0 }));
    const c = open(f);
    f.fail(1, 500);
    const e500 = await failureOf(c.read!({ stream: 'orders', cursor: null, limit: 10 }));
    expect([e500.kind, e500.transient, e500.status]).toEqual(['transient', true, 500]);
    f.fail(1, 'drop');
    const drop = await failureOf(c.read!({ stream: 'orders', cursor: null, limit: 10 }));
    expect([drop.kind, drop.transient]).toEqual(['transient', true]);
    const limited = await fake({ rateLimit: { perSecond: 1, burst: 1 } });
    const l = open(limited);
    await l.read!({ stream: 'orders', cursor: null, limit: 10 });
    const e429 = await failureOf(l.read!({ stream: 'orders', cursor: null, limit: 10 }));
    expect([e429.kind, e429.retryAfterMs]).toEqual(['throttled', 1000]);
    expect((await c.read!({ stream: 'orders', cursor: null, limit: 10 })).records).toHaveLength(3);
  });

  it('a throttled store sees the connector wait out Retry-After and then stay under the limit', async () => {
    const f = await fake({ rateLimit: { perSecond: 10, burst: 10 } });
    f.seed('orders', clones(ORDER, 5, { firstId: 1, start: T0 }));
    // The partner set 8/s for this host, with a burst larger than the host's: the first second overruns it.
    const c = open(f, { rateLimit: { perSecond: 8, burst: 25 } });
    const until = Date.now() + 6000;
    let throttled = 0;
    while (Date.now() < until) {
      try {
        await c.read!({ stream: 'orders', cursor: null, limit: 5 });
      } catch (e) {
        if (!(e instanceof ConnectorError) || e.kind !== 'throttled') throw e;
        throttled++;
      }
    }
    const done = f.calls.filter((x) => x.status !== 0);
    const firstThrottle = done.findIndex((x) => x.status === 429);
    expect(firstThrottle).toBeGreaterThan(0);
    const steady = done.slice(done.findLastIndex((x) => x.status === 429) + 1);
    expect(steady.length).toBeGreaterThan(25);
    expect(done.filter((x) => x.status === 429).length / done.length).toBeLessThan(0.1);
    // Once the burst is spent, fewer than 1 % of the calls are throttled.
    const afterBurst = done.slice(30);
    expect(afterBurst.filter((x) => x.status === 429).length).toBeLessThanOrEqual(afterBurst.length * 0.01);
    expect(throttled).toBeGreaterThan(0);
    // After each 429 nothing reached the store before its Retry-After (1 s) was out.
    for (const [n, x] of done.entries()) {
      if (x.status !== 429) continue;
      const next = done[n + 1];
      if (next) expect(next.at - x.at).toBeGreaterThanOrEqual(950);
    }
  }, 20_000);

  it('a wrong secret or an unknown key is an auth failure whose message carries no secret', async () => {
    const f = await fake();
    for (const [ck, cs, code] of [
      [KEY, 'cs_wrong_5c7e9a1b3d5f7e9a1c3e5b7d9f1a3c5e7b9d', 'woocommerce_rest_authentication_error'],
      ['ck_unknown_1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f', SECRET, 'woocommerce_rest_cannot_view'],
    ]) {
      process.env.WOO_TEST_CK2 = ck;
      process.env.WOO_TEST_CS2 = cs;
      for (const queryStringAuth of [false, true]) {
        const c = open(f, {
          consumerKey: { secretRef: 'env:WOO_TEST_CK2' },
          consumerSecret: { secretRef: 'env:WOO_TEST_CS2' },
          queryStringAuth,
        });
        const e = await failureOf(c.read!({ stream: 'orders', cursor: null, limit: 10 }));
        expect([e.kind, e.status]).toEqual(['auth', 401]);
        expect(e.message).toContain(code);
        for (const s of [ck, cs, Buffer.from(`${ck}:${cs}`).toString('base64')]) expect(e.message).not.toContain(s);
      }
    }
  });

  it('refuses a plain-http store URL that is not loopback (WooCommerce wants OAuth 1.0a signatures there)', () => {
    expect(() =>
      openWooCommerce({
        settings: { url: 'http://shop.example.com', consumerKey: KEY, consumerSecret: SECRET },
        secret: resolveSecret,
        system: 'a/b',
      }),
    ).toThrow(/OAuth 1\.0a/);
  });
});

describe('writes', () => {
  it('creates a product once: the same write again (a crash before the ledger knew its id) updates it by SKU', async () => {
    const f = await fake();
    const c = open(f);
    const shirt = {
      id: 'erp-1',
      title: 'Premium Quality',
      sku: 'PQ-1',
      status: 'active',
      variants: [{ sku: 'PQ-1', price: '21.99', compareAtPrice: '25.00' }],
    };
    const [a] = await c.write!('product', [item('product-erp-1', shirt)]);
    const [b] = await c.write!('product', [item('product-erp-1', shirt)]);
    expect(a.ok && b.ok && a.targetId === b.targetId).toBe(true);
    const made = f.all('products').filter((p) => p.sku === 'PQ-1');
    expect(made).toHaveLength(1);
    expect(made[0]).toMatchObject({
      name: 'Premium Quality',
      type: 'simple',
      status: 'publish',
      regular_price: '25.00',
      sale_price: '21.99',
      price: '21.99',
    });
    // With the ledger's target id the SKU can change.
    const [u] = await c.write!('product', [
      item(
        'product-erp-1',
        { ...shirt, sku: 'PQ-2', variants: [{ sku: 'PQ-2', price: '19.00' }] },
        { targetId: (a as { targetId: string }).targetId },
      ),
    ]);
    expect(u.ok).toBe(true);
    expect(f.all('products').map((p) => p.sku)).toEqual(['PQ-2']);
  });

  it('a variable product and its variations, written twice, exist once', async () => {
    const f = await fake();
    const c = open(f);
    const tee = {
      id: 'erp-7',
      title: 'Ship Your Idea',
      status: 'active',
      variants: [
        { sku: 'SYI-BLK', price: '20.00', options: { Color: 'Black' } },
        { sku: 'SYI-GRN', price: '22.00', options: { Color: 'Green' } },
      ],
    };
    const [a] = await c.write!('product', [item('product-erp-7', tee)]);
    const [b] = await c.write!('product', [item('product-erp-7', tee)]);
    expect(a).toEqual(b);
    expect(f.all('products')).toHaveLength(1);
    expect(f.all('products')[0]).toMatchObject({
      type: 'variable',
      attributes: [{ name: 'Color', options: ['Black', 'Green'], variation: true }],
    });
    expect(f.all('variations').map((v) => [v.sku, v.regular_price, v.parent_id])).toEqual([
      ['SYI-BLK', '20.00', Number((a as { targetId: string }).targetId)],
      ['SYI-GRN', '22.00', Number((a as { targetId: string }).targetId)],
    ]);
  });

  it('refuses a product with no SKU and no known id (WooCommerce has no idempotency keys), and one bad item fails alone', async () => {
    const f = await fake();
    f.seed('products', [{ ...PRODUCT, id: 50, sku: 'TAKEN' }]);
    const c = open(f);
    const results = await c.write!('product', [
      item('a', { id: 'a', title: 'No SKU' }),
      item('b', { id: 'b', title: 'Good', sku: 'GOOD-1' }),
      item('c', { id: 'c', title: 'Clash', sku: 'TAKEN-2' }, { targetId: '999999' }),
    ]);
    expect(results[0]).toMatchObject({ ok: false, transient: false, error: expect.stringMatching(/needs a SKU/) });
    expect(results[1]).toMatchObject({ ok: true });
    expect(results[2]).toMatchObject({
      ok: false,
      error: expect.stringMatching(/woocommerce_rest_product_invalid_id/),
    });
  });

  it('prices and stock by SKU, products and variations alike, more than a batch at a time', async () => {
    const f = await fake({ currency: 'USD' });
    f.seed('products', clones(PRODUCT, 120, { firstId: 5000, start: T0, vary: (r, i) => (r.sku = `P-${i}`) }));
    f.seed('products', [{ ...PRODUCT, id: 22, type: 'variable', sku: '' }]);
    f.seed(
      'variations',
      clones(VARIATION, 40, {
        firstId: 7000,
        start: T0,
        vary: (r, i) => Object.assign(r, { sku: `V-${i}`, parent_id: 22 }),
      }),
    );
    const c = open(f);
    const skus = [
      ...Array.from({ length: 120 }, (_, i) => `P-${i}`),
      ...Array.from({ length: 40 }, (_, i) => `V-${i}`),
    ];
    const priced = await c.write!(
      'price',
      skus.map((sku) => item(`price-${sku}`, { sku, amount: '9.50', currency: 'USD' })),
    );
    expect(priced.every((r) => r.ok)).toBe(true);
    expect(f.get('products', 5000)).toMatchObject({ regular_price: '9.50', price: '9.50' });
    expect(f.get('variations', 7039)).toMatchObject({ regular_price: '9.50' });
    const batches = f.calls.filter((x) => x.path.endsWith('/batch'));
    expect(batches.every((x) => (x.items ?? 0) <= 100)).toBe(true);
    const stocked = await c.write!('stock', [
      item('s1', { sku: 'P-1', locationId: 'main', available: 7 }),
      item('s2', { sku: 'V-3', locationId: 'main', available: 0 }),
      item('s3', { sku: 'NOPE', locationId: 'main', available: 1 }),
    ]);
    expect(stocked.map((r) => r.ok)).toEqual([true, true, false]);
    expect(f.get('products', 5001)).toMatchObject({ manage_stock: true, stock_quantity: 7, stock_status: 'instock' });
    expect(f.get('variations', 7003)).toMatchObject({ stock_quantity: 0, stock_status: 'outofstock' });
    // The same stock write again sets the same number.
    await c.write!('stock', [item('s1', { sku: 'P-1', locationId: 'main', available: 7 })]);
    expect(f.get('products', 5001)?.stock_quantity).toBe(7);
    const wrong = await c.write!('price', [
      item('x', { sku: 'P-1', amount: '1.00', currency: 'EUR' }),
      item('y', { sku: 'P-1', amount: '1.00', currency: 'USD', priceList: 'wholesale' }),
    ]);
    expect(wrong.map((r) => r.ok)).toEqual([false, false]);
  });

  it('customers by e-mail: a repeated create updates the one it made', async () => {
    const f = await fake();
    const c = open(f);
    const jo = {
      externalId: 'C1',
      email: 'jo@example.com',
      firstName: 'Jo',
      lastName: 'Doe',
      addresses: [{ line1: '969 Market', city: 'San Francisco', regionCode: 'CA', postalCode: '94103', country: 'US' }],
    };
    const [a] = await c.write!('customer', [item('customer-C1', jo)]);
    const [b] = await c.write!('customer', [item('customer-C1', { ...jo, lastName: 'Roe' })]);
    expect(a.ok && b.ok && a.targetId === b.targetId).toBe(true);
    expect(f.all('customers')).toHaveLength(1);
    expect(f.all('customers')[0]).toMatchObject({
      last_name: 'Roe',
      billing: { address_1: '969 Market', state: 'CA', email: 'jo@example.com' },
    });
  });

  it('a read-only key is an auth failure of the call, not a dead letter per record', async () => {
    const f = await fake({ permissions: 'read' });
    const c = open(f);
    const e = await failureOf(c.write!('product', [item('p', { id: 'p', title: 'T', sku: 'S-1' })]));
    expect(e.kind).toBe('auth');
    expect(e.message).toMatch(/does not have write permissions/);
  });
});

describe('lookup and check', () => {
  it('looks up a deletion: a trashed order as it is now, one deleted for good as nothing', async () => {
    const f = await fake();
    f.seed('orders', [
      { ...ORDER, id: 727, status: 'trash' },
      { ...ORDER, id: 728 },
    ]);
    const c = open(f);
    expect(await c.lookup!('orders', { id: 727 })).toMatchObject([{ id: 727, status: 'trash' }]);
    f.remove('orders', 728);
    expect(await c.lookup!('orders', { id: 728 })).toEqual([]);
    expect(await c.lookup!('customers', { id: 25 })).toEqual([]);
  });

  it('checks the store: who it is, its version, the key’s permissions, one page of each stream', async () => {
    const f = await fake({ version: '9.4.2', currency: 'EUR' });
    f.seed('orders', clones(ORDER, 12, { firstId: 1, start: T0 }));
    const report = await open(f).check!(['orders', 'refunds', 'variations', 'customers']);
    expect(report.identity).toMatch(/^Fake Woo Store \(127\.0\.0\.1:\d+\)$/);
    expect(report.apiVersion).toEqual({
      version: 'wc/v3 (WooCommerce 9.4.2)',
      warning: expect.stringMatching(/variations \(needs 10\.3\)/),
    });
    expect(report.scopes).toEqual({ granted: ['read', 'write'], missing: [] });
    expect(report.streams).toEqual([
      { stream: 'orders', ok: true, records: 12 },
      { stream: 'refunds', ok: true, records: 0 },
      { stream: 'variations', ok: false, error: expect.stringMatching(/rest_no_route/) },
      { stream: 'customers', ok: true, records: 0 },
    ]);
    expect(report.notes).toContain('store currency EUR');
    const ro = await fake({ permissions: 'read' });
    expect((await open(ro).check!(['orders'])).scopes).toEqual({ granted: ['read'], missing: [] });
    process.env.WOO_TEST_CS3 = 'cs_wrong_0000000000000000000000000000000000';
    const e = await failureOf(open(f, { consumerSecret: { secretRef: 'env:WOO_TEST_CS3' } }).check!(['orders']));
    expect(e.kind).toBe('auth');
    // Not a WordPress site there: a clear permanent error.
    const nowhere = await failureOf(open(f, { url: `${f.url}/not-a-shop` }).check!(['orders']));
    expect([nowhere.kind, nowhere.message]).toEqual([
      'permanent',
      expect.stringMatching(/is not a WordPress REST API/),
    ]);
    // Nothing listening: transient.
    const port = new URL(f.url).port;
    await f.close();
    fakes = fakes.filter((x) => x !== f);
    const down = await failureOf(open(f, { url: `http://127.0.0.1:${port}` }).check!(['orders']));
    expect(down.kind).toBe('transient');
  });
});

describe.skipIf(!process.env.WOOCOMMERCE_URL)(
  'a real store (WOOCOMMERCE_URL, WOOCOMMERCE_CONSUMER_KEY, WOOCOMMERCE_CONSUMER_SECRET)',
  () => {
    const real = () =>
      openWooCommerce({
        settings: {
          url: process.env.WOOCOMMERCE_URL,
          consumerKey: { secretRef: 'env:WOOCOMMERCE_CONSUMER_KEY' },
          consumerSecret: { secretRef: 'env:WOOCOMMERCE_CONSUMER_SECRET' },
        },
        secret: resolveSecret,
        system: 'live/woocommerce',
      });

    it('checks the connection', async () => {
      const report = await real().check!([]);
      expect(report.streams.some((s) => s.ok)).toBe(true);
    });

    it.each(['orders', 'refunds', 'products', 'variations', 'customers'])(
      'reads a slice of %s in (modified, id) order',
      async (stream) => {
        const c = real();
        const p = await c.read!({
          stream,
          cursor: { since: new Date(Date.now() - 30 * 86_400_000).toISOString() },
          limit: 20,
        });
        const times = (p.records as Record<string, unknown>[]).map((r) =>
          String(stream === 'refunds' ? r.date_created_gmt : (r.date_modified_gmt ?? r.date_created_gmt)),
        );
        if (stream !== 'customers') expect([...times].sort()).toEqual(times);
      },
    );
  },
);
