/**
 * The fair-share part of the runtime benchmark (runtime.bench.ts `--only fairshare`), issue 20's "with three
 * customers, one running a 200,000-record backfill, the other two's event flows keep their p95 latency within 2× of
 * an idle engine, and no customer exceeds its declared concurrency".
 *
 * The workspace of test/helpers/fairshare.ts (northwind: concurrency 2, contoso: 1, fabrikam: 3 from rsync.yaml's
 * defaults) is applied with the built CLI, and one worker (4 runs at once, its mapping threads on every core) serves
 * its webhook endpoint on 127.0.0.1. Contoso's and fabrikam's orders/create webhooks, signed as the sandbox signs
 * them, are POSTed at `rate` per second each for `seconds`: first with the engine otherwise idle, then while
 * northwind's backfill of `records` stock moves (windows of a day) runs. The latency of a delivery is from its POST
 * to its write committed in the target (rsync_sandbox.writes.first_written_at). Runs in flight per customer are
 * sampled from rsync.runs every 10 ms throughout. Target: p95 with the backfill ≤ 2 × idle.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { signFor } from '../../engine/connectors/registry.js';
import { SANDBOX_WEBHOOK_SECRET } from '../../engine/connectors/sandbox/receive.js';
import { awaitBackfill, createBackfill } from '../../engine/runtime/backfill.js';
import { loadFlows } from '../../engine/runtime/flows.js';
import { RsyncWorker } from '../../engine/runtime/worker.js';
import { testDatabase } from '../helpers/db.js';
import { LIMITS, writeFairWorkspace } from '../helpers/fairshare.js';
import { ACTOR, applyWorkspace, ENV, seed, stockRecords, until } from '../helpers/runtime.js';
import { percentile } from './throttle.js';

export interface FairShareBenchOptions {
  /** Records of northwind's backfill (200,000). */
  records: number;
  /** Webhooks per second for each of the two event customers. */
  rate: number;
  /** How long each phase sends them. */
  seconds: number;
}

const FROM = new Date('2026-01-01T00:00:00Z');
const TO = new Date('2026-01-21T00:00:00Z');
const EVENT_CUSTOMERS = ['contoso', 'fabrikam'] as const;

/** Runs the part, printing through `say`; false when a check failed. */
export async function fairShareBench(o: FairShareBenchOptions, say: (s?: string) => void): Promise<boolean> {
  say(
    `fairshare: 3 customers, northwind backfilling ${o.records.toLocaleString('en-US')} records; contoso's and fabrikam's webhooks at ${o.rate}/s each for ${o.seconds} s, idle then beside the backfill`,
  );
  const db = await testDatabase('bench_fairshare');
  const pool = new pg.Pool({ connectionString: db.url, max: 20, application_name: 'bench fairshare' });
  let ok = true;
  const check = (pass: boolean, what: string) => {
    say(`  check: ${what}: ${pass ? 'ok' : 'FAILED'}`);
    ok &&= pass;
  };
  let worker: RsyncWorker | undefined;
  const most = new Map<string, number>();
  let sampling = true;
  let sampler: Promise<void> | undefined;
  try {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rsync-bench-fairshare-'));
    writeFairWorkspace(dir, 100_000_000);
    await applyWorkspace(dir, db.url);
    await seed(pool, 'northwind/erp', 'inventory', stockRecords(o.records), FROM, new Date(TO.getTime() - 1));
    worker = new RsyncWorker({ pool, url: db.url, env: ENV, port: 0, sandbox: true, concurrency: 4, slaEveryMs: 0 });
    await worker.start();

    sampler = (async () => {
      while (sampling) {
        const { rows } = await pool.query<{ customer: string; n: number }>(
          `SELECT split_part(address, '/', 1) AS customer, count(*)::int AS n FROM rsync.runs WHERE status = 'running' GROUP BY 1`,
        );
        for (const r of rows) most.set(r.customer, Math.max(most.get(r.customer) ?? 0, r.n));
        await new Promise((r) => setTimeout(r, 10));
      }
    })();

    const idle = await sendWebhooks(pool, worker.port!, o, 0);
    const flow = (await loadFlows(pool, ENV)).get('northwind/flow/stock')!;
    const started = Date.now();
    const b = await createBackfill(pool, flow, FROM, TO, 86_400_000, ACTOR);
    // The backfill under way (its first windows running) before the second phase starts.
    await until('the backfill under way', async () =>
      (await pool.query(`SELECT 1 FROM rsync.runs WHERE trigger = 'backfill' AND status = 'running'`)).rowCount
        ? true
        : undefined,
    );
    const busy = await sendWebhooks(pool, worker.port!, o, 1);
    const during = await backfillRead(pool, b.id);
    // The latencies first: the backfill may take minutes more on a loaded machine.
    const p95 = (l: number[]) => percentile(l, 95);
    const line = (what: string, l: number[]) =>
      say(
        `  ${what}: ${l.length} deliveries, p50 ${percentile(l, 50).toFixed(0)} ms, p95 ${p95(l).toFixed(0)} ms, p99 ${percentile(l, 99).toFixed(0)} ms, max ${percentile(l, 100).toFixed(0)} ms`,
      );
    line('event latency, idle engine      ', idle);
    line('event latency, beside backfill  ', busy);
    const ratio = p95(busy) / Math.max(1, p95(idle));
    say(`  p95 ratio ${ratio.toFixed(2)}× (target ≤ 2×: ${ratio <= 2 ? 'met' : 'MISSED'})`);
    const done = await awaitBackfill(pool, b.id);
    const seconds = (Date.now() - started) / 1000;
    sampling = false;
    await sampler;

    say(
      `  backfill: ${done.read.toLocaleString('en-US')} records in ${seconds.toFixed(1)} s (${Math.round(done.read / seconds).toLocaleString('en-US')} records/s; ${during.toLocaleString('en-US')} of them while the webhooks were sent)`,
    );
    say(
      `  most runs in flight at once, observed / declared: ${(['northwind', 'contoso', 'fabrikam'] as const)
        .map((c) => `${c} ${most.get(c) ?? 0}/${LIMITS[c]}`)
        .join(', ')}`,
    );
    check(
      (['northwind', 'contoso', 'fabrikam'] as const).every((c) => (most.get(c) ?? 0) <= LIMITS[c]),
      'no customer above its declared concurrency',
    );
    const written = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM rsync_sandbox.writes WHERE system = 'northwind/shop'`,
    );
    check(written.rows[0].n === o.records, `every backfilled record written once (${written.rows[0].n})`);
    check(idle.length === 2 * o.rate * o.seconds && busy.length === idle.length, 'every delivery written once');
  } finally {
    sampling = false;
    await sampler?.catch(() => {});
    await worker?.stop(10_000);
    await pool.end();
    await db.drop();
  }
  return ok;
}

/** Records the backfill has read so far. */
async function backfillRead(pool: pg.Pool, id: number): Promise<number> {
  const { rows } = await pool.query<{ n: string }>(
    `SELECT coalesce(sum(read), 0) AS n FROM rsync.backfill_windows WHERE backfill_id = $1`,
    [id],
  );
  return Number(rows[0].n);
}

/** POST both event customers' webhooks at the rate for the time; each delivery's latency to its committed write. */
async function sendWebhooks(pool: pg.Pool, port: number, o: FairShareBenchOptions, phase: number): Promise<number[]> {
  const sent = new Map<string, number>();
  const total = Math.round(o.rate * o.seconds);
  const t0 = Date.now();
  const posts: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / o.rate;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    for (const customer of EVENT_CUSTOMERS) {
      const id = phase * 10_000_000 + i + 1;
      const body = Buffer.from(
        JSON.stringify({ id, created_at: '2026-11-20T10:00:00Z', currency: 'USD', total_price: '3.00' }),
      );
      const headers = signFor('sandbox', SANDBOX_WEBHOOK_SECRET, body, {
        deliveryId: `${customer}-${phase}-${i}`,
        topic: 'orders/create',
      });
      sent.set(`${customer}/erp order-${id}`, Date.now());
      posts.push(
        fetch(`http://127.0.0.1:${port}/hooks/${customer}/orders`, { method: 'POST', headers, body }).then(
          async (r) => {
            await r.arrayBuffer();
            if (r.status !== 202) throw new Error(`webhook answered HTTP ${r.status}`);
          },
        ),
      );
    }
  }
  await Promise.all(posts);
  const keys = [...sent.keys()];
  await until(
    'every delivery written',
    async () =>
      (
        await pool.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM rsync_sandbox.writes WHERE system || ' ' || key = ANY($1)`,
          [keys],
        )
      ).rows[0].n >= keys.length
        ? true
        : undefined,
    300_000,
  );
  const { rows } = await pool.query<{ k: string; at: number }>(
    `SELECT system || ' ' || key AS k, extract(epoch FROM first_written_at) * 1000 AS at FROM rsync_sandbox.writes
      WHERE system || ' ' || key = ANY($1)`,
    [keys],
  );
  return rows.map((r) => Number(r.at) - sent.get(r.k)!).sort((a, b) => a - b);
}
