/**
 * The sandbox's webhook receiver (receive.ts beside this file): the contract every receiver meets (testing.ts), on its
 * sender's sample delivery, then what is particular to the sender.
 */
import { describe, expect, it } from 'vitest';
import { signFor } from '../registry.js';
import { SANDBOX_WEBHOOK_SECRET } from './receive.js';
import { SECRET, hmac, receive, refusal, wooOrder, describeReceiver, bodySigned } from '../testing.js';

describeReceiver(
  bodySigned({
    connector: 'sandbox',
    settings: (s) => ({ system: 'storefront', webhookSecret: s }),
    unsigned: { system: 'storefront' }, // the sandbox then uses its demo secret: see its own tests
    body: wooOrder,
    header: 'x-rsync-signature',
    encoding: 'hex',
    headers: { 'x-delivery-id': 'sbx-42', 'x-topic': 'order.created' },
    deliveryId: 'sbx-42',
    topic: 'order.created',
  }),
);

describe('sandbox specifics', () => {
  it('signs with the demo secret when the connection names none', () => {
    expect(SANDBOX_WEBHOOK_SECRET).toBe('rsync-sandbox');
    const headers = signFor('sandbox', SANDBOX_WEBHOOK_SECRET, wooOrder, { topic: 'order.created' });
    expect(headers['x-rsync-signature']).toBe(hmac('sha256', 'rsync-sandbox', wooOrder).digest('hex'));
    const r = receive('sandbox', { system: 'storefront' }, wooOrder, headers);
    expect(r.deliveryId).toBe(headers['x-delivery-id']);
    expect(r.topic).toBe('order.created');
    // With a secret of its own, the demo secret no longer verifies.
    expect(
      refusal(() => receive('sandbox', { system: 'storefront', webhookSecret: SECRET }, wooOrder, headers)).status,
    ).toBe(401);
  });

  it('gives every generated delivery its own id', () => {
    expect(signFor('sandbox', SANDBOX_WEBHOOK_SECRET, wooOrder)['x-delivery-id']).not.toBe(
      signFor('sandbox', SANDBOX_WEBHOOK_SECRET, wooOrder)['x-delivery-id'],
    );
  });
});
