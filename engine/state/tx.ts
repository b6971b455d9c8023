/**
 * The one transaction helper of the state database: every BEGIN … COMMIT of rsync goes through it, so a failure
 * always rolls back and a pooled connection always goes back to its pool.
 */
import pg from 'pg';

/**
 * Run `fn` in a transaction. Given a pool, on a connection of its own that is released afterwards; given a
 * connection, on that one (which keeps its session: advisory locks held by a run stay held).
 */
export async function withTransaction<T>(
  db: pg.Pool | pg.PoolClient,
  fn: (tx: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const own = db instanceof pg.Pool;
  const client = own ? await db.connect() : db;
  try {
    await client.query('BEGIN');
    try {
      const out = await fn(client);
      await client.query('COMMIT');
      return out;
    } catch (e) {
      await client.query('ROLLBACK').catch(() => {});
      throw e;
    }
  } finally {
    if (own) client.release();
  }
}
