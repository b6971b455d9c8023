/**
 * rsync.workers: the live workers of each environment. A worker is alive exactly while its LISTEN connection is,
 * which carries its id as application_name (`rsync-worker:<id>`): a killed process's connections close with it,
 * so a row or a run whose worker has no such connection left belongs to a worker that is gone.
 */
import type pg from 'pg';

type Queryable = Pick<pg.Pool, 'query'>;

/** application_name prefix of a worker's LISTEN connection. */
export const WORKER_APP = 'rsync-worker:';

/** Register a worker, or (reconnected after PostgreSQL went away) its new LISTEN connection. */
export async function upsertWorker(
  db: Queryable,
  w: { id: string; env: string; host: string; pid: number; backend: number },
): Promise<void> {
  await db.query(
    `INSERT INTO rsync.workers (id, env, host, pid, backend) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (id) DO UPDATE SET backend = excluded.backend, seen_at = now()`,
    [w.id, w.env, w.host, w.pid, w.backend],
  );
}

export async function workerSeen(db: Queryable, id: string): Promise<void> {
  await db.query(`UPDATE rsync.workers SET seen_at = now() WHERE id = $1`, [id]);
}

export async function removeWorker(db: Queryable, id: string): Promise<void> {
  await db.query(`DELETE FROM rsync.workers WHERE id = $1`, [id]);
}

/** Workers of the environment seen in the last 30 s (at least 1: the caller). */
export async function liveWorkerCount(db: Queryable, env: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM rsync.workers WHERE env = $1 AND seen_at > now() - interval '30 seconds'`,
    [env],
  );
  return Math.max(1, rows[0].n);
}

/** Forget the workers that are gone (their runs: interruptOrphanedRuns in runs.ts). */
export async function forgetGoneWorkers(db: Queryable): Promise<void> {
  await db.query(
    `DELETE FROM rsync.workers WHERE left(id, 50) NOT IN (SELECT left(substr(application_name, $1), 50) FROM pg_stat_activity WHERE application_name LIKE $2)`,
    [WORKER_APP.length + 1, `${WORKER_APP}%`],
  );
}

/** The environment's workers seen in the last 30 s. */
export async function liveWorkers(db: Queryable, env: string): Promise<{ id: string; host: string; seenAt: string }[]> {
  const { rows } = await db.query<{ id: string; host: string; seen_at: Date }>(
    `SELECT id, host, seen_at FROM rsync.workers WHERE env = $1 AND seen_at > now() - interval '30 seconds' ORDER BY id`,
    [env],
  );
  return rows.map((w) => ({ id: w.id, host: w.host, seenAt: w.seen_at.toISOString() }));
}
