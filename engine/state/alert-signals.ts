/**
 * What the alert conditions read (runtime/alerts/conditions.ts), each at a moment `now` that the caller chooses
 * (the worker's clock, or a test's): the last finished run of each flow, runs still running, dead letters and
 * record counts within a window, open SLA events (rsync.sla_events, which the SLA evaluator writes) and the
 * environment's workers. One query per signal for every flow of an environment, not one per flow.
 */
import type pg from 'pg';

type Queryable = Pick<pg.Pool, 'query'>;

export interface LastRun {
  address: string;
  id: number;
  status: 'succeeded' | 'failed';
  error: string | null;
  /** The run's log says the failure was a connector's `auth` kind (connectors/kit/errors.ts). */
  auth: boolean;
  finishedAt: Date;
}

/** The last run of each flow that finished (succeeded or failed) by `now`. */
export async function lastFinishedRuns(db: Queryable, env: string, addresses: string[], now: Date): Promise<LastRun[]> {
  if (!addresses.length) return [];
  const { rows } = await db.query<LastRun>(
    `SELECT DISTINCT ON (address) address, id::int AS id, status, error, finished_at AS "finishedAt",
            log @> '[{"event": "error", "kind": "auth"}]'::jsonb AS auth
       FROM rsync.runs
      WHERE env = $1 AND address = ANY($2) AND status IN ('succeeded', 'failed') AND finished_at <= $3
      ORDER BY address, finished_at DESC, id DESC`,
    [env, addresses, now],
  );
  return rows;
}

/** The source records a run dead-lettered (as read: for scrubbing their PII out of its error text), at most 20. */
export async function deadRecordsOf(db: Queryable, run: number): Promise<unknown[]> {
  const { rows } = await db.query<{ r: unknown }>(
    `SELECT coalesce(replay, payload) AS r FROM rsync.dead_letters WHERE run_id = $1 ORDER BY id LIMIT 20`,
    [run],
  );
  return rows.map((x) => x.r);
}

/** The oldest run of each flow that has been running since before `since`. */
export async function runsRunningSince(
  db: Queryable,
  env: string,
  addresses: string[],
  since: Date,
): Promise<{ address: string; id: number; startedAt: Date }[]> {
  if (!addresses.length) return [];
  const { rows } = await db.query(
    `SELECT DISTINCT ON (address) address, id::int AS id, started_at AS "startedAt"
       FROM rsync.runs WHERE env = $1 AND address = ANY($2) AND status = 'running' AND started_at < $3
      ORDER BY address, started_at`,
    [env, addresses, since],
  );
  return rows;
}

/** Dead letters per flow created in (from, to]. */
export async function deadLettersBetween(
  db: Queryable,
  env: string,
  addresses: string[],
  from: Date,
  to: Date,
): Promise<Map<string, number>> {
  if (!addresses.length) return new Map();
  const { rows } = await db.query<{ address: string; n: number }>(
    `SELECT address, count(*)::int AS n FROM rsync.dead_letters
      WHERE env = $1 AND address = ANY($2) AND created_at > $3 AND created_at <= $4 GROUP BY address`,
    [env, addresses, from, to],
  );
  return new Map(rows.map((r) => [r.address, r.n]));
}

/** Per flow, over the runs started in (from, to]: records dead-lettered, and records that counted (written, unchanged or dead). */
export async function recordOutcomesBetween(
  db: Queryable,
  env: string,
  addresses: string[],
  from: Date,
  to: Date,
): Promise<Map<string, { dead: number; counted: number }>> {
  if (!addresses.length) return new Map();
  const { rows } = await db.query<{ address: string; dead: string; counted: string }>(
    `SELECT address, sum(dead) AS dead, sum(written + unchanged + dead) AS counted FROM rsync.runs
      WHERE env = $1 AND address = ANY($2) AND started_at > $3 AND started_at <= $4 GROUP BY address`,
    [env, addresses, from, to],
  );
  return new Map(rows.map((r) => [r.address, { dead: Number(r.dead), counted: Number(r.counted) }]));
}

export interface OpenSlaEvent {
  id: number;
  address: string;
  sla: string;
  objective: string;
  target: string;
  startedAt: Date;
  worst: string | null;
  cause: string | null;
}

/** The SLA breaches open at `now`: started by then, and not ended by then. */
export async function slaEventsOpenAt(
  db: Queryable,
  env: string,
  addresses: string[],
  now: Date,
): Promise<OpenSlaEvent[]> {
  if (!addresses.length) return [];
  const { rows } = await db.query<OpenSlaEvent>(
    `SELECT id::int AS id, address, sla, objective, target, started_at AS "startedAt", worst, cause
       FROM rsync.sla_events
      WHERE env = $1 AND address = ANY($2) AND started_at <= $3 AND (ended_at IS NULL OR ended_at > $3)
      ORDER BY address, objective`,
    [env, addresses, now],
  );
  return rows;
}

/** When a worker of the environment was last seen alive (undefined: none is registered). */
export async function lastWorkerSeen(db: Queryable, env: string): Promise<Date | undefined> {
  const { rows } = await db.query<{ at: Date | null }>(`SELECT max(seen_at) AS at FROM rsync.workers WHERE env = $1`, [
    env,
  ]);
  return rows[0].at ?? undefined;
}

/** The environments that have alerts applied. */
export async function alertEnvironments(db: Queryable): Promise<string[]> {
  const { rows } = await db.query<{ env: string }>(
    `SELECT DISTINCT env FROM rsync.resources WHERE kind = 'alert' ORDER BY env`,
  );
  return rows.map((r) => r.env);
}
