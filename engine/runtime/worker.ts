/**
 * `rsync worker`: works every applied flow of one environment, follows new applies live, serves the webhook
 * endpoint with /healthz and /readyz (server.ts), and drains on SIGTERM. This is the fetch/claim loop; the run
 * kinds it starts are page-loop.ts's.
 *
 * Where the work comes from:
 *  - pg-boss jobs (manual and scheduled runs) from the environment's retry queues, fetched by an own loop instead
 *    of `work()`: pg-boss 10's work() sleeps its polling interval after every batch, even a full one, which
 *    would bound throughput and latency. The loop fetches while there is work and free slots, and otherwise
 *    sleeps until a notification of new work (live/notify.ts: sent with every delivery, run request and
 *    backfill) or a short poll interval;
 *  - the per-minute tick schedule (`rsync.<env>.tick`): each tick starts the scheduled flows whose own cron, in
 *    their own time zone, matches that minute (a singleton key per flow and minute: one run however many workers);
 *  - webhook deliveries and backfill windows, straight from rsync's tables (SKIP LOCKED and advisory locks).
 * Several workers on several machines share one database: each piece of work is claimed by exactly one.
 * Applies are followed live: apply NOTIFYs `<env> *applied*` when it commits (and the deployed state's version is
 * polled every 2 s in case a notification was missed).
 */
import type http from 'node:http';
import { hostname } from 'node:os';
import type PgBoss from 'pg-boss';
import pg from 'pg';
import { redact } from '../connectors/secrets.js';
import { openBoss } from '../live/boss.js';
import { hasOpenWindows } from '../state/backfills.js';
import { deployedVersion } from '../state/deployments.js';
import { runBackfills } from './backfill.js';
import { loadFlows, type FlowDef } from './flows.js';
import { runEvents } from './events.js';
import { runIncremental } from './incremental.js';
import type { JobData } from './manual.js';
import {
  closeConnectors,
  type LogSink,
  type RunResult,
  type RuntimeContext,
  runEndFields,
  runLine,
  workerId,
} from './page-loop.js';
import { closeServer, type ServedWorker, type ServerLimits, type ServerStats, serve } from './server.js';
import { flowsWithDeliveries } from '../state/deliveries.js';
import { databaseNow, interruptOrphanedRuns, interruptRunsOf } from '../state/runs.js';
import { claimMinutes } from '../state/ticks.js';
import { isPaused, pausedFlows } from '../state/pauses.js';
import { scheduledStarts } from './schedule-starts.js';
import {
  forgetGoneWorkers,
  liveWorkerCount,
  removeWorker,
  upsertWorker,
  WORKER_APP,
  workerSeen,
} from '../state/workers.js';
import { Mapper } from './mapping/mapper.js';
import { evaluateSlas, type SlaEvaluation } from './sla.js';
import { WorkerMetrics } from './metrics.js';
import { tickQueueName } from '../live/layout.js';
import { APPLIED, listenForWork } from '../live/notify.js';
import { AlertLoop } from './alerts/index.js';
import { type PurgeReport, purgeRetention, purgeSummary } from './retention.js';
import { ReconcileLoop } from './reconcile/loop.js';
import { RolloutLoop } from '../rollout/loop.js';
import { FairShare } from './fairshare.js';
import { describeQuota } from './quotas.js';

export interface WorkerOptions {
  pool: pg.Pool;
  /** Connection URL of the state database (for the LISTEN connection). */
  url: string;
  env: string;
  /** Port of the webhook and health endpoint; 0 picks a free one; null serves none. */
  port?: number | null;
  host?: string;
  /** Which connections the sandbox serves: all (true), none (false, the default), or the systems picked. */
  sandbox?: RuntimeContext['sandbox'];
  /** Settings laid over connections' deployed settings at run time, by system (RuntimeContext.settings). */
  settings?: RuntimeContext['settings'];
  /** Runs in flight at once in this worker (default 4). */
  concurrency?: number;
  /** Mapping threads (default: one per core). */
  threads?: number;
  /** Poll interval when no NOTIFY arrives (default 1 s). */
  pollMs?: number;
  /**
   * False: this worker takes no tick jobs (the minute's schedules are started by other workers, or by a test
   * calling tick() itself with the times it chooses). Default true.
   */
  ticks?: boolean;
  /**
   * How often the worker evaluates the environment's SLAs (runtime/sla.ts; one worker at a time, the others skip),
   * in milliseconds; default 30 s; 0 evaluates none.
   */
  slaEveryMs?: number;
  /** Called after each SLA evaluation this worker made, with the breaches it opened and closed (the alerts). */
  onSla?: (e: SlaEvaluation) => void | Promise<void>;
  /** How often the worker purges what the policies' retention no longer keeps (runtime/retention.ts), in ms; default 1 h; 0: never. */
  retentionEveryMs?: number;
  /** The webhook server's bounds (server.ts DEFAULT_LIMITS). */
  limits?: Partial<ServerLimits>;
  /** Endpoints served beside the webhooks (server.ts ServedWorker.route): `rsync worker --sync`'s POST /hooks/git. */
  route?: ServedWorker['route'];
  /** How often this worker evaluates the alerts (alerts/index.ts; default 30 s); 0: never. */
  alertIntervalMs?: number;
  /** How often this worker looks for due Reconciliation checks (reconcile/loop.ts; default 30 s); 0: never. */
  reconcileIntervalMs?: number;
  /** How often this worker advances the environment's rollouts (rollout/loop.ts; default 10 s); 0: never. */
  rolloutIntervalMs?: number;
  /** Whether `/metrics` labels figures by flow (default true) or sums them per customer (metrics.ts). */
  metricsByFlow?: boolean;
  /** The worker's log: each line with its fields (level; a run's address, id and trace: page-loop.ts LogFields). */
  log?: LogSink;
  /** Serves the paths the webhook server does not own (`--console`): given the worker's runtime context. */
  otherPaths?: (rt: RuntimeContext) => (req: http.IncomingMessage, res: http.ServerResponse) => void;
}

export class RsyncWorker {
  readonly id = workerId();
  private flows = new Map<string, FlowDef>();
  private version = '';
  private boss?: PgBoss;
  private listener?: pg.Client;
  private server?: http.Server;
  private mapper: Mapper;
  private abort = new AbortController();
  private draining = false;
  private ready = false;
  private inflight = new Set<Promise<unknown>>();
  private eventRunners = new Map<string, number>();
  private backfillRunners = 0;
  /**
   * Work another worker holds (windows claimed, deliveries locked) still shows as open: after a runner came back
   * empty-handed, wait a poll interval before trying again instead of spinning on it.
   */
  private idleUntil = new Map<string, number>();
  private wakeup: (() => void) | null = null;
  private woken = false;
  private loop?: Promise<void>;
  private timers: NodeJS.Timeout[] = [];
  private alerts?: AlertLoop;
  private reconcile?: ReconcileLoop;
  private rollouts?: RolloutLoop;
  readonly rt: RuntimeContext;
  /** Totals since start, for the demo and `--json`. */
  readonly totals = { runs: 0, read: 0, written: 0, unchanged: 0, filtered: 0, dead: 0, failed: 0 };
  port: number | null = null;
  /** What the webhook server accepted and refused, by reason (undefined: it serves none). */
  webhooks?: ServerStats;
  /** `GET /metrics`: the fleet's figures from PostgreSQL, this worker's own in memory. */
  readonly metrics: WorkerMetrics;
  /** Customers' concurrency, fair order and quotas, across all workers (fairshare.ts). */
  private fair: FairShare;

  constructor(private o: WorkerOptions) {
    this.fair = new FairShare(o.pool, o.env, this.id);
    this.mapper = new Mapper(o.threads);
    this.metrics = new WorkerMetrics({
      db: o.pool,
      env: o.env,
      flows: () => this.flows.values(),
      byFlow: o.metricsByFlow,
    });
    this.rt = {
      metrics: this.metrics,
      db: o.pool,
      mapper: this.mapper,
      worker: this.id,
      sandbox: typeof o.sandbox === 'function' ? o.sandbox : !!o.sandbox,
      settings: o.settings,
      signal: this.abort.signal,
      stopping: () => this.draining,
      log: o.log,
      backfillYield: (flow) => this.fair.yieldToEvents(flow.customer),
    };
  }

  private get concurrency(): number {
    return this.o.concurrency ?? 4;
  }

  async start(): Promise<void> {
    const db = this.o.pool;
    await this.connectListener();
    await this.sweep();
    await this.countWorkers();
    await this.reload();
    this.boss = await openBoss(db, { worker: true });
    if (this.o.port !== null) {
      const served = await serve(
        {
          id: this.id,
          env: this.o.env,
          rt: this.rt,
          flow: (a) => this.flows.get(a),
          flowCount: () => this.flows.size,
          state: () => (this.draining ? 'draining' : this.offline ? 'reconnecting' : this.ready ? 'ready' : 'starting'),
          delivered: (flow) => {
            this.fair.deliveryReceived(flow.customer);
            this.idleUntil.delete(flow.address);
            this.wake();
          },
          counted: (result, flow) => this.metrics.webhook(result, flow),
          metrics: () => this.metrics.text(),
          route: this.o.route,
          otherPaths: this.o.otherPaths?.(this.rt),
        },
        this.o.port ?? 8787,
        this.o.host ?? '127.0.0.1',
        this.o.limits,
      );
      this.server = served.server;
      this.port = served.port;
      this.webhooks = served.stats;
    }
    this.timers.push(
      setInterval(() => void this.heartbeat(), 5_000),
      setInterval(() => void this.reload().catch(() => {}), 2_000),
    );
    const slaEvery = this.o.slaEveryMs ?? 30_000;
    if (slaEvery > 0) this.timers.push(setInterval(() => void this.evaluateSlas(), slaEvery));
    const retentionEvery = this.o.retentionEveryMs ?? 3_600_000;
    if (retentionEvery > 0) this.timers.push(setInterval(() => void this.purgeRetention(), retentionEvery));
    if (this.o.alertIntervalMs !== 0) {
      this.alerts = new AlertLoop({ pool: db, env: this.o.env, intervalMs: this.o.alertIntervalMs, log: this.o.log });
      this.alerts.start();
    }
    if (this.o.reconcileIntervalMs !== 0) {
      const [env, intervalMs, log] = [this.o.env, this.o.reconcileIntervalMs, this.o.log];
      this.reconcile = new ReconcileLoop({ rt: this.rt, env, intervalMs, log });
      this.reconcile.start();
    }
    if (this.o.rolloutIntervalMs !== 0) {
      const { pool, url, env, rolloutIntervalMs: intervalMs, log } = this.o;
      this.rollouts = new RolloutLoop({ pool, url, env, intervalMs, log });
      this.rollouts.start();
    }
    this.ready = true;
    this.loop = this.run();
  }

  /**
   * The LISTEN connection: it lives as long as the worker and carries its id as application_name, so a worker is
   * alive exactly while that connection is (a killed process's connections close with it). It is also how the
   * worker learns that PostgreSQL went away (restarted, killed): the connection ends, and the worker reconnects.
   */
  private async connectListener(): Promise<void> {
    const listener = new pg.Client({
      connectionString: this.o.url,
      application_name: `${WORKER_APP}${this.id}`.slice(0, 63),
    });
    listener.on('error', () => this.lost(listener));
    listener.on('end', () => this.lost(listener));
    try {
      await listener.connect();
      await upsertWorker(this.o.pool, {
        id: this.id,
        env: this.o.env,
        host: hostname(),
        pid: process.pid,
        backend: (listener as unknown as { processID: number }).processID ?? 0,
      });
      await listenForWork(listener, this.o.env, (what) => {
        if (what === APPLIED) {
          void this.reload().catch(() => {});
          return;
        }
        // New work for a flow (a delivery, a run, a backfill): whatever came back empty-handed may look again.
        if (what) this.idleUntil.delete(what);
        this.idleUntil.delete('backfill');
        this.wake();
      });
    } catch (e) {
      listener.removeAllListeners('end');
      listener.on('error', () => {});
      await listener.end().catch(() => {});
      throw e;
    }
    this.listener = listener;
  }

  /** Whether the worker is without its database (and so takes no work, and is not ready). */
  private offline = false;

  /** The LISTEN connection ended while the worker was not stopping: PostgreSQL went away. */
  private lost(listener: pg.Client): void {
    if (listener !== this.listener || this.draining) return;
    this.listener = undefined;
    this.offline = true;
    this.o.log?.('worker: lost the connection to PostgreSQL; not ready, reconnecting', { level: 'error' });
    void this.reconnect();
  }

  /**
   * Reconnect with back-off (0.25 s doubling to 10 s, with jitter) until PostgreSQL answers; then wait for the runs
   * that were in flight to end (their connections died with the server, so each fails at its next query and
   * commits nothing more), close those the lost connection left 'running', and take work again. What they had not
   * committed is read again: backfill windows and deliveries from their cursors and marks, by whichever worker
   * claims them first, and the ledger and the write ids make the repeat harmless.
   */
  private async reconnect(): Promise<void> {
    const since = Date.now();
    for (let attempt = 1; !this.draining; attempt++) {
      try {
        await this.connectListener();
        const at = await databaseNow(this.o.pool);
        this.offline = false;
        this.o.log?.(`worker: reconnected to PostgreSQL after ${((Date.now() - since) / 1000).toFixed(1)} s`);
        // Work resumes at once; the runs in flight at the loss end by themselves (a retry wait may take a while),
        // and then those of them whose end could not be recorded are closed.
        const before = [...this.inflight];
        void Promise.all(before)
          .then(() => interruptRunsOf(this.o.pool, this.id, at, 'the worker lost its connection to PostgreSQL'))
          .then(
            (closed) =>
              closed &&
              this.o.log?.(`worker: ${closed} run(s) cut off by the loss closed as interrupted`, { level: 'warn' }),
          )
          .catch(() => {});
        void this.reload().catch(() => {});
        this.wake();
        return;
      } catch {
        // A listener that connected before a later step failed is closed: the next attempt opens a new one.
        const half = this.listener;
        this.listener = undefined;
        await half?.end().catch(() => {});
        const wait = Math.min(250 * 2 ** (attempt - 1), 10_000) * (0.5 + Math.random() / 2);
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }

  private async heartbeat(): Promise<void> {
    await workerSeen(this.o.pool, this.id).catch(() => {});
    await this.sweep().catch(() => {});
    await this.countWorkers().catch(() => {});
  }

  /** The retention purge in progress (stop() waits for it; it stops between batches when the worker drains). */
  private purging?: Promise<PurgeReport | undefined>;

  /** Purge what the deployed flows' retention no longer keeps (unless another worker is at it). */
  purgeRetention(now?: Date): Promise<PurgeReport | undefined> {
    if (this.purging || this.offline || this.draining) return Promise.resolve(undefined);
    this.purging = purgeRetention(this.o.pool, this.o.env, this.flows.values(), {
      actor: `worker:${this.id}`,
      now,
      stopped: () => this.draining,
    })
      .then((r) => {
        if (!r.skipped && Object.values(r.deleted).some((n) => n > 0)) this.o.log?.(purgeSummary(r));
        return r;
      })
      .catch((e) => {
        this.o.log?.(`retention: purge failed: ${redact((e as Error).message)}`, { level: 'error' });
        return undefined;
      })
      .finally(() => {
        this.purging = undefined;
      });
    return this.purging;
  }

  /** The SLA evaluation in progress (stop() waits for it). */
  private evaluating?: Promise<SlaEvaluation | undefined>;

  /** Evaluate the environment's SLAs (unless another worker is at it), and hand the result to onSla. */
  evaluateSlas(now?: Date): Promise<SlaEvaluation | undefined> {
    if (this.evaluating || this.offline || this.draining) return Promise.resolve(undefined);
    const p = this.evaluate(now).finally(() => {
      this.evaluating = undefined;
    });
    this.evaluating = p;
    return p;
  }

  private async evaluate(now?: Date): Promise<SlaEvaluation | undefined> {
    try {
      const r = await evaluateSlas(this.o.pool, this.o.env, this.flows.values(), now);
      if (r.skipped) return r;
      for (const e of r.opened)
        this.o.log?.(
          `sla: ${e.address} ${e.objective} ${e.target} breached since ${e.startedAt.toISOString()}: ${e.cause ?? ''}`,
        );
      for (const e of r.closed)
        this.o.log?.(`sla: ${e.address} ${e.objective} ${e.target} met again at ${e.endedAt?.toISOString()}`);
      await this.o.onSla?.(r);
      return r;
    } catch (e) {
      this.o.log?.(`sla: evaluation failed: ${redact((e as Error).message)}`);
      return undefined;
    }
  }

  /** Live workers of the environment: backfill windows are shared fairly among them (see startBackfills). */
  private liveWorkers = 1;
  private countedAt = 0;
  private async countWorkers(): Promise<void> {
    this.countedAt = Date.now();
    this.liveWorkers = await liveWorkerCount(this.o.pool, this.o.env);
  }

  /** Runs and rows of workers that are gone (killed, or their machine died). */
  private async sweep(): Promise<void> {
    await interruptOrphanedRuns(this.o.pool, this.o.env);
    await forgetGoneWorkers(this.o.pool);
  }

  /** Follow applies: a new revision takes over for new jobs; running jobs keep the FlowDef they started with. */
  private async reload(): Promise<void> {
    const v = await deployedVersion(this.o.pool, this.o.env);
    if (v === this.version) return;
    this.flows = await loadFlows(this.o.pool, this.o.env);
    if (this.version) this.o.log?.(`deployed state changed: ${this.flows.size} flows`);
    this.version = v;
    // Compile each mapping in the threads now: the first webhook of a flow then waits for no compile.
    const seen = new Set<string>();
    for (const f of this.flows.values()) {
      if (!f.enabled || seen.has(f.mappingSha + f.key)) continue;
      seen.add(f.mappingSha + f.key);
      void this.mapper
        .warm({ mapping: f.mapping, key: f.key, params: f.params, canonical: f.canonical })
        .catch(() => {});
    }
    this.wake();
  }

  flow(address: string): FlowDef | undefined {
    return this.flows.get(address);
  }

  wake(): void {
    this.woken = true;
    this.wakeup?.();
  }

  private sleep(ms: number): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(t);
        self.wakeup = null;
        self.woken = false;
        resolve();
      }
      this.wakeup = done;
    });
  }

  private track<T>(p: Promise<T>): void {
    const q = p.then(
      () => {},
      (e) => this.o.log?.(`worker: ${redact((e as Error).message ?? String(e))}`, { level: 'error' }),
    );
    this.inflight.add(q);
    void q.finally(() => {
      this.inflight.delete(q);
      this.wake();
    });
  }

  private free(): number {
    return this.concurrency - this.inflight.size;
  }

  private async run(): Promise<void> {
    while (!this.draining) {
      if (this.offline) {
        await this.sleep(this.o.pollMs ?? 1000);
        continue;
      }
      let started = 0;
      try {
        const pending = await flowsWithDeliveries(this.o.pool, this.o.env);
        // A paused flow's deliveries stay stored; they run after `rsync resume` (its NOTIFY wakes the loop).
        const paused = pending.length ? await pausedFlows(this.o.pool, this.o.env, pending) : new Map();
        await this.fair.refresh(pending, paused);
        started += await this.startEvents(pending, paused);
        started += await this.startJobs();
        started += await this.startBackfills();
      } catch (e) {
        this.o.log?.(`worker: ${redact((e as Error).message)}`, { level: 'error' });
      }
      if (!started || this.free() <= 0) await this.sleep(this.o.pollMs ?? 1000);
    }
  }

  private count(r: RunResult): void {
    if (r.status === 'skipped') return;
    this.totals.runs++;
    this.totals.read += r.counts.read;
    this.totals.written += r.counts.written;
    this.totals.unchanged += r.counts.unchanged;
    this.totals.filtered += r.counts.filtered;
    this.totals.dead += r.counts.dead;
    if (r.status === 'failed') this.totals.failed++;
  }

  /** One event runner per flow with pending deliveries (several workers each run one: SKIP LOCKED splits them). */
  private async startEvents(flowsPending: string[], paused: ReadonlyMap<string, unknown>): Promise<number> {
    if (this.free() <= 0) return 0;
    let n = 0;
    // Fairly: the customers with fewest runs in flight first (fairshare.ts).
    const pending = this.fair.order(flowsPending, (a) => a.split('/')[0]);
    for (const address of pending) {
      if (this.free() <= 0) break;
      if (paused.has(address)) continue;
      if (this.eventRunners.get(address) || (this.idleUntil.get(address) ?? 0) > Date.now()) continue;
      const flow = this.flows.get(address);
      if (!flow?.enabled) continue;
      this.eventRunners.set(address, 1);
      // An admission that fails (the database) must not leave the flow marked as running: no runner would start again.
      const release = await this.fair.admit(flow).catch((e: unknown) => {
        this.eventRunners.delete(address);
        throw e;
      });
      if (!release) {
        this.eventRunners.delete(address);
        continue;
      }
      n++;
      const ended = this.fair.eventRun(flow.customer);
      this.track(
        runEvents(this.rt, flow)
          .then((r) => {
            if (r.status === 'skipped') this.idleUntil.set(address, Date.now() + (this.o.pollMs ?? 1000));
            this.report(flow, r);
          })
          .finally(() => {
            ended();
            this.eventRunners.delete(address);
            return release();
          }),
      );
    }
    return n;
  }

  private async startBackfills(): Promise<number> {
    // Each runner works one window at a time; a worker runs its share of them, so that one worker does not take
    // every concurrency slot of a backfill while the others wait.
    if (Date.now() - this.countedAt > 1000) await this.countWorkers();
    // While other customers' event work waits, a worker runs one window at a time (fairshare.ts).
    const fair = Math.max(1, Math.ceil((this.concurrency - 1) / this.liveWorkers));
    const share = this.fair.othersWaiting('') ? 1 : fair;
    if (this.free() <= 0 || this.backfillRunners >= share) return 0;
    if ((this.idleUntil.get('backfill') ?? 0) > Date.now()) return 0;
    if (!(await hasOpenWindows(this.o.pool, this.o.env))) return 0;
    const paused = await pausedFlows(this.o.pool, this.o.env);
    this.backfillRunners++;
    this.track(
      runBackfills(
        this.rt,
        this.o.env,
        (a) => (paused.has(a) ? undefined : this.flows.get(a)),
        (flow) =>
          this.fair.othersWaiting(flow.customer) && this.backfillRunners > 1
            ? Promise.resolve(null)
            : this.fair.admit(flow),
      )
        .then((worked) => {
          if (!worked) this.idleUntil.set('backfill', Date.now() + (this.o.pollMs ?? 1000));
        })
        .finally(() => {
          this.backfillRunners--;
        }),
    );
    return 1;
  }

  private queues(): string[] {
    const names = new Set<string>(this.o.ticks === false ? [] : [tickQueueName(this.o.env)]);
    for (const f of this.flows.values()) names.add(f.queue);
    return [...names];
  }

  private async startJobs(): Promise<number> {
    const boss = this.boss!;
    let n = 0;
    for (const queue of this.queues()) {
      const room = this.free();
      if (room <= 0) break;
      let jobs: PgBoss.Job<Record<string, unknown>>[];
      try {
        // The flows' queues are fetched fairly across customers (fairshare.ts); the tick's as pg-boss does.
        jobs =
          queue === tickQueueName(this.o.env)
            ? await boss.fetch<Record<string, unknown>>(queue, { batchSize: room })
            : ((await this.fair.fetch(queue, room, this.flows.values())) as PgBoss.Job<Record<string, unknown>>[]);
      } catch {
        continue; // the queue does not exist (yet): apply creates it
      }
      for (const job of jobs ?? []) {
        n++;
        if (queue === tickQueueName(this.o.env)) {
          this.track(this.tick().then(() => boss.complete(queue, job.id)));
          continue;
        }
        this.track(this.runJob(queue, job));
      }
    }
    return n;
  }

  private async runJob(queue: string, job: PgBoss.Job<Record<string, unknown>>): Promise<void> {
    const boss = this.boss!;
    const data = job.data as unknown as JobData;
    const flow = this.flows.get(String(data.flow));
    if (!flow?.enabled) {
      await boss.complete(queue, job.id, { skipped: flow ? 'the flow is disabled' : 'the flow is not deployed' });
      return;
    }
    const pause = await isPaused(this.o.pool, this.o.env, flow.address);
    if (pause) {
      await boss.complete(queue, job.id, { skipped: `the flow is paused (by ${pause.by} since ${pause.since})` });
      return;
    }
    const release = await this.fair.admit(flow);
    if (!release) {
      // No room after all (another worker took the customer's last slot), or a quota reached since the fetch: a
      // scheduled run under a quota is skipped (a later tick starts it again), any other is put back to wait.
      const quota = this.fair.quota(flow);
      if (quota && data.trigger === 'schedule') await boss.complete(queue, job.id, { skipped: describeQuota(quota) });
      else await this.fair.putBack(queue, job.id, quota ? 60_000 : (this.o.pollMs ?? 1000));
      return;
    }
    try {
      const r = await runIncremental(this.rt, flow, data.trigger === 'schedule' ? 'schedule' : 'manual');
      this.report(flow, r);
      if (r.status === 'failed') await boss.fail(queue, job.id, { run: r.run, error: r.reason ?? 'failed' });
      else await boss.complete(queue, job.id, { run: r.run, status: r.status, ...r.counts });
    } finally {
      await release();
    }
  }

  private report(flow: FlowDef, r: RunResult): void {
    this.count(r);
    if (r.status === 'skipped') return;
    this.o.log?.(runLine(flow, r), runEndFields(flow, r));
  }

  /** Queue a manual run of a flow (what `rsync run` does from another process). */
  async runNow(flow: FlowDef): Promise<string | null> {
    const id = await this.boss!.send(flow.queue, { flow: flow.address, trigger: 'manual' } satisfies JobData);
    this.wake();
    return id;
  }

  /**
   * The scheduled flows of every minute not started yet, up to `now` (the database's clock unless a test gives one),
   * each minute claimed once across all workers (state/ticks.ts): a worker's clock that jumps never starts a minute
   * twice, and minutes skipped by a jump forward are caught up (an hour at most). Public for tests.
   */
  async tick(now?: Date): Promise<void> {
    const at = now ?? (await databaseNow(this.o.pool));
    const claimed = await claimMinutes(this.o.pool, this.o.env, at);
    // A minute is started once; a gap no worker ticked starts each flow that fired in it once (schedule-starts.ts).
    const { starts, note } = scheduledStarts(
      this.flows.values(),
      claimed,
      at,
      await pausedFlows(this.o.pool, this.o.env),
    );
    if (note) this.o.log?.(note);
    for (const s of starts)
      await this.boss!.send(s.flow.queue, { flow: s.flow.address, trigger: 'schedule' } satisfies JobData, {
        singletonKey: s.key,
      });
    this.wake();
  }

  // ---------------------------------------------------------------------------------------- stopping

  /** Drain: stop taking work, let running jobs finish until the deadline, then interrupt them (resumable). */
  async stop(deadlineMs = 30_000): Promise<{ drained: boolean }> {
    if (this.draining) return { drained: true };
    this.draining = true;
    this.wake();
    await this.loop;
    const all = Promise.all([...this.inflight]);
    let timer: NodeJS.Timeout | undefined;
    const drained = await Promise.race([
      all.then(() => true),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), deadlineMs))),
    ]);
    clearTimeout(timer);
    if (!drained) {
      this.abort.abort();
      await Promise.race([all, new Promise((r) => setTimeout(r, 5_000))]);
    }
    for (const t of this.timers) clearInterval(t);
    await this.evaluating;
    await this.purging;
    await this.alerts?.stop();
    await this.reconcile?.stop();
    await this.rollouts?.stop();
    await closeServer(this.server);
    await this.boss?.stop({ graceful: false, close: false, wait: true }).catch(() => {});
    await this.listener?.end().catch(() => {});
    await this.mapper.close();
    await closeConnectors();
    await removeWorker(this.o.pool, this.id).catch(() => {});
    return { drained };
  }
}

export { cronMatches } from './schedule-starts.js';
