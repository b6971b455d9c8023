/**
 * Stripe's webhook receiver (receive.ts beside this file): the contract every receiver meets (testing.ts), on its
 * sender's sample delivery, then what is particular to the sender.
 */
import { describe, expect, it } from 'vitest';
import { signFor } from '../registry.js';
import { STRIPE_TOLERANCE_SECONDS } from './receive.js';
import { SECRET, WRONG, T, hmac, receive, refusal, fixture, describeReceiver } from '../testing.js';

const payout = fixture('stripe/payout.json');
// Stripe posts the event pretty-printed; the payout is its data.object.
const stripeEvent = Buffer.from(
  JSON.stringify(
    {
      id: 'evt_1PgcA2B7WZ01zgkWq9fJ0sXy',
      object: 'event',
      api_version: '2024-06-20',
      created: T,
      data: { object: payout },
      livemode: false,
      pending_webhooks: 1,
      request: { id: null, idempotency_key: null },
      type: 'payout.paid',
    },
    null,
    2,
  ),
);

describeReceiver({
  connector: 'stripe',
  settings: (s) => ({ apiKey: 'rk_live_x', webhookSecret: s }),
  unsigned: { apiKey: 'rk_live_x' },
  body: stripeEvent,
  header: 'stripe-signature',
  // Stripe: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<raw body">, keyed with the endpoint's whsec_ secret.
  documented: (s, b) => ({
    'content-type': 'application/json; charset=utf-8',
    'stripe-signature': `t=${T},v1=${hmac('sha256', s, Buffer.concat([Buffer.from(`${T}.`), b])).digest('hex')}`,
  }),
  signOptions: { timestamp: T },
  // The payout, versioned by the event's time (`updated`, as the connector's reads have it too).
  expected: { deliveryId: 'evt_1PgcA2B7WZ01zgkWq9fJ0sXy', topic: 'payout.paid', records: [{ ...payout, updated: T }] },
});

describe('Stripe specifics', () => {
  const settings = { apiKey: 'rk_live_x', webhookSecret: SECRET };
  const at = (t: number) => signFor('stripe', SECRET, stripeEvent, { timestamp: t });

  it(`refuses a signature older than the tolerance (${STRIPE_TOLERANCE_SECONDS} s): a replay`, () => {
    expect(STRIPE_TOLERANCE_SECONDS).toBe(300);
    const e = refusal(() => receive('stripe', settings, stripeEvent, at(T - 301)));
    expect(e.status).toBe(401);
    expect(e.message).toContain('301 s old');
    expect(e.message).toContain('Stripe-Signature');
    expect(receive('stripe', settings, stripeEvent, at(T - 299)).deliveryId).toBe('evt_1PgcA2B7WZ01zgkWq9fJ0sXy');
  });

  it('refuses a timestamp too far in the future, too', () => {
    expect(refusal(() => receive('stripe', settings, stripeEvent, at(T + 301))).status).toBe(401);
    expect(receive('stripe', settings, stripeEvent, at(T + 60)).topic).toBe('payout.paid');
  });

  it('checks the tolerance against the real clock by default', () => {
    const old = signFor('stripe', SECRET, stripeEvent, { timestamp: Math.floor(Date.now() / 1000) - 3600 });
    expect(refusal(() => receive('stripe', settings, stripeEvent, old, {})).status).toBe(401);
    expect(receive('stripe', settings, stripeEvent, signFor('stripe', SECRET, stripeEvent), {}).records).toEqual([
      { ...payout, updated: T },
    ]);
  });

  it('a replayed signature cannot be moved to a fresh timestamp', () => {
    const v1 = at(T - 3600)['stripe-signature'].replace(/^t=\d+,/, '');
    expect(
      refusal(() => receive('stripe', settings, stripeEvent, { 'stripe-signature': `t=${T},${v1}` })).message,
    ).toMatch(/does not match/);
  });

  it('accepts any one of several v1 signatures (a secret being rolled), and ignores v0', () => {
    const good = at(T)['stripe-signature'].replace(/^t=\d+,v1=/, '');
    const bad = hmac('sha256', WRONG, `${T}.${stripeEvent.toString('utf8')}`).digest('hex');
    expect(
      receive('stripe', settings, stripeEvent, { 'stripe-signature': `t=${T},v1=${bad},v1=${good},v0=${bad}` })
        .deliveryId,
    ).toBe('evt_1PgcA2B7WZ01zgkWq9fJ0sXy');
    expect(
      refusal(() => receive('stripe', settings, stripeEvent, { 'stripe-signature': `t=${T},v0=${good}` })).status,
    ).toBe(401);
    expect(refusal(() => receive('stripe', settings, stripeEvent, { 'stripe-signature': `v1=${good}` })).status).toBe(
      401,
    );
  });

  it('refuses an authentic event without data.object (a thin event) with 400', () => {
    const body = Buffer.from(
      JSON.stringify({
        id: 'evt_thin',
        object: 'v2.core.event',
        type: 'v1.payout.paid',
        related_object: { id: 'po_1' },
      }),
    );
    const e = refusal(() => receive('stripe', settings, body, signFor('stripe', SECRET, body, { timestamp: T })));
    expect(e.status).toBe(400);
  });

  it("carries the event's time as the record's version (updated), and marks a customer.deleted record deleted", () => {
    const customer = fixture('stripe/customer.json');
    const event = (type: string, object: unknown, created: number) =>
      Buffer.from(JSON.stringify({ id: `evt_${type}`, object: 'event', created, data: { object }, type }));
    const t = Math.floor(Date.now() / 1000);
    const got = (body: Buffer) => receive('stripe', settings, body, signFor('stripe', SECRET, body), {}).records;
    expect(got(event('customer.updated', customer, t - 7))).toEqual([{ ...customer, updated: t - 7 }]);
    expect(got(event('customer.deleted', customer, t))).toEqual([{ ...customer, updated: t, deleted: true }]);
    // An object with an `updated` of its own keeps it.
    expect(got(event('customer.updated', { ...customer, updated: 5 }, t))).toEqual([{ ...customer, updated: 5 }]);
  });
});
