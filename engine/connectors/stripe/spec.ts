import { type ConnectorSpec, secretRef, str } from '../spec.js';

export const spec: ConnectorSpec = {
  name: 'stripe',
  title: 'Stripe (payments and payouts)',
  category: 'payment',
  settings: {
    type: 'object',
    required: ['apiKey'],
    properties: {
      apiKey: { ...secretRef, description: 'restricted API key (rk_live_…) with read access' },
      webhookSecret: { ...secretRef, description: 'endpoint signing secret (whsec_…)' },
      account: str('connected account id (acct_…), when the retailer is a Connect account'),
    },
    additionalProperties: false,
  },
  streams: {
    payouts: { canonical: ['settlement'], incremental: true },
    balanceTransactions: { canonical: ['settlement'], incremental: true },
    charges: { canonical: ['settlement'], incremental: true },
    refunds: { canonical: ['refund'], incremental: true },
    disputes: { canonical: ['settlement'], incremental: true },
    customers: { canonical: ['customer'], incremental: true },
  },
  entities: {},
  // Only event types Stripe documents (topics.ts, with the sources). A snapshot event's data.object is the object
  // itself (https://docs.stripe.com/api/events/types says which): every one here carries its record.
  events: {
    'payout.paid': { stream: 'payouts', payload: 'record' },
    'payout.failed': { stream: 'payouts', payload: 'record' },
    'payout.canceled': { stream: 'payouts', payload: 'record' },
    'charge.succeeded': { stream: 'charges', payload: 'record' },
    // The charge, with its amount_refunded: a charges record. The refund itself comes with refund.created.
    'charge.refunded': { stream: 'charges', payload: 'record' },
    'refund.created': { stream: 'refunds', payload: 'record' },
    'refund.updated': { stream: 'refunds', payload: 'record' },
    'refund.failed': { stream: 'refunds', payload: 'record' },
    'charge.dispute.created': { stream: 'disputes', payload: 'record' },
    'charge.dispute.closed': { stream: 'disputes', payload: 'record' },
    'customer.created': { stream: 'customers', payload: 'record' },
    'customer.updated': { stream: 'customers', payload: 'record' },
    'customer.deleted': { stream: 'customers', payload: 'record' },
  },
  sample: ({ who }) => ({
    settings: {},
    staging: {},
    description: `${who} Stripe account; staging uses test-mode keys.`,
  }),
};
