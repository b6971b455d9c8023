/**
 * The connector kit (engine/connectors/kit/): the slice cursor loses nothing when many records share a timestamp
 * across page boundaries and repeats only within its overlap window; an expired page token restarts its slice; the
 * HTTP exchange turns each failure into its kind, tells the limiter of a Retry-After and keeps secrets out of its
 * messages; and the rate limits shared through PostgreSQL follow what a system reports and pause for what it asks.
 *
 * A real HTTP server on 127.0.0.1 and a fresh database on real PostgreSQL (test/helpers/db.ts).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabase, type TestDatabase } from '../../../test/helpers/db.js';
import { limiterFor } from '../../runtime/throttle.js';
import { migrate } from '../../state/migrate.js';
import { ensureSlots, slotsFor, takeSlot } from '../../state/slots.js';
import { rememberSecret } from '../secrets.js';
import { failureOf } from '../testing.js';
import type { Limiter, Page } from '../types.js';
import {
  ConnectorError,
  failure,
  httpClient,
  localBucket,
  SLOW,
  rateLimiter,
  readSlices,
  type SliceQuery,
  utc,
} from './index.js';

// ---- an API with page tokens over records ordered by (updated time, id) --------------------------------------------

interface Rec {
  id: number;
  updated_at: string;
}

/** `n` records in runs of `run` sharing one second, with offsets other than UTC on some. */
function records(n: number, run: number, start = Date.parse('2026-07-01T00:00:00Z')): Rec[] {
  return Array.from({ length: n }, (_, i) => {
    const at = start + Math.floor(i / run) * 1000;
    // Every third run is written in New York time: the same instant, a different string.
    const text =
      Math.floor(i / run) % 3 === 0 ? new Date(at - 4 * 3600_000).toISOString().replace('Z', '-04:00') : utc(at);
    return { id: i + 1, updated_at: text };
  });
}

/** One page: records at or after `since`, by (updated, id), the token an offset into that list. */
function api(all: Rec[], o: { expireAfter?: number } = {}) {
  let pages = 0;
  const tokens = new Set<string>();
  return {
    calls: () => pages,
    async fetch(q: SliceQuery) {
      pages++;
      const since = q.since ? Date.parse(q.since) : Number.NEGATIVE_INFINITY;
      const list = all
        .filter((r) => Date.parse(r.updated_at) >= since)
        .sort((a, b) => Date.parse(a.updated_at) - Date.parse(b.updated_at) || a.id - b.id);
      let from = 0;
      if (q.token !== null) {
        if (!tokens.has(String(q.token))) throw failure.expired('page token expired');
        from = Number(String(q.token).split(':')[1]);
      }
      const page = list.slice(from, from + q.limit);
      const next = from + q.limit < list.length ? `t${pages}:${from + q.limit}` : null;
      if (next) tokens.add(next);
      if (o.expireAfter && pages % o.expireAfter === 0) tokens.clear();
      return { records: page, next };
    },
  };
}

async function readAll(fetch: (q: SliceQuery) => Promise<{ records: Rec[]; next: unknown }>, cursor: unknown = null) {
  const seen: number[] = [];
  let page: Page;
  do {
    page = await readSlices<Rec>(
      { stream: 'orders', cursor, limit: 250 },
      { fetch, updatedAt: (r) => r.updated_at, overlapMs: 2_000 },
    );
    for (const r of page.records as Rec[]) seen.push(r.id);
    cursor = page.cursor;
  } while (page.more);
  return { seen, cursor };
}

describe('readSlices: the cursor contract', () => {
  it('reads 20,000 records sharing timestamps across pages with none lost, and re-reads only the overlap', async () => {
    // Runs of 333 records per second: every page boundary (250) falls inside a run.
    const all = records(20_000, 333);
    const first = await readAll(api(all).fetch);
    expect(first.seen.length).toBe(20_000);
    expect(new Set(first.seen).size).toBe(20_000);
    // The next slice starts 2 s before the newest record: the last three seconds' runs are read again, nothing else.
    const newest = Math.max(...all.map((r) => Date.parse(r.updated_at)));
    expect(first.cursor).toEqual({ since: utc(newest - 2_000) });
    const again = await readAll(api(all).fetch, first.cursor);
    const inWindow = all.filter((r) => Date.parse(r.updated_at) >= newest - 2_000).map((r) => r.id);
    expect(again.seen.sort((a, b) => a - b)).toEqual(inWindow);
    expect(inWindow.length).toBeLessThanOrEqual(3 * 333);
  });

  it('restarts a slice whose page token expired, and still loses nothing', async () => {
    const all = records(3_000, 100);
    // Tokens expire every 4 pages: each restart re-reads the slice from its start.
    const a = api(all, { expireAfter: 4 });
    const { seen } = await readAll(a.fetch);
    expect(new Set(seen).size).toBe(3_000);
    expect(a.calls()).toBeGreaterThan(12);
  });

  it('keeps the slice and page in the cursor, so a stopped read resumes where it was', async () => {
    const all = records(1_000, 10);
    const page = await readSlices<Rec>(
      { stream: 'orders', cursor: null, limit: 250, since: '2026-07-01T00:00:00Z' },
      { fetch: api(all).fetch, updatedAt: (r) => r.updated_at },
    );
    expect(page.more).toBe(true);
    expect(page.cursor).toMatchObject({
      since: '2026-07-01T00:00:00Z',
      token: expect.any(String),
      high: utc(Date.parse('2026-07-01T00:00:24Z')),
    });
  });
});

// ---- the HTTP exchange --------------------------------------------------------------------------------------------

describe('httpClient: failures by kind', () => {
  let server: Server;
  let base: string;
  const SECRET = 'shpat_kit_test_0123456789abcdef';

  beforeAll(async () => {
    rememberSecret(SECRET);
    server = createServer((req, res) => {
      const path = req.url ?? '/';
      if (path.startsWith('/v1/ok')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(`{"id":820982911946154508,"q":${JSON.stringify(path)}}`);
      } else if (path.startsWith('/v1/busy')) {
        res.writeHead(429, { 'retry-after': '3' });
        res.end('{"errors":"Exceeded 2 calls per second"}');
      } else if (path.startsWith('/v1/down')) {
        res.writeHead(502);
        res.end('<html>bad gateway</html>');
      } else if (path.startsWith('/v1/auth')) {
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            errors: `[API] Invalid API key or access token (unrecognized login or wrong password) ${SECRET}`,
          }),
        );
      } else if (path.startsWith('/v1/drop')) {
        req.socket.destroy();
      } else {
        res.writeHead(404);
        res.end('{"errors":"Not Found"}');
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const pauses: number[] = [];
  const spy: Limiter = { take: async () => {}, observe: async () => {}, pause: async (ms) => void pauses.push(ms) };
  const client = () =>
    httpClient(
      { settings: {} },
      {
        name: 'vendor',
        baseUrl: base,
        headers: () => ({ 'x-token': SECRET }),
        limiter: rateLimiter({ settings: {}, limiter: () => spy }, 'rest', { perSecond: 2 }),
      },
    );

  it('resolves paths under the base, drops absent query values and keeps 64-bit ids exact', async () => {
    const r = await client().request('GET', '/ok', {
      query: { limit: 250, page_info: undefined, 'ids[]': ['1', '2'] },
    });
    expect(r.json()).toEqual({ id: '820982911946154508', q: '/v1/ok?limit=250&ids%5B%5D=1&ids%5B%5D=2' });
  });

  it('a 429 is throttled with its Retry-After, and every caller of the limiter pauses for it', async () => {
    const e = await failureOf(client().request('GET', '/busy'));
    expect(e).toBeInstanceOf(ConnectorError);
    expect([e.kind, e.transient, e.retryAfterMs, e.status]).toEqual(['throttled', true, 3000, 429]);
    expect(pauses).toContain(3000);
    expect(e.message).toBe(
      'vendor: GET /v1/busy: HTTP 429 Too Many Requests: {"errors":"Exceeded 2 calls per second"}',
    );
  });

  it('a 5xx and a dropped connection are transient; a 404 is permanent unless allowed', async () => {
    const down = await failureOf(client().request('GET', '/down'));
    expect([down.kind, down.transient]).toEqual(['transient', true]);
    const drop = await failureOf(client().request('GET', '/drop'));
    expect([drop.kind, drop.transient]).toEqual(['transient', true]);
    expect(drop.message).toMatch(/^vendor: GET \/v1\/drop: network error \(\w+\)$/);
    const gone = await failureOf(client().request('GET', '/nothing'));
    expect([gone.kind, gone.transient]).toEqual(['permanent', false]);
    expect((await client().request('GET', '/nothing', { allow: [404] })).status).toBe(404);
  });

  it('a refused credential is an auth failure whose message never carries the secret', async () => {
    const e = await failureOf(client().request('GET', '/auth'));
    expect([e.kind, e.transient, e.status]).toEqual(['auth', false, 401]);
    expect(e.message).toContain('Invalid API key or access token');
    expect(e.message).not.toContain(SECRET);
  });

  it('refuses a full URL outside the base origin (credentials stay home)', async () => {
    const e = await failureOf(client().request('GET', 'https://elsewhere.example/v1/ok'));
    expect(e.kind).toBe('permanent');
    expect(e.message).toContain('refusing a URL outside');
  });
});

// ---- the shared buckets -------------------------------------------------------------------------------------------

describe('rate limits shared through PostgreSQL', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  beforeAll(async () => {
    db = await testDatabase('kit');
    pool = new pg.Pool({ connectionString: db.url, application_name: 'kit test' });
    await migrate(pool);
  });
  afterAll(async () => {
    await pool.end();
    await db.drop();
  });
  const tokens = async (name: string) =>
    Number((await pool.query('SELECT tokens FROM rsync.rate_limits WHERE system = $1', [name])).rows[0].tokens);

  it('follows the bucket a system reports, downwards only', async () => {
    const limits = limiterFor(pool, 'northwind/shopify');
    const a = limits('graphql', { perSecond: 50, burst: 1000 });
    await a.take(100);
    expect(await tokens('northwind/shopify:graphql')).toBeCloseTo(900, -1);
    await a.observe({ available: 400, max: 1000 });
    expect(await tokens('northwind/shopify:graphql')).toBeCloseTo(400, -1);
    // A report older than our own reservations does not hand tokens back.
    await a.observe({ available: 990, max: 1000 });
    expect(await tokens('northwind/shopify:graphql')).toBeLessThan(500);
  });

  it('takes the size and restore rate a system reports over the ones it assumed, shared and local alike', async () => {
    // The connector assumed 1,000 a second; the system says its bucket is 100, restored at 100 a second. Refilled at
    // the assumed rate, 1.2 s later the bucket would cover 150 at once; at the reported one it holds its 100 and
    // the rest takes 0.5 s.
    for (const bucket of [
      limiterFor(pool, 'northwind/shopify')('reported', { perSecond: 1000, burst: 1000 }),
      localBucket(1000, 1000),
    ]) {
      await bucket.observe({ available: 0, max: 100, perSecond: 100 });
      await new Promise((r) => setTimeout(r, 1_200));
      const t0 = Date.now();
      await bucket.take(150);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(450);
      expect(Date.now() - t0).toBeLessThan(900);
    }
  });

  it('a throttle that says nothing more slows every worker: halved once for one burst, then climbing back', async () => {
    // Two workers' views of one connection at 20 a second. Worker a meets two 429s of one burst; worker b's calls
    // are paced at 10 a second from then on, and the rate comes back by itself (SLOW.recoverMs).
    const a = limiterFor(pool, 'contoso/slow')('api', { perSecond: 20, burst: 1 });
    const b = limiterFor(pool, 'contoso/slow')('api', { perSecond: 20, burst: 1 });
    await a.take(1);
    await a.slow!();
    await a.slow!(); // the same burst: no second halving
    const pace = async () =>
      Number(
        (await pool.query(`SELECT tokens FROM rsync.rate_limits WHERE system = 'contoso/slow:api~pace'`)).rows[0]
          .tokens,
      );
    expect(await pace()).toBe(10);
    const t0 = Date.now();
    for (let n = 0; n < 5; n++) await b.take(1);
    // 5 tokens at 10 a second, the bucket empty: about 0.5 s (at the full 20 a second it would be 0.25 s).
    expect(Date.now() - t0).toBeGreaterThanOrEqual(420);
    // A throttle after the guard halves again; the rate climbs back linearly meanwhile (not at once).
    await new Promise((r) => setTimeout(r, SLOW.guardMs));
    await b.slow!();
    expect(await pace()).toBeGreaterThan(5);
    expect(await pace()).toBeLessThan(5.2);
    // The bucket in this process does the same.
    const local = localBucket(20, 1);
    await local.take(1);
    await local.slow!();
    await local.slow!();
    const t1 = Date.now();
    for (let n = 0; n < 5; n++) await local.take(1);
    expect(Date.now() - t1).toBeGreaterThanOrEqual(420);
  });

  it('a pause puts every caller of the bucket in debt for that long', async () => {
    const b = limiterFor(pool, 'contoso/square')('rest', { perSecond: 10, burst: 10 });
    await b.pause(2_000);
    // 2 s at 10 tokens a second: a debt of about 20, so the next caller waits about 2 s.
    expect(await tokens('contoso/square:rest')).toBeLessThan(-19);
    const other = limiterFor(pool, 'contoso/square')('rest', { perSecond: 10, burst: 10 });
    const t0 = Date.now();
    await other.take(1);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1_900);
  });

  it('a concurrency cap holds across processes: never more in flight than the cap, and a dead holder frees its slot', async () => {
    // Two workers' views of one connection (slotsFor per worker), each running calls through the kit's limiter.
    const worker = () =>
      rateLimiter({ settings: {}, slots: slotsFor(pool, 'acme/netsuite') }, 'rest', {
        perSecond: 1000,
        concurrency: 3,
      });
    const a = worker();
    const b = worker();
    let inFlight = 0;
    let most = 0;
    const call = async () => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((r) => setTimeout(r, 40));
      inFlight--;
    };
    await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? a : b).slot(call)));
    expect(most).toBe(3);
    const held = await pool.query(
      `SELECT count(*)::int AS n FROM rsync.slots WHERE name = 'acme/netsuite:rest' AND holder IS NOT NULL`,
    );
    expect(held.rows[0].n).toBe(0);

    // A holder killed mid-call never frees its slot: the slot is taken again once its lease runs out.
    await ensureSlots(pool, 'acme/dead', 1);
    expect(await takeSlot(pool, 'acme/dead', 1, 'killed', 300)).toBe(0);
    expect(await takeSlot(pool, 'acme/dead', 1, 'other', 300)).toBeNull();
    await new Promise((r) => setTimeout(r, 350));
    expect(await takeSlot(pool, 'acme/dead', 1, 'other', 300)).toBe(0);
    // settings.concurrency overrides the vendor's default cap.
    expect(rateLimiter({ settings: { concurrency: 2 } }, 'rest', { perSecond: 1, concurrency: 5 }).concurrency).toBe(2);
  });

  it('settings.rateLimit overrides the vendor default', () => {
    const r = rateLimiter({ settings: { rateLimit: { perSecond: 4, burst: 8 } } }, 'rest', { perSecond: 2 });
    expect([r.perSecond, r.burst]).toEqual([4, 8]);
  });
});
