/**
 * The stripe connector (connector.ts) against the fake Stripe API (fake.ts) over real HTTP on 127.0.0.1: every
 * stream read end to end within Stripe's page cap, a full sync that hands over to the Events API, events oldest
 * first across pages of same-second events, deletes, the retention fallback, expired cursors, failures of each kind,
 * throttling, lookup and check. The fake's idempotency semantics are tested too (the connector writes nothing: the
 * catalogue declares no entity).
 *
 * Against a real Stripe test-mode account (read only, nothing is written): set
 *   STRIPE_TEST_API_KEY=sk_test_… (or rk_test_… with read access)   [STRIPE_TEST_API_VERSION=2024-06-20]
 * and the last suite reads one page of each stream and checks the connection. A live key is refused.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compile } from '../../jsonata/index.js';
import { projectRoot } from '../../util/paths.js';
import { ConnectorError } from '../kit/index.js';
import { resolveSecret } from '../secrets.js';
import type { OpenConnector, Page } from '../types.js';
import { EVENTS_KEPT_MS, OVERLAP_MS, openStripe, STREAMS, type StripeExtra, scrubKeys } from './connector.js';
import { type FakeStripe, PERMISSION, type StripeFakeOptions, startFakeStripe } from './fake.js';
import { DEFAULT_API_VERSION } from './spec.js';
import { failureOf } from '../testing.js';

type Json = Record<string, unknown>;
const ENV = 'RSYNC_TEST_STRIPE_KEY';
const T0 = Math.floor(Date.now() / 1000) - 3 * 86_400; // three days ago, in Unix seconds

let fake: FakeStripe;
let clock: number;

async function start(o: StripeFakeOptions = {}) {
  clock = Date.now();
  fake = await startFakeStripe({ perSecond: 2000, now: () => clock, ...o });
  process.env[ENV] = o.apiKey ?? fake.apiKey;
}

function open(settings: Json = {}): OpenConnector {
  return openStripe(
    {
      settings: { apiKey: { secretRef: `env:${ENV}` }, baseUrl: fake.url, rateLimit: { perSecond: 2000 }, ...settings },
      secret: resolveSecret,
      system: 'acme/stripe',
    },
    { now: () => clock, timeoutMs: 5_000 },
  );
}

/** Read pages until `more` is false, from `cursor`. */
async function readAll(c: OpenConnector, stream: string, cursor: unknown = null, limit = 100) {
  const pages: Page[] = [];
  for (let n = 0; n < 10_000; n++) {
    const p = await c.read!({ stream, cursor, limit });
    pages.push(p);
    cursor = p.cursor;
    if (!p.more) break;
  }
  return { records: pages.flatMap((p) => p.records as Json[]), cursor, pages };
}

const ids = (rs: Json[]) => rs.map((r) => String(r.id));
const extra = (cursor: unknown) => (cursor as { extra?: StripeExtra }).extra;

afterEach(async () => {
  await fake?.close();
});

describe('reads: the list endpoints, then the Events API', () => {
  beforeEach(() => start());

  it('reads every stream end to end, asking at most 100 a page, with the pinned version and the key as Bearer', async () => {
    const kinds = {
      payouts: 'payout',
      balanceTransactions: 'balance_transaction',
      charges: 'charge',
      refunds: 'refund',
      disputes: 'dispute',
      customers: 'customer',
    } as const;
    for (const kind of Object.values(kinds))
      fake.seed(Array.from({ length: 230 }, (_, i) => fake.sample(kind, T0 + Math.floor(i / 9))));
    const c = open();
    for (const [stream, kind] of Object.entries(kinds)) {
      const { records, cursor } = await readAll(c, stream, null, 1000);
      expect(new Set(ids(records)).size, stream).toBe(230);
      expect(records.every((r) => r.object === kind)).toBe(true);
      // The shape of the webhook's record: the object, versioned by `updated`.
      expect(records[0].updated).toBe(records[0].created);
      expect(extra(cursor)?.mode).toBe(STREAMS[stream].types.length ? 'events' : undefined);
    }
    const lists = fake.calls.filter((k) => k.path !== '/v1/events');
    expect(lists.length).toBeGreaterThanOrEqual(6 * 3);
    expect(Math.max(...lists.map((k) => Number(k.query.get('limit') ?? 10)))).toBe(100);
    expect(fake.calls.every((k) => k.version === DEFAULT_API_VERSION && k.status === 200)).toBe(true);
  });

  it('a payout carries its balance transactions (every page) and its failure transaction, as the payout mapping reads', async () => {
    const auto = fake.sample('payout', T0, { status: 'paid' });
    const manual = fake.sample('payout', T0 + 1, { automatic: false, status: 'paid' });
    const failTxn = fake.sample('balance_transaction', T0 + 5, { type: 'payout_failure', amount: 1100 });
    const failed = fake.sample('payout', T0 + 2, { status: 'failed', failure_balance_transaction: failTxn.id });
    fake.seed([auto, manual, failed, failTxn]);
    const txns = Array.from({ length: 150 }, (_, i) =>
      fake.sample('balance_transaction', T0 - 100 + i, { type: 'charge', amount: 1000, fee: 59, net: 941 }),
    );
    fake.settle(String(auto.id), txns);
    fake.settle(String(failed.id), []);
    const { records } = await readAll(open(), 'payouts');
    const by = new Map(records.map((r) => [r.id, r]));
    const bt = by.get(auto.id)!.balance_transactions as { object: string; data: Json[]; has_more: boolean };
    expect(bt).toMatchObject({ object: 'list', has_more: false });
    expect(bt.data).toHaveLength(150);
    expect(bt.data.reduce((sum, t) => sum + Number(t.fee), 0)).toBe(150 * 59);
    // A manual payout has none (Stripe refuses the filter on it), and is read all the same.
    expect(by.get(manual.id)!.balance_transactions).toBeUndefined();
    expect(by.get(failed.id)!.failure_balance_transaction).toMatchObject({ id: failTxn.id, type: 'payout_failure' });
  });

  it("a paid payout's event, read with its balance transactions, makes the payouts-to-erp-journal@2 entry with its fees", async () => {
    const c = open();
    const first = await readAll(c, 'payouts');
    expect(first.records).toEqual([]);
    const po = fake.sample('payout', Math.floor(clock / 1000), { status: 'in_transit', arrival_date: 1773446400 });
    fake.seed([po]);
    const t = (type: string, amount: number, fee: number) =>
      fake.sample('balance_transaction', T0, { type, amount, fee, net: amount - fee });
    fake.settle(String(po.id), [
      t('charge', 1000, 59),
      t('charge', 200, 36),
      t('refund', -5, 0),
      t('payout', -1100, 0),
    ]);
    fake.update('payout', String(po.id), { status: 'paid' }, { type: 'payout.paid' });
    const { records } = await readAll(c, 'payouts', first.cursor);
    expect(records).toHaveLength(1);
    const mapping = compile(
      readFileSync(
        path.join(projectRoot(), 'templates/payouts-to-erp-journal/2/mappings/stripe-payout.jsonata'),
        'utf8',
      ),
    );
    if (!mapping.ok) throw new Error(mapping.problem.message);
    const accounts = { bank: '1010', fees: '6150', clearing: '1205' };
    const entry = (await mapping.expr.evaluate(records[0], { params: { accounts } })) as { lines: Json[] };
    expect(entry.lines).toEqual([
      { account: '1010', debit: '11.00', memo: `Stripe payout ${po.id}: net to bank` },
      { account: '6150', debit: '0.95', memo: `Stripe payout ${po.id}: processing fees` },
      { account: '1205', credit: '11.95', memo: `Stripe payout ${po.id}: gross receipts cleared` },
    ]);
  });

  it('after the full sync, what changed comes from the events, oldest first across pages of same-second events', async () => {
    const charges = Array.from({ length: 40 }, (_, i) => fake.sample('charge', T0 + i, { amount: 100 }));
    fake.seed(charges);
    const c = open();
    const first = await readAll(c, 'charges');
    expect(first.records).toHaveLength(40);
    expect(extra(first.cursor)).toMatchObject({ mode: 'events' });
    // 1,000 updates, 40 in each second: pages of 100 end in the middle of a second every time.
    const t = Math.floor(clock / 1000) + 5;
    const order: string[] = [];
    for (let i = 0; i < 1000; i++) {
      const ch = charges[i % 40];
      const e = fake.update('charge', String(ch.id), { amount: 100 + i }, { created: t + Math.floor(i / 40) });
      order.push(`${ch.id}:${100 + i}:${String(e.id)}`);
    }
    const next = await readAll(c, 'charges', first.cursor);
    const got = next.records.map((r) => `${r.id}:${r.amount}`);
    expect(got).toEqual(order.map((o) => o.split(':').slice(0, 2).join(':')));
    expect(next.pages.length).toBeGreaterThanOrEqual(10);
    expect(next.records.every((r, i) => r.updated === t + Math.floor(i / 40))).toBe(true);
    // Caught up: the next poll asks for what follows the last event, and finds nothing.
    const again = await c.read!({ stream: 'charges', cursor: next.cursor, limit: 100 });
    expect(again).toMatchObject({ records: [], more: false });
    const last = fake.calls[fake.calls.length - 1];
    expect(last.query.get('ending_before')).toBe(order[order.length - 1].split(':')[2]);
    expect(last.query.getAll('types[]')).toEqual(STREAMS.charges.types);
  });

  it('events from the overlap before the full sync are the only ones read twice', async () => {
    const t = Math.floor(clock / 1000);
    const charges = Array.from({ length: 30 }, (_, i) => fake.sample('charge', t - 600 + i));
    fake.seed(charges);
    // Changes 10 minutes ago, 30 s ago (inside the overlap) and after the sync began.
    fake.update('charge', String(charges[0].id), { amount: 1 }, { created: t - 600 });
    fake.update('charge', String(charges[1].id), { amount: 2 }, { created: t - 30 });
    const c = open();
    // The full sync, then (the same run: more stays true) the events since it began, less the overlap.
    const first = await readAll(c, 'charges');
    expect(first.records).toHaveLength(31);
    const twice = first.records.slice(30);
    expect(twice.map((r) => [r.id, r.amount])).toEqual([[charges[1].id, 2]]);
    expect(twice.every((r) => Number(r.updated) * 1000 >= clock - OVERLAP_MS)).toBe(true);
    fake.update('charge', String(charges[2].id), { amount: 3 }, { created: t + 1 });
    const next = await readAll(c, 'charges', first.cursor);
    expect(next.records.map((r) => [r.id, r.amount])).toEqual([[charges[2].id, 3]]);
  });

  it('a deleted customer is a delete record (Stripe deleted object: deleted true), in the webhook shape', async () => {
    const customers = Array.from({ length: 5 }, (_, i) => fake.sample('customer', T0 + i));
    fake.seed(customers);
    const c = open();
    const first = await readAll(c, 'customers');
    fake.remove('customer', String(customers[3].id), Math.floor(clock / 1000) + 2);
    const next = await readAll(c, 'customers', first.cursor);
    expect(next.records).toHaveLength(1);
    expect(next.records[0]).toMatchObject({ id: customers[3].id, object: 'customer', deleted: true });
    expect(next.records[0].updated).toBe(Math.floor(clock / 1000) + 2);
  });
});

describe('20,000 records sharing timestamps across page boundaries', () => {
  beforeEach(() => start());

  it('balance transactions (list only, by created): nothing lost, repeats only within the overlap', async () => {
    const base = Math.floor(clock / 1000) - 3600;
    // 37 records a second: every page of 100 ends inside a second.
    const seeded = Array.from({ length: 20_000 }, (_, i) =>
      fake.sample('balance_transaction', base + Math.floor(i / 37)),
    );
    fake.seed(seeded);
    const c = open();
    const first = await readAll(c, 'balanceTransactions');
    expect(first.records).toHaveLength(20_000);
    expect(new Set(ids(first.records))).toEqual(new Set(ids(seeded)));
    const high = Math.max(...seeded.map((r) => Number(r.created)));
    // More arrive, some in the newest second already read.
    const later = Array.from({ length: 500 }, (_, i) => fake.sample('balance_transaction', high + Math.floor(i / 37)));
    fake.seed(later);
    const second = await readAll(c, 'balanceTransactions', first.cursor);
    const all = new Set([...ids(first.records), ...ids(second.records)]);
    expect(all).toEqual(new Set([...ids(seeded), ...ids(later)]));
    const repeats = second.records.filter((r) => first.records.some((f) => f.id === r.id));
    expect(repeats.length).toBeGreaterThan(0);
    // Only records within the overlap before the newest one seen are read again.
    expect(repeats.every((r) => Number(r.created) >= high - OVERLAP_MS / 1000)).toBe(true);
    expect(new Set(ids(second.records)).size).toBe(second.records.length);
  }, 60_000);
});

describe('cursors: expired page tokens and the events retention', () => {
  beforeEach(() => start());

  it('a list cursor Stripe no longer knows (a deleted customer) restarts the slice and loses nothing', async () => {
    const customers = Array.from({ length: 25 }, (_, i) => fake.sample('customer', T0 + i));
    fake.seed(customers);
    const c = open();
    const p1 = await c.read!({ stream: 'customers', cursor: null, limit: 10 });
    expect(p1.more).toBe(true);
    const token = (p1.cursor as { token: string }).token;
    fake.remove('customer', token);
    const rest = await readAll(c, 'customers', p1.cursor, 10);
    expect(fake.calls.some((k) => k.status === 400 && k.query.get('starting_after') === token)).toBe(true);
    const seen = new Set([...ids(p1.records as Json[]), ...ids(rest.records)]);
    for (const cu of customers) if (cu.id !== token) expect(seen.has(String(cu.id))).toBe(true);
  });

  it('a cursor older than the 30 days of events falls back to a full sync by the list endpoint', async () => {
    const charges = Array.from({ length: 12 }, (_, i) => fake.sample('charge', T0 + i));
    fake.seed(charges);
    const c = open();
    const first = await readAll(c, 'charges');
    fake.update('charge', String(charges[0].id), { amount: 7 });
    const events = await readAll(c, 'charges', first.cursor);
    expect(events.records).toHaveLength(1);
    clock += EVENTS_KEPT_MS + 3_600_000;
    const after = await readAll(c, 'charges', events.cursor);
    expect(extra(after.pages[0].cursor)?.fellBack ?? extra(after.cursor)?.fellBack).toMatch(
      /older than Stripe's 30 days/,
    );
    expect(new Set(ids(after.records))).toEqual(new Set(ids(charges)));
    expect(extra(after.cursor)?.mode).toBe('events');
  });

  it('an old anchor on a quiet stream is re-anchored by time, not resynced; an unknown one with no recent poll is', async () => {
    const charges = Array.from({ length: 3 }, (_, i) => fake.sample('charge', T0 + i));
    fake.seed(charges);
    const c = open();
    const recent = {
      since: null,
      extra: { mode: 'events', anchor: 'evt_gone', anchorAt: clock - EVENTS_KEPT_MS, seen: clock - 60_000 },
    };
    const quiet = await c.read!({ stream: 'charges', cursor: recent, limit: 100 });
    expect(quiet.records).toEqual([]);
    expect(fake.calls.some((k) => k.path === '/v1/charges')).toBe(false);
    const unknown = { since: null, extra: { mode: 'events', anchor: 'evt_gone', anchorAt: clock - 3_600_000 } };
    const resync = await readAll(c, 'charges', unknown);
    expect(fake.calls.some((k) => k.status === 400 && k.query.get('ending_before') === 'evt_gone')).toBe(true);
    expect(new Set(ids(resync.records))).toEqual(new Set(ids(charges)));
    expect(extra(resync.pages[0].cursor)?.fellBack).toMatch(/no longer knows the cursor's event evt_gone/);
  });
});

describe('failures', () => {
  beforeEach(() => start());

  it('5xx, a dropped connection, a lock timeout and a 409 are transient; Stripe-Should-Retry: false is not', async () => {
    fake.seed([fake.sample('charge', T0)]);
    const c = open();
    const read = () => c.read!({ stream: 'balanceTransactions', cursor: null, limit: 10 });
    fake.fail({ kind: 'status', status: 500 });
    expect((await failureOf(read())).kind).toBe('transient');
    fake.fail({ kind: 'status', status: 503 });
    expect((await failureOf(read())).kind).toBe('transient');
    fake.fail({ kind: 'drop' });
    const dropped = await failureOf(read());
    expect(dropped.kind).toBe('transient');
    expect(dropped.message).toMatch(/network error/);
    fake.fail({ kind: 'lock_timeout' });
    const lock = await failureOf(read());
    expect(lock.kind).toBe('transient');
    expect(lock.message).toContain('lock_timeout');
    fake.fail({ kind: 'status', status: 409 });
    expect((await failureOf(read())).kind).toBe('transient');
    fake.fail({ kind: 'status', status: 500, shouldRetry: false });
    expect((await failureOf(read())).kind).toBe('permanent');
    expect((await read()).records).toEqual([]);
  });

  it('a 429 is throttled, with Retry-After when Stripe sends one, else a second', async () => {
    await fake.close();
    await start({ retryAfterSeconds: 2 });
    const c = open();
    fake.fail({ kind: 'rate_limit' });
    const e = await failureOf(c.read!({ stream: 'balanceTransactions', cursor: null, limit: 10 }));
    expect(e).toMatchObject({ kind: 'throttled', retryAfterMs: 2000, status: 429 });
    expect(e.message).toContain('rate_limit');
    await fake.close();
    await start();
    fake.fail({ kind: 'rate_limit' });
    const d = await failureOf(open().read!({ stream: 'balanceTransactions', cursor: null, limit: 10 }));
    expect(d).toMatchObject({ kind: 'throttled', retryAfterMs: 1000 });
  });

  it('a wrong key is auth, and the message has neither the key nor the masked tail Stripe echoes', async () => {
    const good = fake.apiKey;
    const wrong = 'sk_test_51Qwrong0key0for0the0fakeZq9X';
    process.env[ENV] = wrong;
    const c = open();
    const e = await failureOf(c.read!({ stream: 'charges', cursor: null, limit: 10 }));
    expect(e.kind).toBe('auth');
    expect(e.status).toBe(401);
    expect(e.message).toContain('Invalid API Key provided');
    expect(e.message).not.toContain(wrong);
    expect(e.message).not.toContain('Zq9X');
    expect(e.message).not.toContain(good);
    const c2 = await failureOf(c.check!(['charges']));
    expect(c2.kind).toBe('auth');
    expect(c2.message).not.toContain('Zq9X');
    expect(scrubKeys("The provided key 'rk_live_****abcd' does not")).toBe(
      "The provided key 'rk_live_[redacted]' does not",
    );
  });
});

describe('throttling', () => {
  it('a throttled fake sees the connector slow down: under 1 % of calls throttled once steady', async () => {
    // Stripe's test mode allows 25 requests/s; this fake allows 10 (a bucket of 10) and says Retry-After: 1. The
    // connector starts at its default for a test key, 20/s.
    clock = Date.now();
    fake = await startFakeStripe({ perSecond: 10, burst: 10, retryAfterSeconds: 1 });
    process.env[ENV] = fake.apiKey;
    fake.seed(Array.from({ length: 8000 }, (_, i) => fake.sample('balance_transaction', T0 + i)));
    const c = openStripe(
      {
        settings: { apiKey: { secretRef: `env:${ENV}` }, baseUrl: fake.url },
        secret: resolveSecret,
        system: 'acme/stripe',
      },
      { timeoutMs: 5_000 },
    );
    const startedAt = Date.now();
    let cursor: unknown = null;
    let throttledErrors = 0;
    while (Date.now() - startedAt < 7_000) {
      try {
        const p = await c.read!({ stream: 'balanceTransactions', cursor, limit: 100 });
        cursor = p.cursor;
      } catch (e) {
        if (!(e instanceof ConnectorError) || e.kind !== 'throttled') throw e;
        throttledErrors++;
      }
    }
    const steady = fake.calls.filter((_, i) => i >= fake.calls.length / 3);
    const steadyThrottled = steady.filter((k) => k.status === 429).length;
    expect(throttledErrors).toBeGreaterThan(0); // it met the limit
    expect(throttledErrors).toBe(fake.throttled);
    expect(steadyThrottled / steady.length).toBeLessThan(0.01);
    // Slower than its own 20/s: about the fake's 10/s.
    const rate = fake.calls.length / 7;
    expect(rate).toBeLessThan(13);
    expect(rate).toBeGreaterThan(5);
  }, 20_000);
});

describe('lookup and check', () => {
  beforeEach(() => start());

  it('lookup fetches a record by id (a payout with its transactions), [] for an unknown one, the deleted object for a deleted customer', async () => {
    const po = fake.sample('payout', T0, { status: 'paid' });
    const cu = fake.sample('customer', T0);
    fake.seed([po, cu]);
    fake.settle(String(po.id), [fake.sample('balance_transaction', T0 - 5, { fee: 30 })]);
    const c = open({ account: 'acct_1Connected0Store' });
    const [got] = (await c.lookup!('payouts', { id: po.id })) as Json[];
    // A Connect account's data: every request names it.
    expect(fake.calls.every((k) => k.account === 'acct_1Connected0Store')).toBe(true);
    expect(got).toMatchObject({ id: po.id, object: 'payout', balance_transactions: { object: 'list' } });
    expect(await c.lookup!('charges', { id: 'ch_unknown' })).toEqual([]);
    fake.remove('customer', String(cu.id));
    expect(await c.lookup!('customers', { id: cu.id })).toEqual([{ id: cu.id, object: 'customer', deleted: true }]);
  });

  it('check: the account, the mode from the key, the version, no headroom (Stripe gives none), one page a stream', async () => {
    fake.seed([fake.sample('charge', T0), fake.sample('payout', T0, { automatic: false })]);
    const report = await open().check!(['charges', 'payouts', 'nope']);
    expect(report.identity).toBe('site@stripe.com (acct_1MoRdlLgUG5tbmjc)');
    expect(report.apiVersion).toEqual({ version: DEFAULT_API_VERSION });
    expect(report.rateLimit).toBeUndefined();
    expect(report.notes?.join('\n')).toMatch(/test-mode secret key/);
    expect(report.notes?.join('\n')).toMatch(/no rate-limit headroom/);
    expect(report.streams).toEqual([
      { stream: 'charges', ok: true, records: 1 },
      { stream: 'payouts', ok: true, records: 1 },
      { stream: 'nope', ok: false, error: 'no stream nope' },
    ]);
  });

  it('check with a restricted key reports the permissions its 403s name', async () => {
    await fake.close();
    const rk = 'rk_test_51Restricted0key0for0fake0Ab12';
    await start({
      restrictedKeys: {
        [rk]: [PERMISSION.charge, PERMISSION.event, PERMISSION.payout, PERMISSION.balance_transaction],
      },
    });
    process.env[ENV] = rk;
    const report = await open().check!(['charges', 'payouts', 'disputes', 'customers']);
    expect(report.identity).toBeUndefined();
    expect(report.scopes?.missing).toEqual([PERMISSION.account, PERMISSION.customer, PERMISSION.dispute].sort());
    expect(report.streams.map((s) => [s.stream, s.ok])).toEqual([
      ['charges', true],
      ['payouts', true],
      ['disputes', false],
      ['customers', false],
    ]);
    expect(JSON.stringify(report)).not.toContain('Ab12');
    expect(report.notes?.join('\n')).toMatch(/test-mode restricted key/);
  });
});

describe('the fake keeps Stripe idempotency semantics (for a writer to come)', () => {
  beforeEach(() => start());

  it('same key and parameters: the first answer again, Idempotent-Replayed; other parameters: 400 idempotency_error', async () => {
    const post = (body: string, key: string) =>
      fetch(`${fake.url}/v1/customers`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${fake.apiKey}`,
          'content-type': 'application/x-www-form-urlencoded',
          'idempotency-key': key,
        },
        body,
      });
    const a = await post('name=Jenny%20Rosen&metadata[order]=6735', 'w-1');
    const first = (await a.json()) as Json;
    const b = await post('metadata[order]=6735&name=Jenny%20Rosen', 'w-1');
    expect(b.headers.get('idempotent-replayed')).toBe('true');
    expect(await b.json()).toEqual(first);
    expect(first.metadata).toEqual({ order: '6735' });
    const c = await post('name=Someone%20Else', 'w-1');
    expect(c.status).toBe(400);
    expect(((await c.json()) as { error: Json }).error).toMatchObject({ type: 'idempotency_error' });
    expect(fake.events().filter((e) => e.type === 'customer.created')).toHaveLength(1);
  });
});

const REAL = process.env.STRIPE_TEST_API_KEY;
describe.skipIf(!REAL)('a real Stripe test-mode account (STRIPE_TEST_API_KEY)', () => {
  it('reads one page of each stream and checks the connection', async () => {
    if (!/^(sk|rk)_test_/.test(REAL ?? '')) throw new Error('STRIPE_TEST_API_KEY must be a test-mode key');
    process.env[ENV] = REAL;
    const c = openStripe(
      {
        settings: {
          apiKey: { secretRef: `env:${ENV}` },
          ...(process.env.STRIPE_TEST_API_VERSION ? { apiVersion: process.env.STRIPE_TEST_API_VERSION } : {}),
        },
        secret: resolveSecret,
        system: 'test/stripe',
      },
      {},
    );
    for (const stream of Object.keys(STREAMS)) {
      const p = await c.read!({ stream, cursor: null, limit: 5 });
      for (const r of p.records as Json[]) expect(typeof r.id).toBe('string');
    }
    const report = await c.check!(Object.keys(STREAMS));
    expect(report.streams.every((s) => s.ok)).toBe(true);
  }, 60_000);
});
