import { type ConnectorSpec, str, dynamicSettings } from '../spec.js';

export const spec: ConnectorSpec = {
  name: 'file',
  title: 'File drops (CSV, JSON Lines)',
  category: 'generic',
  dynamic: true,
  settings: {
    type: 'object',
    required: ['folder'],
    properties: {
      folder: str('the drop folder'),
      format: { enum: ['csv', 'jsonl'], default: 'csv' },
      ...dynamicSettings,
    },
    additionalProperties: false,
  },
  streams: {},
  entities: {},
  events: {},
};
