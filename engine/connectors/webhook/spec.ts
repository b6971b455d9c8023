import { type ConnectorSpec, secretRef, dynamicSettings } from '../spec.js';

export const spec: ConnectorSpec = {
  name: 'webhook',
  title: 'Inbound webhooks (any sender)',
  category: 'generic',
  dynamic: true,
  settings: {
    type: 'object',
    properties: {
      signature: {
        type: 'object',
        properties: {
          header: { type: 'string' },
          algorithm: { enum: ['hmac-sha256', 'hmac-sha1'] },
          encoding: { enum: ['hex', 'base64'] },
          secret: secretRef,
        },
        additionalProperties: false,
      },
      ...dynamicSettings,
    },
    additionalProperties: false,
  },
  streams: {},
  entities: {},
  events: {},
};
