import type { ConnectorSpec } from '../spec.js';

const all = <T>(names: readonly string[], value: T): Record<string, T> =>
  Object.fromEntries(names.map((n) => [n, value]));

export const spec: ConnectorSpec = {
  name: 'sandbox',
  title: 'Sandbox (simulated storefront or ERP on PostgreSQL)',
  category: 'sandbox',
  writes: { effect: 'exactly-once', how: 'its systems live in the state database: writes commit with the ledger' },
  settings: {
    type: 'object',
    required: ['system'],
    properties: {
      system: { enum: ['storefront', 'erp', 'pos'], description: 'which kind of system to simulate' },
      seed: { type: 'integer', description: 'seed for generated data' },
      ordersPerMinute: {
        type: 'number',
        minimum: 0,
        description: 'a rate of generated orders; accepted, not read by the sandbox connector yet',
      },
    },
    additionalProperties: false,
  },
  streams: {
    orders: { canonical: ['order'], incremental: true },
    refunds: { canonical: ['refund'], incremental: true },
    products: { canonical: ['product'], incremental: true },
    prices: { canonical: ['price'], incremental: true },
    inventory: { canonical: ['inventoryLevel'], incremental: true },
    payouts: { canonical: ['settlement'], incremental: true },
  },
  entities: {
    salesOrder: { accepts: ['order'] },
    creditMemo: { accepts: ['refund'] },
    product: { accepts: ['product'] },
    price: { accepts: ['price'] },
    inventoryLevel: { accepts: ['inventoryLevel'] },
    journalEntry: { accepts: ['journalEntry', 'settlement'] },
    customer: { accepts: ['customer'] },
  },
  // Shopify's topic names and WooCommerce's (orders) or Square's (refunds) alike, with their lifecycle topics: a flow written for one of those
  // runs against the sandbox. Its simulated deliveries carry the record.
  events: {
    ...all(['orders/create', 'orders/updated', 'orders/cancelled', 'order.created', 'order.updated'], {
      stream: 'orders',
      payload: 'record' as const,
    }),
    ...all(['refunds/create', 'refund.created', 'refund.updated'], { stream: 'refunds', payload: 'record' as const }),
  },
  sample: ({ role }) => ({
    settings: { system: role === 'source' ? 'storefront' : 'erp', seed: 1 },
    description: `A simulated ${role === 'source' ? 'storefront' : 'ERP'} on rsync's own database, to try the flows before the real system is connected.`,
  }),
};
