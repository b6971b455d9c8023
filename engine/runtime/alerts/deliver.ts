/**
 * Sending what is due: claim pending deliveries (a lease, no transaction held while sending), send them all at
 * once, record each answer. A channel that asks to wait (429 with Retry-After, a 5xx, a refused connection) gets
 * the message again after its Retry-After, or else an exponential back-off with jitter, up to
 * MAX_ATTEMPTS; a refusal (another 4xx) fails the delivery at once. Every attempt is in the delivery's log.
 */
import type pg from 'pg';
import { claimDeliveries, type DeliveryRow, recordAttempt } from '../../state/alerts.js';
import { type Answer, type SendOptions, send } from './channels.js';
import { CHANNEL_TYPES, type ChannelType } from './model.js';
import type { AlertMessage } from './render.js';

type Queryable = Pick<pg.Pool, 'query'>;

export const MAX_ATTEMPTS = 12;
const FIRST_WAIT_MS = 5_000;
const LONGEST_WAIT_MS = 15 * 60_000;
/** Longer than a send can take (its timeout): a claim older than this belonged to a worker that died. */
const LEASE_MS = 2 * 60_000;

/**
 * The wait before attempt `attempt + 1`: what the channel's Retry-After asked for (at least a second), else
 * 5 s · 2^(attempt − 1), at most 15 min, jittered.
 */
export function retryDelayMs(attempt: number, retryAfterMs?: number): number {
  if (retryAfterMs !== undefined) return Math.min(Math.max(retryAfterMs, 1000), LONGEST_WAIT_MS);
  const base = Math.min(FIRST_WAIT_MS * 2 ** (attempt - 1), LONGEST_WAIT_MS);
  return Math.round(base * (0.5 + Math.random() / 2));
}

export interface DeliverOptions extends SendOptions {
  /** Deliveries sent at once (default 20). */
  limit?: number;
  log?: (line: string) => void;
}

/** One pass: what was due, sent. Returns the deliveries attempted, each with its answer. */
export async function deliverDue(
  db: Queryable,
  env: string,
  o: DeliverOptions = {},
): Promise<{ delivery: DeliveryRow; answer: Answer }[]> {
  const due = await claimDeliveries(db, env, o.limit ?? 20, LEASE_MS);
  return Promise.all(
    due.map(async (d) => {
      const type = CHANNEL_TYPES.find((t) => t === d.type) as ChannelType;
      const answer = await send({ type, target: d.target }, d.message as unknown as AlertMessage, {
        ...o,
        deliveryId: d.id,
      });
      const status =
        answer.outcome === 'sent'
          ? 'sent'
          : answer.outcome === 'refused' || d.attempts >= MAX_ATTEMPTS
            ? 'failed'
            : 'pending';
      const nextAt =
        status === 'pending' ? new Date(Date.now() + retryDelayMs(d.attempts, answer.retryAfterMs)) : undefined;
      await recordAttempt(db, d.id, { status, answer: answer.answer, nextAt });
      if (status !== 'sent')
        o.log?.(
          `alert ${d.alert} ${d.action} to ${d.type} #${d.channel}: ${answer.answer}${status === 'pending' ? `; again at ${nextAt!.toISOString()}` : '; given up'}`,
        );
      return { delivery: d, answer };
    }),
  );
}
