/**
 * The woocommerce plugin: WooCommerce (REST API v3), a storefront — its catalogue entry (spec.ts), its reader and
 * writer (connector.ts, with its vendor fake fake.ts and its tests) and its webhook receiver (receive.ts).
 * Everything rsync knows of the system lives in this folder, which imports no other plugin's folder, and nothing from
 * runtime/, plan/, apply/ or cli/.
 */
import { openWooCommerce } from './connector.js';
import { receiver } from './receive.js';
import { spec } from './spec.js';
import type { ConnectorPlugin } from '../types.js';

export const plugin: ConnectorPlugin = {
  spec,
  open: (ctx) => openWooCommerce(ctx),
  receiver,
};
