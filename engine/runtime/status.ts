/** `rsync status`: per flow, its last run, lag against its SLA, records in the last hour and dead letters. */
import type pg from 'pg';
import { openDeadLetterCounts } from '../state/dead-letters.js';
import { pendingDeliveryCounts } from '../state/deliveries.js';
import { runSummaries } from '../state/runs.js';
import { type Pause, pausedFlows } from '../state/pauses.js';
import { readSyncState, type SyncState } from '../state/sync-state.js';
import { liveWorkers } from '../state/workers.js';
import { type FlowDef, loadFlows } from './flows.js';
import { usageToday } from '../state/quotas.js';
import { describeQuota, reachedOf } from './quotas.js';
import { type Budget, budgetSummary, monthlySla, monthOf } from './sla.js';

type Queryable = Pick<pg.Pool, 'query'>;

export interface FlowStatus {
  address: string;
  customer: string;
  flow: string;
  revision: number;
  trigger: string;
  enabled: boolean;
  lastRun: { id: number; status: string; at: string; read: number; written: number; dead: number } | null;
  /** How far the target is behind: since the last successful run (schedule, manual), or the oldest pending delivery (event). */
  lagMs: number | null;
  freshnessMs: number | null;
  /** ok, late (lag beyond the SLA's freshness), failing (the last run failed), idle (never ran). */
  health: 'ok' | 'late' | 'failing' | 'idle';
  recordsLastHour: number;
  deadLetters: number;
  pendingDeliveries: number;
  /**
   * The error budget left this month (runtime/sla.ts): `records` from the SLA's success rate (dead letters against
   * (1 − successRate) × the month's records), `minutes` of freshness breach against (1 − successRate) × the
   * month's minutes. Absent when the flow's SLA has no success rate.
   */
  budget: { records?: Budget; minutes?: Budget };
  /** Set while the flow is paused (`rsync pause`): it starts no run of any trigger until resumed. */
  paused: Pause | null;
  /**
   * Set while one of the flow's daily quotas is reached (runtime/quotas.ts: its customer's records, a connection's
   * API calls): what it is (`text`: "quota reached: 100,000 records/day, resets at 00:00 UTC"), whose, and the use.
   */
  quota: { text: string; of: string; used: number; limit: number } | null;
}

export async function flowStatus(
  db: Queryable,
  env: string,
  flows: Iterable<FlowDef>,
  customer?: string,
): Promise<FlowStatus[]> {
  const list = [...flows]
    .filter((f) => !customer || f.customer === customer)
    .sort((a, b) => a.address.localeCompare(b.address));
  const addresses = list.map((f) => f.address);
  const at = new Date();
  const [runs, deadBy, pendingBy, slas, paused, used] = await Promise.all([
    runSummaries(db, env, addresses),
    openDeadLetterCounts(db, env, addresses),
    pendingDeliveryCounts(db, env, addresses),
    monthlySla(db, env, list, monthOf(at), at),
    pausedFlows(db, env, addresses),
    usageToday(db, env),
  ]);
  const slaBy = new Map(slas.map((s) => [s.address, s]));
  const now = at.getTime();
  return list.map((f) => {
    const l = runs.last.get(f.address);
    const p = pendingBy.get(f.address);
    const lagMs = lagOf(f, now, { ran: !!l, succeededAt: runs.succeededAt.get(f.address), pendingSince: p?.oldest });
    const freshnessMs = f.freshnessMs ?? null;
    const health = healthOf(l?.status, !!l, lagMs, freshnessMs);
    const quota = reachedOf(f, used);
    return {
      address: f.address,
      customer: f.customer,
      flow: f.name,
      revision: f.revision,
      trigger: f.trigger,
      enabled: f.enabled,
      lastRun: l
        ? {
            id: l.id,
            status: l.status,
            at: new Date(l.at).toISOString(),
            read: l.read,
            written: l.written,
            dead: l.dead,
          }
        : null,
      lagMs,
      freshnessMs,
      health,
      recordsLastHour: runs.readLastHour.get(f.address) ?? 0,
      deadLetters: deadBy.get(f.address) ?? 0,
      pendingDeliveries: p?.n ?? 0,
      budget: budgetSummary(slaBy.get(f.address)),
      paused: paused.get(f.address) ?? null,
      quota: quota ? { text: describeQuota(quota), of: quota.of, used: quota.used, limit: quota.limit } : null,
    };
  });
}

/**
 * How far a flow's target is behind its source: an event flow by its oldest pending delivery (0 once it ran with
 * none pending), any other since its last successful run; null when that cannot be told yet.
 */
export function lagOf(
  f: Pick<FlowDef, 'trigger'>,
  now: number,
  o: { ran: boolean; succeededAt?: Date | null; pendingSince?: Date | null },
): number | null {
  if (f.trigger === 'event') return o.pendingSince ? now - new Date(o.pendingSince).getTime() : o.ran ? 0 : null;
  return o.succeededAt ? now - new Date(o.succeededAt).getTime() : null;
}

/** ok, late (lag beyond the SLA's freshness), failing (the last run failed), idle (never ran). */
export function healthOf(
  lastStatus: string | null | undefined,
  ran: boolean,
  lagMs: number | null,
  freshnessMs: number | null,
): FlowStatus['health'] {
  if (lastStatus === 'failed') return 'failing';
  if (!ran) return 'idle';
  return freshnessMs !== null && lagMs !== null && lagMs > freshnessMs ? 'late' : 'ok';
}

/** `rsync status`: the environment's deployed flows' status, its live workers and what the controller says of it. */
export async function environmentStatus(
  db: Queryable,
  env: string,
  customer?: string,
): Promise<{ workers: { id: string; host: string; seenAt: string }[]; flows: FlowStatus[]; sync: SyncState | null }> {
  const flows = await loadFlows(db, env);
  const [status, workers, sync] = await Promise.all([
    flowStatus(db, env, flows.values(), customer),
    liveWorkers(db, env),
    readSyncState(db, env),
  ]);
  return { workers, flows: status, sync: sync ?? null };
}
