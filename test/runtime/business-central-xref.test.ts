/**
 * `rsync xref verify` on Business Central (issue 13): orders synced by a worker through the real business-central
 * connector into the fake Business Central (engine/connectors/business-central/fake.ts, on 127.0.0.1) keep in the
 * ledger the view each write returned; verify fetches the sales orders back through the same connector and compares
 * them field by field — clean as written (amounts normalised on both sides), then, after a line's quantity is edited
 * and an order deleted in Business Central behind rsync's back, those two reported as drift.
 */
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import {
  FAKE_CLIENT_SECRET,
  type FakeBusinessCentral,
  fakeSettings,
  startFakeBusinessCentral,
  WEB_CUSTOMER,
} from '../../engine/connectors/business-central/fake.js';
import { RsyncWorker } from '../../engine/runtime/worker.js';
import { show } from '../helpers/cli.js';
import { testDatabase, type TestDatabase } from '../helpers/db.js';
import { applyWorkspace, backfillOnce, cli, ENV, runtimeWorkspace, seed } from '../helpers/runtime.js';

const N = 30;
// A small order mapping: one line of the order's SKU, prices as the decimal strings the source gives.
const MAPPING = `{ "externalId": $string(id), "createdAt": created_at, "currency": "EUR",
  "lines": [{ "sku": sku, "quantity": qty, "unitPrice": price, "total": total }], "subtotal": total, "total": total }`;

describe('rsync xref verify on Business Central', { timeout: 180_000 }, () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let bc: FakeBusinessCentral;

  afterAll(async () => {
    await pool?.end();
    await bc?.close();
    await db?.drop();
  });

  it('finds every order as written, then reports a line changed and an order deleted behind rsync’s back', async () => {
    bc = await startFakeBusinessCentral();
    bc.seed({
      customers: [WEB_CUSTOMER],
      items: [{ number: 'CT-1000-OAK', displayName: 'Oak Side Table', type: 'Inventory' }],
    });
    process.env.BC_XREF_CLIENT_SECRET = FAKE_CLIENT_SECRET;
    db = await testDatabase('bc_xref');
    pool = new pg.Pool({ connectionString: db.url, max: 4, application_name: 'test bc xref' });
    const dir = runtimeWorkspace('rsync-bc-xref-', {
      connections: [
        { name: 'web', connector: 'sandbox', settings: { system: 'storefront' } },
        {
          name: 'erp',
          connector: 'business-central',
          settings: fakeSettings(bc.url, 'BC_XREF_CLIENT_SECRET'),
        },
      ],
      flows: [
        {
          name: 'orders',
          source: { connection: 'web', stream: 'orders' },
          target: { connection: 'erp', entity: 'salesOrder' },
          mapping: MAPPING,
          canonical: 'order',
          key: "'web-order-' & $string(id)",
        },
      ],
    });
    await applyWorkspace(dir, db.url);
    const orders = Array.from({ length: N }, (_, i) => ({
      id: 5000 + i,
      created_at: '2026-11-01T10:00:00Z',
      sku: 'CT-1000-OAK',
      qty: 2,
      price: '149.5',
      total: '299.00',
    }));
    const from = new Date('2026-11-01T00:00:00Z');
    await seed(pool, 'acme/web', 'orders', orders, from, new Date('2026-11-01T12:00:00Z'));
    const worker = new RsyncWorker({ pool, url: db.url, env: ENV, port: null, threads: 1, pollMs: 100 });
    await worker.start();
    try {
      expect(await backfillOnce(pool, 'orders', from, new Date('2026-11-02T00:00:00Z'))).toMatchObject({ read: N });
    } finally {
      await worker.stop(5_000);
    }
    expect(bc.records('salesOrders')).toHaveLength(N);

    const verify = () => cli(dir, db.url, 'xref', 'verify', 'acme/orders', '--sample', '1000', '--env', ENV, '--json');
    const clean = await verify();
    expect(clean.status, show(clean)).toBe(0);
    expect(JSON.parse(clean.stdout)).toMatchObject({ ok: true, checked: N, drift: [], compared: ['fields'] });

    // Behind rsync's back: one order's line quantity edited in Business Central, another order deleted.
    const docs = bc.records('salesOrders');
    const edited = docs.find((d) => d.externalDocumentNumber === 'web-order-5003')!;
    const deleted = docs.find((d) => d.externalDocumentNumber === 'web-order-5007')!;
    bc.tamper('lines', edited.salesOrderLines[0].id, (l) => void (l.quantity = 3));
    bc.remove('salesOrders', deleted.id);

    const drifted = await verify();
    expect(drifted.status, show(drifted)).toBe(1);
    const out = JSON.parse(drifted.stdout);
    const byKey = Object.fromEntries(out.drift.map((d: { entry: { key: string } }) => [d.entry.key, d]));
    expect(Object.keys(byKey).sort()).toEqual(['web-order-5003', 'web-order-5007']);
    expect(byKey['web-order-5003']).toMatchObject({ problem: 'changed', object: `salesOrder ${edited.id}` });
    expect(JSON.stringify(byKey['web-order-5003'])).toContain('3.00');
    expect(byKey['web-order-5007']).toMatchObject({ problem: 'missing', object: `salesOrder ${deleted.id}` });
  });
});
