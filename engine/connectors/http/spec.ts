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
          type: { enum: ['none', 'bearer', 'basic', 'apiKey', 'oauth2'], description: 'the scheme' },
          token: secretRef,
          username: { type: 'string', description: 'basic: the user name (password by reference)' },
          password: secretRef,
          header: { type: 'string', description: 'apiKey: the header that carries the key' },
          key: secretRef,
          tokenUrl: { type: 'string', pattern: '^https?://', description: 'oauth2: the token endpoint' },
          clientId: { type: 'string', description: 'oauth2: the client id (clientSecret by reference)' },
          clientSecret: secretRef,
          scope: { type: 'string', description: 'oauth2: the scopes asked for, space-separated' },
        },
        required: ['type'],
        additionalProperties: false,
      },
      rateLimit: {
        type: 'object',
        description: 'at most this many requests per second',
        properties: { perSecond: { type: 'number', exclusiveMinimum: 0, description: 'requests per second' } },
      },
      ...dynamicSettings,
    },
    additionalProperties: false,
  },
  streams: {},
  entities: {},
  events: {},
};
