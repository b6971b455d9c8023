/**
 * The runtime against real systems other than the sandbox: an HTTP API (a local fake that answers 429 with
 * Retry-After, then 500, then recovers, and refuses one record with 422) and PostgreSQL tables (incremental read by
 * a cursor column, upsert by key). All records land once, back-off is in the run's log, a permanent failure is
 * dead-lettered at once while its neighbours are written, and the per-connection rate limit holds.
 */
import { existsSync, mkdtempSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFlows } from '../../engine/runtime/flows.js';
import { RsyncWorker } from '../../engine/runtime/worker.js';
import { buildProblem, show } from '../helpers/cli.js';
import { testDatabase, type TestDatabase } from '../helpers/db.js';
import {
  applyWorkspace,
  cli,
  ENV,
  runtimeWorkspace,
  seed,
  STOCK_KEY,
  STOCK_MAPPING,
  stockRecords,
  until,
} from '../helpers/runtime.js';

/**
 * A stock API: PUT /levels/<key>. stock-1 is answered 429 (Retry-After: 1), then 500, then taken; stock-13 is
 * invalid (422). `probe`, once set, runs 300 ms after each transient answer, while the runtime waits to retry.
 */
function fakeApi() {
  const stored = new Map<string, { body: unknown; puts: number }>();
  const times: number[] = [];
  const attempts = new Map<string, number>();
  const probes: Promise<unknown>[] = [];
  const api = { probe: undefined as (() => Promise<unknown>) | undefined };
  const later = () => {
    const probe = api.probe;
    if (probe) probes.push(new Promise((r) => setTimeout(r, 300)).then(probe));
  };
  let requests = 0;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      requests++;
      times.push(Date.now());
      const key = decodeURIComponent((req.url ?? '').replace(/^\/api\/levels\//, ''));
      const tries = (attempts.get(key) ?? 0) + 1;
      attempts.set(key, tries);
      if (req.headers.authorization !== 'Bearer s3cret-token-value') {
        res.writeHead(401).end();
        return;
      }
      if (key === 'stock-1' && tries === 1) {
        res.writeHead(429, { 'retry-after': '1', 'content-type': 'application/json' }).end('{"error":"slow down"}');
        later();
        return;
      }
      if (key === 'stock-1' && tries === 2) {
        res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"database unavailable"}');
        later();
        return;
      }
      if (key === 'stock-13') {
        res.writeHead(422, { 'content-type': 'application/json' }).end('{"error":"location 6 is closed"}');
        return;
      }
      const prev = stored.get(key);
      stored.set(key, { body: JSON.parse(body), puts: (prev?.puts ?? 0) + 1 });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: `L-${key}` }));
    });
  });
  return Object.assign(api, { server, stored, times, probes, requests: () => requests });
}

describe('runtime targets: HTTP API and PostgreSQL tables', { timeout: 180_000 }, () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let dir: string;
  let worker: RsyncWorker;
  const api = fakeApi();
  const drops = mkdtempSync(path.join(os.tmpdir(), 'rsync-drops-'));

  const runNow = async (name: string) => {
    const flow = (await loadFlows(pool, ENV)).get(`acme/flow/${name}`)!;
    const before = Number((await pool.query(`SELECT coalesce(max(id), 0) AS id FROM rsync.runs`)).rows[0].id);
    await worker.runNow(flow);
    return until(
      `a run of ${name}`,
      async () =>
        (
          await pool.query(`SELECT * FROM rsync.runs WHERE address = $1 AND id > $2 AND status <> 'running'`, [
            flow.address,
            before,
          ])
        ).rows[0],
    );
  };

  beforeAll(async () => {
    const problem = buildProblem(['cli/commands/apply.ts', 'engine/runtime/mapping/mapper-thread.ts']);
    if (problem) throw new Error(problem);
    db = await testDatabase('runtime_targets');
    await new Promise<void>((r) => api.server.listen(0, '127.0.0.1', r));
    const port = (api.server.address() as AddressInfo).port;
    process.env.RSYNC_TEST_API_TOKEN = 's3cret-token-value';
    process.env.RSYNC_TEST_SHOP_DB = db.url;
    pool = new pg.Pool({ connectionString: db.url, max: 8, application_name: 'test runtime-targets' });
    await pool.query(
      `CREATE TABLE shop_orders (id bigint PRIMARY KEY, updated_at timestamptz NOT NULL, payload jsonb NOT NULL)`,
    );
    await pool.query(`CREATE INDEX ON shop_orders (updated_at, id)`);
    await pool.query(`CREATE TABLE erp_orders (key text PRIMARY KEY, body jsonb NOT NULL, currency text, total text)`);
    dir = runtimeWorkspace('rsync-targets-', {
      retry: '{ maxAttempts: 4, backoff: exponential, initial: 1s, max: 4s }',
      connections: [
        { name: 'erp', connector: 'sandbox', settings: { system: 'erp' } },
        {
          name: 'stockapi',
          connector: 'http',
          settings: {
            baseUrl: `http://127.0.0.1:${port}/api`,
            auth: { type: 'bearer', token: { secretRef: 'env:RSYNC_TEST_API_TOKEN' } },
            rateLimit: { perSecond: 40 },
            entities: { level: { accepts: ['inventoryLevel'], path: '/levels', method: 'PUT', idField: 'id' } },
          },
        },
        {
          name: 'drops',
          connector: 'file',
          settings: {
            folder: drops,
            format: 'csv',
            streams: { stock: { canonical: ['inventoryLevel'], pattern: 'stock-*.csv', settleMs: 0 } },
          },
        },
        {
          name: 'shopdb',
          connector: 'postgres',
          settings: {
            url: { secretRef: 'env:RSYNC_TEST_SHOP_DB' },
            streams: {
              orders: {
                canonical: ['order'],
                incremental: true,
                table: 'shop_orders',
                cursor: 'updated_at',
                key: 'id',
                document: 'payload',
              },
            },
            entities: { order: { accepts: ['order'], table: 'erp_orders', key: 'key', document: 'body' } },
          },
        },
      ],
      flows: [
        {
          name: 'dropstock',
          source: { connection: 'drops', stream: 'stock' },
          target: { connection: 'erp', entity: 'inventoryLevel' },
          mapping: STOCK_MAPPING,
          canonical: 'inventoryLevel',
          key: STOCK_KEY,
          batchSize: 50,
        },
        {
          name: 'levels',
          source: { connection: 'erp', stream: 'inventory' },
          target: { connection: 'stockapi', entity: 'level' },
          mapping: STOCK_MAPPING,
          canonical: 'inventoryLevel',
          key: STOCK_KEY,
          batchSize: 20,
        },
        {
          name: 'orders',
          source: { connection: 'shopdb', stream: 'orders' },
          target: { connection: 'shopdb', entity: 'order' },
          mapping: `{ "externalId": $string(id), "createdAt": created_at, "currency": currency, "total": total_price,
                      "lines": [line_items.{ "sku": sku, "quantity": quantity, "unitPrice": price, "total": price }] }`,
          canonical: 'order',
          key: "'order-' & $string(id)",
        },
      ],
    });
    await applyWorkspace(dir, db.url);
    worker = new RsyncWorker({ pool, url: db.url, env: ENV, port: null, threads: 1, pollMs: 100 });
    await worker.start();
  });

  afterAll(async () => {
    await worker?.stop(5_000);
    await pool?.end();
    await db?.drop();
    api.server.close();
  });

  it('lands every record through 429 and 500, with the back-off in the run log; a 422 is dead-lettered at once', async () => {
    await seed(pool, 'acme/erp', 'inventory', stockRecords(60));
    // While a retry waits, no session of the state database is inside a transaction: the page's transaction opens
    // only once the target confirmed the writes.
    api.probe = async () =>
      (
        await pool.query(
          `SELECT application_name, state, query FROM pg_stat_activity
            WHERE datname = current_database() AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'`,
        )
      ).rows;
    const run = await runNow('levels');
    api.probe = undefined;
    expect(await Promise.all(api.probes)).toEqual([[], []]);
    expect(run.status).toBe('succeeded');
    expect({ read: Number(run.read), written: Number(run.written), dead: Number(run.dead) }).toEqual({
      read: 60,
      written: 59,
      dead: 1,
    });
    expect(api.stored.size).toBe(59);
    expect([...api.stored.values()].every((v) => v.puts === 1)).toBe(true);
    expect(api.stored.get('stock-7')?.body).toMatchObject({ sku: 'SKU-7', available: 78 });

    const backoffs = run.log.filter((e: { event: string }) => e.event === 'backoff');
    expect(backoffs).toHaveLength(2);
    expect(backoffs[0]).toMatchObject({
      attempt: 1,
      retryAfterMs: 1000,
      records: 1,
      reason: expect.stringMatching(/429/),
    });
    expect(backoffs[0].waitMs).toBeGreaterThanOrEqual(1000);
    expect(backoffs[1]).toMatchObject({ attempt: 2, records: 1, reason: expect.stringMatching(/500/) });
    expect(Number(run.retries)).toBe(backoffs.length);

    const letter = (
      await pool.query(`SELECT key, stage, error, attempts FROM rsync.dead_letters WHERE address = 'acme/flow/levels'`)
    ).rows;
    expect(letter).toEqual([
      {
        key: 'stock-13',
        stage: 'write',
        error: expect.stringMatching(/422.*location 6 is closed/),
        attempts: expect.any(Number),
      },
    ]);

    // The ledger holds the API's ids; a second delivery of the same records sends nothing.
    const ledger = await pool.query(
      `SELECT target_id FROM rsync.ledger WHERE address = 'acme/flow/levels' AND key = 'stock-7'`,
    );
    expect(ledger.rows[0].target_id).toBe('L-stock-7');
    const sent = api.requests();
    await pool.query(`DELETE FROM rsync.cursors WHERE address = 'acme/flow/levels'`);
    const again = await runNow('levels');
    expect({ read: Number(again.read), unchanged: Number(again.unchanged), dead: Number(again.dead) }).toEqual({
      read: 60,
      unchanged: 59,
      dead: 1,
    });
    expect(api.requests() - sent).toBe(1); // only the refused record is tried again

    const runs = await cli(dir, db.url, 'runs', '--flow', 'acme/levels', '--env', ENV, '--log');
    expect(runs.status, show(runs)).toBe(0);
    expect(runs.stdout).toMatch(/backoff .*retryAfterMs=1000/);
    expect(runs.stdout + runs.stderr).not.toContain('s3cret-token-value');
  });

  it('holds the connection rate limit (40 requests/s) across the run', async () => {
    const from = api.times.length;
    await seed(pool, 'acme/erp', 'inventory', stockRecords(150, 500));
    const run = await runNow('levels');
    expect(Number(run.written)).toBe(150);
    const t = api.times.slice(from);
    expect(t.length).toBe(150);
    // A token bucket of 40/s with a burst of 40: any n consecutive requests span at least (n − 40) / 40 seconds.
    let worst = 0;
    for (let i = 0; i < t.length; i++)
      for (let j = i + 40; j < t.length; j++) worst = Math.max(worst, (j - i + 1 - 40) / 40 - (t[j] - t[i]) / 1000);
    expect(worst).toBeLessThan(0.05);
    // And the limit is used, not undercut: 150 requests at 40/s after a burst of 40 take about 2.75 s.
    const span = (t[t.length - 1] - t[0]) / 1000;
    expect(span).toBeGreaterThan(2.5);
    expect(span).toBeLessThan(5);
  });

  it('reads a PostgreSQL table incrementally by its cursor column and upserts by key', async () => {
    const order = (id: number, total: string, at: string) => [
      id,
      at,
      JSON.stringify({
        id,
        created_at: at,
        currency: 'EUR',
        total_price: total,
        line_items: [{ sku: 'A', quantity: 1, price: total }],
      }),
    ];
    for (let i = 1; i <= 30; i++)
      await pool.query(
        `INSERT INTO shop_orders VALUES ($1, $2, $3)`,
        order(i, `${i}.50`, `2026-11-0${1 + (i % 3)}T10:00:00Z`),
      );
    const first = await runNow('orders');
    expect({ read: Number(first.read), written: Number(first.written) }).toEqual({ read: 30, written: 30 });
    const row = (await pool.query(`SELECT body, currency, total FROM erp_orders WHERE key = 'order-7'`)).rows[0];
    expect(row).toEqual({
      body: expect.objectContaining({ externalId: '7', total: '7.50' }),
      currency: 'EUR',
      total: '7.50',
    });
    // Only what changed since the cursor is read next time; a changed order is updated in place.
    await pool.query(`INSERT INTO shop_orders VALUES ($1, $2, $3)`, order(31, '99.00', '2026-11-05T00:00:00Z'));
    await pool.query(
      // The order edited: its line and its total (which must still add up, or the record is dead-lettered).
      `UPDATE shop_orders SET payload = jsonb_set(jsonb_set(payload, '{total_price}', '"70.00"'), '{line_items,0,price}', '"70.00"'), updated_at = '2026-11-05T00:00:01Z' WHERE id = 7`,
    );
    const second = await runNow('orders');
    expect({ read: Number(second.read), written: Number(second.written) }).toEqual({ read: 2, written: 2 });
    expect((await pool.query(`SELECT total FROM erp_orders WHERE key = 'order-7'`)).rows[0].total).toBe('70.00');
    expect(Number((await pool.query(`SELECT count(*) FROM erp_orders`)).rows[0].count)).toBe(31);

    // A worker stopped and another started in the same process: the second opens its own connections.
    await worker.stop(5_000);
    worker = new RsyncWorker({ pool, url: db.url, env: ENV, port: null, threads: 1, pollMs: 100 });
    await worker.start();
    await pool.query(`INSERT INTO shop_orders VALUES ($1, $2, $3)`, order(32, '5.00', '2026-11-06T00:00:00Z'));
    const third = await runNow('orders');
    expect({
      status: third.status,
      error: third.error,
      read: Number(third.read),
      written: Number(third.written),
    }).toEqual({ status: 'succeeded', error: null, read: 1, written: 1 });
  });

  it('consumes a CSV drop once: its records are synced, the file is moved aside, a re-drop of it is skipped', async () => {
    const csv =
      [
        'id,sku,location,qty,updated_at',
        ...Array.from(
          { length: 120 },
          (_, i) => `${i + 1},"SKU, ${i + 1}",${(i % 3) + 1},${i % 10},2026-11-20T00:00:00Z`,
        ),
      ].join('\r\n') + '\r\n';
    writeFileSync(path.join(drops, 'stock-001.csv'), csv);
    const old = new Date(Date.now() - 5000);
    utimesSync(path.join(drops, 'stock-001.csv'), old, old);
    const run = await runNow('dropstock');
    expect({ read: Number(run.read), written: Number(run.written), dead: Number(run.dead) }).toEqual({
      read: 120,
      written: 120,
      dead: 0,
    });
    expect(existsSync(path.join(drops, 'stock-001.csv'))).toBe(false);
    expect(readdirSync(path.join(drops, '.processed'))).toContain('stock-001.csv');
    const w = await pool.query(`SELECT record FROM rsync_sandbox.writes WHERE system = 'acme/erp' AND key = 'stock-7'`);
    expect(w.rows[0].record).toMatchObject({ sku: 'SKU, 7', locationId: '1', available: 6 });
    // The same file dropped again is not read again.
    writeFileSync(path.join(drops, 'stock-001.csv'), csv);
    utimesSync(path.join(drops, 'stock-001.csv'), old, old);
    const again = await runNow('dropstock');
    expect(Number(again.read)).toBe(0);
  });
});
