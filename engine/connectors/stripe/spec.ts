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
    customers: { canonical: ['customer'], incremental: true },
  },
  entities: {},
  events: {
    'payout.paid': { stream: 'payouts' },
    'charge.succeeded': { stream: 'charges' },
    'charge.refunded': { stream: 'refunds' },
  },
  sample: ({ who }) => ({
    settings: {},
    staging: {},
    description: `${who} Stripe account; staging uses test-mode keys.`,
  }),
};
