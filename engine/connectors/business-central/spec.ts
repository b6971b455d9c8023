import { type ConnectorSpec, erpMasterDataStreams, secretRef, str } from '../spec.js';

const zeros = '00000000-0000-0000-0000-000000000000';

export const spec: ConnectorSpec = {
  name: 'business-central',
  title: 'Microsoft Dynamics 365 Business Central (API v2.0)',
  category: 'erp',
  settings: {
    type: 'object',
    required: ['tenantId', 'environment', 'companyId', 'clientId', 'clientSecret'],
    properties: {
      tenantId: str('Microsoft Entra tenant id'),
      environment: str('Business Central environment name, e.g. Production'),
      companyId: str('company id (GUID)'),
      clientId: str('app registration client id'),
      clientSecret: { ...secretRef, description: 'app registration client secret (OAuth2 client credentials)' },
    },
    additionalProperties: false,
  },
  streams: erpMasterDataStreams,
  entities: {
    salesOrder: { accepts: ['order'] },
    salesInvoice: { accepts: ['order'] },
    salesCreditMemo: { accepts: ['refund'] },
    customer: { accepts: ['customer'] },
    journal: { accepts: ['journalEntry', 'settlement'] },
  },
  events: {},
  sample: ({ who }) => ({
    settings: { tenantId: zeros, environment: 'Production', companyId: zeros, clientId: zeros },
    staging: { environment: 'Sandbox' },
    description: `${who} Business Central company (replace the zero ids); staging uses the Sandbox environment.`,
  }),
};
