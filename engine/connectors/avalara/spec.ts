import { type ConnectorSpec, secretRef, str } from '../spec.js';

export const spec: ConnectorSpec = {
  name: 'avalara',
  title: 'Avalara AvaTax (tax engine)',
  category: 'tax',
  settings: {
    type: 'object',
    required: ['accountId', 'licenseKey', 'companyCode'],
    properties: {
      environment: { enum: ['sandbox', 'production'], default: 'production' },
      accountId: str('AvaTax account id'),
      licenseKey: { ...secretRef, description: 'AvaTax license key' },
      companyCode: str('the company code transactions are recorded under'),
    },
    additionalProperties: false,
  },
  streams: {},
  entities: {
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
