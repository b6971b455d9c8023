/**
 * rsync.deliveries: verified webhook deliveries, stored once by their delivery id, worked by event runs. A
 * delivered one keeps its id (for de-duplication) but not its payload, which may hold personal data.
 */
import type pg from 'pg';

type Queryable = Pick<pg.Pool, 'query'>;

/** Store a delivery once; false when its delivery id was seen before. */
export async function insertDelivery(
  db: Queryable,
  d: { env: string; address: string; deliveryId: string; topic: string | undefined; records: unknown[] },
): Promise<boolean> {
  const { rowCount } = await db.query(
    `INSERT INTO rsync.deliveries (env, address, delivery_id, topic, records) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (env, address, delivery_id) DO NOTHING`,
    [d.env, d.address, d.deliveryId, d.topic ?? null, JSON.stringify(d.records)],
  );
  return (rowCount ?? 0) > 0;
}

/** The oldest pending deliveries of a flow, up to `limit` (candidates: a run claims them one by one). */
export async function pendingDeliveryIds(
  db: Queryable,
  env: string,
  address: string,
  limit: number,
): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT id FROM rsync.deliveries WHERE env = $1 AND address = $2 AND done_at IS NULL ORDER BY id LIMIT $3`,
    [env, address, limit],
  );
  return rows.map((r) => r.id);
}

/** The records of those deliveries that are still pending (a claimant re-reads them once it holds their claims). */
export async function pendingDeliveries(
  db: Queryable,
  ids: string[],
): Promise<{ id: string; topic: string | null; records: unknown[] }[]> {
  const { rows } = await db.query<{ id: string; topic: string | null; records: unknown[] }>(
    `SELECT id, topic, records FROM rsync.deliveries WHERE id = ANY($1) AND done_at IS NULL ORDER BY id`,
    [ids],
  );
  return rows;
}

/**
 * Mark deliveries done (their page's transaction); returns each one's seconds from received to now (the latency
 * metric's). done_at is the transaction's time, the same instant as the ledger rows the page wrote (the console's
 * record journey joins them on it).
 */
export async function markDelivered(tx: Queryable, ids: string[]): Promise<number[]> {
  const { rows } = await tx.query<{ s: number }>(
    `UPDATE rsync.deliveries SET done_at = now(), records = '[]' WHERE id = ANY($1)
     RETURNING extract(epoch FROM clock_timestamp() - received_at)::float8 AS s`,
    [ids],
  );
  return rows.map((r) => r.s);
}

/** The flows of an environment with pending deliveries. */
export async function flowsWithDeliveries(db: Queryable, env: string): Promise<string[]> {
  const { rows } = await db.query<{ address: string }>(
    `SELECT DISTINCT address FROM rsync.deliveries WHERE env = $1 AND done_at IS NULL`,
    [env],
  );
  return rows.map((r) => r.address);
}

/** Per flow: how many deliveries are pending and since when. */
export async function pendingDeliveryCounts(
  db: Queryable,
  env: string,
  addresses: string[],
): Promise<Map<string, { n: number; oldest: Date }>> {
  const { rows } = await db.query<{ address: string; n: number; oldest: Date }>(
    `SELECT address, count(*)::int AS n, min(received_at) AS oldest FROM rsync.deliveries
      WHERE env = $1 AND address = ANY($2) AND done_at IS NULL GROUP BY address`,
    [env, addresses],
  );
  return new Map(rows.map((r) => [r.address, { n: r.n, oldest: r.oldest }]));
}

/** How many deliveries of the environment are pending. */
export async function pendingDeliveryTotal(db: Queryable, env: string): Promise<number> {
  const { rows } = await db.query<{ n: string }>(
    `SELECT count(*) AS n FROM rsync.deliveries WHERE env = $1 AND done_at IS NULL`,
    [env],
  );
  return Number(rows[0].n);
}
