/**
 * live/ owns what rsync keeps in pg-boss: this layout (what plan compares and apply heals), reading the live
 * objects (read.ts), pg-boss itself (boss.ts) and the rsync_work channel (notify.ts). It imports nothing of rsync
 * above util/ and the layout's own types, and never touches rsync's tables (state/ does).
 *
 * How deployed flows map onto pg-boss objects. This is where rsync departs from "one pg-boss queue and one
 * schedule per flow":
 *
 * pg-boss 10 gives every queue its own partition table; creating one costs 11–20 ms here and slows as partitions
 * grow (measured: 500 queues in 6.7 s; 1,394 queues and 1,174 schedules took 28 s of a 10,000-flow apply). And a
 * pg-boss 10 schedule is keyed by its queue's name, so per-flow schedules would need per-flow queues. Instead:
 *
 *   - flows share a queue per environment and distinct retry settings — `rsync.<env>.r<retries>-d<delay>s-<exp|fixed>`
 *     — which carries the settings of the flows' policies (retry limit, delay, back-off) and a dead-letter queue
 *     `<queue>.dead`; a job carries its flow's address. Two policies with the same retry settings share a queue.
 *   - one pg-boss schedule per environment, `rsync.<env>.tick`, every minute (UTC): the worker then starts each
 *     scheduled flow whose own cron, in its own time zone, matches that minute.
 *
 * Plans still report drift per flow: a deleted tick schedule is drift for every scheduled flow, and apply heals it.
 */
import { DEFAULTS } from '../model/generated/defaults.js';
import { parseDuration } from '../util/duration.js';
import { isObject } from '../util/merge.js';

export interface QueueSettings {
  retryLimit: number;
  retryDelay: number;
  retryBackoff: boolean;
  expireInSeconds: number;
  deadLetter: string | null;
}

export interface ExpectedQueue {
  name: string;
  settings: QueueSettings;
  /** Deployed addresses it serves (flows, or the policy). */
  addresses: string[];
}

export interface ExpectedSchedule {
  name: string;
  cron: string;
  timezone: string;
  addresses: string[];
}

export interface ExpectedLive {
  queues: Map<string, ExpectedQueue>;
  schedules: Map<string, ExpectedSchedule>;
}

/** The part of a deployed resource this module reads. */
export interface DeployedLike {
  address: string;
  customer: string | null;
  kind: string;
  name: string;
  spec: Record<string, unknown>;
}

export interface LiveQueue {
  name: string;
  retryLimit: number;
  retryDelay: number;
  retryBackoff: boolean;
  expireInSeconds: number;
  deadLetter: string | null;
}

export interface LiveSchedule {
  name: string;
  cron: string;
  timezone: string;
}

export interface LiveState {
  queues: LiveQueue[];
  schedules: LiveSchedule[];
}

export const QUEUE_PREFIX = 'rsync.';
const DEFAULT_EXPIRE_SECONDS = 15 * 60;

/** The retry settings a flow's jobs run with (from its policy), as recorded in its deployed spec. */
export interface RetrySettings {
  retryLimit: number;
  retryDelay: number;
  retryBackoff: boolean;
}

/** The queue of flows with these retry settings: the name says them, so equal settings share one queue. */
export function retryQueueName(env: string, r: RetrySettings): string {
  return `${QUEUE_PREFIX}${env}.r${r.retryLimit}-d${r.retryDelay}s-${r.retryBackoff ? 'exp' : 'fixed'}`;
}

/** The per-minute schedule of an environment's scheduled flows. */
export function tickQueueName(env: string): string {
  return `${QUEUE_PREFIX}${env}.tick`;
}

export const TICK_CRON = '* * * * *';

/** pg-boss settings from a Policy spec: retry.maxAttempts counts the first attempt, pg-boss's retryLimit does not. */
export function queueSettings(
  policySpec: Record<string, unknown> | undefined,
  deadLetter: string | null,
): QueueSettings {
  const retry = isObject(policySpec?.retry) ? policySpec!.retry : {};
  const d = DEFAULTS.RetryPolicy;
  const attempts = typeof retry.maxAttempts === 'number' ? retry.maxAttempts : d.maxAttempts;
  const initialMs = parseDuration(retry.initial) ?? parseDuration(d.initial)!;
  return {
    retryLimit: Math.max(0, attempts - 1),
    retryDelay: Math.max(1, Math.round(initialMs / 1000)),
    retryBackoff: (typeof retry.backoff === 'string' ? retry.backoff : d.backoff) !== 'fixed',
    expireInSeconds: DEFAULT_EXPIRE_SECONDS,
    deadLetter,
  };
}

/**
 * How a live queue differs from the settings rsync wants, one `field have ≠ want` per setting (empty: it matches).
 * The planner reports these as drift and apply heals exactly these, so the two cannot disagree.
 */
export function queueDifferences(have: QueueSettings, want: QueueSettings): string[] {
  const out: string[] = [];
  if (have.retryLimit !== want.retryLimit) out.push(`retryLimit ${have.retryLimit} ≠ ${want.retryLimit}`);
  if (have.retryDelay !== want.retryDelay) out.push(`retryDelay ${have.retryDelay} ≠ ${want.retryDelay}`);
  if (have.retryBackoff !== want.retryBackoff) out.push(`retryBackoff ${have.retryBackoff} ≠ ${want.retryBackoff}`);
  if (have.expireInSeconds !== want.expireInSeconds)
    out.push(`expireInSeconds ${have.expireInSeconds} ≠ ${want.expireInSeconds}`);
  if ((have.deadLetter ?? null) !== want.deadLetter)
    out.push(`deadLetter ${have.deadLetter ?? 'none'} ≠ ${want.deadLetter ?? 'none'}`);
  return out;
}

/** A flow's retry settings from its deployed spec (`effective.retry`, written from its policy by the planner). */
export function flowRetry(flow: DeployedLike): RetrySettings {
  const eff = isObject(flow.spec.effective) ? flow.spec.effective : {};
  const r = isObject(eff.retry) ? eff.retry : {};
  const d = queueSettings(undefined, null);
  return {
    retryLimit: typeof r.retryLimit === 'number' ? r.retryLimit : d.retryLimit,
    retryDelay: typeof r.retryDelay === 'number' ? r.retryDelay : d.retryDelay,
    retryBackoff: typeof r.retryBackoff === 'boolean' ? r.retryBackoff : d.retryBackoff,
  };
}

/** Which queue and schedule a deployed flow uses (its spec carries its effective retry settings and schedule). */
export function flowRouting(
  env: string,
  flow: DeployedLike,
): { queue: string | null; schedule: { name: string; cron: string; timezone: string } | null } {
  const eff = isObject(flow.spec.effective) ? flow.spec.effective : {};
  const sched = isObject(eff.schedule) ? eff.schedule : null;
  return {
    queue: retryQueueName(env, flowRetry(flow)),
    schedule:
      sched && typeof sched.cron === 'string' ? { name: tickQueueName(env), cron: TICK_CRON, timezone: 'UTC' } : null,
  };
}

/** The queues and schedules that must exist for a set of deployed resources. */
export function expectedLive(env: string, deployed: Iterable<DeployedLike>): ExpectedLive {
  const flows: DeployedLike[] = [];
  for (const r of deployed) if (r.kind === 'flow') flows.push(r);
  const queues = new Map<string, ExpectedQueue>();
  const schedules = new Map<string, ExpectedSchedule>();
  for (const f of flows) {
    if (isObject(f.spec.spec) && f.spec.spec.enabled === false) continue;
    const route = flowRouting(env, f);
    if (route.queue) {
      let q = queues.get(route.queue);
      if (!q) {
        const dead = `${route.queue}.dead`;
        q = {
          name: route.queue,
          settings: { ...flowRetry(f), expireInSeconds: DEFAULT_EXPIRE_SECONDS, deadLetter: dead },
          addresses: [],
        };
        queues.set(route.queue, q);
        queues.set(dead, {
          name: dead,
          settings: {
            retryLimit: 0,
            retryDelay: 1,
            retryBackoff: false,
            expireInSeconds: DEFAULT_EXPIRE_SECONDS,
            deadLetter: null,
          },
          addresses: [],
        });
      }
      q.addresses.push(f.address);
      queues.get(`${route.queue}.dead`)!.addresses.push(f.address);
    }
    if (route.schedule) {
      let s = schedules.get(route.schedule.name);
      if (!s) {
        s = { ...route.schedule, addresses: [] };
        schedules.set(s.name, s);
        queues.set(s.name, {
          name: s.name,
          settings: { retryLimit: 0, retryDelay: 1, retryBackoff: false, expireInSeconds: 300, deadLetter: null },
          addresses: [],
        });
      }
      s.addresses.push(f.address);
      queues.get(s.name)!.addresses.push(f.address);
    }
  }
  return { queues, schedules };
}
