/**
 * The webhook plugin: inbound webhooks from any sender (webhook) — its catalogue entry (spec.ts) and its webhook
 * receiver (receive.ts). Everything rsync knows of the system lives in this folder, which imports no other plugin's
 * folder, and nothing from runtime/, plan/, apply/ or cli/.
 */
import { receiver } from './receive.js';
import { spec } from './spec.js';
import type { ConnectorPlugin } from '../types.js';

export const plugin: ConnectorPlugin = {
  spec,
  // It only receives: a connection of it reads and writes nothing.
  open: () => ({ connector: 'webhook' }),
  receiver,
};
