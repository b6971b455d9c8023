/**
 * The one transaction helper of the state database: every BEGIN … COMMIT of rsync goes through it, so a failure
 * always rolls back and a pooled connection always goes back to its pool.
 */
import pg from 'pg';

/** Clients already given an 'error' listener (a pooled client is checked out many times). */
const guarded = new WeakSet<pg.PoolClient>();

/**
 * A connection of `pool` for `fn`, held while it runs (its session's advisory locks: a run's claims), then given
 * back. A connection the server dropped meanwhile (PostgreSQL restarted, the postmaster was killed) emits 'error'
 * on its client, which with no listener kills the process: here it is listened to, the queries on it fail
 * instead, and it is given back broken so that the pool destroys it rather than lend it again; so is one whose
 * `fn` threw.
 */
export async function withClient<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const onError = (e: Error) => {
    broken = e;
  };
  if (!guarded.has(client)) {
    guarded.add(client);
    client.on('error', () => {}); // for the idle times too; the pool's own 'error' handler sees those
  }
  client.on('error', onError);
  let failed: Error | undefined;
  try {
    return await fn(client);
  } catch (e) {
    // A session that failed half-way may still hold what it claimed (advisory locks): it is not lent again.
    failed = e instanceof Error ? e : new Error(String(e));
    throw e;
  } finally {
    client.off('error', onError);
    client.release(broken ?? failed);
  }
}

/**
 * Run `fn` in a transaction. Given a pool, on a connection of its own that is released afterwards; given a
 * connection, on that one (which keeps its session: advisory locks held by a run stay held).
 */
export async function withTransaction<T>(
  db: pg.Pool | pg.PoolClient,
  fn: (tx: pg.PoolClient) => Promise<T>,
): Promise<T> {
  if (db instanceof pg.Pool) return withClient(db, (client) => withTransaction(client, fn));
  await db.query('BEGIN');
  try {
    const out = await fn(db);
    await db.query('COMMIT');
    return out;
  } catch (e) {
    await db.query('ROLLBACK').catch(() => {});
    throw e;
  }
}
