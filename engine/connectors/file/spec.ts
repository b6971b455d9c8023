import { type ConnectorSpec, str, dynamicSettings } from '../spec.js';

export const spec: ConnectorSpec = {
  name: 'file',
  title: 'File drops (CSV, JSON Lines)',
  category: 'generic',
  dynamic: true,
  writes: {
    effect: 'at-least-once',
    how: 'a batch appended before a crash is appended again; each line carries its write id ("write") for the reader to drop the repeat',
  },
  settings: {
    type: 'object',
    required: ['folder'],
    properties: {
      folder: str('the drop folder'),
      format: { enum: ['csv', 'jsonl'], default: 'csv', description: 'how the files are written: CSV or JSON lines' },
      ...dynamicSettings,
    },
    additionalProperties: false,
  },
  streams: {},
  entities: {},
  events: {},
};
