import { type ConnectorSpec, secretRef, dynamicSettings } from '../spec.js';

export const spec: ConnectorSpec = {
  name: 'http',
  title: 'HTTP (declarative REST)',
  category: 'generic',
  dynamic: true,
  writes: {
    effect: 'exactly-once',
    how: 'each write carries its write id as Idempotency-Key; exactly once where the API keeps idempotency keys, else a repeated upsert by key',
  },
  settings: {
    type: 'object',
    required: ['baseUrl'],
    properties: {
      baseUrl: { type: 'string', pattern: '^https?://', description: 'the API root (https://…)' },
      auth: {
        type: 'object',
        description: 'bearer, basic, apiKey or oauth2 (client credentials)',
        properties: {
          type: { enum: ['none', 'bearer', 'basic', 'apiKey', 'oauth2'] },
          token: secretRef,
          username: { type: 'string' },
          password: secretRef,
          header: { type: 'string' },
          key: secretRef,
          tokenUrl: { type: 'string', pattern: '^https?://' },
          clientId: { type: 'string' },
          clientSecret: secretRef,
          scope: { type: 'string' },
        },
        required: ['type'],
        additionalProperties: false,
      },
      rateLimit: { type: 'object', properties: { perSecond: { type: 'number', exclusiveMinimum: 0 } } },
      ...dynamicSettings,
    },
    additionalProperties: false,
  },
  streams: {},
  entities: {},
  events: {},
};
