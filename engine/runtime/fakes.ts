/**
 * Vendor fakes for `rsync demo`: the systems whose connector has a fake server (engine/connectors/<vendor>/fake.ts)
 * are served by their REAL connector, pointed at the fake on 127.0.0.1, instead of by the sandbox. A connection is
 * pointed at its fake at run time only (RuntimeContext.settings: the fake's URL, and secret references to
 * environment variables this module sets to the fake's credentials), never in the workspace's YAML.
 *
 * FAKES is the table of connector → fake starter: a connector whose fake is not listed (the ERPs and tax engines; an
 * http connection) stays on the sandbox. Adding one is its line in FAKES and its starter.
 */
import type { FakeSeed } from '../connectors/square/fake.js';
import type { ConnectionDef, FlowDef } from './flows.js';

type Obj = Record<string, unknown>;

/** A fake server standing in for one connection. */
export interface RunningFake {
  /** `<customer>/<connection>` */
  system: string;
  connector: string;
  url: string;
  /** Laid over the connection's settings at run time: the fake's URL, the fake's credentials as secret references. */
  settings: Obj;
  /** The secret webhooks to this connection are signed with (the value its webhook secret reference resolves to). */
  webhookSecret: string;
  /** Adds records of a stream (in the vendor's REST shape) to the fake. */
  seed(stream: string, records: Obj[]): void;
  /** Adds a sellable item per SKU, as a store whose catalogue matches the ERP's holds (what stock and price writes find). */
  catalog(skus: string[]): void;
  /** Requests the fake answered with a 2xx. */
  answered(): number;
  close(): Promise<void>;
}

/**
 * Starts a fake for a connection; `secret(setting, value)` sets an environment variable and returns its reference;
 * `c.currency` is the one its flows' templates were given (a store sells in one), `c.stockFrom` the ERP locations
 * its flows write stock from.
 */
export type FakeStarter = (
  c: FakedConnection,
  secret: (setting: string, value: string) => { secretRef: string },
) => Promise<Omit<RunningFake, 'system' | 'connector' | 'webhookSecret'> & { webhookSecret?: string }>;

/** The webhook secret of every faked connection (a demo's: the simulated senders sign with it). */
const DEMO_WEBHOOK_SECRET = 'rsync-demo-webhook-secret';

/** The SKUs not in `sold` yet, now added to it: a store sells each SKU once. */
function fresh(sold: Set<string>, skus: string[]): string[] {
  const out = skus.filter((s) => !sold.has(s));
  for (const s of out) sold.add(s);
  return out;
}

const ok = (calls: { status: number }[]) => calls.filter((c) => c.status < 300).length;

/** A connection to fake, with what its flows' parameters say of it. */
export type FakedConnection = ConnectionDef & { currency?: string; stockFrom: string[] };

const woocommerce: FakeStarter = async ({ currency }, secret) => {
  const { startFakeWoo, wooTime } = await import('../connectors/woocommerce/fake.js');
  const consumerKey = 'ck_demo_0123456789abcdef0123456789abcdef01234567';
  const consumerSecret = 'cs_demo_76543210fedcba9876543210fedcba9876543210';
  const fake = await startFakeWoo({ consumerKey, consumerSecret, siteOffsetMinutes: 0, currency });
  let id = 9000;
  const sold = new Set<string>();
  return {
    url: fake.url,
    settings: {
      url: fake.url,
      consumerKey: secret('consumerKey', consumerKey),
      consumerSecret: secret('consumerSecret', consumerSecret),
      webhookSecret: secret('webhookSecret', DEMO_WEBHOOK_SECRET),
    },
    // WooCommerce's dates: local and _gmt, no offset (the site is on UTC here), from whichever the record has.
    seed: (stream, records) =>
      fake.seed(
        stream as Parameters<typeof fake.seed>[0],
        records.map((r) => {
          const out = { ...r };
          // A copy's times are varied in the local fields (the _gmt ones keep the sample's); a sample with only
          // _gmt ones is a copy made now.
          const now = Date.now();
          for (const f of ['date_created', 'date_modified']) {
            if (f === 'date_modified' && !(f in r) && !(`${f}_gmt` in r)) continue;
            const t = typeof r[f] === 'string' ? Date.parse(String(r[f])) : now;
            out[f] = out[`${f}_gmt`] = wooTime(Number.isNaN(t) ? now : t);
          }
          return out;
        }),
      ),
    catalog: (skus) =>
      fake.seed(
        'products',
        fresh(sold, skus).map((sku) => ({
          id: id++,
          sku,
          name: sku,
          type: 'simple',
          status: 'publish',
          manage_stock: true,
        })),
      ),
    answered: () => ok(fake.calls),
    close: () => fake.close(),
  };
};

const square: FakeStarter = async (c, secret) => {
  const { FAKE_MERCHANT_ID, FAKE_SQUARE_TOKEN, startFakeSquare } = await import('../connectors/square/fake.js');
  const ids = Array.isArray(c.settings.locationIds) ? c.settings.locationIds.map(String) : [];
  const locations = ids.map((id) => ({ id, name: id, status: 'ACTIVE', merchant_id: FAKE_MERCHANT_ID }));
  const fake = await startFakeSquare(locations.length ? { locations } : {});
  const location = ids[0];
  let n = 0;
  const sold = new Set<string>();
  return {
    url: fake.url,
    settings: {
      baseUrl: fake.url,
      accessToken: secret('accessToken', FAKE_SQUARE_TOKEN),
      webhookSignatureKey: secret('webhookSignatureKey', DEMO_WEBHOOK_SECRET),
      // The ERP's stock locations counted at the connection's first location, unless the connection maps them.
      ...(location && c.stockFrom.length && !c.settings.stockLocations
        ? { stockLocations: Object.fromEntries(c.stockFrom.map((l) => [l, location])) }
        : {}),
    },
    // A sale is at one of the connection's locations (Square searches orders by location), and has the created_at
    // and updated_at Square sets on every object (a mapping test's sample may leave them out).
    seed: (stream, records) =>
      fake.seed({
        [stream]: records.map((r) => {
          const created = typeof r.created_at === 'string' ? r.created_at : new Date().toISOString();
          return {
            ...r,
            created_at: created,
            updated_at: typeof r.updated_at === 'string' ? r.updated_at : created,
            ...(location && 'location_id' in r ? { location_id: location } : {}),
          };
        }),
      } as FakeSeed),
    catalog: (skus) =>
      fake.seed({
        catalog: fresh(sold, skus).map((sku) => {
          const item = `DEMOITEM${String(++n).padStart(6, '0')}`;
          const at = { updated_at: new Date().toISOString(), version: 1, is_deleted: false };
          return {
            type: 'ITEM',
            id: item,
            ...at,
            item_data: {
              name: sku,
              variations: [
                {
                  type: 'ITEM_VARIATION',
                  id: `DEMOVAR${String(n).padStart(6, '0')}`,
                  ...at,
                  item_variation_data: {
                    item_id: item,
                    sku,
                    name: sku,
                    pricing_type: 'VARIABLE_PRICING',
                    track_inventory: true,
                  },
                },
              ],
            },
          };
        }),
      }),
    answered: () => ok(fake.calls),
    close: () => fake.close(),
  };
};

const stripe: FakeStarter = async (_c, secret) => {
  const { startFakeStripe } = await import('../connectors/stripe/fake.js');
  const fake = await startFakeStripe();
  return {
    url: fake.url,
    settings: {
      baseUrl: fake.url,
      apiKey: secret('apiKey', fake.apiKey),
      webhookSecret: secret('webhookSecret', DEMO_WEBHOOK_SECRET),
    },
    // A record is of its stream's kind (payouts: payout), as Stripe's `object` says.
    seed: (stream, records) => {
      records = records.map((r) => ({ object: stream.replace(/s$/, ''), ...r }));
      fake.seed(records);
      // What changed is Stripe's Events API's to say (an incremental read after the first follows it).
      for (const r of records) fake.emit(`${String(r.object)}.created`, r);
      // A payout's balance transactions are Stripe's to list (GET /v1/balance_transactions?payout=…).
      for (const r of records) {
        const bt = r.balance_transactions as { data?: unknown } | undefined;
        if (r.object === 'payout' && Array.isArray(bt?.data))
          fake.settle(
            String(r.id),
            (bt.data as Obj[]).map((t) => ({ object: 'balance_transaction', ...t })),
          );
      }
    },
    catalog: () => {},
    answered: () => ok(fake.calls),
    close: () => fake.close(),
  };
};

const shopify: FakeStarter = async (c, secret) => {
  const { startFakeShopifyWithBulk } = await import('../connectors/shopify/fake-bulk.js');
  const { customerNode, inventoryLevelNode, orderNode, productNode } = await import('../connectors/shopify/fake.js');
  const { shop } = await startFakeShopifyWithBulk();
  // Stock is counted at the connection's own location (an ERP's location ids are not Shopify's).
  const location = typeof c.settings.locationId === 'string' ? c.settings.locationId : 'gid://shopify/Location/1';
  const locationNumber = location.split('/').pop();
  if (!shop.store.locations.some((l) => l.id === location)) shop.store.locations.push({ id: location });
  let n = 0;
  const sold = new Set<string>();
  const nodeOf: Record<string, (r: Obj) => Obj> = { orders: orderNode, products: productNode, customers: customerNode };
  return {
    url: shop.url,
    settings: {
      baseUrl: shop.url,
      accessToken: secret('accessToken', shop.accessToken),
      webhookSecret: secret('webhookSecret', DEMO_WEBHOOK_SECRET),
    },
    // Records in the REST / webhook shape, as the Admin API's GraphQL nodes the fake serves.
    seed: (stream, records) => {
      const make = nodeOf[stream];
      const store = shop.store as unknown as Record<string, Obj[]>;
      if (!make || !store[stream]) return;
      const now = new Date().toISOString();
      store[stream].push(...records.map((r) => make({ ...r, updated_at: now })));
      shop.touch();
    },
    // A product with one variant per SKU, stocked (at 0) at the connection's location.
    catalog: (skus) => {
      const now = new Date().toISOString();
      for (const sku of fresh(sold, skus)) {
        const id = 9_100_000_000 + ++n;
        shop.store.products.push(
          productNode({
            id,
            title: sku,
            handle: sku.toLowerCase().replace(/[^a-z0-9]+/g, '-'),
            status: 'active',
            created_at: now,
            updated_at: now,
            variants: [
              {
                id: id + 100_000_000,
                sku,
                price: '0.00',
                inventory_item_id: id + 200_000_000,
                created_at: now,
                updated_at: now,
              },
            ],
          }),
        );
        shop.store.inventoryLevels.push(
          inventoryLevelNode(
            { location_id: locationNumber, inventory_item_id: id + 200_000_000, available: 0, updated_at: now },
            sku,
          ),
        );
      }
      shop.touch();
    },
    answered: () => ok(shop.calls),
    close: () => shop.close(),
  };
};

/** Connector → its fake. */
export const FAKES: Readonly<Record<string, FakeStarter>> = { woocommerce, square, stripe, shopify };

/** The connections of `flows` (as source or target) that have a fake, each once, with its flows' parameters. */
export function fakeableConnections(flows: FlowDef[]): FakedConnection[] {
  const out = new Map<string, FakedConnection>();
  for (const f of flows)
    for (const c of [f.source, f.target]) {
      if (!FAKES[c.type]) continue;
      const known = out.get(c.system) ?? { ...c, stockFrom: [] };
      if (typeof f.params.currency === 'string') known.currency ??= f.params.currency;
      if (c === f.target && typeof f.params.locationId === 'string' && !known.stockFrom.includes(f.params.locationId))
        known.stockFrom.push(f.params.locationId);
      out.set(c.system, known);
    }
  return [...out.values()];
}

/** The environment variable holding a faked connection's setting, e.g. RSYNC_DEMO_CONTOSO_SQUARE_ACCESSTOKEN. */
const variable = (system: string, setting: string) =>
  `RSYNC_DEMO_${system}_${setting}`.toUpperCase().replace(/[^A-Z0-9]+/g, '_');

/** Starts a fake for each connection given (FAKES), setting the environment variables their settings refer to. */
export async function startFakes(connections: FakedConnection[]): Promise<RunningFake[]> {
  const out: RunningFake[] = [];
  try {
    for (const c of connections) {
      const start = FAKES[c.type];
      if (!start) continue;
      const fake = await start(c, (setting, value) => {
        const name = variable(c.system, setting);
        process.env[name] = value;
        return { secretRef: `env:${name}` };
      });
      out.push({ webhookSecret: DEMO_WEBHOOK_SECRET, ...fake, system: c.system, connector: c.type });
    }
  } catch (e) {
    await closeFakes(out);
    throw e;
  }
  return out;
}

export async function closeFakes(fakes: RunningFake[]): Promise<void> {
  await Promise.all(fakes.map((f) => f.close().catch(() => {})));
}
