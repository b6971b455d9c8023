/**
 * Fair share across customers on real PostgreSQL (issue 20, item 3), with workers in this process on sandbox
 * systems of three customers: northwind (customer.yaml: concurrency 2), contoso (concurrency 1) and fabrikam (the
 * partner default of rsync.yaml: concurrency 3, and 1,500 records a day).
 *  - two workers never run more of a customer's runs at once than its limit: measured from rsync.runs while they
 *    work three backfills of many windows;
 *  - a customer with 50 queued runs does not starve another's one (the fair fetch, against pg-boss's oldest first);
 *  - a backfill yields to another customer's event work (one window at a time while deliveries wait), and a
 *    window's next page waits while another customer's event run is in flight on its worker (at most YIELD_MS);
 *  - a quota reached stops the flow between pages, with the state in status and /metrics, and resumes when the day
 *    turns and when an apply raises it, every source record written exactly once.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openBoss } from '../../engine/live/boss.js';
import { createBackfill } from '../../engine/runtime/backfill.js';
import { recordDelivery } from '../../engine/runtime/events.js';
import { FairShare, YIELD_MS } from '../../engine/runtime/fairshare.js';
import { loadFlows } from '../../engine/runtime/flows.js';
import type { RsyncWorker } from '../../engine/runtime/worker.js';
import { buildProblem, show } from '../helpers/cli.js';
import { testDatabase, type TestDatabase } from '../helpers/db.js';
import { LIMITS, writeFairWorkspace } from '../helpers/fairshare.js';
import { ACTOR, applyWorkspace, cli, ENV, inProcessWorker, seed, stockRecords, until } from '../helpers/runtime.js';

const FROM = new Date('2026-10-01T00:00:00Z');
const TO = new Date('2026-10-11T00:00:00Z');

let db: TestDatabase;
let pool: pg.Pool;
let dir: string;
const workers: RsyncWorker[] = [];

const running = async (): Promise<Map<string, number>> =>
  new Map(
    (
      await pool.query<{ customer: string; n: number }>(
        `SELECT split_part(address, '/', 1) AS customer, count(*)::int AS n FROM rsync.runs WHERE status = 'running' GROUP BY 1`,
      )
    ).rows.map((r) => [r.customer, r.n]),
  );

async function stopWorkers(): Promise<void> {
  for (const w of workers.splice(0)) await w.stop(10_000);
}

const flowOf = async (customer: string, name: string) => (await loadFlows(pool, ENV)).get(`${customer}/flow/${name}`)!;

async function clearRuns(): Promise<void> {
  await pool.query(`DELETE FROM rsync.backfill_windows`);
  await pool.query(`DELETE FROM rsync.backfills`);
  await pool.query(`DELETE FROM rsync.runs`);
  // What an earlier case left queued (northwind's 49 runs) would run beside this case's work.
  await pool.query(`DELETE FROM pgboss.job WHERE name LIKE 'rsync.staging.%' AND state < 'completed'`);
}

beforeAll(async () => {
  const problem = buildProblem(['apply', 'status']);
  if (problem) throw new Error(problem);
  db = await testDatabase('fairshare');
  pool = new pg.Pool({ connectionString: db.url, application_name: 'fairshare test', max: 20 });
  dir = mkdtempSync(path.join(os.tmpdir(), 'rsync-fairshare-'));
  writeFairWorkspace(dir, 1500);
  await applyWorkspace(dir, db.url);
}, 120_000);

afterEach(stopWorkers);

afterAll(async () => {
  await stopWorkers();
  await pool?.end();
  await db?.drop();
});

describe('fair share across customers', { timeout: 180_000 }, () => {
  it("two workers never run more of a customer's runs at once than its declared concurrency", async () => {
    for (const c of ['northwind', 'contoso'] as const)
      await seed(pool, `${c}/erp`, 'inventory', stockRecords(3000), FROM, new Date(TO.getTime() - 1));
    for (const c of ['northwind', 'contoso'] as const)
      await createBackfill(pool, await flowOf(c, 'stock'), FROM, TO, 86_400_000 / 2, ACTOR);
    for (let i = 0; i < 2; i++) workers.push(await inProcessWorker(pool, db.url, { concurrency: 6 }));
    const most = new Map<string, number>();
    let done = false;
    const sampler = (async () => {
      while (!done) {
        for (const [c, n] of await running()) most.set(c, Math.max(most.get(c) ?? 0, n));
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    await until(
      'both backfills',
      async () =>
        (await pool.query(`SELECT count(*)::int AS n FROM rsync.backfill_windows WHERE done_at IS NULL`)).rows[0].n ===
        0
          ? true
          : undefined,
      120_000,
    );
    done = true;
    await sampler;
    await stopWorkers();
    // Each customer ran as many at once as it may (the limit is reached, so the measure can see a breach), never more.
    expect(most.get('northwind')).toBe(LIMITS.northwind);
    expect(most.get('contoso')).toBe(LIMITS.contoso);
    const written = await pool.query(
      `SELECT split_part(system, '/', 1) AS customer, count(*)::int AS n FROM rsync_sandbox.writes GROUP BY 1 ORDER BY 1`,
    );
    expect(written.rows).toEqual([
      { customer: 'contoso', n: 3000 },
      { customer: 'northwind', n: 3000 },
    ]);
  });

  it("a customer with 50 queued runs does not starve another customer's one", async () => {
    await clearRuns();
    const boss = await openBoss(pool, { worker: false });
    try {
      const nw = await flowOf('northwind', 'stock');
      const co = await flowOf('contoso', 'stock');
      for (let i = 0; i < 50; i++) await boss.send(nw.queue, { flow: nw.address, trigger: 'manual' });
      await boss.send(co.queue, { flow: co.address, trigger: 'manual' });
    } finally {
      await boss.stop({ graceful: false, close: false, wait: true });
    }
    // One worker running one run at a time: the order it takes them in is the whole question.
    workers.push(await inProcessWorker(pool, db.url, { concurrency: 1 }));
    await until(
      "contoso's run",
      async () =>
        (await pool.query(`SELECT 1 FROM rsync.runs WHERE address = 'contoso/flow/stock' AND status <> 'running'`))
          .rowCount
          ? true
          : undefined,
      60_000,
    );
    const order = await pool.query<{ address: string }>(`SELECT address FROM rsync.runs ORDER BY id`);
    const at = order.rows.findIndex((r) => r.address === 'contoso/flow/stock');
    // pg-boss's oldest-first would run it 51st; in turn, it is northwind's first, then contoso's.
    expect(at).toBeGreaterThanOrEqual(0);
    expect(at).toBeLessThanOrEqual(1);
    await stopWorkers();
  });

  it("a backfill yields to another customer's event work", async () => {
    await clearRuns();
    await createBackfill(pool, await flowOf('northwind', 'stock'), FROM, TO, 86_400_000 / 4, ACTOR);
    workers.push(await inProcessWorker(pool, db.url, { concurrency: 4 }));
    // northwind's limit (2) lets the worker run two windows at once while nothing else waits.
    await until('two windows at once', async () => ((await running()).get('northwind') === 2 ? true : undefined));
    const orders = await flowOf('contoso', 'orders');
    for (let i = 0; i < 300; i++)
      await recordDelivery(pool, orders, `d-${i}`, 'orders/create', [
        { id: i + 1, created_at: '2026-11-20T10:00:00Z', currency: 'USD', total_price: '3.00' },
      ]);
    // The windows already running finish; from then on, while contoso's deliveries wait, one window at a time.
    const before = (
      await pool.query<{ id: string }>(`SELECT id FROM rsync.runs WHERE status = 'running' AND trigger = 'backfill'`)
    ).rows.map((r) => r.id);
    await until('the windows under way', async () =>
      (await pool.query(`SELECT 1 FROM rsync.runs WHERE id = ANY($1) AND status = 'running'`, [before])).rowCount
        ? undefined
        : true,
    );
    let most = 0;
    let samples = 0;
    for (;;) {
      const pending = (
        await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM rsync.deliveries WHERE done_at IS NULL`)
      ).rows[0].n;
      if (!pending) break;
      const windows = await pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM rsync.runs WHERE status = 'running' AND trigger = 'backfill'`,
      );
      most = Math.max(most, windows.rows[0].n);
      samples++;
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(samples).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(1);
    const done = await pool.query(`SELECT count(*)::int AS n FROM rsync.deliveries WHERE done_at IS NOT NULL`);
    expect(done.rows[0].n).toBe(300);
    const writes = await pool.query(`SELECT count(*)::int AS n FROM rsync_sandbox.writes WHERE system = 'contoso/erp'`);
    expect(writes.rows[0].n).toBe(300);
    await stopWorkers();
  });

  it('a quota reached stops the flow between pages, shown in status and metrics, and resumes after the reset', async () => {
    await clearRuns();
    await seed(pool, 'fabrikam/erp', 'inventory', stockRecords(4000), FROM, new Date(TO.getTime() - 1));
    const worker = await inProcessWorker(pool, db.url, { concurrency: 2 });
    workers.push(worker);
    const written = async () =>
      (await pool.query(`SELECT count(*)::int AS n FROM rsync_sandbox.writes WHERE system = 'fabrikam/shop'`)).rows[0]
        .n as number;
    const runOnce = async () => {
      const before = (await pool.query(`SELECT count(*)::int AS n FROM rsync.runs WHERE status <> 'running'`)).rows[0]
        .n;
      await worker.runNow(await flowOf('fabrikam', 'stock'));
      await until('the run', async () =>
        (await pool.query(`SELECT count(*)::int AS n FROM rsync.runs WHERE status <> 'running'`)).rows[0].n > before
          ? true
          : undefined,
      );
    };
    await runOnce();
    // 1,500 a day: three pages of 500, then it stops before the fourth; the cursor is at the 1,500th record.
    expect(await written()).toBe(1500);
    const status = await cli(dir, db.url, 'status', '--env', ENV);
    expect(status.status, show(status)).toBe(0);
    expect(status.stdout).toContain('QUOTA fabrikam: quota reached: 1,500 records/day, resets at 00:00 UTC');
    const json = JSON.parse((await cli(dir, db.url, 'status', '--env', ENV, '--json')).stdout);
    expect(json.flows.find((f: { address: string }) => f.address === 'fabrikam/flow/stock').quota).toMatchObject({
      used: 1500,
      limit: 1500,
    });
    const metrics = await (await fetch(`http://127.0.0.1:${worker.port}/metrics`)).text();
    expect(metrics).toContain('rsync_quota_used{env="staging",customer="fabrikam",connection="",quota="records"} 1500');
    expect(metrics).toContain(
      'rsync_quota_limit{env="staging",customer="fabrikam",connection="",quota="records"} 1500',
    );
    expect(metrics).toContain('rsync_customer_concurrency_limit{env="staging",customer="northwind"} 2');
    // Asked again the same day, the run waits in its queue: nothing is read, nothing is lost.
    const finished = async () =>
      (await pool.query(`SELECT count(*)::int AS n FROM rsync.runs WHERE status <> 'running'`)).rows[0].n as number;
    const before = await finished();
    await worker.runNow(await flowOf('fabrikam', 'stock'));
    await new Promise((r) => setTimeout(r, 1500));
    expect(await finished()).toBe(before);
    const queued = await pool.query(
      `SELECT count(*)::int AS n FROM pgboss.job WHERE data->>'flow' = 'fabrikam/flow/stock' AND state < 'active'`,
    );
    expect(queued.rows[0].n).toBe(1);
    expect(await written()).toBe(1500);

    // The day turns (today's count becomes yesterday's): the waiting run goes on from the cursor, to the new day's quota.
    await pool.query(`UPDATE rsync.quota_usage SET day = day - 1 WHERE scope = 'records:fabrikam'`);
    await until('the waiting run', async () => ((await finished()) > before ? true : undefined));
    expect(await written()).toBe(3000);
    // An apply that raises the quota lets the rest through: every record written once.
    writeFairWorkspace(dir, 100_000);
    await applyWorkspace(dir, db.url);
    await until('the new limit', async () =>
      worker.flow('fabrikam/flow/stock')?.limits.recordsPerDay === 100_000 ? true : undefined,
    );
    await runOnce();
    expect(await written()).toBe(4000);
    const after = await cli(dir, db.url, 'status', '--env', ENV);
    expect(after.stdout).not.toContain('QUOTA');
  });
});

describe("a backfill's next page yields to another customer's event run on its worker", () => {
  /** When `p` settles, in milliseconds from now (or undefined if it has not within `ms`). */
  const settlesIn = async (p: Promise<void>, ms: number): Promise<number | undefined> => {
    const t0 = performance.now();
    const at = await Promise.race([
      p.then(() => performance.now() - t0),
      new Promise<undefined>((r) => setTimeout(() => r(undefined), ms)),
    ]);
    return at;
  };

  it('waits until the event run ends, or YIELD_MS at most; not for its own customer, nor with nothing in flight', async () => {
    const fair = new FairShare(pool, ENV, 'yield test');
    expect(await settlesIn(fair.yieldToEvents('northwind'), 1000)).toBeLessThan(20);

    const ended = fair.eventRun('contoso');
    // Its own customer's event runs do not hold a backfill back (its concurrency does).
    expect(await settlesIn(fair.yieldToEvents('contoso'), 1000)).toBeLessThan(20);
    const waiting = fair.yieldToEvents('northwind', 5_000);
    expect(await settlesIn(waiting, 150)).toBeUndefined();
    ended();
    expect(await settlesIn(waiting, 1000)).toBeLessThan(100);

    // Slowed, never starved: an event run that lasts gives the page way after YIELD_MS.
    const long = fair.eventRun('fabrikam');
    const capped = await settlesIn(fair.yieldToEvents('northwind'), 5_000);
    expect(capped).toBeGreaterThanOrEqual(YIELD_MS - 5);
    expect(capped).toBeLessThan(YIELD_MS + 500);
    long();

    // A delivery received for another customer counts as its event run about to start.
    fair.deliveryReceived('fabrikam');
    const held = fair.yieldToEvents('northwind', 5_000);
    expect(await settlesIn(held, 150)).toBeUndefined();
    fair.eventRun('fabrikam')();
    expect(await settlesIn(held, 1000)).toBeLessThan(100);
  });
});
