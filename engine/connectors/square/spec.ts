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
    catalogItems: { canonical: ['product', 'price'], incremental: true },
    customers: { canonical: ['customer'], incremental: true },
  },
  entities: {
    inventoryCount: { accepts: ['inventoryLevel'] },
    catalogItem: { accepts: ['product'] },
    itemPrice: { accepts: ['price'] },
  },
  // Only event types Square documents (topics.ts, with the sources). The record is the one value under
  // `data.object` (receive.ts); each event's reference page shows what that is.
  events: {
    // order_created / order_updated: order_id, version, location_id and state, not the order (fetch it by id).
    'order.created': { stream: 'orders', payload: 'reference' },
    'order.updated': { stream: 'orders', payload: 'reference' },
    'payment.updated': { stream: 'payments', payload: 'record' },
    'refund.created': { stream: 'refunds', payload: 'record' },
    'refund.updated': { stream: 'refunds', payload: 'record' },
    // inventory_counts: the InventoryCount records themselves, one per variation and location.
    'inventory.count.updated': { stream: 'inventoryCounts', payload: 'record' },
    // catalog_version: only updated_at; what changed is searched for since then.
    'catalog.version.updated': { stream: 'catalogItems', payload: 'reference' },
    'customer.created': { stream: 'customers', payload: 'record' },
    'customer.updated': { stream: 'customers', payload: 'record' },
    'customer.deleted': { stream: 'customers', payload: 'record' },
  },
  sample: ({ who }) => ({
    settings: { environment: 'production' },
    staging: { environment: 'sandbox' },
    description: `${who} Square POS; staging uses Square's sandbox.`,
  }),
};
