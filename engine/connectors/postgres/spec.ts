import { type ConnectorSpec, secretRef, dynamicSettings } from '../spec.js';

export const spec: ConnectorSpec = {
  name: 'postgres',
  title: 'PostgreSQL tables',
  category: 'generic',
  dynamic: true,
  settings: {
    type: 'object',
    required: ['url'],
    properties: {
      url: { ...secretRef, description: 'connection URL (postgres://…); it carries a password, so by reference' },
      schema: { type: 'string', default: 'public' },
      ...dynamicSettings,
    },
    additionalProperties: false,
  },
  streams: {},
  entities: {},
  events: {},
};
