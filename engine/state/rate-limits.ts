/**
 * rsync.rate_limits: a token bucket per system, shared by every worker on every machine. A caller reserves its
 * tokens in one UPDATE (the bucket refills at `perSecond`, up to `burst` — one second's worth unless told — and may
 * go into debt); reserving first keeps callers in order and never over the rate. The wait for a debt is the
 * caller's (runtime/throttle.ts).
 *
 * Two more moves keep the bucket honest with a system that reports its own (Shopify's throttleStatus) or asks for a
 * pause (Retry-After): `observeTokens` sets what is left to what the system says, and `pauseTokens` puts the bucket
 * into enough debt that every caller, on every worker, waits out the pause.
 *
 * A third is for a system that throttles and says nothing more (Square's 429): `slowTokens` halves the rate the
 * bucket refills at, for every worker, and the rate climbs back by itself (connectors/kit/limiter.ts SLOW). The
 * slowed rate is a row of its own, `<system>~pace`, whose `tokens` is the rate at the last halving and whose
 * `updated_at` is when that was — the rate now follows from those two, so no caller has to write it back; a bucket
 * never slowed has no such row and refills at the rate its callers name.
 */
import type pg from 'pg';
import { SLOW } from '../connectors/kit/limiter.js';

/**
 * The rate a bucket refills at now, as the CTE `pace (rate)`: $1 the bucket, `full` the parameter of its full rate.
 * The pace row's rate at its last halving, plus the recovery since, at most the full rate.
 */
const pace = (full: string) => `pace AS (
  SELECT coalesce((SELECT least(${full}::float8, p.tokens + extract(epoch FROM clock_timestamp() - p.updated_at)::float8 * ${full}::float8 * ${1000 / SLOW.recoverMs})
                     FROM rsync.rate_limits p WHERE p.system = $1::text || '~pace'), ${full}::float8) AS rate)`;

/**
 * Take `cost` tokens from the system's bucket; returns what is left (below 0: the caller owes that much) and the
 * rate the bucket refills at now (the debt is repaid at that rate).
 */
export async function reserveTokens(
  db: Pick<pg.Pool, 'query'>,
  system: string,
  cost: number,
  perSecond: number,
  burst = Math.max(1, perSecond),
): Promise<{ tokens: number; rate: number }> {
  const { rows } = await db.query<{ tokens: number; rate: number }>(
    `WITH ${pace('$4')}
     INSERT INTO rsync.rate_limits AS r (system, tokens, updated_at) VALUES ($1, $2::float8 - $3::float8, clock_timestamp())
     ON CONFLICT (system) DO UPDATE SET
       tokens = least($2::float8, r.tokens + extract(epoch FROM clock_timestamp() - r.updated_at)::float8 * (SELECT rate FROM pace)) - $3::float8,
       updated_at = clock_timestamp()
     RETURNING tokens, (SELECT rate FROM pace) AS rate`,
    [system, burst, cost, perSecond],
  );
  return { tokens: Number(rows[0].tokens), rate: Number(rows[0].rate) };
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
    `WITH ${pace('$4')}
     INSERT INTO rsync.rate_limits AS r (system, tokens, updated_at) VALUES ($1, least($2::float8, $3::float8), clock_timestamp())
     ON CONFLICT (system) DO UPDATE SET
       tokens = least($2::float8, $3::float8,
                      r.tokens + extract(epoch FROM clock_timestamp() - r.updated_at)::float8 * (SELECT rate FROM pace)),
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
  await db.query(
    `WITH ${pace('$3')}
     INSERT INTO rsync.rate_limits AS r (system, tokens, updated_at) VALUES ($1, -($2::float8 / 1000) * (SELECT rate FROM pace), clock_timestamp())
     ON CONFLICT (system) DO UPDATE SET
       tokens = least(-($2::float8 / 1000) * (SELECT rate FROM pace),
                      r.tokens + extract(epoch FROM clock_timestamp() - r.updated_at)::float8 * (SELECT rate FROM pace)),
       updated_at = clock_timestamp()`,
    [system, ms, perSecond],
  );
}

/**
 * The system throttled without saying more: the bucket's rate halves, for every caller on every worker — unless it
 * was halved less than SLOW.guardMs ago, by a throttle of the same burst.
 */
export async function slowTokens(db: Pick<pg.Pool, 'query'>, system: string, perSecond: number): Promise<void> {
  await db.query(
    `WITH ${pace('$4')}
     INSERT INTO rsync.rate_limits AS r (system, tokens, updated_at)
     VALUES ($1::text || '~pace', greatest($4::float8 * $2::float8, (SELECT rate FROM pace) * $3::float8), clock_timestamp())
     ON CONFLICT (system) DO UPDATE SET
       tokens = greatest($4::float8 * $2::float8, (SELECT rate FROM pace) * $3::float8),
       updated_at = clock_timestamp()
     WHERE r.updated_at < clock_timestamp() - $5::float8 * interval '1 millisecond'`,
    [system, SLOW.floor, SLOW.factor, perSecond, SLOW.guardMs],
  );
}
