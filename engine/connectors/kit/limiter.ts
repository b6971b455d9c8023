/**
 * Rate limits as a connector names them: a token bucket per key of a connection (Shopify's GraphQL points, a REST
 * API's requests), with a cap on requests in flight. Run by the worker, the bucket lives in PostgreSQL and holds
 * across every worker on every machine (runtime/throttle.ts `limiterFor`, given as ctx.limiter); elsewhere — a test,
 * a one-off `rsync connection check` — it is a bucket in this process with the same arithmetic.
 *
 * A connection's `settings.rateLimit.perSecond` (and `burst`) overrides the vendor's default: a partner whose
 * store has a higher plan, or who shares an app's budget with another integration, says so there.
 */
import { isObject } from '../../util/merge.js';
import type { ConnectorContext, Limiter, LimiterOptions } from '../types.js';

/**
 * How a bucket slows after a throttle that says nothing more (Limiter.slow), here and in PostgreSQL alike
 * (state/rate-limits.ts): the rate halves, to no less than a fiftieth; throttles within a second of the last halving
 * are the same burst's and halve nothing; the rate then climbs back linearly, the whole of it in five minutes (a
 * halved one in two and a half). Against a limit below the connector's rate that is one throttle every minute or
 * two, at about three quarters of the limit on average — not a throttle every few seconds at all of it.
 */
export const SLOW = { factor: 0.5, floor: 1 / 50, guardMs: 1_000, recoverMs: 300_000 } as const;

export interface RateLimiter extends Limiter {
  /** Runs `fn` within the concurrency cap (immediately when there is none). */
  slot<T>(fn: () => Promise<T>): Promise<T>;
  readonly perSecond: number;
  readonly burst: number;
  /** The cap on requests in flight, when there is one. */
  readonly concurrency?: number;
  slow(): Promise<void>;
}

export interface RateLimiterOptions extends LimiterOptions {
  /**
   * At most this many requests in flight (Shopify bulk downloads, Stripe's concurrency limit, NetSuite's account
   * concurrency). Run by the worker, the cap holds across every worker (ctx.slots, leases in PostgreSQL); elsewhere
   * in this process. A connection's `settings.concurrency` overrides it.
   */
  concurrency?: number;
}

export function rateLimiter(
  ctx: Pick<ConnectorContext, 'settings' | 'limiter' | 'slots'>,
  key: string,
  o: RateLimiterOptions,
): RateLimiter {
  const own = isObject(ctx.settings.rateLimit) ? ctx.settings.rateLimit : {};
  const perSecond = typeof own.perSecond === 'number' && own.perSecond > 0 ? own.perSecond : o.perSecond;
  const burst = typeof own.burst === 'number' && own.burst > 0 ? own.burst : (o.burst ?? Math.max(1, perSecond));
  const bucket = ctx.limiter?.(key, { perSecond, burst }) ?? localBucket(perSecond, burst);
  const cap =
    typeof ctx.settings.concurrency === 'number' && ctx.settings.concurrency >= 1
      ? Math.floor(ctx.settings.concurrency)
      : o.concurrency;
  const shared = cap ? ctx.slots?.(key, cap) : undefined;
  const slot = shared
    ? async <T>(fn: () => Promise<T>): Promise<T> => {
        const release = await shared.acquire();
        try {
          return await fn();
        } finally {
          await release();
        }
      }
    : cap
      ? semaphore(cap)
      : <T>(fn: () => Promise<T>) => fn();
  return {
    perSecond,
    burst,
    take: (cost, signal) => bucket.take(cost, signal),
    observe: (s) => bucket.observe(s),
    pause: (ms) => bucket.pause(ms),
    slow: () => bucket.slow?.() ?? Promise.resolve(),
    slot,
    concurrency: cap,
  };
}

/**
 * A token bucket in this process: the same arithmetic as state/rate-limits.ts, and like runtime/throttle.ts it takes
 * the size and rate the system reports (observe) over the ones it was made with.
 */
export function localBucket(perSecond: number, burst = Math.max(1, perSecond), now = () => Date.now()): Limiter {
  let tokens = burst;
  let at = now();
  /** The rate a slow() left, and when. */
  let slowed: { rate: number; at: number } | undefined;
  const rate = (t = now()) =>
    slowed ? Math.min(perSecond, slowed.rate + ((t - slowed.at) / SLOW.recoverMs) * perSecond) : perSecond;
  const refill = () => {
    const t = now();
    tokens = Math.min(burst, tokens + ((t - at) / 1000) * rate(t));
    at = t;
  };
  return {
    async take(cost = 1, signal) {
      refill();
      tokens -= cost;
      if (tokens < 0) await wait(Math.ceil((-tokens / rate()) * 1000), signal);
    },
    async observe(s) {
      refill();
      if (s.perSecond !== undefined && s.perSecond > 0) perSecond = s.perSecond;
      if (s.max !== undefined && s.max > 0) burst = s.max;
      tokens = Math.min(tokens, s.available, burst);
    },
    async pause(ms) {
      refill();
      tokens = Math.min(tokens, -(ms / 1000) * rate());
    },
    async slow() {
      refill();
      const t = now();
      if (slowed && t - slowed.at < SLOW.guardMs) return;
      slowed = { rate: Math.max(perSecond * SLOW.floor, rate(t) * SLOW.factor), at: t };
    },
  };
}

/** At most `n` calls of the returned runner at once in this process; the others wait their turn, in order. */
export function semaphore(n: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let busy = 0;
  const queue: (() => void)[] = [];
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    // A finished caller hands its slot straight to the next in line, so none can slip in between.
    if (busy >= n) await new Promise<void>((r) => queue.push(r));
    else busy++;
    try {
      return await fn();
    } finally {
      const next = queue.shift();
      if (next) next();
      else busy--;
    }
  };
}

/** Sleeps `ms`, or until `signal` aborts (then rejects with its reason). */
export function wait(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', abort);
      resolve();
    }, ms);
    const abort = () => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', abort, { once: true });
  });
}
