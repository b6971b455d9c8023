/**
 * A worker killed during a Shopify bulk backfill resumes the same operation (issue 12). The worker is a real
 * `rsync worker` process, not in sandbox mode, so the connection is the real shopify connector, talking to the fake
 * Admin API with the bulk-operations fake on it (engine/connectors/shopify/fake.ts, fake-bulk.ts, started here on
 * 127.0.0.1). Its orders go through the template's real order mapping into the ERP (a sandbox system in the state
 * database). The first worker is killed with SIGKILL once part of the orders are written; a second one picks the
 * window up from its stored cursor — the bulk operation's id and line — and finishes it from the same operation:
 * one operation in all, every order written exactly once.
 */
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { type BulkFake, startFakeShopifyWithBulk } from '../../engine/connectors/shopify/fake-bulk.js';
import type { FakeShopify } from '../../engine/connectors/shopify/fake.js';
import { testDatabase, type TestDatabase } from '../helpers/db.js';
import { applyWorkspace, cli, ENV, runtimeWorkspace, spawnWorker, until } from '../helpers/runtime.js';

/** Orders in the backfill (RSYNC_SHOPIFY_BULK_N): 4,000 by default, the worker killed after 1,000 of them. */
const N = Number(process.env.RSYNC_SHOPIFY_BULK_N ?? 4_000);
const FROM = '2026-03-01T00:00:00Z';
const TO = '2026-03-08T00:00:00Z';
const MAPPING = readFileSync(
  new URL('../../templates/shopify-orders-to-erp/2/mappings/shopify-order.jsonata', import.meta.url),
  'utf8',
);
const KEY = "'shopify-order-' & $split(admin_graphql_api_id, '/')[-1]";

describe('a worker killed during a Shopify bulk backfill', { timeout: 300_000 }, () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let shop: FakeShopify;
  let bulk: BulkFake;

  afterAll(async () => {
    await pool?.end();
    await shop?.close();
    await db?.drop();
  });

  it('resumes the same bulk operation from its stored cursor: every order once, one operation', async () => {
    ({ shop, bulk } = await startFakeShopifyWithBulk({ maximumAvailable: 1_000_000, restoreRate: 1_000_000 }));
    shop.seedOrders(N, { from: FROM, to: TO });
    process.env.BULK_RESUME_SHOPIFY_TOKEN = shop.accessToken;
    db = await testDatabase('shopify_bulk_resume');
    pool = new pg.Pool({ connectionString: db.url, max: 4, application_name: 'test shopify bulk' });
    const dir = runtimeWorkspace('rsync-shopify-bulk-', {
      connections: [
        {
          name: 'web',
          connector: 'shopify',
          settings: {
            shop: 'acme.myshopify.com',
            baseUrl: shop.url,
            accessToken: { secretRef: 'env:BULK_RESUME_SHOPIFY_TOKEN' },
          },
        },
        { name: 'erp', connector: 'sandbox', settings: { system: 'erp' } },
      ],
      flows: [
        {
          name: 'orders',
          source: { connection: 'web', stream: 'orders' },
          target: { connection: 'erp', entity: 'salesOrder' },
          mapping: MAPPING,
          canonical: 'order',
          key: KEY,
          batchSize: 100,
        },
      ],
    });
    await applyWorkspace(dir, db.url);
    const bf = await cli(
      dir,
      db.url,
      'backfill',
      'acme/orders',
      '--env',
      ENV,
      '--since',
      FROM,
      '--until',
      TO,
      '--window',
      '30d',
      '--json',
    );
    expect(bf.status, bf.stderr).toBe(0);
    const written = async () => Number((await pool.query('SELECT count(*) FROM rsync_sandbox.writes')).rows[0].count);

    const first = spawnWorker(dir, db.url);
    const before = await until(
      'a part of the orders written',
      async () => {
        const n = await written();
        return n >= 1_000 ? n : undefined;
      },
      120_000,
    );
    first.kill('SIGKILL');
    await first.exited;
    const atKill = await written();
    expect(atKill, first.output).toBeLessThan(N); // killed mid-read, not after it
    expect(before).toBeGreaterThan(0);
    const stored = (
      await pool.query<{ cursor: { bulk?: { id: string; line: number } } }>('SELECT cursor FROM rsync.backfill_windows')
    ).rows;
    expect(stored).toHaveLength(1);
    expect(stored[0].cursor.bulk?.id).toBe(bulk.operations[0].id);
    expect(stored[0].cursor.bulk?.line).toBeGreaterThan(0);

    const second = spawnWorker(dir, db.url);
    await until(
      'the backfill',
      async () => {
        const open = Number(
          (await pool.query('SELECT count(*) FROM rsync.backfill_windows WHERE done_at IS NULL')).rows[0].count,
        );
        return open === 0 ? true : undefined;
      },
      240_000,
    );
    second.kill('SIGTERM');
    await second.exited;

    expect(bulk.operations.map((o) => o.id)).toEqual([stored[0].cursor.bulk!.id]); // one operation, resumed
    expect(bulk.operations[0].downloads).toBeGreaterThanOrEqual(2); // the second worker downloaded it again
    const w = (
      await pool.query(
        'SELECT count(*)::int AS rows, count(DISTINCT key)::int AS keys, max(version)::int AS v FROM rsync_sandbox.writes',
      )
    ).rows[0];
    expect(w).toEqual({ rows: N, keys: N, v: 1 });
    const dead = Number((await pool.query('SELECT count(*) FROM rsync.dead_letters')).rows[0].count);
    expect(dead).toBe(0);
  });
});
