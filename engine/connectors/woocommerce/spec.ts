import { type ConnectorSpec, secretRef } from '../spec.js';

export const spec: ConnectorSpec = {
  name: 'woocommerce',
  title: 'WooCommerce (REST API v3)',
  category: 'storefront',
  settings: {
    type: 'object',
    required: ['url', 'consumerKey', 'consumerSecret'],
    properties: {
      url: { type: 'string', pattern: '^https?://', description: 'the store URL (https://…)' },
      consumerKey: { ...secretRef, description: 'REST API consumer key (ck_…)' },
      consumerSecret: { ...secretRef, description: 'REST API consumer secret (cs_…)' },
      webhookSecret: { ...secretRef, description: 'secret that signs webhooks (X-WC-Webhook-Signature)' },
    },
    additionalProperties: false,
  },
  streams: {
    orders: { canonical: ['order'], incremental: true },
    refunds: { canonical: ['refund'], incremental: true },
    products: { canonical: ['product', 'price'], incremental: true },
    customers: { canonical: ['customer'], incremental: true },
  },
  entities: {
    product: { accepts: ['product'] },
    price: { accepts: ['price'] },
    stock: { accepts: ['inventoryLevel'] },
    customer: { accepts: ['customer'] },
  },
  events: {
    'order.created': { stream: 'orders' },
    'order.updated': { stream: 'orders' },
    'order.refunded': { stream: 'refunds' },
    'product.updated': { stream: 'products' },
    'customer.created': { stream: 'customers' },
  },
  sample: ({ customer, who }) => ({
    settings: { url: `https://shop.${customer}.example` },
    staging: { url: `https://staging.shop.${customer}.example` },
    description: `${who} WooCommerce store: set its URL.`,
  }),
};
