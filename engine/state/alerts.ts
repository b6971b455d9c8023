/**
 * rsync.alert_incidents and rsync.alert_deliveries (migration 010): the alerts' state. An incident is open from the
 * evaluation that saw its condition start to the one that saw it end; each message to each channel is a delivery,
 * claimed by a lease (its next_at moved past the send) so that no transaction stays open over the network.
 */
import type pg from 'pg';

type Queryable = Pick<pg.Pool, 'query'>;

export interface IncidentRow {
  id: number;
  env: string;
  alert: string;
  key: string;
  condition: string;
  subject: string;
  customer: string | null;
  summary: string;
  detail: string | null;
  startedAt: Date;
  endedAt: Date | null;
}

const INCIDENT = `id::int AS id, env, alert, key, condition, subject, customer, summary, detail,
  started_at AS "startedAt", ended_at AS "endedAt"`;

export async function openIncidents(db: Queryable, env: string): Promise<IncidentRow[]> {
  const { rows } = await db.query<IncidentRow>(
    `SELECT ${INCIDENT} FROM rsync.alert_incidents WHERE env = $1 AND ended_at IS NULL ORDER BY id`,
    [env],
  );
  return rows;
}

/** Open an incident; undefined when it is open already (another evaluation got there first). */
export async function openIncident(
  db: Queryable,
  i: Omit<IncidentRow, 'id' | 'endedAt'>,
): Promise<IncidentRow | undefined> {
  const { rows } = await db.query<IncidentRow>(
    `INSERT INTO rsync.alert_incidents (env, alert, key, condition, subject, customer, summary, detail, started_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
     ON CONFLICT (env, alert, key) WHERE ended_at IS NULL DO NOTHING
     RETURNING ${INCIDENT}`,
    [i.env, i.alert, i.key, i.condition, i.subject, i.customer, i.summary, i.detail, i.startedAt],
  );
  return rows[0];
}

/** End an open incident; false when it was ended already. */
export async function endIncident(db: Queryable, id: number, at: Date): Promise<boolean> {
  const r = await db.query(`UPDATE rsync.alert_incidents SET ended_at = $2 WHERE id = $1 AND ended_at IS NULL`, [
    id,
    at,
  ]);
  return (r.rowCount ?? 0) > 0;
}

export interface DeliveryRow {
  id: number;
  incident: number;
  env: string;
  alert: string;
  channel: number;
  type: string;
  action: 'trigger' | 'resolve';
  target: Record<string, unknown>;
  message: Record<string, unknown>;
  status: 'pending' | 'sent' | 'failed';
  attempts: number;
  answer: string | null;
  log: { at: string; answer: string }[];
}

const DELIVERY = `id::int AS id, incident::int AS incident, env, alert, channel, type, action, target, message, status,
  attempts, answer, log`;

export async function enqueueDelivery(
  db: Queryable,
  d: Pick<DeliveryRow, 'incident' | 'env' | 'alert' | 'channel' | 'type' | 'action' | 'target' | 'message'>,
): Promise<void> {
  await db.query(
    `INSERT INTO rsync.alert_deliveries (incident, env, alert, channel, type, action, target, message)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (incident, channel, action) DO NOTHING`,
    [d.incident, d.env, d.alert, d.channel, d.type, d.action, JSON.stringify(d.target), JSON.stringify(d.message)],
  );
}

/**
 * Claim up to `limit` deliveries that are due: the environment's own, and any environment's left unsent for two
 * minutes (no worker of its environment took it). A resolve waits for its trigger to the same channel. The lease
 * (next_at a few minutes on) ends a claim whose worker died mid-send.
 */
export async function claimDeliveries(
  db: Queryable,
  env: string,
  limit: number,
  leaseMs: number,
): Promise<DeliveryRow[]> {
  const { rows } = await db.query<DeliveryRow>(
    `UPDATE rsync.alert_deliveries d SET next_at = now() + $3 * interval '1 millisecond', attempts = attempts + 1
      WHERE id IN (
        SELECT id FROM rsync.alert_deliveries x
         WHERE status = 'pending' AND next_at <= now() AND (env = $1 OR created_at < now() - interval '2 minutes')
           AND NOT (action = 'resolve' AND EXISTS (
             SELECT 1 FROM rsync.alert_deliveries t
              WHERE t.incident = x.incident AND t.channel = x.channel AND t.action = 'trigger' AND t.status = 'pending'))
         ORDER BY next_at, id LIMIT $2 FOR UPDATE SKIP LOCKED)
      RETURNING ${DELIVERY}`,
    [env, limit, leaseMs],
  );
  return rows;
}

/** An attempt's outcome: sent, failed for good, or pending again at `nextAt`. */
export async function recordAttempt(
  db: Queryable,
  id: number,
  outcome: { status: 'sent' | 'failed' | 'pending'; answer: string; nextAt?: Date },
): Promise<void> {
  await db.query(
    `UPDATE rsync.alert_deliveries
        SET status = $2, answer = $3, log = log || jsonb_build_array(jsonb_build_object('at', now(), 'answer', $3::text)),
            next_at = COALESCE($4, next_at), sent_at = CASE WHEN $2 = 'sent' THEN now() END
      WHERE id = $1`,
    [id, outcome.status, outcome.answer, outcome.nextAt ?? null],
  );
}

export async function deliveriesOf(db: Queryable, env: string): Promise<DeliveryRow[]> {
  const { rows } = await db.query<DeliveryRow>(
    `SELECT ${DELIVERY} FROM rsync.alert_deliveries WHERE env = $1 ORDER BY id`,
    [env],
  );
  return rows;
}
