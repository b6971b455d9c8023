import { type ConnectorSpec, secretRef, str, rateLimit } from '../spec.js';

/**
 * The Stripe-Version sent when a connection pins none: the version the receiver's envelope and the payout mappings
 * were written against (Stripe renders every object in the version a request asks for; an event in the version of
 * its creation).
 */
export const DEFAULT_API_VERSION = '2024-06-20';

export const spec: ConnectorSpec = {
  name: 'stripe',
  title: 'Stripe (payments and payouts)',
  category: 'payment',
  settings: {
    type: 'object',
    required: ['apiKey'],
    properties: {
      apiKey: {
        ...secretRef,
        description:
          'secret key (sk_live_…, sk_test_… in test mode) or, better, a restricted key (rk_…) with read access to charges, refunds, disputes, payouts, balance transactions, customers and events',
      },
      webhookSecret: { ...secretRef, description: 'endpoint signing secret (whsec_…)' },
      account: str('connected account id (acct_…), when the retailer is a Connect account'),
      baseUrl: {
        type: 'string',
        pattern: '^https?://',
        description: "the API's base URL, for a proxy or a test server (default: https://api.stripe.com)",
      },
      apiVersion: {
        type: 'string',
        pattern: '^\\d{4}-\\d{2}-\\d{2}(\\.[a-z]+)?$',
        description: `the Stripe-Version every request pins, so that the objects keep the shape the mappings read (default: ${DEFAULT_API_VERSION})`,
      },
      rateLimit: rateLimit(
        'requests per second (default 80 with a live key, 20 with a test key: 80 % of what Stripe allows each mode)',
      ),
    },
    additionalProperties: false,
  },
  // Each stream is Stripe's list endpoint of the same objects, and its changes are read from the Events API
  // (connector.ts). payouts records carry their balance transactions (GET /v1/balance_transactions?payout=…) under
  // balance_transactions, which is what makes a settlement (gross, fees, net) and what the payout mappings read for
  // the journal entry; balanceTransactions is the same transactions as a stream of their own (by created: Stripe
  // sends no event for them).
  streams: {
    payouts: { canonical: ['settlement', 'journalEntry'], incremental: true },
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
