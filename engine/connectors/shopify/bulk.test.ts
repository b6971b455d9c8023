/**
 * The bulk reader (bulk.ts) against the bulk fake (fake-bulk.ts) over real HTTP on 127.0.0.1: GraphQL calls to
 * POST /admin/api/<version>/graphql.json and the JSONL from the fake's signed links. Orders are Order nodes of the
 * GraphQL Admin API derived from Shopify's REST sample order (test/fixtures/shopify/bulk-orders.json, SOURCES.md),
 * multiplied with fresh ids.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { projectRoot } from '../../util/paths.js';
import { ConnectorError, failure } from '../kit/index.js';
import { failureOf } from '../testing.js';
import {
  type BulkCursor,
  type BulkOptions,
  type BulkPage,
  bulkReader,
  bulkSince,
  defaultFetchUrl,
  type Gql,
} from './bulk.js';
import { type BulkFakeOptions, createBulkFake, flattenForJsonl, serveBulkFake } from './fake-bulk.js';

// biome-ignore lint/suspicious/noExplicitAny: Shopify's nodes, read field by field
type Obj = Record<string, any>;

const SAMPLE: Obj = JSON.parse(readFileSync(path.join(projectRoot(), 'test/fixtures/shopify/bulk-orders.json'), 'utf8'))
  .orders.nodes[0];
const QUERY = `{ orders(query: "updated_at:>='2026-01-01T00:00:00Z'", sortKey: UPDATED_AT) { edges { node { id name
  lineItems { edges { node { id sku quantity } } } shippingLines { edges { node { id title } } } } } } }`;
const CHILDREN = { LineItem: 'lineItems', ShippingLine: 'shippingLines' };
const FIELDS = Object.values(CHILDREN);
const swapId = (gid: string, n: number) => gid.replace(/\/(\d+)$/, (_m, id) => `/${BigInt(id) + BigInt(n) * 1000n}`);

/** The nth order: the sample with every id moved, `lines` line items (0 to 3) and its shipping line. */
function order(n: number, lines = 3): Obj {
  return {
    ...SAMPLE,
    id: swapId(SAMPLE.id, n),
    name: `#${1001 + n}`,
    lineItems: { nodes: SAMPLE.lineItems.nodes.slice(0, lines).map((l: Obj) => ({ ...l, id: swapId(l.id, n) })) },
    shippingLines: { nodes: SAMPLE.shippingLines.nodes.map((s: Obj) => ({ ...s, id: swapId(s.id, n) })) },
  };
}
function* orders(count: number, lines?: (n: number) => number): Generator<Obj> {
  for (let n = 0; n < count; n++) yield order(n, lines?.(n));
}

let served: Awaited<ReturnType<typeof serveBulkFake>> | undefined;
afterEach(async () => {
  await served?.close();
  served = undefined;
});

async function start(o: Partial<BulkFakeOptions> & { count?: number } = {}) {
  const count = o.count ?? 5;
  served = await serveBulkFake((origin) =>
    createBulkFake({ rows: () => flattenForJsonl(orders(count), FIELDS), origin, ...o }),
  );
  return served;
}

/** The connector's GraphQL call, reduced to what the reader needs: POST graphql.json, `data` or a ConnectorError. */
function gqlOf(url: string, rewrite?: (v: Obj) => Obj): Gql {
  return async (query, variables = {}, signal) => {
    const res = await fetch(`${url}/admin/api/2026-07/graphql.json`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query, variables: rewrite ? rewrite(variables) : variables }),
      signal,
    });
    const body = (await res.json()) as { data?: Obj; errors?: unknown };
    if (!res.ok || body.errors) throw failure.permanent(`shopify: graphql: ${JSON.stringify(body.errors)}`, res.status);
    return body.data ?? {};
  };
}

const fast: BulkOptions = { children: CHILDREN, pollMs: 1, sleep: () => Promise.resolve() };
const reader = (o: BulkOptions = {}, gql?: Gql) =>
  bulkReader(gql ?? gqlOf(served!.url), defaultFetchUrl(), { ...fast, ...o });

async function readAll(r: ReturnType<typeof bulkReader>, cursor: unknown = null, limit = 100) {
  const pages: BulkPage[] = [];
  for (let n = 0; n < 100_000; n++) {
    const p = await r.read({ query: QUERY, cursor, limit });
    pages.push(p);
    cursor = p.cursor;
    if (!p.more) break;
  }
  return { nodes: pages.flatMap((p) => p.nodes), pages, cursor: cursor as BulkCursor };
}

describe('shopify bulk reader', () => {
  it('reassembles children under their connection fields: the nodes a paginated read returns', async () => {
    await start({ count: 3 });
    const r = reader();
    const { nodes, pages, cursor } = await readAll(r, null, 2);
    expect(nodes).toEqual([order(0), order(1), order(2)]);
    expect(nodes[0].lineItems.nodes.map((l: Obj) => l.sku)).toEqual(['IPOD2008GREEN', 'IPOD2008RED', 'IPOD2008BLACK']);
    expect(JSON.stringify(nodes)).not.toContain('__parentId');
    expect(pages.map((p) => [p.nodes.length, p.more])).toEqual([
      [2, true],
      [1, false],
    ]);
    // Each order is 1 + 3 line items + 1 shipping line = 5 lines.
    expect(cursor.bulk).toMatchObject({ id: served!.fake.operations[0].id, line: 15, done: true });
    expect(cursor.bulk.createdAt).toBe(served!.fake.operations[0].createdAt);
    expect(cursor.bulk.completedAt).toBe(served!.fake.operations[0].completedAt);
    // The incremental read continues from the operation's creation less the overlap; not before the last page.
    expect(bulkSince(cursor, 60_000)).toBe(new Date(Date.parse(cursor.bulk.createdAt!) - 60_000).toISOString());
    expect(bulkSince(pages[0].cursor)).toBeNull();
    const run = served!.calls.find((c) => c.query.includes('bulkOperationRunQuery'));
    expect(run?.variables).toEqual({ query: QUERY, groupObjects: true });
    expect(r.stats).toMatchObject({ started: 1, downloads: 1, lines: 15 });
    // A read past the end returns nothing more and keeps the cursor.
    expect(await r.read({ query: QUERY, cursor, limit: 2 })).toEqual({ nodes: [], cursor, more: false });
  });

  it('returns pages of `limit` nodes; a node without children gets empty connections', async () => {
    await start({
      rows: () =>
        flattenForJsonl(
          orders(10, (n) => n % 4),
          FIELDS,
        ),
    });
    const { nodes, pages } = await readAll(reader(), null, 3);
    expect(pages.map((p) => p.nodes.length)).toEqual([3, 3, 3, 1]);
    expect(nodes.map((n) => n.name)).toEqual(Array.from({ length: 10 }, (_, n) => `#${1001 + n}`));
    expect(nodes[0].lineItems).toEqual({ nodes: [] });
    expect(nodes.map((n) => n.lineItems.nodes.length)).toEqual([0, 1, 2, 3, 0, 1, 2, 3, 0, 1]);
  });

  it('a reader stopped mid-file and restarted from the stored cursor resumes the same operation: nothing lost or doubled', async () => {
    await start({
      count: 50,
      rows: () =>
        flattenForJsonl(
          orders(50, (n) => n % 4),
          FIELDS,
        ),
    });
    const first = reader();
    const p1 = await first.read({ query: QUERY, cursor: null, limit: 7 });
    const p2 = await first.read({ query: QUERY, cursor: p1.cursor, limit: 7 });
    await first.close(); // the worker dies; what it persisted is p2.cursor
    const stored = JSON.parse(JSON.stringify(p2.cursor));

    const second = reader();
    const rest = await readAll(second, stored, 7);
    const ids = [...p1.nodes, ...p2.nodes, ...rest.nodes].map((n) => n.id);
    expect(ids).toEqual([...orders(50)].map((o) => o.id));
    expect(new Set(ids).size).toBe(50);
    expect(rest.nodes[0]).toEqual(order(14, 14 % 4));
    expect(served!.fake.operations).toHaveLength(1);
    expect(rest.cursor.bulk.id).toBe(stored.bulk.id);
    expect(second.stats).toMatchObject({ started: 0, resumed: 1, restarted: 0, skipped: stored.bulk.line });
    expect(served!.fake.operations[0].downloads).toBe(2);
  });

  it('an aborted read closes its download; the same reader resumes from the stored cursor', async () => {
    await start({ count: 9 });
    const r = reader();
    const p1 = await r.read({ query: QUERY, cursor: null, limit: 4 });
    const stop = new AbortController();
    stop.abort(new Error('worker stopping'));
    await expect(r.read({ query: QUERY, cursor: p1.cursor, limit: 4, signal: stop.signal })).rejects.toThrow(
      'worker stopping',
    );
    const rest = await readAll(r, p1.cursor, 4);
    expect([...p1.nodes, ...rest.nodes].map((n) => n.name)).toEqual(
      Array.from({ length: 9 }, (_, n) => `#${1001 + n}`),
    );
    expect(r.stats).toMatchObject({ downloads: 2, resumed: 1 });
  });

  it('within one process the download stays open between pages', async () => {
    await start({ count: 20 });
    const r = reader();
    await readAll(r, null, 3);
    expect(r.stats).toMatchObject({ downloads: 1, skipped: 0 });
  });

  it.each([
    ['ACCESS_DENIED', 'auth', false],
    ['INTERNAL_SERVER_ERROR', 'transient', true],
    ['TIMEOUT', 'transient', true],
  ] as const)('a FAILED operation (%s) is a %s failure naming the errorCode', async (code, kind, transient) => {
    await start({ failWith: code });
    const e = await failureOf(reader().read({ query: QUERY, cursor: null, limit: 10 }));
    expect(e.kind).toBe(kind);
    expect(e.transient).toBe(transient);
    expect(e.message).toContain(code);
  });

  it('polls through CREATED and RUNNING with back-off, and persists the operation when its poll budget is spent', async () => {
    await start({ pollsToRun: 2, pollsToComplete: 4 });
    const waits: number[] = [];
    const r = reader({ maxPolls: 3, pollMs: 100, pollMaxMs: 300, sleep: async (ms) => void waits.push(ms) });
    const p1 = await r.read({ query: QUERY, cursor: null, limit: 10 });
    expect(p1).toMatchObject({
      nodes: [],
      more: true,
      cursor: { bulk: { id: served!.fake.operations[0].id, line: 0 } },
    });
    expect(waits).toEqual([100, 200, 300]);
    const rest = await readAll(r, p1.cursor, 10);
    expect(rest.nodes).toHaveLength(5);
    expect(served!.fake.operations).toHaveLength(1);
  });

  it('a stored operation that FAILED for a passing reason is run again when the pipeline retries the read', async () => {
    await start({ count: 4 });
    const r = reader({ maxPolls: 0 });
    const p1 = await r.read({ query: QUERY, cursor: null, limit: 10 });
    expect(p1.more).toBe(true);
    served!.fake.options.failWith = 'INTERNAL_SERVER_ERROR';
    const e = await failureOf(reader().read({ query: QUERY, cursor: p1.cursor, limit: 10 }));
    expect(e.kind).toBe('transient');
    served!.fake.options.failWith = undefined;
    const retry = reader();
    const { nodes, cursor } = await readAll(retry, p1.cursor, 10);
    expect(nodes.map((n) => n.name)).toEqual(['#1001', '#1002', '#1003', '#1004']);
    expect(retry.stats).toMatchObject({ restarted: 1, started: 1 });
    expect(cursor.bulk.id).toBe(served!.fake.operations[1].id);
  });

  it.each([400, 403] as const)(
    'an expired download link (HTTP %i) is signed afresh from the node: nothing lost',
    async (status) => {
      await start({ count: 12, expiredStatus: status });
      served!.fake.expireNextUrls(1);
      const r = reader();
      const { nodes } = await readAll(r, null, 5);
      expect(nodes.map((n) => n.id)).toEqual([...orders(12)].map((o) => o.id));
      expect(r.stats.urlRefreshes).toBe(1);
      expect(served!.fake.refused.expired).toBe(1);
    },
  );

  it('a reader resumed after its link expired gets a fresh link and continues at its line', async () => {
    await start({ count: 12 });
    const first = reader();
    const p1 = await first.read({ query: QUERY, cursor: null, limit: 5 });
    await first.close();
    // Links signed before the crash are dead, and so is the next one signed (it expires before it is used).
    served!.fake.expireUrls();
    served!.fake.expireNextUrls(1);
    const second = reader();
    const rest = await readAll(second, p1.cursor, 5);
    expect([...p1.nodes, ...rest.nodes].map((n) => n.id)).toEqual([...orders(12)].map((o) => o.id));
    expect(second.stats).toMatchObject({ resumed: 1, urlRefreshes: 1, started: 0 });
    expect(served!.fake.refused.expired).toBe(1);
    expect(served!.fake.operations).toHaveLength(1);
  });

  it('a link refused every time fails without quoting the signed URL', async () => {
    await start();
    served!.fake.expireNextUrls(10);
    const e = await failureOf(reader().read({ query: QUERY, cursor: null, limit: 5 }));
    expect(e.status).toBe(400);
    expect(e.message).toContain('ExpiredToken');
    expect(e.message).not.toMatch(/X-Goog|127\.0\.0\.1|bulk-results/);
  });

  it('an operation whose result expired is started again from line 0, and stats say so', async () => {
    await start({ count: 6 });
    const first = reader();
    const p1 = await first.read({ query: QUERY, cursor: null, limit: 4 });
    await first.close();
    served!.fake.expireResult(p1.cursor.bulk.id);
    const second = reader();
    const rest = await readAll(second, p1.cursor, 4);
    expect(served!.fake.operations).toHaveLength(2);
    expect(rest.cursor.bulk.id).toBe(served!.fake.operations[1].id);
    // Re-read from the start of the new operation: the first four again (the ledger skips them), then the rest.
    expect(rest.nodes.map((n) => n.name)).toEqual(['#1001', '#1002', '#1003', '#1004', '#1005', '#1006']);
    expect(second.stats).toMatchObject({ restarted: 1, started: 1 });
    expect(second.stats.lastRestart).toContain('EXPIRED');
  });

  it('a download dropped mid-file is a transient failure, and the stored cursor resumes it with nothing lost', async () => {
    await start({ count: 20 });
    served!.fake.dropNextDownloadAfter(37); // 7 orders and 2 lines of the 8th
    const r = reader();
    const got: Obj[] = [];
    let cursor: unknown = null;
    let dropped: ConnectorError | undefined;
    for (let n = 0; n < 20 && !dropped; n++) {
      try {
        const p = await r.read({ query: QUERY, cursor, limit: 3 });
        got.push(...p.nodes);
        cursor = p.cursor;
      } catch (e) {
        dropped = e as ConnectorError;
      }
    }
    expect(dropped).toBeInstanceOf(ConnectorError);
    expect(dropped?.kind).toBe('transient');
    expect(got.length).toBeLessThan(8);
    const rest = await readAll(r, cursor, 3);
    expect([...got, ...rest.nodes].map((n) => n.id)).toEqual([...orders(20)].map((o) => o.id));
    expect(served!.fake.operations).toHaveLength(1);
    expect(served!.fake.operations[0].downloads).toBe(2);
  });

  it('reassembles two levels of nesting (a child of a child) under dotted fields', async () => {
    const fo = (n: number, k: number): Obj => ({
      id: `gid://shopify/FulfillmentOrder/${n * 10 + k}`,
      status: 'OPEN',
      lineItems: { nodes: [{ id: `gid://shopify/FulfillmentOrderLineItem/${n * 100 + k}`, totalQuantity: 1 }] },
    });
    const nested = [0, 1].map((n) => ({ ...order(n, 1), fulfillmentOrders: { nodes: [fo(n, 1), fo(n, 2)] } }));
    await start({ rows: () => flattenForJsonl(nested, [...FIELDS, 'fulfillmentOrders']) });
    const children = {
      ...CHILDREN,
      FulfillmentOrder: 'fulfillmentOrders',
      FulfillmentOrderLineItem: 'FulfillmentOrder.lineItems',
    };
    const { nodes } = await readAll(reader({ children }), null, 1);
    expect(nodes).toEqual(nested);
  });

  it('a child without an id (a discount application) goes under the connection its __typename names', async () => {
    const discount = { __typename: 'DiscountCodeApplication', index: 0, code: 'SPRING', allocationMethod: 'ACROSS' };
    const withDiscounts = [0, 1].map((n) => ({ ...order(n, 1), discountApplications: { nodes: n ? [discount] : [] } }));
    await start({ rows: () => flattenForJsonl(withDiscounts, [...FIELDS, 'discountApplications']) });
    const children = { ...CHILDREN, DiscountCodeApplication: 'discountApplications' };
    const { nodes } = await readAll(reader({ children }), null, 5);
    expect(nodes).toEqual(withDiscounts);
    expect(nodes[1].discountApplications.nodes[0].code).toBe('SPRING');
  });

  it('an operation that found nothing (url null) is an empty last page', async () => {
    await start({ rows: () => [] });
    const p = await reader().read({ query: QUERY, cursor: null, limit: 5 });
    expect(p).toMatchObject({ nodes: [], more: false, cursor: { bulk: { done: true, line: 0 } } });
  });

  it('ungrouped output (a child not below its parent) is a permanent failure, not a misplaced child', async () => {
    await start({ count: 3 });
    const ungrouped = gqlOf(served!.url, (v) => ('groupObjects' in v ? { ...v, groupObjects: false } : v));
    const e = await failureOf(readAll(reader({}, ungrouped), null, 10));
    expect(e.kind).toBe('permanent');
    expect(e.message).toContain('groupObjects');
  });

  it('streams 100,000 orders in bounded memory: the fake generates as the reader reads', async () => {
    const total = 100_000;
    let generated = 0;
    function* counted(): Generator<Obj> {
      for (const row of flattenForJsonl(
        orders(total, () => 1),
        FIELDS,
      )) {
        generated++;
        yield row;
      }
    }
    await start({ rows: counted, objectCount: total * 3 });
    const r = reader();
    let cursor: unknown = null;
    let records = 0;
    let lastId = '';
    let generatedAfterFirstPage = 0;
    let writtenAtHalf = 0;
    for (;;) {
      const p = await r.read({ query: QUERY, cursor, limit: 250 });
      if (records === 0) generatedAfterFirstPage = generated;
      records += p.nodes.length;
      if (!writtenAtHalf && records >= total / 2) writtenAtHalf = served!.fake.operations[0].written;
      for (const n of p.nodes) expect(n.lineItems.nodes).toHaveLength(1);
      if (p.nodes.length) lastId = p.nodes.at(-1)!.id;
      cursor = p.cursor;
      if (!p.more) break;
    }
    expect(records).toBe(total);
    expect(lastId).toBe(order(total - 1).id);
    expect(r.stats.lines).toBe(total * 3);
    expect(r.stats.maxBuffered).toBeLessThanOrEqual(3);
    // Lazy: after the first page only what the socket buffers hold was generated, not the 300,000 lines.
    expect(generatedAfterFirstPage).toBeLessThan(total);
    expect(writtenAtHalf).toBeLessThan(total * 3);
    expect(generated).toBe(total * 3);
  }, 120_000);
});

describe('shopify bulk fake: concurrency as Shopify documents it', () => {
  const run = (gql: Gql, query = QUERY) =>
    gql('mutation bulkOperationRunQuery($query: String!, $groupObjects: Boolean!) { x }', {
      query,
      groupObjects: true,
    });

  it('before API 2026-01 a second bulk query is refused with OPERATION_IN_PROGRESS naming the running one', async () => {
    await start({ apiVersion: '2025-10' });
    const gql = gqlOf(served!.url);
    const a = await run(gql);
    expect(a.bulkOperationRunQuery.userErrors).toEqual([]);
    const id = a.bulkOperationRunQuery.bulkOperation.id;
    const b = await run(gql);
    expect(b.bulkOperationRunQuery).toEqual({
      bulkOperation: null,
      userErrors: [
        {
          field: null,
          message: `A bulk query operation for this app and shop is already in progress: ${id}.`,
          code: 'OPERATION_IN_PROGRESS',
        },
      ],
    });
    // Once it completes, the next one runs.
    for (let n = 0; n < 3; n++) await gql('query n($id: ID!) { node(id: $id) { id } }', { id });
    expect((await run(gql)).bulkOperationRunQuery.userErrors).toEqual([]);
  });

  it('from API 2026-01 five run at once and the sixth is refused', async () => {
    await start({ apiVersion: '2026-07' });
    const gql = gqlOf(served!.url);
    for (let n = 0; n < 5; n++) expect((await run(gql)).bulkOperationRunQuery.userErrors).toEqual([]);
    expect((await run(gql)).bulkOperationRunQuery.userErrors[0].code).toBe('OPERATION_IN_PROGRESS');
  });

  it('the reader adopts a running operation of its own query instead of failing or starting another', async () => {
    await start({ apiVersion: '2025-10' });
    const gql = gqlOf(served!.url);
    const mine = (await run(gql)).bulkOperationRunQuery.bulkOperation.id;
    const r = reader();
    const { nodes, cursor } = await readAll(r, null, 10);
    expect(nodes).toHaveLength(5);
    expect(cursor.bulk.id).toBe(mine);
    expect(r.stats).toMatchObject({ adopted: 1, started: 0 });
    expect(served!.fake.operations).toHaveLength(1);
  });

  it("another query's running operation makes the read throttled (retried later), and starts nothing", async () => {
    await start({ apiVersion: '2025-10' });
    const gql = gqlOf(served!.url);
    await run(gql, '{ products { edges { node { id } } } }');
    const e = await failureOf(reader().read({ query: QUERY, cursor: null, limit: 10 }));
    expect(e).toBeInstanceOf(ConnectorError);
    expect(e.kind).toBe('throttled');
    expect(served!.fake.operations).toHaveLength(1);
  });
});
