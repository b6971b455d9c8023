/**
 * WooCommerce's webhook receiver (receive.ts beside this file): the contract every receiver meets (testing.ts), on its
 * sender's sample delivery, then what is particular to the sender.
 */
import { describe, expect, it } from 'vitest';
import { SECRET, WRONG, hmac, receive, refusal, wooOrder, describeReceiver, bodySigned } from '../testing.js';

describeReceiver(
  bodySigned({
    connector: 'woocommerce',
    settings: (s) => ({
      url: 'https://shop.example.com',
      consumerKey: 'ck_x',
      consumerSecret: 'cs_x',
      webhookSecret: s,
    }),
    unsigned: { url: 'https://shop.example.com', consumerKey: 'ck_x', consumerSecret: 'cs_x' },
    body: wooOrder,
    // WooCommerce: X-WC-Webhook-Signature = base64(hash_hmac('sha256', payload, secret, true)).
    header: 'x-wc-webhook-signature',
    encoding: 'base64',
    headers: {
      'x-wc-webhook-topic': 'order.created',
      'x-wc-webhook-resource': 'order',
      'x-wc-webhook-event': 'created',
      'x-wc-webhook-id': '12',
      'x-wc-webhook-delivery-id': '2f6e8c1d0b9a4e7f5c3d2a1b0e9f8d7c',
    },
    deliveryId: '2f6e8c1d0b9a4e7f5c3d2a1b0e9f8d7c',
    topic: 'order.created',
  }),
);

describe('WooCommerce specifics', () => {
  it('answers the unsigned creation ping with no record, under one constant id', () => {
    const settings = { webhookSecret: SECRET };
    const a = receive('woocommerce', settings, Buffer.from('webhook_id=12'), {
      'content-type': 'application/x-www-form-urlencoded',
    });
    const b = receive('woocommerce', settings, Buffer.from('webhook_id=13'), {});
    expect(a).toEqual({ deliveryId: 'woocommerce-ping', topic: 'ping', records: [] });
    expect(b.deliveryId).toBe(a.deliveryId);
  });

  it('verifies a ping-shaped body like any other when it carries a signature', () => {
    const body = Buffer.from('webhook_id=12');
    const e = refusal(() =>
      receive('woocommerce', { webhookSecret: SECRET }, body, {
        'x-wc-webhook-signature': hmac('sha256', WRONG, body).digest('base64'),
      }),
    );
    expect(e.status).toBe(401);
  });
});
