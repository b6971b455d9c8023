/**
 * rsync.rate_limits: a token bucket per system, shared by every worker on every machine. A caller reserves its
 * tokens in one UPDATE (the bucket refills at `perSecond`, up to one second's worth, and may go into debt);
 * reserving first keeps callers in order and never over the rate. The wait for a debt is the caller's
 * (runtime/throttle.ts).
 */
import type pg from 'pg';

/** Take `cost` tokens from the system's bucket; returns what is left (below 0: the caller owes that much). */
export async function reserveTokens(
  db: Pick<pg.Pool, 'query'>,
  system: string,
  cost: number,
  perSecond: number,
): Promise<number> {
  const burst = Math.max(1, perSecond);
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
