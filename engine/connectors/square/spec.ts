import { type ConnectorSpec, secretRef } from '../spec.js';

export const spec: ConnectorSpec = {
  name: 'square',
  title: 'Square (POS, Orders and Inventory APIs)',
  category: 'pos',
  settings: {
    type: 'object',
    required: ['accessToken'],
    properties: {
      environment: { enum: ['sandbox', 'production'], default: 'production' },
      accessToken: { ...secretRef, description: 'Square access token' },
      webhookSignatureKey: { ...secretRef, description: 'signs webhooks (x-square-hmacsha256-signature)' },
      locationIds: { type: 'array', items: { type: 'string' }, description: 'the store locations to sync' },
    },
    additionalProperties: false,
  },
  streams: {
    orders: { canonical: ['order'], incremental: true },
    refunds: { canonical: ['refund'], incremental: true },
    payments: { canonical: ['settlement'], incremental: true },
    inventoryCounts: { canonical: ['inventoryLevel'], incremental: true },
    payouts: { canonical: ['settlement'], incremental: true },
  },
  entities: {
    inventoryCount: { accepts: ['inventoryLevel'] },
    catalogItem: { accepts: ['product'] },
    itemPrice: { accepts: ['price'] },
  },
  events: {
    'order.created': { stream: 'orders' },
    'order.updated': { stream: 'orders' },
    'refund.created': { stream: 'refunds' },
    'payment.updated': { stream: 'payments' },
    'inventory.count.updated': { stream: 'inventoryCounts' },
  },
  sample: ({ who }) => ({
    settings: { environment: 'production' },
    staging: { environment: 'sandbox' },
    description: `${who} Square POS; staging uses Square's sandbox.`,
  }),
};
