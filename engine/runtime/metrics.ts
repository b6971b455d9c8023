/**
 * `GET /metrics` on the worker's port: Prometheus's text format, from prom-client's registry.
 *
 * Two kinds of figure, kept apart on purpose:
 *  - the fleet's (records by outcome, runs by result and duration, retries and throttles, lag, dead letters, queue
 *    depth, live workers) are read from PostgreSQL at scrape time, in collect() callbacks that share one snapshot
 *    per scrape (engine/state/metrics.ts: a few aggregate queries, a row per flow at most). Every worker's scrape
 *    tells the same truth and a restarted worker loses nothing: sum them over `env`, never over instances;
 *  - this process's own (webhook requests by result, page durations, event latency) are counted in memory, as
 *    Prometheus's clients do: they start at zero with the process, and summing over instances gives the fleet.
 *
 * Labels are bounded: env, customer, flow (the flow's name; dropped with `flows: false`, the figures then summed
 * per customer in PostgreSQL), connection (the connection's name), outcome, result, health, state, queue, stage.
 * Never a record's key, a run's id or a delivery's id.
 */
import type pg from 'pg';
import { Counter, collectDefaultMetrics, Gauge, Histogram, type Metric, Registry } from 'prom-client';
import { queuedJobs } from '../live/read.js';
import { lastRuns, openWork, retryTotals, runDurations, runTotals, type TotalsRow } from '../state/metrics.js';
import { liveWorkers } from '../state/workers.js';
import type { FlowDef } from './flows.js';
import type { WebhookResult } from './server.js';
import { healthOf, lagOf } from './status.js';

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
  at: number;
}

export class WorkerMetrics implements RunMetrics {
  readonly registry = new Registry();
  private readonly byFlow: boolean;
  private readonly webhooks: Counter;
  private readonly pages: Histogram;
  private readonly latency: Histogram;
  private pending?: Promise<Snapshot>;

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

    // ---- the fleet, from PostgreSQL at scrape time
    const env = o.env;
    const snap = () => this.snapshot();
    const byFlow = this.byFlow;
    const labelsOf = (key: string) => (byFlow ? { env, ...parts(key) } : { env, customer: key });
    /** A counter of rsync.run_totals' columns `values`, one series per group and value, the value as `label`. */
    const totalsCounter = (name: string, help: string, label: string, values: readonly (keyof TotalsRow)[]) =>
      new Counter({
        name,
        help,
        labelNames: [...flowLabels, label],
        registers: r,
        async collect() {
          const s = await snap();
          this.reset();
          for (const t of s.totals) for (const v of values) this.inc({ ...labelsOf(t.key), [label]: v }, Number(t[v]));
        },
      });
    totalsCounter(
      'rsync_records_total',
      'Records read by flow runs, by what became of them (written, unchanged, filtered, dead): every record is exactly one.',
      'outcome',
      OUTCOMES,
    );
    totalsCounter('rsync_runs_total', 'Finished runs, by result (succeeded, failed, interrupted).', 'result', RESULTS);
    new Gauge({
      name: 'rsync_runs_running',
      help: 'Runs in progress.',
      labelNames: ['env', 'customer'],
      registers: r,
      async collect() {
        const s = await snap();
        this.reset();
        for (const t of s.totals) if (t.running) this.inc({ env, customer: labelsOf(t.key).customer }, t.running);
      },
    });
    this.registry.registerMetric(
      dbHistogram('rsync_run_duration_seconds', 'Duration of finished runs, started to finished.', async () => {
        const { bounds, rows } = (await snap()).durations;
        return rows.map((x) => ({
          labels: { env, customer: x.customer },
          bounds,
          le: x.le,
          sum: x.sum,
          count: x.count,
        }));
      }) as unknown as Metric,
    );
    const connectionCounter = (name: string, help: string, pick: 'Retries' | 'Throttles') =>
      new Counter({
        name,
        help,
        labelNames: ['env', 'customer', 'connection'],
        registers: r,
        collect: async function (this: Counter) {
          const s = await snap();
          this.reset();
          const flows = new Map([...o.flows()].map((f) => [f.address, f]));
          for (const t of s.retries) {
            const f = flows.get(t.address);
            const customer = parts(t.address).customer;
            const read = t[`read${pick}`];
            const write = t[`write${pick}`];
            if (read) this.inc({ env, customer, connection: f?.source.name ?? '' }, read);
            if (write) this.inc({ env, customer, connection: f?.target.name ?? '' }, write);
          }
        },
      });
    connectionCounter(
      'rsync_retries_total',
      'Back-off waits before another attempt, by the connection read from or written to.',
      'Retries',
    );
    connectionCounter(
      'rsync_throttles_total',
      'Of those, the waits the system asked for (429 or 503 with Retry-After), by connection.',
      'Throttles',
    );
    const lag = new Gauge({
      name: 'rsync_flow_lag_seconds',
      help: byFlow
        ? "How far the flow's target is behind its source: since its last successful run (event flows: its oldest pending delivery)."
        : "The largest lag of the customer's flows: since a flow's last successful run (event flows: its oldest pending delivery).",
      labelNames: flowLabels,
      registers: r,
    });
    const objective = byFlow
      ? new Gauge({
          name: 'rsync_flow_freshness_objective_seconds',
          help: "The freshness the flow's SLA promises (compare with rsync_flow_lag_seconds).",
          labelNames: flowLabels,
          registers: r,
        })
      : undefined;
    new Gauge({
      name: 'rsync_flows',
      help: 'Deployed, enabled flows by health: ok, late (lag beyond the SLA freshness), failing (the last run failed), idle (never ran).',
      labelNames: ['env', 'customer', 'health'],
      registers: r,
      collect: async function (this: Gauge) {
        const s = await snap();
        this.reset();
        lag.reset();
        objective?.reset();
        const worst = new Map<string, number>();
        for (const f of o.flows()) {
          if (!f.enabled) continue;
          const last = s.last.get(f.address);
          const ran = !!last && (last.status !== null || last.running);
          const ms = lagOf(f, s.at, {
            ran,
            succeededAt: last?.succeededAt,
            pendingSince: s.open.deliveries.get(f.address)?.oldest,
          });
          const freshness = f.freshnessMs ?? null;
          this.inc({ env, customer: f.customer, health: healthOf(last?.status, ran, ms, freshness) });
          if (!byFlow) {
            if (ms !== null) worst.set(f.customer, Math.max(worst.get(f.customer) ?? 0, ms));
            continue;
          }
          const labels = { env, customer: f.customer, flow: f.name };
          if (ms !== null) lag.set(labels, Math.max(0, ms) / 1000);
          if (objective && freshness !== null) objective.set(labels, freshness / 1000);
        }
        for (const [customer, ms] of worst) lag.set({ env, customer }, Math.max(0, ms) / 1000);
      },
    });
    const openGauge = (name: string, help: string, pick: (s: Snapshot) => Map<string, number>) =>
      new Gauge({
        name,
        help,
        labelNames: flowLabels,
        registers: r,
        collect: async function (this: Gauge) {
          const s = await snap();
          this.reset();
          for (const [address, n] of pick(s)) {
            const p = parts(address);
            this.inc(byFlow ? { env, ...p } : { env, customer: p.customer }, n);
          }
        },
      });
    openGauge('rsync_dead_letters_open', 'Dead letters waiting for a replay or a discard.', (s) => s.open.deadLetters);
    openGauge(
      'rsync_deliveries_pending',
      "Webhook deliveries stored and not yet confirmed by the target (the event flows' queue).",
      (s) => new Map([...s.open.deliveries].map(([a, d]) => [a, d.n])),
    );
    openGauge('rsync_backfill_windows_open', 'Backfill windows not done yet.', (s) => s.open.windows);
    new Gauge({
      name: 'rsync_jobs',
      help: "pg-boss jobs of the environment's queues not finished yet (manual and scheduled runs), by state.",
      labelNames: ['env', 'queue', 'state'],
      registers: r,
      async collect() {
        const s = await snap();
        this.reset();
        for (const j of s.jobs) this.set({ env, queue: j.queue, state: j.state }, j.n);
      },
    });
    new Gauge({
      name: 'rsync_workers_live',
      help: 'Workers of the environment seen in the last 30 s.',
      labelNames: ['env'],
      registers: r,
      async collect() {
        this.set({ env }, (await snap()).workers);
      },
    });
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
    const [totals, retries, durations, last, open, jobs, workers, now] = await Promise.all([
      runTotals(db, env, this.byFlow),
      retryTotals(db, env),
      runDurations(db, env),
      lastRuns(db, env),
      openWork(db, env),
      queuedJobs(db, env),
      liveWorkers(db, env),
      db.query<{ now: Date }>('SELECT now()'),
    ]);
    return { totals, retries, durations, last, open, jobs, workers: workers.length, at: now.rows[0].now.getTime() };
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

  /** The scrape: every metric in Prometheus's text format, with the registry's content type. */
  async text(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

/** A histogram whose buckets PostgreSQL counted (prom-client's Histogram only observes): a registry metric. */
function dbHistogram(
  name: string,
  help: string,
  read: () => Promise<{ labels: Record<string, string>; bounds: number[]; le: number[]; sum: number; count: number }[]>,
) {
  return {
    name,
    help,
    type: 'histogram' as const,
    aggregator: 'sum' as const,
    reset() {},
    async get() {
      const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
      for (const h of await read()) {
        h.bounds.forEach((b, i) =>
          values.push({ labels: { ...h.labels, le: b }, value: Number(h.le[i] ?? 0), metricName: `${name}_bucket` }),
        );
        values.push({ labels: { ...h.labels, le: '+Inf' }, value: h.count, metricName: `${name}_bucket` });
        values.push({ labels: h.labels, value: h.sum, metricName: `${name}_sum` });
        values.push({ labels: h.labels, value: h.count, metricName: `${name}_count` });
      }
      return { name, help, type: 'histogram' as const, values, aggregator: 'sum' as const };
    },
  };
}
