/**
 * Avalara AvaTax's catalogue entry: what validation checks an avalara connection and its flows against, and what
 * `rsync init` writes for a new one. The runtime connector is connector.ts (read its header for the choices below).
 *
 * The calculated tax comes back two ways: the write's `view` carries the transaction's totalTax and each line's tax
 * (kept in the ledger, compared by `rsync xref verify`), and the `transactions` stream reads the company's
 * transactions incrementally by modifiedDate, each with its lines, for a flow that maps the tax AvaTax computed into
 * another system (an ERP's sales order tax, a report).
 */
import { type ConnectorSpec, rateLimit, secretRef, str } from '../spec.js';

/** A postal address setting, in the canonical model's terms (schemas/canonical/defs.schema.json#/$defs/address). */
const address = (description: string) => ({
  type: 'object',
  description,
  required: ['country'],
  properties: {
    line1: { type: 'string', description: 'street address, first line' },
    line2: { type: 'string', description: 'street address, second line' },
    city: { type: 'string', description: 'city' },
    region: { type: 'string', description: 'state or province code (e.g. WA)' },
    postalCode: { type: 'string', description: 'postal or ZIP code' },
    country: { type: 'string', pattern: '^[A-Z]{2}$', description: 'ISO 3166-1 alpha-2' },
  },
  additionalProperties: false,
});

export const spec: ConnectorSpec = {
  name: 'avalara',
  title: 'Avalara AvaTax (tax engine)',
  category: 'tax',
  writes: {
    effect: 'exactly-once',
    how: "CreateOrAdjustTransaction with a transaction code derived from the idempotency key: a repeat after a crash finds AvaTax's transaction of that code and adjusts it to the same content (an adjustment, never a second transaction, so tax is recorded once); a void or commit repeated on a transaction already voided or committed is taken as done",
  },
  settings: {
    type: 'object',
    required: ['accountId', 'licenseKey', 'companyCode'],
    properties: {
      environment: {
        enum: ['sandbox', 'production'],
        default: 'production',
        description: 'production → https://rest.avatax.com, sandbox → https://sandbox-rest.avatax.com',
      },
      baseUrl: {
        type: 'string',
        pattern: '^https?://',
        description: "the API's origin, for a proxy or a test server (default: by environment)",
      },
      accountId: str('AvaTax account id (the user name of Basic auth)'),
      licenseKey: { ...secretRef, description: 'AvaTax license key (the password of Basic auth)' },
      companyCode: str('the company code transactions are recorded under'),
      shipFrom: address(
        'where the goods ship from (the store or warehouse): every transaction needs it; ship-to is the order’s shipping address',
      ),
      commit: {
        enum: ['inline', 'endpoint', 'never'],
        default: 'inline',
        description:
          'inline: recorded committed (commit: true in CreateOrAdjustTransaction); endpoint: recorded uncommitted, then CommitTransaction; never: left uncommitted (Saved) for someone to commit in AvaTax',
      },
      customerCode: str('the customerCode of an order without a customer id (a guest checkout); default "guest"'),
      shippingTaxCode: str('the AvaTax tax code of shipping lines (default FR020100, freight)'),
      refundOrderKey: str(
        'the idempotency key the orders flow gives the refunded order, with {orderExternalId}: a refund’s return invoice takes the addresses, customer and tax date of that order’s transaction (default "tax-order-{orderExternalId}", the orders-to-tax-engine template’s key)',
      ),
      appName: str('the application named in X-Avalara-Client (default "rsync")'),
      rateLimit: rateLimit(
        'requests per second (default 20: AvaTax publishes no numeric limit, throttles by subscription with 429 and Retry-After)',
      ),
      concurrency: {
        type: 'integer',
        minimum: 1,
        description:
          'at most this many requests in flight across every worker (default: no cap; AvaTax documents none)',
      },
    },
    additionalProperties: false,
  },
  streams: {
    // GET /api/v2/companies/{companyCode}/transactions by modifiedDate, with lines: the tax AvaTax computed.
    transactions: { canonical: ['order', 'refund'], incremental: true },
  },
  entities: {
    // An order: a SalesInvoice (voided when the order is cancelled); a refund: a ReturnInvoice.
    transaction: { accepts: ['order', 'refund'] },
  },
  events: {},
  sample: ({ customer, who }) => ({
    settings: {
      environment: 'production',
      accountId: '1100000000',
      companyCode: customer.replace(/-/g, '').toUpperCase().slice(0, 25),
    },
    staging: { environment: 'sandbox' },
    description: `${who} AvaTax company (replace the account id); staging uses the AvaTax sandbox.`,
  }),
};
