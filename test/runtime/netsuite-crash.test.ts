/**
 * Promise 4 on the netsuite connector (issue 13): Shopify-shaped orders, seeded as sandbox source records, mapped by
 * the template's order mapping (shopify-orders-to-erp@2) into NetSuite sales orders on the fake NetSuite
 * (engine/connectors/netsuite/fake.ts, started here on 127.0.0.1, token-based authentication verified on every
 * request), while `rsync worker` processes — real ones, not in sandbox mode, so the target is the real connector —
 * are killed with SIGKILL at random moments after a committed page (test/helpers/crash.ts). Afterwards the fake
 * holds exactly one sales order per order, none created twice (the fake counts creates: an upsert repeated after a
 * crash must update the record the first attempt made), and the ledger's target id of each key is the internal id
 * the fake gave that order.
 *
 * N: 1,000 by default (about 1.5 minutes here with the machine shared; each killed worker's slots are held until their
 * 15 s leases run out, which is most of it); the run is RSYNC_NETSUITE_CRASH_N=10000.
 */
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { type FakeNetSuite, fakeSettings, startFakeNetSuite } from '../../engine/connectors/netsuite/fake.js';
import { parseJsonLossless } from '../../engine/util/json.js';
import { killWorkersUntilDone } from '../helpers/crash.js';
import { testDatabase, type TestDatabase } from '../helpers/db.js';
import { buildProblem } from '../helpers/cli.js';
import { applyWorkspace, backfill, runtimeWorkspace, seed } from '../helpers/runtime.js';

const N = Number(process.env.RSYNC_NETSUITE_CRASH_N ?? 1_000);
const FROM = new Date('2026-03-01T00:00:00Z');
const TO = new Date('2026-03-08T00:00:00Z');
const MAPPING = readFileSync(
  new URL('../../templates/shopify-orders-to-erp/2/mappings/shopify-order.jsonata', import.meta.url),
  'utf8',
);
const KEY = "'shopify-order-' & $split(admin_graphql_api_id, '/')[-1]";
// Shopify's orders/create sample made consistent (its totals add up), out of test mode, as the benchmark's ORDER.
const ORDER = {
  ...(
    parseJsonLossless(
      readFileSync(new URL('../fixtures/shopify-variants/orders_create.consistent.json', import.meta.url), 'utf8'),
    ) as { response: Record<string, unknown> }
  ).response,
  test: false,
} as unknown as Record<string, unknown> & { line_items: { sku: string }[] };

describe('netsuite sales orders through SIGKILLed workers', { timeout: 300_000 + N * 100 }, () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let fake: FakeNetSuite;

  afterAll(async () => {
    await pool?.end();
    await fake?.close();
    await db?.drop();
  });

  it(`posts ${N} orders exactly once: one create each, the ledger's target ids the fake's`, async () => {
    const problem = buildProblem([
      'cli/commands/worker.ts',
      'cli/commands/backfill.ts',
      'engine/connectors/netsuite/connector.ts',
    ]);
    if (problem) throw new Error(problem);
    // Each request takes a couple of milliseconds, so that requests overlap and the cap in flight is put to the test.
    fake = await startFakeNetSuite({ accountLimit: 15, latencyMs: 2 });
    fake.seedItems([...new Set(ORDER.line_items.map((l) => l.sku))].map((sku) => ({ itemId: sku })));
    db = await testDatabase('netsuite_crash');
    pool = new pg.Pool({ connectionString: db.url, max: 4, application_name: 'test netsuite crash' });
    const dir = runtimeWorkspace('rsync-netsuite-crash-', {
      connections: [
        { name: 'web', connector: 'sandbox', settings: { system: 'storefront' } },
        {
          name: 'erp',
          connector: 'netsuite',
          settings: {
            ...fakeSettings(fake, 'NS_CRASH'),
            customer: '42',
            concurrency: 8,
            rateLimit: { perSecond: 100_000 },
          },
        },
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
          concurrency: 2,
        },
      ],
    });
    await applyWorkspace(dir, db.url);
    const orders = Array.from({ length: N }, (_, i) => {
      const id = 7_000_000_000 + i;
      return { ...ORDER, id, admin_graphql_api_id: `gid://shopify/Order/${id}`, name: `#C${i}` };
    });
    // Up to a millisecond before TO: the backfill's window ends there, exclusive.
    await seed(pool, 'acme/web', 'orders', orders, FROM, new Date(TO.getTime() - 1));
    await backfill(dir, db.url, 'acme/orders', FROM, TO, '1d');

    const t0 = Date.now();
    const { kills, output } = await killWorkersUntilDone(dir, db.url, pool, { kills: 3, maxMs: 240_000 + N * 90 });
    const seconds = (Date.now() - t0) / 1000;
    process.stdout.write(
      `netsuite crash: ${N} orders, ${kills} workers killed, ${seconds.toFixed(1)} s; the fake had ${fake.stats.requests} requests, at most ${fake.stats.maxInFlight} in flight, ${fake.stats.rejected} refused\n`,
    );
    expect(kills, output).toBeGreaterThan(0);

    const held = [...fake.records.get('salesOrder')!.values()];
    const dead = (await pool.query('SELECT key, error FROM rsync.dead_letters')).rows;
    const runs = (await pool.query('SELECT status, read, written, unchanged, filtered, dead FROM rsync.runs')).rows;
    const why = JSON.stringify({ dead: dead.slice(0, 3), runs: runs.slice(0, 20) });
    expect(dead, why).toEqual([]);
    expect(held.length, why).toBe(N);
    expect(fake.creates.get('salesOrder')).toBe(N);
    expect(new Set(held.map((r) => r.externalId)).size).toBe(N);
    const fakeIds = new Map(held.map((r) => [r.externalId as string, r.id as string]));
    const ledger = (await pool.query<{ key: string; target_id: string }>('SELECT key, target_id FROM rsync.ledger'))
      .rows;
    expect(ledger).toHaveLength(N);
    const wrong = ledger.filter((l) => fakeIds.get(l.key) !== l.target_id);
    expect(wrong).toEqual([]);
    // Never more in flight at the account than the connection's cap, across every worker.
    expect(fake.stats.maxInFlight).toBeLessThanOrEqual(8);
  });
});
