/**
 * The aggregate queries `/metrics` runs at scrape time (engine/runtime/metrics.ts): what the fleet did and where it
 * stands, read from rsync's tables so that every worker's scrape tells the same truth and a restarted worker loses
 * nothing. Each is one statement over a table with a row per flow (rsync.run_totals, migration 011) or over the
 * partial indexes of what is open (pending deliveries, open dead letters and windows, running runs): its cost
 * follows the flows deployed, not the runs ever run.
 *
 * `key` is the group of a row: the flow's address when metrics carry the flow label, else its customer (the
 * address's first segment), summed in PostgreSQL.
 */
import type pg from 'pg';

type Queryable = Pick<pg.Pool, 'query'>;

/** One group's totals: its finished runs (rsync.run_totals) plus those still running. */
export interface TotalsRow {
  key: string;
  written: number;
  unchanged: number;
  filtered: number;
  dead: number;
  succeeded: number;
  failed: number;
  interrupted: number;
  running: number;
}

const groupBy = (byFlow: boolean) => (byFlow ? 'address' : `split_part(address, '/', 1)`);

/** Records by outcome and runs by result, per flow or per customer. */
export async function runTotals(db: Queryable, env: string, byFlow: boolean): Promise<TotalsRow[]> {
  const { rows } = await db.query<TotalsRow>(
    `WITH live AS (
       SELECT address, sum(written) AS written, sum(unchanged) AS unchanged, sum(filtered) AS filtered,
              sum(dead) AS dead, count(*) AS running
         FROM rsync.runs WHERE status = 'running' AND env = $1 GROUP BY address
     ), t AS (
       SELECT coalesce(d.address, l.address) AS address,
              coalesce(d.written, 0) + coalesce(l.written, 0) AS written,
              coalesce(d.unchanged, 0) + coalesce(l.unchanged, 0) AS unchanged,
              coalesce(d.filtered, 0) + coalesce(l.filtered, 0) AS filtered,
              coalesce(d.dead, 0) + coalesce(l.dead, 0) AS dead,
              coalesce(d.succeeded, 0) AS succeeded, coalesce(d.failed, 0) AS failed,
              coalesce(d.interrupted, 0) AS interrupted, coalesce(l.running, 0) AS running
         FROM (SELECT * FROM rsync.run_totals WHERE env = $1) d FULL JOIN live l ON l.address = d.address
     )
     SELECT ${groupBy(byFlow)} AS key, sum(written)::float8 AS written, sum(unchanged)::float8 AS unchanged,
            sum(filtered)::float8 AS filtered, sum(dead)::float8 AS dead, sum(succeeded)::float8 AS succeeded,
            sum(failed)::float8 AS failed, sum(interrupted)::float8 AS interrupted, sum(running)::float8 AS running
       FROM t GROUP BY 1`,
    [env],
  );
  return rows;
}

/** Per flow with any: back-off waits (retries) and those a system asked for (throttles), by stage. */
export async function retryTotals(
  db: Queryable,
  env: string,
): Promise<
  { address: string; readRetries: number; writeRetries: number; readThrottles: number; writeThrottles: number }[]
> {
  const { rows } = await db.query(
    `WITH live AS (
       SELECT r.address, sum(b.read_retries) AS rr, sum(b.write_retries) AS wr, sum(b.read_throttles) AS rt,
              sum(b.write_throttles) AS wt
         FROM rsync.runs r, LATERAL rsync.run_backoffs(r.log) AS b
        WHERE r.status = 'running' AND r.env = $1 AND r.retries > 0 GROUP BY r.address
     )
     SELECT coalesce(d.address, l.address) AS address,
            (coalesce(d.read_retries, 0) + coalesce(l.rr, 0))::float8 AS "readRetries",
            (coalesce(d.write_retries, 0) + coalesce(l.wr, 0))::float8 AS "writeRetries",
            (coalesce(d.read_throttles, 0) + coalesce(l.rt, 0))::float8 AS "readThrottles",
            (coalesce(d.write_throttles, 0) + coalesce(l.wt, 0))::float8 AS "writeThrottles"
       FROM (SELECT * FROM rsync.run_totals WHERE env = $1 AND read_retries + write_retries > 0) d
       FULL JOIN live l ON l.address = d.address`,
    [env],
  );
  return rows;
}

/** Finished runs' durations per customer: the count at or under each bound (seconds), their sum and count. */
export async function runDurations(
  db: Queryable,
  env: string,
): Promise<{ bounds: number[]; rows: { customer: string; le: number[]; sum: number; count: number }[] }> {
  const [b, r] = await Promise.all([
    db.query<{ bounds: number[] }>(`SELECT rsync.run_duration_bounds() AS bounds`),
    db.query<{ customer: string; le: number[]; sum: number; count: number }>(
      `WITH per AS (
         SELECT split_part(address, '/', 1) AS customer, duration_le, duration_sum, succeeded + failed + interrupted AS n
           FROM rsync.run_totals WHERE env = $1
       ), buckets AS (
         SELECT customer, u.i, sum(u.v) AS n FROM per, unnest(duration_le) WITH ORDINALITY AS u(v, i) GROUP BY 1, 2
       ), le AS (
         SELECT customer, array_agg(n::float8 ORDER BY i) AS le FROM buckets GROUP BY 1
       )
       SELECT s.customer, le.le, s.sum, s.count
         FROM (SELECT customer, sum(duration_sum)::float8 AS sum, sum(n)::float8 AS count FROM per GROUP BY 1) s
         JOIN le ON le.customer = s.customer`,
      [env],
    ),
  ]);
  return { bounds: b.rows[0].bounds, rows: r.rows };
}

/** Per flow that has run: how its last run ended and when it last succeeded (the lag of a scheduled flow). */
export async function lastRuns(
  db: Queryable,
  env: string,
): Promise<Map<string, { status: string | null; succeededAt: Date | null; running: boolean }>> {
  const { rows } = await db.query<{ address: string; status: string | null; at: Date | null; running: boolean }>(
    `SELECT coalesce(t.address, r.address) AS address, t.last_status AS status, t.succeeded_at AS at,
            r.address IS NOT NULL AS running
       FROM (SELECT address, last_status, succeeded_at FROM rsync.run_totals WHERE env = $1) t
       FULL JOIN (SELECT DISTINCT address FROM rsync.runs WHERE status = 'running' AND env = $1) r
         ON r.address = t.address`,
    [env],
  );
  return new Map(rows.map((r) => [r.address, { status: r.status, succeededAt: r.at, running: r.running }]));
}

/** What is open per flow: pending deliveries (and the oldest's age), dead letters, backfill windows. */
export async function openWork(
  db: Queryable,
  env: string,
): Promise<{
  deliveries: Map<string, { n: number; oldest: Date }>;
  deadLetters: Map<string, number>;
  windows: Map<string, number>;
}> {
  const [d, l, w] = await Promise.all([
    db.query<{ address: string; n: number; oldest: Date }>(
      `SELECT address, count(*)::int AS n, min(received_at) AS oldest FROM rsync.deliveries
        WHERE env = $1 AND done_at IS NULL GROUP BY address`,
      [env],
    ),
    db.query<{ address: string; n: number }>(
      `SELECT address, count(*)::int AS n FROM rsync.dead_letters WHERE env = $1 AND status = 'open' GROUP BY address`,
      [env],
    ),
    db.query<{ address: string; n: number }>(
      `SELECT b.address, count(*)::int AS n FROM rsync.backfill_windows w JOIN rsync.backfills b ON b.id = w.backfill_id
        WHERE b.env = $1 AND b.done_at IS NULL AND w.done_at IS NULL GROUP BY b.address`,
      [env],
    ),
  ]);
  return {
    deliveries: new Map(d.rows.map((r) => [r.address, { n: r.n, oldest: r.oldest }])),
    deadLetters: new Map(l.rows.map((r) => [r.address, r.n])),
    windows: new Map(w.rows.map((r) => [r.address, r.n])),
  };
}
