/**
 * Shopify's webhook receiver (receive.ts beside this file): the contract every receiver meets (testing.ts), on its
 * sender's sample delivery, then what is particular to the sender.
 */
import { describe, expect, it } from 'vitest';
import { parseJsonLossless } from '../../util/json.js';
import { signFor } from '../registry.js';
import {
  SECRET,
  hmac,
  receive,
  refusal,
  parseAsVendorMeant,
  fixture,
  describeReceiver,
  bodySigned,
} from '../testing.js';

const shopifyOrder = Buffer.from(JSON.stringify(fixture('shopify-webhooks/orders_create.json').response));

describeReceiver(
  bodySigned({
    connector: 'shopify',
    settings: (s) => ({ shop: 'acme.myshopify.com', accessToken: 'shpat_x', webhookSecret: s }),
    unsigned: { shop: 'acme.myshopify.com', accessToken: 'shpat_x' },
    body: shopifyOrder,
    // shopify.dev: X-Shopify-Hmac-Sha256 is the base64 HMAC-SHA256 of the raw body, keyed with the app's secret.
    header: 'x-shopify-hmac-sha256',
    encoding: 'base64',
    headers: {
      'x-shopify-topic': 'orders/create',
      'x-shopify-webhook-id': 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043',
      'x-shopify-event-id': '98880550-7158-44d4-b7cd-2c97c8a091b5',
      'x-shopify-shop-domain': 'acme.myshopify.com',
    },
    deliveryId: 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043',
    topic: 'orders/create',
    records: [parseAsVendorMeant(shopifyOrder)],
  }),
);

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
