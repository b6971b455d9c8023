/**
 * rsync.backfills and rsync.backfill_windows: a backfill is a time range of a flow cut into windows; each window
 * keeps its own cursor and is done once its last page committed.
 */
import type pg from 'pg';

type Queryable = Pick<pg.Pool, 'query'>;

export interface BackfillWindow {
  backfill: number;
  n: number;
  address: string;
  since: string;
  until: string;
}

/** Record a backfill of [since, until) in windows of `windowMs` (in the caller's transaction). */
export async function insertBackfill(
  tx: Queryable,
  b: { env: string; address: string; since: Date; until: Date; windowMs: number; actor: string },
): Promise<{ id: number; windows: number }> {
  const { rows } = await tx.query<{ id: string }>(
    `INSERT INTO rsync.backfills (env, address, since, until, created_by) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
    [b.env, b.address, b.since.toISOString(), b.until.toISOString(), b.actor],
  );
  const id = Number(rows[0].id);
  const starts: string[] = [];
  const ends: string[] = [];
  for (let t = b.since.getTime(); t < b.until.getTime(); t += b.windowMs) {
    starts.push(new Date(t).toISOString());
    ends.push(new Date(Math.min(t + b.windowMs, b.until.getTime())).toISOString());
  }
  await tx.query(
    `INSERT INTO rsync.backfill_windows (backfill_id, n, since, until)
     SELECT $1, n, s, u FROM unnest($2::timestamptz[], $3::timestamptz[]) WITH ORDINALITY AS x(s, u, n)`,
    [id, starts, ends],
  );
  return { id, windows: starts.length };
}

/** The environment's open windows, oldest backfill first (candidates: a runner claims one). */
export async function openWindows(db: Queryable, env: string, limit = 200): Promise<BackfillWindow[]> {
  const { rows } = await db.query<{ backfill_id: string; n: number; address: string; since: Date; until: Date }>(
    `SELECT w.backfill_id, w.n, b.address, w.since, w.until
       FROM rsync.backfill_windows w JOIN rsync.backfills b ON b.id = w.backfill_id
      WHERE b.env = $1 AND w.done_at IS NULL ORDER BY w.backfill_id, w.n LIMIT $2`,
    [env, limit],
  );
  return rows.map((w) => ({
    backfill: Number(w.backfill_id),
    n: w.n,
    address: w.address,
    since: w.since.toISOString(),
    until: w.until.toISOString(),
  }));
}

export async function hasOpenWindows(db: Queryable, env: string): Promise<boolean> {
  const { rows } = await db.query(
    `SELECT 1 FROM rsync.backfill_windows w JOIN rsync.backfills b ON b.id = w.backfill_id
      WHERE b.env = $1 AND w.done_at IS NULL LIMIT 1`,
    [env],
  );
  return rows.length > 0;
}

/** A window's cursor as committed, or null when it is done (its previous holder may have just finished it). */
export async function windowCursor(db: Queryable, w: BackfillWindow): Promise<{ cursor: unknown } | null> {
  const { rows } = await db.query(
    `SELECT cursor, done_at FROM rsync.backfill_windows WHERE backfill_id = $1 AND n = $2`,
    [w.backfill, w.n],
  );
  if (rows[0]?.done_at) return null;
  return { cursor: rows[0]?.cursor ?? null };
}

/** Move a window's cursor past a page, in the transaction that commits the page; the last page closes it. */
export async function saveWindowPage(
  tx: Queryable,
  w: BackfillWindow,
  page: { cursor: unknown; read: number; last: boolean },
): Promise<void> {
  await tx.query(
    `UPDATE rsync.backfill_windows SET cursor = $3, read = read + $4, done_at = CASE WHEN $5 THEN now() END
      WHERE backfill_id = $1 AND n = $2`,
    [w.backfill, w.n, JSON.stringify(page.cursor), page.read, page.last],
  );
}

/** Mark the environment's backfills done whose windows all are. */
export async function closeFinishedBackfills(db: Queryable, env: string): Promise<void> {
  await db.query(
    `UPDATE rsync.backfills b SET done_at = now() WHERE env = $1 AND done_at IS NULL
        AND NOT EXISTS (SELECT 1 FROM rsync.backfill_windows w WHERE w.backfill_id = b.id AND w.done_at IS NULL)`,
    [env],
  );
}

export async function backfillProgress(
  db: Queryable,
  id: number,
): Promise<{ windows: number; done: number; read: number }> {
  const { rows } = await db.query<{ windows: string; done: string; read: string }>(
    `SELECT count(*) AS windows, count(done_at) AS done, coalesce(sum(read), 0) AS read
       FROM rsync.backfill_windows WHERE backfill_id = $1`,
    [id],
  );
  return { windows: Number(rows[0].windows), done: Number(rows[0].done), read: Number(rows[0].read) };
}
