/**
 * rsync.rollouts and rsync.rollout_cohorts (migration 019): a rollout's state and the plan it rolls out, and each
 * cohort's customers, gate and progress. engine/rollout/ decides; this module only reads and writes the rows.
 */
import type pg from 'pg';

type Queryable = Pick<pg.Pool, 'query'>;

export type RolloutState = 'running' | 'paused' | 'halted' | 'completed' | 'aborted';
export type CohortState = 'pending' | 'applied' | 'passed' | 'failed' | 'reverted';

export interface CohortRow {
  position: number;
  name: string;
  customers: string[];
  /** The labels it selected its customers by (null: a list, or everyone left). */
  selector: Record<string, string> | null;
  gate: Record<string, unknown>;
  state: CohortState;
  appliedAt: Date | null;
  applyEntry: number | null;
  decidedAt: Date | null;
  reason: string | null;
  approvedBy: string | null;
  approvedAt: Date | null;
  revertedAt: Date | null;
  revertEntry: number | null;
}

export interface RolloutRow {
  id: number;
  env: string;
  name: string;
  state: RolloutState;
  commit: string | null;
  ref: string | null;
  current: number;
  reason: string | null;
  startedBy: string;
  startedAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
  cohorts: CohortRow[];
}

const ROLLOUT = `id::int, env, name, state, commit, ref, current, reason, started_by AS "startedBy",
  started_at AS "startedAt", updated_at AS "updatedAt", finished_at AS "finishedAt"`;
const COHORT = `position, name, customers, selector, gate, state, applied_at AS "appliedAt", apply_entry::int AS "applyEntry",
  decided_at AS "decidedAt", reason, approved_by AS "approvedBy", approved_at AS "approvedAt",
  reverted_at AS "revertedAt", revert_entry::int AS "revertEntry"`;

async function withCohorts(db: Queryable, rows: Omit<RolloutRow, 'cohorts'>[]): Promise<RolloutRow[]> {
  if (!rows.length) return [];
  const { rows: cohorts } = await db.query<CohortRow & { rollout_id: number }>(
    `SELECT rollout_id::int, ${COHORT} FROM rsync.rollout_cohorts WHERE rollout_id = ANY($1) ORDER BY position`,
    [rows.map((r) => r.id)],
  );
  return rows.map((r) => ({
    ...r,
    cohorts: cohorts.filter((c) => c.rollout_id === r.id).map(({ rollout_id: _, ...c }) => c),
  }));
}

/** The newest rollout of `name` in `env` (open or not), with its cohorts. */
export async function latestRollout(db: Queryable, env: string, name: string): Promise<RolloutRow | undefined> {
  const { rows } = await db.query<Omit<RolloutRow, 'cohorts'>>(
    `SELECT ${ROLLOUT} FROM rsync.rollouts WHERE env = $1 AND name = $2 ORDER BY id DESC LIMIT 1`,
    [env, name],
  );
  return (await withCohorts(db, rows))[0];
}

/** The rollouts of `env` in these states, oldest first. */
export async function rolloutsIn(db: Queryable, env: string, states: RolloutState[]): Promise<RolloutRow[]> {
  const { rows } = await db.query<Omit<RolloutRow, 'cohorts'>>(
    `SELECT ${ROLLOUT} FROM rsync.rollouts WHERE env = $1 AND state = ANY($2) ORDER BY id`,
    [env, states],
  );
  return withCohorts(db, rows);
}

/** The halted rollouts of `env`: what the alerts' rolloutHalted condition reads. */
export async function haltedRollouts(
  db: Queryable,
  env: string,
): Promise<{ name: string; reason: string | null; customers: string[]; since: Date }[]> {
  const { rows } = await db.query(
    `SELECT r.name, r.reason, r.updated_at AS since,
            (SELECT coalesce(array_agg(DISTINCT x), '{}') FROM rsync.rollout_cohorts c, unnest(c.customers) x
              WHERE c.rollout_id = r.id) AS customers
       FROM rsync.rollouts r WHERE r.env = $1 AND r.state = 'halted' ORDER BY r.name`,
    [env],
  );
  return rows;
}

/** The plan a rollout rolls out (kept apart from the row: it may be large). */
export async function rolloutPlan<P>(db: Queryable, id: number): Promise<P> {
  const { rows } = await db.query<{ plan: P }>(`SELECT plan FROM rsync.rollouts WHERE id = $1`, [id]);
  return rows[0].plan;
}

/** A new rollout, running, with its cohorts pending; its id. Refused (a unique violation) while one of its name is open. */
export async function insertRollout(
  db: Queryable,
  r: { env: string; name: string; commit: string | null; ref: string | null; plan: unknown; by: string },
  cohorts: {
    name: string;
    customers: string[];
    selector: Record<string, string> | null;
    gate: Record<string, unknown>;
  }[],
): Promise<number> {
  const { rows } = await db.query<{ id: number }>(
    `INSERT INTO rsync.rollouts (env, name, state, commit, ref, plan, started_by)
     VALUES ($1, $2, 'running', $3, $4, $5, $6) RETURNING id::int`,
    [r.env, r.name, r.commit, r.ref, JSON.stringify(r.plan), r.by],
  );
  const id = rows[0].id;
  await db.query(
    `INSERT INTO rsync.rollout_cohorts (rollout_id, position, name, customers, selector, gate)
     SELECT $1, p - 1, n, COALESCE(string_to_array(NULLIF(c, ''), ','), '{}'), s, g
       FROM unnest($2::text[], $3::text[], $4::jsonb[], $5::jsonb[]) WITH ORDINALITY AS u(n, c, s, g, p)`,
    [
      id,
      cohorts.map((c) => c.name),
      cohorts.map((c) => c.customers.join(',')),
      cohorts.map((c) => (c.selector ? JSON.stringify(c.selector) : null)),
      cohorts.map((c) => JSON.stringify(c.gate)),
    ],
  );
  return id;
}

export async function setRolloutState(
  db: Queryable,
  id: number,
  o: { state?: RolloutState; current?: number; reason?: string | null; finished?: boolean },
): Promise<void> {
  await db.query(
    `UPDATE rsync.rollouts SET state = COALESCE($2, state), current = COALESCE($3, current),
            reason = CASE WHEN $4 THEN $5 ELSE reason END, updated_at = now(),
            finished_at = CASE WHEN $6 THEN now() ELSE finished_at END
      WHERE id = $1`,
    [id, o.state ?? null, o.current ?? null, o.reason !== undefined, o.reason ?? null, o.finished === true],
  );
}

export async function setCohort(
  db: Queryable,
  id: number,
  position: number,
  o: Partial<
    Pick<
      CohortRow,
      | 'state'
      | 'appliedAt'
      | 'applyEntry'
      | 'decidedAt'
      | 'reason'
      | 'approvedBy'
      | 'approvedAt'
      | 'revertedAt'
      | 'revertEntry'
    >
  >,
): Promise<void> {
  const columns: Record<string, string> = {
    state: 'state',
    appliedAt: 'applied_at',
    applyEntry: 'apply_entry',
    decidedAt: 'decided_at',
    reason: 'reason',
    approvedBy: 'approved_by',
    approvedAt: 'approved_at',
    revertedAt: 'reverted_at',
    revertEntry: 'revert_entry',
  };
  const keys = Object.keys(o).filter((k) => k in columns);
  if (!keys.length) return;
  await db.query(
    `UPDATE rsync.rollout_cohorts SET ${keys.map((k, i) => `${columns[k]} = $${i + 3}`).join(', ')}
      WHERE rollout_id = $1 AND position = $2`,
    [id, position, ...keys.map((k) => (o as Record<string, unknown>)[k])],
  );
}
