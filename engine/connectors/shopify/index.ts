/**
 * The shopify plugin: Shopify (GraphQL Admin API), a storefront — its catalogue entry (spec.ts), its webhook receiver
 * (receive.ts) and its connector (connector.ts: reads of every stream by updated time, writes of products, variant
 * prices and inventory, lookups of the records a webhook names, deletes as records, the connection check), on the
 * GraphQL shapes and converters of graphql.ts, with the fake Shopify its tests run against (fake.ts). Everything rsync knows of the system lives in this folder, which imports no other plugin's folder, and nothing from
 * runtime/, plan/, apply/ or cli/.
 */
import { openShopify } from './connector.js';
import { receiver } from './receive.js';
import { spec } from './spec.js';
import type { ConnectorPlugin } from '../types.js';

export const plugin: ConnectorPlugin = {
  spec,
  open: (ctx) => openShopify(ctx),
  receiver,
};
