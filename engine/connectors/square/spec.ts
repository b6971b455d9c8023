import { type ConnectorSpec, secretRef, rateLimit } from '../spec.js';

export const spec: ConnectorSpec = {
  name: 'square',
  title: 'Square (POS, Orders and Inventory APIs)',
  category: 'pos',
  writes: {
    effect: 'exactly-once',
    how: "each request carries an idempotency_key made from its records' write ids (Square answers a repeat with its first response); inventory counts are absolute and stamped with the record's updatedAt (occurred_at), so not even a repeat under another key changes stock",
  },
  settings: {
    type: 'object',
    required: ['accessToken'],
    properties: {
      environment: {
        enum: ['sandbox', 'production'],
        default: 'production',
        description: "Square's environment: production, or the sandbox of a developer account",
      },
      baseUrl: {
        type: 'string',
        pattern: '^https?://',
        description:
          "the API's base URL, for a proxy or a test server (default: https://connect.squareup.com, or https://connect.squareupsandbox.com in the sandbox environment)",
      },
      apiVersion: {
        type: 'string',
        pattern: '^\\d{4}-\\d{2}-\\d{2}$',
        default: '2026-07-15',
        description:
          "the Square-Version sent with every request (default 2026-07-15); pinned here so that a change of the application's version in Square's dashboard cannot change what rsync reads",
      },
      accessToken: { ...secretRef, description: 'Square access token' },
      webhookSignatureKey: { ...secretRef, description: 'signs webhooks (x-square-hmacsha256-signature)' },
      notificationUrl: {
        type: 'string',
        description:
          "the webhook subscription's notification URL exactly as Square has it (Square signs it with the body); default: RSYNC_PUBLIC_URL and the path received",
      },
      locationIds: {
        type: 'array',
        items: { type: 'string' },
        description: 'the store locations to sync (default: every location of the seller)',
      },
      stockLocations: {
        type: 'object',
        additionalProperties: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
        description:
          'inventory writes: the Square location id(s) each source location is counted at, e.g. { "DUB-WH": "D7AVYMEAPJ3A3" } (default: a source location that is a Square location id)',
      },
      rateLimit: rateLimit(
        'requests per second to Square (default 10; Square publishes no limit, and halves this pace itself after a 429)',
      ),
    },
    additionalProperties: false,
  },
  // What each read is (connector.ts): orders by SearchOrders' updated_at filter across every location (10 a call);
  // payments and refunds by ListPayments' / ListPaymentRefunds' updated_at range; payouts by creation time (the
  // only filter ListPayouts has) read back 14 days, so that a payout's later status is seen; catalogItems as ITEMs
  // with their variations, deleted ones included (is_deleted); inventoryCounts by calculated_at; customers by
  // SearchCustomers' updated_at filter (a deleted customer is not searchable: customer.deleted is its only trace).
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
  // Its reference events are looked up (connector.ts lookup): the worker maps the record they name.
  lookup: true,
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
