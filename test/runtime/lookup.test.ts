/**
 * A webhook that only notifies (engine/runtime/events.ts): Square's order.updated carries the order's id, version
 * and state, not the order. The worker — not in sandbox mode, so the connection is the real square connector —
 * verifies the notification, fetches the order it names from Square (here the fake Square server on 127.0.0.1,
 * engine/connectors/square/fake.ts, seeded with Square's own RetrieveOrder example) and maps that order through the
 * template's real Square order mapping into the ERP (a sandbox system in the state database).
 */
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signFor } from '../../engine/connectors/registry.js';
import { FAKE_SQUARE_TOKEN, type FakeSquare, startFakeSquare } from '../../engine/connectors/square/fake.js';
import { RsyncWorker } from '../../engine/runtime/worker.js';
import { parseJsonLossless } from '../../engine/util/json.js';
import { testDatabase, type TestDatabase } from '../helpers/db.js';
import { applyWorkspace, ENV, runtimeWorkspace, until } from '../helpers/runtime.js';

const KEY = 'square-signature-key-for-the-lookup-test';
const fixture = (p: string) => readFileSync(new URL(`../fixtures/${p}`, import.meta.url), 'utf8');
const MAPPING = readFileSync(
  new URL('../../templates/square-orders-to-erp/1/mappings/square-order.jsonata', import.meta.url),
  'utf8',
);

describe('a notification is looked up at its source before it is mapped', { timeout: 120_000 }, () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let fake: FakeSquare;
  let worker: RsyncWorker;
  let order: Record<string, unknown>;

  beforeAll(async () => {
    order = (
      parseJsonLossless(fixture('square/RetrieveOrderResponse.example.json')) as { order: Record<string, unknown> }
    ).order;
    fake = await startFakeSquare({
      locations: [
        {
          id: String(order.location_id),
          name: 'Showroom',
          status: 'ACTIVE',
          merchant_id: 'MLFAKE0RSYNC1',
          currency: 'USD',
        },
      ],
    });
    fake.seed({ orders: [{ ...order, state: 'COMPLETED' }] });
    process.env.LOOKUP_SQUARE_TOKEN = FAKE_SQUARE_TOKEN;
    process.env.LOOKUP_SQUARE_KEY = KEY;
    db = await testDatabase('lookup');
    const dir = runtimeWorkspace('rsync-lookup-', {
      connections: [
        {
          name: 'pos',
          connector: 'square',
          settings: {
            environment: 'sandbox',
            baseUrl: fake.url,
            accessToken: { secretRef: 'env:LOOKUP_SQUARE_TOKEN' },
            webhookSignatureKey: { secretRef: 'env:LOOKUP_SQUARE_KEY' },
            notificationUrl: 'https://hooks.acme.example/hooks/acme/pos-orders',
          },
        },
        { name: 'erp', connector: 'sandbox', settings: { system: 'erp' } },
      ],
      flows: [
        {
          name: 'pos-orders',
          source: { connection: 'pos', stream: 'orders' },
          target: { connection: 'erp', entity: 'salesOrder' },
          trigger: '{ event: order.updated }',
          mapping: MAPPING,
          canonical: 'order',
          key: "'pos-order-' & id",
        },
      ],
    });
    await applyWorkspace(dir, db.url);
    pool = new pg.Pool({ connectionString: db.url, max: 6, application_name: 'test lookup' });
    worker = new RsyncWorker({ pool, url: db.url, env: ENV, port: 0, sandbox: false, threads: 1, pollMs: 100 });
    await worker.start();
  });

  afterAll(async () => {
    await worker?.stop(5_000);
    await pool?.end();
    await fake?.close();
    await db?.drop();
  });

  it('maps the order Square returns for the id, not the notification', async () => {
    const body = Buffer.from(
      JSON.stringify({
        merchant_id: 'MLFAKE0RSYNC1',
        type: 'order.updated',
        event_id: '0b6a3f52-6a51-4c6e-9a1e-7f2d9e0c4a11',
        created_at: '2026-07-01T10:00:05Z',
        data: {
          type: 'order_updated',
          id: order.id,
          object: {
            order_updated: {
              order_id: order.id,
              version: order.version,
              location_id: order.location_id,
              state: 'COMPLETED',
              created_at: order.created_at,
              updated_at: order.updated_at,
            },
          },
        },
      }),
    );
    const headers = signFor('square', KEY, body, {
      notificationUrl: 'https://hooks.acme.example/hooks/acme/pos-orders',
    });
    const res = await fetch(`http://127.0.0.1:${worker.port}/hooks/acme/pos-orders`, { method: 'POST', headers, body });
    expect(res.status).toBe(202);
    const written = await until('the ERP write', async () => {
      const { rows } = await pool.query<{ key: string; record: Record<string, unknown> }>(
        `SELECT key, record FROM rsync_sandbox.writes`,
      );
      return rows.length ? rows : undefined;
    });
    expect(written.map((r) => r.key)).toEqual([`pos-order-${order.id}`]);
    // The order's lines and money came from the fetched order: the notification has neither.
    const lines = (order.line_items as unknown[]).length;
    expect((written[0].record.lines as unknown[]).length).toBe(lines);
    expect(written[0].record.total).toEqual(expect.any(String));
    expect(fake.calls.some((c) => c.path === '/v2/orders/batch-retrieve')).toBe(true);
  });
});
