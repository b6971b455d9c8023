/**
 * How deployed flows map onto pg-boss objects. This is where rsync departs from "one pg-boss queue per flow":
 *
 * pg-boss 10 gives every queue its own partition table; creating one costs ~13 ms here and slows as partitions
 * grow, so 10,000 flows would take minutes to apply (measured: 500 queues in 6.7 s). And a pg-boss 10 schedule is
 * keyed by its queue's name, so per-flow schedules would need per-flow queues. Instead:
 *
 *   - one queue per environment and policy — `rsync.<env>.<policy>` (`rsync.<env>.<customer>.<policy>` for a
 *     customer's own policy) — with that policy's retry, back-off and dead-letter settings, and a dead-letter
 *     queue `<queue>.dead`; a flow's jobs go to its policy's queue and carry the flow's address;
 *   - one schedule per environment and distinct (cron, time zone) — queue and schedule `rsync.<env>.tick.<hash>`;
 *     when it fires, the worker enqueues every flow of the environment on that cron and zone.
 *
 * Plans still show schedules per flow and report drift per flow: a deleted tick schedule is drift for each
 * flow it serves, and apply heals it.
 */
import { hashOf } from '../util/hash.js';
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

export const QUEUE_PREFIX = 'rsync.';
const DEFAULT_EXPIRE_SECONDS = 15 * 60;

export function policyQueueName(env: string, policyAddress: string): string {
  // workspace/policy/standard → standard; northwind/policy/finance-grade → northwind.finance-grade
  const [scope, , name] = policyAddress.split('/');
  return `${QUEUE_PREFIX}${env}.${scope === 'workspace' ? name : `${scope}.${name}`}`;
}

export function tickQueueName(env: string, cron: string, timezone: string): string {
  return `${QUEUE_PREFIX}${env}.tick.${hashOf([cron, timezone]).slice(0, 12)}`;
}

/** pg-boss settings from a Policy spec: retry.maxAttempts counts the first attempt, pg-boss's retryLimit does not. */
export function queueSettings(policySpec: Record<string, unknown> | undefined, deadLetter: string | null): QueueSettings {
  const retry = isObject(policySpec?.retry) ? policySpec!.retry : {};
  const attempts = typeof retry.maxAttempts === 'number' ? retry.maxAttempts : 3;
  const initialMs = parseDuration(retry.initial) ?? 30_000;
  return {
    retryLimit: Math.max(0, attempts - 1),
    retryDelay: Math.max(1, Math.round(initialMs / 1000)),
    retryBackoff: retry.backoff !== 'fixed',
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
  if (have.expireInSeconds !== want.expireInSeconds) out.push(`expireInSeconds ${have.expireInSeconds} ≠ ${want.expireInSeconds}`);
  if ((have.deadLetter ?? null) !== want.deadLetter) out.push(`deadLetter ${have.deadLetter ?? 'none'} ≠ ${want.deadLetter ?? 'none'}`);
  return out;
}

/** Which queue and schedule a deployed flow uses (its spec carries its effective policy and schedule). */
export function flowRouting(env: string, flow: DeployedLike): { queue: string | null; schedule: { name: string; cron: string; timezone: string } | null } {
  const eff = isObject(flow.spec.effective) ? flow.spec.effective : {};
  const policyAddress = typeof eff.policy === 'string' ? eff.policy : null;
  const sched = isObject(eff.schedule) ? eff.schedule : null;
  return {
    queue: policyAddress ? policyQueueName(env, policyAddress) : `${QUEUE_PREFIX}${env}.default`,
    schedule:
      sched && typeof sched.cron === 'string' && typeof sched.timezone === 'string'
        ? { name: tickQueueName(env, sched.cron, sched.timezone), cron: sched.cron, timezone: sched.timezone }
        : null,
  };
}

/** The queues and schedules that must exist for a set of deployed resources. */
export function expectedLive(env: string, deployed: Iterable<DeployedLike>): ExpectedLive {
  const policies = new Map<string, Record<string, unknown>>();
  const flows: DeployedLike[] = [];
  for (const r of deployed) {
    if (r.kind === 'policy') policies.set(r.address, r.spec);
    else if (r.kind === 'flow') flows.push(r);
  }
  const queues = new Map<string, ExpectedQueue>();
  const schedules = new Map<string, ExpectedSchedule>();
  for (const f of flows) {
    if (isObject(f.spec.spec) && f.spec.spec.enabled === false) continue;
    const route = flowRouting(env, f);
    const eff = isObject(f.spec.effective) ? f.spec.effective : {};
    const policyAddress = typeof eff.policy === 'string' ? eff.policy : undefined;
    if (route.queue) {
      let q = queues.get(route.queue);
      if (!q) {
        const dead = `${route.queue}.dead`;
        const policySpec = policyAddress ? policies.get(policyAddress) : undefined;
        q = { name: route.queue, settings: queueSettings(isObject(policySpec?.spec) ? (policySpec!.spec as Record<string, unknown>) : undefined, dead), addresses: [] };
        queues.set(route.queue, q);
        queues.set(dead, { name: dead, settings: { retryLimit: 0, retryDelay: 1, retryBackoff: false, expireInSeconds: DEFAULT_EXPIRE_SECONDS, deadLetter: null }, addresses: [] });
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
