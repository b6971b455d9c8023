/**
 * The netsuite catalogue entry: Oracle NetSuite through SuiteTalk REST web services (connector.ts). Its streams are
 * the SuiteQL reads the connector makes; its entities the record types it upserts by external id.
 */
import { type ConnectorSpec, erpMasterDataStreams, rateLimit, secretRef, str } from '../spec.js';

/** One complete set of credentials: its settings required (their schemas are above, in `properties`). */
const alternative = (...names: string[]) => ({
  required: names,
  properties: Object.fromEntries(names.map((n) => [n, {}])),
});

const id = (description: string) => ({ type: 'string', pattern: '^[0-9]+$', description });

export const spec: ConnectorSpec = {
  name: 'netsuite',
  title: 'Oracle NetSuite (SuiteTalk REST)',
  category: 'erp',
  writes: {
    effect: 'exactly-once',
    how: 'each record is upserted by an external id made from its idempotency key (PUT /record/v1/<type>/eid:<key>): a repeat after a crash or a timeout updates the record the first attempt created, in place, with the same values — NetSuite keeps one record of a type per external id',
  },
  describesTarget: true,
  settings: {
    type: 'object',
    required: ['accountId'],
    properties: {
      accountId: {
        type: 'string',
        pattern: '^[0-9A-Za-z_]+$',
        description:
          'NetSuite account id, e.g. 1234567 or 1234567_SB1 (a sandbox: host 1234567-sb1.suitetalk.api.netsuite.com)',
      },
      baseUrl: {
        type: 'string',
        pattern: '^https?://',
        description:
          "the REST web services' base URL, for a proxy or a test server (default: https://<account>.suitetalk.api.netsuite.com)",
      },
      consumerKey: { ...secretRef, description: 'token-based authentication: the integration record consumer key' },
      consumerSecret: { ...secretRef, description: 'token-based authentication: its consumer secret' },
      tokenId: { ...secretRef, description: "token-based authentication: the access token's id" },
      tokenSecret: { ...secretRef, description: "token-based authentication: the access token's secret" },
      clientId: { ...secretRef, description: "OAuth 2.0 client credentials: the integration record's client id" },
      certificateId: str('OAuth 2.0 client credentials: the certificate id of the M2M setup mapping'),
      privateKey: {
        ...secretRef,
        description: "OAuth 2.0 client credentials: the certificate's private key (PEM, PKCS#8)",
      },
      algorithm: {
        enum: ['PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512'],
        default: 'PS256',
        description: "OAuth 2.0 client credentials: the JWT assertion's algorithm (RSA-PSS for an RSA key, ES for EC)",
      },
      subsidiary: id('internal id of the subsidiary records are posted to (OneWorld accounts)'),
      customer: id('internal id of the customer orders, cash sales and credit memos are posted to (e.g. Web Sales)'),
      location: id('internal id of the location orders are fulfilled from'),
      items: {
        type: 'object',
        additionalProperties: { type: 'string', pattern: '^[0-9]+$' },
        description: "SKU → item internal id, for SKUs that are not an item's itemId (default: looked up by itemId)",
      },
      customItem: id('internal id of the item lines without a SKU are posted to'),
      discountItem: id('internal id of the discount item line discounts are posted to'),
      refundItem: id('internal id of the item amount-only refunds are credited to'),
      accounts: {
        type: 'object',
        additionalProperties: { type: 'string', pattern: '^[0-9]+$' },
        description: 'journal accounts → account internal id (default: looked up by account number)',
      },
      depositAccount: id('deposits: internal id of the bank account payouts arrive in'),
      clearingAccount: id("deposits: internal id of the account the payouts' sales were held in"),
      feeAccount: id('deposits: internal id of the expense account payout fees are posted to'),
      paymentAccount: id(
        'customer deposits and refunds: internal id of the bank account they go through (deposits: default undeposited funds)',
      ),
      orderKey: {
        type: 'string',
        pattern: '\\{externalId\\}',
        description:
          "customer deposits: the key of the order's sales order, `{externalId}` standing for the order's id (e.g. shopify-order-{externalId}); the deposit is linked to it",
      },
      refundKey: {
        type: 'string',
        pattern: '\\{externalId\\}',
        description:
          "customer refunds: the key of the refund's credit memo, `{externalId}` standing for the refund's id (e.g. shopify-refund-{externalId}); the refund applies it",
      },
      concurrency: {
        type: 'integer',
        minimum: 1,
        default: 4,
        description:
          "requests in flight at once for this connection, across every worker (default 4: below the smallest account limit, 5, so that the customer's other integrations keep a share)",
      },
      rateLimit: rateLimit('requests per second to NetSuite (default 50; NetSuite limits concurrency, not rate)'),
    },
    additionalProperties: false,
    // Token-based authentication (the default, and what `rsync init` writes), or OAuth 2.0 client credentials.
    anyOf: [
      alternative('consumerKey', 'consumerSecret', 'tokenId', 'tokenSecret'),
      alternative('clientId', 'certificateId', 'privateKey'),
    ],
  },
  // What each read is (connector.ts STREAMS): SuiteQL by lastmodifieddate in UTC, ordered by it and the key. items and
  // prices read inventory items (the prices from the Base Price level); inventory one row per item and location.
  streams: {
    ...erpMasterDataStreams,
  },
  entities: {
    salesOrder: { accepts: ['order'] },
    cashSale: { accepts: ['order'] },
    creditMemo: { accepts: ['refund'] },
    customer: { accepts: ['customer'] },
    journalEntry: { accepts: ['journalEntry', 'settlement'] },
    deposit: { accepts: ['settlement'] },
    customerDeposit: { accepts: ['order'] },
    customerRefund: { accepts: ['refund'] },
    inventoryItem: { accepts: ['product'] },
  },
  events: {},
  sample: ({ who }) => ({
    settings: { accountId: '1234567' },
    staging: { accountId: '1234567_SB1' },
    description: `${who} NetSuite account (replace 1234567 with its account id); staging posts to the sandbox account.`,
  }),
};
