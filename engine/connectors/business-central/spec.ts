/**
 * Business Central's catalogue entry: the settings a connection gives (tenant, environment, company and the app
 * registration of the OAuth 2.0 client credentials flow), what it reads and writes (connector.ts), and what a
 * repeated write does.
 */
import { type ConnectorSpec, erpMasterDataStreams, rateLimit, secretRef, str } from '../spec.js';

const zeros = '00000000-0000-0000-0000-000000000000';

export const spec: ConnectorSpec = {
  name: 'business-central',
  title: 'Microsoft Dynamics 365 Business Central (API v2.0)',
  category: 'erp',
  writes: {
    effect: 'exactly-once',
    how: "Business Central has no idempotency key: every record carries rsync's key (externalDocumentNumber of documents, number of customers, documentNumber of journal lines; the item number is the SKU), and a write finds it by that key first — a repeat after a crash finds what the first attempt created and changes nothing; creations go in atomic $batch requests (Isolation: snapshot), all or nothing",
  },
  settings: {
    type: 'object',
    required: ['tenantId', 'environment', 'companyId', 'clientId', 'clientSecret'],
    properties: {
      tenantId: str('Microsoft Entra tenant id'),
      environment: str('Business Central environment name, e.g. Production'),
      companyId: str('company id (GUID)'),
      clientId: str('app registration client id'),
      clientSecret: { ...secretRef, description: 'app registration client secret (OAuth2 client credentials)' },
      baseUrl: {
        type: 'string',
        pattern: '^https?://',
        description:
          "the API's origin, for a proxy or a test server (default https://api.businesscentral.dynamics.com)",
      },
      authorityUrl: {
        type: 'string',
        pattern: '^https?://',
        description: 'the Microsoft Entra authority tokens are asked of (default https://login.microsoftonline.com)',
      },
      customerNumber: str(
        'sales orders, invoices and credit memos: the customer number they are sold to (e.g. a "Web customer"); a document without it is dead-lettered',
      ),
      shippingAccount: str('the G/L account number shipping lines are posted to'),
      chargesAccount: str('the G/L account number of other charges, lines without a SKU and amount-only refunds'),
      journal: str('journal entries: the general journal batch code their lines are written to (default GENERAL)'),
      bankAccount: str('settlements as journal lines: the G/L account number of the bank the payouts arrive in'),
      clearingAccount: str("settlements as journal lines: the G/L account number the payouts' sales were held in"),
      feeAccount: str('settlements as journal lines: the G/L account number payout fees are posted to'),
      rateLimit: rateLimit(
        'requests per second to Business Central (default 20: 6,000 requests per 5 minutes per user in production)',
      ),
      concurrency: {
        type: 'integer',
        minimum: 1,
        description:
          'requests in flight at once, across every worker (default 5: what Business Central processes at once per user)',
      },
    },
    additionalProperties: false,
  },
  // items, prices and inventory read the items entity (number, unitPrice, inventory); customers the customers entity.
  streams: erpMasterDataStreams,
  entities: {
    salesOrder: { accepts: ['order'] },
    salesInvoice: { accepts: ['order'] },
    salesCreditMemo: { accepts: ['refund'] },
    customer: { accepts: ['customer'] },
    item: { accepts: ['product'] },
    journal: { accepts: ['journalEntry', 'settlement'] },
  },
  events: {},
  sample: ({ who }) => ({
    settings: { tenantId: zeros, environment: 'Production', companyId: zeros, clientId: zeros },
    staging: { environment: 'Sandbox' },
    description: `${who} Business Central company (replace the zero ids); staging uses the Sandbox environment.`,
  }),
};
