/**
 * The connector plugins: one folder each under engine/connectors/, listed here and nowhere else. The catalogue
 * (catalog.ts) and the runtime registry (registry.ts) are built from this list.
 *
 * A new system is a folder — `spec.ts` (its catalogue entry), `receive.ts` when it sends webhooks, `connector.ts`
 * when it can be read or written, their tests and vendor fake beside them, and `index.ts` exporting the plugin
 * (types.ts, ConnectorPlugin) — and one line here: its import, at its place in the list.
 */
import type { ConnectorPlugin } from './types.js';

/**
 * In catalogue order, which is seen: validation lists the connectors in it, and `rsync init` takes the first of
 * the connectors that fit a template equally well (netsuite before business-central). Imported with a top-level
 * await so that a system is one line (a plugin imports neither this file, the catalogue nor the registry, so there
 * is no cycle for the await to stall on).
 */
export const PLUGINS: readonly ConnectorPlugin[] = (
  await Promise.all([
    import('./shopify/index.js'),
    import('./woocommerce/index.js'),
    import('./square/index.js'),
    import('./netsuite/index.js'),
    import('./business-central/index.js'),
    import('./avalara/index.js'),
    import('./stripe/index.js'),
    import('./http/index.js'),
    import('./postgres/index.js'),
    import('./file/index.js'),
    import('./webhook/index.js'),
    import('./sandbox/index.js'),
  ])
).map((m) => m.plugin);
