/**
 * The evaluator: for every environment with alerts applied, each Alert's conditions judged at `now`, paired with
 * the incidents open in PostgreSQL (pair first, then act): an observation without an open incident opens one and
 * queues a trigger to each channel; an open incident no longer observed ends and queues a resolve. An incident
 * already open is left alone, so a condition that holds for an hour of evaluations sends one message, and one more
 * when it ends. Only one process evaluates at a time (a session advisory lock; the others skip their turn), and an
 * incident opens at most once (a unique index on the open ones) even if two evaluations raced.
 * An incident of an Alert that is no longer applied ends without a message: its channels went with it.
 */
import type pg from 'pg';
import { alertEnvironments } from '../../state/alert-signals.js';
import { endIncident, enqueueDelivery, type IncidentRow, openIncident, openIncidents } from '../../state/alerts.js';
import { deployedVersion, readResourceRows, type ResourceRow } from '../../state/deployments.js';
import { releaseClaim, tryClaim } from '../../state/locks.js';
import { withTransaction } from '../../state/tx.js';
import { observe } from './conditions.js';
import { type AlertDef, alertDef, type WatchedFlow, watchedFlows } from './model.js';
import { messageOf } from './render.js';

export const EVALUATION_LOCK = 'rsync.alerts.evaluate';

export interface EvaluationResult {
  /** False when another process was evaluating (this turn was skipped). */
  evaluated: boolean;
  opened: IncidentRow[];
  resolved: IncidentRow[];
}

export interface EvaluateOptions {
  /** The moment the conditions are judged at, and incidents start and end (default: now). */
  now?: Date;
  /** Only these environments (default: every environment with alerts applied). */
  envs?: string[];
}

export async function evaluateAlerts(pool: pg.Pool, o: EvaluateOptions = {}): Promise<EvaluationResult> {
  const now = o.now ?? new Date();
  const result: EvaluationResult = { evaluated: false, opened: [], resolved: [] };
  const client = await pool.connect();
  try {
    if (!(await tryClaim(client, EVALUATION_LOCK))) return result;
    try {
      for (const env of o.envs ?? (await alertEnvironments(client)))
        await evaluateEnv(client, await deployedAlerts(pool, client, env), now, result);
      result.evaluated = true;
    } finally {
      await releaseClaim(client, EVALUATION_LOCK);
    }
  } finally {
    client.release();
  }
  return result;
}

interface Deployed {
  env: string;
  version: string;
  alerts: AlertDef[];
  flows: WatchedFlow[];
}

/** The deployed alerts and flows of each environment, per pool, read again only when an apply moved them. */
const cache = new WeakMap<pg.Pool, Map<string, Deployed>>();

async function deployedAlerts(pool: pg.Pool, db: pg.PoolClient, env: string): Promise<Deployed> {
  let byEnv = cache.get(pool);
  if (!byEnv) cache.set(pool, (byEnv = new Map()));
  const version = await deployedVersion(db, env);
  const hit = byEnv.get(env);
  if (hit?.version === version) return hit;
  const rows = new Map<string, ResourceRow>((await readResourceRows(db, env)).map((r) => [r.address, r]));
  const d: Deployed = {
    env,
    version,
    alerts: [...rows.values()].filter((r) => r.kind === 'alert').map((r) => alertDef(env, r)),
    flows: watchedFlows(rows),
  };
  byEnv.set(env, d);
  return d;
}

async function evaluateEnv(
  db: pg.PoolClient,
  { env, alerts, flows }: Deployed,
  now: Date,
  result: EvaluationResult,
): Promise<void> {
  const open = new Map<string, IncidentRow>();
  for (const i of await openIncidents(db, env)) open.set(`${i.alert}\u0000${i.key}`, i);
  const byAddress = new Map(alerts.map((a) => [a.address, a]));

  for (const alert of alerts) {
    const seen = new Set<string>();
    for (const ob of await observe(db, alert, flows, now)) {
      const k = `${alert.address}\u0000${ob.key}`;
      seen.add(k);
      if (open.has(k)) continue;
      await withTransaction(db, async (tx) => {
        const i = await openIncident(tx, {
          env,
          alert: alert.address,
          key: ob.key,
          condition: ob.condition,
          subject: ob.subject,
          customer: ob.customer,
          summary: ob.summary,
          detail: ob.detail ?? null,
          startedAt: now,
        });
        if (!i) return;
        await enqueueAll(tx, alert, i, 'trigger');
        result.opened.push(i);
      });
    }
    for (const [k, i] of open) {
      if (i.alert !== alert.address || seen.has(k)) continue;
      await withTransaction(db, async (tx) => {
        if (!(await endIncident(tx, i.id, now))) return;
        const ended = { ...i, endedAt: now };
        await enqueueAll(tx, alert, ended, 'resolve');
        result.resolved.push(ended);
      });
    }
  }
  for (const i of open.values()) {
    if (byAddress.has(i.alert)) continue;
    if (await endIncident(db, i.id, now)) result.resolved.push({ ...i, endedAt: now });
  }
}

async function enqueueAll(
  tx: Pick<pg.PoolClient, 'query'>,
  alert: AlertDef,
  i: IncidentRow,
  action: 'trigger' | 'resolve',
): Promise<void> {
  const message = messageOf(alert, { ...i, endedAt: i.endedAt ?? undefined }, action);
  for (const [n, c] of alert.channels.entries())
    await enqueueDelivery(tx, {
      incident: i.id,
      env: alert.env,
      alert: alert.address,
      channel: n,
      type: c.type,
      action,
      target: c.target,
      message: message as unknown as Record<string, unknown>,
    });
}
