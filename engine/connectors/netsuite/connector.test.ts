/**
 * The netsuite connector (connector.ts, auth.ts) against the fake NetSuite (fake.ts) over real HTTP on 127.0.0.1:
 * both kinds of authentication verified exactly (a wrong secret, token or key is 401), the external-id upsert
 * (create, then update in place: one record per key whatever is repeated) with the internal id from Location, views
 * and read-backs for xref verify, per-record errors, SuiteQL reads by the cursor contract (UTC, a unique order,
 * overlap, windows under the row cap, the page cap), throttling and the account's concurrency, and the check.
 *
 * Against a real NetSuite sandbox (read only: one page of each stream and the check, nothing written), set
 *   NETSUITE_TEST_ACCOUNT_ID=1234567_SB1 and either the TBA credentials NETSUITE_TEST_CONSUMER_KEY,
 *   NETSUITE_TEST_CONSUMER_SECRET, NETSUITE_TEST_TOKEN_ID, NETSUITE_TEST_TOKEN_SECRET, or the OAuth 2.0 ones
 *   NETSUITE_TEST_CLIENT_ID, NETSUITE_TEST_CERTIFICATE_ID, NETSUITE_TEST_PRIVATE_KEY (PEM).
 */
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { compile } from '../../jsonata/index.js';
import { projectRoot } from '../../util/paths.js';
import { DEFAULT_OVERLAP_MS, utc } from '../kit/index.js';
import { resolveSecret } from '../secrets.js';
import { failureOf } from '../testing.js';
import type { OpenConnector, Page, WriteItem } from '../types.js';
import { accountHost, realmOf } from './auth.js';
import { externalIdOf, money, openNetSuite, serialise } from './connector.js';
import { type FakeNetSuite, type FakeNetSuiteOptions, startFakeNetSuite } from './fake.js';

type Json = Record<string, unknown>;
let fake: FakeNetSuite;
const E = (n: string) => `RSYNC_TEST_NS_${n}`;

async function start(o: FakeNetSuiteOptions = {}) {
  fake = await startFakeNetSuite(o);
  process.env[E('CK')] = fake.tba.consumerKey;
  process.env[E('CS')] = fake.tba.consumerSecret;
  process.env[E('TI')] = fake.tba.tokenId;
  process.env[E('TS')] = fake.tba.tokenSecret;
  process.env[E('CLIENT')] = fake.m2m.clientId;
  process.env[E('KEY')] = fake.m2m.privateKey;
}
afterEach(async () => {
  await fake?.close();
});

const TBA = {
  consumerKey: { secretRef: `env:${E('CK')}` },
  consumerSecret: { secretRef: `env:${E('CS')}` },
  tokenId: { secretRef: `env:${E('TI')}` },
  tokenSecret: { secretRef: `env:${E('TS')}` },
};

function open(settings: Json = {}, auth: Json = TBA, queryCap?: number): OpenConnector {
  return openNetSuite(
    {
      settings: { accountId: fake.accountId, baseUrl: fake.url, customer: '42', ...auth, ...settings },
      secret: resolveSecret,
      system: 'acme/netsuite',
    },
    { timeoutMs: 5_000, queryCap },
  );
}

const m2m = () => ({
  clientId: { secretRef: `env:${E('CLIENT')}` },
  certificateId: fake.m2m.certificateId,
  privateKey: { secretRef: `env:${E('KEY')}` },
});

async function readAll(c: OpenConnector, stream: string, cursor: unknown = null, limit = 1000, since?: string) {
  const pages: Page[] = [];
  for (let n = 0; n < 10_000; n++) {
    const p = await c.read!({ stream, cursor, limit, since });
    pages.push(p);
    cursor = p.cursor;
    if (!p.more) break;
  }
  return { records: pages.flatMap((p) => p.records as Json[]), cursor, pages };
}

const order = (
  id: string,
  lines: Json[] = [{ sku: 'NW-LAMP', quantity: 2, unitPrice: '89.99', discount: '0.00' }],
) => ({
  externalId: id,
  number: `#${id}`,
  createdAt: '2026-07-01T22:30:00-04:00',
  currency: 'USD',
  lines,
  shippingTotal: '10.00',
  total: '189.98',
});
const item = (key: string, record: Json): WriteItem => ({ key, record });

describe('accounts and auth', () => {
  it('maps a sandbox account id to its host and keeps the realm as NetSuite spells it', () => {
    expect(accountHost('1234567_SB1')).toBe('1234567-sb1.suitetalk.api.netsuite.com');
    expect(accountHost('1234567')).toBe('1234567.suitetalk.api.netsuite.com');
    expect(realmOf('1234567_sb1')).toBe('1234567_SB1');
  });

  it('token-based authentication: signed requests pass, a wrong token secret or consumer secret is 401 auth', async () => {
    await start();
    fake.seedItems([{ itemId: 'NW-LAMP' }]);
    expect((await open().read!({ stream: 'items', cursor: null, limit: 10 })).records).toHaveLength(1);
    const wrongToken = 'e'.repeat(64);
    process.env[E('BAD')] = wrongToken;
    for (const bad of [
      { tokenSecret: { secretRef: `env:${E('BAD')}` } },
      { consumerSecret: { secretRef: `env:${E('BAD')}` } },
    ]) {
      const e = await failureOf(open(bad).read!({ stream: 'items', cursor: null, limit: 10 }));
      expect([e.kind, e.status]).toEqual(['auth', 401]);
      expect(e.message).toContain('INVALID_LOGIN');
      expect(e.message).not.toContain(wrongToken);
      expect(e.message).not.toContain(fake.tba.tokenSecret);
    }
    // The realm is part of what NetSuite checks: another account's realm is refused.
    const other = openNetSuite(
      { settings: { accountId: '7654321', baseUrl: fake.url, ...TBA }, secret: resolveSecret, system: 'acme/ns' },
      {},
    );
    expect((await failureOf(other.read!({ stream: 'items', cursor: null, limit: 10 }))).kind).toBe('auth');
    expect(fake.stats.unauthorized).toBe(3);
  });

  it('OAuth 2.0 client credentials: one token for many requests; an assertion signed with another key is 401', async () => {
    await start();
    fake.seedItems([{ itemId: 'NW-LAMP' }]);
    const c = open({}, m2m());
    for (let i = 0; i < 3; i++) await c.read!({ stream: 'items', cursor: null, limit: 10 });
    expect(fake.stats.tokens).toBe(1);
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    process.env[E('OTHERKEY')] = other.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const e = await failureOf(
      open({}, { ...m2m(), privateKey: { secretRef: `env:${E('OTHERKEY')}` } }).read!({
        stream: 'items',
        cursor: null,
        limit: 10,
      }),
    );
    expect([e.kind, e.status]).toEqual(['auth', 401]);
    expect(e.message).toContain('invalid_client');
    expect(fake.stats.tokens).toBe(1);
  });

  it('refuses settings without a complete set of credentials, naming what is missing', () => {
    expect(() => openNetSuite({ settings: { accountId: '1' }, secret: resolveSecret, system: 'a/b' })).toThrow(
      /consumerKey, consumerSecret, tokenId, tokenSecret/,
    );
    expect(() =>
      openNetSuite({ settings: { accountId: '1', clientId: 'x' }, secret: resolveSecret, system: 'a/b' }),
    ).toThrow(/certificateId/);
  });
});

describe('describing a record type (the schema guard)', () => {
  it("reads the metadata catalogue's JSON Schema: fields and types, a mandatory custom field as required", async () => {
    await start();
    fake.seedItems([{ itemId: 'NW-LAMP' }]);
    const c = open();
    const before = await c.describeTarget!('salesOrder');
    expect(before).toMatchObject({ name: 'salesOrder', writes: [] });
    expect(before.fields).toContainEqual({ name: 'tranDate', type: 'string:date', required: false });
    expect(before.fields.some((f) => f.required)).toBe(false);

    fake.customField('salesOrder', 'custbody_region', { title: 'Region', mandatory: true });
    const after = await c.describeTarget!('salesOrder');
    expect(after.fields.filter((f) => f.required)).toEqual([
      { name: 'custbody_region', type: 'string', required: true },
    ]);
    // What the guard saves the writes from: NetSuite refuses the record, permanently, naming the field.
    const [r] = await c.write!('salesOrder', [item('so-1', order('1'))]);
    expect(r).toMatchObject({
      ok: false,
      transient: false,
      error: expect.stringMatching(/Please enter value\(s\) for: Region/),
    });
    fake.customField('salesOrder', 'custbody_region', { title: 'Region', mandatory: false });
    expect((await c.write!('salesOrder', [item('so-1', order('1'))]))[0]).toMatchObject({ ok: true });
    await expect(c.describeTarget!('invoice')).rejects.toThrow(/no entity invoice/);
  });
});

describe('upsert by external id', () => {
  it('creates, then updates the same record in place: one create per key, the internal id from Location', async () => {
    await start();
    const [lamp, shade] = fake.seedItems([{ itemId: 'NW-LAMP' }, { itemId: 'NW-SHADE' }]);
    const c = open();
    const first = await c.write!('salesOrder', [item('shopify-order-1001', order('1001'))]);
    expect(first[0]).toMatchObject({ ok: true });
    const id = (first[0] as { targetId: string }).targetId;
    expect(fake.records.get('salesOrder')!.get(id)).toMatchObject({
      externalId: 'shopify-order-1001',
      entity: { id: '42' },
      tranDate: '2026-07-02', // 22:30 at -04:00 is the 2nd in UTC
      otherRefNum: '#1001',
      item: { items: [{ item: { id: lamp }, quantity: 2, rate: 89.99 }] },
    });
    // The same key again (a repeat after a crash), then with other lines: still one record, lines replaced.
    await c.write!('salesOrder', [item('shopify-order-1001', order('1001'))]);
    const third = await c.write!('salesOrder', [
      item('shopify-order-1001', order('1001', [{ sku: 'NW-SHADE', quantity: 1, unitPrice: '24.50' }])),
    ]);
    expect((third[0] as { targetId: string }).targetId).toBe(id);
    expect(fake.creates.get('salesOrder')).toBe(1);
    expect(fake.updates.get('salesOrder')).toBe(2);
    expect(fake.records.get('salesOrder')!.get(id)!.item.items).toEqual([
      { item: { id: shade }, quantity: 1, rate: 24.5 },
    ]);
  });

  it("a write's view is what fetch reads back; a record changed or deleted behind rsync's back shows", async () => {
    await start();
    fake.seedItems([{ itemId: 'NW-LAMP' }]);
    const c = open();
    const [r] = await c.write!('salesOrder', [item('so-1', order('1'))]);
    if (!r.ok) throw new Error(r.error);
    expect(r.view).toEqual({
      externalId: 'so-1',
      entity: '42',
      tranDate: '2026-07-02',
      otherRefNum: '#1',
      shippingCost: '10.00',
      item: [{ item: expect.any(String), quantity: 2, rate: '89.99' }],
    });
    expect(await c.fetch!('salesOrder', [r.targetId])).toEqual([r.view]);
    fake.tamper('salesOrder', r.targetId, { shippingCost: 12 });
    const [drifted] = await c.fetch!('salesOrder', [r.targetId]);
    expect(drifted).toEqual({ ...r.view, shippingCost: '12.00' });
    fake.remove('salesOrder', r.targetId);
    expect(await c.fetch!('salesOrder', [r.targetId])).toEqual([null]);
  });

  it('one bad record is its own permanent result, never its batch’s; a missing reference setting is named', async () => {
    await start();
    fake.seedItems([{ itemId: 'NW-LAMP' }]);
    const c = open();
    const results = await c.write!('salesOrder', [
      item('so-a', order('a')),
      item('so-b', order('b', [{ sku: 'NO-SUCH-SKU', quantity: 1, unitPrice: '1.00' }])),
      item('so-c', order('c', [{ sku: 'NW-LAMP', quantity: 1, unitPrice: '5.00', discount: '1.00' }])),
      item('so-d', order('d', [{ quantity: 1, unitPrice: '2.00' }])),
    ]);
    expect(results.map((r) => r.ok)).toEqual([true, false, false, false]);
    expect(results[1]).toMatchObject({
      transient: false,
      error: expect.stringContaining('no NetSuite item has itemId NO-SUCH-SKU'),
    });
    expect(results[2]).toMatchObject({ error: expect.stringContaining('settings.discountItem') });
    expect(results[3]).toMatchObject({ error: expect.stringContaining('settings.customItem') });
    const noCustomer = await openNetSuite({
      settings: { accountId: fake.accountId, baseUrl: fake.url, ...TBA },
      secret: resolveSecret,
      system: 'acme/netsuite',
    }).write!('cashSale', [item('cs-1', order('1'))]);
    expect(noCustomer[0]).toMatchObject({
      ok: false,
      transient: false,
      error: expect.stringContaining('settings.customer'),
    });
    // NetSuite's own refusal of one record (an item reference it does not know) is that record's, typed permanent.
    const refused = await open({ items: { 'NW-GHOST': '99999' } }).write!('salesOrder', [
      item('so-e', order('e', [{ sku: 'NW-GHOST', quantity: 1, unitPrice: '3.00' }])),
      item('so-f', order('f')),
    ]);
    expect(refused[0]).toMatchObject({
      ok: false,
      transient: false,
      error: expect.stringContaining('INVALID_KEY_OR_REF'),
    });
    expect(refused[1].ok).toBe(true);
  });

  it('writes customers, credit memos, journal entries, deposits and inventory items, each readable back', async () => {
    await start();
    fake.seedItems([{ itemId: 'NW-LAMP' }]);
    const [bank, clearing, fees] = fake.seedAccounts([
      { acctnumber: '1010' },
      { acctnumber: '1205' },
      { acctnumber: '6150' },
    ]);
    const c = open({ refundItem: '77', depositAccount: bank, clearingAccount: clearing, feeAccount: fees });
    fake.seedItems([{ id: '77', itemId: 'REFUND' }]);
    const cases: [string, Json][] = [
      ['customer', { externalId: 'c1', email: 'bob@example.com', firstName: 'Bob', lastName: 'Norman' }],
      [
        'creditMemo',
        {
          externalId: 'r1',
          orderExternalId: '1001',
          createdAt: '2026-07-01T10:00:00Z',
          currency: 'USD',
          total: '15.5',
        },
      ],
      [
        'journalEntry',
        {
          externalId: 'p1',
          date: '2026-07-01',
          currency: 'USD',
          lines: [
            { account: '1010', debit: '11.00' },
            { account: '1205', credit: '11' },
          ],
        },
      ],
      [
        'deposit',
        {
          externalId: 'po1',
          currency: 'USD',
          netAmount: '11.00',
          grossAmount: '11.95',
          fees: '0.95',
          arrivalDate: '2026-07-02',
        },
      ],
      ['inventoryItem', { id: 'p1', sku: 'NW-NEW', title: 'New lamp', status: 'active' }],
    ];
    for (const [entity, record] of cases) {
      const [r] = await c.write!(entity, [item(`${entity}-k`, record)]);
      if (!r.ok) throw new Error(`${entity}: ${r.error}`);
      expect(await c.fetch!(entity, [r.targetId]), entity).toEqual([r.view]);
    }
    expect(fake.records.get('journalEntry')!.values().next().value!.line.items).toEqual([
      { account: { id: bank }, debit: 11 },
      { account: { id: clearing }, credit: 11 },
    ]);
  });

  it('writes customer deposits linked to their sales orders and customer refunds applying their credit memos', async () => {
    await start();
    const [bank] = fake.seedAccounts([{ acctnumber: '1010' }]);
    const c = open({
      paymentAccount: bank,
      orderKey: 'shopify-order-{externalId}',
      refundKey: 'shopify-refund-{externalId}',
    });
    const [d] = await c.write!('customerDeposit', [
      item('deposit-1001', {
        externalId: '1001',
        number: '#1001',
        createdAt: '2026-07-01T10:00:00Z',
        currency: 'USD',
        total: '42.5',
        lines: [],
      }),
    ]);
    if (!d.ok) throw new Error(d.error);
    const deposit = fake.records.get('customerDeposit')!.values().next().value!;
    expect(deposit).toMatchObject({
      salesOrder: { externalId: 'shopify-order-1001' },
      payment: 42.5,
      account: { id: bank },
      tranDate: '2026-07-01',
    });
    expect(await c.fetch!('customerDeposit', [d.targetId])).toEqual([d.view]);
    expect(d.view).toMatchObject({ payment: '42.50', salesOrder: true });

    const [r] = await c.write!('customerRefund', [
      item('refund-r9', {
        externalId: 'r9',
        orderExternalId: '1001',
        createdAt: '2026-07-03T09:00:00Z',
        currency: 'USD',
        total: '10',
      }),
    ]);
    if (!r.ok) throw new Error(r.error);
    const refund = fake.records.get('customerRefund')!.values().next().value!;
    expect(refund.apply.items).toEqual([{ doc: { externalId: 'shopify-refund-r9' }, apply: true, amount: 10 }]);
    expect(await c.fetch!('customerRefund', [r.targetId])).toEqual([r.view]);
    // Without the bank account a refund is paid from, the record fails alone, saying what to set.
    const [bad] = await open({}).write!('customerRefund', [
      item('refund-r10', {
        externalId: 'r10',
        orderExternalId: '1',
        createdAt: '2026-07-03T09:00:00Z',
        currency: 'USD',
        total: '1',
      }),
    ]);
    expect(bad).toMatchObject({
      ok: false,
      transient: false,
      error: expect.stringContaining('settings.paymentAccount'),
    });
  });

  it('a settlement into journalEntry is a journal entry: net to the bank, fees, gross out of clearing', async () => {
    await start();
    const [bank, clearing, fees] = fake.seedAccounts([
      { acctnumber: '1010' },
      { acctnumber: '1205' },
      { acctnumber: '6150' },
    ]);
    const c = open({ depositAccount: bank, clearingAccount: clearing, feeAccount: fees });
    const payout = {
      externalId: 'po2',
      source: 'stripe',
      currency: 'USD',
      netAmount: '11.00',
      grossAmount: '11.95',
      fees: '0.95',
      arrivalDate: '2026-07-02',
    };
    const [r] = await c.write!('journalEntry', [item('stripe-payout-po2', payout)]);
    if (!r.ok) throw new Error(r.error);
    const entry = [...fake.records.get('journalEntry')!.values()].find((e) => e.externalId === 'stripe-payout-po2')!;
    expect(entry.line.items).toEqual([
      { account: { id: bank }, debit: 11 },
      { account: { id: fees }, debit: 0.95 },
      { account: { id: clearing }, credit: 11.95 },
    ]);
    expect(await c.fetch!('journalEntry', [r.targetId])).toEqual([r.view]);
  });

  it('amounts go out digit for digit, external ids NetSuite would refuse are digested, money compares normalised', () => {
    expect(serialise({ a: { toJSON: () => '\u0000dec:0.1000000000000000055\u0000' } })).toBe(
      '{"a":0.1000000000000000055}',
    );
    expect(externalIdOf('shopify-order-820982911946154508')).toBe('shopify-order-820982911946154508');
    expect(externalIdOf('order:1/2')).toMatch(/^rsync-[0-9a-f]{40}$/);
    expect(externalIdOf('order:1/2')).toBe(externalIdOf('order:1/2'));
    expect([money('42'), money(42), money('42.00'), money('0.125'), money('-0.00'), money(undefined)]).toEqual([
      '42.00',
      '42.00',
      '42.00',
      '0.125',
      '0.00',
      null,
    ]);
  });
});

describe('SuiteQL reads', () => {
  const T0 = Date.parse('2026-07-01T00:00:00Z');
  const at = (s: number) => new Date(T0 + s * 1000).toISOString().replace('.000Z', 'Z');

  it('reads 2,500 items sharing timestamps in windows under the row cap: every one once, in (date, id) order', async () => {
    await start({ queryCap: 1200 });
    // Runs of 100 items a second: page and window boundaries fall inside runs.
    fake.seedItems(
      Array.from({ length: 2500 }, (_, i) => ({
        itemId: `SKU-${i}`,
        basePrice: 10 + i,
        lastModifiedDate: at(Math.floor(i / 100)),
      })),
    );
    const c = open({}, TBA, 1200);
    const { records, cursor, pages } = await readAll(c, 'items', null, 5000);
    expect(records).toHaveLength(2500);
    expect(new Set(records.map((r) => r.id)).size).toBe(2500);
    expect(pages.every((p) => p.records.length <= 1000)).toBe(true);
    // Windows: the query after the cap starts at offset 0 after the last row read (date, then id).
    expect(fake.queries.filter((q) => /item\.id > '/.test(q)).length).toBeGreaterThanOrEqual(2);
    // The next slice starts the overlap before the newest record: only those are read again.
    expect(cursor).toEqual({ since: utc(Date.parse(at(24)) - DEFAULT_OVERLAP_MS) });
    const again = await readAll(c, 'items', cursor);
    expect(again.records.length).toBe(2500); // every item is within the last 60 s here
    const later = await readAll(c, 'items', { since: at(30) });
    expect(later.records).toHaveLength(0);
  });

  it('sends times in UTC whatever the offset given, and gives records the REST shapes the mappings read', async () => {
    await start();
    fake.seedItems([
      {
        itemId: 'NW-LAMP-ARC-BRS',
        displayName: 'Arc Floor Lamp, Brass',
        basePrice: 189,
        isInactive: false,
        isOnline: true,
        class: { id: '7', refName: 'Lighting : Floor Lamps' },
        lastModifiedDate: '2026-07-01T15:00:00Z',
      },
    ]);
    const c = open();
    const { records } = await readAll(c, 'prices', null, 100, '2026-07-01T10:00:00-04:00');
    expect(fake.queries.at(-1)).toContain("item.lastmodifieddate >= TO_TIMESTAMP_TZ('2026-07-01 14:00:00.000 +00:00'");
    expect(fake.queries.at(-1)).toMatch(/ORDER BY item\.lastmodifieddate, item\.id$/);
    const mapping = compile(
      readFileSync(
        path.join(projectRoot(), 'templates/erp-catalog-to-storefront/1/mappings/netsuite-price.jsonata'),
        'utf8',
      ),
    );
    if (!mapping.ok) throw new Error(mapping.problem.message);
    expect(await mapping.expr.evaluate(records[0], { params: { currency: 'USD' } })).toEqual({
      sku: 'NW-LAMP-ARC-BRS',
      amount: '189.00',
      currency: 'USD',
    });
    fake.seedInventory([
      {
        item: Object.keys(Object.fromEntries(fake.records.get('inventoryItem')!))[0],
        location: '12',
        locationname: 'Store 012',
        quantityavailable: '3',
        quantityonhand: '4',
        lastModifiedDate: '2026-07-01T16:00:00Z',
      },
    ]);
    const inv = await readAll(c, 'inventory');
    const stock = compile(
      readFileSync(
        path.join(projectRoot(), 'templates/erp-inventory-to-channel/1/mappings/netsuite-inventory.jsonata'),
        'utf8',
      ),
    );
    if (!stock.ok) throw new Error(stock.problem.message);
    expect(await stock.expr.evaluate(inv.records[0], { params: {} })).toEqual({
      sku: 'NW-LAMP-ARC-BRS',
      locationId: '12',
      available: 3,
      onHand: 4,
    });
    fake.seedCustomers([
      { firstName: 'Bob', lastName: 'Norman', email: 'bob@example.com', lastModifiedDate: '2026-07-01T17:00:00Z' },
    ]);
    expect((await readAll(c, 'customers')).records[0]).toMatchObject({
      firstName: 'Bob',
      email: 'bob@example.com',
      lastModifiedDate: '2026-07-01T17:00:00Z',
    });
  });

  it('an unknown stream or a query NetSuite refuses is permanent', async () => {
    await start();
    expect((await failureOf(open().read!({ stream: 'salesOrders', cursor: null, limit: 10 }))).kind).toBe('permanent');
  });
});

describe('throttling and concurrency', () => {
  it('a 429 CONCURRENCY_LIMIT_EXCEEDED is throttled with its Retry-After, for a read and for one record of a write', async () => {
    await start();
    fake.seedItems([{ itemId: 'NW-LAMP' }]);
    const c = open({ rateLimit: { perSecond: 1000 } });
    fake.throttle(1, 3);
    const e = await failureOf(c.read!({ stream: 'items', cursor: null, limit: 10 }));
    expect([e.kind, e.transient, e.retryAfterMs, e.status]).toEqual(['throttled', true, 3000, 429]);
    expect(e.message).toContain('CONCURRENCY_LIMIT_EXCEEDED');
    const c2 = open({ rateLimit: { perSecond: 1000 } });
    await c2.read!({ stream: 'items', cursor: null, limit: 10 }); // the SKU lookup is cached from here
    await c2.write!('salesOrder', [item('warm', order('warm'))]);
    fake.throttle(1);
    const [r] = await c2.write!('salesOrder', [item('so-t', order('t'))]);
    expect(r).toMatchObject({ ok: false, transient: true, retryAfterMs: 1000 });
  });

  it("holds the connection's cap on requests in flight: never more than settings.concurrency at the account", async () => {
    await start({ accountLimit: 3, latencyMs: 15 });
    fake.seedItems([{ itemId: 'NW-LAMP' }]);
    const c = open({ concurrency: 3 });
    const results = await c.write!(
      'salesOrder',
      Array.from({ length: 40 }, (_, i) => item(`so-${i}`, order(String(i)))),
    );
    expect(results.every((r) => r.ok)).toBe(true);
    expect(fake.stats.maxInFlight).toBeLessThanOrEqual(3);
    expect(fake.stats.rejected).toBe(0);
    expect(fake.creates.get('salesOrder')).toBe(40);
  });

  it('over the account limit, the surplus is refused and comes back as transient results, not lost records', async () => {
    await start({ accountLimit: 2, latencyMs: 15 });
    fake.seedItems([{ itemId: 'NW-LAMP' }]);
    const c = open({ concurrency: 6 });
    await c.read!({ stream: 'items', cursor: null, limit: 1 });
    const results = await c.write!(
      'salesOrder',
      Array.from({ length: 12 }, (_, i) => item(`so-${i}`, order(String(i)))),
    );
    const refused = results.filter((r) => !r.ok);
    expect(fake.stats.rejected).toBeGreaterThan(0);
    expect(refused.length).toBe(fake.stats.rejected);
    expect(refused.every((r) => !r.ok && r.transient)).toBe(true);
  });
});

describe('connection check', () => {
  it('names the account, the auth and one page of each stream', async () => {
    await start();
    fake.seedItems([{ itemId: 'NW-LAMP' }]);
    const report = await open().check!(['items', 'customers', 'nothing']);
    expect(report.identity).toBe('Acme Retail (sandbox) (NetSuite account 1234567_SB1)');
    expect(report.streams.map((s) => [s.stream, s.ok, s.records])).toEqual([
      ['items', true, 1],
      ['customers', true, 0],
      ['nothing', false, undefined],
    ]);
    expect(report.notes?.join('\n')).toContain('a sandbox account');
  });
});

const real = process.env.NETSUITE_TEST_ACCOUNT_ID;
describe.skipIf(!real)('a real NetSuite sandbox (read only)', () => {
  it('reads one page of each stream and checks the connection', async () => {
    const auth = process.env.NETSUITE_TEST_CLIENT_ID
      ? {
          clientId: { secretRef: 'env:NETSUITE_TEST_CLIENT_ID' },
          certificateId: process.env.NETSUITE_TEST_CERTIFICATE_ID,
          privateKey: { secretRef: 'env:NETSUITE_TEST_PRIVATE_KEY' },
        }
      : {
          consumerKey: { secretRef: 'env:NETSUITE_TEST_CONSUMER_KEY' },
          consumerSecret: { secretRef: 'env:NETSUITE_TEST_CONSUMER_SECRET' },
          tokenId: { secretRef: 'env:NETSUITE_TEST_TOKEN_ID' },
          tokenSecret: { secretRef: 'env:NETSUITE_TEST_TOKEN_SECRET' },
        };
    const c = openNetSuite({ settings: { accountId: real, ...auth }, secret: resolveSecret, system: 'test/netsuite' });
    const report = await c.check!(['items', 'prices', 'inventory', 'customers']);
    expect(report.streams.filter((s) => !s.ok)).toEqual([]);
  });
});
