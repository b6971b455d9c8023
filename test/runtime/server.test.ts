/**
 * The worker's webhook server on what a sender gets wrong for good: a signed delivery whose JSON holds `\u0000` (or
 * half of a surrogate pair) was answered 503 — jsonb cannot hold it, so storing failed — and the sender retried it
 * for ever. It is a 400 now, which senders do not retry, saying where in the body it is; nothing is stored, and the
 * deliveries before and after it go on as usual.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signFor } from '../../engine/connectors/registry.js';
import { SANDBOX_WEBHOOK_SECRET } from '../../engine/connectors/sandbox/receive.js';
import { RsyncWorker } from '../../engine/runtime/worker.js';
import { buildProblem } from '../helpers/cli.js';
import { testDatabase, type TestDatabase } from '../helpers/db.js';
import { applyWorkspace, ENV, HOOK_ORDERS, runtimeWorkspace, SANDBOX_SYSTEMS } from '../helpers/runtime.js';

describe('webhooks that can never be stored', { timeout: 120_000 }, () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let worker: RsyncWorker;

  beforeAll(async () => {
    const problem = buildProblem(['cli/commands/apply.ts']);
    if (problem) throw new Error(problem);
    db = await testDatabase('server');
    const dir = runtimeWorkspace('rsync-server-', {
      connections: SANDBOX_SYSTEMS,
      flows: [
        HOOK_ORDERS,
        {
          // An order's life under one key: created, edited, cancelled.
          name: 'order-life',
          source: { connection: 'shop', stream: 'orders' },
          target: { connection: 'erp', entity: 'salesOrder' },
          trigger: '{ event: [orders/create, orders/updated, orders/cancelled] }',
          mapping: `{ "externalId": $string(id), "createdAt": created_at, "updatedAt": updated_at, "currency": currency,
                      "total": total_price, "status": cancelled_at ? "cancelled" : "open",
                      "cancelledAt": cancelled_at ? cancelled_at,
                      "lines": [line_items.{ "sku": sku, "quantity": quantity, "unitPrice": price, "total": price }] }`,
          canonical: 'order',
          key: "'life-' & $string(id)",
        },
      ],
    });
    await applyWorkspace(dir, db.url);
    pool = new pg.Pool({ connectionString: db.url, max: 6, application_name: 'test server' });
    worker = new RsyncWorker({ pool, url: db.url, env: ENV, port: 0, sandbox: true, threads: 1, pollMs: 100 });
    await worker.start();
  });

  afterAll(async () => {
    await worker?.stop(5_000);
    await pool?.end();
    await db?.drop();
  });

  /** POST a body (JSON text as the sender wrote it) signed as the sandbox's sender does. */
  const post = (json: string, deliveryId: string, topic = 'orders/create', flow = 'orders') => {
    const body = Buffer.from(json);
    const headers = signFor('sandbox', SANDBOX_WEBHOOK_SECRET, body, { deliveryId, topic });
    return fetch(`http://127.0.0.1:${worker.port}/hooks/acme/${flow}`, { method: 'POST', headers, body });
  };
  const order = (id: number, note: string) =>
    `{"id":${id},"created_at":"2026-11-20T10:00:00Z","currency":"USD","total_price":"1.00","note":"${note}","line_items":[]}`;
  const errorOf = async (r: Response) => ((await r.json()) as { error: string }).error;
  const stored = async () =>
    (await pool.query<{ delivery_id: string }>(`SELECT delivery_id FROM rsync.deliveries ORDER BY id`)).rows.map(
      (r) => r.delivery_id,
    );

  it('answers 400, not 503, to a \\u0000 in a value or a key, and to a lone surrogate; stores nothing', async () => {
    const nul = await post(order(1, 'gift\\u0000wrap'), 'd-nul');
    expect(nul.status).toBe(400);
    expect(await nul.json()).toEqual({
      error:
        'A NUL character (\\u0000) in records[0].note: rsync cannot store it (PostgreSQL refuses it), so this delivery is refused; send it without',
    });
    // The sender retries: the same answer, never a 5xx.
    expect((await post(order(1, 'gift\\u0000wrap'), 'd-nul')).status).toBe(400);

    const key = await post(order(2, 'x').replace('"note"', '"no\\u0000te"'), 'd-key');
    expect(key.status).toBe(400);
    expect(await errorOf(key)).toMatch(/^A NUL character \(\\u0000\) in the key records\[0\]\.no\\u0000te: /);

    const half = await post(order(3, 'smile \\ud83d'), 'd-surrogate');
    expect(half.status).toBe(400);
    expect(await errorOf(half)).toMatch(/^Half of a surrogate pair \(\\uD83D\) in records\[0\]\.note: /);

    expect(await stored()).toEqual([]);
  });

  it('accepts the deliveries around it as before (a whole surrogate pair is a character)', async () => {
    const ok = await post(order(4, 'smile \\ud83d\\ude00'), 'd-ok');
    expect(ok.status).toBe(202);
    expect(await stored()).toEqual(['d-ok']);
  });

  it('refuses a topic the flow does not take (400), and stores nothing of it', async () => {
    const before = await stored();
    const r = await post(order(5, 'edited'), 'd-wrong-topic', 'orders/updated');
    expect(r.status).toBe(400);
    expect(await errorOf(r)).toBe(
      "flow acme/orders takes orders/create, not orders/updated: subscribe this topic to the flow that takes it, or add it to this flow's trigger",
    );
    const paid = await post(order(5, 'paid'), 'd-paid', 'orders/paid', 'order-life');
    expect(paid.status).toBe(400);
    expect(await errorOf(paid)).toContain('takes orders/create, orders/updated, orders/cancelled, not orders/paid');
    expect(await stored()).toEqual(before);
  });

  it('a flow of several topics takes an order, its edit and its cancellation as versions of one record; an older version delivered late is skipped', async () => {
    const life = (total: string, cancelled: string | null, updated: string) =>
      `{"id":77,"created_at":"2026-11-20T10:00:00Z","updated_at":"${updated}","currency":"USD","total_price":"${total}","cancelled_at":${cancelled ? `"${cancelled}"` : 'null'},"line_items":[{"sku":"A","quantity":1,"price":"${total}"}]}`;
    const versions = async () =>
      (
        await pool.query<{ version: number; record: { total: string; status: string } }>(
          `SELECT version, record FROM rsync_sandbox.writes WHERE key = 'life-77'`,
        )
      ).rows;
    const until = async (check: (v: Awaited<ReturnType<typeof versions>>) => boolean) => {
      for (let end = Date.now() + 30_000; Date.now() < end; await new Promise((r) => setTimeout(r, 100))) {
        const v = await versions();
        if (check(v)) return v;
      }
      throw new Error(`timed out: ${JSON.stringify(await versions())}`);
    };
    expect(
      (await post(life('10.00', null, '2026-11-20T10:00:00Z'), 'life-1', 'orders/create', 'order-life')).status,
    ).toBe(202);
    await until((v) => v[0]?.record.total === '10.00');
    expect(
      (await post(life('8.00', null, '2026-11-20T12:00:00Z'), 'life-2', 'orders/updated', 'order-life')).status,
    ).toBe(202);
    await until((v) => v[0]?.record.total === '8.00');
    expect(
      (
        await post(
          life('8.00', '2026-11-21T09:00:00Z', '2026-11-21T09:00:00Z'),
          'life-3',
          'orders/cancelled',
          'order-life',
        )
      ).status,
    ).toBe(202);
    await until((v) => v[0]?.record.status === 'cancelled');
    // An edit of 11:00 that the sender delivered only now (vendors do not promise the order of deliveries): older
    // than the cancellation written, it is skipped, not written over it.
    const late = life('9.00', null, '2026-11-20T11:00:00Z');
    expect((await post(late, 'life-late', 'orders/updated', 'order-life')).status).toBe(202);
    const done = async () =>
      (await pool.query(`SELECT done_at FROM rsync.deliveries WHERE delivery_id = 'life-late'`)).rows[0]?.done_at;
    for (let end = Date.now() + 30_000; !(await done()) && Date.now() < end; )
      await new Promise((r) => setTimeout(r, 100));
    expect(await done(), 'the late delivery was worked').toBeTruthy();
    const [last, ...more] = await versions();
    expect(more).toEqual([]);
    expect(last.version).toBe(3);
    expect(last.record).toMatchObject({ externalId: '77', total: '8.00', status: 'cancelled' });
  });
});
