import { type ConnectorSpec, rateLimit, secretRef, str } from '../spec.js';
import { apiVersionSupport } from './versions.js';

export const spec: ConnectorSpec = {
  name: 'shopify',
  title: 'Shopify (Admin API)',
  category: 'storefront',
  writes: {
    effect: 'exactly-once',
    how: 'inventory is set absolutely by inventorySetQuantities with an @idempotent key from the write id and the quantity it was read at (changeFromQuantity), so a repeat is answered with its first result and never counts stock twice; products, variant prices and customers are upserts by target id, SKU or e-mail (a repeat sets the same values again)',
  },
  settings: {
    type: 'object',
    required: ['shop', 'accessToken'],
    properties: {
      shop: {
        type: 'string',
        pattern: '^[a-z0-9][a-z0-9-]*\\.myshopify\\.com$',
        description: 'the shop domain, <name>.myshopify.com',
      },
      baseUrl: {
        type: 'string',
        pattern: '^https?://',
        description: "the Admin API's origin, for a proxy or a test server (default: https://<shop>)",
      },
      apiVersion: {
        type: 'string',
        pattern: '^\\d{4}-(01|04|07|10)$',
        description: 'Admin API version, e.g. 2026-07',
      },
      accessToken: { ...secretRef, description: 'Admin API access token' },
      webhookSecret: { ...secretRef, description: 'the app secret that signs webhooks (X-Shopify-Hmac-Sha256)' },
      locationId: str('default inventory location (gid://shopify/Location/…)'),
      stockLocations: {
        type: 'object',
        additionalProperties: { type: 'string', pattern: '^(gid://shopify/Location/)?\\d+$' },
        description:
          'inventory writes: the Shopify location each source location is counted at, e.g. { "1": "gid://shopify/Location/61842190388" } (default: locationId)',
      },
      bulk: {
        type: 'boolean',
        description:
          'read first syncs and backfills of orders, products and customers through bulk operations (default true); false pages through the API instead',
      },
      rateLimit: rateLimit(
        "GraphQL cost points per second and the bucket's size (default 100 and 2,000, Shopify's standard plan; the bucket follows the throttleStatus Shopify reports with every reply)",
      ),
    },
    additionalProperties: false,
  },
  // What each read is (connector.ts): orders, products (with their variants), customers by the search syntax
  // updated_at:>=, sortKey UPDATED_AT; inventory levels per location by updated_at; refunds, fulfillments and
  // transactions as the children of the orders updated (Shopify has no top-level query for them). Payouts are not
  // read: Shopify Payments' payouts carry no updated time to read incrementally by.
  streams: {
    orders: { canonical: ['order'], incremental: true },
    refunds: { canonical: ['refund'], incremental: true },
    products: { canonical: ['product', 'price'], incremental: true },
    inventoryLevels: { canonical: ['inventoryLevel'], incremental: true },
    customers: { canonical: ['customer'], incremental: true },
    fulfillments: { canonical: ['fulfillment'], incremental: true },
    transactions: { canonical: ['settlement'], incremental: true },
  },
  entities: {
    product: { accepts: ['product'] },
    variantPrice: { accepts: ['price'] },
    inventoryLevel: { accepts: ['inventoryLevel'] },
    customer: { accepts: ['customer'] },
  },
  // Only topics Shopify documents (topics.ts, with the sources). The body is the resource as the Admin API returns
  // it, except where noted: the sample payloads of https://shopify.dev/docs/api/webhooks?reference=toml.
  // Its reference events are looked up (connector.ts lookup): the worker maps the record they name.
  lookup: true,
  events: {
    'orders/create': { stream: 'orders', payload: 'record' },
    'orders/updated': { stream: 'orders', payload: 'record' },
    'orders/paid': { stream: 'orders', payload: 'record' },
    'orders/cancelled': { stream: 'orders', payload: 'record' },
    // The order edit (order_id, the lines added and removed), not the order.
    'orders/edited': { stream: 'orders', payload: 'reference' },
    // Only the deleted order's id.
    'orders/delete': { stream: 'orders', payload: 'reference' },
    'refunds/create': { stream: 'refunds', payload: 'record' },
    'products/create': { stream: 'products', payload: 'record' },
    'products/update': { stream: 'products', payload: 'record' },
    // Only the deleted product's id.
    'products/delete': { stream: 'products', payload: 'reference' },
    // The inventory level itself: inventory_item_id, location_id, available, updated_at (no SKU, as when read).
    'inventory_levels/update': { stream: 'inventoryLevels', payload: 'record' },
    'customers/create': { stream: 'customers', payload: 'record' },
    'customers/update': { stream: 'customers', payload: 'record' },
    // The deleted customer's id (and empty fields).
    'customers/delete': { stream: 'customers', payload: 'reference' },
    'fulfillments/create': { stream: 'fulfillments', payload: 'record' },
    'fulfillments/update': { stream: 'fulfillments', payload: 'record' },
  },
  // A pinned version past Shopify's 12 months of support is answered by another version: warn at validate.
  warnings: (settings, today) => {
    if (typeof settings.apiVersion !== 'string') return [];
    const s = apiVersionSupport(settings.apiVersion, today);
    if (!s.supportedUntil || Date.parse(s.supportedUntil) > today.getTime()) return [];
    return [
      {
        path: ['apiVersion'],
        summary: `Shopify Admin API ${settings.apiVersion} is no longer supported (since ${s.supportedUntil})`,
        detail: `${s.warning} (Shopify supports each version 12 months: https://shopify.dev/docs/api/usage/versioning).`,
      },
    ];
  },
  sample: ({ customer, who }) => ({
    settings: { shop: `${customer}.myshopify.com`, apiVersion: '2026-07' },
    staging: { shop: `${customer}-staging.myshopify.com` },
    description: `${who} Shopify store; staging uses a development store.`,
  }),
};
