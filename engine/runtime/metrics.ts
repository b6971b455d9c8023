/**
 * `GET /metrics` on the worker's port: Prometheus's text format (version 0.0.4), with prom-client's content type.
 *
 * Two kinds of figure, kept apart on purpose:
 *  - the fleet's (records by outcome, runs by result and duration, retries and throttles, lag, dead letters, queue
 *    depth, live workers) are read from PostgreSQL at scrape time, one snapshot per scrape (engine/state/metrics.ts:
 *    a few aggregate queries, a row per flow at most), and written in the text format from it. Every worker's scrape
 *    tells the same truth and a restarted worker loses nothing: sum them over `env`, never over instances;
 *  - this process's own (webhook requests by result, page durations, event latency, prom-client's process metrics)
 *    are prom-client's Counter and Histogram in its registry, counted in memory as Prometheus's clients do: they
 *    start at zero with the process, and summing over instances gives the fleet.
 *
 * Labels are bounded: env, customer, flow (the flow's name; dropped with `byFlow: false`, the figures then summed
 * per customer in PostgreSQL), connection (the connection's name), outcome, result, health, state, queue.
 * Never a record's key, a run's id or a delivery's id.
 */
import type pg from 'pg';
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import { queuedJobs } from '../live/read.js';
import { lastRuns, openWork, retryTotals, runDurations, runTotals, type TotalsRow } from '../state/metrics.js';
import { latestReconciliations } from '../state/reconciliations.js';
import { liveWorkers } from '../state/workers.js';
import type { FlowDef } from './flows.js';
import { RECONCILIATION_METRICS } from './reconcile/metrics.js';
import type { WebhookResult } from './server.js';
import { healthOf, lagOf } from './status.js';
import { usageToday } from '../state/quotas.js';
import { quotaFigures } from './quotas.js';

type Queryable = Pick<pg.Pool, 'query'>;

export interface MetricsOptions {
  db: Queryable;
  env: string;
  /** The deployed flows (the worker's: what it loaded at the deployed state's version). */
  flows: () => Iterable<FlowDef>;
  /** Carry the `flow` label (default true); false sums per customer (see the README's cardinality table). */
  byFlow?: boolean;
}

/** What the runtime tells the metrics of its own work (RuntimeContext.metrics). */
export interface RunMetrics {
  /** A page of `flow` was committed, `seconds` after its records were in hand. */
  page(flow: FlowDef, seconds: number): void;
  /** Deliveries of `flow` were confirmed by its target, each `seconds` after it was received. */
  delivered(flow: FlowDef, seconds: number[]): void;
}

const RESULTS = ['succeeded', 'failed', 'interrupted'] as const;
const OUTCOMES = ['written', 'unchanged', 'filtered', 'dead'] as const;

/** An address's customer and flow name: `<customer>/flow/<name>`. */
function parts(address: string): { customer: string; flow: string } {
  const [customer, , flow] = address.split('/');
  return { customer: customer ?? '', flow: flow ?? address };
}

interface Snapshot {
  totals: Awaited<ReturnType<typeof runTotals>>;
  retries: Awaited<ReturnType<typeof retryTotals>>;
  durations: Awaited<ReturnType<typeof runDurations>>;
  last: Awaited<ReturnType<typeof lastRuns>>;
  open: Awaited<ReturnType<typeof openWork>>;
  jobs: Awaited<ReturnType<typeof queuedJobs>>;
  workers: number;
  reconciliations: Awaited<ReturnType<typeof latestReconciliations>>;
  /** Today's use of the quotas (runtime/quotas.ts), by scope. */
  quota: Map<string, number>;
  at: number;
  /** Computed from the rest once, for the three metrics that show it. */
  health?: { lag: Series[]; objective: Series[]; flows: Series[] };
}

export class WorkerMetrics implements RunMetrics {
  readonly registry = new Registry();
  private readonly byFlow: boolean;
  private readonly webhooks: Counter;
  private readonly pages: Histogram;
  private readonly latency: Histogram;
  private pending?: Promise<Snapshot>;
  private readonly fleet: {
    name: string;
    help: string;
    type: 'counter' | 'gauge' | 'histogram';
    of: (s: Snapshot) => Series[];
  }[] = [];

  constructor(private readonly o: MetricsOptions) {
    this.byFlow = o.byFlow ?? true;
    const r = [this.registry];
    const flowLabels = this.byFlow ? ['env', 'customer', 'flow'] : ['env', 'customer'];
    collectDefaultMetrics({ register: this.registry, prefix: 'rsync_worker_' });

    // ---- this process
    this.webhooks = new Counter({
      name: 'rsync_webhook_deliveries_total',
      help: 'Webhook requests this worker answered, by result (accepted, duplicate, bad_signature, wrong_topic, too_large, too_slow, unsupported_media_type, over_concurrency, …).',
      labelNames: [...flowLabels, 'result'],
      registers: r,
    });
    this.pages = new Histogram({
      name: 'rsync_page_duration_seconds',
      help: 'Time to map, check, write and commit one page of records, in this worker.',
      labelNames: ['env', 'customer'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: r,
    });
    this.latency = new Histogram({
      name: 'rsync_event_latency_seconds',
      help: 'Webhook delivery received to target confirmed (its page committed), for the deliveries this worker confirmed.',
      labelNames: ['env', 'customer'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
      registers: r,
    });

    // ---- the fleet, from PostgreSQL at scrape time: each turns the scrape's snapshot into series, written in the
    // text format here (through prom-client's Counter and Gauge, which hash every label set, and its registry's
    // formatting, 100,000 series of 10,000 flows took over a second on 2 cores).
    const env = o.env;
    const byFlow = this.byFlow;
    const fleet = (
      name: string,
      help: string,
      type: 'counter' | 'gauge' | 'histogram',
      of: (s: Snapshot) => Series[],
    ) => this.fleet.push({ name, help, type, of });
    const labelsOf = (key: string): string => L(byFlow ? { env, ...parts(key) } : { env, customer: key });
    /** One series per group and column of rsync.run_totals, the column's name as `label`. */
    const totals = (label: string, columns: readonly (keyof TotalsRow)[]) => (s: Snapshot) =>
      s.totals.flatMap((t) => {
        const p = labelsOf(t.key);
        return columns.map((c) => ({ labels: `${p},${label}="${c}"`, value: Number(t[c]) }));
      });
    fleet(
      'rsync_records_total',
      'Records read by flow runs, by what became of them (written, unchanged, filtered, dead): every record is exactly one.',
      'counter',
      totals('outcome', OUTCOMES),
    );
    fleet(
      'rsync_runs_total',
      'Finished runs, by result (succeeded, failed, interrupted).',
      'counter',
      totals('result', RESULTS),
    );
    fleet('rsync_runs_running', 'Runs in progress.', 'gauge', (s) =>
      summed(
        s.totals
          .filter((t) => t.running)
          .map((t) => ({ labels: L({ env, customer: byFlow ? parts(t.key).customer : t.key }), value: t.running })),
      ),
    );
    fleet('rsync_run_duration_seconds', 'Duration of finished runs, started to finished.', 'histogram', (s) =>
      s.durations.rows.flatMap((h) =>
        histogram('rsync_run_duration_seconds', L({ env, customer: h.customer }), s.durations.bounds, h),
      ),
    );
    const perConnection = (pick: 'Retries' | 'Throttles') => (s: Snapshot) => {
      const flows = new Map([...o.flows()].map((f) => [f.address, f]));
      return summed(
        s.retries.flatMap((t) => {
          const f = flows.get(t.address);
          const customer = parts(t.address).customer;
          return [
            { labels: L({ env, customer, connection: f?.source.name ?? '' }), value: t[`read${pick}`] },
            { labels: L({ env, customer, connection: f?.target.name ?? '' }), value: t[`write${pick}`] },
          ].filter((x) => x.value > 0);
        }),
      );
    };
    fleet(
      'rsync_retries_total',
      'Back-off waits before another attempt, by the connection read from or written to.',
      'counter',
      perConnection('Retries'),
    );
    fleet(
      'rsync_throttles_total',
      'Of those, the waits the system asked for (429 or 503 with Retry-After), by connection.',
      'counter',
      perConnection('Throttles'),
    );
    fleet(
      'rsync_flow_lag_seconds',
      byFlow
        ? "How far the flow's target is behind its source: since its last successful run (event flows: its oldest pending delivery)."
        : "The largest lag of the customer's flows: since a flow's last successful run (event flows: its oldest pending delivery).",
      'gauge',
      (s) => this.health(s).lag,
    );
    if (byFlow)
      fleet(
        'rsync_flow_freshness_objective_seconds',
        "The freshness the flow's SLA promises (compare with rsync_flow_lag_seconds).",
        'gauge',
        (s) => this.health(s).objective,
      );
    fleet(
      'rsync_flows',
      'Deployed, enabled flows by health: ok, late (lag beyond the SLA freshness), failing (the last run failed), idle (never ran).',
      'gauge',
      (s) => this.health(s).flows,
    );
    const open = (pick: (s: Snapshot) => Map<string, number>) => (s: Snapshot) =>
      summed(
        [...pick(s)].map(([address, n]) => ({
          labels: labelsOf(byFlow ? address : parts(address).customer),
          value: n,
        })),
      );
    fleet(
      'rsync_dead_letters_open',
      'Dead letters waiting for a replay or a discard.',
      'gauge',
      open((s) => s.open.deadLetters),
    );
    fleet(
      'rsync_deliveries_pending',
      "Webhook deliveries stored and not yet confirmed by the target (the event flows' queue).",
      'gauge',
      open((s) => new Map([...s.open.deliveries].map(([a, d]) => [a, d.n]))),
    );
    fleet(
      'rsync_backfill_windows_open',
      'Backfill windows not done yet.',
      'gauge',
      open((s) => s.open.windows),
    );
    fleet(
      'rsync_jobs',
      "pg-boss jobs of the environment's queues not finished yet (manual and scheduled runs), by state.",
      'gauge',
      (s) => s.jobs.map((j) => ({ labels: L({ env, queue: j.queue, state: j.state }), value: j.n })),
    );
    // Fair share (fairshare.ts, quotas.ts); runs in flight per customer are rsync_runs_running.
    const quotas = (pick: 'used' | 'limit') => (s: Snapshot) =>
      quotaFigures(o.flows(), s.quota).map((q) => ({ labels: L({ env, ...q.labels }), value: q[pick] }));
    fleet(
      'rsync_quota_used',
      "Today's (UTC) use of each daily quota: a customer's source records (quota=records), a connection's API calls (quota=api_calls).",
      'gauge',
      quotas('used'),
    );
    fleet(
      'rsync_quota_limit',
      'The daily quotas as applied (compare with rsync_quota_used).',
      'gauge',
      quotas('limit'),
    );
    fleet(
      'rsync_customer_concurrency_limit',
      'The most runs of a customer in flight at once, across all workers (compare with rsync_runs_running).',
      'gauge',
      () => {
        const seen = new Map<string, number>();
        for (const f of o.flows()) if (f.limits.concurrency) seen.set(f.customer, f.limits.concurrency);
        return [...seen].map(([customer, n]) => ({ labels: L({ env, customer }), value: n }));
      },
    );
    fleet('rsync_workers_live', 'Workers of the environment seen in the last 30 s.', 'gauge', (s) => [
      { labels: L({ env }), value: s.workers },
    ]);
    for (const m of RECONCILIATION_METRICS)
      fleet(m.name, m.help, 'gauge', (s) =>
        s.reconciliations.map((r) => ({
          labels: L({ env, customer: r.customer, reconciliation: r.name }),
          value: m.value(r),
        })),
      );
  }

  /** Per flow: its lag, its freshness objective, and the count of flows by health (computed once a snapshot). */
  private health(s: Snapshot): { lag: Series[]; objective: Series[]; flows: Series[] } {
    if (s.health) return s.health;
    const env = this.o.env;
    const lag: Series[] = [];
    const objective: Series[] = [];
    const flows: Series[] = [];
    const worst = new Map<string, number>();
    for (const f of this.o.flows()) {
      if (!f.enabled) continue;
      const last = s.last.get(f.address);
      const ran = !!last && (last.status !== null || last.running);
      const ms = lagOf(f, s.at, {
        ran,
        succeededAt: last?.succeededAt,
        pendingSince: s.open.deliveries.get(f.address)?.oldest,
      });
      const freshness = f.freshnessMs ?? null;
      flows.push({
        labels: L({ env, customer: f.customer, health: healthOf(last?.status, ran, ms, freshness) }),
        value: 1,
      });
      if (!this.byFlow) {
        if (ms !== null) worst.set(f.customer, Math.max(worst.get(f.customer) ?? 0, ms));
        continue;
      }
      const labels = L({ env, customer: f.customer, flow: f.name });
      if (ms !== null) lag.push({ labels, value: Math.max(0, ms) / 1000 });
      if (freshness !== null) objective.push({ labels, value: freshness / 1000 });
    }
    for (const [customer, ms] of worst) lag.push({ labels: L({ env, customer }), value: Math.max(0, ms) / 1000 });
    s.health = { lag, objective, flows: summed(flows) };
    return s.health;
  }

  /**
   * One snapshot of the fleet per scrape: the registry collects every metric at once (Promise.all), so the first
   * collect() starts the queries and the others wait for the same answer.
   */
  private snapshot(): Promise<Snapshot> {
    this.pending ??= this.read().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async read(): Promise<Snapshot> {
    const { db, env } = this.o;
    const [totals, retries, durations, last, open, jobs, workers, reconciliations, now, quota] = await Promise.all([
      runTotals(db, env, this.byFlow),
      retryTotals(db, env),
      runDurations(db, env),
      lastRuns(db, env),
      openWork(db, env),
      queuedJobs(db, env),
      liveWorkers(db, env),
      latestReconciliations(db, env),
      db.query<{ now: Date }>('SELECT now()'),
      usageToday(db, env),
    ]);
    return {
      totals,
      retries,
      durations,
      last,
      open,
      jobs,
      workers: workers.length,
      reconciliations,
      quota,
      at: now.rows[0].now.getTime(),
    };
  }

  /** Count a webhook request's result. */
  webhook(result: WebhookResult, flow?: FlowDef): void {
    const labels: Record<string, string> = { env: this.o.env, customer: flow?.customer ?? '', result };
    if (this.byFlow) labels.flow = flow?.name ?? '';
    this.webhooks.inc(labels);
  }

  page(flow: FlowDef, seconds: number): void {
    this.pages.observe({ env: this.o.env, customer: flow.customer }, seconds);
  }

  delivered(flow: FlowDef, seconds: number[]): void {
    for (const s of seconds) this.latency.observe({ env: this.o.env, customer: flow.customer }, Math.max(0, s));
  }

  /**
   * The scrape: this process's metrics from prom-client's registry, then the fleet's from one snapshot, in
   * Prometheus's text format (version 0.0.4) with the registry's content type.
   */
  async text(): Promise<{ contentType: string; body: string }> {
    const [own, s] = await Promise.all([this.registry.metrics(), this.snapshot()]);
    const out: string[] = [own];
    for (const m of this.fleet) {
      out.push(`# HELP ${m.name} ${escapeHelp(m.help)}\n# TYPE ${m.name} ${m.type}\n`);
      const lines: string[] = [];
      for (const x of m.of(s)) lines.push(`${x.metricName ?? m.name}{${x.labels}} ${formatValue(x.value)}`);
      if (lines.length) out.push(`${lines.join('\n')}\n`);
    }
    return { contentType: this.registry.contentType, body: out.join('') };
  }
}

type Labels = Record<string, string>;
interface Series {
  /** The labels as the text format writes them inside {}: `env="staging",customer="acme"` (L). */
  labels: string;
  value: number;
  /** A histogram's _bucket, _sum or _count (the metric's name otherwise). */
  metricName?: string;
}

/** Series with the same labels summed into one (a customer's flows, a connection's flows). */
function summed(series: Series[]): Series[] {
  const out = new Map<string, Series>();
  for (const x of series) {
    const k = x.labels;
    const had = out.get(k);
    if (had) had.value += x.value;
    else out.set(k, { ...x });
  }
  return [...out.values()];
}

/** The series of one histogram whose buckets PostgreSQL counted (`le[i]`: at or under `bounds[i]`). */
function histogram(
  name: string,
  labels: string,
  bounds: number[],
  h: { le: number[]; sum: number; count: number },
): Series[] {
  return [
    ...bounds.map((b, i) => ({
      labels: `${labels},le="${b}"`,
      value: Number(h.le[i] ?? 0),
      metricName: `${name}_bucket`,
    })),
    { labels: `${labels},le="+Inf"`, value: h.count, metricName: `${name}_bucket` },
    { labels, value: h.sum, metricName: `${name}_sum` },
    { labels, value: h.count, metricName: `${name}_count` },
  ];
}

const escapeHelp = (h: string) => h.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
const escapeLabel = (v: string) =>
  /[\\"\n]/.test(v) ? v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : v;

/** Labels as the text format writes them inside {}: `a="1",b="2"`, values escaped (\\, \", \n). */
function L(labels: Labels): string {
  let out = '';
  for (const k in labels) out += `${out ? ',' : ''}${k}="${escapeLabel(labels[k])}"`;
  return out;
}

const formatValue = (v: number) =>
  Number.isNaN(v)
    ? 'NaN'
    : v === Number.POSITIVE_INFINITY
      ? '+Inf'
      : v === Number.NEGATIVE_INFINITY
        ? '-Inf'
        : String(v);
