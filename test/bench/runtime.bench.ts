/**
 * The runtime benchmark (issue "The runtime"): on a fresh PostgreSQL database (DATABASE_URL's server, else the
 * embedded one the tests share), with the built CLI and engine.
 *
 *   node .build/test/bench/runtime.bench.js [--only e2e,webhook,backfill,crash,workers,json,invariants,shopify,netsuite,business-central,avalara,metrics,console,throttle,fairshare]
 *        [--records 100000] [--erp-records 2000] [--metrics-customers 1000] [--backfill 1000000] [--rate 50] [--seconds 60] [--vendor shopify|woocommerce|square|stripe|all]
 *
 *   e2e       postgres table of Shopify orders → the Shopify order mapping (shopify-orders-to-erp@2) → postgres
 *             upsert, --records records, as a backfill worked by one worker (its mapping threads on every core):
 *             records per second end to end.                                          target ≥ 10,000 records/s
 *   webhook   signed Shopify order webhooks at --rate per second for --seconds into one worker; latency from the
 *             POST to the write committed in the target (sandbox), p50 / p95 / p99.  target p95 < 500 ms
 *   backfill  --backfill records (sandbox stock moves, the simple stock mapping) by one `rsync worker` process:
 *             its peak RSS (VmHWM), time and rate.                                    target peak RSS < 300 MB
 *   crash     a `rsync worker` killed with SIGKILL at random moments during a --records backfill and restarted
 *             each time: every record in the target exactly once, the counts reconciling.
 *   workers   three `rsync worker` processes share a --records backfill: no duplicate, no gap.
 *   shopify   a bulk backfill of --records orders from the fake Shopify (a process of its own) through the real
 *             shopify connector (bulk operation started, polled, its JSONL streamed) → the Shopify order mapping →
 *             postgres upsert: the connector's own CPU per order (read alone), then records/s end to end.
 *   netsuite  --erp-records (2,000) Shopify orders from a postgres table → the Shopify order mapping → the netsuite
 *             connector (token-based authentication) → the fake NetSuite (a process of its own): the connector's own
 *             CPU per order (upserts alone), then orders/s posted as sales orders end to end.
 *   business-central  --erp-records (2,000) orders mapped and
 *             posted as sales orders to the fake Business Central (its own process) through the real connector: its
 *             own CPU per order alone, then orders/s end to end from PostgreSQL.
 *   avalara   --erp-records (2,000) Shopify orders from a postgres table → the Shopify order mapping → the avalara connector →
 *             the fake AvaTax (a process of its own): the connector's own CPU per order (writes alone), then
 *             orders/s recorded as transactions end to end.
 *   throttle  (not run by default: 2 minutes a vendor) each vendor's fake throttling at its limit, 4 loops of reads
 *             and writes through the limiter shared in PostgreSQL for --seconds (default 120 for this part) per
 *             --vendor (default all): calls and throttled calls, utilisation, the limiter's wait (throttle.ts).
 *                                                                                    target < 1 % throttled
 *   metrics   GET /metrics of a worker with --metrics-customers (1,000) × 10 flows deployed (copied by SQL), 5 runs a
 *             flow: p50 and max of 20 scrapes and the response's size, with the flow label and without (metrics.ts).
 *                                                                                    target max < 1 s
 *   console   the console's overview of 10,000 flows (deployed state, runs and dead letters seeded by SQL), its API
 *             and its page in headless Chromium (test/bench/console.bench.ts).            target < 1 s
 *   fairshare three customers, northwind backfilling 200,000 sandbox stock moves, contoso's and fabrikam's event
 *             flows sent webhooks (10/s each: 20 s idle, then while the backfill runs): p95 latency of each, their
 *             ratio, and the most runs in flight per customer against its declared concurrency
 *             (test/bench/fairshare.bench.ts).                                        target p95 ≤ 2 × idle
 *   json      parsing a page of 500 Shopify orders (the REST fixture), JSON.parse against parseJsonLossless: with
 *             ids below 2^53 (its fast path) and with 64-bit ids (every "id" in it): MB/s, in process.
 *
 * Exit code: 0 when the benchmark ran (targets met or not), 1 when it could not run or a correctness check failed.
 */
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { signFor } from '../../engine/connectors/registry.js';
import type { OpenConnector, WriteItem } from '../../engine/connectors/types.js';
import { parseJsonLossless } from '../../engine/util/json.js';
import { checkInvariants } from '../../engine/mapping/invariants.js';
import { mapRecords } from '../../engine/runtime/mapping/map-records.js';
import { SANDBOX_WEBHOOK_SECRET } from '../../engine/connectors/sandbox/receive.js';
import { createBackfill } from '../../engine/runtime/backfill.js';
import { loadFlows } from '../../engine/runtime/flows.js';
import { RsyncWorker } from '../../engine/runtime/worker.js';
import { testDatabase, type TestDatabase } from '../helpers/db.js';
import { consoleBench } from './console.bench.js';
import {
  applyWorkspace,
  cli,
  ENV,
  runtimeWorkspace,
  spawnWorker,
  STOCK_KEY,
  STOCK_MAPPING,
  until,
} from '../helpers/runtime.js';
import { metricsScrape } from './metrics.js';
import { fairShareBench } from './fairshare.bench.js';
import { percentile, steadyThrottle, VENDORS, type Vendor } from './throttle.js';
import { machine, projectRoot } from './validate.bench.js';

interface Args {
  only: Set<string>;
  records: number;
  backfill: number;
  rate: number;
  seconds: number;
  /** --seconds as given (the throttle part's default is 120 s, not the webhook part's 60). */
  secondsGiven?: number;
  /** The throttle part's vendors. */
  vendors: Vendor[];
  /** How many times the end-to-end part runs (its figure is the median: this machine's runs vary by ±15 %). */
  runs: number;
  /** Orders of the ERP and tax parts (netsuite, business-central, avalara): their fakes answer one order a request. */
  erpRecords: number;
  /** Customers of the metrics part (10 flows each). */
  metricsCustomers: number;
}

function parseArgs(argv: string[]): Args {
  const a: Args = {
    only: new Set([
      'e2e',
      'webhook',
      'backfill',
      'crash',
      'workers',
      'json',
      'shopify',
      'netsuite',
      'business-central',
      'avalara',
      'metrics',
      'console',
      'fairshare',
    ]),
    records: 100_000,
    erpRecords: 2_000,
    backfill: 1_000_000,
    rate: 50,
    seconds: 60,
    vendors: [...VENDORS],
    runs: 3,
    metricsCustomers: 1000,
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const num = () => {
      const v = Number(argv[++i]);
      if (!Number.isFinite(v) || v <= 0) throw new Error(`${k} needs a positive number`);
      return v;
    };
    if (k === '--only') a.only = new Set(argv[++i].split(','));
    else if (k === '--records') a.records = num();
    else if (k === '--erp-records') a.erpRecords = num();
    else if (k === '--backfill') a.backfill = num();
    else if (k === '--rate') a.rate = num();
    else if (k === '--seconds') a.seconds = a.secondsGiven = num();
    else if (k === '--vendor') {
      const v = argv[++i];
      if (v !== 'all' && !VENDORS.includes(v as Vendor))
        throw new Error(`--vendor is one of ${VENDORS.join(', ')} or all`);
      a.vendors = v === 'all' ? [...VENDORS] : [v as Vendor];
    } else if (k === '--runs') a.runs = num();
    else if (k === '--metrics-customers') a.metricsCustomers = num();
    else throw new Error(`unknown argument ${k}`);
  }
  return a;
}

const say = (s = '') => process.stdout.write(s + '\n');
const int = (n: number) => Math.round(n).toLocaleString('en-US');
const status = (ok: boolean) => (ok ? 'met' : 'MISSED');
const root = projectRoot();
const ORDER_MAPPING = readFileSync(
  path.join(root, 'templates', 'shopify-orders-to-erp', '2', 'mappings', 'shopify-order.jsonata'),
  'utf8',
);
const ORDER_KEY = "'shopify-order-' & (admin_graphql_api_id ? $split(admin_graphql_api_id, '/')[-1] : $string(id))";
// Shopify's orders/create sample, made consistent (its totals add up: the canonical invariants would dead-letter the
// docs' REST sample, whose lines and totals disagree), out of test mode.
const ORDER = {
  ...(
    parseJsonLossless(
      readFileSync(path.join(root, 'test', 'fixtures', 'shopify-variants', 'orders_create.consistent.json'), 'utf8'),
    ) as { response: Record<string, unknown> }
  ).response,
  test: false,
};
const FROM = new Date('2026-01-01T00:00:00Z');
const TO = new Date('2026-02-01T00:00:00Z');

let failed = false;
function check(ok: boolean, what: string): void {
  say(`  check: ${what}: ${ok ? 'ok' : 'FAILED'}`);
  if (!ok) failed = true;
}

/** Peak RSS (VmHWM, KiB) of a process, polled until it exits. */
function watchRss(pid: number): { peak: () => number; stop: () => void } {
  let peak = 0;
  const t = setInterval(() => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) peak = Math.max(peak, Number(m[1]));
    } catch {
      /* exited */
    }
  }, 20);
  return { peak: () => peak, stop: () => clearInterval(t) };
}

const worker = (dir: string, url: string, ...args: string[]) => spawnWorker(dir, url, ...args);

/** The postgres stream of the Shopify orders seedOrders puts in shop_orders. */
const SHOP_ORDERS = {
  canonical: ['order'],
  incremental: true,
  table: 'shop_orders',
  cursor: 'updated_at',
  key: 'id',
  document: 'payload',
};

/** `n` Shopify orders (the REST fixture with fresh ids and times) into a table, generated in SQL. */
async function seedOrders(pool: pg.Pool, table: string, n: number): Promise<void> {
  await pool.query(
    `INSERT INTO ${table} (id, updated_at, payload)
     SELECT 1000000000 + g, $2::timestamptz + (g * ($3::float8 / $4)) * interval '1 second',
            jsonb_set(jsonb_set(jsonb_set($1::jsonb, '{id}', to_jsonb(1000000000 + g)), '{admin_graphql_api_id}', to_jsonb('gid://shopify/Order/' || (1000000000 + g))), '{name}', to_jsonb('#' || g))
       FROM generate_series(1, $4) AS g`,
    [JSON.stringify(ORDER), FROM.toISOString(), (TO.getTime() - FROM.getTime()) / 1000, n],
  );
}

async function seedStock(pool: pg.Pool, system: string, n: number): Promise<void> {
  for (let from = 1; from <= n; from += 200_000) {
    const to = Math.min(n, from + 199_999);
    await pool.query(
      `INSERT INTO rsync_sandbox.records (system, stream, id, updated_at, payload)
       SELECT $1, 'inventory', g::text, $2::timestamptz + (g * ($3::float8 / $4)) * interval '1 second',
              jsonb_build_object('id', g, 'sku', 'SKU-' || (g % 997), 'location', g % 7 + 1, 'qty', (g * 13 % 100)::text, 'updated_at', '2026-01-01T00:00:00Z')
         FROM generate_series($5::int, $6::int) AS g`,
      [system, FROM.toISOString(), (TO.getTime() - FROM.getTime()) / 1000, n, from, to],
    );
  }
}

/**
 * A workspace whose flow acme/orders maps the Shopify orders of the postgres table shop_orders (created here and
 * seeded with `n` orders) into `o.target`; `o.shopdb` adds to the postgres connection's settings, `o.connections`
 * adds connections.
 */
async function shopOrdersWorkspace(
  pool: pg.Pool,
  prefix: string,
  n: number,
  o: {
    target: { connection: string; entity: string };
    shopdb?: Record<string, unknown>;
    connections?: { name: string; connector: string; settings: Record<string, unknown> }[];
  },
): Promise<string> {
  const dir = runtimeWorkspace(prefix, {
    connections: [
      {
        name: 'shopdb',
        connector: 'postgres',
        settings: { url: { secretRef: 'env:RSYNC_BENCH_DB' }, streams: { orders: SHOP_ORDERS }, ...o.shopdb },
      },
      ...(o.connections ?? []),
    ],
    flows: [
      {
        name: 'orders',
        source: { connection: 'shopdb', stream: 'orders' },
        target: o.target,
        mapping: ORDER_MAPPING,
        canonical: 'order',
        key: ORDER_KEY,
        batchSize: 500,
        concurrency: 4,
      },
    ],
  });
  await pool.query(
    `CREATE TABLE shop_orders (id bigint PRIMARY KEY, updated_at timestamptz NOT NULL, payload jsonb NOT NULL)`,
  );
  await pool.query(`CREATE INDEX ON shop_orders (updated_at, id)`);
  await seedOrders(pool, 'shop_orders', n);
  await pool.query('ANALYZE shop_orders');
  return dir;
}

/** CPU seconds of each thread of this process, by thread id (Linux /proc; empty elsewhere). */
function threadCpu(): Map<string, number> {
  const out = new Map<string, number>();
  try {
    const tick = 100; // USER_HZ
    for (const tid of readdirSync('/proc/self/task')) {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(tid, (Number(f[11]) + Number(f[12])) / tick);
    }
  } catch {
    // not Linux
  }
  return out;
}

function threadName(tid: string): string {
  try {
    return readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim();
  } catch {
    return '?';
  }
}

/** CPU seconds of the PostgreSQL backends serving this database, when PostgreSQL runs on this machine (/proc). */
async function backendCpu(pool: pg.Pool): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  const { rows } = await pool.query<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity WHERE datname = current_database()`,
  );
  for (const { pid } of rows) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(pid, (Number(f[11]) + Number(f[12])) / 100);
    } catch {
      // another machine's PostgreSQL, or no permission
    }
  }
  return out;
}

/** Where the CPU of a timed section went: this process's main thread, its other threads, PostgreSQL's backends. */
function cpuReport(
  t0: Map<string, number>,
  t1: Map<string, number>,
  pg0: Map<number, number>,
  pg1: Map<number, number>,
  records: number,
  mappingThreads: number,
): string {
  const main = String(process.pid);
  const d = [...t1].map(([tid, v]) => ({ tid, s: v - (t0.get(tid) ?? 0) })).filter((x) => x.s > 0);
  const mainS = d.find((x) => x.tid === main)?.s ?? 0;
  const others = d.filter((x) => x.tid !== main).sort((a, b) => b.s - a.s);
  const mapping = others.slice(0, mappingThreads).reduce((a, x) => a + x.s, 0);
  const rest = others.slice(mappingThreads).reduce((a, x) => a + x.s, 0);
  if (process.env.RSYNC_BENCH_THREADS)
    for (const x of others) say(`    thread ${x.tid} ${threadName(x.tid)}: ${Math.round((x.s * 1e6) / records)} µs`);
  let pgS = 0;
  for (const [pid, v] of pg1) pgS += v - (pg0.get(pid) ?? 0);
  const total = mainS + mapping + rest + pgS;
  const us = (s: number) => `${Math.round((s * 1e6) / records)} µs`;
  return (
    `  CPU per record: main thread ${us(mainS)}, ${mappingThreads} mapping threads ${us(mapping)}, other threads (GC, compiler, I/O) ${us(rest)}` +
    `, PostgreSQL backends ${pg1.size ? us(pgS) : 'not measured (not on this machine)'}; total ${us(total)} (${(total).toFixed(1)} CPU s)`
  );
}

async function fresh(label: string): Promise<{ db: TestDatabase; pool: pg.Pool }> {
  const db = await testDatabase(label);
  return { db, pool: new pg.Pool({ connectionString: db.url, max: 10, application_name: 'bench runtime' }) };
}

/**
 * Applies `dir`, starts one worker in this process and times it working a backfill of acme/orders over
 * [FROM, `to`) in windows of `windowMs` into erp_orders: the time, this process's and PostgreSQL's CPU, the runs'
 * counts and the target's rows.
 */
async function timedOrdersBackfill(
  pool: pg.Pool,
  url: string,
  dir: string,
  to: Date,
  windowMs: number,
  records: number,
) {
  await applyWorkspace(dir, url);
  const w = new RsyncWorker({ pool, url, env: ENV, port: null, concurrency: 4, pollMs: 100 });
  await w.start();
  const flow = (await loadFlows(pool, ENV)).get('acme/flow/orders')!;
  const cpu0 = process.cpuUsage();
  const threads0 = threadCpu();
  const pg0 = await backendCpu(pool);
  const t0 = performance.now();
  const bf = await createBackfill(pool, flow, FROM, to, windowMs, 'bench');
  await until('the backfill', async () => ((await left(pool, bf.id)) === 0 ? true : undefined), 3_600_000);
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const threads1 = threadCpu();
  const pg1 = await backendCpu(pool);
  const mappers = w.rt.mapper.size;
  await w.stop(5_000);
  const counts = (
    await pool.query(
      `SELECT sum(read)::int AS read, sum(written)::int AS written, sum(filtered)::int AS filtered, sum(dead)::int AS dead FROM rsync.runs`,
    )
  ).rows[0];
  const rows = Number((await pool.query(`SELECT count(*) FROM erp_orders`)).rows[0].count);
  return { ms, cpu, mappers, counts, rows, cpuLine: cpuReport(threads0, threads1, pg0, pg1, records, mappers) };
}

// ------------------------------------------------------------------------------------------------------ e2e

async function e2e(a: Args): Promise<void> {
  say(
    `e2e: postgres (${int(a.records)} Shopify orders) → shopify-order.jsonata (@2) → postgres upsert; ${a.runs} run(s), each on a fresh database`,
  );
  const rates: number[] = [];
  for (let n = 1; n <= a.runs; n++) rates.push(await e2eRun(a, n));
  const sorted = [...rates].sort((x, y) => x - y);
  const median = sorted[Math.floor((sorted.length - 1) / 2)];
  say(
    `  median ${int(median)} records/s end to end, runs ${sorted.map(int).join(' / ')} (target ≥ 10,000: ${status(median >= 10_000)})`,
  );
}

async function e2eRun(a: Args, n: number): Promise<number> {
  const { db, pool } = await fresh('bench_e2e');
  try {
    process.env.RSYNC_BENCH_DB = db.url;
    await pool.query(`CREATE TABLE erp_orders (key text PRIMARY KEY, body jsonb NOT NULL, currency text, total text)`);
    const dir = await shopOrdersWorkspace(pool, 'rsync-bench-e2e-', a.records, {
      shopdb: { entities: { salesOrder: { accepts: ['order'], table: 'erp_orders', key: 'key', document: 'body' } } },
      target: { connection: 'shopdb', entity: 'salesOrder' },
    });
    const to = new Date(TO.getTime() + 1000);
    const {
      ms,
      cpu,
      mappers: threads,
      counts,
      rows,
      cpuLine,
    } = await timedOrdersBackfill(pool, db.url, dir, to, (TO.getTime() - FROM.getTime()) / 16, a.records);
    const rate = a.records / (ms / 1000);
    say(`  run ${n}: ${int(a.records)} records in ${(ms / 1000).toFixed(1)} s: ${int(rate)} records/s end to end`);
    const workerUs = (cpu.user + cpu.system) / a.records;
    const cores = os.availableParallelism();
    say(
      `  worker process CPU ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s (main thread and ${threads} mapping threads); PostgreSQL runs on the same ${cores} cores`,
    );
    say(
      `  worker alone: ${Math.round(workerUs)} µs of CPU a record, so about ${int((cores * 1e6) / workerUs)} records/s on ${cores} cores of its own with PostgreSQL elsewhere (inferred from CPU time, not measured)`,
    );
    say(cpuLine);
    say(
      `  runs: read ${int(counts.read)}, written ${int(counts.written)}, filtered ${int(counts.filtered)}, dead ${int(counts.dead)}; target rows ${int(rows)}`,
    );
    check(
      counts.read === a.records && rows === counts.written && counts.dead === 0,
      'every record read once and every written one upserted',
    );
    return rate;
  } finally {
    await pool.end();
    await db.drop();
  }
}

// ------------------------------------------------------------------------------------------------------ webhooks

async function webhook(a: Args): Promise<void> {
  say(
    `webhook: signed Shopify order webhooks at ${a.rate}/s for ${a.seconds} s → shopify-order.jsonata (@2) → sandbox ERP`,
  );
  const { db, pool } = await fresh('bench_webhook');
  try {
    const dir = runtimeWorkspace('rsync-bench-hook-', {
      connections: [
        { name: 'shop', connector: 'sandbox', settings: { system: 'storefront' } },
        { name: 'erp', connector: 'sandbox', settings: { system: 'erp' } },
      ],
      flows: [
        {
          name: 'orders',
          source: { connection: 'shop', stream: 'orders' },
          target: { connection: 'erp', entity: 'salesOrder' },
          trigger: '{ event: orders/create }',
          mapping: ORDER_MAPPING,
          canonical: 'order',
          key: ORDER_KEY,
        },
      ],
    });
    await applyWorkspace(dir, db.url);
    const w = new RsyncWorker({ pool, url: db.url, env: ENV, port: 0, pollMs: 1000 });
    await w.start();
    const url = `http://127.0.0.1:${w.port}/hooks/acme/orders`;
    const sent = new Map<string, number>();
    const statuses = new Map<number, number>();
    const total = Math.round(a.rate * a.seconds);
    const t0 = Date.now();
    const inflight: Promise<void>[] = [];
    for (let i = 0; i < total; i++) {
      const due = t0 + (i * 1000) / a.rate;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const id = 2_000_000_000 + i;
      const body = Buffer.from(
        JSON.stringify({ ...ORDER, id, admin_graphql_api_id: `gid://shopify/Order/${id}`, name: `#${i}` }),
      );
      const headers = signFor('sandbox', SANDBOX_WEBHOOK_SECRET, body, {
        deliveryId: `bench-${i}`,
        topic: 'orders/create',
      });
      sent.set(`shopify-order-${id}`, Date.now());
      inflight.push(
        fetch(url, { method: 'POST', headers, body }).then(async (r) => {
          await r.arrayBuffer();
          statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        }),
      );
    }
    await Promise.all(inflight);
    await until(
      'every delivery written',
      async () =>
        Number((await pool.query(`SELECT count(*) FROM rsync_sandbox.writes`)).rows[0].count) >= total
          ? true
          : undefined,
      120_000,
    );
    await w.stop(5_000);
    const { rows } = await pool.query<{ key: string; at: number }>(
      `SELECT key, extract(epoch FROM first_written_at) * 1000 AS at FROM rsync_sandbox.writes`,
    );
    const byTime = rows
      .map((r) => [sent.get(r.key)! - t0, Number(r.at) - sent.get(r.key)!])
      .sort((x, y) => x[0] - y[0]);
    if (process.env.RSYNC_BENCH_TRACE)
      for (const [t, l] of byTime) if (l > 200) say(`    slow: sent at +${t} ms, ${l.toFixed(0)} ms`);
    const lat = byTime.map((x) => x[1]).sort((x, y) => x - y);
    const p = (q: number) => `${percentile(lat, q).toFixed(0)} ms`;
    say(
      `  ${int(total)} deliveries (${[...statuses].map(([s, n]) => `${n} × HTTP ${s}`).join(', ')}); latency POST → committed in the target:`,
    );
    say(
      `  p50 ${p(50)}, p95 ${p(95)}, p99 ${p(99)}, max ${p(100)} (target p95 < 500 ms: ${status(percentile(lat, 95) < 500)})`,
    );
    check(rows.length === total && (statuses.get(202) ?? 0) === total, 'every delivery accepted once and written once');
  } finally {
    await pool.end();
    await db.drop();
  }
}

// ------------------------------------------------------------------------------------------------------ backfills

async function stockWorkspace(db: TestDatabase): Promise<string> {
  const dir = runtimeWorkspace('rsync-bench-backfill-', {
    connections: [
      { name: 'erp', connector: 'sandbox', settings: { system: 'erp' } },
      { name: 'shop', connector: 'sandbox', settings: { system: 'storefront' } },
    ],
    flows: [
      {
        name: 'stock',
        source: { connection: 'erp', stream: 'inventory' },
        target: { connection: 'shop', entity: 'inventoryLevel' },
        mapping: STOCK_MAPPING,
        canonical: 'inventoryLevel',
        key: STOCK_KEY,
        batchSize: 500,
        concurrency: 3,
      },
    ],
  });
  await applyWorkspace(dir, db.url);
  return dir;
}

async function startBackfill(dir: string, db: TestDatabase): Promise<number> {
  const r = await cli(
    dir,
    db.url,
    'backfill',
    'acme/stock',
    '--env',
    ENV,
    '--since',
    FROM.toISOString(),
    '--until',
    new Date(TO.getTime() + 1000).toISOString(),
    '--window',
    '2d',
    '--json',
  );
  if (r.status !== 0) throw new Error(`backfill failed: ${r.stderr}`);
  return JSON.parse(r.stdout).backfill;
}

const left = async (pool: pg.Pool, id: number) =>
  Number(
    (await pool.query(`SELECT count(*) FROM rsync.backfill_windows WHERE backfill_id = $1 AND done_at IS NULL`, [id]))
      .rows[0].count,
  );

async function exactlyOnce(pool: pg.Pool, n: number): Promise<void> {
  const w = (
    await pool.query(
      `SELECT count(*)::int AS rows, count(DISTINCT key)::int AS keys, coalesce(max(version), 0) AS v FROM rsync_sandbox.writes`,
    )
  ).rows[0];
  const c = (await pool.query(`SELECT sum(read)::int AS read, sum(written)::int AS written FROM rsync.runs`)).rows[0];
  say(
    `  target: ${int(w.rows)} rows, ${int(w.keys)} keys, highest version ${w.v}; runs: read ${int(c.read)}, written ${int(c.written)}`,
  );
  check(w.rows === n && w.keys === n && w.v === 1, 'every record in the target exactly once');
  check(c.read === n && c.written === n, 'the counts reconcile (read = written = records)');
}

async function backfill(a: Args): Promise<void> {
  say(
    `backfill: ${int(a.backfill)} records (sandbox stock moves → stock mapping → sandbox) by one \`rsync worker\` process`,
  );
  const { db, pool } = await fresh('bench_backfill');
  try {
    const dir = await stockWorkspace(db);
    await seedStock(pool, 'acme/erp', a.backfill);
    const id = await startBackfill(dir, db);
    const t0 = performance.now();
    const w = worker(dir, db.url);
    const rss = watchRss(w.pid!);
    await until('the backfill', async () => ((await left(pool, id)) === 0 ? true : undefined), 3_600_000);
    const ms = performance.now() - t0;
    w.kill('SIGTERM');
    await w.exited;
    rss.stop();
    const peak = rss.peak() / 1024;
    say(
      `  ${(ms / 1000).toFixed(1)} s, ${int(a.backfill / (ms / 1000))} records/s; peak RSS of the worker ${peak.toFixed(0)} MB (target < 300 MB: ${status(peak < 300)})`,
    );
    await exactlyOnce(pool, a.backfill);
  } finally {
    await pool.end();
    await db.drop();
  }
}

async function crash(a: Args): Promise<void> {
  say(`crash: ${int(a.records)}-record backfill, its worker killed with SIGKILL at random moments and restarted`);
  const { db, pool } = await fresh('bench_crash');
  try {
    const dir = await stockWorkspace(db);
    await seedStock(pool, 'acme/erp', a.records);
    const id = await startBackfill(dir, db);
    let kills = 0;
    const t0 = performance.now();
    while ((await left(pool, id)) > 0) {
      const w = worker(dir, db.url);
      // Killed at a random moment of its work, not of its start-up: the backfill now takes about as long as a
      // worker takes to start, and a fixed 1.5-4.5 s life got one or two kills in.
      await until(
        'the worker to register',
        async () =>
          Number((await pool.query(`SELECT count(*) FROM rsync.workers WHERE pid = $1`, [w.pid])).rows[0].count) > 0
            ? true
            : undefined,
        60_000,
      );
      const life = 200 + Math.random() * 1000;
      const r = await Promise.race([w.exited, new Promise<'alive'>((res) => setTimeout(() => res('alive'), life))]);
      if (r !== 'alive') throw new Error(`worker exited: ${w.output}`);
      w.kill('SIGKILL');
      await w.exited;
      kills++;
    }
    const last = worker(dir, db.url, '--for', '2s');
    await last.exited;
    say(`  ${kills} kills, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    await exactlyOnce(pool, a.records);
  } finally {
    await pool.end();
    await db.drop();
  }
}

async function workers(a: Args): Promise<void> {
  say(`workers: three \`rsync worker\` processes share a ${int(a.records)}-record backfill`);
  const { db, pool } = await fresh('bench_workers');
  try {
    const dir = await stockWorkspace(db);
    await seedStock(pool, 'acme/erp', a.records);
    // The three are up before the backfill starts: a backfill this size takes a few seconds, about what a worker
    // takes to start, so the first one up used to do it all.
    const ws = [1, 2, 3].map(() => worker(dir, db.url, '--threads', '1'));
    await until(
      'three workers',
      async () =>
        Number((await pool.query(`SELECT count(*) FROM rsync.workers`)).rows[0].count) >= 3 ? true : undefined,
      60_000,
    );
    const id = await startBackfill(dir, db);
    const t0 = performance.now();
    await until('the backfill', async () => ((await left(pool, id)) === 0 ? true : undefined), 3_600_000);
    const ms = performance.now() - t0;
    for (const w of ws) w.kill('SIGTERM');
    await Promise.all(ws.map((w) => w.exited));
    const by = (
      await pool.query(`SELECT worker, sum(read)::int AS read FROM rsync.runs GROUP BY worker ORDER BY worker`)
    ).rows;
    say(
      `  ${(ms / 1000).toFixed(1)} s, ${int(a.records / (ms / 1000))} records/s; records per worker: ${by.map((r) => int(r.read)).join(', ')}`,
    );
    await exactlyOnce(pool, a.records);
  } finally {
    await pool.end();
    await db.drop();
  }
}

/** MB/s of `parse` over `texts`: the best of five rounds of about 0.4 s each (this machine's other work varies). */
function parseRate(parse: (text: string) => unknown, texts: string[]): number {
  const mb = texts.reduce((n, t) => n + Buffer.byteLength(t), 0) / 1e6;
  for (let w = 0; w < 20; w++) for (const t of texts) parse(t);
  let best = 0;
  for (let round = 0; round < 5; round++) {
    let pages = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < 400) {
      for (const t of texts) parse(t);
      pages++;
    }
    best = Math.max(best, (pages * mb) / ((performance.now() - t0) / 1000));
  }
  return best;
}

async function invariants(): Promise<void> {
  say(
    'invariants: the mapping stage of one thread on 5,000 Shopify orders (shopify-order v2), and the invariant check alone',
  );
  const records = Array.from({ length: 5_000 }, (_, i) =>
    JSON.stringify({ ...ORDER, id: 1_000_000 + i, name: `#${i}` }),
  );
  const task = { mapping: ORDER_MAPPING, key: ORDER_KEY, params: {}, canonical: 'order', records, json: true };
  const first = await mapRecords({ ...task, records: records.slice(0, 1) });
  check(first[0]?.kind === 'mapped', 'the order maps and adds up');
  await mapRecords(task);
  let best = 0;
  let outcomes: Awaited<ReturnType<typeof mapRecords>> = [];
  for (let round = 0; round < 3; round++) {
    const t0 = performance.now();
    outcomes = await mapRecords(task);
    best = Math.max(best, records.length / ((performance.now() - t0) / 1000));
  }
  const mapped = outcomes.flatMap((o) => (o.kind === 'mapped' ? [JSON.parse(o.text) as unknown] : []));
  check(mapped.length === records.length, 'every order mapped, none dead-lettered');
  for (const m of mapped) checkInvariants('order', m);
  let checks = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < 1000) {
    for (const m of mapped) checkInvariants('order', m);
    checks += mapped.length;
  }
  const perCheck = ((performance.now() - t0) * 1000) / checks;
  say(`  mapping stage (parse, JSONata, schema, invariants, hash): ${int(best)} records/s per thread`);
  say(
    `  invariant check alone: ${perCheck.toFixed(1)} µs per order (${((perCheck / (1e6 / best)) * 100).toFixed(1)} % of the stage)`,
  );
}

async function json(): Promise<void> {
  say('json: a page of 500 Shopify orders parsed by JSON.parse and by parseJsonLossless (MB/s, best of 5)');
  // Every "id" of the order (its own, its line items', its customer's…) as a JSON number: 64-bit ones cannot be
  // JavaScript numbers, so they are spliced into the text.
  const text = JSON.stringify(ORDER);
  const page = (base: bigint) =>
    Array.from({ length: 500 }, (_, i) => {
      let k = 0;
      return text.replace(/"id":\d+/g, () => `"id":${base + BigInt(i * 100 + k++)}`);
    });
  const small = page(1_000_000_000n);
  const big = page(820982911946154508n);
  const first = parseJsonLossless(big[0]) as { id: unknown };
  check(first.id === '820982911946154508', 'the 64-bit order id is kept exact');
  for (const [what, texts] of [
    ['ids below 2^53 (fast path)', small],
    ['64-bit ids', big],
  ] as const) {
    const plain = parseRate(JSON.parse, texts);
    const lossless = parseRate(parseJsonLossless, texts);
    say(
      `  ${what.padEnd(28)} JSON.parse ${plain.toFixed(0)} MB/s, parseJsonLossless ${lossless.toFixed(0)} MB/s (${((lossless / plain) * 100).toFixed(0)} %)`,
    );
  }
}

// ------------------------------------------------------------------------------------------------------ shopify

/** A vendor fake script of this folder in a process of its own: the JSON of its first line, and how to stop it. */
async function fakeProcess<T>(script: string, ...args: string[]): Promise<T & { stop: () => Promise<void> }> {
  const { spawn } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const child = spawn(process.execPath, [fileURLToPath(new URL(script, import.meta.url)), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    let buf = '';
    child.stdout!.setEncoding('utf8').on('data', (c: string) => {
      buf += c;
      if (buf.includes('\n')) resolve(buf.split('\n')[0]);
    });
    child.on('exit', (code) => reject(new Error(`the fake ${script} exited (${code})`)));
  });
  return {
    ...(JSON.parse(line) as T),
    stop: () =>
      new Promise<void>((r) => {
        child.once('exit', () => r());
        child.kill('SIGTERM');
      }),
  };
}

/** The fake Shopify (shopify-fake.ts) in a process of its own, serving `n` orders to every bulk query. */
const shopifyFake = (n: number) => fakeProcess<{ url: string; token: string }>('./shopify-fake.js', String(n));

async function shopify(a: Args): Promise<void> {
  const n = a.records;
  say(
    `shopify: a bulk backfill of ${int(n)} orders from the fake Shopify (its own process) → shopify-order.jsonata (@2) → postgres upsert`,
  );
  const fake = await shopifyFake(n);
  process.env.RSYNC_BENCH_SHOPIFY_TOKEN = fake.token;
  const settings = {
    shop: 'bench.myshopify.com',
    baseUrl: fake.url,
    accessToken: { secretRef: 'env:RSYNC_BENCH_SHOPIFY_TOKEN' },
    rateLimit: { perSecond: 1_000_000, burst: 1_000_000 },
  };
  try {
    // 1. The connector alone: the bulk operation started, polled, its JSONL streamed, parsed, put back together and
    // converted into the REST records the mapping reads — this process's CPU, the fake's being another process's.
    const { openShopify } = await import('../../engine/connectors/shopify/connector.js');
    const { resolveSecret } = await import('../../engine/connectors/secrets.js');
    const c = openShopify({ settings, secret: resolveSecret, system: 'bench/shopify' });
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let cursor: unknown = null;
    let read = 0;
    let tFirst = 0;
    for (let more = true; more; ) {
      const p = await c.read!({
        stream: 'orders',
        cursor: cursor as never,
        limit: 500,
        since: FROM.toISOString(),
        until: TO.toISOString(),
      });
      if (!tFirst && p.records.length) tFirst = performance.now();
      read += p.records.length;
      cursor = p.cursor;
      more = p.more;
    }
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    await c.close?.();
    check(read === n, `the connector read every order (${int(read)} of ${int(n)})`);
    const us = (cpu.user + cpu.system) / n;
    say(
      `  connector alone: ${int(read)} orders in ${(ms / 1000).toFixed(1)} s (${((tFirst - t0) / 1000).toFixed(1)} s of it the operation running and polled), ${int(read / ((t0 + ms - tFirst) / 1000))} orders/s streamed; connector CPU ${us.toFixed(0)} µs per order (${((cpu.user + cpu.system) / 1e6).toFixed(1)} CPU s)`,
    );

    // 2. End to end: one rsync worker (this process) works the backfill window through the mapping into PostgreSQL.
    const { db, pool } = await fresh('bench_shopify');
    try {
      process.env.RSYNC_BENCH_DB = db.url;
      const dir = runtimeWorkspace('rsync-bench-shopify-', {
        connections: [
          { name: 'web', connector: 'shopify', settings },
          {
            name: 'erpdb',
            connector: 'postgres',
            settings: {
              url: { secretRef: 'env:RSYNC_BENCH_DB' },
              entities: { salesOrder: { accepts: ['order'], table: 'erp_orders', key: 'key', document: 'body' } },
            },
          },
        ],
        flows: [
          {
            name: 'orders',
            source: { connection: 'web', stream: 'orders' },
            target: { connection: 'erpdb', entity: 'salesOrder' },
            mapping: ORDER_MAPPING,
            canonical: 'order',
            key: ORDER_KEY,
            batchSize: 500,
            concurrency: 4,
          },
        ],
      });
      await pool.query(`CREATE TABLE erp_orders (key text PRIMARY KEY, body jsonb NOT NULL)`);
      const {
        ms: e2eMs,
        counts,
        rows,
        cpuLine,
      } = await timedOrdersBackfill(pool, db.url, dir, TO, TO.getTime() - FROM.getTime(), n);
      say(
        `  end to end: ${int(n)} orders in ${(e2eMs / 1000).toFixed(1)} s: ${int(n / (e2eMs / 1000))} records/s (the bulk operation's run and polls included)`,
      );
      say(cpuLine);
      say(
        `  runs: read ${int(counts.read)}, written ${int(counts.written)}, filtered ${int(counts.filtered)}, dead ${int(counts.dead)}; target rows ${int(rows)}`,
      );
      check(counts.read === n && rows === n && counts.dead === 0, 'every order read once and upserted');
    } finally {
      await pool.end();
      await db.drop();
    }
  } finally {
    await fake.stop();
  }
}

/**
 * The "connector alone" measure of the ERP and tax parts: `n` write items, made by `item(i)`, written to `entity` in
 * batches of `batch` — the records written, the wall time and this process's CPU (user + system, µs) it took.
 */
async function timedWrites(
  c: OpenConnector,
  entity: string,
  n: number,
  batch: number,
  item: (i: number) => WriteItem,
): Promise<{ ok: number; ms: number; cpuUs: number }> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let ok = 0;
  for (let from = 0; from < n; from += batch) {
    const items = Array.from({ length: Math.min(batch, n - from) }, (_, i) => item(from + i));
    ok += (await c.write!(entity, items)).filter((r) => r.ok).length;
  }
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { ok, ms, cpuUs: cpu.user + cpu.system };
}

// ------------------------------------------------------------------------------------------------------ avalara

/** The fake AvaTax (avalara-fake.ts) in a process of its own; `counts()` asks it what it holds. */
async function avalaraFake() {
  const { spawn } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const child = spawn(process.execPath, [fileURLToPath(new URL('./avalara-fake.js', import.meta.url))], {
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  const info = await new Promise<{ url: string; accountId: string; licenseKey: string }>((resolve, reject) => {
    child.stdout!.setEncoding('utf8').once('data', (c: string) => resolve(JSON.parse(c.split('\n')[0])));
    child.once('exit', (code) => reject(new Error(`the fake AvaTax exited (${code})`)));
  });
  const counts = () =>
    new Promise<{ creates: number; adjustments: number; held: number; requests: number }>((resolve) => {
      child.once('message', (m) => resolve(m as never));
      child.send('counts');
    });
  const stop = () =>
    new Promise<void>((r) => {
      child.once('exit', () => r());
      child.kill('SIGTERM');
    });
  return { ...info, counts, stop };
}

async function avalara(a: Args): Promise<void> {
  const n = a.erpRecords;
  say(
    `avalara: ${int(n)} Shopify orders from a postgres table → shopify-order.jsonata (@2) → the avalara connector → the fake AvaTax (its own process), one transaction each`,
  );
  const fake = await avalaraFake();
  process.env.RSYNC_BENCH_AVALARA_KEY = fake.licenseKey;
  const { fakeSettings } = await import('../../engine/connectors/avalara/fake.js');
  const settings = fakeSettings(fake, 'RSYNC_BENCH_AVALARA_KEY', 'BENCH');
  // Paid orders: the sample is a cancelled one, which the connector would void (there being nothing to void).
  const paid = { ...ORDER, cancelled_at: null, cancel_reason: null };
  try {
    // 1. The connector alone: canonical orders (mapped once, beforehand) written in batches of 100 — this process's
    // CPU per record, the fake's being another process's.
    const [mapped] = await mapRecords({
      mapping: ORDER_MAPPING,
      key: ORDER_KEY,
      params: {},
      canonical: 'order',
      records: [JSON.stringify(paid)],
      json: true,
    });
    check(mapped?.kind === 'mapped', 'the order maps');
    const order = JSON.parse(mapped.kind === 'mapped' ? mapped.text : '{}') as Record<string, unknown>;
    const { openAvalara } = await import('../../engine/connectors/avalara/connector.js');
    const { resolveSecret } = await import('../../engine/connectors/secrets.js');
    const c = openAvalara({ settings, secret: resolveSecret, system: 'bench/avalara' });
    const alone = Math.min(n, 5_000);
    const { ok, ms, cpuUs } = await timedWrites(c, 'transaction', alone, 100, (i) => ({
      key: `alone-order-${i}`,
      record: { ...order, externalId: String(i) },
    }));
    check(ok === alone, `the connector recorded every order (${int(ok)} of ${int(alone)})`);
    say(
      `  connector alone: ${int(alone)} orders in ${(ms / 1000).toFixed(1)} s: ${int(alone / (ms / 1000))} orders/s recorded; connector CPU ${(cpuUs / alone).toFixed(0)} µs per order (${(cpuUs / 1e6).toFixed(1)} CPU s)`,
    );
    const before = await fake.counts();

    // 2. End to end: one rsync worker (this process) works the backfill from PostgreSQL through the mapping to AvaTax.
    const { db, pool } = await fresh('bench_avalara');
    try {
      process.env.RSYNC_BENCH_DB = db.url;
      // timedOrdersBackfill counts the rows of erp_orders: here the target is AvaTax, so it stays empty.
      await pool.query(`CREATE TABLE erp_orders (key text PRIMARY KEY)`);
      const dir = await shopOrdersWorkspace(pool, 'rsync-bench-avalara-', n, {
        connections: [{ name: 'tax', connector: 'avalara', settings }],
        target: { connection: 'tax', entity: 'transaction' },
      });
      await pool.query(`UPDATE shop_orders SET payload = payload || '{"cancelled_at": null, "cancel_reason": null}'`);
      const {
        ms: e2eMs,
        counts,
        cpuLine,
      } = await timedOrdersBackfill(
        pool,
        db.url,
        dir,
        new Date(TO.getTime() + 1000),
        (TO.getTime() - FROM.getTime()) / 8,
        n,
      );
      const after = await fake.counts();
      say(
        `  end to end: ${int(n)} orders in ${(e2eMs / 1000).toFixed(1)} s: ${int(n / (e2eMs / 1000))} orders/s recorded as transactions`,
      );
      say(cpuLine);
      say(
        `  runs: read ${int(counts.read)}, written ${int(counts.written)}, dead ${int(counts.dead)}; the fake: ${int(after.creates - before.creates)} transactions created, ${int(after.adjustments - before.adjustments)} adjusted`,
      );
      check(
        counts.read === n && counts.dead === 0 && after.creates - before.creates === n,
        'every order recorded once',
      );
    } finally {
      await pool.end();
      await db.drop();
    }
  } finally {
    await fake.stop();
  }
}

// ------------------------------------------------------------------------------------------------------ netsuite

interface NetSuiteFakeStats {
  creates: number;
  updates: number;
  requests: number;
  maxInFlight: number;
  rejected: number;
}

/** The fake NetSuite (netsuite-fake.ts) in a process of its own; stop() gives what it counted. */
async function netsuiteFake(): Promise<{
  url: string;
  accountId: string;
  tba: { consumerKey: string; consumerSecret: string; tokenId: string; tokenSecret: string };
  stop: () => Promise<NetSuiteFakeStats>;
}> {
  const { spawn } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const child = spawn(process.execPath, [fileURLToPath(new URL('./netsuite-fake.js', import.meta.url))], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  let buf = '';
  const next = () =>
    new Promise<string>((resolve, reject) => {
      const poll = setInterval(() => {
        if (lines.length) {
          clearInterval(poll);
          resolve(lines.shift()!);
        }
      }, 10);
      child.once('exit', (code) => {
        clearInterval(poll);
        if (lines.length) resolve(lines.shift()!);
        else reject(new Error(`the fake NetSuite exited (${code})`));
      });
    });
  child.stdout!.setEncoding('utf8').on('data', (c: string) => {
    buf += c;
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
  const first = JSON.parse(await next()) as Omit<Awaited<ReturnType<typeof netsuiteFake>>, 'stop'>;
  return {
    ...first,
    stop: async () => {
      const stats = next();
      child.kill('SIGTERM');
      return JSON.parse(await stats) as NetSuiteFakeStats;
    },
  };
}

async function netsuite(a: Args): Promise<void> {
  const n = a.erpRecords;
  say(
    `netsuite: ${int(n)} orders → shopify-order.jsonata (@2) → NetSuite sales orders upserted by external id on the fake NetSuite (its own process), token-based authentication`,
  );
  const fake = await netsuiteFake();
  const { fakeSettings } = await import('../../engine/connectors/netsuite/fake.js');
  const settings = {
    ...fakeSettings(fake, 'RSYNC_BENCH_NS'),
    customer: '42',
    concurrency: 8,
    rateLimit: { perSecond: 1_000_000, burst: 1_000_000 },
  };
  let stats: NetSuiteFakeStats | undefined;
  try {
    // 1. The connector alone: canonical orders (the mapping's output for the sample, one id each) upserted in batches
    // of 500 — payloads, SKU lookups, signatures, requests — this process's CPU, the fake's being another process's.
    const { compile } = await import('../../engine/jsonata/index.js');
    const mapping = compile(ORDER_MAPPING);
    if (!mapping.ok) throw new Error(mapping.problem.message);
    const canonical = (await mapping.expr.evaluate(ORDER, { params: {} })) as Record<string, unknown>;
    const { openNetSuite } = await import('../../engine/connectors/netsuite/connector.js');
    const { resolveSecret } = await import('../../engine/connectors/secrets.js');
    const c = openNetSuite({ settings, secret: resolveSecret, system: 'bench/netsuite' });
    const alone = Math.min(n, 20_000);
    const { ok, ms, cpuUs } = await timedWrites(c, 'salesOrder', alone, 500, (i) => ({
      key: `bench-order-${i}`,
      record: { ...canonical, externalId: String(i) },
    }));
    check(ok === alone, `the connector upserted every order (${int(ok)} of ${int(alone)})`);
    say(
      `  connector alone: ${int(alone)} orders in ${(ms / 1000).toFixed(1)} s: ${int(alone / (ms / 1000))} orders/s at 8 in flight; connector CPU ${(cpuUs / alone).toFixed(0)} µs per order (${(cpuUs / 1e6).toFixed(1)} CPU s)`,
    );

    // 2. End to end: one rsync worker (this process) works a backfill of the orders from PostgreSQL through the
    // mapping into the fake NetSuite; the fake counts what it created.
    const { db, pool } = await fresh('bench_netsuite');
    try {
      process.env.RSYNC_BENCH_DB = db.url;
      const dir = await shopOrdersWorkspace(pool, 'rsync-bench-netsuite-', n, {
        connections: [{ name: 'erp', connector: 'netsuite', settings }],
        target: { connection: 'erp', entity: 'salesOrder' },
      });
      // timedOrdersBackfill counts erp_orders' rows: here the target is NetSuite, so the table stays empty.
      await pool.query(`CREATE TABLE erp_orders (key text PRIMARY KEY)`);
      const {
        ms: e2eMs,
        counts,
        cpuLine,
      } = await timedOrdersBackfill(
        pool,
        db.url,
        dir,
        new Date(TO.getTime() + 1000),
        (TO.getTime() - FROM.getTime()) / 8,
        n,
      );
      say(
        `  end to end: ${int(n)} orders in ${(e2eMs / 1000).toFixed(1)} s: ${int(n / (e2eMs / 1000))} orders/s posted from PostgreSQL`,
      );
      say(cpuLine);
      stats = await fake.stop();
      say(
        `  runs: read ${int(counts.read)}, written ${int(counts.written)}, dead ${int(counts.dead)}; the fake: ${int(stats.creates)} sales orders created, ${int(stats.updates)} updated, ${int(stats.requests)} requests, at most ${stats.maxInFlight} in flight`,
      );
      check(counts.written === n && counts.dead === 0 && stats.creates === alone + n, 'every order posted once');
    } finally {
      await pool.end();
      await db.drop();
    }
  } finally {
    if (!stats) await fake.stop();
  }
}

// ------------------------------------------------------------------------------------------------- business-central

/**
 * Orders into Business Central: the fake (business-central-fake.ts) in a process of its own, so that what is
 * measured here is rsync's side. First the connector alone — the Shopify sample mapped once to a canonical order,
 * then written as sales orders in batches of 100 (key lookups, atomic $batch deep inserts) — for its own CPU per
 * order; then end to end, a postgres table of Shopify orders through the order mapping and the connector by one
 * worker (this process).
 */
async function businessCentral(a: Args): Promise<void> {
  const n = a.erpRecords;
  say(
    `business-central: ${int(n)} Shopify orders → shopify-order.jsonata (@2) → sales orders in the fake Business Central (its own process)`,
  );
  const fake = await fakeProcess<{ url: string; stats: string }>('./business-central-fake.js');
  const bc = await import('../../engine/connectors/business-central/fake.js');
  process.env.RSYNC_BENCH_BC_SECRET = bc.FAKE_CLIENT_SECRET;
  const settings = {
    ...bc.fakeSettings(fake.url, 'RSYNC_BENCH_BC_SECRET'),
    rateLimit: { perSecond: 1_000_000, burst: 1_000_000 },
  };
  const stats = async () => (await (await fetch(fake.stats)).json()) as { orders: number; twice: number };
  try {
    // 1. The connector alone: payloads built, keys looked up, $batch requests sent and their answers read.
    const { openBusinessCentral } = await import('../../engine/connectors/business-central/connector.js');
    const { resolveSecret } = await import('../../engine/connectors/secrets.js');
    const [mapped] = await mapRecords({
      mapping: ORDER_MAPPING,
      key: ORDER_KEY,
      params: {},
      canonical: 'order',
      records: [JSON.stringify(ORDER)],
      json: true,
    });
    check(mapped?.kind === 'mapped', 'the sample order maps');
    const text = mapped.kind === 'mapped' ? mapped.text : '{}';
    const c = openBusinessCentral({ settings, secret: resolveSecret, system: 'bench/business-central' });
    const { ok, ms, cpuUs } = await timedWrites(c, 'salesOrder', n, 100, (i) => ({
      key: `bench-alone-${i}`,
      record: JSON.parse(text) as Record<string, unknown>,
      text,
    }));
    check(ok === n, `the connector wrote every order (${int(ok)} of ${int(n)})`);
    say(
      `  connector alone: ${int(n)} orders in ${(ms / 1000).toFixed(1)} s, ${int(n / (ms / 1000))} orders/s; connector CPU ${(cpuUs / n).toFixed(0)} µs per order (${(cpuUs / 1e6).toFixed(1)} CPU s)`,
    );

    // 2. End to end: one rsync worker (this process) works the backfill from PostgreSQL through the mapping.
    const { db, pool } = await fresh('bench_business_central');
    try {
      process.env.RSYNC_BENCH_DB = db.url;
      const dir = await shopOrdersWorkspace(pool, 'rsync-bench-bc-', n, {
        connections: [{ name: 'erp', connector: 'business-central', settings }],
        target: { connection: 'erp', entity: 'salesOrder' },
      });
      // timedOrdersBackfill counts erp_orders; the orders go to Business Central, counted by the fake instead.
      await pool.query(`CREATE TABLE erp_orders (key text PRIMARY KEY)`);
      const before = (await stats()).orders;
      const to = new Date(TO.getTime() + 1000);
      const {
        ms: e2eMs,
        counts,
        cpuLine,
      } = await timedOrdersBackfill(pool, db.url, dir, to, (to.getTime() - FROM.getTime()) / 4, n);
      const after = await stats();
      say(
        `  end to end: ${int(n)} orders in ${(e2eMs / 1000).toFixed(1)} s: ${int(n / (e2eMs / 1000))} orders/s posted`,
      );
      say(cpuLine);
      say(
        `  runs: read ${int(counts.read)}, written ${int(counts.written)}, filtered ${int(counts.filtered)}, dead ${int(counts.dead)}; sales orders created ${int(after.orders - before)}, created twice ${after.twice}`,
      );
      check(
        counts.read === n && after.orders - before === n && after.twice === 0 && counts.dead === 0,
        'every order posted once',
      );
    } finally {
      await pool.end();
      await db.drop();
    }
  } finally {
    await fake.stop();
  }
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  const m = machine();
  say('rsync runtime benchmark');
  say(
    `machine:   ${m.cpu}, ${m.cores} cores, ${m.memGiB.toFixed(1)} GiB RAM, ${m.os}, node ${m.node}; PostgreSQL on the same machine (${process.env.DATABASE_URL ? 'DATABASE_URL' : 'embedded'})`,
  );
  say(
    `load:      load average ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' / ')}`,
  );
  say();
  const parts: [string, (a: Args) => Promise<void>][] = [
    ['e2e', e2e],
    ['webhook', webhook],
    ['backfill', backfill],
    ['crash', crash],
    ['workers', workers],
    ['json', json],
    ['invariants', invariants],
    ['shopify', shopify],
    ['avalara', avalara],
    ['netsuite', netsuite],
    ['business-central', businessCentral],
    [
      'metrics',
      async (x) => {
        if (!(await metricsScrape({ customers: x.metricsCustomers, runs: 5, scrapes: 20 }, say))) failed = true;
      },
    ],
    [
      'console',
      async () => {
        if (!(await consoleBench({ flows: 10_000, say }))) failed = true;
      },
    ],
    [
      'fairshare',
      async () => {
        if (!(await fairShareBench({ records: 200_000, rate: 10, seconds: 20 }, say))) failed = true;
      },
    ],
    [
      'throttle',
      async (x) => {
        if (!(await steadyThrottle({ seconds: x.secondsGiven ?? 120, vendors: x.vendors }, say))) failed = true;
      },
    ],
  ];
  for (const [name, fn] of parts) {
    if (!a.only.has(name)) continue;
    await fn(a);
    say();
  }
  if (failed) process.exit(1);
}

main().catch((e: unknown) => {
  process.stderr.write(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
