import { type ConnectorSpec, secretRef, str } from '../spec.js';

export const spec: ConnectorSpec = {
  name: 'shopify',
  title: 'Shopify (Admin API)',
  category: 'storefront',
  settings: {
    type: 'object',
    required: ['shop', 'accessToken'],
    properties: {
      shop: {
        type: 'string',
        pattern: '^[a-z0-9][a-z0-9-]*\\.myshopify\\.com$',
        description: 'the shop domain, <name>.myshopify.com',
      },
      apiVersion: {
        type: 'string',
        pattern: '^\\d{4}-(01|04|07|10)$',
        description: 'Admin API version, e.g. 2026-07',
      },
      accessToken: { ...secretRef, description: 'Admin API access token' },
      webhookSecret: { ...secretRef, description: 'the app secret that signs webhooks (X-Shopify-Hmac-Sha256)' },
      locationId: str('default inventory location (gid://shopify/Location/…)'),
    },
    additionalProperties: false,
  },
  streams: {
    orders: { canonical: ['order'], incremental: true },
    refunds: { canonical: ['refund'], incremental: true },
    products: { canonical: ['product', 'price'], incremental: true },
    inventoryLevels: { canonical: ['inventoryLevel'], incremental: true },
    customers: { canonical: ['customer'], incremental: true },
    fulfillments: { canonical: ['fulfillment'], incremental: true },
    payouts: { canonical: ['settlement'], incremental: true },
    transactions: { canonical: ['settlement'], incremental: true },
  },
  entities: {
    product: { accepts: ['product'] },
    variantPrice: { accepts: ['price'] },
    inventoryLevel: { accepts: ['inventoryLevel'] },
    customer: { accepts: ['customer'] },
    fulfillment: { accepts: ['fulfillment'] },
  },
  events: {
    'orders/create': { stream: 'orders' },
    'orders/updated': { stream: 'orders' },
    'orders/paid': { stream: 'orders' },
    'refunds/create': { stream: 'refunds' },
    'products/create': { stream: 'products' },
    'products/update': { stream: 'products' },
    'inventory_levels/update': { stream: 'inventoryLevels' },
    'customers/create': { stream: 'customers' },
    'customers/update': { stream: 'customers' },
    'fulfillments/create': { stream: 'fulfillments' },
  },
  sample: ({ customer, who }) => ({
    settings: { shop: `${customer}.myshopify.com`, apiVersion: '2026-07' },
    staging: { shop: `${customer}-staging.myshopify.com` },
    description: `${who} Shopify store; staging uses a development store.`,
  }),
};
