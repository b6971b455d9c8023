/**
 * The worker's webhook server is bounded, and no request stops it (issues 15 and 21): a body past the limit is
 * refused with 413 having read at most the limit (at once when Content-Length says so), a slow body is cut off,
 * a body no sender uses is 415, one flow's deliveries in flight are capped (429 with Retry-After), and a corpus of
 * malformed requests — paths that are not URL paths or not valid percent-encoding, garbage request lines, huge
 * headers — each gets an answer or a closed socket while the worker keeps serving. Nothing refused is stored.
 *
 * A real worker in this process (port 0) on a real database, and raw TCP sockets for what fetch would not send.
 */
import net from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signFor } from '../../engine/connectors/registry.js';
import { SANDBOX_WEBHOOK_SECRET } from '../../engine/connectors/sandbox/receive.js';
import { RsyncWorker } from '../../engine/runtime/worker.js';
import { buildProblem } from '../helpers/cli.js';
import { testDatabase, type TestDatabase } from '../helpers/db.js';
import { applyWorkspace, ENV, HOOK_ORDERS, runtimeWorkspace, SANDBOX_SYSTEMS } from '../helpers/runtime.js';

const LIMIT = 64 * 1024;
const BODY_TIMEOUT_MS = 1_500;

describe('bounded webhooks', { timeout: 120_000 }, () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let worker: RsyncWorker;

  beforeAll(async () => {
    const problem = buildProblem(['cli/commands/apply.ts']);
    if (problem) throw new Error(problem);
    db = await testDatabase('webhook_bounds');
    const dir = runtimeWorkspace('rsync-bounds-', {
      connections: SANDBOX_SYSTEMS,
      flows: [HOOK_ORDERS],
    });
    await applyWorkspace(dir, db.url);
    pool = new pg.Pool({ connectionString: db.url, max: 6, application_name: 'test webhook bounds' });
    worker = new RsyncWorker({
      pool,
      url: db.url,
      env: ENV,
      port: 0,
      sandbox: true,
      threads: 1,
      pollMs: 100,
      limits: {
        maxBodyBytes: LIMIT,
        bodyTimeoutMs: BODY_TIMEOUT_MS,
        headersTimeoutMs: BODY_TIMEOUT_MS,
        maxDeliveriesPerFlow: 2,
      },
    });
    await worker.start();
  });

  afterAll(async () => {
    await worker?.stop(5_000);
    await pool?.end();
    await db?.drop();
  });

  const stored = async () => Number((await pool.query('SELECT count(*) FROM rsync.deliveries')).rows[0].count);
  const healthy = async () => (await fetch(`http://127.0.0.1:${worker.port}/healthz`)).status;

  /** Send raw bytes; resolves with everything the server answered once it closes (or after `waitMs`). */
  const raw = (chunks: (string | Buffer)[], o: { waitMs?: number; end?: boolean } = {}) =>
    new Promise<{ answer: string; closedAfterMs: number }>((resolve) => {
      const t0 = Date.now();
      const s = net.connect(worker.port!, '127.0.0.1');
      let answer = '';
      s.setEncoding('latin1');
      // An answer, then 200 ms of quiet, is the whole answer (a kept-alive connection would stay open for seconds).
      let quiet: NodeJS.Timeout | undefined;
      s.on('data', (d: string) => {
        answer += d;
        clearTimeout(quiet);
        if (!o.waitMs || o.end === false) quiet = setTimeout(() => s.destroy(), 200);
      });
      s.on('error', () => {});
      const done = () => resolve({ answer, closedAfterMs: Date.now() - t0 });
      s.on('close', done);
      s.on('connect', () => {
        for (const c of chunks) s.write(c);
        if (o.end) s.end();
      });
      if (o.waitMs) setTimeout(() => s.destroy(), o.waitMs);
    });
  const head = (path: string, headers: Record<string, string | number>) =>
    `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('')}\r\n`;

  it('refuses a 50 MB body with 413, reading at most the limit, with or without Content-Length', async () => {
    const before = await stored();
    // Declared: refused before a byte of the body is read.
    const declared = await raw(
      [
        head('/hooks/acme/orders', { 'content-type': 'application/json', 'content-length': 50 * 1024 * 1024 }),
        Buffer.alloc(256 * 1024, 0x20),
      ],
      { waitMs: 10_000 },
    );
    expect(declared.answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(declared.answer).toContain('the body is larger than 64 KB');
    expect(worker.webhooks!.maxBodyRead).toBe(0);

    // Chunked, no length: read until the limit is passed, then refused; the rest is never read.
    const chunk = Buffer.alloc(16 * 1024, 0x20);
    const body: (string | Buffer)[] = [
      head('/hooks/acme/orders', { 'content-type': 'application/json', 'transfer-encoding': 'chunked' }),
    ];
    for (let i = 0; i < 3200; i++) body.push(`${chunk.length.toString(16)}\r\n`, chunk, '\r\n'); // 50 MB
    const chunked = await raw(body, { waitMs: 20_000 });
    expect(chunked.answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(worker.webhooks!.maxBodyRead).toBeGreaterThan(LIMIT);
    expect(worker.webhooks!.maxBodyRead).toBeLessThanOrEqual(LIMIT + 64 * 1024); // the chunk that crossed it
    expect(worker.webhooks!.tooLarge).toBe(2);
    expect(await stored()).toBe(before);
    expect(await healthy()).toBe(200);
  });

  it('cuts a slow body off (408, closed) and a body of a media type no sender uses is 415', async () => {
    const before = await stored();
    const slow = await raw(
      [head('/hooks/acme/orders', { 'content-type': 'application/json', 'content-length': 1000 }), '{"id":'],
      { waitMs: 15_000 },
    );
    expect(slow.answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(slow.closedAfterMs).toBeGreaterThanOrEqual(BODY_TIMEOUT_MS - 100);
    expect(slow.closedAfterMs).toBeLessThan(BODY_TIMEOUT_MS + 3_000);
    // Headers that never end are cut off the same way.
    const stalled = await raw(['POST /hooks/acme/orders HTTP/1.1\r\nHost: x\r\n'], { waitMs: 15_000 });
    expect(stalled.answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(worker.webhooks!.tooSlow).toBe(2); // counted, for rsync_webhook_deliveries_total{result="too_slow"}

    const xml = await fetch(`http://127.0.0.1:${worker.port}/hooks/acme/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/xml' },
      body: '<order/>',
    });
    expect(xml.status).toBe(415);
    expect(((await xml.json()) as { error: string }).error).toContain('not application/xml');
    expect(await stored()).toBe(before);
    expect(await healthy()).toBe(200);
  });

  it("caps one flow's deliveries in flight: the one past the cap gets 429 with Retry-After, the others are stored", async () => {
    const order = (id: number) =>
      Buffer.from(
        `{"id":${id},"created_at":"2026-11-20T10:00:00Z","currency":"USD","total_price":"1.00","line_items":[]}`,
      );
    const before = await stored();
    // Two deliveries whose bodies are still coming hold the flow's two places.
    const sockets = [1, 2].map((id) => {
      const body = order(id);
      const headers = signFor('sandbox', SANDBOX_WEBHOOK_SECRET, body, {
        deliveryId: `cap-${id}`,
        topic: 'orders/create',
      });
      const s = net.connect(worker.port!, '127.0.0.1');
      let answer = '';
      s.setEncoding('latin1').on('data', (d: string) => (answer += d));
      const answered = new Promise<string>((r) => s.on('close', () => r(answer)));
      s.on('connect', () =>
        s.write(
          head('/hooks/acme/orders', { ...headers, 'content-length': body.length, connection: 'close' }) +
            body.subarray(0, 5).toString(),
        ),
      );
      return { s, body, answered };
    });
    await new Promise((r) => setTimeout(r, 300));
    const third = await fetch(`http://127.0.0.1:${worker.port}/hooks/acme/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: order(3),
    });
    expect(third.status).toBe(429);
    expect(third.headers.get('retry-after')).toBe('1');
    expect(await healthy()).toBe(200);
    // The held deliveries finish and are stored; then the flow takes deliveries again.
    for (const x of sockets) x.s.write(x.body.subarray(5));
    for (const x of sockets) expect(await x.answered).toMatch(/^HTTP\/1\.1 202 /);
    expect(await stored()).toBe(before + 2);
    const body = order(3);
    const again = await fetch(`http://127.0.0.1:${worker.port}/hooks/acme/orders`, {
      method: 'POST',
      headers: signFor('sandbox', SANDBOX_WEBHOOK_SECRET, body, { deliveryId: 'cap-3', topic: 'orders/create' }),
      body,
    });
    expect(again.status).toBe(202);
  });

  it('survives a corpus of malformed requests, answering each or closing it', async () => {
    const before = await stored();
    const corpus: { request: string; status?: number }[] = [
      { request: 'GET // HTTP/1.1\r\nHost: x\r\n\r\n', status: 404 },
      { request: 'POST // HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n', status: 404 },
      { request: 'POST /hooks/%E0%A4%A/x HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}', status: 400 },
      { request: 'POST /hooks/acme/%ZZ HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}', status: 400 },
      { request: 'POST /hooks/acme/orders HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}', status: 401 },
      { request: 'POST /hooks/acme/orders HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}', status: 400 },
      {
        request: 'POST /hooks/acme/orders HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}',
        status: 400,
      },
      {
        request: 'POST /hooks/acme/orders HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
        status: 400,
      },
      { request: 'GET /healthz?%%% HTTP/1.1\r\nHost: x\r\n\r\n', status: 200 },
      { request: `GET /${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`, status: 431 },
      { request: `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`, status: 431 },
      { request: 'BREW /hooks/acme/orders HTTP/1.1\r\nHost: x\r\n\r\n', status: 400 },
      { request: 'PUT /hooks/acme/orders HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n', status: 405 },
      { request: '\u0000\u0001\u0002 garbage\r\n\r\n', status: 400 },
      { request: 'POST /hooks/acme/orders HTTP/9.9\r\n\r\n', status: 400 },
      { request: 'POST /hooks/\u00e9/\u00e8 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n' },
    ];
    for (const c of corpus) {
      const { answer } = await raw([c.request], { waitMs: 5_000, end: false });
      if (c.status) expect(answer.slice(0, 12), c.request.slice(0, 60)).toBe(`HTTP/1.1 ${c.status}`);
      expect(await healthy(), `after ${JSON.stringify(c.request.slice(0, 60))}`).toBe(200);
    }
    expect(await stored()).toBe(before);
  });
});
