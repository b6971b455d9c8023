/**
 * `rsync xref verify` on the netsuite connector: orders synced by a real worker from a sandbox storefront into sales
 * orders on the fake NetSuite (engine/connectors/netsuite/fake.ts, here on 127.0.0.1); verify reads a sample back
 * through the connector's `fetch` and compares it with the view each write kept, field by field — every order as
 * written, until one is changed in NetSuite behind rsync's back (tamper) and another deleted (remove): then both
 * are drift. The amounts compare normalised: NetSuite answers JSON numbers (12) where rsync wrote "12.00".
 */
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeNetSuite, fakeSettings, startFakeNetSuite } from '../../engine/connectors/netsuite/fake.js';
import { RsyncWorker } from '../../engine/runtime/worker.js';
import { buildProblem, show } from '../helpers/cli.js';
import { testDatabase, type TestDatabase } from '../helpers/db.js';
import { applyWorkspace, backfillOnce, cli, ENV, runtimeWorkspace, seed } from '../helpers/runtime.js';

const N = 30;
const DAY = new Date('2026-11-01T00:00:00Z');
const MAPPING = readFileSync(
  new URL('../../templates/shopify-orders-to-erp/2/mappings/shopify-order.jsonata', import.meta.url),
  'utf8',
);
const ORDER = JSON.parse(
  readFileSync(new URL('../fixtures/shopify-variants/orders_create.consistent.json', import.meta.url), 'utf8'),
).response as Record<string, unknown> & { line_items: { sku: string }[] };

describe('rsync xref verify against NetSuite', { timeout: 180_000 }, () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let dir: string;
  let fake: FakeNetSuite;

  beforeAll(async () => {
    const problem = buildProblem(['cli/commands/xref/verify.ts', 'engine/connectors/netsuite/connector.ts']);
    if (problem) throw new Error(problem);
    fake = await startFakeNetSuite();
    fake.seedItems([...new Set(ORDER.line_items.map((l) => l.sku))].map((sku) => ({ itemId: sku })));
    db = await testDatabase('runtime_netsuite_xref');
    pool = new pg.Pool({ connectionString: db.url, max: 4, application_name: 'test netsuite xref' });
    dir = runtimeWorkspace('rsync-netsuite-xref-', {
      connections: [
        { name: 'shop', connector: 'sandbox', settings: { system: 'storefront' } },
        { name: 'erp', connector: 'netsuite', settings: { ...fakeSettings(fake, 'NS_XREF'), customer: '42' } },
      ],
      flows: [
        {
          name: 'orders',
          source: { connection: 'shop', stream: 'orders' },
          target: { connection: 'erp', entity: 'salesOrder' },
          mapping: MAPPING,
          canonical: 'order',
          key: "'shopify-order-' & $split(admin_graphql_api_id, '/')[-1]",
        },
      ],
    });
    await applyWorkspace(dir, db.url);
    const orders = Array.from({ length: N }, (_, i) => ({
      ...ORDER,
      test: false,
      id: 8000 + i,
      admin_graphql_api_id: `gid://shopify/Order/${8000 + i}`,
      name: `#X${i}`,
    }));
    await seed(pool, 'acme/shop', 'orders', orders, DAY, new Date(DAY.getTime() + 3_600_000));
    // The storefront is the sandbox's; NetSuite is the real connector's, against the fake.
    const worker = new RsyncWorker({
      pool,
      url: db.url,
      env: ENV,
      port: null,
      threads: 1,
      pollMs: 100,
      sandbox: (system) => system === 'acme/shop',
    });
    await worker.start();
    try {
      const done = await backfillOnce(pool, 'orders', DAY, new Date(DAY.getTime() + 86_400_000));
      expect(done).toMatchObject({ done: 1, read: N });
    } finally {
      await worker.stop(5_000);
    }
    expect(fake.creates.get('salesOrder')).toBe(N);
  });

  afterAll(async () => {
    await pool?.end();
    await fake?.close();
    await db?.drop();
  });

  it('finds every order as written, then reports the one changed and the one deleted in NetSuite', async () => {
    const verify = (...more: string[]) => cli(dir, db.url, 'xref', 'verify', 'acme/orders', '--env', ENV, ...more);
    const clean = await verify('--sample', String(N), '--json');
    expect(clean.status, show(clean)).toBe(0);
    expect(JSON.parse(clean.stdout)).toMatchObject({ ok: true, checked: N, drift: [] });

    const ids = (
      await pool.query<{ key: string; target_id: string }>(
        `SELECT key, target_id FROM rsync.ledger WHERE key IN ('shopify-order-8003', 'shopify-order-8007') ORDER BY key`,
      )
    ).rows;
    fake.tamper('salesOrder', ids[0].target_id, { shippingCost: 12 });
    fake.remove('salesOrder', ids[1].target_id);

    const drifted = await verify('--sample', '1000', '--json');
    expect(drifted.status, show(drifted)).toBe(1);
    const out = JSON.parse(drifted.stdout);
    const byKey = Object.fromEntries(out.drift.map((d: { entry: { key: string } }) => [d.entry.key, d]));
    expect(Object.keys(byKey).sort()).toEqual(['shopify-order-8003', 'shopify-order-8007']);
    expect(byKey['shopify-order-8003']).toMatchObject({ problem: 'changed' });
    expect(JSON.stringify(byKey['shopify-order-8003'])).toContain('shippingCost');
    expect(byKey['shopify-order-8007']).toMatchObject({ problem: 'missing' });
  });
});
