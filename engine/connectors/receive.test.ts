/**
 * Webhook receivers (each sender's receive.ts) against the vendors' real sample payloads (test/fixtures, see
 * SOURCES.md). Each vendor's signature is computed here straight from its documentation with node:crypto, not
 * with `signFor`, so a receiver and `signFor` that agreed on a wrong scheme would still fail.
 */
import { createHash, createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseJsonLossless } from './receive.js';
import { receiverFor, signFor } from './registry.js';
import { SANDBOX_WEBHOOK_SECRET } from './sandbox/receive.js';
import { resolveSecret } from './secrets.js';
import { STRIPE_TOLERANCE_SECONDS } from './stripe/receive.js';
import { ConnectorError, type ConnectorContext, type Delivery, type Received, type ReceiverOptions } from './types.js';

const FIXTURES = path.resolve(import.meta.dirname, '../../test/fixtures');
const raw = (file: string): Buffer => readFileSync(path.join(FIXTURES, file));
// biome-ignore lint/suspicious/noExplicitAny: vendor payloads, read field by field
const fixture = (file: string): Record<string, any> => JSON.parse(raw(file).toString('utf8'));

/** Distinctive, so that a message quoting it is caught. */
const SECRET = 'whsec_Zq8v3LmT0pK4sN7xWb2cYd6fGh1jRt5u';
const WRONG = 'whsec_not-the-secret-the-connection-has';
const NOW = Date.UTC(2026, 6, 1, 12, 0, 0);
const T = Math.floor(NOW / 1000);
const PATH = '/hooks/acme/orders';

const hmac = (algo: 'sha256' | 'sha1', key: string, data: string | Buffer) => createHmac(algo, key).update(data);

function ctx(settings: Record<string, unknown>): ConnectorContext {
  return { settings, secret: resolveSecret, system: 'acme/test' };
}

function receive(
  type: string,
  settings: Record<string, unknown>,
  body: Buffer,
  headers: Record<string, string>,
  opts: ReceiverOptions = { now: () => NOW },
  url = PATH,
): Received {
  const receiver = receiverFor(type, ctx(settings), opts);
  if (!receiver) throw new Error(`no receiver for ${type}`);
  const delivery: Delivery = { body, headers, url };
  return receiver.receive(delivery);
}

/** The ConnectorError `fn` throws (the test fails if it returns, or throws anything else). */
function refusal(fn: () => unknown): ConnectorError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConnectorError);
    return e as ConnectorError;
  }
  throw new Error('expected a ConnectorError, but the delivery was accepted');
}

/** The body with one byte changed: the last digit in it, so that the body is still valid JSON. */
function alterOneByte(body: Buffer): Buffer {
  const out = Buffer.from(body);
  for (let i = out.length - 1; i >= 0; i--) {
    if (out[i] >= 0x30 && out[i] <= 0x39) {
      out[i] = out[i] === 0x39 ? 0x38 : out[i] + 1;
      return out;
    }
  }
  throw new Error('no digit to alter');
}

/** JSON.parse, with integers beyond 2^53 as their text: what a lossless parse of these bodies must give. */
const parseAsVendorMeant = (body: Buffer) =>
  JSON.parse(body.toString('utf8'), (_k, v) =>
    typeof v === 'number' && Number.isInteger(v) && !Number.isSafeInteger(v) ? String(v) : v,
  );

// ---------------------------------------------------------------------------------------------------------------
// The vendors' deliveries, built from their sample payloads.

const shopifyOrder = Buffer.from(JSON.stringify(fixture('shopify-webhooks/orders_create.json').response));
const wooOrder = raw('woocommerce/order.retrieve.json');
const squareRefundEvent = raw('square/RefundCreatedEvent.example.json');
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
const refund = raw('woocommerce/order_refund.retrieve.json');
const SQUARE_URL = 'https://hooks.example.com/hooks/acme/square';

interface VendorCase {
  type: string;
  settings: (secret: string) => Record<string, unknown>;
  /** The settings without any signing secret. */
  unsigned: Record<string, unknown>;
  body: Buffer;
  /** The header that carries the signature, lower case. */
  header: string;
  /** The headers the vendor sends, signature computed as its documentation says. */
  documented: (secret: string, body: Buffer) => Record<string, string>;
  /** What signFor needs to sign the same way. */
  signOptions: Parameters<typeof signFor>[3];
  expected: Received;
}

const cases: VendorCase[] = [
  {
    type: 'shopify',
    settings: (s) => ({ shop: 'acme.myshopify.com', accessToken: 'shpat_x', webhookSecret: s }),
    unsigned: { shop: 'acme.myshopify.com', accessToken: 'shpat_x' },
    body: shopifyOrder,
    header: 'x-shopify-hmac-sha256',
    // shopify.dev: X-Shopify-Hmac-Sha256 is the base64 HMAC-SHA256 of the raw body, keyed with the app's secret.
    documented: (s, b) => ({
      'content-type': 'application/json',
      'x-shopify-hmac-sha256': hmac('sha256', s, b).digest('base64'),
      'x-shopify-topic': 'orders/create',
      'x-shopify-webhook-id': 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043',
      'x-shopify-event-id': '98880550-7158-44d4-b7cd-2c97c8a091b5',
      'x-shopify-shop-domain': 'acme.myshopify.com',
    }),
    signOptions: { deliveryId: 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043', topic: 'orders/create' },
    expected: {
      deliveryId: 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043',
      topic: 'orders/create',
      records: [parseAsVendorMeant(shopifyOrder)],
    },
  },
  {
    type: 'woocommerce',
    settings: (s) => ({
      url: 'https://shop.example.com',
      consumerKey: 'ck_x',
      consumerSecret: 'cs_x',
      webhookSecret: s,
    }),
    unsigned: { url: 'https://shop.example.com', consumerKey: 'ck_x', consumerSecret: 'cs_x' },
    body: wooOrder,
    header: 'x-wc-webhook-signature',
    // WooCommerce: X-WC-Webhook-Signature = base64(hash_hmac('sha256', payload, secret, true)).
    documented: (s, b) => ({
      'content-type': 'application/json',
      'x-wc-webhook-signature': hmac('sha256', s, b).digest('base64'),
      'x-wc-webhook-topic': 'order.created',
      'x-wc-webhook-resource': 'order',
      'x-wc-webhook-event': 'created',
      'x-wc-webhook-id': '12',
      'x-wc-webhook-delivery-id': '2f6e8c1d0b9a4e7f5c3d2a1b0e9f8d7c',
    }),
    signOptions: { deliveryId: '2f6e8c1d0b9a4e7f5c3d2a1b0e9f8d7c', topic: 'order.created' },
    expected: {
      deliveryId: '2f6e8c1d0b9a4e7f5c3d2a1b0e9f8d7c',
      topic: 'order.created',
      records: [JSON.parse(wooOrder.toString('utf8'))],
    },
  },
  {
    type: 'square',
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
  },
  {
    type: 'stripe',
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
    expected: { deliveryId: 'evt_1PgcA2B7WZ01zgkWq9fJ0sXy', topic: 'payout.paid', records: [payout] },
  },
  {
    type: 'webhook',
    settings: (s) => ({
      signature: { header: 'X-Hub-Signature-256', algorithm: 'hmac-sha256', encoding: 'hex', secret: s },
    }),
    unsigned: { signature: { header: 'X-Hub-Signature-256', algorithm: 'hmac-sha256', encoding: 'hex' } },
    body: refund,
    header: 'x-hub-signature-256',
    documented: (s, b) => ({
      'content-type': 'application/json',
      'x-hub-signature-256': hmac('sha256', s, b).digest('hex'),
      'x-delivery-id': 'dlv-0001',
      'x-topic': 'refund.created',
    }),
    signOptions: {
      deliveryId: 'dlv-0001',
      topic: 'refund.created',
      signature: { header: 'X-Hub-Signature-256', algorithm: 'hmac-sha256', encoding: 'hex' },
    },
    expected: { deliveryId: 'dlv-0001', topic: 'refund.created', records: [JSON.parse(refund.toString('utf8'))] },
  },
  {
    type: 'sandbox',
    settings: (s) => ({ system: 'storefront', webhookSecret: s }),
    unsigned: { system: 'storefront' }, // the sandbox then uses its demo secret: see its own tests
    body: wooOrder,
    header: 'x-rsync-signature',
    documented: (s, b) => ({
      'content-type': 'application/json',
      'x-rsync-signature': hmac('sha256', s, b).digest('hex'),
      'x-delivery-id': 'sbx-42',
      'x-topic': 'order.created',
    }),
    signOptions: { deliveryId: 'sbx-42', topic: 'order.created' },
    expected: { deliveryId: 'sbx-42', topic: 'order.created', records: [JSON.parse(wooOrder.toString('utf8'))] },
  },
];

describe.each(cases)('$type webhooks', (c) => {
  const headers = c.documented(SECRET, c.body);

  it('accepts a delivery signed as the vendor documents, with its delivery id, topic and records', () => {
    expect(receive(c.type, c.settings(SECRET), c.body, headers)).toEqual(c.expected);
  });

  it('signFor signs exactly as the vendor does, and its deliveries are accepted', () => {
    const signed = signFor(c.type, SECRET, c.body, c.signOptions);
    expect(signed[c.header]).toBe(headers[c.header]);
    expect(receive(c.type, c.settings(SECRET), c.body, signed)).toEqual(c.expected);
  });

  it('refuses the body altered by one byte (401, naming the header)', () => {
    const altered = alterOneByte(c.body);
    expect(altered.equals(c.body)).toBe(false);
    const e = refusal(() => receive(c.type, c.settings(SECRET), altered, headers));
    expect(e.status).toBe(401);
    expect(e.transient).toBe(false);
    expect(e.message.toLowerCase()).toContain(c.header);
  });

  it('refuses a delivery signed with another secret', () => {
    const e = refusal(() => receive(c.type, c.settings(SECRET), c.body, c.documented(WRONG, c.body)));
    expect(e.status).toBe(401);
    expect(e.message).toMatch(/does not match/);
  });

  it('refuses a delivery without the signature header', () => {
    const { [c.header]: _, ...rest } = headers;
    const e = refusal(() => receive(c.type, c.settings(SECRET), c.body, rest));
    expect(e.status).toBe(401);
    expect(e.message.toLowerCase()).toContain(`${c.header} header is missing`);
  });

  it('refuses a signature that is not a digest at all', () => {
    const e = refusal(() =>
      receive(c.type, c.settings(SECRET), c.body, { ...headers, [c.header]: 'not a signature!' }),
    );
    expect(e.status).toBe(401);
  });

  it('never puts the secret, or the signature it expected, in a refusal', () => {
    const altered = alterOneByte(c.body);
    const expectedForAltered = c.documented(SECRET, altered)[c.header];
    const errors = [
      refusal(() => receive(c.type, c.settings(SECRET), altered, headers)),
      refusal(() => receive(c.type, c.settings(SECRET), c.body, c.documented(WRONG, c.body))),
      refusal(() => receive(c.type, c.settings(SECRET), c.body, { ...headers, [c.header]: '' })),
    ];
    for (const e of errors) {
      expect(e.message).not.toContain(SECRET);
      expect(e.message).not.toContain(WRONG);
      // The digest part of the header (Stripe's is after v1=).
      expect(e.message).not.toContain(expectedForAltered.replace(/^.*v1=/, ''));
      expect(e.message).not.toContain(headers[c.header].replace(/^.*v1=/, ''));
    }
  });

  it('refuses an authentic body that is not JSON (400)', () => {
    const body = Buffer.from('<xml>not json</xml>');
    const e = refusal(() => receive(c.type, c.settings(SECRET), body, c.documented(SECRET, body)));
    expect(e.status).toBe(400);
  });

  it.skipIf(c.type === 'sandbox')(
    'a connection without its signing secret is a ConnectorError (500), not a crash',
    () => {
      const e = refusal(() => receive(c.type, c.unsigned, c.body, headers));
      expect(e.status).toBe(500);
      expect(e.transient).toBe(false);
    },
  );
});

// ---------------------------------------------------------------------------------------------------------------

describe('Shopify specifics', () => {
  it('keeps 64-bit ids exact (as strings) instead of rounding them to another id', () => {
    const body = Buffer.from(
      '{"id":820982911946154508,"admin_graphql_api_id":"gid://shopify/Order/820982911946154508","line_items":[{"id":466157049,"product_id":-9007199254740993}],"note":"id 12345678901234567890 in \\"text\\"","rate":0.06,"big":1.5e300}',
    );
    const r = receive('shopify', { webhookSecret: SECRET }, body, {
      'x-shopify-hmac-sha256': hmac('sha256', SECRET, body).digest('base64'),
      'x-shopify-webhook-id': 'w1',
    });
    expect(r.records).toEqual([
      {
        id: '820982911946154508',
        admin_graphql_api_id: 'gid://shopify/Order/820982911946154508',
        line_items: [{ id: 466157049, product_id: '-9007199254740993' }],
        note: 'id 12345678901234567890 in "text"',
        rate: 0.06,
        big: 1.5e300,
      },
    ]);
    // The sample webhook's ids were rounded before they were published: they stay what the file says.
    const order = receive('shopify', { webhookSecret: SECRET }, shopifyOrder, signFor('shopify', SECRET, shopifyOrder))
      .records[0] as Record<string, unknown>;
    expect(order.id).toBe('820982911946154500');
    expect(order.admin_graphql_api_id).toBe('gid://shopify/Order/820982911946154508');
  });

  it('parses like JSON.parse when no integer is unsafe, and rejects what JSON.parse rejects', () => {
    const text = '{"a":[1,-2.5,3e4,9007199254740991,"x\\\\"],"b":{"c":null,"d":true}}';
    expect(parseJsonLossless(text)).toEqual(JSON.parse(text));
    expect(() => parseJsonLossless('{"id": 01234567890123456789}')).toThrow(SyntaxError);
  });

  it('takes X-Shopify-Event-Id when X-Shopify-Webhook-Id is absent', () => {
    const r = receive('shopify', { webhookSecret: SECRET }, shopifyOrder, {
      'x-shopify-hmac-sha256': hmac('sha256', SECRET, shopifyOrder).digest('base64'),
      'x-shopify-event-id': '98880550-7158-44d4-b7cd-2c97c8a091b5',
    });
    expect(r.deliveryId).toBe('98880550-7158-44d4-b7cd-2c97c8a091b5');
    expect(r.topic).toBeUndefined();
  });

  it('resolves the secret by reference at each delivery, and says which reference is missing', () => {
    const settings = { webhookSecret: { secretRef: 'env:RSYNC_TEST_SHOPIFY_WEBHOOK_SECRET' } };
    const headers = signFor('shopify', SECRET, shopifyOrder, { deliveryId: 'w2' });
    delete process.env.RSYNC_TEST_SHOPIFY_WEBHOOK_SECRET;
    const e = refusal(() => receive('shopify', settings, shopifyOrder, headers));
    expect(e.status).toBe(500);
    expect(e.message).toContain('env:RSYNC_TEST_SHOPIFY_WEBHOOK_SECRET');
    process.env.RSYNC_TEST_SHOPIFY_WEBHOOK_SECRET = SECRET;
    try {
      expect(receive('shopify', settings, shopifyOrder, headers).deliveryId).toBe('w2');
    } finally {
      delete process.env.RSYNC_TEST_SHOPIFY_WEBHOOK_SECRET;
    }
  });
});

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
      payout,
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
});

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

describe('receiverFor and signFor', () => {
  it('has no receiver, and no signer, for a type that receives no webhooks', () => {
    expect(receiverFor('netsuite', ctx({}))).toBeUndefined();
    expect(() => signFor('netsuite', SECRET, wooOrder)).toThrow(TypeError);
    expect(() => signFor('square', SECRET, wooOrder)).toThrow(/notificationUrl/);
  });
});
