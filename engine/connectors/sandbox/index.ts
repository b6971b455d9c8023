/**
 * The sandbox plugin: the sandbox: simulated systems in the state database — its catalogue entry (spec.ts), its
 * webhook receiver (receive.ts) and its reader and writer (connector.ts). Everything rsync knows of the system lives
 * in this folder, which imports no other plugin's folder, and nothing from runtime/, plan/, apply/ or cli/.
 */
import { openSandbox } from './connector.js';
import { receiver } from './receive.js';
import { spec } from './spec.js';
import type { ConnectorPlugin } from '../types.js';

export const plugin: ConnectorPlugin = {
  spec,
  open: (ctx) => openSandbox(ctx),
  receiver,
};
