/**
 * Fair share of the worker pool across customers, enforced on the database so that it holds across every worker:
 *
 *  - a customer's concurrency (`limits.concurrency`: customer.yaml, else rsync.yaml's defaults) is a cap of slots
 *    in rsync.slots named `customer:<env>/<customer>` (state/slots.ts: leased rows taken with SKIP LOCKED, renewed
 *    while the run lasts, freed when it ends, and back by themselves when a killed worker's lease runs out). Every
 *    run of the customer's flows — event, scheduled, manual, backfill window — holds one from before its run row is
 *    written until after it is closed, so its runs in flight (rsync.runs 'running') never exceed the limit;
 *  - what to start next is chosen fairly: event flows with pending deliveries by their customer's runs in flight
 *    (least first, then round robin), queued jobs by live/fair-fetch.ts (each customer's oldest first, in turn);
 *  - a backfill yields to event work: while another customer's deliveries or jobs wait, a worker runs at most one
 *    backfill window at a time (so a backfill is slowed, never starved), and claims its next window only then; and
 *    while another customer's webhook deliveries wait on this worker or its event runs are in flight here, a window
 *    reads its next page only once they are done, or after YIELD_MS (yieldToEvents): an event run then has the
 *    worker's cores and the database to itself, and waits behind one page at most;
 *  - a customer whose quota is reached (runtime/quotas.ts) starts nothing until it resets or is raised.
 *
 * One snapshot a turn of the worker's loop (refresh): runs in flight per customer, today's quota use, and who has
 * event work waiting; one query each.
 */
import type pg from 'pg';
import { type CustomerRoom, fetchFair, unfetch } from '../live/fair-fetch.js';
import { recordsScope, usageToday } from '../state/quotas.js';
import { ensureSlots, holdSlot, LEASE_MS, takeSlot } from '../state/slots.js';
import type { FlowDef } from './flows.js';
import { type QuotaReached, reachedOf } from './quotas.js';

/** Ends a run's hold on its customer's slot. */
export type Release = () => Promise<void>;

const none: Release = async () => {};

/** How often the customers with queued runs are asked (refresh). */
const JOBS_EVERY_MS = 1_000;

/** The longest a backfill's page waits for other customers' event work (yieldToEvents): slowed, never starved. */
export const YIELD_MS = 250;

/** Event runs started on this worker this recently count as event work going on (othersWaiting). */
const RECENT_EVENTS_MS = 2_000;

/** A delivery received on this worker counts as event work waiting for this long at most, unless a run starts. */
const DELIVERY_WAITS_MS = 1_000;

export class FairShare {
  private running = new Map<string, number>();
  private used = new Map<string, number>();
  private waiting = new Set<string>();
  /** The customers with runs queued, as last asked (refresh), and when. */
  private queuedBy: { customer: string }[] = [];
  private jobsAt = 0;
  private made = new Map<string, Promise<void>>();
  private holds = 0;
  /** When this worker last started a run of each customer (a sequence number): ties go to the longest unserved. */
  private served = new Map<string, number>();
  private serves = 0;
  /** This worker's event work per customer: runs in flight, and when a delivery for it was last received. */
  private events = new Map<string, number>();
  private delivered = new Map<string, number>();
  /** When an event run of each customer last started on this worker. */
  private lastEvent = new Map<string, number>();
  private eventsChanged: (() => void)[] = [];

  constructor(
    private readonly db: pg.Pool,
    private readonly env: string,
    private readonly holder: string,
  ) {}

  /**
   * The turn's snapshot: runs in flight per customer, quota use today, and which customers' event work waits:
   * `pendingFlows` (flows with pending deliveries) less the paused ones, and the customers with runs queued.
   */
  async refresh(pendingFlows: readonly string[], paused: ReadonlyMap<string, unknown>): Promise<void> {
    // The customers with queued runs are asked at most once a second: it reads pgboss.job across every retry
    // queue, and the loop turns up to ten times a second; a backfill's yield to them may be a second late.
    const now = Date.now();
    const askJobs = now - this.jobsAt >= JOBS_EVERY_MS;
    const [running, used, jobs] = await Promise.all([
      this.db.query<{ customer: string; n: number }>(
        `SELECT split_part(address, '/', 1) AS customer, count(*)::int AS n FROM rsync.runs
          WHERE status = 'running' AND env = $1 GROUP BY 1`,
        [this.env],
      ),
      usageToday(this.db, this.env),
      askJobs
        ? this.db
            .query<{ customer: string }>(
              `SELECT DISTINCT split_part(data->>'flow', '/', 1) AS customer FROM pgboss.job
                WHERE name LIKE $1 AND state < 'active' AND start_after < now() AND data ? 'flow'`,
              [`rsync.${this.env}.r%`],
            )
            .catch(() => ({ rows: [] as { customer: string }[] }))
        : Promise.resolve({ rows: this.queuedBy }),
    ]);
    if (askJobs) {
      this.jobsAt = now;
      this.queuedBy = jobs.rows;
    }
    this.running = new Map(running.rows.map((r) => [r.customer, r.n]));
    this.used = used;
    this.waiting = new Set([
      ...pendingFlows.filter((a) => !paused.has(a)).map((a) => a.split('/')[0]),
      ...jobs.rows.map((r) => r.customer),
    ]);
  }

  /** Runs of a customer in flight now, on every worker (as of the last refresh). */
  inFlight(customer: string): number {
    return this.running.get(customer) ?? 0;
  }

  /** A quota of the flow reached today (as of the last refresh). */
  quota(flow: FlowDef): QuotaReached | undefined {
    return reachedOf(flow, this.used);
  }

  /** A webhook delivery for a flow of `customer` was received on this worker: its event run is about to start. */
  deliveryReceived(customer: string): void {
    this.delivered.set(customer, Date.now());
  }

  /** An event run of `customer` starts on this worker; the function returned ends it. */
  eventRun(customer: string): () => void {
    this.delivered.delete(customer);
    this.lastEvent.set(customer, Date.now());
    this.events.set(customer, (this.events.get(customer) ?? 0) + 1);
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      const n = (this.events.get(customer) ?? 1) - 1;
      if (n > 0) this.events.set(customer, n);
      else this.events.delete(customer);
      for (const wake of this.eventsChanged.splice(0)) wake();
    };
  }

  /** Whether event work of a customer other than `customer` is in flight or waiting on this worker. */
  private othersEventing(customer: string): boolean {
    for (const c of this.events.keys()) if (c !== customer) return true;
    const now = Date.now();
    for (const [c, at] of this.delivered) {
      if (now - at > DELIVERY_WAITS_MS) this.delivered.delete(c);
      else if (c !== customer) return true;
    }
    return false;
  }

  /**
   * Before a backfill window of `customer` reads its next page: wait while another customer's event work is in
   * flight or waiting on this worker, `maxMs` at most (the backfill goes on after that, slowed but never starved).
   */
  async yieldToEvents(customer: string, maxMs = YIELD_MS): Promise<void> {
    const until = Date.now() + maxMs;
    while (this.othersEventing(customer)) {
      const left = until - Date.now();
      if (left <= 0) return;
      // Woken when an event run ends, or after 50 ms (a received delivery's mark expires, or its run starts).
      await new Promise<void>((resolve) => {
        const waiters = this.eventsChanged;
        const t = setTimeout(done, Math.min(left, 50));
        function done() {
          clearTimeout(t);
          const i = waiters.indexOf(done);
          if (i >= 0) waiters.splice(i, 1);
          resolve();
        }
        waiters.push(done);
      });
    }
  }

  /**
   * Whether a customer other than `customer` has event work waiting (deliveries, queued runs: the snapshot), in
   * flight on this worker, or had an event run start here in the last RECENT_EVENTS_MS: webhooks that come one at a
   * time are seldom caught waiting by a snapshot, yet a backfill's second window beside them takes the cores they need.
   */
  othersWaiting(customer: string): boolean {
    for (const c of this.waiting) if (c !== customer) return true;
    const since = Date.now() - RECENT_EVENTS_MS;
    for (const [c, at] of this.lastEvent) if (c !== customer && at >= since) return true;
    return this.othersEventing(customer);
  }

  /**
   * Candidates in fair order: their customer's runs in flight plus their place among its candidates, least first;
   * ties to the customer this worker served least recently (round robin).
   */
  order<T>(items: readonly T[], customerOf: (t: T) => string): T[] {
    const turn = new Map<string, number>();
    const keyed = items.map((t, i) => {
      const c = customerOf(t);
      const k = (turn.get(c) ?? 0) + 1;
      turn.set(c, k);
      return { t, i, rank: this.inFlight(c) + k, served: this.served.get(c) ?? 0 };
    });
    return keyed.sort((a, b) => a.rank - b.rank || a.served - b.served || a.i - b.i).map((x) => x.t);
  }

  /**
   * Admit a run of `flow`: null when its quota is reached or its customer has no free slot (on any worker); else the
   * release to call once the run is closed.
   */
  async admit(flow: FlowDef): Promise<Release | null> {
    if (this.quota(flow)) return null;
    const limit = flow.limits.concurrency;
    if (!limit) {
      this.served.set(flow.customer, ++this.serves);
      return none;
    }
    const name = `customer:${this.env}/${flow.customer}`;
    let ready = this.made.get(`${name}#${limit}`);
    if (!ready) {
      ready = ensureSlots(this.db, name, limit);
      this.made.set(`${name}#${limit}`, ready);
      ready.catch(() => this.made.delete(`${name}#${limit}`));
    }
    await ready;
    const holder = `${this.holder}#${++this.holds}`;
    const slot = await takeSlot(this.db, name, limit, holder, LEASE_MS);
    if (slot === null) return null;
    this.running.set(flow.customer, this.inFlight(flow.customer) + 1);
    this.served.set(flow.customer, ++this.serves);
    return holdSlot(this.db, name, slot, holder);
  }

  /** Room per customer of the deployed flows for the fair fetch (live/fair-fetch.ts). */
  rooms(flows: Iterable<FlowDef>): Map<string, CustomerRoom> {
    const out = new Map<string, CustomerRoom>();
    for (const f of flows) {
      if (out.has(f.customer)) continue;
      const limit = f.limits.concurrency;
      const inFlight = this.inFlight(f.customer);
      const records = f.limits.recordsPerDay;
      const reached = records !== undefined && (this.used.get(recordsScope(f.customer)) ?? 0) >= records;
      const room = reached ? 0 : limit ? Math.max(0, limit - inFlight) : undefined;
      out.set(f.customer, { inFlight, room, served: this.served.get(f.customer) ?? 0 });
    }
    return out;
  }

  /** Up to `n` jobs of a flows' queue, fairly (live/fair-fetch.ts). */
  fetch(queue: string, n: number, flows: Iterable<FlowDef>): ReturnType<typeof fetchFair> {
    return fetchFair(this.db, queue, n, this.rooms(flows));
  }

  /** Put back a job whose customer turned out to have no room. */
  putBack(queue: string, id: string, delayMs: number): Promise<void> {
    return unfetch(this.db, queue, id, delayMs);
  }
}
