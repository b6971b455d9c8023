/**
 * The reads of rsync.runs, rsync.deliveries and rsync.dead_letters that SLA evaluation (runtime/sla.ts) and the
 * monthly report (report/) make: successes in time order, late deliveries, latency percentiles, the running tally of
 * records and dead letters, and the figures of a month. Aggregated in PostgreSQL: a month of a busy flow's runs
 * never comes to the process.
 */
import type pg from 'pg';
import type { Counts } from './runs.js';

type Queryable = Pick<pg.Pool, 'query'>;

/**
 * Each flow's successful runs' ends in (since, until], oldest first, with the last one at or before `since`
 * before them (where lag was counted from when the window opened).
 */
export async function successesSince(
  db: Queryable,
  env: string,
  addresses: string[],
  since: Date,
  until: Date,
): Promise<Map<string, Date[]>> {
  const { rows } = await db.query<{ address: string; at: Date }>(
    `SELECT address, at FROM (
       SELECT address, finished_at AS at FROM rsync.runs
        WHERE env = $1 AND address = ANY($2) AND status = 'succeeded' AND finished_at > $3 AND finished_at <= $4
       UNION ALL
       SELECT a.address, p.at FROM unnest($2::text[]) AS a(address)
         CROSS JOIN LATERAL (SELECT finished_at AS at FROM rsync.runs r
                              WHERE r.env = $1 AND r.address = a.address AND r.status = 'succeeded' AND r.finished_at <= $3
                              ORDER BY r.id DESC LIMIT 1) p
     ) s ORDER BY address, at`,
    [env, addresses, since, until],
  );
  return group(rows, (r) => r.at);
}

/** Runs of one flow started in [from, to), by status: what a breach's cause says. */
export async function runStatusesBetween(
  db: Queryable,
  env: string,
  address: string,
  from: Date,
  to: Date,
): Promise<{ failed: number; running: number; succeeded: number; interrupted: number; lastError: boolean }> {
  const { rows } = await db.query<{ status: string; n: number }>(
    `SELECT status, count(*)::int AS n FROM rsync.runs
      WHERE env = $1 AND address = $2 AND started_at >= $3 AND started_at < $4 GROUP BY status`,
    [env, address, from, to],
  );
  const by = new Map(rows.map((r) => [r.status, r.n]));
  return {
    failed: by.get('failed') ?? 0,
    running: by.get('running') ?? 0,
    succeeded: by.get('succeeded') ?? 0,
    interrupted: by.get('interrupted') ?? 0,
    lastError: (by.get('failed') ?? 0) > 0,
  };
}

/**
 * Deliveries of event flows that waited longer than their flow's limit (`ms`): still pending at `now`, or done after
 * `since`; oldest first.
 */
export async function lateDeliveries(
  db: Queryable,
  env: string,
  limits: { address: string; ms: number }[],
  since: Date,
  now: Date,
): Promise<Map<string, { receivedAt: Date; doneAt: Date | null }[]>> {
  if (!limits.length) return new Map();
  const { rows } = await db.query<{ address: string; receivedAt: Date; doneAt: Date | null }>(
    `SELECT d.address, d.received_at AS "receivedAt", d.done_at AS "doneAt"
       FROM rsync.deliveries d JOIN unnest($2::text[], $3::bigint[]) AS f(address, ms) ON f.address = d.address
      WHERE d.env = $1 AND (d.done_at IS NULL OR d.done_at > $4) AND d.received_at <= $5
        AND coalesce(d.done_at, $5) - d.received_at > f.ms * interval '1 millisecond'
      ORDER BY d.address, d.received_at`,
    [env, limits.map((l) => l.address), limits.map((l) => l.ms), since, now],
  );
  return group(rows, (r) => ({ receivedAt: r.receivedAt, doneAt: r.doneAt }));
}

/**
 * Per event flow, the 95th percentile of delivery → done (received_at → done_at) of the deliveries done in
 * (from, to], how many there were, and when the first one slower than the flow's limit was done.
 */
export async function latencyP95(
  db: Queryable,
  env: string,
  limits: { address: string; ms: number }[],
  from: Date,
  to: Date,
): Promise<Map<string, { p95Ms: number; n: number; firstSlowAt: Date | null }>> {
  if (!limits.length) return new Map();
  const { rows } = await db.query<{ address: string; p95: number; n: number; first_slow: Date | null }>(
    `SELECT d.address,
            percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM d.done_at - d.received_at)) * 1000 AS p95,
            count(*)::int AS n,
            min(d.done_at) FILTER (WHERE d.done_at - d.received_at > f.ms * interval '1 millisecond') AS first_slow
       FROM rsync.deliveries d JOIN unnest($2::text[], $3::bigint[]) AS f(address, ms) ON f.address = d.address
      WHERE d.env = $1 AND d.done_at > $4 AND d.done_at <= $5
      GROUP BY d.address`,
    [env, limits.map((l) => l.address), limits.map((l) => l.ms), from, to],
  );
  return new Map(rows.map((r) => [r.address, { p95Ms: Math.round(Number(r.p95)), n: r.n, firstSlowAt: r.first_slow }]));
}

/**
 * The running tally of records read and dead-lettered by the runs started in [from, to), run by run in the order
 * they ended, for the flows that dead-lettered anything then (the others cannot have breached a success rate).
 */
export async function runningTally(
  db: Queryable,
  env: string,
  addresses: string[],
  from: Date,
  to: Date,
): Promise<Map<string, { at: Date; read: number; dead: number }[]>> {
  const { rows } = await db.query<{ address: string; at: Date; read: string; dead: string }>(
    `WITH r AS (
       SELECT id, address, coalesce(finished_at, started_at) AS at, read, dead FROM rsync.runs
        WHERE env = $1 AND address = ANY($2) AND started_at >= $3 AND started_at < $4)
     SELECT address, at, sum(read) OVER w AS read, sum(dead) OVER w AS dead FROM r
      WHERE address IN (SELECT address FROM r GROUP BY address HAVING sum(dead) > 0)
     WINDOW w AS (PARTITION BY address ORDER BY at, id)
     ORDER BY address, at, id`,
    [env, addresses, from, to],
  );
  return group(rows, (r) => ({ at: r.at, read: Number(r.read), dead: Number(r.dead) }));
}

/** The flows whose runs that ended in (since, until] dead-lettered records: the only ones a success rate can breach. */
export async function flowsDeadLetteringSince(
  db: Queryable,
  env: string,
  since: Date,
  until: Date,
): Promise<Set<string>> {
  const { rows } = await db.query<{ address: string }>(
    `SELECT DISTINCT address FROM rsync.runs WHERE env = $1 AND finished_at > $2 AND finished_at <= $3 AND dead > 0
     UNION
     SELECT DISTINCT address FROM rsync.runs WHERE env = $1 AND status = 'running' AND dead > 0`,
    [env, since, until],
  );
  return new Set(rows.map((r) => r.address));
}

/** Per flow, the counts of the runs started in [from, to). */
export async function countsBetween(
  db: Queryable,
  env: string,
  addresses: string[],
  from: Date,
  to: Date,
): Promise<Map<string, Counts>> {
  const { rows } = await db.query<{ address: string } & Record<keyof Omit<Counts, 'filteredBy'>, string>>(
    `SELECT address, sum(read) AS read, sum(written) AS written, sum(unchanged) AS unchanged, sum(filtered) AS filtered,
            sum(dead) AS dead
       FROM rsync.runs WHERE env = $1 AND address = ANY($2) AND started_at >= $3 AND started_at < $4
      GROUP BY address`,
    [env, addresses, from, to],
  );
  return new Map(
    rows.map((r) => [
      r.address,
      {
        read: Number(r.read),
        written: Number(r.written),
        unchanged: Number(r.unchanged),
        filtered: Number(r.filtered),
        dead: Number(r.dead),
      },
    ]),
  );
}

/** Per UTC day of [from, to): records read and dead-lettered by the flows' runs, and their deliveries' p95. */
export async function dailyFigures(
  db: Queryable,
  env: string,
  addresses: string[],
  from: Date,
  to: Date,
): Promise<{ day: string; read: number; written: number; dead: number; latencyP95Ms: number | null }[]> {
  const { rows } = await db.query<{ day: string; read: string; written: string; dead: string; p95: number | null }>(
    `WITH days AS (
       SELECT to_char(d, 'YYYY-MM-DD') AS day, d AS start FROM generate_series($3::timestamptz AT TIME ZONE 'UTC',
              ($4::timestamptz AT TIME ZONE 'UTC') - interval '1 day', interval '1 day') AS d),
     runs AS (
       SELECT to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, sum(read) AS read, sum(written) AS written,
              sum(dead) AS dead
         FROM rsync.runs WHERE env = $1 AND address = ANY($2) AND started_at >= $3 AND started_at < $4 GROUP BY 1),
     lat AS (
       SELECT to_char(done_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day,
              percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM done_at - received_at)) * 1000 AS p95
         FROM rsync.deliveries WHERE env = $1 AND address = ANY($2) AND done_at >= $3 AND done_at < $4 GROUP BY 1)
     SELECT days.day, coalesce(runs.read, 0) AS read, coalesce(runs.written, 0) AS written,
            coalesce(runs.dead, 0) AS dead, lat.p95
       FROM days LEFT JOIN runs USING (day) LEFT JOIN lat USING (day) ORDER BY days.day`,
    [env, addresses, from, to],
  );
  return rows.map((r) => ({
    day: r.day,
    read: Number(r.read),
    written: Number(r.written),
    dead: Number(r.dead),
    latencyP95Ms: r.p95 === null ? null : Math.round(Number(r.p95)),
  }));
}

/** Dead letters of the flows opened in [from, to), those of them resolved (replayed, discarded), and any resolved then. */
export async function deadLetterFigures(
  db: Queryable,
  env: string,
  addresses: string[],
  from: Date,
  to: Date,
): Promise<{ opened: number; resolved: number; replayed: number; discarded: number; openAtEnd: number }> {
  const { rows } = await db.query<Record<string, number>>(
    `SELECT count(*) FILTER (WHERE created_at >= $3 AND created_at < $4)::int AS opened,
            count(*) FILTER (WHERE resolved_at >= $3 AND resolved_at < $4)::int AS resolved,
            count(*) FILTER (WHERE resolved_at >= $3 AND resolved_at < $4 AND status = 'replayed')::int AS replayed,
            count(*) FILTER (WHERE resolved_at >= $3 AND resolved_at < $4 AND status = 'discarded')::int AS discarded,
            count(*) FILTER (WHERE created_at < $4 AND (resolved_at IS NULL OR resolved_at >= $4))::int AS "openAtEnd"
       FROM rsync.dead_letters WHERE env = $1 AND address = ANY($2)`,
    [env, addresses, from, to],
  );
  const r = rows[0];
  return {
    opened: r.opened,
    resolved: r.resolved,
    replayed: r.replayed,
    discarded: r.discarded,
    openAtEnd: r.openAtEnd,
  };
}

/** The deployed customer's display name (the Customer document's spec.displayName), else its name. */
export async function customerDisplayName(db: Queryable, env: string, customer: string): Promise<string | undefined> {
  const { rows } = await db.query<{ name: string | null }>(
    `SELECT spec->'spec'->>'displayName' AS name FROM rsync.resources WHERE env = $1 AND kind = 'customer' AND name = $2`,
    [env, customer],
  );
  return rows.length ? (rows[0].name ?? customer) : undefined;
}

function group<R extends { address: string }, V>(rows: R[], value: (r: R) => V): Map<string, V[]> {
  const out = new Map<string, V[]>();
  for (const r of rows) {
    let list = out.get(r.address);
    if (!list) out.set(r.address, (list = []));
    list.push(value(r));
  }
  return out;
}
