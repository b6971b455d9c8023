/**
 * The runtime on real PostgreSQL: a worker (in this process) runs applied flows between sandbox systems.
 * What a finance team relies on: every record ends written, unchanged, filtered or dead-lettered and the run counts
 * each; re-delivery writes nothing twice; a poison record is dead-lettered (PII masked) while its batch completes,
 * and after the mapping is fixed and applied `rsync dlq replay` lands it once, audited; webhooks are verified and
 * de-duplicated; a record that only echoes what rsync wrote into its system is skipped.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signFor } from '../../engine/connectors/registry.js';
import { SANDBOX_WEBHOOK_SECRET } from '../../engine/connectors/sandbox/receive.js';
import { loadFlows } from '../../engine/runtime/flows.js';
import { cronMatches, RsyncWorker } from '../../engine/runtime/worker.js';
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
  writeWorkspace,
  type WorkspaceSpec,
} from '../helpers/runtime.js';

const SPEC: WorkspaceSpec = {
  connections: [
    { name: 'shop', connector: 'sandbox', settings: { system: 'storefront' } },
    { name: 'erp', connector: 'sandbox', settings: { system: 'erp' } },
  ],
  flows: [
    {
      name: 'stock',
      source: { connection: 'erp', stream: 'inventory' },
      target: { connection: 'shop', entity: 'inventoryLevel' },
      mapping: STOCK_MAPPING,
      canonical: 'inventoryLevel',
      key: STOCK_KEY,
      batchSize: 100,
    },
    // Hourly on the hour in India (UTC+5:30): at half past in UTC.
    {
      name: 'hourly',
      source: { connection: 'erp', stream: 'prices' },
      target: { connection: 'shop', entity: 'inventoryLevel' },
      trigger: '{ schedule: { cron: "0 * * * *", timezone: Asia/Kolkata } }',
      mapping: STOCK_MAPPING,
      canonical: 'inventoryLevel',
      key: STOCK_KEY,
    },
    // The reverse direction: what the storefront reports back to the ERP (the echo case).
    {
      name: 'stock-back',
      source: { connection: 'shop', stream: 'inventory' },
      target: { connection: 'erp', entity: 'inventoryLevel' },
      mapping: STOCK_MAPPING,
      canonical: 'inventoryLevel',
      key: STOCK_KEY,
    },
    {
      name: 'orders',
      source: { connection: 'shop', stream: 'orders' },
      target: { connection: 'erp', entity: 'salesOrder' },
      trigger: '{ event: orders/create }',
      mapping: `{ "externalId": $string(id), "createdAt": created_at, "currency": currency, "total": total_price,
                  "customer": { "email": email },
                  "lines": [line_items.{ "sku": sku, "quantity": quantity, "unitPrice": price, "total": price }] }`,
      canonical: 'order',
      key: "'order-' & $string(id)",
    },
  ],
};

describe('rsync worker', { timeout: 240_000 }, () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let dir: string;
  let worker: RsyncWorker;

  const runOf = async (address: string, after: number) =>
    until(`a finished run of ${address}`, async () => {
      const { rows } = await pool.query(
        `SELECT * FROM rsync.runs WHERE address = $1 AND id > $2 AND status <> 'running' ORDER BY id DESC LIMIT 1`,
        [address, after],
      );
      return rows[0];
    });
  const lastRunId = async () =>
    Number((await pool.query(`SELECT coalesce(max(id), 0) AS id FROM rsync.runs`)).rows[0].id);
  const runNow = async (name: string) => {
    const flow = (await loadFlows(pool, ENV)).get(`acme/flow/${name}`)!;
    const before = await lastRunId();
    await worker.runNow(flow);
    return runOf(flow.address, before);
  };

  beforeAll(async () => {
    const problem = buildProblem([
      'cli/commands/apply.ts',
      'cli/commands/dlq/replay.ts',
      'engine/runtime/mapping/mapper-thread.ts',
    ]);
    if (problem) throw new Error(problem);
    db = await testDatabase('runtime');
    dir = runtimeWorkspace('rsync-runtime-', SPEC);
    await applyWorkspace(dir, db.url);
    pool = new pg.Pool({ connectionString: db.url, max: 12, application_name: 'test runtime' });
    // The test starts the minutes' schedules itself (worker.tick at the times it picks), not the real clock's ticks.
    worker = new RsyncWorker({
      pool,
      url: db.url,
      env: ENV,
      port: 0,
      sandbox: true,
      threads: 2,
      pollMs: 100,
      ticks: false,
    });
    await worker.start();
  });

  afterAll(async () => {
    await worker?.stop(5_000);
    await pool?.end();
    await db?.drop();
  });

  it('syncs every record once, counts each, and writes nothing again when the same records are read again', async () => {
    await seed(pool, 'acme/erp', 'inventory', stockRecords(1000));
    const run = await runNow('stock');
    expect(run.status).toBe('succeeded');
    expect(Number(run.read)).toBe(1000);
    expect(Number(run.written)).toBe(1000);
    expect(Number(run.read)).toBe(
      Number(run.written) + Number(run.unchanged) + Number(run.filtered) + Number(run.dead),
    );
    const w = await pool.query(
      `SELECT count(*)::int AS n, max(version) AS v FROM rsync_sandbox.writes WHERE system = 'acme/shop' AND entity = 'inventoryLevel'`,
    );
    expect(w.rows[0]).toEqual({ n: 1000, v: 1 });
    const row = (await pool.query(`SELECT record FROM rsync_sandbox.writes WHERE key = 'stock-7'`)).rows[0].record;
    expect(row).toMatchObject({ sku: 'SKU-7', locationId: '7', available: 78 });
    // The cursor moved past them: a new run reads nothing.
    const again = await runNow('stock');
    expect(Number(again.read)).toBe(0);
    // Read from the start again (a lost cursor, a re-delivery): the ledger skips every record.
    await pool.query(`DELETE FROM rsync.cursors WHERE address = 'acme/flow/stock'`);
    const reread = await runNow('stock');
    expect({ read: Number(reread.read), unchanged: Number(reread.unchanged), written: Number(reread.written) }).toEqual(
      { read: 1000, unchanged: 1000, written: 0 },
    );
    expect(
      (await pool.query(`SELECT max(version) AS v FROM rsync_sandbox.writes WHERE system = 'acme/shop'`)).rows[0].v,
    ).toBe(1);
    // A changed record is an update of the same target id.
    const before = (await pool.query(`SELECT target_id FROM rsync_sandbox.writes WHERE key = 'stock-5'`)).rows[0]
      .target_id;
    await pool.query(
      `UPDATE rsync_sandbox.records SET payload = jsonb_set(payload, '{qty}', '"999"'), updated_at = now() WHERE system = 'acme/erp' AND id = '5'`,
    );
    const changed = await runNow('stock');
    expect({ read: Number(changed.read), written: Number(changed.written) }).toEqual({ read: 1, written: 1 });
    const after = (
      await pool.query(`SELECT target_id, version, record FROM rsync_sandbox.writes WHERE key = 'stock-5'`)
    ).rows[0];
    expect(after).toMatchObject({ target_id: before, version: 2, record: { available: 999 } });
  });

  it('skips a record that only echoes back what rsync wrote into its system', async () => {
    // The storefront now reports the levels rsync wrote into it: stock-back maps them to the same content.
    const written = (
      await pool.query(
        `SELECT key, record FROM rsync_sandbox.writes WHERE system = 'acme/shop' AND key IN ('stock-1', 'stock-2')`,
      )
    ).rows;
    await seed(pool, 'acme/shop', 'inventory', [
      ...written.map((w) => ({
        id: Number(w.key.slice(6)),
        sku: w.record.sku,
        location: w.record.locationId,
        qty: String(w.record.available),
        updated_at: w.record.updatedAt,
      })),
      { id: 5001, sku: 'SKU-NEW', location: 3, qty: '4', updated_at: '2026-11-02T00:00:00Z' },
    ]);
    const run = await runNow('stock-back');
    expect({ read: Number(run.read), unchanged: Number(run.unchanged), written: Number(run.written) }).toEqual({
      read: 3,
      unchanged: 2,
      written: 1,
    });
    const erp = await pool.query(
      `SELECT key FROM rsync_sandbox.writes WHERE system = 'acme/erp' AND entity = 'inventoryLevel'`,
    );
    expect(erp.rows.map((r) => r.key)).toEqual(['stock-5001']);
  });

  it('dead-letters a poison record (PII masked) while its batch completes; a fixed, applied mapping replays it once, audited', async () => {
    await pool.query(`DELETE FROM rsync.cursors WHERE address = 'acme/flow/stock'`);
    await pool.query(`DELETE FROM rsync_sandbox.records WHERE system = 'acme/erp'`);
    const records = stockRecords(50, 2000);
    // The bad value is the customer's e-mail address, so the mapping's error quotes PII: it must be masked there too.
    Object.assign(records[20], { qty: 'dana@example.com', customer: { email: 'dana@example.com' } });
    await seed(pool, 'acme/erp', 'inventory', records);
    const run = await runNow('stock');
    expect({
      read: Number(run.read),
      written: Number(run.written),
      dead: Number(run.dead),
      status: run.status,
    }).toEqual({ read: 50, written: 49, dead: 1, status: 'succeeded' });

    const list = await cli(dir, db.url, 'dlq', 'list', '--env', ENV, '--json');
    expect(list.status, show(list)).toBe(0);
    const letters = JSON.parse(list.stdout).letters;
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({
      address: 'acme/flow/stock',
      key: 'stock-2021',
      stage: 'map',
      status: 'open',
      revision: 1,
    });
    expect(letters[0].error).toMatch(/D3030|cast/);
    expect(letters[0].error).toContain('***');
    expect(letters[0].payload.customer.email).toBe('***');
    expect(JSON.stringify(letters[0])).not.toContain('dana@example.com');

    // Replaying on the same revision fails again: the letter stays open, with one more attempt.
    const same = await cli(dir, db.url, 'dlq', 'replay', '--flow', 'acme/stock', '--env', ENV, '--sandbox', '--json');
    expect(same.status, show(same)).toBe(1);
    expect(JSON.parse(same.stdout).replayed[0]).toMatchObject({ outcome: 'dead' });
    expect(same.stdout).not.toContain('dana@example.com');
    const after = await pool.query(`SELECT error FROM rsync.dead_letters WHERE id = $1`, [letters[0].id]);
    expect(after.rows[0].error).not.toContain('dana@example.com');

    // Fix the mapping, apply (revision 2), replay: it lands, once.
    const file = path.join(dir, 'integrations', 'acme', 'mappings', 'stock.jsonata');
    writeFileSync(file, readFileSync(file, 'utf8').replace('$number(qty)', "$contains(qty, '@') ? 0 : $number(qty)"));
    await applyWorkspace(dir, db.url);
    const replay = await cli(dir, db.url, 'dlq', 'replay', '--flow', 'acme/stock', '--env', ENV, '--sandbox', '--json');
    expect(replay.status, show(replay)).toBe(0);
    expect(JSON.parse(replay.stdout).replayed).toEqual([
      { id: letters[0].id, address: 'acme/flow/stock', revision: 2, outcome: 'written' },
    ]);
    const landed = await pool.query(
      `SELECT version, record FROM rsync_sandbox.writes WHERE system = 'acme/shop' AND key = 'stock-2021'`,
    );
    expect(landed.rows).toEqual([{ version: 1, record: expect.objectContaining({ available: 0 }) }]);
    const again = await cli(dir, db.url, 'dlq', 'replay', '--flow', 'acme/stock', '--env', ENV, '--sandbox', '--json');
    expect(JSON.parse(again.stdout).replayed).toEqual([]);

    const shown = await cli(dir, db.url, 'dlq', 'show', String(letters[0].id), '--env', ENV);
    expect(shown.stdout).toContain('replayed');
    expect(shown.stdout).toContain('ops-bot');
    const audit = await pool.query(
      `SELECT action, actor, detail FROM rsync.apply_log WHERE action LIKE 'dlq-%' ORDER BY n`,
    );
    expect(audit.rows.map((r) => [r.action, r.actor, r.detail.outcomes[0].outcome])).toEqual([
      ['dlq-replay', 'ops-bot <ops@acme.example>', 'dead'],
      ['dlq-replay', 'ops-bot <ops@acme.example>', 'written'],
    ]);
    const verify = await cli(dir, db.url, 'audit', 'verify', '--json');
    expect(verify.status, show(verify)).toBe(0);
  });

  it('discards a dead letter with who and why, in the audit log', async () => {
    await pool.query(`DELETE FROM rsync_sandbox.records WHERE system = 'acme/erp'`);
    await seed(pool, 'acme/erp', 'inventory', [
      { id: 9001, sku: 'X', location: 1, qty: 'n/a?', updated_at: '2026-11-03T00:00:00Z' },
    ]);
    const run = await runNow('stock');
    expect(Number(run.dead)).toBe(1);
    const d = await cli(
      dir,
      db.url,
      'dlq',
      'discard',
      '--flow',
      'acme/stock',
      '--env',
      ENV,
      '--reason',
      'test data',
      '--json',
    );
    expect(d.status, show(d)).toBe(0);
    expect(JSON.parse(d.stdout).discarded).toHaveLength(1);
    const row = (
      await pool.query(
        `SELECT status, resolved_by, resolution, replay FROM rsync.dead_letters WHERE key = 'stock-9001'`,
      )
    ).rows[0];
    expect(row).toEqual({
      status: 'discarded',
      resolved_by: 'ops-bot <ops@acme.example>',
      resolution: { reason: 'test data' },
      replay: null,
    });
    const log = await pool.query(`SELECT detail FROM rsync.apply_log WHERE action = 'dlq-discard'`);
    expect(log.rows[0].detail.reason).toBe('test data');
  });

  it('serves webhooks: verified, answered fast, de-duplicated by delivery id, then synced', async () => {
    const base = `http://127.0.0.1:${worker.port}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const order = {
      id: 71,
      created_at: '2026-11-20T10:00:00Z',
      currency: 'USD',
      total_price: '12.50',
      email: 'pat@example.com',
      line_items: [{ sku: 'A', quantity: 1, price: '12.50' }],
    };
    const body = Buffer.from(JSON.stringify(order));
    const headers = signFor('sandbox', SANDBOX_WEBHOOK_SECRET, body, {
      deliveryId: 'delivery-71',
      topic: 'orders/create',
    });
    const post = (h: Record<string, string>, b: Buffer = body) =>
      fetch(`${base}/hooks/acme/orders`, { method: 'POST', headers: h, body: b });

    const bad = await post({ ...headers, 'x-rsync-signature': '0'.repeat(64) });
    expect(bad.status).toBe(401);
    const tampered = await post(headers, Buffer.from(JSON.stringify({ ...order, total_price: '0.01' })));
    expect(tampered.status).toBe(401);
    const first = await post(headers);
    expect(first.status).toBe(202);
    expect(await first.json()).toMatchObject({ accepted: true, duplicate: false, delivery: 'delivery-71' });
    const dup = await post(headers);
    expect(dup.status).toBe(200);
    expect(await dup.json()).toMatchObject({ duplicate: true });
    expect((await fetch(`${base}/hooks/acme/no-such-flow`, { method: 'POST', headers, body })).status).toBe(404);

    const written = await until('the order in the ERP', async () => {
      const { rows } = await pool.query(
        `SELECT version, record FROM rsync_sandbox.writes WHERE system = 'acme/erp' AND key = 'order-71'`,
      );
      return rows[0];
    });
    expect(written).toMatchObject({ version: 1, record: { externalId: '71', total: '12.50' } });
    const deliveries = await pool.query(
      `SELECT count(*)::int AS n, count(done_at)::int AS done, max(jsonb_array_length(records)) AS kept FROM rsync.deliveries`,
    );
    expect(deliveries.rows[0]).toEqual({ n: 1, done: 1, kept: 0 });
  });

  it('starts a scheduled flow on the tick of the minute its cron matches, in its time zone, once', async () => {
    await seed(pool, 'acme/erp', 'prices', stockRecords(3, 7000));
    const before = await lastRunId();
    await worker.tick(new Date('2026-11-26T12:00:10Z')); // 17:30 in Kolkata: not on the hour
    await worker.tick(new Date('2026-11-26T12:30:10Z')); // 18:00 in Kolkata
    await worker.tick(new Date('2026-11-26T12:30:40Z')); // the same minute again (a second worker's tick)
    const run = await runOf('acme/flow/hourly', before);
    expect({ trigger: run.trigger, read: Number(run.read), written: Number(run.written) }).toEqual({
      trigger: 'schedule',
      read: 3,
      written: 3,
    });
    await new Promise((r) => setTimeout(r, 1000));
    const runs = await pool.query(
      `SELECT count(*)::int AS n FROM rsync.runs WHERE address = 'acme/flow/hourly' AND id > $1`,
      [before],
    );
    expect(runs.rows[0].n).toBe(1);
  });

  it('a clock that jumps neither starts a minute twice nor skips one (within an hour)', async () => {
    // Ticks at 12:00 and 12:30 were claimed above. The clock jumps forward 70 minutes: the minutes after 12:30 are
    // caught up, an hour of them (12:41–13:40), and 13:30 (19:00 in Kolkata) is started once.
    const before = await lastRunId();
    await worker.tick(new Date('2026-11-26T13:40:20Z'));
    // It jumps back an hour, then returns: nothing is started twice.
    await worker.tick(new Date('2026-11-26T12:30:10Z'));
    await worker.tick(new Date('2026-11-26T13:40:50Z'));
    const claimed = await pool.query<{ first: Date; last: Date; n: number }>(
      `SELECT min(minute) AS first, max(minute) AS last, count(*)::int AS n FROM rsync.schedule_ticks
        WHERE env = $1 AND minute > '2026-11-26T12:30:00Z'`,
      [ENV],
    );
    expect(claimed.rows[0]).toEqual({
      first: new Date('2026-11-26T12:41:00Z'),
      last: new Date('2026-11-26T13:40:00Z'),
      n: 60,
    });
    const run = await runOf('acme/flow/hourly', before);
    expect(run.trigger).toBe('schedule');
    await new Promise((r) => setTimeout(r, 1000));
    const runs = await pool.query(
      `SELECT count(*)::int AS n FROM rsync.runs WHERE address = 'acme/flow/hourly' AND id > $1`,
      [before],
    );
    expect(runs.rows[0].n).toBe(1);
  });

  it('matches cron expressions in their time zone', () => {
    // 06:00 in Chicago is 12:00 UTC in November (CST, UTC−6).
    expect(cronMatches('0 6 * * *', 'America/Chicago', new Date('2026-11-26T12:00:00Z'))).toBe(true);
    expect(cronMatches('0 6 * * *', 'America/Chicago', new Date('2026-11-26T06:00:00Z'))).toBe(false);
    expect(cronMatches('*/15 * * * *', 'UTC', new Date('2026-11-26T12:45:00Z'))).toBe(true);
    expect(cronMatches('*/15 * * * *', 'UTC', new Date('2026-11-26T12:46:00Z'))).toBe(false);
  });

  it('follows a new apply: the next run uses the new revision', async () => {
    const file = path.join(dir, 'integrations', 'acme', 'mappings', 'stock.jsonata');
    writeFileSync(file, readFileSync(file, 'utf8').replace('"sku": sku', '"sku": "NEW-" & sku'));
    await applyWorkspace(dir, db.url);
    // The apply's NOTIFY makes the worker reload at once.
    await until(
      'the worker to load revision 3',
      async () => (worker.flow('acme/flow/stock')?.revision === 3 ? true : undefined),
      1500,
    );
    await seed(pool, 'acme/erp', 'inventory', [
      { id: 9100, sku: 'Z', location: 1, qty: '1', updated_at: '2026-11-04T00:00:00Z' },
    ]);
    const run = await runNow('stock');
    expect(Number(run.revision)).toBe(3);
    expect(
      (await pool.query(`SELECT record->>'sku' AS sku FROM rsync_sandbox.writes WHERE key = 'stock-9100'`)).rows[0].sku,
    ).toBe('NEW-Z');
    // Keep the workspace as the later tests expect it.
    writeWorkspace(dir, SPEC);
  });
});
