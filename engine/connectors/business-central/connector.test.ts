/**
 * The business-central connector against the fake Business Central and its Entra token endpoint (fake.ts) over real
 * HTTP on 127.0.0.1: the client credentials flow verified exactly (a wrong secret, client or bearer is refused), the
 * token cached and renewed, incremental reads with the cursor contract and the page cap, throttling with
 * Retry-After, the concurrency cap, sales documents created in atomic $batch requests and found again by their key
 * (a repeat creates nothing), updates with If-Match and a 412 retried, every entity's view and fetch, and the check.
 *
 * Against a real Business Central sandbox (skipped unless all are set): BC_TENANT_ID, BC_ENVIRONMENT (e.g. Sandbox),
 * BC_COMPANY_ID, BC_CLIENT_ID and BC_CLIENT_SECRET (an app registration with the Dynamics 365 Business Central
 * API.ReadWrite.All application permission, granted and registered in the environment). The check and a read of
 * items then run against https://api.businesscentral.dynamics.com.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { resolveSecret } from '../secrets.js';
import { failureOf, readStream } from '../testing.js';
import type { OpenConnector, WriteItem } from '../types.js';
import { decimal, openBusinessCentral, payloadJson, stamp } from './connector.js';
import {
  FAKE_CLIENT_ID,
  FAKE_CLIENT_SECRET,
  FAKE_COMPANY,
  FAKE_ENVIRONMENT,
  FAKE_TENANT,
  type FakeBusinessCentral,
  type FakeBusinessCentralOptions,
  fakeSettings,
  startFakeBusinessCentral,
  WEB_CUSTOMER,
} from './fake.js';

// biome-ignore lint/suspicious/noExplicitAny: Business Central's entities, read field by field
type Obj = Record<string, any>;

const SECRET_ENV = 'RSYNC_TEST_BC_CLIENT_SECRET';
const T0 = Date.UTC(2026, 5, 1, 9, 0, 0);
const at = (s: number) => new Date(T0 + s * 1000).toISOString();

let fakes: FakeBusinessCentral[] = [];
afterEach(async () => {
  await Promise.all(fakes.map((f) => f.close()));
  fakes = [];
});

const ITEMS = [
  { number: 'CT-1000-OAK', displayName: 'Oak Side Table', type: 'Inventory', unitPrice: 149, inventory: 37 },
  { number: 'CT-2040-LIN', displayName: 'Linen Cushion Cover', type: 'Inventory', unitPrice: 24.5, inventory: 112 },
];

async function fake(o: FakeBusinessCentralOptions = {}, items = ITEMS): Promise<FakeBusinessCentral> {
  const f = await startFakeBusinessCentral(o);
  f.seed({ items, customers: [WEB_CUSTOMER] });
  fakes.push(f);
  return f;
}

function connect(
  f: FakeBusinessCentral,
  settings: Record<string, unknown> = {},
  secret = FAKE_CLIENT_SECRET,
): OpenConnector {
  process.env[SECRET_ENV] = secret;
  return openBusinessCentral({
    settings: { ...fakeSettings(f.url, SECRET_ENV), ...settings },
    secret: resolveSecret,
    system: 'contoso/business-central',
  });
}

/** A canonical order as the order mappings make it. */
const order = (n: number, lines: Obj[] = [{ sku: 'CT-1000-OAK', quantity: 1, unitPrice: '149.00' }]): Obj => ({
  externalId: String(n),
  createdAt: '2026-06-01T10:00:00-04:00',
  currency: 'EUR',
  taxesIncluded: true,
  lines,
  shipping: [{ title: 'Standard', amount: '4.95' }],
  total: '153.95',
});
const item = (key: string, record: Obj, targetId?: string): WriteItem => ({ key, record, targetId });

const readAll = (c: OpenConnector, stream: string, cursor: unknown = null, limit = 1000) =>
  readStream<Obj>(c, stream, cursor, limit);

const api = (f: FakeBusinessCentral, re: RegExp, method?: string) =>
  f.calls.filter((c) => re.test(c.path) && (!method || c.method === method) && !c.path.includes('oauth2'));

describe('business-central auth: OAuth 2.0 client credentials', () => {
  it('asks the token endpoint with the client id, secret and scope once, and sends the token as a bearer', async () => {
    const f = await fake();
    const c = connect(f);
    await readAll(c, 'items');
    await readAll(c, 'customers');
    const token = f.calls.filter((x) => x.path.endsWith('/oauth2/v2.0/token'));
    expect(token).toHaveLength(1);
    expect(token[0].path).toBe(`/${FAKE_TENANT}/oauth2/v2.0/token`);
    expect(Object.fromEntries(new URLSearchParams(token[0].body))).toEqual({
      grant_type: 'client_credentials',
      client_id: FAKE_CLIENT_ID,
      client_secret: FAKE_CLIENT_SECRET,
      scope: 'https://api.businesscentral.dynamics.com/.default',
    });
    const calls = api(f, /companies/);
    expect(calls.length).toBe(2);
    for (const x of calls) expect(String(x.headers?.authorization)).toMatch(/^Bearer eyJ/);
    expect(calls[0].path).toBe(`/v2.0/${FAKE_TENANT}/${FAKE_ENVIRONMENT}/api/v2.0/companies(${FAKE_COMPANY})/items`);
  });

  it('a wrong secret is an auth failure naming Entra’s code, never the secret', async () => {
    const f = await fake();
    const wrong = 'Xq8~not-the-secret-of-this-app_0000000000';
    const e = await failureOf(connect(f, {}, wrong).read!({ stream: 'items', cursor: null, limit: 10 }));
    expect([e.kind, e.transient, e.status]).toEqual(['auth', false, 401]);
    expect(e.message).toContain('AADSTS7000215');
    expect(e.message).not.toContain(wrong);
    expect(api(f, /companies/)).toHaveLength(0);
    const unknown = await failureOf(
      connect(f, { clientId: '11111111-2222-3333-4444-555555555555' }).read!({
        stream: 'items',
        cursor: null,
        limit: 10,
      }),
    );
    expect([unknown.kind, unknown.message]).toEqual(['auth', expect.stringContaining('AADSTS700016')]);
  });

  it('the API refuses a bearer its token endpoint did not issue (401 Authentication_InvalidCredentials)', async () => {
    const f = await fake();
    const r = await fetch(
      `${f.url}/v2.0/${FAKE_TENANT}/${FAKE_ENVIRONMENT}/api/v2.0/companies(${FAKE_COMPANY})/items`,
      {
        headers: { authorization: 'Bearer eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.forged.token' },
      },
    );
    expect(r.status).toBe(401);
    expect(((await r.json()) as Obj).error.code).toBe('Authentication_InvalidCredentials');
  });

  it('a token refused by the API (revoked, expired early) is fetched again once, and the call goes through', async () => {
    const f = await fake();
    const c = connect(f);
    await readAll(c, 'items');
    f.revokeTokens();
    const { records } = await readAll(c, 'items');
    expect(records).toHaveLength(2);
    expect(f.tokensIssued).toBe(2);
  });

  it('a token is renewed before it expires', async () => {
    const f = await fake({ tokenTtl: 1 });
    const c = connect(f);
    await readAll(c, 'items');
    await new Promise((r) => setTimeout(r, 1100));
    await readAll(c, 'items');
    expect(f.tokensIssued).toBe(2);
    expect(api(f, /companies/).every((x) => x.status === 200)).toBe(true); // never sent an expired one
  });
});

describe('business-central reads', () => {
  it('items by lastModifiedDateTime ascending, paged by @odata.nextLink at the limit, none lost or repeated', async () => {
    const f = await fake({}, []);
    // 2,500 items, runs of 7 sharing a timestamp, so page boundaries fall inside runs.
    const many = Array.from({ length: 2_500 }, (_, i) => ({
      number: `IT-${String(i).padStart(5, '0')}`,
      displayName: `Item ${i}`,
      type: 'Inventory',
      unitPrice: 10,
      lastModifiedDateTime: at(Math.floor(i / 7)),
    }));
    f.seed({ items: many });
    const c = connect(f);
    const { records, cursor, pages } = await readAll(c, 'items', { since: at(0) }, 300);
    expect(records).toHaveLength(2_500);
    expect(new Set(records.map((r) => r.number)).size).toBe(2_500);
    expect(pages).toBe(9);
    const gets = api(f, /\/items$/);
    expect(gets[0].query?.$filter).toBe(`lastModifiedDateTime ge ${at(0)}`);
    expect(gets[0].query?.$orderby).toBe('lastModifiedDateTime asc,id asc');
    expect(gets[0].headers?.prefer).toBe('odata.maxpagesize=300');
    for (let i = 1; i < records.length; i++)
      expect(Date.parse(records[i].lastModifiedDateTime)).toBeGreaterThanOrEqual(
        Date.parse(records[i - 1].lastModifiedDateTime),
      );
    // The next slice starts a minute before the newest record: the overlap is read again, nothing older.
    const newest = Math.floor(2_499 / 7);
    expect(cursor).toEqual({ since: at(newest - 60) });
    const again = await readAll(c, 'items', cursor, 300);
    expect(again.records.length).toBe(
      many.filter((m) => Date.parse(m.lastModifiedDateTime) >= Date.parse(at(newest - 60))).length,
    );
  });

  it('a window is sent in UTC (since inclusive, until exclusive), and the page size is capped at 20,000', async () => {
    const f = await fake();
    const c = connect(f);
    await c.read!({
      stream: 'prices',
      cursor: null,
      limit: 50_000,
      since: '2026-06-01T05:00:00-04:00',
      until: '2026-06-02T00:00:00+02:00',
    });
    const g = api(f, /\/items$/).at(-1)!;
    expect(g.query?.$filter).toBe(
      'lastModifiedDateTime ge 2026-06-01T09:00:00.000Z and lastModifiedDateTime lt 2026-06-01T22:00:00.000Z',
    );
    expect(g.headers?.prefer).toBe('odata.maxpagesize=20000');
  });

  it('customers read the customers entity; an unknown stream is a permanent failure', async () => {
    const f = await fake();
    const c = connect(f);
    const { records } = await readAll(c, 'customers');
    expect(records.map((r) => r.number)).toEqual(['WEB']);
    const e = await failureOf(c.read!({ stream: 'vendors', cursor: null, limit: 10 }));
    expect(e.kind).toBe('permanent');
  });
});

describe('business-central limits and failures', () => {
  it('a 429 is throttled with its Retry-After, and the connection’s limiter pauses for it', async () => {
    const f = await fake({ window: { requests: 3, ms: 4_000 } });
    const c = connect(f);
    for (let i = 0; i < 3; i++) await c.read!({ stream: 'items', cursor: null, limit: 10 });
    const e = await failureOf(c.read!({ stream: 'items', cursor: null, limit: 10 }));
    expect([e.kind, e.transient, e.status]).toEqual(['throttled', true, 429]);
    expect(e.retryAfterMs).toBeGreaterThanOrEqual(3_000);
    expect(e.retryAfterMs).toBeLessThanOrEqual(4_000);
    expect(e.message).toContain('Application_TooManyRequests');
    // The next call waits the pause out before it is sent: no second 429.
    const t0 = Date.now();
    await c.read!({ stream: 'items', cursor: null, limit: 10 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2_500);
    expect(api(f, /items/).filter((x) => x.status === 429)).toHaveLength(1);
  }, 15_000);

  it('never more than 5 requests in flight (Business Central processes 5 at once), or settings.concurrency', async () => {
    const f = await fake({ latencyMs: 40 });
    const c = connect(f);
    await Promise.all(Array.from({ length: 20 }, () => c.read!({ stream: 'items', cursor: null, limit: 10 })));
    expect(f.peakProcessing).toBe(5);
    const g = await fake({ latencyMs: 40 });
    const two = connect(g, { concurrency: 2 });
    await Promise.all(Array.from({ length: 10 }, () => two.read!({ stream: 'items', cursor: null, limit: 10 })));
    expect(g.peakProcessing).toBe(2);
  });

  it('5xx and dropped connections are transient, 403 auth, a bad request permanent', async () => {
    const f = await fake();
    const c = connect(f);
    await c.read!({ stream: 'items', cursor: null, limit: 1 }); // the token first
    f.fail(1, 503);
    const busy = await failureOf(c.read!({ stream: 'items', cursor: null, limit: 1 }));
    expect([busy.kind, busy.retryAfterMs]).toEqual(['transient', 1000]); // 503 with its Retry-After
    f.fail(1, 500);
    expect((await failureOf(c.read!({ stream: 'items', cursor: null, limit: 1 }))).kind).toBe('transient');
    f.fail(1, 'drop');
    expect((await failureOf(c.read!({ stream: 'items', cursor: null, limit: 1 }))).kind).toBe('transient');
    f.fail(1, 403);
    expect((await failureOf(c.read!({ stream: 'items', cursor: null, limit: 1 }))).kind).toBe('auth');
    const e = await failureOf(
      connect(f, { companyId: '00000000-0000-0000-0000-000000000001' }).read!({
        stream: 'items',
        cursor: null,
        limit: 1,
      }),
    );
    expect([e.kind, e.status]).toEqual(['permanent', 404]);
    expect(e.message).toContain('BadRequest_NotFound');
  });
});

describe('business-central writes: sales documents', () => {
  it('creates new orders with their lines in one atomic $batch, and a repeat finds them by key and creates nothing', async () => {
    const f = await fake();
    const c = connect(f);
    const items = [1, 2, 3].map((n) => item(`shopify-order-${n}`, order(n)));
    const first = await c.write!('salesOrder', items);
    expect(first.every((r) => r.ok)).toBe(true);
    const docs = f.records('salesOrders');
    expect(docs).toHaveLength(3);
    expect(first.map((r) => (r.ok ? r.targetId : '')).sort()).toEqual(docs.map((d) => d.id).sort());
    const batches = api(f, /\$batch$/, 'POST');
    expect(batches).toHaveLength(1);
    expect(batches[0].headers?.isolation).toBe('snapshot');
    const doc = docs.find((d) => d.externalDocumentNumber === 'shopify-order-1')!;
    expect(doc.orderDate).toBe('2026-06-01');
    expect(doc.salesOrderLines.map((l: Obj) => [l.lineType, l.lineObjectNumber, l.quantity, l.unitPrice])).toEqual([
      ['Item', 'CT-1000-OAK', 1, 149],
      ['Account', '6110', 1, 4.95],
    ]);
    // The amounts went out with the canonical strings' digits, as JSON numbers.
    expect(batches[0].body).toContain('"unitPrice":149.00');
    // The view is what fetch reads back.
    const r1 = first[0];
    expect(r1.ok && r1.view).toEqual((await c.fetch!('salesOrder', [r1.ok ? r1.targetId : '']))[0]);

    const again = await c.write!('salesOrder', items);
    expect(again.map((r) => (r.ok ? r.targetId : ''))).toEqual(first.map((r) => (r.ok ? r.targetId : '')));
    expect(api(f, /\$batch$/, 'POST')).toHaveLength(1); // nothing sent: every order was already there
    expect([...f.creates.get('salesOrders')!.values()]).toEqual([1, 1, 1]);
  });

  it('one refused order rolls its batch back whole: the others are created alone, once, and it gets its own result', async () => {
    const f = await fake();
    const c = connect(f);
    const items = [
      item('o-1', order(1)),
      item('o-2', order(2, [{ sku: 'NO-SUCH-SKU', quantity: 1, unitPrice: '5.00' }])),
      item('o-3', order(3)),
    ];
    const r = await c.write!('salesOrder', items);
    expect(r.map((x) => x.ok)).toEqual([true, false, true]);
    const failed = r[1];
    expect(!failed.ok && [failed.transient, failed.error]).toEqual([
      false,
      expect.stringContaining('The Item does not exist'),
    ]);
    expect(
      f
        .records('salesOrders')
        .map((d) => d.externalDocumentNumber)
        .sort(),
    ).toEqual(['o-1', 'o-3']);
    // Created once each: the first batch's o-1 was rolled back, not kept beside the second attempt's.
    expect(Object.fromEntries(f.creates.get('salesOrders')!)).toEqual({ 'o-1': 1, 'o-3': 1 });
  });

  it('a bad record is a permanent result of its own: no customer, a bad amount', async () => {
    const f = await fake();
    const noCustomer = await connect(f, { customerNumber: undefined }).write!('salesOrder', [item('a', order(1))]);
    expect(noCustomer[0]).toMatchObject({
      ok: false,
      transient: false,
      error: expect.stringContaining('settings.customerNumber'),
    });
    const r = await connect(f).write!('salesOrder', [
      item('b', order(2, [{ sku: 'CT-1000-OAK', quantity: 1, unitPrice: 149.5 }])),
      item('c', order(3, [{ sku: 'CT-1000-OAK', quantity: 1, unitPrice: '1e3' }])),
    ]);
    expect(r[0].ok).toBe(true);
    expect(r[1]).toMatchObject({ ok: false, error: expect.stringContaining('is not a decimal amount') });
  });

  it('a changed order is PATCHed with If-Match and its lines replaced; a 412 re-reads it and tries once more', async () => {
    const f = await fake();
    const c = connect(f);
    const [created] = await c.write!('salesOrder', [item('o-9', order(9))]);
    const id = created.ok ? created.targetId : '';
    // Someone edits the order in Business Central as rsync's update reaches it: the first $batch meets a stale ETag.
    let raced = false;
    f.before = (method, path) => {
      if (!raced && method === 'POST' && path.endsWith('$batch')) {
        raced = true;
        f.tamper('salesOrders', id, (d) => void (d.salesperson = 'JO'));
      }
    };
    const changed = order(9, [{ sku: 'CT-2040-LIN', quantity: 3, unitPrice: '24.50', discount: '4.50' }]);
    const [r] = await c.write!('salesOrder', [item('o-9', changed, id)]);
    expect(r).toMatchObject({ ok: true, targetId: id });
    const batches = api(f, /\$batch$/, 'POST');
    expect(batches.map((b) => b.status)).toEqual([200, 200, 200]); // create, the 412'd update, the retry
    expect(JSON.parse(batches[1].body!).requests[0].headers['if-match']).toMatch(/^W\/"/);
    const doc = f.records('salesOrders')[0];
    expect(doc.salesperson).toBe('JO'); // their change kept, ours applied on top
    expect(
      doc.salesOrderLines.map((l: Obj) => [l.lineObjectNumber, l.quantity, l.unitPrice, l.discountAmount]),
    ).toEqual([
      ['CT-2040-LIN', 3, 24.5, 4.5],
      ['6110', 1, 4.95, 0],
    ]);
    expect(r.ok && (r.view as Obj).salesOrderLines[0]).toEqual({
      lineType: 'Item',
      lineObjectNumber: 'CT-2040-LIN',
      quantity: '3.00',
      unitPrice: '24.50',
      discountAmount: '4.50',
    });
    expect(f.creates.get('salesOrders')?.get('o-9')).toBe(1);
  });

  it('invoices and credit memos go to their own entity sets with their own lines', async () => {
    const f = await fake();
    const c = connect(f);
    const [inv] = await c.write!('salesInvoice', [item('inv-1', order(1))]);
    expect(inv.ok).toBe(true);
    expect(f.records('salesInvoices')[0]).toMatchObject({ externalDocumentNumber: 'inv-1', invoiceDate: '2026-06-01' });
    const refund = {
      externalId: 'r1',
      orderExternalId: '1',
      createdAt: '2026-06-03T12:00:00Z',
      currency: 'EUR',
      lines: [{ sku: 'CT-2040-LIN', quantity: 2, amount: '49.00' }],
      total: '49.00',
    };
    const [cm] = await c.write!('salesCreditMemo', [item('refund-r1', refund)]);
    expect(cm.ok).toBe(true);
    const memo = f.records('salesCreditMemos')[0];
    expect(memo.creditMemoDate).toBe('2026-06-03');
    expect(memo.salesCreditMemoLines.map((l: Obj) => [l.lineObjectNumber, l.quantity, l.unitPrice])).toEqual([
      ['CT-2040-LIN', 2, 24.5],
    ]);
  });

  it('a key longer than externalDocumentNumber (Text[35]) is stamped with a digest, found again the same way', async () => {
    const f = await fake();
    const c = connect(f);
    const key = 'woocommerce-order-northwind-eu-store-000123456';
    const [a] = await c.write!('salesOrder', [item(key, order(1))]);
    const [b] = await c.write!('salesOrder', [item(key, order(1))]);
    expect(stamp(key)).toHaveLength(35);
    expect(f.records('salesOrders').map((d) => d.externalDocumentNumber)).toEqual([stamp(key)]);
    expect(a.ok && b.ok && a.targetId === b.targetId).toBe(true);
  });
});

describe('business-central xref: views and fetch', () => {
  it('fetch gives what the write’s view holds, shows a change made behind rsync’s back, and null for a deleted record', async () => {
    const f = await fake();
    const c = connect(f);
    const r = await c.write!('salesOrder', [item('x-1', order(1)), item('x-2', order(2))]);
    const ids = r.map((x) => (x.ok ? x.targetId : ''));
    const views = r.map((x) => (x.ok ? x.view : undefined));
    expect(await c.fetch!('salesOrder', ids)).toEqual(views);
    f.tamper(
      'lines',
      f.records('salesOrders').find((d) => d.id === ids[0])!.salesOrderLines[0].id,
      (l) => void (l.quantity = 2),
    );
    f.remove('salesOrders', ids[1]);
    const [changed, gone] = await c.fetch!('salesOrder', ids);
    expect(gone).toBeNull();
    expect((changed as Obj).salesOrderLines[0].quantity).toBe('2.00');
    expect({ ...changed, salesOrderLines: views[0]?.salesOrderLines }).toEqual(views[0]); // only that field drifted
  });

  it('amounts normalise the same way on both sides: "42", "42.0" and 42 are one value', () => {
    expect([decimal('42'), decimal('42.0'), decimal(42), decimal('42.000')]).toEqual([
      '42.00',
      '42.00',
      '42.00',
      '42.00',
    ]);
    expect([decimal('1.2500'), decimal('-0.50'), decimal('0.12345'), decimal(null)]).toEqual([
      '1.25',
      '-0.50',
      '0.12345',
      null,
    ]);
    expect(payloadJson({ a: 1 })).toBe('{"a":1}');
  });

  it('customers and items: created once by their number, updated with If-Match, fetched back', async () => {
    const f = await fake();
    const c = connect(f);
    const customer = {
      externalId: '77',
      email: 'siobhan@contoso-home.example',
      firstName: 'Siobhán',
      lastName: 'Kelly',
      addresses: [{ address1: '1 Grafton St', city: 'Dublin', countryCode: 'IE', zip: 'D02' }],
    };
    const [a] = await c.write!('customer', [item('wc-customer-77', customer)]);
    const [b] = await c.write!('customer', [item('wc-customer-77', { ...customer, phone: '+353 1 555 0101' })]);
    expect(a.ok && b.ok && a.targetId === b.targetId).toBe(true);
    const stored = f.records('customers').find((x) => x.number === 'WC-CUSTOMER-77')!;
    expect(stored).toMatchObject({
      displayName: 'Siobhán Kelly',
      city: 'Dublin',
      country: 'IE',
      phoneNumber: '+353 1 555 0101',
    });
    expect(f.creates.get('customers')?.get('WC-CUSTOMER-77')).toBe(1);
    expect(await c.fetch!('customer', [b.ok ? b.targetId : ''])).toEqual([b.ok && b.view]);

    const product = {
      id: 'p1',
      sku: 'CT-3000-WAL',
      title: 'Walnut Shelf',
      status: 'active',
      variants: [{ sku: 'CT-3000-WAL', price: '79.90', barcode: '8712345000031' }],
    };
    const [p] = await c.write!('item', [item('product-p1', product)]);
    expect(p.ok && p.view).toEqual({
      number: 'CT-3000-WAL',
      displayName: 'Walnut Shelf',
      type: 'Inventory',
      blocked: false,
      unitPrice: '79.90',
      gtin: '8712345000031',
    });
    const [unchanged] = await c.write!('item', [item('product-p1', product)]);
    expect(unchanged.ok).toBe(true);
    expect(api(f, /\/items\(/, 'PATCH')).toHaveLength(0); // equal: nothing sent
  });

  it('a journal entry’s lines are written together under its documentNumber, and found again by it', async () => {
    const f = await fake();
    const c = connect(f);
    const entry = {
      externalId: 'po_1',
      date: '2026-06-05',
      currency: 'EUR',
      memo: 'Stripe payout po_1',
      lines: [
        { account: '10100', debit: '95.10' },
        { account: '8450', debit: '4.90' },
        { account: '40100', credit: '100.00' },
      ],
    };
    const [r] = await c.write!('journal', [item('payout-po_1', entry)]);
    expect(r).toMatchObject({ ok: true, targetId: 'PAYOUT-PO_1' });
    const lines = f.records('journalLines');
    expect(lines.map((l) => [l.accountNumber, l.amount])).toEqual(
      expect.arrayContaining([
        ['10100', 95.1],
        ['8450', 4.9],
        ['40100', -100],
      ]),
    );
    const [again] = await c.write!('journal', [item('payout-po_1', entry)]);
    expect(again.ok).toBe(true);
    expect(f.records('journalLines')).toHaveLength(3);
    expect(await c.fetch!('journal', ['PAYOUT-PO_1'])).toEqual([r.ok && r.view]);
    const bad = await c.write!('journal', [
      item('bad', {
        ...entry,
        lines: [
          { account: '99999', debit: '1.00' },
          { account: '40100', credit: '1.00' },
        ],
      }),
    ]);
    expect(bad[0]).toMatchObject({ ok: false, error: expect.stringContaining('G/L Account does not exist') });
    expect(f.records('journalLines')).toHaveLength(3); // the entry's good line rolled back with the bad one
  });

  it('a settlement is written as a journal entry: net to the bank, fees to their account, gross out of clearing', async () => {
    const f = await fake();
    const payout = {
      externalId: 'po_7',
      source: 'stripe',
      currency: 'EUR',
      grossAmount: '100.00',
      fees: '4.90',
      netAmount: '95.10',
      arrivalDate: '2026-06-05',
    };
    const [missing] = await connect(f).write!('journal', [item('stripe-payout-po_7', payout)]);
    expect(missing).toMatchObject({
      ok: false,
      transient: false,
      error: expect.stringContaining('settings.bankAccount'),
    });
    const c = connect(f, { bankAccount: '10100', clearingAccount: '40100', feeAccount: '8450' });
    const [r] = await c.write!('journal', [item('stripe-payout-po_7', payout)]);
    if (!r.ok) throw new Error(r.error);
    const lines = f.records('journalLines').filter((l) => l.documentNumber === r.targetId);
    expect(lines.map((l) => [l.accountNumber, l.amount, l.postingDate])).toEqual([
      ['10100', 95.1, '2026-06-05'],
      ['8450', 4.9, '2026-06-05'],
      ['40100', -100, '2026-06-05'],
    ]);
    expect(await c.fetch!('journal', [r.targetId])).toEqual([r.view]);
  });
});

describe('business-central check', () => {
  it('names the company, the API version and reads one page of each stream; a refused stream is reported', async () => {
    const f = await fake();
    const c = connect(f);
    f.fail(1, 403, /customers/);
    const report = await c.check!(['items', 'customers']);
    expect(report.identity).toContain('Contoso Home & Living');
    expect(report.identity).toContain(FAKE_COMPANY);
    expect(report.apiVersion?.version).toBe('v2.0');
    expect(report.streams[0]).toEqual({ stream: 'items', ok: true, records: 2 });
    expect(report.streams[1]).toMatchObject({ stream: 'customers', ok: false, error: expect.stringContaining('403') });
  });
});

const real = ['BC_TENANT_ID', 'BC_ENVIRONMENT', 'BC_COMPANY_ID', 'BC_CLIENT_ID', 'BC_CLIENT_SECRET'].every(
  (k) => process.env[k],
);
describe.skipIf(!real)('business-central against a real sandbox', () => {
  it('checks the connection and reads a page of items', async () => {
    const c = openBusinessCentral({
      settings: {
        tenantId: process.env.BC_TENANT_ID,
        environment: process.env.BC_ENVIRONMENT,
        companyId: process.env.BC_COMPANY_ID,
        clientId: process.env.BC_CLIENT_ID,
        clientSecret: { secretRef: 'env:BC_CLIENT_SECRET' },
      },
      secret: resolveSecret,
      system: 'test/business-central',
    });
    const report = await c.check!(['items', 'customers']);
    expect(report.streams.every((s) => s.ok)).toBe(true);
    const page = await c.read!({ stream: 'items', cursor: null, limit: 5 });
    expect(page.records.length).toBeLessThanOrEqual(5);
  });
});
