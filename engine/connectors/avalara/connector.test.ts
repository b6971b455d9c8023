/**
 * The avalara connector against the fake AvaTax (fake.ts) over real HTTP on 127.0.0.1: Basic auth verified exactly,
 * orders recorded as SalesInvoices by CreateOrAdjustTransaction (the same key the same transaction: an adjustment,
 * never a second one), commits in each mode, voids of cancelled orders, refunds as ReturnInvoices taxed as their
 * sale, per-record errors that name the missing field, the xref view against fetch, the transactions stream under the
 * cursor contract (keyset pages capped at 1,000, ties by id, UTC, overlap), throttling with Retry-After, and the check.
 *
 * Against a real AvaTax sandbox account (skipped unless set): AVALARA_SANDBOX_ACCOUNT_ID, AVALARA_SANDBOX_LICENSE_KEY
 * and AVALARA_SANDBOX_COMPANY_CODE. The check and one page of transactions then run against
 * https://sandbox-rest.avatax.com (nothing is written there).
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { mapRecords } from '../../runtime/mapping/map-records.js';
import { resolveSecret } from '../secrets.js';
import { failureOf, raw } from '../testing.js';
import type { OpenConnector, Page, WriteItem } from '../types.js';
import { json, MAX_TOP, money, openAvalara, transactionCode } from './connector.js';
import { type FakeAvaTax, type FakeAvaTaxOptions, fakeSettings, startFakeAvaTax } from './fake.js';

// biome-ignore lint/suspicious/noExplicitAny: records and AvaTax's models, read field by field
type Obj = Record<string, any>;

const KEY_ENV = 'RSYNC_TEST_AVALARA_KEY';
const LICENSE = 'F3C9A1B7D2E84A60';

let fakes: FakeAvaTax[] = [];
afterEach(async () => {
  await Promise.all(fakes.map((f) => f.close()));
  fakes = [];
});

async function fake(o: FakeAvaTaxOptions = {}): Promise<FakeAvaTax> {
  const f = await startFakeAvaTax({ accountId: '2000000123', licenseKey: LICENSE, companies: ['ACME'], ...o });
  fakes.push(f);
  return f;
}

function connect(f: FakeAvaTax, settings: Obj = {}, key = LICENSE): OpenConnector {
  process.env[KEY_ENV] = key;
  return openAvalara({
    settings: fakeSettings(f, KEY_ENV, 'ACME', settings),
    secret: resolveSecret,
    system: 'acme/avalara',
  });
}

/** A canonical order shipped to Kentucky (6 % in the fake). */
const order = (id: string, more: Obj = {}): Obj => ({
  externalId: id,
  number: `#${id}`,
  createdAt: '2026-06-01T23:30:00-04:00',
  currency: 'USD',
  customer: { externalId: 'C-7' },
  shippingAddress: {
    line1: '123 Shipping Street',
    city: 'Shippington',
    regionCode: 'KY',
    postalCode: '40003',
    country: 'US',
  },
  lines: [
    { sku: 'TENT-2P', title: 'Tent', quantity: 2, unitPrice: '50.00', discount: '10.00', total: '90.00' },
    { sku: 'ROPE-M', quantity: '1.5', unitPrice: '3.33' },
  ],
  shipping: [{ title: 'Standard', amount: '10.00' }],
  charges: [{ type: 'tip', amount: '5.00' }],
  total: '116.30',
  ...more,
});
const item = (key: string, record: Obj, writeId = `w-${key}`): WriteItem => ({ key, record, writeId });
const ok = (r: unknown) => {
  expect(r).toMatchObject({ ok: true });
  return r as { ok: true; targetId: string; view: Obj };
};

describe('auth', () => {
  it('sends Basic accountId:licenseKey and X-Avalara-Client; a wrong key is an auth failure without the key in it', async () => {
    const f = await fake();
    const [r] = await connect(f).write!('transaction', [item('tax-order-1', order('1'))]);
    ok(r);
    expect([...f.clients][0]).toMatch(/^rsync; [\d.]+; rsync-avalara; REST v2; \S+$/);
    const WRONG = 'WRONGKEY00000000';
    const e = await failureOf(connect(f, {}, WRONG).write!('transaction', [item('tax-order-2', order('2'))]));
    expect([e.kind, e.status, e.transient]).toEqual(['auth', 401, false]);
    expect(e.message).toContain('AuthenticationException');
    expect(e.message).not.toContain(WRONG);
    expect(f.counts.creates).toBe(1);
  });

  it('the fake refuses a missing header and a malformed one with AvaTax’s own errors', async () => {
    const f = await fake();
    const none = await fetch(`${f.url}/api/v2/companies/ACME/transactions`);
    expect(none.status).toBe(401);
    expect(((await none.json()) as Obj).error).toMatchObject({
      code: 'AuthenticationIncomplete',
      details: [{ number: 34, faultCode: 'Client' }],
    });
    const bad = await fetch(`${f.url}/api/v2/companies/ACME/transactions`, {
      headers: { authorization: `Basic ${Buffer.from('no-colon').toString('base64')}` },
    });
    expect(((await bad.json()) as Obj).error.code).toBe('BasicAuthIncorrect');
    // The right account with the key of another: refused, as is the right key with another account.
    const other = await fetch(`${f.url}/api/v2/companies/ACME/transactions`, {
      headers: { authorization: `Basic ${Buffer.from(`2000000124:${LICENSE}`).toString('base64')}` },
    });
    expect(other.status).toBe(401);
  });
});

describe('orders as SalesInvoices', () => {
  it('records the order with its lines, shipping and tip, taxed by ship-to, committed; the view carries the tax', async () => {
    const f = await fake();
    const c = connect(f);
    const [r] = await c.write!('transaction', [item('tax-order-1001', order('1001'))]);
    const { targetId, view } = ok(r);
    expect(targetId).toBe('tax-order-1001');
    const t = f.get('tax-order-1001')!;
    expect(t).toMatchObject({ type: 'SalesInvoice', status: 'Committed', customerCode: 'C-7', date: '2026-06-02' });
    // 23:30 in New York on June 1 is June 2 in UTC. Line 2: 1.5 × 3.33 = 4.995 → 5.00 (half-even to the cent).
    expect(t.lines.map((l: Obj) => [l.itemCode, l.lineAmount, l.tax, l.taxCode])).toEqual([
      ['TENT-2P', 90, 5.4, 'P0000000'],
      ['ROPE-M', 5, 0.3, 'P0000000'],
      ['shipping', 10, 0.6, 'FR020100'],
      ['tip', 5, 0, 'NT'],
    ]);
    expect(t.addresses[1]).toMatchObject({ region: 'KY', postalCode: '40003', country: 'US' });
    expect(t.addresses[0]).toMatchObject({ region: 'WA', postalCode: '98110' });
    expect(view).toEqual({
      code: 'tax-order-1001',
      type: 'SalesInvoice',
      status: 'Committed',
      date: '2026-06-02',
      customerCode: 'C-7',
      currencyCode: 'USD',
      totalAmount: '110.00',
      totalTax: '6.30',
      lines: [
        { lineNumber: '1', itemCode: 'TENT-2P', quantity: 2, lineAmount: '90.00', tax: '5.40' },
        { lineNumber: '2', itemCode: 'ROPE-M', quantity: 1.5, lineAmount: '5.00', tax: '0.30' },
        { lineNumber: '3', itemCode: 'shipping', quantity: 1, lineAmount: '10.00', tax: '0.60' },
        { lineNumber: '4', itemCode: 'tip', quantity: 1, lineAmount: '5.00', tax: '0.00' },
      ],
    });
    expect(await c.fetch!('transaction', [targetId])).toEqual([view]);
  });

  it('the same key is the same transaction: a retry or a change adjusts it, never a second one', async () => {
    const f = await fake();
    const c = connect(f);
    const first = ok((await c.write!('transaction', [item('tax-order-7', order('7'))]))[0]);
    // The repeat after a crash: the same key and content, another attempt.
    ok((await c.write!('transaction', [item('tax-order-7', order('7'))]))[0]);
    // The order edited: the same key, new content.
    const edited = order('7', {
      lines: [{ sku: 'TENT-2P', quantity: 1, unitPrice: '50.00', total: '50.00' }],
      shipping: [],
      charges: [],
    });
    const after = ok((await c.write!('transaction', [item('tax-order-7', edited, 'w-2')]))[0]);
    expect(f.counts).toMatchObject({ creates: 1, adjustments: 2 });
    expect(f.transactions()).toHaveLength(1);
    expect(first.view.totalTax).toBe('6.30');
    expect(after.view).toMatchObject({ totalAmount: '50.00', totalTax: '3.00', lines: [{ itemCode: 'TENT-2P' }] });
    expect(f.get('tax-order-7')!.version).toBe(3);
  });

  it('a long or mixed-case key gets a hashed code of at most 50 characters, stable and distinct', () => {
    const long = `shopify-order-${'9'.repeat(60)}`;
    expect(transactionCode('tax-order-1')).toBe('tax-order-1');
    expect(transactionCode(long)).toMatch(/^~[0-9a-f]{40}$/);
    expect(transactionCode(long)).toBe(transactionCode(long));
    expect(transactionCode('Tax-Order-1')).not.toBe(transactionCode('tax-order-1'));
    expect(transactionCode('Tax-Order-1')).not.toBe(transactionCode('TAX-ORDER-1'));
  });

  it('commit by the endpoint, or not at all, per settings', async () => {
    const f = await fake();
    const viaEndpoint = ok(
      (await connect(f, { commit: 'endpoint' }).write!('transaction', [item('tax-order-1', order('1'))]))[0],
    );
    expect(viaEndpoint.view.status).toBe('Committed');
    expect(f.counts.commits).toBe(1);
    const never = ok(
      (await connect(f, { commit: 'never' }).write!('transaction', [item('tax-order-2', order('2'))]))[0],
    );
    expect(never.view.status).toBe('Saved');
    expect(f.counts.commits).toBe(1);
  });

  it('a cancelled order voids its transaction (once, however often repeated); one AvaTax never had is nothing to void', async () => {
    const f = await fake();
    const c = connect(f);
    ok((await c.write!('transaction', [item('tax-order-5', order('5'))]))[0]);
    const cancelled = order('5', { status: 'cancelled', cancelledAt: '2026-06-03T10:00:00Z' });
    const voided = ok((await c.write!('transaction', [item('tax-order-5', cancelled, 'w-2')]))[0]);
    expect(voided.view.status).toBe('Cancelled');
    ok((await c.write!('transaction', [item('tax-order-5', cancelled, 'w-2')]))[0]);
    expect(f.counts.voids).toBe(1);
    expect(f.get('tax-order-5')!.status).toBe('Cancelled');
    const never = (await c.write!('transaction', [item('tax-order-6', order('6', { status: 'cancelled' }))]))[0];
    expect(never).toEqual({ ok: true, targetId: 'tax-order-6' });
    expect(f.get('tax-order-6')).toBeUndefined();
  });

  it('one bad record fails alone, permanently, naming what is missing', async () => {
    const f = await fake();
    const c = connect(f);
    const { shippingAddress: _, ...noAddress } = order('2');
    const results = await c.write!('transaction', [
      item('tax-order-1', order('1')),
      item('tax-order-2', noAddress),
      item(
        'tax-order-3',
        order('3', { shippingAddress: { city: 'Shippington', regionCode: 'KY', postalCode: '40003' } }),
      ),
      item('tax-order-4', order('4', { shippingAddress: { country: 'US', city: 'Nowhere' } })),
      item('tax-order-5', order('5')),
    ]);
    expect(results.map((r) => r.ok)).toEqual([true, false, false, false, true]);
    expect(results[1]).toMatchObject({
      transient: false,
      error: expect.stringContaining('order 2: shippingAddress is missing'),
    });
    expect(results[2]).toMatchObject({ error: expect.stringContaining('shippingAddress.country is missing') });
    expect(results[3]).toMatchObject({ error: expect.stringContaining('shippingAddress.postalCode is missing') });
    const noShipFrom = await connect(f, { shipFrom: undefined }).write!('transaction', [
      item('tax-order-9', order('9')),
    ]);
    expect(noShipFrom[0]).toMatchObject({
      ok: false,
      transient: false,
      error: expect.stringContaining('settings.shipFrom is missing'),
    });
    expect(f.counts.creates).toBe(2);
  });

  it('a transaction locked by a filing is a permanent error of that record, with AvaTax’s code', async () => {
    const f = await fake();
    const c = connect(f);
    ok((await c.write!('transaction', [item('tax-order-1', order('1'))]))[0]);
    f.lock('tax-order-1');
    const [r] = await c.write!('transaction', [item('tax-order-1', order('1', { total: '1.00' }), 'w-2')]);
    expect(r).toMatchObject({
      ok: false,
      transient: false,
      error: expect.stringContaining('CannotModifyLockedTransaction'),
    });
  });
});

describe('the orders-to-tax-engine template', () => {
  it('its WooCommerce mapping’s order is recorded as is: a SalesInvoice shipped to California, taxed at 7.25 %', async () => {
    const mapping = readFileSync(
      new URL('../../../templates/orders-to-tax-engine/1/mappings/woocommerce-order-for-tax.jsonata', import.meta.url),
      'utf8',
    );
    const [mapped] = await mapRecords({
      mapping,
      key: "$string(id) != '' ? 'tax-order-' & $string(id)",
      params: {},
      canonical: 'order',
      records: [raw('woocommerce/order.retrieve.json').toString('utf8')],
      json: true,
    });
    if (mapped?.kind !== 'mapped') throw new Error(`the template's mapping gave ${JSON.stringify(mapped)}`);
    const f = await fake();
    const { targetId, view } = ok(
      (await connect(f).write!('transaction', [item(mapped.key, JSON.parse(mapped.text))]))[0],
    );
    expect(targetId).toBe('tax-order-727');
    const t = f.get('tax-order-727')!;
    expect(t.addresses[1]).toMatchObject({ region: 'CA', postalCode: '94103', country: 'US' });
    // 7.25 % of each line, to the cent, half away from zero (6.00 → 0.435 → 0.44); shipping taxed as freight; a guest
    // (the mapping sends no customer: no personal data reaches the tax engine).
    expect(t.lines.map((l: Obj) => l.taxCode)).toEqual(['P0000000', 'P0000000', 'FR020100']);
    const { lines, ...header } = view;
    expect(header).toMatchObject({
      status: 'Committed',
      customerCode: 'guest',
      totalAmount: '28.00',
      totalTax: '2.04',
    });
    expect(lines.map((l: Obj) => [l.itemCode, l.quantity, l.lineAmount, l.tax])).toEqual([
      ['', 2, '6.00', '0.44'],
      ['Bar3', 1, '12.00', '0.87'],
      ['shipping', 1, '10.00', '0.73'],
    ]);
  });
});

describe('refunds as ReturnInvoices', () => {
  const refund = (id: string, more: Obj = {}): Obj => ({
    externalId: id,
    orderExternalId: '1001',
    createdAt: '2026-07-10T12:00:00Z',
    currency: 'USD',
    lines: [{ sku: 'TENT-2P', quantity: 1, amount: '45.00' }],
    shipping: '10.00',
    tax: '3.30',
    total: '58.30',
    ...more,
  });

  it('negative lines, taxed as the sale was (its date, its ship-to and customer), coded by the refund’s key', async () => {
    const f = await fake();
    const c = connect(f);
    ok((await c.write!('transaction', [item('tax-order-1001', order('1001'))]))[0]);
    const { targetId, view } = ok((await c.write!('transaction', [item('tax-refund-r1', refund('r1'))]))[0]);
    expect(targetId).toBe('tax-refund-r1');
    const t = f.get('tax-refund-r1', 'ReturnInvoice')!;
    expect(t).toMatchObject({
      type: 'ReturnInvoice',
      taxDate: '2026-06-02',
      date: '2026-07-10',
      customerCode: 'C-7',
      referenceCode: 'tax-order-1001',
    });
    expect(t.addresses[1]).toMatchObject({ region: 'KY', postalCode: '40003' });
    expect(view).toMatchObject({
      totalAmount: '-55.00',
      totalTax: '-3.30',
      lines: [
        { lineAmount: '-45.00', tax: '-2.70' },
        { itemCode: 'shipping', lineAmount: '-10.00', tax: '-0.60' },
      ],
    });
    expect(await c.fetch!('transaction', [targetId])).toEqual([view]);
  });

  it('before its order is recorded: a transient error (the order’s flow may not have run); a failed refund voids its return', async () => {
    const f = await fake();
    const c = connect(f);
    const [early] = await c.write!('transaction', [item('tax-refund-r2', refund('r2'))]);
    expect(early).toMatchObject({ ok: false, transient: true, error: expect.stringContaining('tax-order-1001') });
    ok((await c.write!('transaction', [item('tax-order-1001', order('1001'))]))[0]);
    ok((await c.write!('transaction', [item('tax-refund-r2', refund('r2'))]))[0]);
    const failed = ok(
      (await c.write!('transaction', [item('tax-refund-r2', refund('r2', { status: 'failed' }), 'w-2')]))[0],
    );
    expect(failed.view).toMatchObject({ type: 'ReturnInvoice', status: 'Cancelled' });
    expect(f.get('tax-order-1001')!.status).toBe('Committed');
  });
});

describe('xref: fetch against the view', () => {
  it('reads each code back as its view; a change behind rsync’s back shows as drift, a removed one as null', async () => {
    const f = await fake();
    const c = connect(f);
    const results = await c.write!('transaction', [item('tax-order-1', order('1')), item('tax-order-2', order('2'))]);
    const views = results.map((r) => ok(r).view);
    expect(await c.fetch!('transaction', ['tax-order-1', 'tax-order-2'])).toEqual(views);
    f.tamper('tax-order-1', { totalTax: 6 });
    f.remove('tax-order-2');
    const [one, two] = await c.fetch!('transaction', ['tax-order-1', 'tax-order-2']);
    expect(one).toEqual({ ...views[0], totalTax: '6.00' });
    expect(two).toBeNull();
  });

  it('money normalised the same way on both sides: 42, "42", "42.0" and 42.00 are "42.00"; JPY has no decimals', () => {
    expect([money(42), money('42'), money('42.0'), money(42.0), money('-0.10'), money(0.375)]).toEqual([
      '42.00',
      '42.00',
      '42.00',
      '42.00',
      '-0.10',
      '0.375',
    ]);
    expect(money(1200, 'JPY')).toBe('1200');
    expect(money(undefined)).toBeUndefined();
    // Amounts go to AvaTax as the decimal literals they are, never through a double.
    expect(json({ amount: { toJSON: () => '\u0000dec:0.10\u0000' } })).toBe('{"amount":0.10}');
  });
});

/** Reads a stream to the end of its slices, as the pipeline would. */
async function readAll(c: OpenConnector, cursor: unknown = null, limit = 500) {
  const records: Obj[] = [];
  let page: Page;
  do {
    page = await c.read!({ stream: 'transactions', cursor, limit });
    records.push(...(page.records as Obj[]));
    cursor = page.cursor;
  } while (page.more);
  return { records, cursor };
}

describe('the transactions stream', () => {
  it('2,500 transactions sharing one modifiedDate: keyset pages of at most 1,000, none lost, in (modifiedDate, id) order', async () => {
    const T = Date.parse('2026-06-05T12:00:00Z');
    const f = await fake({ now: () => T });
    const c = connect(f);
    const items = Array.from({ length: 2_500 }, (_, i) => item(`tax-order-${i}`, order(String(i))));
    const results = await c.write!('transaction', items);
    expect(results.every((r) => r.ok)).toBe(true);
    const { records, cursor } = await readAll(c, null, 5_000);
    expect(records).toHaveLength(2_500);
    expect(new Set(records.map((r) => r.code)).size).toBe(2_500);
    const ids = records.map((r) => Number(r.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    // The connector asked for at most 1,000 a page, always with a date criterion, lines included.
    for (const q of f.queries) {
      const p = new URLSearchParams(q);
      expect(Number(p.get('$top'))).toBeLessThanOrEqual(MAX_TOP);
      expect(p.get('$filter')).toMatch(/^date ge '1900-01-01'/);
      expect(p.get('$include')).toBe('Lines');
    }
    expect(f.queries).toHaveLength(3);
    // Money as decimal strings; the next slice starts 60 s before the newest modifiedDate, in UTC.
    expect(records[0]).toMatchObject({ totalTax: '6.30', totalAmount: '110.00' });
    expect(records[0].lines[0]).toMatchObject({ lineAmount: '90.00', tax: '5.40', taxableAmount: '90.00' });
    expect(cursor).toEqual({ since: new Date(T - 60_000).toISOString() });
  });

  it('a later read starts from the cursor: what changed since, and the overlap again (the ledger skips those)', async () => {
    let now = Date.parse('2026-06-05T12:00:00Z');
    const f = await fake({ now: () => now });
    const c = connect(f);
    await c.write!('transaction', [item('tax-order-1', order('1')), item('tax-order-2', order('2'))]);
    now += 3_600_000;
    await c.write!('transaction', [item('tax-order-3', order('3'))]);
    const first = await readAll(c);
    expect(first.records.map((r) => r.code)).toEqual(['tax-order-1', 'tax-order-2', 'tax-order-3']);
    now += 3_600_000;
    f.tamper('tax-order-1', { totalTax: 7 });
    const again = await readAll(c, first.cursor);
    // tax-order-3 is within the overlap (60 s before the newest seen); tax-order-2 is not.
    expect(again.records.map((r) => [r.code, r.totalTax])).toEqual([
      ['tax-order-3', '6.30'],
      ['tax-order-1', '7.00'],
    ]);
  });

  it('a backfill window is [since, until); a transaction dated long ago is still read (AvaTax lists 30 days without a date criterion)', async () => {
    const now = Date.parse('2026-06-05T12:00:00Z');
    const f = await fake({ now: () => now });
    const c = connect(f);
    await c.write!('transaction', [item('tax-order-old', order('old', { createdAt: '2024-01-01T00:00:00Z' }))]);
    const bare = await fetch(
      `${f.url}/api/v2/companies/ACME/transactions?$filter=${encodeURIComponent("modifiedDate ge '2026-01-01'")}`,
      {
        headers: { authorization: `Basic ${Buffer.from(`${f.accountId}:${LICENSE}`).toString('base64')}` },
      },
    );
    expect(((await bare.json()) as Obj).value).toHaveLength(0);
    const inWindow = await c.read!({
      stream: 'transactions',
      cursor: null,
      limit: 100,
      since: '2026-06-05T11:00:00Z',
      until: '2026-06-05T13:00:00Z',
    });
    expect(inWindow.records.map((r) => (r as Obj).code)).toEqual(['tax-order-old']);
    const before = await c.read!({
      stream: 'transactions',
      cursor: null,
      limit: 100,
      since: '2026-06-05T00:00:00Z',
      until: '2026-06-05T12:00:00Z',
    });
    expect(before.records).toHaveLength(0);
  });
});

describe('throttling and failures', () => {
  it('429 with Retry-After: a write gives that record a transient result with the wait, a read a throttled failure', async () => {
    const f = await fake();
    const c = connect(f);
    f.throttle(1, 1);
    const [r] = await c.write!('transaction', [item('tax-order-1', order('1'))]);
    expect(r).toMatchObject({
      ok: false,
      transient: true,
      retryAfterMs: 1_000,
      error: expect.stringContaining('HTTP 429'),
    });
    f.throttle(1, 2);
    const e = await failureOf(c.read!({ stream: 'transactions', cursor: null, limit: 10 }));
    expect([e.kind, e.retryAfterMs, e.status]).toEqual(['throttled', 2_000, 429]);
    expect(f.counts.throttled).toBe(2);
    // Afterwards the record goes through, once.
    ok((await c.write!('transaction', [item('tax-order-1', order('1'))]))[0]);
    expect(f.counts.creates).toBe(1);
  });

  it('an unknown company is permanent, with AvaTax’s error code and message', async () => {
    const f = await fake();
    const e = await failureOf(
      connect(f, { companyCode: 'NOPE' }).read!({ stream: 'transactions', cursor: null, limit: 10 }),
    );
    expect([e.kind, e.status]).toEqual(['permanent', 404]);
    expect(e.message).toMatch(/HTTP 404 EntityNotFoundError: Company NOPE not found/);
  });
});

describe('check', () => {
  it('identity, API version, the company, one page of the stream; a wrong key is auth', async () => {
    const f = await fake();
    const c = connect(f);
    await c.write!('transaction', [item('tax-order-1', order('1'))]);
    const report = await c.check!(['transactions']);
    expect(report.identity).toBe('ACME (fake AvaTax company) (company ACME, account 2000000123, user 2000000123)');
    expect(report.apiVersion?.version).toBe('REST v2 (26.6.0)');
    expect(report.streams).toEqual([{ stream: 'transactions', ok: true, records: 1 }]);
    const e = await failureOf(connect(f, {}, 'WRONGKEY00000000').check!(['transactions']));
    expect(e.kind).toBe('auth');
    const missing = await connect(f, { companyCode: 'OTHER', shipFrom: undefined }).check!([]);
    expect(missing.notes).toEqual(
      expect.arrayContaining([
        expect.stringContaining('no company OTHER'),
        expect.stringContaining('settings.shipFrom is not set'),
      ]),
    );
  });
});

const SANDBOX = {
  accountId: process.env.AVALARA_SANDBOX_ACCOUNT_ID,
  key: process.env.AVALARA_SANDBOX_LICENSE_KEY,
  company: process.env.AVALARA_SANDBOX_COMPANY_CODE,
};
describe.skipIf(!SANDBOX.accountId || !SANDBOX.key || !SANDBOX.company)(
  'against the AvaTax sandbox (AVALARA_SANDBOX_ACCOUNT_ID, AVALARA_SANDBOX_LICENSE_KEY, AVALARA_SANDBOX_COMPANY_CODE)',
  () => {
    const real = () => {
      process.env[KEY_ENV] = SANDBOX.key;
      return openAvalara({
        settings: {
          environment: 'sandbox',
          accountId: SANDBOX.accountId,
          licenseKey: { secretRef: `env:${KEY_ENV}` },
          companyCode: SANDBOX.company,
        },
        secret: resolveSecret,
        system: 'acme/avalara',
      });
    };
    it('checks the connection and reads a page of transactions', async () => {
      const report = await real().check!(['transactions']);
      expect(report.streams[0]).toMatchObject({ stream: 'transactions', ok: true });
      const page = await real().read!({ stream: 'transactions', cursor: null, limit: 10 });
      for (const t of page.records as Obj[])
        expect(typeof t.totalTax === 'string' || t.totalTax === undefined).toBe(true);
    });
  },
);
