/** rsync.cursors: how far an incremental flow has read its source (promise 5: moved only with its page's commit). */
import type pg from 'pg';

type Queryable = Pick<pg.Pool, 'query'>;

export async function readCursor(db: Queryable, env: string, address: string): Promise<unknown> {
  const { rows } = await db.query(`SELECT cursor FROM rsync.cursors WHERE env = $1 AND address = $2`, [env, address]);
  return rows[0]?.cursor ?? null;
}

/** Move the cursor, in the transaction that commits the page read up to it. */
export async function saveCursor(tx: Queryable, env: string, address: string, cursor: unknown): Promise<void> {
  await tx.query(
    `INSERT INTO rsync.cursors (env, address, cursor) VALUES ($1, $2, $3)
     ON CONFLICT (env, address) DO UPDATE SET cursor = excluded.cursor, updated_at = now()`,
    [env, address, JSON.stringify(cursor)],
  );
}
