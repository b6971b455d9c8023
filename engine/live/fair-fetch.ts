/**
 * A fair fetch of a queue's jobs across customers, in place of pg-boss's `fetch` (oldest first), for the flows'
 * retry queues, whose jobs carry their flow's address (`<customer>/flow/<name>`) in `data.flow`. pg-boss takes the
 * oldest jobs, so a customer that queued 50 runs has them all go before another's one; here each customer's queued
 * jobs are ranked by age (its 1st, 2nd, …) and the batch is taken by that rank plus the customer's runs in flight:
 * least in flight first, ties to the customer served least recently (round robin). A customer with no room (at its concurrency limit, or its quota reached) is
 * passed over and its jobs stay queued.
 *
 * The job is activated exactly as pg-boss 10.4's fetchNextJob does (node_modules/pg-boss/src/plans.js: state
 * 'active', started_on, retry_count on a retry), so pg-boss's complete, fail and expiry treat it as its own. The
 * queues rsync creates are of the standard policy, so pg-boss's singleton grouping does not apply to them.
 */
import type pg from 'pg';
import { BOSS_SCHEMA } from './boss.js';

export interface FairJob {
  id: string;
  name: string;
  data: Record<string, unknown>;
}

export interface CustomerRoom {
  /** Runs of the customer in flight now (every worker's). */
  inFlight: number;
  /** How many more it may start; undefined: no limit. 0 passes the customer over. */
  room?: number;
  /** When this worker last started one of its runs (a sequence number, 0: never): ties go to the least recent. */
  served?: number;
}

/** Up to `limit` jobs of `queue`, fairly across customers (see above). */
export async function fetchFair(
  db: Pick<pg.Pool, 'query'>,
  queue: string,
  limit: number,
  customers: ReadonlyMap<string, CustomerRoom>,
): Promise<FairJob[]> {
  if (limit <= 0) return [];
  const names = [...customers.keys()];
  const { rows } = await db.query<FairJob>(
    `WITH ranked AS (
       SELECT id, split_part(data->>'flow', '/', 1) AS customer, created_on,
              row_number() OVER (PARTITION BY split_part(data->>'flow', '/', 1) ORDER BY priority DESC, created_on, id) AS rank
         FROM ${BOSS_SCHEMA}.job
        WHERE name = $1 AND state < 'active' AND start_after < now()
     ), fair AS (
       SELECT r.id, r.rank + coalesce(c.inflight, 0) AS turn, coalesce(c.served, 0) AS served, r.created_on
         FROM ranked r LEFT JOIN unnest($3::text[], $4::int[], $5::int[], $6::int[]) AS c(customer, inflight, room, served)
           ON c.customer = r.customer
        WHERE c.room IS NULL OR r.rank <= c.room
     ), picked AS (
       SELECT j.id FROM ${BOSS_SCHEMA}.job j JOIN fair f ON f.id = j.id
        WHERE j.name = $1 AND j.state < 'active'
        ORDER BY f.turn, f.served, f.created_on, j.id
        LIMIT $2
        FOR UPDATE OF j SKIP LOCKED
     )
     UPDATE ${BOSS_SCHEMA}.job j SET
       state = 'active',
       started_on = now(),
       retry_count = CASE WHEN started_on IS NOT NULL THEN retry_count + 1 ELSE retry_count END
     FROM picked WHERE j.name = $1 AND j.id = picked.id
     RETURNING j.id, j.name, j.data`,
    [
      queue,
      limit,
      names,
      names.map((n) => customers.get(n)!.inFlight),
      names.map((n) => customers.get(n)!.room ?? null),
      names.map((n) => customers.get(n)!.served ?? 0),
    ],
  );
  return rows;
}

/**
 * Put a fetched job back in its queue, `delayMs` from now (its customer had no room after all: another worker took
 * its last slot meanwhile). What the fetch counted is undone: a retry's count goes back down (the next fetch counts
 * it again), a first attempt is unstarted.
 */
export async function unfetch(db: Pick<pg.Pool, 'query'>, queue: string, id: string, delayMs: number): Promise<void> {
  await db.query(
    `UPDATE ${BOSS_SCHEMA}.job SET
       state = CASE WHEN retry_count > 0 THEN 'retry'::${BOSS_SCHEMA}.job_state ELSE 'created'::${BOSS_SCHEMA}.job_state END,
       retry_count = greatest(retry_count - 1, 0),
       started_on = CASE WHEN retry_count > 0 THEN started_on END,
       start_after = now() + $3 * interval '1 millisecond'
      WHERE name = $1 AND id = $2 AND state = 'active'`,
    [queue, id, delayMs],
  );
}
