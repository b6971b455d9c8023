/**
 * rsync.rate_limits: a token bucket per system, shared by every worker on every machine. A caller reserves its
 * tokens in one UPDATE (the bucket refills at `perSecond`, up to `burst` — one second's worth unless told — and may
 * go into debt); reserving first keeps callers in order and never over the rate. The wait for a debt is the
 * caller's (runtime/throttle.ts).
 *
 * Two more moves keep the bucket honest with a system that reports its own (Shopify's throttleStatus) or asks for a
 * pause (Retry-After): `observeTokens` sets what is left to what the system says, and `pauseTokens` puts the bucket
 * into enough debt that every caller, on every worker, waits out the pause.
 */
import type pg from 'pg';

/** Take `cost` tokens from the system's bucket; returns what is left (below 0: the caller owes that much). */
export async function reserveTokens(
  db: Pick<pg.Pool, 'query'>,
  system: string,
  cost: number,
  perSecond: number,
  burst = Math.max(1, perSecond),
): Promise<number> {
  const { rows } = await db.query<{ tokens: number }>(
    `INSERT INTO rsync.rate_limits AS r (system, tokens, updated_at) VALUES ($1, $2::float8 - $3::float8, clock_timestamp())
     ON CONFLICT (system) DO UPDATE SET
       tokens = least($2::float8, r.tokens + extract(epoch FROM clock_timestamp() - r.updated_at)::float8 * $4::float8) - $3::float8,
       updated_at = clock_timestamp()
     RETURNING tokens`,
    [system, burst, cost, perSecond],
  );
  return Number(rows[0].tokens);
}

/**
 * The system says `available` tokens are left: the bucket follows, but only downwards of what it would hold now —
 * a report that left before our latest reservations must not hand back tokens they took.
 */
export async function observeTokens(
  db: Pick<pg.Pool, 'query'>,
  system: string,
  available: number,
  perSecond: number,
  burst = Math.max(1, perSecond),
): Promise<void> {
  await db.query(
    `INSERT INTO rsync.rate_limits AS r (system, tokens, updated_at) VALUES ($1, least($2::float8, $3::float8), clock_timestamp())
     ON CONFLICT (system) DO UPDATE SET
       tokens = least($2::float8, $3::float8,
                      r.tokens + extract(epoch FROM clock_timestamp() - r.updated_at)::float8 * $4::float8),
       updated_at = clock_timestamp()`,
    [system, burst, available, perSecond],
  );
}

/** Every caller waits at least `ms` from now: the bucket goes into a debt that takes that long to repay. */
export async function pauseTokens(
  db: Pick<pg.Pool, 'query'>,
  system: string,
  ms: number,
  perSecond: number,
): Promise<void> {
  const debt = -(ms / 1000) * perSecond;
  await db.query(
    `INSERT INTO rsync.rate_limits AS r (system, tokens, updated_at) VALUES ($1, $2::float8, clock_timestamp())
     ON CONFLICT (system) DO UPDATE SET
       tokens = least($2::float8, r.tokens + extract(epoch FROM clock_timestamp() - r.updated_at)::float8 * $3::float8),
       updated_at = clock_timestamp()`,
    [system, debt, perSecond],
  );
}
