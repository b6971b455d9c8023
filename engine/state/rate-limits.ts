/**
 * Per-connection rate limits that hold across every worker: a token bucket per system in rsync.rate_limits,
 * shared by every worker on every machine. A caller reserves its tokens in one UPDATE (the bucket refills at
 * `perSecond`, up to one second's worth, and may go into debt); when the bucket was short it waits until its
 * reservation is covered. Reserving first keeps callers in order and never over the rate.
 */
import type pg from 'pg';
import { sleep } from '../runtime/pipeline.js';

export function throttleFor(
  db: Pick<pg.Pool, 'query'>,
  system: string,
  perSecond: number,
  signal?: AbortSignal,
): (cost: number) => Promise<void> {
  const burst = Math.max(1, perSecond);
  return async (cost: number) => {
    const { rows } = await db.query<{ tokens: number }>(
      `INSERT INTO rsync.rate_limits AS r (system, tokens, updated_at) VALUES ($1, $2::float8 - $3::float8, clock_timestamp())
       ON CONFLICT (system) DO UPDATE SET
         tokens = least($2::float8, r.tokens + extract(epoch FROM clock_timestamp() - r.updated_at)::float8 * $4::float8) - $3::float8,
         updated_at = clock_timestamp()
       RETURNING tokens`,
      [system, burst, cost, perSecond],
    );
    const tokens = Number(rows[0].tokens);
    if (tokens < 0) await sleep(Math.ceil((-tokens / perSecond) * 1000), signal);
  };
}
