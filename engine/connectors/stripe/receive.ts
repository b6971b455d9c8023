/**
 * Stripe webhooks: `Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>` over `${t}.` and the raw body, keyed
 * with the endpoint's signing secret (`settings.webhookSecret`), within a tolerance of the signing time; the
 * delivery id is the event's `id`, the topic its `type`, and the record its `data.object` (with the event's time as
 * `updated`, and `deleted: true` for a deletion: `eventRecord`).
 */
import { isObject } from '../../util/merge.js';
import {
  decodeDigest,
  header,
  hmac,
  optionalString,
  payloadObject,
  refused,
  requiredString,
  sameDigest,
  signingSecret,
  stableUuid,
} from '../receive.js';
import { ConnectorError, type Delivery, type Receiver } from '../types.js';

/** How far a Stripe signature's timestamp may be from now: Stripe's libraries default to 5 minutes. */
export const STRIPE_TOLERANCE_SECONDS = 300;

const STRIPE_HEADER = 'Stripe-Signature';

export const receiver: Receiver = {
  open: (ctx, opts) => {
    const now = opts.now ?? Date.now;
    return {
      receive(d) {
        const secret = signingSecret('stripe', ctx, 'webhookSecret', ctx.settings.webhookSecret);
        verifyStripe(d, secret, now());
        const event = payloadObject('stripe', d.body);
        const data = event.data;
        // Snapshot events carry the object; "thin" events (event destinations) carry only its id, which this
        // receiver cannot sync from: refuse them loudly rather than accept a delivery with nothing in it.
        if (!isObject(data) || !isObject(data.object)) {
          throw new ConnectorError(
            'stripe webhook: the event has no data.object (thin events are not supported: send snapshot events)',
            false,
            undefined,
            400,
          );
        }
        return {
          deliveryId: requiredString('stripe', event, 'id'),
          topic: optionalString(event.type),
          records: [eventRecord(event, data.object)],
        };
      },
    };
  },
  sign(secret, body, opts) {
    const t = String(Math.floor(opts.timestamp ?? Date.now() / 1000));
    const v1 = hmac('hmac-sha256', secret, [`${t}.`, body]).toString('hex');
    return { 'content-type': 'application/json', 'stripe-signature': `t=${t},v1=${v1}` };
  },
  // A snapshot event: `{ id: evt_…, object: event, type, created, data: { object: record }, … }`.
  envelope: (record, e) => ({
    body: {
      id: `evt_${stableUuid(`stripe event ${e.id}`).replace(/-/g, '').slice(0, 24)}`,
      object: 'event',
      api_version: '2024-06-20',
      created: Math.floor(e.at.getTime() / 1000),
      data: { object: record },
      livemode: false,
      pending_webhooks: 1,
      request: { id: null, idempotency_key: null },
      type: e.topic,
    },
    headers: { 'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)' },
  }),
};

/**
 * The record an event carries, as the connector's reads yield it too (connector.ts), so that one mapping serves both:
 * the event's `data.object` with
 * - `updated`: the event's `created` (Unix seconds), the version of the object it shows — Stripe's objects carry no
 *   last-modified time, and this is what Airbyte's source-stripe calls its `updated` cursor too (a field Stripe's
 *   charges, payouts, refunds, disputes and customers do not have; an object that has one keeps its own);
 * - `deleted: true` for a `*.deleted` event, Stripe's own mark of a deleted object (`DELETE /v1/customers/:id`
 *   answers `{ id, object, deleted: true }`), so that a delete is a record the pipeline can act on.
 */
export function eventRecord(event: Record<string, unknown>, object: Record<string, unknown>): Record<string, unknown> {
  const r: Record<string, unknown> = { ...object };
  if (r.updated === undefined && typeof event.created === 'number') r.updated = event.created;
  if (typeof event.type === 'string' && event.type.endsWith('.deleted')) r.deleted = true;
  return r;
}

/**
 * Stripe: `Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>…]` over `${t}.${body}`. Several v1 values are
 * sent while a secret is being rolled; one match is enough. The timestamp is signed, so checking its age stops
 * a captured delivery from being replayed later; it is checked after the signature, as Stripe's libraries do.
 */
function verifyStripe(d: Delivery, secret: string, nowMs: number): void {
  const value = header(d, STRIPE_HEADER);
  if (value === undefined) throw refused('stripe', `the ${STRIPE_HEADER} header is missing`);
  let t: string | undefined;
  const v1: Buffer[] = [];
  for (const part of value.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const key = part.slice(0, eq).trim();
    const val = part.slice(eq + 1).trim();
    if (key === 't') t = val;
    else if (key === 'v1') {
      const bytes = decodeDigest(val, 'hex');
      if (bytes) v1.push(bytes);
    }
  }
  if (t === undefined || !/^\d+$/.test(t) || v1.length === 0)
    throw refused('stripe', `the ${STRIPE_HEADER} header has no t= timestamp or no v1= signature`);
  const expected = hmac('hmac-sha256', secret, [`${t}.`, d.body]);
  if (!v1.some((given) => sameDigest(expected, given))) {
    throw refused(
      'stripe',
      `the ${STRIPE_HEADER} signature does not match the body: the signing secret differs, or the body was altered`,
    );
  }
  // Both ways: a timestamp far in the future is as suspect as an old one (or this server's clock is wrong).
  const age = Math.floor(nowMs / 1000) - Number(t);
  if (Math.abs(age) > STRIPE_TOLERANCE_SECONDS) {
    throw refused(
      'stripe',
      `the ${STRIPE_HEADER} timestamp is ${Math.abs(age)} s ${age > 0 ? 'old' : 'in the future'}, beyond the ${STRIPE_TOLERANCE_SECONDS} s tolerance (a replayed delivery, or a clock is wrong)`,
    );
  }
}
