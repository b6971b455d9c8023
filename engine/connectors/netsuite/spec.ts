import { type ConnectorSpec, erpMasterDataStreams, secretRef } from '../spec.js';

export const spec: ConnectorSpec = {
  name: 'netsuite',
  title: 'Oracle NetSuite (SuiteTalk REST)',
  category: 'erp',
  settings: {
    type: 'object',
    required: ['accountId', 'consumerKey', 'consumerSecret', 'tokenId', 'tokenSecret'],
    properties: {
      accountId: {
        type: 'string',
        pattern: '^[0-9A-Za-z_]+$',
        description: 'NetSuite account id, e.g. 1234567 or 1234567_SB1',
      },
      consumerKey: { ...secretRef, description: 'integration record consumer key (token-based authentication)' },
      consumerSecret: { ...secretRef },
      tokenId: { ...secretRef },
      tokenSecret: { ...secretRef },
      subsidiary: { type: 'string', description: 'internal id of the subsidiary records are posted to' },
    },
    additionalProperties: false,
  },
  streams: {
    ...erpMasterDataStreams,
    salesOrders: { canonical: ['order'], incremental: true },
  },
  entities: {
    salesOrder: { accepts: ['order'] },
    cashSale: { accepts: ['order'] },
    creditMemo: { accepts: ['refund'] },
    returnAuthorization: { accepts: ['refund'] },
    customer: { accepts: ['customer'] },
    itemFulfillment: { accepts: ['fulfillment'] },
    journalEntry: { accepts: ['journalEntry', 'settlement'] },
    deposit: { accepts: ['settlement'] },
  },
  events: {},
  sample: ({ who }) => ({
    settings: { accountId: '1234567' },
    staging: { accountId: '1234567_SB1' },
    description: `${who} NetSuite account (replace 1234567 with its account id); staging posts to the sandbox account.`,
  }),
};
