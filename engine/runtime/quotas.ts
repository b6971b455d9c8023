/**
 * Per-customer quotas: source records per day per customer (its `limits.recordsPerDay`) and API calls per day per
 * connection (the connection's `limits.apiCallsPerDay`), counted in rsync.quota_usage (state/quotas.ts) by UTC day.
 *
 * Records are counted in the transaction that commits their page, so the count is exactly what was committed. A
 * run checks its quotas before each page and stops there when one is reached: the page read ahead is not
 * processed, the cursor (a flow's, a window's, a delivery's mark) stays at the last committed page, and nothing is
 * lost; the worker then starts none of that customer's (or connection's) work until the quota resets at 00:00 UTC
 * or an apply raises it. So a quota can be passed by at most one page (the one under way when it was reached).
 * API calls are counted as the kit's HTTP client sends each request (only on connections that set a quota).
 */
import type pg from 'pg';
import { addUsage, callsScope, recordsScope, usageToday } from '../state/quotas.js';
import type { FlowDef } from './flows.js';

export interface QuotaReached {
  scope: string;
  /** What the quota counts: `records` of a customer, `API calls` of a connection. */
  unit: 'records' | 'API calls';
  /** `<customer>` or `<customer>/<connection>`. */
  of: string;
  limit: number;
  used: number;
}

/** The quotas a flow's runs count against, with their limits. */
export function quotasOf(flow: FlowDef): { scope: string; unit: QuotaReached['unit']; of: string; limit: number }[] {
  const out: { scope: string; unit: QuotaReached['unit']; of: string; limit: number }[] = [];
  if (flow.limits.recordsPerDay)
    out.push({
      scope: recordsScope(flow.customer),
      unit: 'records',
      of: flow.customer,
      limit: flow.limits.recordsPerDay,
    });
  for (const c of [flow.source, flow.target])
    if (c.apiCallsPerDay && !out.some((q) => q.scope === callsScope(c.system)))
      out.push({ scope: callsScope(c.system), unit: 'API calls', of: c.system, limit: c.apiCallsPerDay });
  return out;
}

/** The first of a flow's quotas reached, given today's use (usageToday). */
export function reachedOf(flow: FlowDef, used: ReadonlyMap<string, number>): QuotaReached | undefined {
  for (const q of quotasOf(flow)) {
    const n = used.get(q.scope) ?? 0;
    if (n >= q.limit) return { ...q, used: n };
  }
  return undefined;
}

/** Whether one of the flow's quotas is reached today (one query; none when the flow has no quota). */
export async function quotaReached(db: Pick<pg.Pool, 'query'>, flow: FlowDef): Promise<QuotaReached | undefined> {
  const qs = quotasOf(flow);
  if (!qs.length) return undefined;
  return reachedOf(
    flow,
    await usageToday(
      db,
      flow.env,
      qs.map((q) => q.scope),
    ),
  );
}

/** Count a committed page's records against the customer's quota (in the page's transaction). */
export async function countRecords(tx: Pick<pg.Pool, 'query'>, flow: FlowDef, n: number): Promise<void> {
  if (flow.limits.recordsPerDay && n > 0) await addUsage(tx, flow.env, recordsScope(flow.customer), n);
}

/** The counter of a connection's API calls that the connector is given (none when it sets no quota). */
export function callCounter(
  db: Pick<pg.Pool, 'query'>,
  env: string | undefined,
  c: { system: string; apiCallsPerDay?: number },
): (() => Promise<void>) | undefined {
  if (!c.apiCallsPerDay || !env) return undefined;
  const scope = callsScope(c.system);
  return async () => {
    await addUsage(db, env, scope, 1);
  };
}

/** What status says of a reached quota: "quota reached: 100,000 records/day, resets at 00:00 UTC". */
export function describeQuota(q: QuotaReached): string {
  const what = q.unit === 'records' ? 'records/day' : `API calls/day to ${q.of.split('/')[1] ?? q.of}`;
  return `quota reached: ${q.limit.toLocaleString('en-US')} ${what}, resets at 00:00 UTC`;
}

/** Each quota of the deployed flows once, with today's use (`/metrics`: rsync_quota_used and rsync_quota_limit). */
export function quotaFigures(
  flows: Iterable<FlowDef>,
  used: ReadonlyMap<string, number>,
): { labels: { customer: string; connection: string; quota: 'records' | 'api_calls' }; used: number; limit: number }[] {
  const out = new Map<string, ReturnType<typeof quotaFigures>[number]>();
  for (const f of flows)
    for (const q of quotasOf(f)) {
      if (out.has(q.scope)) continue;
      const [customer, connection = ''] = q.of.split('/');
      out.set(q.scope, {
        labels: { customer, connection, quota: q.unit === 'records' ? 'records' : 'api_calls' },
        used: used.get(q.scope) ?? 0,
        limit: q.limit,
      });
    }
  return [...out.values()];
}
