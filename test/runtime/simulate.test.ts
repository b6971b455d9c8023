/**
 * The demo's traffic (engine/runtime/simulate.ts) against real PostgreSQL and a sandbox worker over real HTTP:
 * webhooks arrive as their vendors send them (Shopify's bare order with its headers, Square's event envelope with
 * its event_id), with an order's edits and cancellation and an open sale's completion, and the counts per flow name
 * each reason the mappings filtered for. The flows are applied with the built CLI.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFlows } from '../../engine/runtime/flows.js';
import { syncSandbox } from '../../engine/runtime/simulate.js';
import { buildProblem } from '../helpers/cli.js';
import { testDatabase, type TestDatabase } from '../helpers/db.js';
import { applyWorkspace, ENV, runtimeWorkspace } from '../helpers/runtime.js';

const SHOPIFY_MAPPING = `test = true ? { "$filter": "test order" } : {
  "sku": $string(id),
  "locationId": "web",
  "available": cancelled_at ? 0 : 1,
  "updatedAt": updated_at
}`;
const SQUARE_MAPPING = `state = 'COMPLETED' ? {
  "sku": id,
  "locationId": location_id,
  "available": 1,
  "updatedAt": updated_at
} : { "$filter": "order not completed (" & state & ")" }`;

const SAMPLES: Record<string, unknown[]> = {
  'acme/flow/web-orders': [
    {
      id: 8209829119461545,
      name: '#1001',
      email: 'jane@example.com',
      test: false,
      updated_at: '2026-01-01T00:00:00Z',
    },
    {
      id: 8209829119461546,
      name: '#1002',
      email: 'test@example.com',
      test: true,
      updated_at: '2026-01-01T00:00:00Z',
    },
  ],
  'acme/flow/pos-orders': [
    {
      id: 'CAISENgvlJ6jLWAzERDzjyHVybY',
      location_id: 'L1',
      state: 'OPEN',
      version: 1,
      updated_at: '2026-01-01T00:00:00Z',
    },
  ],
};

describe('the demo traffic', { timeout: 180_000 }, () => {
  let db: TestDatabase;
  let pool: pg.Pool;

  beforeAll(async () => {
    const problem = buildProblem(['cli/commands/apply.ts']);
    if (problem) throw new Error(problem);
    db = await testDatabase('runtime_simulate');
    pool = new pg.Pool({ connectionString: db.url, max: 6, application_name: 'test simulate' });
    const token = { secretRef: 'env:TOKEN' };
    const dir = runtimeWorkspace('rsync-simulate-', {
      connections: [
        { name: 'shop', connector: 'shopify', settings: { shop: 'acme.myshopify.com', accessToken: token } },
        { name: 'pos', connector: 'square', settings: { accessToken: token } },
        { name: 'erp', connector: 'sandbox', settings: { system: 'erp' } },
      ],
      flows: [
        {
          name: 'web-orders',
          source: { connection: 'shop', stream: 'orders' },
          target: { connection: 'erp', entity: 'inventoryLevel' },
          trigger: '{ event: [orders/create, orders/updated, orders/cancelled] }',
          mapping: SHOPIFY_MAPPING,
          canonical: 'inventoryLevel',
          key: "'web-' & $string(id)",
        },
        {
          name: 'pos-orders',
          source: { connection: 'pos', stream: 'orders' },
          target: { connection: 'erp', entity: 'inventoryLevel' },
          trigger: '{ event: order.updated }',
          mapping: SQUARE_MAPPING,
          canonical: 'inventoryLevel',
          key: "'pos-' & id",
        },
      ],
    });
    await applyWorkspace(dir, db.url);
  });

  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  it("sends vendors' envelopes with edits, cancellations and completions, and counts each filter reason", async () => {
    const flows = [...(await loadFlows(pool, ENV)).values()];
    const sync = await syncSandbox({ pool, url: db.url }, ENV, flows, (f) => SAMPLES[f.address] ?? [], {
      records: 5,
      forMs: 60_000,
    });
    const by = Object.fromEntries(sync.flows.map((r) => [r.address, r]));
    // Shopify: 5 copies, one in five a test order (its create and its edit filtered, with the reason); two edits
    // (orders/updated) and one cancellation (orders/cancelled) of the live ones, each written.
    // (A create worked in one page with its edit is superseded by it: unchanged, not written.)
    const web0 = by['acme/flow/web-orders'];
    expect(web0).toMatchObject({ read: 8, filtered: 2, dead: 0, filteredBy: { 'test order': 2 } });
    expect(web0.written + web0.unchanged).toBe(6);
    // Square: each open sale's order.updated is filtered with its state, and its completion a minute later written.
    expect(by['acme/flow/pos-orders']).toMatchObject({
      read: 10,
      written: 5,
      filtered: 5,
      dead: 0,
      filteredBy: { 'order not completed (OPEN)': 5 },
    });
    expect(sync.duplicatesRefused).toBe(18);

    const deliveries = (
      await pool.query<{ address: string; delivery_id: string; topic: string }>(
        `SELECT address, delivery_id, topic FROM rsync.deliveries ORDER BY id`,
      )
    ).rows;
    const web = deliveries.filter((d) => d.address === 'acme/flow/web-orders');
    expect(web.map((d) => d.topic).sort()).toEqual([
      'orders/cancelled',
      ...Array(5).fill('orders/create'),
      ...Array(2).fill('orders/updated'),
    ]);
    // Every copy's id is its own (a key each): the four live orders and the five sales are written once each.
    const keys = (await pool.query<{ key: string }>(`SELECT key FROM rsync_sandbox.writes ORDER BY key`)).rows;
    expect(keys.filter((k) => k.key.startsWith('web-'))).toHaveLength(4);
    expect(keys.filter((k) => k.key.startsWith('pos-'))).toHaveLength(5);
    // Square: its event's event_id is the delivery id.
    const pos = deliveries.filter((d) => d.address === 'acme/flow/pos-orders');
    expect(pos).toHaveLength(10);
    for (const d of pos) {
      expect(d.delivery_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(d.topic).toBe('order.updated');
    }
    const written = await pool.query(
      `SELECT count(*)::int AS n FROM rsync_sandbox.writes WHERE record->>'available' = '0'`,
    );
    expect(written.rows[0].n).toBe(1); // the cancelled order
  });
});
