/**
 * The fair-share part of the runtime benchmark (runtime.bench.ts `--only fairshare`), issue 20's "with three
 * customers, one running a 200,000-record backfill, the other two's event flows keep their p95 latency within 2× of
 * an idle engine, and no customer exceeds its declared concurrency".
 *
 * The workspace of test/helpers/fairshare.ts (northwind: concurrency 2, contoso: 1, fabrikam: 3 from rsync.yaml's
 * defaults) is applied with the built CLI, and one worker (4 runs at once, its mapping threads on every core) serves
 * its webhook endpoint on 127.0.0.1. Contoso's and fabrikam's orders/create webhooks, signed as the sandbox signs
 * them, are POSTed at `rate` per second each for `seconds`: first with the engine otherwise idle, then while
 * northwind's backfill of `records` stock moves (windows of a day) runs — until its last window is done, `seconds` at
 * most; only deliveries sent before that count. The latency of a delivery is from its POST to its write in the
 * target (rsync_sandbox.writes.first_written_at: the start of the transaction that wrote it). Runs in flight per customer are
 * sampled from rsync.runs every 10 ms throughout; two seconds of webhooks before the idle phase warm the engine up
 * (compiled mappings, the customers' slots) and are not counted. Target: p95 with the backfill ≤ 2 × idle.
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

    // A warm-up first, not counted: the first deliveries compile the mappings and make the customers' slots, which
    // would put a start-up tail into the idle figure and flatter the ratio.
    await sendWebhooks(pool, worker.port!, { ...o, seconds: 2 }, 2);
    const idle = (await sendWebhooks(pool, worker.port!, o, 0)).map((d) => d.latency).sort((a, b) => a - b);
    const flow = (await loadFlows(pool, ENV)).get('northwind/flow/stock')!;
    const started = Date.now();
    const b = await createBackfill(pool, flow, FROM, TO, 86_400_000, ACTOR);
    // The backfill under way (its first windows running) before the second phase starts.
    await until('the backfill under way', async () =>
      (await pool.query(`SELECT 1 FROM rsync.runs WHERE trigger = 'backfill' AND status = 'running'`)).rowCount
        ? true
        : undefined,
    );
    // Sent while the backfill runs (for `seconds` at most): it stops sending once every window is done, and counts
    // only the deliveries sent before the last window ended — a delivery sent after it met an idle engine again.
    let open = true;
    const watch = (async () => {
      while (open) {
        const left = await pool.query(
          `SELECT 1 FROM rsync.backfill_windows WHERE backfill_id = $1 AND done_at IS NULL`,
          [b.id],
        );
        if (!left.rowCount) open = false;
        else await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const sentBeside = await sendWebhooks(pool, worker.port!, o, 1, () => !open);
    const during = await backfillRead(pool, b.id);
    const ended = await backfillEnded(pool, b.id);
    const busy = sentBeside
      .filter((d) => ended === null || d.sent < ended)
      .map((d) => d.latency)
      .sort((a, b) => a - b);
    if (busy.length < sentBeside.length)
      say(
        `  (${sentBeside.length - busy.length} of the second phase's deliveries were sent after the backfill's last window ended: not counted)`,
      );
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
    open = false;
    await watch;
    const seconds = ((await backfillEnded(pool, b.id)) ?? Date.now()) / 1000 - started / 1000;
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
    check(idle.length === 2 * o.rate * o.seconds && sentBeside.length > 0, 'every delivery written once');
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

/** When the backfill's last window was done (epoch ms), or null while one is open. */
async function backfillEnded(pool: pg.Pool, id: number): Promise<number | null> {
  const { rows } = await pool.query<{ at: number | null }>(
    `SELECT CASE WHEN bool_and(done_at IS NOT NULL) THEN extract(epoch FROM max(done_at)) * 1000 END AS at
       FROM rsync.backfill_windows WHERE backfill_id = $1`,
    [id],
  );
  return rows[0].at === null ? null : Number(rows[0].at);
}

/**
 * POST both event customers' webhooks at the rate for the time (or until `stop`); each delivery's latency to its
 * committed write, and when it was sent.
 */
async function sendWebhooks(
  pool: pg.Pool,
  port: number,
  o: FairShareBenchOptions,
  phase: number,
  stop: () => boolean = () => false,
): Promise<{ latency: number; sent: number }[]> {
  const sent = new Map<string, number>();
  const total = Math.round(o.rate * o.seconds);
  const t0 = Date.now();
  const posts: Promise<void>[] = [];
  for (let i = 0; i < total && !stop(); i++) {
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
  const { rows } = await pool.query<{ k: string; at: number; received: number; started: number }>(
    `SELECT w.system || ' ' || w.key AS k, extract(epoch FROM w.first_written_at) * 1000 AS at,
            extract(epoch FROM d.received_at) * 1000 AS received,
            (SELECT extract(epoch FROM max(r.started_at)) * 1000 FROM rsync.runs r
              WHERE r.address = split_part(w.system, '/', 1) || '/flow/orders' AND r.trigger = 'event'
                AND r.started_at <= w.first_written_at) AS started
       FROM rsync_sandbox.writes w
       JOIN rsync.deliveries d ON d.delivery_id = split_part(w.system, '/', 1) || '-' || $2::int || '-' || (substr(w.key, 7)::bigint - $2::int * 10000000 - 1)
      WHERE w.system || ' ' || w.key = ANY($1)`,
    [keys, phase],
  );
  const accept = rows.map((r) => Number(r.received) - sent.get(r.k)!).sort((a, b) => a - b);
  const after = rows.map((r) => Number(r.at) - Number(r.received)).sort((a, b) => a - b);
  const toRun = rows.map((r) => Math.max(0, Number(r.started) - Number(r.received))).sort((a, b) => a - b);
  if (process.env.RSYNC_BENCH_BREAKDOWN)
    console.log(
      `    phase ${phase}: POST→stored p50 ${percentile(accept, 50).toFixed(0)} p95 ${percentile(accept, 95).toFixed(0)}; stored→written p50 ${percentile(after, 50).toFixed(0)} p95 ${percentile(after, 95).toFixed(0)}; stored→its run started p50 ${percentile(toRun, 50).toFixed(0)} p95 ${percentile(toRun, 95).toFixed(0)}`,
    );
  return rows.map((r) => ({ latency: Number(r.at) - sent.get(r.k)!, sent: sent.get(r.k)! }));
}
