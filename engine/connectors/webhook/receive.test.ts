/**
 * The generic webhook receiver (receive.ts beside this file): the contract every receiver meets (testing.ts), on its
 * sender's sample delivery, then what is particular to the sender.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SECRET, hmac, receive, refusal, raw, describeReceiver, bodySigned } from '../testing.js';

const refund = raw('woocommerce/order_refund.retrieve.json');

const signature = { header: 'X-Hub-Signature-256', algorithm: 'hmac-sha256', encoding: 'hex' } as const;

describeReceiver(
  bodySigned({
    connector: 'webhook',
    settings: (s) => ({ signature: { ...signature, secret: s } }),
    unsigned: { signature },
    body: refund,
    header: 'x-hub-signature-256',
    encoding: 'hex',
    headers: { 'x-delivery-id': 'dlv-0001', 'x-topic': 'refund.created' },
    deliveryId: 'dlv-0001',
    topic: 'refund.created',
    signOptions: { signature },
  }),
);

describe('generic webhook specifics', () => {
  it('verifies HMAC-SHA1 in base64 when the connection says so', () => {
    const settings = {
      signature: { header: 'X-Signature', algorithm: 'hmac-sha1', encoding: 'base64', secret: SECRET },
    };
    const r = receive('webhook', settings, refund, {
      'x-signature': hmac('sha1', SECRET, refund).digest('base64'),
      'x-request-id': 'req-9',
    });
    expect(r.deliveryId).toBe('req-9');
    // The same digest in hex, or a SHA-256 one, is refused.
    expect(
      refusal(() => receive('webhook', settings, refund, { 'x-signature': hmac('sha1', SECRET, refund).digest('hex') }))
        .status,
    ).toBe(401);
    expect(
      refusal(() =>
        receive('webhook', settings, refund, { 'x-signature': hmac('sha256', SECRET, refund).digest('base64') }),
      ).status,
    ).toBe(401);
  });

  it('accepts a sha256= prefix (GitHub style), and uppercase hex', () => {
    const settings = { signature: { header: 'X-Hub-Signature-256', secret: SECRET } };
    const hex = hmac('sha256', SECRET, refund).digest('hex');
    expect(receive('webhook', settings, refund, { 'x-hub-signature-256': `sha256=${hex}` }).records).toHaveLength(1);
    expect(receive('webhook', settings, refund, { 'x-hub-signature-256': hex.toUpperCase() }).records).toHaveLength(1);
  });

  it('names a delivery without an id header by the hash of its body, and takes a JSON array as several records', () => {
    const settings = { signature: { secret: SECRET } }; // X-Signature, hmac-sha256, hex by default
    const body = Buffer.from('[{"id":1},{"id":2}]');
    const r = receive('webhook', settings, body, { 'x-signature': hmac('sha256', SECRET, body).digest('hex') });
    expect(r.deliveryId).toBe(`sha256:${createHash('sha256').update(body).digest('hex')}`);
    expect(r.records).toEqual([{ id: 1 }, { id: 2 }]);
    const again = receive('webhook', settings, body, { 'x-signature': hmac('sha256', SECRET, body).digest('hex') });
    expect(again.deliveryId).toBe(r.deliveryId);
  });

  it('refuses to receive when the connection has no signature settings (500): no unsigned endpoint', () => {
    expect(refusal(() => receive('webhook', {}, refund, {})).status).toBe(500);
    expect(refusal(() => receive('webhook', { signature: { header: 'X-Signature' } }, refund, {})).status).toBe(500);
  });
});
