/**
 * rsync.sla_events (migration 009): one row per breach of one objective of a flow's SLA, from the moment the
 * objective stopped being met to the moment it was met again (`ended_at` null while it lasts); and
 * rsync.sla_evaluations (migration 012): how far each environment's evaluation got. runtime/sla.ts derives the
 * breaches and writes them here; `rsync sla`, `rsync status`, the monthly report and the alerts read them.
 */
import type pg from 'pg';

type Queryable = Pick<pg.Pool, 'query'>;

export type Objective = 'freshness' | 'latencyP95' | 'successRate';

export interface SlaEvent {
  id: number;
  env: string;
  /** `<customer>/flow/<name>` */
  address: string;
  customer: string;
  /** The SLA's name. */
  sla: string;
  objective: Objective;
  /** The objective as declared: `5m`, `60s`, `99.9%`. */
  target: string;
  startedAt: Date;
  endedAt: Date | null;
  /** The worst value seen during the breach, as text (`17m`, `97.20%`). */
  worst: string | null;
  /** Why, in words (never a record's data: no PII, no secret). */
  cause: string | null;
}

/** A breach to record: an event without its id. */
export type NewSlaEvent = Omit<SlaEvent, 'id'>;

const COLUMNS = `id::int, env, address, customer, sla, objective, target, started_at AS "startedAt", ended_at AS "endedAt", worst, cause`;

/** The breaches still open in an environment. */
export async function openSlaEvents(db: Queryable, env: string): Promise<SlaEvent[]> {
  const { rows } = await db.query<SlaEvent>(
    `SELECT ${COLUMNS} FROM rsync.sla_events WHERE env = $1 AND ended_at IS NULL`,
    [env],
  );
  return rows;
}

/**
 * Record a breach; one already recorded with the same flow, objective and start is left as it is, except that an
 * open one takes the end given. Returns the row, and whether it is new.
 */
export async function recordSlaEvent(
  db: Queryable,
  e: NewSlaEvent,
): Promise<{ event: SlaEvent; inserted: boolean; ended: boolean }> {
  const { rows } = await db.query<SlaEvent & { inserted: boolean; was_open: boolean }>(
    `WITH before AS (
       SELECT ended_at IS NULL AS was_open FROM rsync.sla_events
        WHERE env = $1 AND address = $2 AND objective = $6 AND started_at = $8)
     INSERT INTO rsync.sla_events (env, address, customer, sla, objective, target, started_at, ended_at, worst, cause)
     VALUES ($1, $2, $3, $4, $6, $5, $8, $9, $7, $10)
     ON CONFLICT (env, address, objective, started_at) DO UPDATE
        SET ended_at = coalesce(rsync.sla_events.ended_at, excluded.ended_at),
            worst = CASE WHEN rsync.sla_events.ended_at IS NULL THEN excluded.worst ELSE rsync.sla_events.worst END
     RETURNING ${COLUMNS}, (xmax = 0) AS inserted, coalesce((SELECT was_open FROM before), true) AS was_open`,
    [e.env, e.address, e.customer, e.sla, e.target, e.objective, e.worst, e.startedAt, e.endedAt, e.cause],
  );
  const { inserted, was_open, ...event } = rows[0];
  return { event, inserted, ended: event.endedAt !== null && (inserted || was_open) };
}

/** End an open breach at `at` (never before its start), with the worst value seen. */
export async function endSlaEvent(db: Queryable, id: number, at: Date, worst: string | null): Promise<SlaEvent> {
  const { rows } = await db.query<SlaEvent>(
    `UPDATE rsync.sla_events SET ended_at = greatest(started_at, $2), worst = coalesce($3, worst)
      WHERE id = $1 RETURNING ${COLUMNS}`,
    [id, at, worst],
  );
  return rows[0];
}

/** The worst value of an open breach, as it grows. */
export async function updateSlaEventWorst(db: Queryable, id: number, worst: string): Promise<void> {
  await db.query(`UPDATE rsync.sla_events SET worst = $2 WHERE id = $1`, [id, worst]);
}

/** Breaches of an environment that overlap [from, to), oldest first; one customer's when given. */
export async function slaEventsBetween(
  db: Queryable,
  env: string,
  from: Date,
  to: Date,
  customer?: string,
): Promise<SlaEvent[]> {
  const { rows } = await db.query<SlaEvent>(
    `SELECT ${COLUMNS} FROM rsync.sla_events
      WHERE env = $1 AND started_at < $3 AND (ended_at IS NULL OR ended_at > $2) AND ($4::text IS NULL OR customer = $4)
      ORDER BY started_at, id`,
    [env, from, to, customer ?? null],
  );
  return rows;
}

/** When the environment's SLAs were last evaluated (undefined: never). */
export async function lastSlaEvaluation(db: Queryable, env: string): Promise<Date | undefined> {
  const { rows } = await db.query<{ at: Date }>(`SELECT evaluated_at AS at FROM rsync.sla_evaluations WHERE env = $1`, [
    env,
  ]);
  return rows[0]?.at;
}

export async function setSlaEvaluation(db: Queryable, env: string, at: Date): Promise<void> {
  await db.query(
    `INSERT INTO rsync.sla_evaluations (env, evaluated_at) VALUES ($1, $2)
     ON CONFLICT (env) DO UPDATE SET evaluated_at = excluded.evaluated_at`,
    [env, at],
  );
}

/**
 * A transaction-scoped advisory lock on the environment's evaluation: false when another session evaluates it
 * now (two workers never evaluate at once; the lock goes with the transaction, or with a killed worker's session).
 */
export async function tryLockSlaEvaluation(tx: Queryable, env: string): Promise<boolean> {
  const { rows } = await tx.query<{ ok: boolean }>(`SELECT pg_try_advisory_xact_lock(hashtext($1)) AS ok`, [
    `rsync.sla.${env}`,
  ]);
  return rows[0].ok;
}
