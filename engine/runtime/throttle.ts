/**
 * Per-connection rate limits that hold across every worker (the bucket: state/rate-limits.ts): a caller that
 * finds the bucket short waits until its reservation is covered.
 * `limiterFor` gives a connector the buckets it names (connectors/kit/limiter.ts: Shopify's GraphQL points, Stripe's
 * requests, the http connector's `settings.rateLimit`), each followed to what the system reports, paused by its
 * Retry-After, and slowed for every worker by a throttle that says nothing more.
 */
import type pg from 'pg';
import type { Limiter, LimiterOptions } from '../connectors/types.js';
import { observeTokens, pauseTokens, reserveTokens, slowTokens } from '../state/rate-limits.js';
import { sleep } from './pipeline.js';

/** Reserve `cost` tokens of the bucket `name`, then wait out any debt the reservation left. */
async function take(
  db: Pick<pg.Pool, 'query'>,
  name: string,
  cost: number,
  perSecond: number,
  burst: number,
  signal?: AbortSignal,
): Promise<void> {
  const { tokens, rate } = await reserveTokens(db, name, cost, perSecond, burst);
  if (tokens < 0) await sleep(Math.ceil((-tokens / rate) * 1000), signal);
}

/** The named buckets of one connection, in the state database: `<customer>/<connection>:<key>`. */
export function limiterFor(
  db: Pick<pg.Pool, 'query'>,
  system: string,
  runSignal?: AbortSignal,
): (key: string, o: LimiterOptions) => Limiter {
  return (key, o) => {
    const name = `${system}:${key}`;
    // What the system reports of its bucket (Shopify's throttleStatus: its size and restore rate) replaces what the
    // connector assumed from then on: refilled at an assumed rate higher than the real one, the bucket would grant
    // calls the system then throttles, between two reports.
    let perSecond = o.perSecond;
    let burst = o.burst ?? Math.max(1, o.perSecond);
    return {
      take: (cost = 1, signal) => take(db, name, cost, perSecond, burst, signal ?? runSignal),
      observe: (s) => {
        if (s.perSecond !== undefined && s.perSecond > 0) perSecond = s.perSecond;
        if (s.max !== undefined && s.max > 0) burst = s.max;
        return observeTokens(db, name, s.available, perSecond, burst);
      },
      pause: (ms) => pauseTokens(db, name, ms, perSecond),
      slow: () => slowTokens(db, name, perSecond),
    };
  };
}
