/**
 * The connector plugins: one folder each under engine/connectors/, listed here and nowhere else. The catalogue
 * (catalog.ts) and the runtime registry (registry.ts) are built from this list.
 *
 * A new system is a folder — `spec.ts` (its catalogue entry), `receive.ts` when it sends webhooks, `connector.ts`
 * when it can be read or written, their tests and vendor fake beside them, and `index.ts` exporting the plugin
 * (types.ts, ConnectorPlugin) — and its import here, with its place in the list.
 */
import { plugin as avalara } from './avalara/index.js';
import { plugin as businessCentral } from './business-central/index.js';
import { plugin as file } from './file/index.js';
import { plugin as http } from './http/index.js';
import { plugin as netsuite } from './netsuite/index.js';
import { plugin as postgres } from './postgres/index.js';
import { plugin as sandbox } from './sandbox/index.js';
import { plugin as shopify } from './shopify/index.js';
import { plugin as square } from './square/index.js';
import { plugin as stripe } from './stripe/index.js';
import { plugin as webhook } from './webhook/index.js';
import { plugin as woocommerce } from './woocommerce/index.js';
import type { ConnectorPlugin } from './types.js';

/**
 * In catalogue order, which is seen: validation lists the connectors in it, and `rsync init` takes the first of
 * the connectors that fit a template equally well (netsuite before business-central).
 */
export const PLUGINS: readonly ConnectorPlugin[] = [
  shopify,
  woocommerce,
  square,
  netsuite,
  businessCentral,
  avalara,
  stripe,
  http,
  postgres,
  file,
  webhook,
  sandbox,
];
