/**
 * Square's webhook receiver (receive.ts beside this file): the contract every receiver meets (testing.ts), on its
 * sender's sample delivery, then what is particular to the sender.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { signFor } from '../registry.js';
import { SECRET, hmac, receive, refusal, raw, fixture, describeReceiver } from '../testing.js';

const squareRefundEvent = raw('square/RefundCreatedEvent.example.json');
const SQUARE_URL = 'https://hooks.example.com/hooks/acme/square';

describeReceiver({
  connector: 'square',
  settings: (s) => ({ accessToken: 'EAAA_x', webhookSignatureKey: s, notificationUrl: SQUARE_URL }),
  unsigned: { accessToken: 'EAAA_x', notificationUrl: SQUARE_URL },
  body: squareRefundEvent,
  header: 'x-square-hmacsha256-signature',
  // Square: base64 HMAC-SHA256 keyed with the subscription's signature key, over notification URL + raw body.
  documented: (s, b) => ({
    'content-type': 'application/json',
    'x-square-hmacsha256-signature': hmac('sha256', s, Buffer.concat([Buffer.from(SQUARE_URL), b])).digest('base64'),
    'square-environment': 'Production',
  }),
  signOptions: { notificationUrl: SQUARE_URL },
  expected: {
    deliveryId: 'bc316346-6691-4243-88ed-6d651a0d0c47',
    topic: 'refund.created',
    records: [fixture('square/RefundCreatedEvent.example.json').data.object.refund],
  },
});

describe('Square specifics', () => {
  // Square's own test vector, from its SDKs' webhook signature tests (square/square-nodejs-sdk
  // @ 46347a5dde96496c18c8cc14b882aa6fd7b6e979, tests/integration/webhooks.test.ts; the same in its Go, Java,
  // PHP, Python and Ruby SDKs): a real webhooks.test_notification, signed by Square.
  const vector = {
    body: Buffer.from(
      '{"merchant_id":"MLEFBHHSJGVHD","type":"webhooks.test_notification","event_id":"ac3ac95b-f97d-458c-a6e6-18981597e05f","created_at":"2022-07-13T20:30:59.037339943Z","data":{"type":"webhooks","id":"bc368e64-01aa-407e-b46e-3231809b1129"}}',
    ),
    signature: 'GF4YkrJgGBDZ9NIYbNXBnMzqb2HoL4RW/S6vkZ9/2N4=',
    key: 'Ibxx_5AKakO-3qeNVR61Dw',
    url: 'https://webhook.site/679a4f3a-dcfa-49ee-bac5-9d0edad886b9',
  };

  it("accepts Square's published test vector (a test notification carries no record)", () => {
    const r = receive('square', { webhookSignatureKey: vector.key, notificationUrl: vector.url }, vector.body, {
      'x-square-hmacsha256-signature': vector.signature,
    });
    expect(r).toEqual({
      deliveryId: 'ac3ac95b-f97d-458c-a6e6-18981597e05f',
      topic: 'webhooks.test_notification',
      records: [],
    });
    expect(
      signFor('square', vector.key, vector.body, { notificationUrl: vector.url })['x-square-hmacsha256-signature'],
    ).toBe(vector.signature);
  });

  it("refuses Square's test vector at another URL, and says which URL it checked", () => {
    const other = 'https://webhook.site/79a4f3a-dcfa-49ee-bac5-9d0edad886b9';
    const e = refusal(() =>
      receive('square', { webhookSignatureKey: vector.key, notificationUrl: other }, vector.body, {
        'x-square-hmacsha256-signature': vector.signature,
      }),
    );
    expect(e.status).toBe(401);
    expect(e.message).toContain(other);
    expect(e.message).not.toContain(vector.key);
  });

  it("refuses Square's test vector under another signature key", () => {
    const e = refusal(() =>
      receive('square', { webhookSignatureKey: 'MCmhFRxGX82xMwg5FsaoQA', notificationUrl: vector.url }, vector.body, {
        'x-square-hmacsha256-signature': vector.signature,
      }),
    );
    expect(e.status).toBe(401);
  });

  describe('without settings.notificationUrl', () => {
    const saved = process.env.RSYNC_PUBLIC_URL;
    afterEach(() => {
      if (saved === undefined) delete process.env.RSYNC_PUBLIC_URL;
      else process.env.RSYNC_PUBLIC_URL = saved;
    });
    const sign = (url: string) => ({
      'x-square-hmacsha256-signature': hmac('sha256', SECRET, url + squareRefundEvent.toString('utf8')).digest(
        'base64',
      ),
    });

    it('builds the URL from the configured public base and the path as received', () => {
      delete process.env.RSYNC_PUBLIC_URL;
      const url = 'https://hooks.example.com/rsync/hooks/acme/square?env=prod';
      const r = receive(
        'square',
        { webhookSignatureKey: SECRET },
        squareRefundEvent,
        sign(url),
        { publicUrl: 'https://hooks.example.com/rsync/' },
        '/hooks/acme/square?env=prod',
      );
      expect(r.deliveryId).toBe('bc316346-6691-4243-88ed-6d651a0d0c47');
      process.env.RSYNC_PUBLIC_URL = 'https://hooks.example.com/rsync';
      expect(
        receive(
          'square',
          { webhookSignatureKey: SECRET },
          squareRefundEvent,
          sign(url),
          {},
          '/hooks/acme/square?env=prod',
        ).topic,
      ).toBe('refund.created');
    });

    it('else from the forwarded host, https by default', () => {
      delete process.env.RSYNC_PUBLIC_URL;
      const r = receive(
        'square',
        { webhookSignatureKey: SECRET },
        squareRefundEvent,
        { ...sign('https://hooks.example.com/hooks/acme/square'), host: 'hooks.example.com' },
        {},
        '/hooks/acme/square',
      );
      expect(r.records).toHaveLength(1);
      const e = refusal(() =>
        receive(
          'square',
          { webhookSignatureKey: SECRET },
          squareRefundEvent,
          { ...sign('https://hooks.example.com/hooks/acme/square'), host: 'evil.example.net' },
          {},
          '/hooks/acme/square',
        ),
      );
      expect(e.status).toBe(401);
      expect(e.message).toContain('https://evil.example.net/hooks/acme/square');
    });

    it('and is a configuration error (500) when nothing names the URL', () => {
      delete process.env.RSYNC_PUBLIC_URL;
      const e = refusal(() =>
        receive('square', { webhookSignatureKey: SECRET }, squareRefundEvent, sign('https://x/hooks'), {}, '/hooks'),
      );
      expect(e.status).toBe(500);
      expect(e.message).toContain('RSYNC_PUBLIC_URL');
    });
  });

  it('takes the single inner object, the items of a single inner list, or the whole object', () => {
    const event = (object: unknown) =>
      Buffer.from(
        JSON.stringify({ merchant_id: 'M', type: 't', event_id: 'e1', data: { type: 'x', id: 'i', object } }),
      );
    const records = (object: unknown) => {
      const body = event(object);
      return receive(
        'square',
        { webhookSignatureKey: SECRET, notificationUrl: SQUARE_URL },
        body,
        signFor('square', SECRET, body, { notificationUrl: SQUARE_URL }),
      ).records;
    };
    expect(records({ payment: { id: 'p1' } })).toEqual([{ id: 'p1' }]);
    expect(records({ inventory_counts: [{ catalog_object_id: 'a' }, { catalog_object_id: 'b' }] })).toEqual([
      { catalog_object_id: 'a' },
      { catalog_object_id: 'b' },
    ]);
    expect(records({ a: { id: 1 }, b: { id: 2 } })).toEqual([{ a: { id: 1 }, b: { id: 2 } }]);
  });

  it('refuses an authentic event without event_id (400)', () => {
    const body = Buffer.from('{"type":"refund.created","data":{"object":{"refund":{}}}}');
    const e = refusal(() =>
      receive(
        'square',
        { webhookSignatureKey: SECRET, notificationUrl: SQUARE_URL },
        body,
        signFor('square', SECRET, body, { notificationUrl: SQUARE_URL }),
      ),
    );
    expect(e.status).toBe(400);
  });
});
