/**
 * `GET /metrics` of a real worker (sandbox systems in a real PostgreSQL): scraped while a run is held between two
 * pages and after it, parsed with the text format's rules (test/helpers/prometheus.ts), its counters checked against
 * the rsync.runs rows of the flow (written, unchanged, filtered, dead; runs by result), its gauges against the
 * tables (dead letters open, workers), and the webhook requests it refused (a bad signature, a body too large)
 * against their counters. The same figures summed per customer when the flow label is off.
 *
 * The run is held deterministically: a trigger on the sandbox's writes waits on an advisory lock the test holds,
 * once the first page's records are written, so the second page waits inside its transaction.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signFor } from '../../engine/connectors/registry.js';
import { SANDBOX_WEBHOOK_SECRET } from '../../engine/connectors/sandbox/receive.js';
import { loadFlows } from '../../engine/runtime/flows.js';
import { WorkerMetrics } from '../../engine/runtime/metrics.js';
import type { RsyncWorker } from '../../engine/runtime/worker.js';
import { buildProblem } from '../helpers/cli.js';
import { testDatabase, type TestDatabase } from '../helpers/db.js';
import { type Family, parsePrometheus, sumOf, sample } from '../helpers/prometheus.js';
import {
  applyWorkspace,
  ENV,
  HOOK_ORDERS,
  runtimeWorkspace,
  SANDBOX_SYSTEMS,
  STOCK_KEY,
  seed,
  startSandboxWorker,
  until,
} from '../helpers/runtime.js';

const HOLD = 716_001; // the advisory lock the second page waits on
const LIMIT = 4096; // the worker's largest webhook body
const N = 1200; // records: 500 a page, so three pages

/** Every 100th record is filtered (a reason given), every 250th dead (its quantity is no number). */
const MAPPING = `$string(qty) = 'skip' ? { "$filter": "not stocked" } : {
  "sku": sku,
  "locationId": $string(location),
  "available": $number(qty),
  "updatedAt": updated_at
}`;
const records = (at: string) =>
  Array.from({ length: N }, (_, i) => ({
    id: i + 1,
    sku: `SKU-${i + 1}`,
    location: 1,
    qty: (i + 1) % 250 === 0 ? 'n/a?' : (i + 1) % 100 === 0 ? 'skip' : String(i % 50),
    updated_at: at,
  }));

describe('GET /metrics', { timeout: 120_000 }, () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let worker: RsyncWorker;
  let holder: pg.Client;

  beforeAll(async () => {
    const problem = buildProblem(['cli/commands/apply.ts']);
    if (problem) throw new Error(problem);
    db = await testDatabase('metrics');
    const dir = runtimeWorkspace('rsync-metrics-', {
      connections: SANDBOX_SYSTEMS,
      flows: [
        HOOK_ORDERS,
        {
          name: 'stock',
          source: { connection: 'erp', stream: 'inventory' },
          target: { connection: 'shop', entity: 'inventoryLevel' },
          mapping: MAPPING,
          canonical: 'inventoryLevel',
          key: STOCK_KEY,
          batchSize: 500,
        },
      ],
      retry: '{ maxAttempts: 1, backoff: fixed, initial: 1s, max: 1s }',
    });
    await applyWorkspace(dir, db.url);
    pool = new pg.Pool({ connectionString: db.url, max: 8, application_name: 'test metrics' });
    await pool.query(`
      CREATE FUNCTION rsync_sandbox.hold() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF EXISTS (SELECT 1 FROM rsync_sandbox.writes WHERE key = 'stock-1') THEN
          PERFORM pg_advisory_xact_lock_shared(${HOLD});
        END IF;
        RETURN NULL;
      END $$;
      CREATE TRIGGER hold BEFORE INSERT ON rsync_sandbox.writes FOR EACH STATEMENT EXECUTE FUNCTION rsync_sandbox.hold();`);
    holder = new pg.Client({ connectionString: db.url, application_name: 'test metrics holder' });
    await holder.connect();
    worker = await startSandboxWorker(pool, db.url, { limits: { maxBodyBytes: LIMIT } });
  });

  afterAll(async () => {
    await holder?.end();
    await worker?.stop(5_000);
    await pool?.end();
    await db?.drop();
  });

  const scrape = async (): Promise<Map<string, Family>> => {
    const r = await fetch(`http://127.0.0.1:${worker.port}/metrics`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    return parsePrometheus(await r.text());
  };
  /** The flow's rsync.runs rows summed: what the counters must say. */
  const runRows = async () =>
    (
      await pool.query(
        `SELECT sum(written)::int AS written, sum(unchanged)::int AS unchanged, sum(filtered)::int AS filtered,
                sum(dead)::int AS dead, count(*) FILTER (WHERE status = 'succeeded')::int AS succeeded,
                count(*) FILTER (WHERE status = 'running')::int AS running
           FROM rsync.runs WHERE address = 'acme/flow/stock'`,
      )
    ).rows[0];
  const stock = { env: ENV, customer: 'acme', flow: 'stock' };
  const expectCounters = (m: Map<string, Family>, rows: Record<string, number>) => {
    for (const outcome of ['written', 'unchanged', 'filtered', 'dead'])
      expect(sample(m, 'rsync_records_total', { ...stock, outcome }), outcome).toBe(rows[outcome]);
  };
  const runNow = async () => {
    const flow = (await loadFlows(pool, ENV)).get('acme/flow/stock')!;
    const before = Number((await pool.query(`SELECT coalesce(max(id), 0) AS id FROM rsync.runs`)).rows[0].id);
    await worker.runNow(flow);
    return before;
  };
  const finished = (after: number) =>
    until('the run to finish', async () => {
      const { rows } = await pool.query(`SELECT * FROM rsync.runs WHERE id > $1 AND status <> 'running'`, [after]);
      return rows[0];
    });

  it('counts a run page by page while it runs, and in full once it ended, as its rsync.runs row says', async () => {
    await seed(pool, 'acme/erp', 'inventory', records('2026-11-01T00:00:00Z'));
    await holder.query('SELECT pg_advisory_lock($1)', [HOLD]);
    const after = await runNow();
    // The second page waits on the lock: the first one's counts are committed, the run is still running.
    await until('the second page to wait', async () => {
      const { rows } = await pool.query(
        `SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND NOT granted`,
        [HOLD],
      );
      return rows[0];
    });
    const during = await scrape();
    const mid = await runRows();
    expect(mid.running).toBe(1);
    expect(mid.written + mid.filtered + mid.dead).toBe(500);
    expectCounters(during, mid);
    expect(sample(during, 'rsync_runs_running', { env: ENV, customer: 'acme' })).toBe(1);
    expect(sample(during, 'rsync_runs_total', { ...stock, result: 'succeeded' })).toBe(0);

    await holder.query('SELECT pg_advisory_unlock($1)', [HOLD]);
    const run = await finished(after);
    expect(run.status).toBe('succeeded');
    const after1 = await scrape();
    const rows = await runRows();
    // 4 dead (250, 500, 750, 1000), 10 filtered (the other multiples of 100), the rest written.
    expect(rows).toMatchObject({ written: N - 14, filtered: 10, dead: 4, running: 0 });
    expectCounters(after1, rows);
    expect(sample(after1, 'rsync_runs_total', { ...stock, result: 'succeeded' })).toBe(1);
    expect(sample(after1, 'rsync_runs_running', { env: ENV, customer: 'acme' })).toBe(0);
    expect(sample(after1, 'rsync_run_duration_seconds_count', { env: ENV, customer: 'acme' })).toBe(1);
    expect(sumOf(after1, 'rsync_page_duration_seconds_count', { env: ENV, customer: 'acme' })).toBe(3);
    const open = Number(
      (await pool.query(`SELECT count(*) FROM rsync.dead_letters WHERE status = 'open'`)).rows[0].count,
    );
    expect(open).toBe(4);
    expect(sample(after1, 'rsync_dead_letters_open', stock)).toBe(open);
    expect(sample(after1, 'rsync_workers_live', { env: ENV })).toBe(1);
    // Just succeeded: within its SLA's freshness (1h).
    expect(sample(after1, 'rsync_flow_lag_seconds', stock)).toBeLessThan(60);
    expect(sample(after1, 'rsync_flow_freshness_objective_seconds', stock)).toBe(3600);
    expect(sample(after1, 'rsync_flows', { env: ENV, customer: 'acme', health: 'ok' })).toBe(1);
    expect(sample(after1, 'rsync_flows', { env: ENV, customer: 'acme', health: 'idle' })).toBe(1);
  });

  it('adds a second run (the same records read again: unchanged) to the same counters', async () => {
    // Read from the start again (a lost cursor): the ledger skips every record written before.
    await pool.query(`DELETE FROM rsync.cursors WHERE address = 'acme/flow/stock'`);
    await finished(await runNow());
    const m = await scrape();
    const rows = await runRows();
    expect(rows.unchanged).toBe(N - 14);
    expectCounters(m, rows);
    expect(sample(m, 'rsync_runs_total', { ...stock, result: 'succeeded' })).toBe(2);
    expect(sample(m, 'rsync_run_duration_seconds_count', { env: ENV, customer: 'acme' })).toBe(2);
  });

  it('counts webhook requests by result: accepted, bad signature, too large; and the event latency', async () => {
    const order = (id: number, pad = '') =>
      Buffer.from(
        `{"id":${id},"created_at":"2026-11-20T10:00:00Z","currency":"USD","total_price":"1.00","note":"${pad}","line_items":[]}`,
      );
    const post = (body: Buffer, headers: Record<string, string>) =>
      fetch(`http://127.0.0.1:${worker.port}/hooks/acme/orders`, { method: 'POST', headers, body });
    const signed = (body: Buffer, deliveryId: string) =>
      signFor('sandbox', SANDBOX_WEBHOOK_SECRET, body, { deliveryId, topic: 'orders/create' });

    const forged = order(1);
    expect(
      (await post(forged, signFor('sandbox', 'not-the-secret', forged, { deliveryId: 'd-1', topic: 'orders/create' })))
        .status,
    ).toBe(401);
    const big = order(2, 'x'.repeat(LIMIT));
    expect((await post(big, signed(big, 'd-2'))).status).toBe(413);
    const ok = order(3);
    expect((await post(ok, signed(ok, 'd-3'))).status).toBe(202);
    expect((await post(ok, signed(ok, 'd-3'))).status).toBe(200);
    await until('the delivery to be confirmed', async () => {
      const { rows } = await pool.query(
        `SELECT 1 FROM rsync.deliveries WHERE delivery_id = 'd-3' AND done_at IS NOT NULL`,
      );
      return rows[0];
    });
    const m = await scrape();
    const hooks = { env: ENV, customer: 'acme', flow: 'orders' };
    expect(sample(m, 'rsync_webhook_deliveries_total', { ...hooks, result: 'bad_signature' })).toBe(1);
    expect(sample(m, 'rsync_webhook_deliveries_total', { ...hooks, result: 'too_large' })).toBe(1);
    expect(sample(m, 'rsync_webhook_deliveries_total', { ...hooks, result: 'accepted' })).toBe(1);
    expect(sample(m, 'rsync_webhook_deliveries_total', { ...hooks, result: 'duplicate' })).toBe(1);
    expect(sample(m, 'rsync_event_latency_seconds_count', { env: ENV, customer: 'acme' })).toBe(1);
    expect(sample(m, 'rsync_deliveries_pending', hooks)).toBe(0);
    expect(sample(m, 'rsync_runs_total', { ...hooks, result: 'succeeded' })).toBe(1);
  });

  it('sums the same figures per customer, without a flow label, when the flow label is off', async () => {
    const flows = await loadFlows(pool, ENV);
    const m = parsePrometheus(
      (await new WorkerMetrics({ db: pool, env: ENV, flows: () => flows.values(), byFlow: false }).text()).body,
    );
    const all = (
      await pool.query(
        `SELECT sum(written)::int AS written, sum(dead)::int AS dead, count(*)::int AS runs FROM rsync.runs WHERE env = $1`,
        [ENV],
      )
    ).rows[0];
    for (const f of m.values())
      if (f.name.startsWith('rsync_') && !f.name.startsWith('rsync_worker_'))
        for (const s of f.samples) expect(s.labels, f.name).not.toHaveProperty('flow');
    const acme = { env: ENV, customer: 'acme' };
    expect(sample(m, 'rsync_records_total', { ...acme, outcome: 'written' })).toBe(all.written);
    expect(sample(m, 'rsync_records_total', { ...acme, outcome: 'dead' })).toBe(all.dead);
    expect(sumOf(m, 'rsync_runs_total', acme)).toBe(all.runs);
    const open = (
      await pool.query(
        `SELECT count(*)::int AS n, count(*) FILTER (WHERE address = 'acme/flow/stock')::int AS stock
           FROM rsync.dead_letters WHERE status = 'open'`,
      )
    ).rows[0];
    expect(open.stock).toBe(8); // the second run read the dead ones again
    expect(sample(m, 'rsync_dead_letters_open', acme)).toBe(open.n);
  });

  it('counts retries and throttles by the connection read from or written to', async () => {
    // A run's back-off waits as the page loop and the pipeline log them: a read's (stage read, the source
    // connection) that the system asked for (Retry-After), and a write's (no stage, the target connection).
    await pool.query(
      `INSERT INTO rsync.runs (env, address, revision, trigger, worker, status, finished_at, retries, log)
       VALUES ($1, 'acme/flow/stock', 1, 'manual', 'test', 'succeeded', now(), 2, $2)`,
      [
        ENV,
        JSON.stringify([
          { event: 'backoff', stage: 'read', attempt: 1, waitMs: 2000, retryAfterMs: 2000 },
          { event: 'backoff', attempt: 1, waitMs: 900 },
        ]),
      ],
    );
    const m = await scrape();
    const acme = { env: ENV, customer: 'acme' };
    expect(sample(m, 'rsync_retries_total', { ...acme, connection: 'erp' })).toBe(1);
    expect(sample(m, 'rsync_retries_total', { ...acme, connection: 'shop' })).toBe(1);
    expect(sample(m, 'rsync_throttles_total', { ...acme, connection: 'erp' })).toBe(1);
    expect(sample(m, 'rsync_throttles_total', { ...acme, connection: 'shop' })).toBe(0);
  });
});
