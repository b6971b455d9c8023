/**
 * The `http` connector (engine/connectors/http/connector.ts) against a real `node:http` server on 127.0.0.1 that behaves like
 * documented REST APIs: cursor pagination (meta.next_cursor), Shopify-style Link headers (page_info, which rejects
 * any other filter), offset pagination, bearer / basic / API-key checks, an oauth2 client-credentials token
 * endpoint, scripted 429s (Retry-After) and 500s, a PUT that answers 422 to an invalid record, and a batch endpoint
 * answering 207 with per-item results. Every read drains a stream page by page the way the pipeline does, and every
 * error message seen is checked, at the end, for every secret value and derived credential.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { testDatabase } from '../../../test/helpers/db.js';
import { limiterFor } from '../../runtime/throttle.js';
import { migrate } from '../../state/migrate.js';
import { nextLink, openHttp, parseRetryAfter, type HttpOptions } from './connector.js';
import { resolveSecret } from '../secrets.js';
import { ConnectorError, type OpenConnector, type WriteResult } from '../types.js';

// ---- secrets ------------------------------------------------------------------------------------------------------

const SECRETS = {
  HTTP_TEST_BEARER: 'bearer-tok-9f8e7d6c',
  HTTP_TEST_PASSWORD: 'pa55-w0rd-q7',
  HTTP_TEST_API_KEY: 'key-abc-123-xyz',
  HTTP_TEST_CLIENT_SECRET: 'client-secret-77aa',
};
const USERNAME = 'shop-admin';
const BASIC = Buffer.from(`${USERNAME}:${SECRETS.HTTP_TEST_PASSWORD}`).toString('base64');
const ref = (name: keyof typeof SECRETS) => ({ secretRef: `env:${name}` });

// ---- the API ------------------------------------------------------------------------------------------------------

interface Seen {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: IncomingMessage['headers'];
  body: string;
}

interface Scripted {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

const orders = Array.from({ length: 7 }, (_, i) => ({ id: `o${i + 1}`, updated_at: `2024-01-0${i + 1}T00:00:00Z` }));
const products = Array.from({ length: 5 }, (_, i) => ({ id: 100 + i, title: `Product ${i + 1}` }));
const customers = Array.from({ length: 5 }, (_, i) => ({ id: `c${i + 1}` }));

const state = {
  seen: [] as Seen[],
  /** Responses to give instead of the real one, by path, first come first served. */
  scripted: new Map<string, Scripted[]>(),
  events: [] as { seq: number }[],
  stored: new Map<string, unknown>(),
  tokenTtl: 3600,
  tokensIssued: 0,
  validTokens: new Set<string>(),
  tokenForms: [] as Record<string, string>[],
  /** Where the link stream's Link header points (to test that another origin is refused). */
  linkHost: '',
};

let server: Server;
let base = '';

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json', ...headers });
  res.end(text);
}

function handle(req: IncomingMessage, res: ServerResponse, body: string): void {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const path = url.pathname;
  const query = Object.fromEntries(url.searchParams);
  state.seen.push({ method: req.method ?? '', path, query, headers: req.headers, body });

  const script = state.scripted.get(path)?.shift();
  if (script) return send(res, script.status, script.body ?? { error: 'scripted' }, script.headers);

  const auth = req.headers.authorization ?? '';

  // oauth2 client credentials, form-encoded (RFC 6749 §4.4).
  if (path === '/oauth/token') {
    const form = Object.fromEntries(new URLSearchParams(body));
    state.tokenForms.push(form);
    if (
      form.grant_type !== 'client_credentials' ||
      form.client_id !== 'rsync-app' ||
      form.client_secret !== SECRETS.HTTP_TEST_CLIENT_SECRET
    ) {
      return send(res, 401, { error: 'invalid_client' });
    }
    const token = `at-${++state.tokensIssued}-${Math.random().toString(36).slice(2, 10)}`;
    state.validTokens.add(token);
    return send(res, 200, { access_token: token, token_type: 'Bearer', expires_in: state.tokenTtl });
  }

  // Cursor pagination, bearer auth, updated_since / updated_before filters.
  if (path === '/v1/orders') {
    if (auth !== `Bearer ${SECRETS.HTTP_TEST_BEARER}`) return send(res, 401, { error: 'unauthorized' });
    const matching = orders.filter(
      (o) =>
        (!query.updated_since || o.updated_at >= query.updated_since) &&
        (!query.updated_before || o.updated_at < query.updated_before),
    );
    const start = query.cursor ? Number(Buffer.from(query.cursor, 'base64url').toString()) : 0;
    const limit = Number(query.limit ?? 50);
    const page = matching.slice(start, start + limit);
    const end = start + page.length;
    return send(res, 200, {
      data: page,
      meta: { next_cursor: end < matching.length ? Buffer.from(String(end)).toString('base64url') : null },
    });
  }

  // Shopify REST Admin-style Link pagination, basic auth. page_info URLs accept nothing but limit.
  if (path === '/v1/products.json') {
    if (auth !== `Basic ${BASIC}`) return send(res, 401, { errors: '[API] Invalid API key or access token' });
    if (query.page_info && Object.keys(query).some((k) => k !== 'page_info' && k !== 'limit')) {
      return send(res, 400, { errors: 'page_info cannot be combined with other filters' });
    }
    const limit = Number(query.limit ?? 50);
    const start = query.page_info ? Number(Buffer.from(query.page_info, 'base64url').toString()) : 0;
    const page = products.slice(start, start + limit);
    const links: string[] = [];
    const at = (n: number) =>
      `<${state.linkHost || base}/v1/products.json?limit=${limit}&page_info=${Buffer.from(String(n)).toString('base64url')}>`;
    if (start > 0) links.push(`${at(Math.max(0, start - limit))}; rel="previous"`);
    if (start + limit < products.length) links.push(`${at(start + limit)}; rel="next"`);
    return send(res, 200, { products: page }, links.length ? { link: links.join(', ') } : {});
  }

  // Offset pagination, API key in a custom header.
  if (path === '/v1/customers') {
    if (req.headers['x-shop-key'] !== SECRETS.HTTP_TEST_API_KEY) return send(res, 401, { error: 'bad key' });
    const offset = Number(query.offset ?? 0);
    return send(res, 200, { items: customers.slice(offset, offset + Number(query.per_page ?? 50)) });
  }

  // A sync-token feed: next_cursor is always given, and is the one sent when nothing is newer.
  if (path === '/v1/events') {
    if (req.headers['x-api-key'] !== SECRETS.HTTP_TEST_API_KEY) return send(res, 401, { error: 'bad key' });
    const after = Number(query.cursor ?? 0);
    const page = state.events.filter((e) => e.seq > after).slice(0, Number(query.limit));
    return send(res, 200, { events: page, next_cursor: String(page.length ? page[page.length - 1].seq : after) });
  }

  // oauth2-protected reads.
  if (path === '/v1/oauth/orders') {
    const token = auth.startsWith('Bearer ') ? auth.slice(7) : '';
    if (!state.validTokens.has(token)) return send(res, 401, { error: 'invalid_token' });
    return send(res, 200, orders.slice(0, 2));
  }

  // A redirect to another origin, which must not receive the API key.
  if (path === '/v1/moved')
    return send(res, 301, '', { location: `${base.replace('127.0.0.1', 'localhost')}/v1/elsewhere` });
  if (path === '/v1/elsewhere') return send(res, 200, []);

  if (path === '/v1/slow') return void setTimeout(() => send(res, 200, []), 2000);
  if (path === '/v1/not-a-list') return send(res, 200, { count: 3 });

  // Upserts by key in the path; a record without a sku is invalid. A careless API echoes the credentials it got.
  const item = /^\/v1\/items\/([^/]+)$/.exec(path);
  if (item && req.method === 'PUT') {
    const key = decodeURIComponent(item[1]);
    if (key === 'echo')
      return send(res, 422, `invalid: you sent authorization=${auth} x-api-key=${req.headers['x-api-key'] ?? ''}`);
    if (!auth) return send(res, 401, { error: 'unauthorized' });
    const record = JSON.parse(body) as { sku?: string };
    if (!record.sku) return send(res, 422, { errors: { sku: ['is required'] } });
    state.stored.set(key, record);
    return send(res, 200, { id: `T-${key}` });
  }

  // Idempotency-Key upserts answering { order: { id } }.
  if (path === '/v1/orders-in' && req.method === 'POST') {
    const key = req.headers['idempotency-key'];
    if (typeof key !== 'string') return send(res, 400, { error: 'Idempotency-Key required' });
    state.stored.set(key, JSON.parse(body));
    return send(res, 201, { order: { id: `ORD-${key}` } });
  }

  // Batch upserts: 207 with one result per item, in order.
  if (path === '/v1/items/batch' && req.method === 'POST') {
    const items = JSON.parse(body) as { key: string; record: { sku?: string } }[];
    const results = items.map(({ key, record }) => {
      if (!record.sku) return { ok: false, status: 422, error: 'sku is required' };
      state.stored.set(key, record);
      return { ok: true, id: `B-${key}` };
    });
    return send(res, 207, results);
  }

  send(res, 404, { error: 'not found' });
}

// ---- helpers ------------------------------------------------------------------------------------------------------

/** Every error message any test saw, checked for secrets at the end. */
const messages: string[] = [];

const throttled = { calls: 0, pauses: [] as number[] };

function open(settings: Record<string, unknown>, options?: HttpOptions): OpenConnector {
  return openHttp(
    {
      settings: { baseUrl: `${base}/v1`, rateLimit: { perSecond: 1000 }, ...settings },
      secret: resolveSecret,
      system: 'test/api',
      limiter: () => ({
        take: async () => void throttled.calls++,
        observe: async () => {},
        pause: async (ms) => void throttled.pauses.push(ms),
      }),
    },
    options,
  );
}

async function failureOf(p: Promise<unknown>): Promise<ConnectorError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ConnectorError);
  messages.push((e as ConnectorError).message);
  return e as ConnectorError;
}

function noteResults(results: WriteResult[]): WriteResult[] {
  for (const r of results) if (!r.ok) messages.push(r.error);
  return results;
}

/** Reads a stream to its end as the pipeline does, handing each page's cursor to the next read. */
async function drain(c: OpenConnector, stream: string, limit: number, window: { since?: string; until?: string } = {}) {
  const records: unknown[] = [];
  const cursors: unknown[] = [];
  let cursor: unknown = null;
  for (let pages = 0; ; pages++) {
    if (pages > 20) throw new Error(`${stream}: more than 20 pages — the connector does not end`);
    const page = await c.read!({ stream, cursor, limit, ...window });
    records.push(...page.records);
    cursors.push(page.cursor);
    cursor = page.cursor;
    if (!page.more) return { records, cursors, pages: pages + 1, last: page.cursor };
  }
}

const seenAt = (path: string) => state.seen.filter((s) => s.path === path);
const ids = (records: unknown[]) => records.map((r) => (r as { id: unknown }).id);

beforeAll(async () => {
  Object.assign(process.env, SECRETS);
  server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => handle(req, res, body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  for (const name of Object.keys(SECRETS)) delete process.env[name];
});

beforeEach(() => {
  state.seen = [];
  state.scripted.clear();
  state.stored.clear();
  state.tokenTtl = 3600;
  state.tokensIssued = 0;
  state.validTokens.clear();
  state.tokenForms = [];
  state.linkHost = '';
  throttled.calls = 0;
  throttled.pauses = [];
});

const cursorStream = {
  path: '/orders',
  pagination: { type: 'cursor', param: 'cursor', next: 'meta.next_cursor' },
  since: { param: 'updated_since' },
  until: { param: 'updated_before' },
};

// ---- reads --------------------------------------------------------------------------------------------------------

describe('reading', () => {
  it('follows cursor pagination to the end, in order, once each, with the bearer token', async () => {
    const c = open({ auth: { type: 'bearer', token: ref('HTTP_TEST_BEARER') }, streams: { orders: cursorStream } });
    const { records, pages, last } = await drain(c, 'orders', 3);
    expect(ids(records)).toEqual(['o1', 'o2', 'o3', 'o4', 'o5', 'o6', 'o7']);
    expect(pages).toBe(3);
    expect(last).toBeNull();
    const seen = seenAt('/v1/orders');
    expect(seen.map((s) => s.headers.authorization)).toEqual(Array(3).fill(`Bearer ${SECRETS.HTTP_TEST_BEARER}`));
    expect(seen.map((s) => s.query.limit)).toEqual(['3', '3', '3']);
    expect(seen[0].query.cursor).toBeUndefined();
    expect(seen[1].query.cursor).toBe(Buffer.from('3').toString('base64url'));
    // One throttle call per request, before it.
    expect(throttled.calls).toBe(state.seen.length);
  });

  it('reads incrementally in slices when since names the updated-time field: the next read asks only what changed', async () => {
    const sliced = { ...cursorStream, since: { param: 'updated_since', field: 'updated_at' } };
    const c = open({ auth: { type: 'bearer', token: ref('HTTP_TEST_BEARER') }, streams: { orders: sliced } });
    const first = await drain(c, 'orders', 3);
    expect(ids(first.records)).toEqual(['o1', 'o2', 'o3', 'o4', 'o5', 'o6', 'o7']);
    // Mid-walk the cursor keeps the slice's start, the API's page token and the newest time seen.
    expect(first.cursors[0]).toEqual({
      since: null,
      token: Buffer.from('3').toString('base64url'),
      high: '2024-01-03T00:00:00.000Z',
    });
    // The walk done, the next slice starts a minute (the overlap) before the newest record read.
    expect(first.last).toEqual({ since: '2024-01-06T23:59:00.000Z' });
    const next = await c.read!({ stream: 'orders', cursor: first.last, limit: 3 });
    expect(ids(next.records)).toEqual(['o7']);
    expect(next.more).toBe(false);
    const seen = seenAt('/v1/orders');
    expect(seen[0].query.updated_since).toBeUndefined();
    expect(seen[seen.length - 1].query.updated_since).toBe('2024-01-06T23:59:00.000Z');
  });

  it('passes a window as the since / until query parameters on every page', async () => {
    const c = open({ auth: { type: 'bearer', token: ref('HTTP_TEST_BEARER') }, streams: { orders: cursorStream } });
    const { records } = await drain(c, 'orders', 2, { since: '2024-01-02T00:00:00Z', until: '2024-01-06T00:00:00Z' });
    expect(ids(records)).toEqual(['o2', 'o3', 'o4', 'o5']);
    for (const s of seenAt('/v1/orders')) {
      expect(s.query.updated_since).toBe('2024-01-02T00:00:00Z');
      expect(s.query.updated_before).toBe('2024-01-06T00:00:00Z');
    }
  });

  it('follows Link rel="next" headers verbatim (Shopify page_info), with basic auth and a records selector', async () => {
    const c = open({
      auth: { type: 'basic', username: USERNAME, password: ref('HTTP_TEST_PASSWORD') },
      streams: {
        products: {
          path: '/products.json',
          records: 'products',
          pagination: { type: 'link' },
          since: { param: 'updated_at_min' },
        },
      },
    });
    const { records, cursors } = await drain(c, 'products', 2, { since: '2024-01-01T00:00:00Z' });
    expect(ids(records)).toEqual([100, 101, 102, 103, 104]);
    // The cursor is the next page's URL: rel="next", not the rel="previous" listed before it.
    expect(cursors[0]).toBe(`${base}/v1/products.json?limit=2&page_info=${Buffer.from('2').toString('base64url')}`);
    expect(cursors[1]).toBe(`${base}/v1/products.json?limit=2&page_info=${Buffer.from('4').toString('base64url')}`);
    expect(cursors[2]).toBeNull();
    const seen = seenAt('/v1/products.json');
    expect(seen).toHaveLength(3);
    expect(seen.every((s) => s.headers.authorization === `Basic ${BASIC}`)).toBe(true);
    // The filter goes on the first request only: page_info URLs reject it (the server would answer 400).
    expect(seen[0].query.updated_at_min).toBe('2024-01-01T00:00:00Z');
    expect(seen.slice(1).every((s) => s.query.updated_at_min === undefined)).toBe(true);
  });

  it('refuses a Link to another origin rather than send it the credentials', async () => {
    state.linkHost = base.replace('127.0.0.1', 'localhost');
    const c = open({
      auth: { type: 'basic', username: USERNAME, password: ref('HTTP_TEST_PASSWORD') },
      streams: { products: { path: '/products.json', records: 'products', pagination: { type: 'link' } } },
    });
    const first = await c.read!({ stream: 'products', cursor: null, limit: 2 });
    expect(first.more).toBe(true);
    const before = state.seen.length;
    const e = await failureOf(c.read!({ stream: 'products', cursor: first.cursor, limit: 2 }));
    expect(e.transient).toBe(false);
    expect(state.seen.length).toBe(before);
  });

  it('reports a redirect instead of following it with the credentials', async () => {
    const c = open({ auth: { type: 'apiKey', key: ref('HTTP_TEST_API_KEY') }, streams: { moved: { path: '/moved' } } });
    const e = await failureOf(c.read!({ stream: 'moved', cursor: null, limit: 2 }));
    expect([e.transient, e.status]).toEqual([false, 301]);
    expect(e.message).toContain('redirects are not followed');
    expect(seenAt('/v1/elsewhere')).toHaveLength(0);
  });

  it('pages by offset with an API key in a named header, ending on an empty page', async () => {
    const c = open({
      auth: { type: 'apiKey', header: 'X-Shop-Key', key: ref('HTTP_TEST_API_KEY') },
      streams: {
        customers: { path: '/customers', pagination: { type: 'offset', param: 'offset', limitParam: 'per_page' } },
      },
    });
    const { records, cursors } = await drain(c, 'customers', 2);
    expect(ids(records)).toEqual(['c1', 'c2', 'c3', 'c4', 'c5']);
    expect(cursors).toEqual([2, 4, 5, null]);
    const seen = seenAt('/v1/customers');
    expect(seen.map((s) => [s.query.offset, s.query.per_page])).toEqual([
      ['0', '2'],
      ['2', '2'],
      ['4', '2'],
      ['5', '2'],
    ]);
    expect(seen.every((s) => s.headers['x-shop-key'] === SECRETS.HTTP_TEST_API_KEY && !s.headers.authorization)).toBe(
      true,
    );
  });

  it('keeps a sync token the API hands back unchanged, so the next read gets only what is new', async () => {
    state.events = [{ seq: 1 }, { seq: 2 }, { seq: 3 }];
    const c = open({
      auth: { type: 'apiKey', key: ref('HTTP_TEST_API_KEY') },
      streams: { events: { path: '/events', records: 'events', pagination: { type: 'cursor', next: 'next_cursor' } } },
    });
    const first = await drain(c, 'events', 2);
    expect(first.records).toEqual([{ seq: 1 }, { seq: 2 }, { seq: 3 }]);
    expect(first.last).toBe('3');
    // The default header name is X-API-Key.
    expect(seenAt('/v1/events').every((s) => s.headers['x-api-key'] === SECRETS.HTTP_TEST_API_KEY)).toBe(true);
    state.events.push({ seq: 4 });
    const page = await c.read!({ stream: 'events', cursor: first.last, limit: 2 });
    expect(page.records).toEqual([{ seq: 4 }]);
    expect(page.more).toBe(true);
  });

  it('rejects missing credentials as a permanent 401, and a 404 likewise', async () => {
    const c = open({ streams: { orders: cursorStream, nothing: { path: '/nothing' } } });
    const e = await failureOf(c.read!({ stream: 'orders', cursor: null, limit: 2 }));
    expect([e.transient, e.status]).toEqual([false, 401]);
    expect(e.message).toMatch(/^http: GET \/v1\/orders: HTTP 401 Unauthorized/);
    const missing = await failureOf(c.read!({ stream: 'nothing', cursor: null, limit: 2 }));
    expect([missing.transient, missing.status]).toEqual([false, 404]);
  });

  it('reports a 429 with Retry-After: 2 as transient with retryAfterMs 2000, without retrying it', async () => {
    state.scripted.set('/v1/orders', [{ status: 429, headers: { 'retry-after': '2' }, body: { error: 'slow down' } }]);
    const c = open({ auth: { type: 'bearer', token: ref('HTTP_TEST_BEARER') }, streams: { orders: cursorStream } });
    const e = await failureOf(c.read!({ stream: 'orders', cursor: null, limit: 3 }));
    expect([e.transient, e.retryAfterMs, e.status]).toEqual([true, 2000, 429]);
    expect(e.message).toContain('HTTP 429 Too Many Requests');
    expect(seenAt('/v1/orders')).toHaveLength(1);
    // The pipeline's retry then succeeds.
    const page = await c.read!({ stream: 'orders', cursor: null, limit: 3 });
    expect(ids(page.records)).toEqual(['o1', 'o2', 'o3']);
  });

  it('reports a 500 as transient, and a 503 with an HTTP-date Retry-After', async () => {
    const at = new Date(Date.now() + 5000).toUTCString();
    state.scripted.set('/v1/orders', [{ status: 500 }, { status: 503, headers: { 'retry-after': at } }]);
    const c = open({ auth: { type: 'bearer', token: ref('HTTP_TEST_BEARER') }, streams: { orders: cursorStream } });
    const e500 = await failureOf(c.read!({ stream: 'orders', cursor: null, limit: 3 }));
    expect([e500.transient, e500.status, e500.retryAfterMs]).toEqual([true, 500, undefined]);
    const e503 = await failureOf(c.read!({ stream: 'orders', cursor: null, limit: 3 }));
    expect([e503.transient, e503.status]).toEqual([true, 503]);
    // HTTP dates have whole seconds: 5 s ahead is 4-5 s from now.
    expect(e503.retryAfterMs).toBeGreaterThan(3000);
    expect(e503.retryAfterMs).toBeLessThanOrEqual(5000);
  });

  it('times out as a transient error, and a caller cancellation is passed through untouched', async () => {
    const c = open({ streams: { slow: { path: '/slow' } } }, { timeoutMs: 200 });
    const e = await failureOf(c.read!({ stream: 'slow', cursor: null, limit: 1 }));
    expect(e.transient).toBe(true);
    expect(e.message).toContain('no response within');
    const controller = new AbortController();
    const reading = c.read!({ stream: 'slow', cursor: null, limit: 1, signal: controller.signal });
    controller.abort(new Error('worker stopping'));
    await expect(reading).rejects.toThrow('worker stopping');
  });

  it('reports a refused connection as transient', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const c = openHttp({
      settings: { baseUrl: `http://127.0.0.1:${port}`, streams: { x: { path: '/x' } } },
      secret: resolveSecret,
      system: 'test/down',
    });
    const e = await failureOf(c.read!({ stream: 'x', cursor: null, limit: 1 }));
    expect(e.transient).toBe(true);
    expect(e.message).toContain('ECONNREFUSED');
  });

  it('reads a body without an array of records as a permanent error naming the records setting', async () => {
    const c = open({ streams: { odd: { path: '/not-a-list' }, counted: { path: '/not-a-list', records: 'count' } } });
    const e = await failureOf(c.read!({ stream: 'odd', cursor: null, limit: 1 }));
    expect(e.transient).toBe(false);
    expect(e.message).toContain('streams.odd.records');
    // A selector giving a single value yields one record.
    expect((await c.read!({ stream: 'counted', cursor: null, limit: 1 })).records).toEqual([3]);
    const bad = await failureOf(
      open({ streams: { bad: { path: '/x', records: 'data[' } } }).read!({ stream: 'bad', cursor: null, limit: 1 }),
    );
    expect(bad.message).toContain('not valid JSONata');
  });
});

// ---- failure kinds and the rate limit (the connector kit) ---------------------------------------------------------

describe('failures by kind, and the rate limit', () => {
  const bearer = { type: 'bearer', token: ref('HTTP_TEST_BEARER') };

  it('a 429 with Retry-After is throttled, and pauses the rate limit for every caller of the connection', async () => {
    state.scripted.set('/v1/orders', [{ status: 429, headers: { 'retry-after': '3' }, body: { error: 'slow down' } }]);
    state.scripted.set('/v1/items/t1', [{ status: 429, headers: { 'retry-after': '4' } }]);
    const c = open({ auth: bearer, streams: { orders: cursorStream }, entities: { item: { path: '/items' } } });
    const e = await failureOf(c.read!({ stream: 'orders', cursor: null, limit: 3 }));
    expect([e.kind, e.transient, e.retryAfterMs, e.status]).toEqual(['throttled', true, 3000, 429]);
    const [w] = noteResults(await c.write!('item', [{ key: 't1', record: { sku: 'T' } }]));
    expect(w).toMatchObject({ ok: false, transient: true, retryAfterMs: 4000 });
    expect(throttled.pauses).toEqual([3000, 4000]);
    // A 5xx without Retry-After is transient and pauses nothing.
    state.scripted.set('/v1/orders', [{ status: 502 }]);
    const down = await failureOf(c.read!({ stream: 'orders', cursor: null, limit: 3 }));
    expect([down.kind, down.transient]).toEqual(['transient', true]);
    expect(throttled.pauses).toEqual([3000, 4000]);
  });

  it('a 401 or 403 is an auth failure, never retried, whose message never carries the secret', async () => {
    state.scripted.set('/v1/orders', [
      { status: 401, body: `invalid token ${SECRETS.HTTP_TEST_BEARER}` },
      { status: 403, body: { error: 'missing scope orders:read' } },
    ]);
    const c = open({ auth: bearer, streams: { orders: cursorStream } });
    const e = await failureOf(c.read!({ stream: 'orders', cursor: null, limit: 3 }));
    expect([e.kind, e.transient, e.status]).toEqual(['auth', false, 401]);
    expect(e.message).toBe('http: GET /v1/orders: HTTP 401 Unauthorized: invalid token ***');
    expect(seenAt('/v1/orders')).toHaveLength(1);
    const denied = await failureOf(c.read!({ stream: 'orders', cursor: null, limit: 3 }));
    expect([denied.kind, denied.transient, denied.status]).toEqual(['auth', false, 403]);
    expect(denied.message).toContain('missing scope orders:read');
  });

  it('a rejected record is permanent; an unreadable body is permanent and names the stream', async () => {
    state.scripted.set('/v1/orders', [{ status: 200, body: 'not json {' }]);
    const c = open({ auth: bearer, streams: { orders: cursorStream }, entities: { item: { path: '/items' } } });
    const e = await failureOf(c.read!({ stream: 'orders', cursor: null, limit: 3 }));
    expect([e.kind, e.transient]).toEqual(['permanent', false]);
    expect(e.message).toBe('http: GET /v1/orders: HTTP 200, but the body is not JSON');
    const [r] = noteResults(await c.write!('item', [{ key: 'nosku', record: {} }]));
    expect(r).toMatchObject({ ok: false, transient: false });
  });

  it('takes the rate limit before every request only when the connection declares one', async () => {
    const limited = open({ auth: bearer, streams: { orders: cursorStream } });
    await drain(limited, 'orders', 3);
    expect(throttled.calls).toBe(3);
    const free = open({ auth: bearer, rateLimit: undefined, streams: { orders: cursorStream } });
    await drain(free, 'orders', 3);
    expect(throttled.calls).toBe(3);
    expect(seenAt('/v1/orders')).toHaveLength(6);
  });
});

describe('the rate limit shared through PostgreSQL', () => {
  it("a 429's Retry-After puts the connection's bucket in debt for every worker", async () => {
    const db = await testDatabase('http_connector');
    const pool = new pg.Pool({ connectionString: db.url, application_name: 'http connector test' });
    try {
      await migrate(pool);
      state.scripted.set('/v1/orders', [{ status: 429, headers: { 'retry-after': '3' } }]);
      const c = openHttp({
        settings: {
          baseUrl: `${base}/v1`,
          rateLimit: { perSecond: 10 },
          auth: { type: 'bearer', token: ref('HTTP_TEST_BEARER') },
          streams: { orders: cursorStream },
        },
        secret: resolveSecret,
        system: 'test/shared',
        limiter: limiterFor(pool, 'test/shared'),
      });
      const e = await failureOf(c.read!({ stream: 'orders', cursor: null, limit: 3 }));
      expect([e.kind, e.retryAfterMs]).toEqual(['throttled', 3000]);
      const { rows } = await pool.query('SELECT system, tokens FROM rsync.rate_limits');
      // 3 s at 10 requests a second: a debt of about 30 tokens, which any worker taking from the bucket waits out.
      expect(rows.map((r) => r.system)).toEqual(['test/shared:requests']);
      expect(Number(rows[0].tokens)).toBeLessThan(-29);
    } finally {
      await pool.end();
      await db.drop();
    }
  });
});

// ---- oauth2 -------------------------------------------------------------------------------------------------------

describe('oauth2 client credentials', () => {
  const oauth = () => ({
    tokenUrl: `${base}/oauth/token`,
    type: 'oauth2',
    clientId: 'rsync-app',
    clientSecret: ref('HTTP_TEST_CLIENT_SECRET'),
    scope: 'orders:read',
  });
  const settings = () => ({ auth: oauth(), streams: { orders: { path: '/oauth/orders' } } });

  it('posts the form, caches the token, and renews it once on a 401', async () => {
    const c = open(settings());
    await c.read!({ stream: 'orders', cursor: null, limit: 10 });
    await c.read!({ stream: 'orders', cursor: null, limit: 10 });
    expect(state.tokenForms).toEqual([
      {
        grant_type: 'client_credentials',
        client_id: 'rsync-app',
        client_secret: SECRETS.HTTP_TEST_CLIENT_SECRET,
        scope: 'orders:read',
      },
    ]);
    expect(seenAt('/oauth/token')[0].headers['content-type']).toBe('application/x-www-form-urlencoded');
    const [first, second] = seenAt('/v1/oauth/orders');
    expect(first.headers.authorization).toMatch(/^Bearer at-1-/);
    expect(second.headers.authorization).toBe(first.headers.authorization);

    // The API revokes the token early: one 401, a new token, the same request again.
    state.validTokens.clear();
    const page = await c.read!({ stream: 'orders', cursor: null, limit: 10 });
    expect(ids(page.records)).toEqual(['o1', 'o2']);
    expect(state.tokensIssued).toBe(2);
    expect(
      seenAt('/v1/oauth/orders')
        .slice(2)
        .map((s) => s.headers.authorization?.slice(0, 12)),
    ).toEqual(['Bearer at-1-', 'Bearer at-2-']);
  });

  it('renews a token 30 s before it expires', async () => {
    state.tokenTtl = 30; // expires within the margin: never reused
    const c = open(settings());
    await c.read!({ stream: 'orders', cursor: null, limit: 10 });
    await c.read!({ stream: 'orders', cursor: null, limit: 10 });
    expect(state.tokensIssued).toBe(2);
    state.tokenTtl = 31;
    const d = open(settings());
    await d.read!({ stream: 'orders', cursor: null, limit: 10 });
    await d.read!({ stream: 'orders', cursor: null, limit: 10 });
    expect(state.tokensIssued).toBe(3);
  });

  it('shares one token request between concurrent calls', async () => {
    const c = open(settings());
    await Promise.all([1, 2, 3].map(() => c.read!({ stream: 'orders', cursor: null, limit: 10 })));
    expect(state.tokensIssued).toBe(1);
  });

  it('retries a 401 only once, and a rejected client is a permanent error without the secret', async () => {
    const c = open(settings());
    state.scripted.set('/v1/oauth/orders', [{ status: 401 }, { status: 401 }, { status: 401 }]);
    const e = await failureOf(c.read!({ stream: 'orders', cursor: null, limit: 10 }));
    expect([e.transient, e.status]).toEqual([false, 401]);
    expect(seenAt('/v1/oauth/orders')).toHaveLength(2);
    expect(state.tokensIssued).toBe(2);

    const wrong = open({ ...settings(), auth: { ...oauth(), clientId: 'someone-else' } });
    const t = await failureOf(wrong.read!({ stream: 'orders', cursor: null, limit: 10 }));
    expect(t.transient).toBe(false);
    expect(t.message).toContain('http: oauth2 token request: POST /oauth/token: HTTP 401 Unauthorized');
    expect(seenAt('/v1/oauth/orders')).toHaveLength(2);
  });
});

// ---- writes -------------------------------------------------------------------------------------------------------

describe('writing', () => {
  const bearer = { type: 'bearer', token: ref('HTTP_TEST_BEARER') };

  it('PUTs each record to {path}/{key}: a 422 item is permanent while its neighbours succeed', async () => {
    const c = open({ auth: bearer, entities: { item: { path: '/items', idField: 'id' } } });
    const results = noteResults(
      await c.write!('item', [
        { key: 'a', record: { sku: 'A' } },
        { key: 'b', record: { title: 'no sku' } },
        { key: 'x/y z', record: { sku: 'XY' } },
      ]),
    );
    expect(results[0]).toEqual({ ok: true, targetId: 'T-a' });
    expect(results[1]).toEqual({
      ok: false,
      transient: false,
      error: 'http: PUT /v1/items/b: HTTP 422 Unprocessable Entity: {"errors":{"sku":["is required"]}}',
      retryAfterMs: undefined,
    });
    expect(results[2]).toEqual({ ok: true, targetId: 'T-x/y z' });
    expect([...state.stored.keys()]).toEqual(['a', 'x/y z']);
    const seen = seenAt('/v1/items/x%2Fy%20z');
    expect(seen).toHaveLength(1);
    expect(seen[0].method).toBe('PUT');
    expect(seen[0].headers['content-type']).toBe('application/json');
    expect(JSON.parse(seen[0].body)).toEqual({ sku: 'XY' });
  });

  it('reports a 429 and a 500 per item as transient (with Retry-After), the others written', async () => {
    state.scripted.set('/v1/items/k2', [{ status: 429, headers: { 'retry-after': '2' } }]);
    state.scripted.set('/v1/items/k3', [{ status: 500, body: 'upstream exploded' }]);
    const c = open({ auth: bearer, entities: { item: { path: '/items' } } });
    const results = noteResults(
      await c.write!(
        'item',
        ['k1', 'k2', 'k3', 'k4'].map((key) => ({ key, record: { sku: key } })),
      ),
    );
    expect(results[0]).toEqual({ ok: true, targetId: 'k1' }); // no idField: the key
    expect(results[1]).toMatchObject({ ok: false, transient: true, retryAfterMs: 2000 });
    expect(results[2]).toEqual({
      ok: false,
      transient: true,
      error: 'http: PUT /v1/items/k3: HTTP 500 Internal Server Error: upstream exploded',
      retryAfterMs: undefined,
    });
    expect(results[3]).toEqual({ ok: true, targetId: 'k4' });
    expect([...state.stored.keys()]).toEqual(['k1', 'k4']);
    expect(seenAt('/v1/items/k2')).toHaveLength(1); // reported, not retried
  });

  it('sends the key as Idempotency-Key and reads the target id at idField', async () => {
    const c = open({
      auth: bearer,
      entities: { order: { path: '/orders-in', method: 'POST', keyIn: 'header', idField: 'order.id' } },
    });
    const results = await c.write!('order', [{ key: 'shopify:1001', record: { total: 5 } }]);
    expect(results).toEqual([{ ok: true, targetId: 'ORD-shopify:1001' }]);
    const [seen] = seenAt('/v1/orders-in');
    expect(seen.headers['idempotency-key']).toBe('shopify:1001');
    expect(seen.headers.authorization).toBe(`Bearer ${SECRETS.HTTP_TEST_BEARER}`);
  });

  it('writes a batch in one request; the invalid item is permanent, its neighbours keep their ids', async () => {
    const c = open({ auth: bearer, entities: { item: { path: '/items', batch: { path: '/items/batch' } } } });
    const results = noteResults(
      await c.write!('item', [
        { key: 'p1', record: { sku: 'P1' } },
        { key: 'p2', record: {} },
        { key: 'p3', record: { sku: 'P3' } },
      ]),
    );
    expect(results).toEqual([
      { ok: true, targetId: 'B-p1' },
      { ok: false, transient: false, error: 'HTTP 422 Unprocessable Entity: sku is required' },
      { ok: true, targetId: 'B-p3' },
    ]);
    const seen = seenAt('/v1/items/batch');
    expect(seen).toHaveLength(1);
    expect(JSON.parse(seen[0].body)).toEqual([
      { key: 'p1', record: { sku: 'P1' } },
      { key: 'p2', record: {} },
      { key: 'p3', record: { sku: 'P3' } },
    ]);
  });

  it('sends each write id as Idempotency-Key: a single write in its header, a batch per item and for the request', async () => {
    const c = open({ auth: bearer, entities: { item: { path: '/items', batch: { path: '/items/batch' } } } });
    await c.write!('item', [
      { key: 'i1', record: { sku: 'I1' }, writeId: 'w-i1' },
      { key: 'i2', record: { sku: 'I2' }, writeId: 'w-i2' },
    ]);
    const [batch] = seenAt('/v1/items/batch').slice(-1);
    expect(JSON.parse(batch.body)).toEqual([
      { key: 'i1', idempotencyKey: 'w-i1', record: { sku: 'I1' } },
      { key: 'i2', idempotencyKey: 'w-i2', record: { sku: 'I2' } },
    ]);
    // The request's key is made of its items' ids: the same batch again has the same key, another batch another.
    expect(batch.headers['idempotency-key']).toMatch(/^[0-9a-f]{40}$/);
    await c.write!('item', [
      { key: 'i1', record: { sku: 'I1' }, writeId: 'w-i1' },
      { key: 'i2', record: { sku: 'I2' }, writeId: 'w-i2' },
    ]);
    await c.write!('item', [{ key: 'i1', record: { sku: 'I1' }, writeId: 'w-i1b' }]);
    const keys = seenAt('/v1/items/batch')
      .slice(-3)
      .map((s) => s.headers['idempotency-key']);
    expect(keys[1]).toBe(keys[0]);
    expect(keys[2]).not.toBe(keys[0]);

    const one = open({ auth: bearer, entities: { item: { path: '/items' } } });
    await one.write!('item', [{ key: 'i3', record: { sku: 'I3' }, writeId: 'w-i3' }]);
    expect(seenAt('/v1/items/i3')[0].headers['idempotency-key']).toBe('w-i3');
  });

  it('fails every item of a batch the same way when the call fails as a whole', async () => {
    state.scripted.set('/v1/items/batch', [
      { status: 503, headers: { 'retry-after': '7' } },
      { status: 200, body: '[]' },
    ]);
    const c = open({ auth: bearer, entities: { item: { path: '/items', batch: { path: '/items/batch' } } } });
    const items = [
      { key: 'q1', record: { sku: 'Q' } },
      { key: 'q2', record: { sku: 'Q' } },
    ];
    const down = noteResults(await c.write!('item', items));
    expect(down).toHaveLength(2);
    expect(down.every((r) => !r.ok && r.transient && r.retryAfterMs === 7000)).toBe(true);
    // A 200 whose body is not one result per item: nothing can be claimed written.
    const garbled = noteResults(await c.write!('item', items));
    expect(garbled.every((r) => !r.ok && !r.transient && r.error.includes('not an array of 2 results'))).toBe(true);
  });
});

// ---- secrets ------------------------------------------------------------------------------------------------------

describe('secrets', () => {
  it('scrubs credentials a careless API echoes in an error body', async () => {
    const basic = open({
      auth: { type: 'basic', username: USERNAME, password: ref('HTTP_TEST_PASSWORD') },
      entities: { item: { path: '/items' } },
    });
    const key = open({
      auth: { type: 'apiKey', key: ref('HTTP_TEST_API_KEY') },
      entities: { item: { path: '/items' } },
    });
    const bearer = open({
      auth: { type: 'bearer', token: ref('HTTP_TEST_BEARER') },
      entities: { item: { path: '/items' } },
    });
    for (const c of [basic, key, bearer]) {
      const [r] = noteResults(await c.write!('item', [{ key: 'echo', record: {} }]));
      expect(r).toMatchObject({ ok: false, transient: false });
      const error = r.ok ? '' : r.error;
      expect(error).toMatch(
        /^http: PUT \/v1\/items\/echo: HTTP 422 Unprocessable Entity: invalid: you sent authorization=/,
      );
      expect(error).toContain('***');
      for (const secret of [...Object.values(SECRETS), BASIC]) expect(error).not.toContain(secret);
    }
    // The server did receive them: the scrubbing is what kept them out.
    expect(seenAt('/v1/items/echo').map((s) => s.headers.authorization ?? s.headers['x-api-key'])).toEqual([
      `Basic ${BASIC}`,
      SECRETS.HTTP_TEST_API_KEY,
      `Bearer ${SECRETS.HTTP_TEST_BEARER}`,
    ]);
  });

  it('no error message in this file carried a secret or a derived credential', () => {
    expect(messages.length).toBeGreaterThan(20);
    const forbidden = [...Object.values(SECRETS), BASIC, 'at-1-', 'at-2-', 'at-3-'];
    for (const m of messages) for (const s of forbidden) expect(m, m).not.toContain(s);
  });
});

// ---- header parsing -----------------------------------------------------------------------------------------------

describe('header parsing', () => {
  it('reads Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2024-05-01T12:00:00Z');
    expect(parseRetryAfter('2', now)).toBe(2000);
    expect(parseRetryAfter('Wed, 01 May 2024 12:00:10 GMT', now)).toBe(10_000);
    expect(parseRetryAfter('Wed, 01 May 2024 11:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });

  it('finds rel="next" among several links and relation types, resolving relative targets', () => {
    const at = new URL('https://api.example.com/v1/items?page=2');
    expect(
      nextLink(
        '<https://api.example.com/v1/items?page=1>; rel="prev", <https://api.example.com/v1/items?page=3>; rel="next"',
        at,
      ),
    ).toBe('https://api.example.com/v1/items?page=3');
    expect(nextLink('</v1/items?page=3>; rel="next last"; title="x"', at)).toBe(
      'https://api.example.com/v1/items?page=3',
    );
    expect(nextLink('<https://api.example.com/v1/items?page=9>; rel=next', at)).toBe(
      'https://api.example.com/v1/items?page=9',
    );
    expect(nextLink('<https://api.example.com/v1/items?page=1>; rel="previous"', at)).toBeNull();
    expect(nextLink(null, at)).toBeNull();
  });
});
