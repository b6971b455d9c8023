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
        description: 'how the sender signs its deliveries: an HMAC of the body, in a header',
        properties: {
          header: { type: 'string', description: 'the header that carries the signature (default X-Signature)' },
          algorithm: { enum: ['hmac-sha256', 'hmac-sha1'], description: 'the HMAC (default hmac-sha256)' },
          encoding: { enum: ['hex', 'base64'], description: "the signature's encoding (default hex)" },
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
