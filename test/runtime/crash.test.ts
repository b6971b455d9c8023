/**
 * Workers as separate processes on one database, with real signals: a backfill survives SIGKILL at random moments
 * (every record in the target exactly once, the counts reconciling), three workers share one backfill with no
 * duplicate and no gap, and SIGTERM drains within the deadline. The full sizes (100,000 records) are in the
 * benchmark (test/bench); CI runs smaller ones.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProblem, show } from '../helpers/cli.js';
import { testDatabase, type TestDatabase } from '../helpers/db.js';
import {
  applyWorkspace,
  cli,
  ENV,
  runtimeWorkspace,
  seed,
  spawnWorker,
  STOCK_KEY,
  STOCK_MAPPING,
  stockRecords,
  until,
  withWorker,
} from '../helpers/runtime.js';

const FROM = new Date('2026-10-01T00:00:00Z');
const TO = new Date('2026-10-07T00:00:00Z');

describe('workers in separate processes', { timeout: 300_000 }, () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let dir: string;

  beforeAll(async () => {
    const problem = buildProblem([
      'cli/commands/worker.ts',
      'cli/commands/backfill.ts',
      'engine/runtime/mapping/mapper-thread.ts',
    ]);
    if (problem) throw new Error(problem);
    db = await testDatabase('runtime_crash');
    dir = runtimeWorkspace('rsync-crash-', {
      connections: [
        { name: 'shop', connector: 'sandbox', settings: { system: 'storefront' } },
        { name: 'erp', connector: 'sandbox', settings: { system: 'erp' } },
        { name: 'erp2', connector: 'sandbox', settings: { system: 'erp' } },
        { name: 'shop2', connector: 'sandbox', settings: { system: 'storefront' } },
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
          concurrency: 3,
        },
        {
          name: 'stock2',
          source: { connection: 'erp2', stream: 'inventory' },
          target: { connection: 'shop2', entity: 'inventoryLevel' },
          mapping: STOCK_MAPPING,
          canonical: 'inventoryLevel',
          key: STOCK_KEY,
          batchSize: 100,
          concurrency: 3,
        },
      ],
    });
    await applyWorkspace(dir, db.url);
    pool = new pg.Pool({ connectionString: db.url, max: 4, application_name: 'test runtime-crash' });
  });

  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  const backfill = async (flow: string) => {
    const r = await cli(
      dir,
      db.url,
      'backfill',
      flow,
      '--env',
      ENV,
      '--since',
      FROM.toISOString(),
      '--until',
      TO.toISOString(),
      '--window',
      '12h',
      '--json',
    );
    expect(r.status, show(r)).toBe(0);
    return JSON.parse(r.stdout).backfill as number;
  };
  const windowsLeft = async (id: number) =>
    Number(
      (await pool.query(`SELECT count(*) FROM rsync.backfill_windows WHERE backfill_id = $1 AND done_at IS NULL`, [id]))
        .rows[0].count,
    );
  const exactlyOnce = async (system: string, entity: string, address: string, n: number) => {
    const w = await pool.query(
      `SELECT count(*)::int AS rows, count(DISTINCT key)::int AS keys, max(version) AS v FROM rsync_sandbox.writes WHERE system = $1 AND entity = $2`,
      [system, entity],
    );
    expect(w.rows[0]).toEqual({ rows: n, keys: n, v: 1 });
    const l = await pool.query(`SELECT count(*)::int AS n, max(writes) AS w FROM rsync.ledger WHERE address = $1`, [
      address,
    ]);
    expect(l.rows[0]).toEqual({ n, w: 1 });
    // The counts reconcile: committed with each page, so over every run (interrupted ones too) each record is read once.
    const c = await pool.query(
      `SELECT sum(read)::int AS read, sum(written)::int AS written, sum(unchanged + filtered + dead)::int AS other, count(*) FILTER (WHERE status = 'running')::int AS running
         FROM rsync.runs WHERE address = $1`,
      [address],
    );
    expect(c.rows[0]).toEqual({ read: n, written: n, other: 0, running: 0 });
  };

  it('loses and duplicates nothing when its worker is killed with SIGKILL at random moments during a backfill', async () => {
    const N = 30_000;
    await seed(pool, 'acme/erp', 'inventory', stockRecords(N), FROM, new Date(TO.getTime() - 1));
    const id = await backfill('acme/stock');
    let kills = 0;
    const started = Date.now();
    const progress = async () =>
      Number(
        (
          await pool.query(
            `SELECT coalesce(sum(read), 0) + count(done_at) AS p FROM rsync.backfill_windows WHERE backfill_id = $1`,
            [id],
          )
        ).rows[0].p,
      );
    while ((await windowsLeft(id)) > 0) {
      expect(Date.now() - started, 'the backfill did not finish in 240 s').toBeLessThan(240_000);
      const w = spawnWorker(dir, db.url, '--threads', '1');
      // Kill it at a random moment once it has committed something (so every life moves the backfill on, however
      // slow or fast the machine), somewhere in the next 0–300 ms of its work.
      const before = await progress();
      const moved = await until(
        'the worker to commit a page',
        async () => ((await progress()) > before || w.exitCode !== null ? true : undefined),
        60_000,
      );
      expect(moved).toBe(true);
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 300)));
      if (w.exitCode !== null) throw new Error(`the worker exited by itself\n${w.output}`);
      w.kill('SIGKILL');
      await w.exited;
      if ((await windowsLeft(id)) > 0) kills++;
    }
    expect(kills, 'the worker was never killed mid-backfill: make the backfill longer').toBeGreaterThan(1);
    // A last worker sweeps the runs the killed ones left 'running'.
    const w = spawnWorker(dir, db.url, '--for', '2s');
    expect(await w.exited, w.output).toBe(0);
    await exactlyOnce('acme/shop', 'inventoryLevel', 'acme/flow/stock', N);
    const interrupted = Number(
      (await pool.query(`SELECT count(*) FROM rsync.runs WHERE address = 'acme/flow/stock' AND status = 'interrupted'`))
        .rows[0].count,
    );
    expect(interrupted).toBeGreaterThan(0);
  });

  it('shares one backfill among three workers with no duplicate and no gap, and drains on SIGTERM', async () => {
    const N = 30_000;
    await seed(pool, 'acme/erp2', 'inventory', stockRecords(N, 100_000), FROM, new Date(TO.getTime() - 1));
    const workers = [1, 2, 3].map(() => spawnWorker(dir, db.url, '--threads', '1', '--drain-timeout', '20s'));
    await until(
      'three live workers',
      async () =>
        Number((await pool.query(`SELECT count(*) FROM rsync.workers`)).rows[0].count) >= 3 ? true : undefined,
      60_000,
    );
    const id = await backfill('acme/stock2');
    await until('the backfill', async () => ((await windowsLeft(id)) === 0 ? true : undefined), 150_000);
    for (const w of workers) w.kill('SIGTERM');
    const codes = await Promise.all(workers.map((w) => w.exited));
    expect(codes, workers.map((w) => w.output).join('\n---\n')).toEqual([0, 0, 0]);
    for (const w of workers) expect(w.output).toContain('stopping (SIGTERM)');
    await exactlyOnce('acme/shop2', 'inventoryLevel', 'acme/flow/stock2', N);
    const by = await pool.query(
      `SELECT count(DISTINCT worker)::int AS n FROM rsync.runs WHERE address = 'acme/flow/stock2' AND read > 0`,
    );
    expect(by.rows[0].n).toBeGreaterThanOrEqual(2);
    // Each drained worker removed itself from the live workers.
    const ids = workers.map((w) => /worker (\S+) on staging/.exec(w.output)?.[1]);
    expect(ids.every(Boolean), workers[0].output).toBe(true);
    expect(
      Number((await pool.query(`SELECT count(*) FROM rsync.workers WHERE id = ANY($1)`, [ids])).rows[0].count),
    ).toBe(0);
  });

  it('rsync run --wait starts a run on a worker and shows its result; rsync status shows the flow and the worker', async () => {
    await seed(
      pool,
      'acme/erp',
      'inventory',
      stockRecords(40, 500_000),
      new Date('2026-11-20T00:00:00Z'),
      new Date('2026-11-20T01:00:00Z'),
    );
    await withWorker(dir, db.url, pool, async (w) => {
      const r = await cli(dir, db.url, 'run', 'acme/stock', '--env', ENV, '--wait', '--json');
      expect(r.status, show(r) + w.output).toBe(0);
      const out = JSON.parse(r.stdout);
      expect(out).toMatchObject({
        flow: 'acme/flow/stock',
        state: 'completed',
        run: { status: 'succeeded', trigger: 'manual' },
      });
      // The cursor started at the beginning: everything the backfill delivered is unchanged, the 40 new records written.
      expect(out.run.written).toBe(40);
      expect(out.run.read).toBe(out.run.written + out.run.unchanged);

      const st = await cli(dir, db.url, 'status', '--env', ENV, '--json');
      expect(st.status, show(st)).toBe(0);
      const status = JSON.parse(st.stdout);
      expect(status.workers).toHaveLength(1);
      expect(status.flows.find((f: { address: string }) => f.address === 'acme/flow/stock')).toMatchObject({
        revision: 1,
        trigger: 'manual',
        health: 'ok',
        deadLetters: 0,
        lastRun: { status: 'succeeded' },
      });
      const text = await cli(dir, db.url, 'status', '--env', ENV);
      expect(text.stdout).toMatch(/acme\/stock\s+1\s+manual\s+succeeded/);

      const missing = await cli(dir, db.url, 'run', 'acme/nope', '--env', ENV);
      expect(missing.status).toBe(66);
      expect(missing.stderr).toContain('No flow acme/flow/nope is deployed in staging');
      expect(missing.stderr).not.toMatch(/\n\s+at /);
    });
  });
});
