/**
 * Promise 4 on Business Central (issue 13): a backfill of Shopify-shaped orders (sandbox source records, the
 * template's order mapping shopify-orders-to-erp@2) into Business Central sales orders through the real
 * business-central connector — OAuth token, shared rate limit and concurrency cap, key lookups, atomic $batch
 * creates — against the fake Business Central started here on 127.0.0.1, while `rsync worker` processes are killed
 * with SIGKILL: at random moments (test/helpers/crash.ts), and twice just as the fake receives one of the worker's
 * $batch requests, which the fake then commits — the worker dies before its ledger commits. Business Central has
 * no idempotency key: the next worker must find those orders by their stamped key (externalDocumentNumber) instead
 * of creating them again. Afterwards the fake holds exactly N sales orders, each created once (the fake counts the
 * creations it committed), and the ledger's target id of every key is the id of the fake's order carrying that key.
 *
 * N is 1,500 by default, so that CI stays within its 20 minutes on a 2-core machine (each worker started costs
 * seconds); the 10,000 is RSYNC_BC_CRASH_N=10000. RSYNC_BC_CRASH_KILLS sets the random kills (default 4).
 */
import { readdirSync, readFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import {
  FAKE_CLIENT_SECRET,
  type FakeBusinessCentral,
  fakeSettings,
  startFakeBusinessCentral,
  WEB_CUSTOMER,
} from '../../engine/connectors/business-central/fake.js';
import { parseJsonLossless } from '../../engine/util/json.js';
import { killWorkersUntilDone } from '../helpers/crash.js';
import { testDatabase, type TestDatabase } from '../helpers/db.js';
import { applyWorkspace, cli, ENV, runtimeWorkspace, seed } from '../helpers/runtime.js';

const N = Number(process.env.RSYNC_BC_CRASH_N ?? 1_500);
/** Workers killed at random moments by the helper, and as a $batch of theirs arrives. */
const KILLS = Number(process.env.RSYNC_BC_CRASH_KILLS ?? 4);
const AIMED = 2;
const FROM = new Date('2026-04-01T00:00:00Z');
const TO = new Date('2026-04-05T00:00:00Z');
const MAPPING = readFileSync(
  new URL('../../templates/shopify-orders-to-erp/2/mappings/shopify-order.jsonata', import.meta.url),
  'utf8',
);
const KEY = "'shopify-order-' & $split(admin_graphql_api_id, '/')[-1]";
// biome-ignore lint/suspicious/noExplicitAny: Shopify's order, read field by field
const SAMPLE: Record<string, any> = {
  ...(
    parseJsonLossless(
      readFileSync(new URL('../fixtures/shopify-variants/orders_create.consistent.json', import.meta.url), 'utf8'),
    ) as { response: Record<string, unknown> }
  ).response,
  test: false,
};

/** The `rsync worker` processes this test process started (spawnWorker's children), by /proc. */
function workerPids(): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid && readFileSync(`/proc/${d}/cmdline`, 'utf8').includes('worker')) out.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

describe('workers killed while posting orders to Business Central', { timeout: 420_000 }, () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let bc: FakeBusinessCentral;

  afterAll(async () => {
    await pool?.end();
    await bc?.close();
    await db?.drop();
  });

  it(`${N.toLocaleString('en-US')} orders: each created once, the ledger's target ids the fake's`, async () => {
    bc = await startFakeBusinessCentral();
    bc.seed({
      customers: [WEB_CUSTOMER],
      items: SAMPLE.line_items.map((l: { sku: string; title: string }) => ({
        number: l.sku,
        displayName: l.title,
        type: 'Inventory',
      })),
    });
    process.env.BC_CRASH_CLIENT_SECRET = FAKE_CLIENT_SECRET;
    db = await testDatabase('bc_crash');
    pool = new pg.Pool({ connectionString: db.url, max: 4, application_name: 'test bc crash' });
    const dir = runtimeWorkspace('rsync-bc-crash-', {
      connections: [
        { name: 'web', connector: 'sandbox', settings: { system: 'storefront' } },
        {
          name: 'erp',
          connector: 'business-central',
          settings: fakeSettings(bc.url, 'BC_CRASH_CLIENT_SECRET'),
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
          concurrency: 4,
        },
      ],
    });
    await applyWorkspace(dir, db.url);
    const orders = Array.from({ length: N }, (_, i) => {
      const id = 7_000_000_000 + i;
      return { ...SAMPLE, id, admin_graphql_api_id: `gid://shopify/Order/${id}`, name: `#C${i}` };
    });
    await seed(pool, 'acme/web', 'orders', orders, FROM, new Date(TO.getTime() - 1));
    const bf = await cli(
      dir,
      db.url,
      'backfill',
      'acme/orders',
      '--env',
      ENV,
      '--since',
      FROM.toISOString(),
      '--until',
      TO.toISOString(),
      '--window',
      '1d',
      '--json',
    );
    expect(bf.status, bf.stderr).toBe(0);

    // Besides the helper's random kills, two workers are killed as Business Central receives one of their $batch
    // requests: the fake commits the batch, the worker dies before its ledger does — the window a repeat must find.
    const t0 = Date.now();
    // Two of the first two-thirds of the run's batches (a batch holds 100 orders), whatever N.
    const every = Math.max(3, Math.floor(N / 300));
    let batches = 0;
    let aimed = 0;
    bc.before = (method, path) => {
      if (method !== 'POST' || !path.endsWith('$batch') || ++batches % every !== 2 || aimed >= AIMED) return;
      aimed++;
      for (const pid of workerPids()) process.kill(pid, 'SIGKILL');
    };
    const { kills, output } = await killWorkersUntilDone(dir, db.url, pool, {
      kills: KILLS,
      maxMs: 300_000,
      jitterMs: 1_500,
    });
    bc.before = undefined;
    process.stderr.write(
      `business-central crash: ${N} orders, ${kills} + ${aimed} kills, ${((Date.now() - t0) / 1000).toFixed(0)} s of workers\n`,
    );
    expect(kills, output).toBeGreaterThanOrEqual(1);
    expect(aimed).toBe(AIMED);
    // A worker after a killed one found orders the killed one had created, by their key, instead of creating them.
    const repeats = bc.calls.filter(
      (c) => c.method === 'GET' && c.path.endsWith('/salesOrders') && (c.returned ?? 0) > 0,
    );
    expect(repeats.length).toBeGreaterThanOrEqual(1);

    const docs = bc.records('salesOrders');
    expect(docs.length, output).toBe(N);
    const created = [...(bc.creates.get('salesOrders')?.values() ?? [])];
    expect(created.length).toBe(N);
    expect(Math.max(...created)).toBe(1); // none created twice
    expect(created.reduce((a, b) => a + b, 0)).toBe(N);
    expect(new Set(docs.map((d) => d.externalDocumentNumber)).size).toBe(N);
    // Every order whole: its five item lines and its shipping line.
    expect(docs.every((d) => d.salesOrderLines.length === 6)).toBe(true);

    const ledger = new Map(
      (await pool.query<{ key: string; target_id: string }>('SELECT key, target_id FROM rsync.ledger')).rows.map(
        (r) => [r.key, r.target_id],
      ),
    );
    expect(ledger.size).toBe(N);
    for (const d of docs) expect(ledger.get(d.externalDocumentNumber)).toBe(d.id);
    const dead = Number((await pool.query('SELECT count(*) FROM rsync.dead_letters')).rows[0].count);
    expect(dead, output).toBe(0);
  });
});
