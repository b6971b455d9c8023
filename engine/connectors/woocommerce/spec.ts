import { type ConnectorSpec, secretRef, str, rateLimit } from '../spec.js';

export const spec: ConnectorSpec = {
  name: 'woocommerce',
  title: 'WooCommerce (REST API v3)',
  category: 'storefront',
  // WooCommerce keeps no idempotency keys (connector.ts): every write is an upsert by the ledger's target id, else by
  // SKU or e-mail, so a write repeated after a crash updates the same record to the same values again.
  writes: {
    effect: 'at-least-once',
    how: 'WooCommerce keeps no idempotency keys: each write is an upsert by the target id the ledger knows, else by SKU (products, prices, stock) or e-mail (customers), so a repeat updates the same record to the same values again (a new modified time, a product.updated webhook) instead of creating another; stock is set, never adjusted',
  },
  settings: {
    type: 'object',
    required: ['url', 'consumerKey', 'consumerSecret'],
    properties: {
      url: {
        type: 'string',
        pattern: '^https?://',
        description:
          'the store URL (https://…, with its folder when WordPress is in one); the REST API is at <url>/wp-json/wc/v3. http:// only on loopback (a test server): over plain HTTP WooCommerce wants OAuth 1.0a signatures',
      },
      consumerKey: { ...secretRef, description: 'REST API consumer key (ck_…)' },
      consumerSecret: { ...secretRef, description: 'REST API consumer secret (cs_…)' },
      webhookSecret: { ...secretRef, description: 'secret that signs webhooks (X-WC-Webhook-Signature)' },
      queryStringAuth: {
        type: 'boolean',
        description:
          'send the key and secret as consumer_key/consumer_secret in the query string instead of HTTP Basic, for servers that drop the Authorization header ("Consumer key is missing"); default false',
      },
      locationId: str(
        'the one location whose stock the store sells (WooCommerce keeps one stock quantity per product): inventory levels of other locations are refused; absent, every level is written',
      ),
      rateLimit: rateLimit(
        'requests per second to the store, across every worker (WooCommerce sets no limit; the host may): default 10',
      ),
    },
    additionalProperties: false,
  },
  // What the REST API can list (connector.ts): orders and products by modified time; refunds (from /refunds,
  // WooCommerce 9.0+) by creation, each with its order's id and currency; variations (from /variations, 10.3+), which
  // /products does not list and which carry their own SKU, price and stock; customers, which the API cannot filter
  // or order by modified time, walked whole and kept when modified since the cursor.
  streams: {
    orders: { canonical: ['order'], incremental: true },
    refunds: { canonical: ['refund'], incremental: true },
    products: { canonical: ['product', 'price'], incremental: true },
    variations: { canonical: ['product', 'price'], incremental: true },
    customers: { canonical: ['customer'], incremental: true },
  },
  entities: {
    product: { accepts: ['product'] },
    price: { accepts: ['price'] },
    stock: { accepts: ['inventoryLevel'] },
    customer: { accepts: ['customer'] },
  },
  // Only WooCommerce's core topics (topics.ts, with the sources): the body is the resource as the REST API returns
  // it, and a deletion's only its id, which the connector looks up (a trashed record, status "trash"; one deleted
  // for good, nothing). There is no refund topic: read the refunds stream on a schedule.
  // Its reference events are looked up (connector.ts lookup): the worker maps the record they name.
  lookup: true,
  events: {
    'order.created': { stream: 'orders', payload: 'record' },
    'order.updated': { stream: 'orders', payload: 'record' },
    'order.deleted': { stream: 'orders', payload: 'reference' },
    'product.created': { stream: 'products', payload: 'record' },
    'product.updated': { stream: 'products', payload: 'record' },
    'product.deleted': { stream: 'products', payload: 'reference' },
    'customer.created': { stream: 'customers', payload: 'record' },
    'customer.updated': { stream: 'customers', payload: 'record' },
    'customer.deleted': { stream: 'customers', payload: 'reference' },
  },
  sample: ({ customer, who }) => ({
    settings: { url: `https://shop.${customer}.example` },
    staging: { url: `https://staging.shop.${customer}.example` },
    description: `${who} WooCommerce store: set its URL.`,
  }),
};
