import { type ConnectorSpec, secretRef, dynamicSettings } from '../spec.js';

export const spec: ConnectorSpec = {
  name: 'postgres',
  title: 'PostgreSQL tables',
  category: 'generic',
  dynamic: true,
  writes: {
    effect: 'exactly-once',
    how: 'in the state database, rows commit with the ledger; in another, each row commits with its write id (settings.writeIds), so a repeat changes nothing',
  },
  describesTarget: true,
  settings: {
    type: 'object',
    required: ['url'],
    properties: {
      url: { ...secretRef, description: 'connection URL (postgres://…); it carries a password, so by reference' },
      schema: { type: 'string', default: 'public', description: 'the schema of the tables read and written' },
      writeIds: {
        description:
          "the table (in `schema`) where each written row's write id is kept, so that a write repeated after a crash is applied once (default rsync_write_ids, created on first write); false: repeats are upserted again. Unused when the connection is the state database: its writes commit with the ledger.",
        oneOf: [{ type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$' }, { const: false }],
      },
      ...dynamicSettings,
    },
    additionalProperties: false,
  },
  streams: {},
  entities: {},
  events: {},
};
