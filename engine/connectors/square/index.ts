/**
 * The square plugin: Square (POS, Orders, Payments, Catalog, Inventory and Customers APIs) — its catalogue entry
 * (spec.ts), its webhook receiver (receive.ts) and its connector (connector.ts: reads, writes, lookups of the
 * records a notification names, and the connection check), with the fake Square API its tests run against
 * (fake.ts). Everything rsync knows of the system lives in this folder, which imports no other plugin's folder, and
 * nothing from runtime/, plan/, apply/ or cli/.
 */
import { openSquare } from './connector.js';
import { receiver } from './receive.js';
import { spec } from './spec.js';
import type { ConnectorPlugin } from '../types.js';

export const plugin: ConnectorPlugin = {
  spec,
  open: (ctx) => openSquare(ctx),
  receiver,
};
