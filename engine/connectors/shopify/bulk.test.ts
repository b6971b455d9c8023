/**
 * The bulk reader (bulk.ts) against the bulk fake (fake-bulk.ts) on a real 127.0.0.1 server: results reassembled
 * with their children, pages, a reader killed mid-file resuming the same operation, failures, expired URLs.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { httpClient } from '../kit/index.js';
import { ConnectorError } from '../types.js';
import { type BulkCursor, type BulkNode, bulkReader, type Gql } from './bulk.js';
import { type BulkFakeOptions, createBulkFake, flattenForJsonl, type Row, serveBulkFake } from './fake-bulk.js';

const TOKEN = 'shpat_bulk_fake';
const QUERY = `{ orders(query: "updated_at:>='2026-01-01T00:00:00Z'", sortKey: UPDATED_AT) { edges { node { id name updatedAt totalPriceSet { shopMoney { amount currencyCode } } lineItems { edges { node { id sku quantity } } } refunds { id } } } } }`;
const CHILDREN = { LineItem: 'lineItems' };

/** GraphQL-shaped orders: order i has i % 4 line items (some none), generated one at a time. */
function* orders(n: number, counter?: { made: number }): Generator<Row> {
  for (let i = 1; i <= n; i++) {
    if (counter) counter.made++;
    yield {
      id: `gid://shopify/Order/${5_000_000_000 + i}`,
      name: `#${1000 + i}`,
      updatedAt: new Date(Date.UTC(2026, 0, 1) + Math.floor(i / 3) * 1000).toISOString(),
      totalPriceSet: { shopMoney: { amount: `${i}.50`, currencyCode: 'USD' } },
      lineItems: {
        nodes: Array.from({ length: i % 4 }, (_, j) => ({
          id: `gid://shopify/LineItem/${i * 10 + j}`,
          sku: `SKU-${j}`,
          quantity: j + 1,
        })),
      },
      refunds: [],
    };
  }
}

const servers: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function setUp(n: number, o: Partial<BulkFakeOptions> = {}, counter?: { made: number }) {
  const s = await serveBulkFake(
    (origin) => createBulkFake({ rows: () => flattenForJsonl(orders(n, counter), ['lineItems']), origin, ...o }),
    TOKEN,
  );
  servers.push(s);
  const client = httpClient(
    { settings: {} },
    { name: 'shopify', baseUrl: `${s.url}/admin/api/2026-07`, headers: () => ({ 'X-Shopify-Access-Token': TOKEN }) },
  );
  const gql: Gql = async (query, variables, signal) => {
    const r = await client.request('POST', 'graphql.json', { json: { query, variables }, signal });
    const body = r.json<{ data?: unknown; errors?: unknown }>();
    if (body.errors) throw new ConnectorError(JSON.stringify(body.errors), false);
    return body.data;
  };
  return { s, gql };
}

/** Reads every page from `cursor`, at most `pages` of them; the nodes and the last cursor. */
async function drain(read: ReturnType<typeof bulkReader>['read'], cursor: unknown, limit: number, pages = Infinity) {
  const nodes: BulkNode[] = [];
  let c = cursor;
  let more = true;
  for (let p = 0; more && p < pages; p++) {
    const page = await read({ query: QUERY, cursor: c, limit });
    nodes.push(...page.nodes);
    c = page.cursor;
    more = page.more;
  }
  return { nodes, cursor: c as BulkCursor, more };
}

const FAST = { pollMs: 5, pollMaxMs: 20 };

describe('bulk operations', () => {
  it('reads a result in pages of whole orders, their line items put back as a connection', async () => {
    const { s, gql } = await setUp(50);
    const reader = bulkReader(gql, undefined, { groupObjects: true, children: CHILDREN, ...FAST });
    const first = await reader.read({ query: QUERY, cursor: null, limit: 20 });
    expect(first.nodes).toEqual([]); // the operation's id alone, committed before anything is read
    expect(first.cursor.bulk.id).toMatch(/^gid:\/\/shopify\/BulkOperation\//);
    const { nodes, cursor } = await drain(reader.read, first.cursor, 20);
    expect(nodes.map((n) => n.id)).toEqual([...orders(50)].map((o) => o.id));
    const o7 = nodes.find((n) => n.name === '#1007')!;
    expect(o7.lineItems).toEqual({
      nodes: [
        { id: 'gid://shopify/LineItem/70', sku: 'SKU-0', quantity: 1 },
        { id: 'gid://shopify/LineItem/71', sku: 'SKU-1', quantity: 2 },
        { id: 'gid://shopify/LineItem/72', sku: 'SKU-2', quantity: 3 },
      ],
    });
    expect(nodes.find((n) => n.name === '#1004')!.lineItems).toBeUndefined(); // no children, no lines
    expect((o7.totalPriceSet as { shopMoney: { amount: string } }).shopMoney.amount).toBe('7.50');
    expect(cursor.bulk.done).toBe(true);
    expect(cursor.bulk.line).toBe([...flattenForJsonl(orders(50), ['lineItems'])].length);
    expect(s.fake.operations.size).toBe(1);
    expect(reader.stats.downloads).toBe(1);
    // A page of exactly `limit` orders, except the last.
    const sizes: number[] = [];
    let c: unknown = first.cursor;
    for (let more = true; more; ) {
      const p = await bulkReader(gql, undefined, { groupObjects: true, children: CHILDREN, ...FAST }).read({
        query: QUERY,
        cursor: c,
        limit: 20,
      });
      sizes.push(p.nodes.length);
      c = p.cursor;
      more = p.more;
    }
    expect(sizes).toEqual([20, 20, 10]);
  });

  it('a reader killed mid-file resumes the same operation at the same line: nothing lost, nothing twice', async () => {
    const { s, gql } = await setUp(1000);
    const a = bulkReader(gql, undefined, { groupObjects: true, children: CHILDREN, ...FAST });
    const start = await a.read({ query: QUERY, cursor: null, limit: 100 });
    const before = await drain(a.read, start.cursor, 100, 4);
    a.close(); // the worker dies here; its last committed cursor is `before.cursor`
    expect(before.nodes).toHaveLength(400);
    const b = bulkReader(gql, undefined, { groupObjects: true, children: CHILDREN, ...FAST });
    const after = await drain(b.read, before.cursor, 100);
    expect(after.cursor.bulk.id).toBe(start.cursor.bulk.id);
    expect(s.fake.operations.size).toBe(1); // no second operation
    expect(b.stats.started).toBe(0);
    const ids = [...before.nodes, ...after.nodes].map((n) => n.id);
    expect(new Set(ids).size).toBe(1000);
    expect(ids).toEqual([...orders(1000)].map((o) => o.id));
    // The resumed order kept its children whole, though its parent line had been read ahead by the dead reader.
    const resumedFirst = after.nodes[0];
    expect(resumedFirst.name).toBe('#1401');
    expect((resumedFirst.lineItems as { nodes: unknown[] }).nodes).toHaveLength(1401 % 4);
  });

  it('an operation that is still running returns an empty page and is polled again on the next read', async () => {
    const { s, gql } = await setUp(10, { pollsCreated: 3, pollsRunning: 50 });
    const reader = bulkReader(gql, undefined, {
      groupObjects: true,
      children: CHILDREN,
      pollMs: 5,
      pollMaxMs: 5,
      pollBudgetMs: 60,
    });
    const first = await reader.read({ query: QUERY, cursor: null, limit: 5 });
    const second = await reader.read({ query: QUERY, cursor: first.cursor, limit: 5 });
    expect(second).toEqual({ nodes: [], cursor: first.cursor, more: true });
    expect(s.fake.operations.get(first.cursor.bulk.id)!.status).toBe('RUNNING');
    const { nodes } = await drain(
      bulkReader(gql, undefined, {
        groupObjects: true,
        children: CHILDREN,
        pollMs: 5,
        pollMaxMs: 5,
        pollBudgetMs: 5_000,
      }).read,
      first.cursor,
      5,
    );
    expect(nodes).toHaveLength(10);
  });

  it('an intermittent failure starts a new operation; access denied is an auth failure; canceled stops', async () => {
    const { s, gql } = await setUp(30);
    const reader = bulkReader(gql, undefined, { groupObjects: true, children: CHILDREN, ...FAST });
    s.fake.failNext('INTERNAL_SERVER_ERROR');
    const first = await reader.read({ query: QUERY, cursor: null, limit: 50 });
    const restarted = await reader.read({ query: QUERY, cursor: first.cursor, limit: 50 });
    expect(restarted.nodes).toEqual([]);
    expect(restarted.cursor.bulk.id).not.toBe(first.cursor.bulk.id);
    expect(restarted.cursor.bulk.restarts).toBe(1);
    expect(s.fake.operations.get(first.cursor.bulk.id)!.status).toBe('FAILED');
    const { nodes } = await drain(reader.read, restarted.cursor, 50);
    expect(nodes).toHaveLength(30);
    expect(reader.stats.restarts).toBe(1);

    s.fake.failNext('ACCESS_DENIED');
    const denied = await reader.read({ query: QUERY, cursor: null, limit: 50 });
    const err = await reader.read({ query: QUERY, cursor: denied.cursor, limit: 50 }).catch((e) => e);
    expect(err).toBeInstanceOf(ConnectorError);
    expect(err.kind).toBe('auth');
    expect(err.message).toMatch(/ACCESS_DENIED.*scope/);

    const third = await reader.read({ query: QUERY, cursor: null, limit: 50 });
    s.fake.operations.get(third.cursor.bulk.id)!.status = 'CANCELING';
    const canceled = await reader.read({ query: QUERY, cursor: third.cursor, limit: 50 }).catch((e) => e);
    expect(canceled.kind).toBe('permanent');
    expect(canceled.message).toMatch(/was canceled/);
  });

  it('keeps starting over on repeated failures only up to maxRestarts', async () => {
    const { s, gql } = await setUp(5);
    const reader = bulkReader(gql, undefined, { groupObjects: true, children: CHILDREN, ...FAST, maxRestarts: 2 });
    let c: unknown = null;
    let err: ConnectorError | undefined;
    for (let i = 0; i < 10 && !err; i++) {
      s.fake.failNext('TIMEOUT');
      try {
        c = (await reader.read({ query: QUERY, cursor: c, limit: 10 })).cursor;
      } catch (e) {
        err = e as ConnectorError;
      }
    }
    expect(err?.kind).toBe('transient');
    expect(err?.message).toMatch(/TIMEOUT/);
    expect(s.fake.operations.size).toBe(3); // the first and two restarts
  });

  it('an expired URL is asked for again; a result gone is read anew from a new operation', async () => {
    const { s, gql } = await setUp(300);
    const a = bulkReader(gql, undefined, { groupObjects: true, children: CHILDREN, ...FAST });
    const start = await a.read({ query: QUERY, cursor: null, limit: 100 });
    const part = await drain(a.read, start.cursor, 100, 2);
    a.close();
    s.fake.expireUrls(); // the signed URL the dead reader had is no good now
    const b = bulkReader(gql, undefined, { groupObjects: true, children: CHILDREN, ...FAST });
    const rest = await drain(b.read, part.cursor, 100);
    expect(b.stats.urlRefreshes).toBe(0); // every poll hands out a fresh URL: the new reader's is good
    expect([...part.nodes, ...rest.nodes].map((n) => n.id)).toEqual([...orders(300)].map((o) => o.id));

    // A stale URL in hand (the fake revokes what was issued) is refused with 400 ExpiredToken, then asked again.
    let calls = 0;
    const staleOnce = async (url: string, signal?: AbortSignal) => {
      calls++;
      if (calls === 1) s.fake.expireUrls();
      const { fetchResult } = await import('./bulk.js');
      return fetchResult(url, signal);
    };
    const c = bulkReader(gql, staleOnce, { children: CHILDREN, ...FAST });
    const again = await drain(c.read, { bulk: { ...start.cursor.bulk, line: 0 } }, 500);
    expect(c.stats.urlRefreshes).toBe(1);
    expect(again.nodes).toHaveLength(300);

    // The result itself is gone (EXPIRED): a new operation, read from its start; the ledger skips the re-reads.
    s.fake.expire(start.cursor.bulk.id);
    const d = bulkReader(gql, undefined, { groupObjects: true, children: CHILDREN, ...FAST });
    const renewed = await drain(d.read, part.cursor, 100);
    expect(renewed.cursor.bulk.id).not.toBe(start.cursor.bulk.id);
    expect(renewed.nodes).toHaveLength(300);
    expect(d.stats.restarts).toBe(1);
  });

  it('a second bulk query while one runs is refused as Shopify does before 2026-01, and is throttled, not failed', async () => {
    const { gql } = await setUp(5, { apiVersion: '2025-10', pollsRunning: 1000 });
    const reader = bulkReader(gql, undefined, { groupObjects: true, children: CHILDREN, ...FAST });
    await reader.read({ query: QUERY, cursor: null, limit: 10 });
    const err = await reader.read({ query: QUERY, cursor: null, limit: 10 }).catch((e) => e);
    expect(err.kind).toBe('throttled');
    expect(err.retryAfterMs).toBeGreaterThan(0);
    expect(err.message).toMatch(/already in progress/);
  });

  it('five at a time from 2026-01', async () => {
    const { s, gql } = await setUp(5, { apiVersion: '2026-01', pollsRunning: 1000 });
    const reader = bulkReader(gql, undefined, { groupObjects: true, children: CHILDREN, ...FAST });
    for (let i = 0; i < 5; i++) await reader.read({ query: QUERY, cursor: null, limit: 10 });
    await expect(reader.read({ query: QUERY, cursor: null, limit: 10 })).rejects.toMatchObject({ kind: 'throttled' });
    expect(s.fake.operations.size).toBe(5);
  });

  it('streams a 100,000-order result: generated lazily by the fake, read in pages without holding the file', async () => {
    const counter = { made: 0 };
    const { gql } = await setUp(100_000, {}, counter);
    const reader = bulkReader(gql, undefined, { groupObjects: true, children: CHILDREN, ...FAST });
    let c: unknown = (await reader.read({ query: QUERY, cursor: null, limit: 1000 })).cursor;
    let total = 0;
    let largest = 0;
    let lastId = '';
    let madeAtFirstPage = 0;
    for (let more = true; more; ) {
      const p = await reader.read({ query: QUERY, cursor: c, limit: 1000 });
      if (!madeAtFirstPage && p.nodes.length) madeAtFirstPage = counter.made;
      total += p.nodes.length;
      largest = Math.max(largest, p.nodes.length);
      if (p.nodes.length) lastId = String(p.nodes.at(-1)!.id);
      c = p.cursor;
      more = p.more;
    }
    expect(total).toBe(100_000);
    expect(largest).toBe(1000);
    expect(lastId).toBe('gid://shopify/Order/5000100000');
    // When the first page arrived, the fake had generated only a part of the download (back-pressure), not the file.
    // The fake counted the result once at completion (100,000 made); when the first page arrived the download had
    // made only what the socket's buffers hold ahead (about 12,000 here), not the file.
    expect(madeAtFirstPage).toBeLessThan(100_000 + 50_000);
  });

  it('a child line whose parent was already emitted is a clear failure, not a silent loss', async () => {
    const rows: Row[] = [
      { id: 'gid://shopify/Order/1' },
      { id: 'gid://shopify/Order/2' },
      { id: 'gid://shopify/LineItem/9', __parentId: 'gid://shopify/Order/1' },
    ];
    const { gql } = await setUp(0, { rows: () => rows });
    const reader = bulkReader(gql, undefined, { groupObjects: true, children: CHILDREN, ...FAST });
    const first = await reader.read({ query: QUERY, cursor: null, limit: 10 });
    const err = await reader.read({ query: QUERY, cursor: first.cursor, limit: 10 }).catch((e) => e);
    expect(err.kind).toBe('permanent');
    expect(err.message).toMatch(/LineItem\/9 after a parent other than gid:\/\/shopify\/Order\/1/);
  });

  it('children without an id go back under the connection their __typename names', async () => {
    const rows: Row[] = [
      { id: 'gid://shopify/Order/1', name: '#1' },
      { __typename: 'DiscountCodeApplication', index: 0, code: 'SPRING', __parentId: 'gid://shopify/Order/1' },
      { id: 'gid://shopify/LineItem/9', sku: 'A', __parentId: 'gid://shopify/Order/1' },
      { id: 'gid://shopify/Order/2', name: '#2' },
    ];
    const { gql } = await setUp(0, { rows: () => rows });
    const reader = bulkReader(gql, undefined, {
      groupObjects: true,
      children: { ...CHILDREN, DiscountCodeApplication: 'discountApplications' },
      ...FAST,
    });
    const first = await reader.read({ query: QUERY, cursor: null, limit: 10 });
    const { nodes } = await drain(reader.read, first.cursor, 10);
    expect(nodes).toEqual([
      {
        id: 'gid://shopify/Order/1',
        name: '#1',
        discountApplications: { nodes: [{ __typename: 'DiscountCodeApplication', index: 0, code: 'SPRING' }] },
        lineItems: { nodes: [{ id: 'gid://shopify/LineItem/9', sku: 'A' }] },
      },
      { id: 'gid://shopify/Order/2', name: '#2' },
    ]);
  });

  it('without groupObjects (the default from 2026-01) the children come after every parent: refused, not lost', async () => {
    const { gql } = await setUp(10);
    const reader = bulkReader(gql, undefined, { children: CHILDREN, ...FAST });
    const first = await reader.read({ query: QUERY, cursor: null, limit: 100 });
    const err = await drain(reader.read, first.cursor, 100).catch((e) => e);
    expect(err.kind).toBe('permanent');
    expect(err.message).toMatch(/after a parent other than/);
  });

  it('an empty result completes with no url and no pages', async () => {
    const { gql } = await setUp(0);
    const reader = bulkReader(gql, undefined, { groupObjects: true, children: CHILDREN, ...FAST });
    const first = await reader.read({ query: QUERY, cursor: null, limit: 10 });
    const p = await reader.read({ query: QUERY, cursor: first.cursor, limit: 10 });
    expect(p).toMatchObject({ nodes: [], more: false, cursor: { bulk: { done: true } } });
  });
});
