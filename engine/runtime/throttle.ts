/**
 * Per-connection rate limits that hold across every worker (the bucket: state/rate-limits.ts): a caller that
 * finds the bucket short waits until its reservation is covered.
 */
import type pg from 'pg';
import { reserveTokens } from '../state/rate-limits.js';
import { sleep } from './pipeline.js';

export function throttleFor(
  db: Pick<pg.Pool, 'query'>,
  system: string,
  perSecond: number,
  signal?: AbortSignal,
): (cost: number) => Promise<void> {
  return async (cost: number) => {
    const tokens = await reserveTokens(db, system, cost, perSecond);
    if (tokens < 0) await sleep(Math.ceil((-tokens / perSecond) * 1000), signal);
  };
}
