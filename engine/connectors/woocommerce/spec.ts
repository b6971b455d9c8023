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
  // Only WooCommerce's core topics (topics.ts, with the sources): the body is the resource as the REST API returns
  // it, and a deletion's only its id. There is no refund topic: read the refunds stream on a schedule.
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
