/**
 * The square plugin: Square (POS, Orders and Inventory APIs) — its catalogue entry (spec.ts) and its webhook receiver
 * (receive.ts). It has no reader or writer yet: at run time the sandbox serves it (`rsync worker --sandbox`), or an
 * http connection describes its API. Its connector.ts, with its vendor fake and tests, belongs in this folder.
 * Everything rsync knows of the system lives in this folder, which imports no other plugin's folder, and nothing from
 * runtime/, plan/, apply/ or cli/.
 */
import { receiver } from './receive.js';
import { spec } from './spec.js';
import type { ConnectorPlugin } from '../types.js';

export const plugin: ConnectorPlugin = {
  spec,
  receiver,
};
