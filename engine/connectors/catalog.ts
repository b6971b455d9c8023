/**
 * The connector catalogue: what each connector type can do, as data.
 *
 * Validation reads only this file (a flow whose source cannot read its stream is an error before anything runs);
 * the runtime implementations of the connectors live beside it and must match what is declared here.
 *
 * Vocabulary: a *stream* is something a connector can read (in pages, optionally incrementally by a cursor);
 * an *entity* is something it can write (upsert by key) and the canonical entities it accepts; an *event* is a
 * webhook topic it can receive, whose payload is one record of a stream.
 *
 * Generic connectors (http, postgres, file, webhook, sandbox) have no fixed streams or entities: a connection
 * declares its own under `settings.streams` and `settings.entities` (see `dynamic`).
 */

export const CANONICAL_ENTITIES = [
  'product',
  'price',
  'inventoryLevel',
  'order',
  'refund',
  'customer',
  'fulfillment',
  'settlement',
  'journalEntry',
] as const;
export type CanonicalEntity = (typeof CANONICAL_ENTITIES)[number];

export type ConnectorCategory =
  | 'storefront'
  | 'marketplace'
  | 'pos'
  | 'erp'
  | 'wms'
  | 'tax'
  | 'payment'
  | 'generic'
  | 'sandbox';

export interface StreamSpec {
  /** The canonical entities a record of this stream is usually mapped to (informative, used in hints). */
  readonly canonical: readonly CanonicalEntity[];
  /** True when the stream can be read from a cursor (only what changed since); false means full reads only. */
  readonly incremental: boolean;
}

export interface EntitySpec {
  /** The canonical entities this entity can be written from. */
  readonly accepts: readonly CanonicalEntity[];
}

export interface EventSpec {
  /** The stream whose record a delivery of this topic carries. */
  readonly stream: string;
}

/** A JSON Schema (draft 2020-12) for a connection's `settings`; `x-secret: true` marks a property that must be a secretRef. */
export interface SettingsSchema {
  readonly type: 'object';
  readonly required?: readonly string[];
  readonly properties: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  readonly additionalProperties?: boolean;
}

export interface ConnectorSpec {
  readonly type: string;
  readonly title: string;
  readonly category: ConnectorCategory;
  readonly settings: SettingsSchema;
  readonly streams: Readonly<Record<string, StreamSpec>>;
  readonly entities: Readonly<Record<string, EntitySpec>>;
  readonly events: Readonly<Record<string, EventSpec>>;
  /**
   * Generic connectors: streams, entities and events are declared by each connection under
   * `settings.streams.<name>: { canonical?, incremental? }`, `settings.entities.<name>: { accepts: [...] }` and
   * `settings.events.<topic>: { stream }`.
   */
  readonly dynamic?: boolean;
}

const secretRef = { 'x-secret': true, $ref: 'https://rsync.dev/schemas/v1/defs.schema.json#/$defs/secretRef' };
const str = (description: string) => ({ type: 'string', minLength: 1, description });
const dynamicSettings = {
  streams: { type: 'object', description: 'streams this connection can read, by name' },
  entities: { type: 'object', description: 'entities this connection can write, by name' },
  events: { type: 'object', description: 'webhook topics this connection receives, by name' },
};

const all = <T>(names: readonly string[], value: T): Record<string, T> =>
  Object.fromEntries(names.map((n) => [n, value]));

export const CONNECTORS: Readonly<Record<string, ConnectorSpec>> = {
  shopify: {
    type: 'shopify',
    title: 'Shopify (Admin API)',
    category: 'storefront',
    settings: {
      type: 'object',
      required: ['shop', 'accessToken'],
      properties: {
        shop: {
          type: 'string',
          pattern: '^[a-z0-9][a-z0-9-]*\\.myshopify\\.com$',
          description: 'the shop domain, <name>.myshopify.com',
        },
        apiVersion: {
          type: 'string',
          pattern: '^\\d{4}-(01|04|07|10)$',
          description: 'Admin API version, e.g. 2026-07',
        },
        accessToken: { ...secretRef, description: 'Admin API access token' },
        webhookSecret: { ...secretRef, description: 'the app secret that signs webhooks (X-Shopify-Hmac-Sha256)' },
        locationId: str('default inventory location (gid://shopify/Location/…)'),
      },
      additionalProperties: false,
    },
    streams: {
      orders: { canonical: ['order'], incremental: true },
      refunds: { canonical: ['refund'], incremental: true },
      products: { canonical: ['product', 'price'], incremental: true },
      inventoryLevels: { canonical: ['inventoryLevel'], incremental: true },
      customers: { canonical: ['customer'], incremental: true },
      fulfillments: { canonical: ['fulfillment'], incremental: true },
      payouts: { canonical: ['settlement'], incremental: true },
      transactions: { canonical: ['settlement'], incremental: true },
    },
    entities: {
      product: { accepts: ['product'] },
      variantPrice: { accepts: ['price'] },
      inventoryLevel: { accepts: ['inventoryLevel'] },
      customer: { accepts: ['customer'] },
      fulfillment: { accepts: ['fulfillment'] },
    },
    events: {
      'orders/create': { stream: 'orders' },
      'orders/updated': { stream: 'orders' },
      'orders/paid': { stream: 'orders' },
      'refunds/create': { stream: 'refunds' },
      'products/create': { stream: 'products' },
      'products/update': { stream: 'products' },
      'inventory_levels/update': { stream: 'inventoryLevels' },
      'customers/create': { stream: 'customers' },
      'customers/update': { stream: 'customers' },
      'fulfillments/create': { stream: 'fulfillments' },
    },
  },
  woocommerce: {
    type: 'woocommerce',
    title: 'WooCommerce (REST API v3)',
    category: 'storefront',
    settings: {
      type: 'object',
      required: ['url', 'consumerKey', 'consumerSecret'],
      properties: {
        url: { type: 'string', pattern: '^https?://', description: 'the store URL (https://…)' },
        consumerKey: { ...secretRef, description: 'REST API consumer key (ck_…)' },
        consumerSecret: { ...secretRef, description: 'REST API consumer secret (cs_…)' },
        webhookSecret: { ...secretRef, description: 'secret that signs webhooks (X-WC-Webhook-Signature)' },
      },
      additionalProperties: false,
    },
    streams: {
      orders: { canonical: ['order'], incremental: true },
      refunds: { canonical: ['refund'], incremental: true },
      products: { canonical: ['product', 'price'], incremental: true },
      customers: { canonical: ['customer'], incremental: true },
    },
    entities: {
      product: { accepts: ['product'] },
      price: { accepts: ['price'] },
      stock: { accepts: ['inventoryLevel'] },
      customer: { accepts: ['customer'] },
    },
    events: {
      'order.created': { stream: 'orders' },
      'order.updated': { stream: 'orders' },
      'order.refunded': { stream: 'refunds' },
      'product.updated': { stream: 'products' },
      'customer.created': { stream: 'customers' },
    },
  },
  square: {
    type: 'square',
    title: 'Square (POS, Orders and Inventory APIs)',
    category: 'pos',
    settings: {
      type: 'object',
      required: ['accessToken'],
      properties: {
        environment: { enum: ['sandbox', 'production'], default: 'production' },
        accessToken: { ...secretRef, description: 'Square access token' },
        webhookSignatureKey: { ...secretRef, description: 'signs webhooks (x-square-hmacsha256-signature)' },
        locationIds: { type: 'array', items: { type: 'string' }, description: 'the store locations to sync' },
      },
      additionalProperties: false,
    },
    streams: {
      orders: { canonical: ['order'], incremental: true },
      refunds: { canonical: ['refund'], incremental: true },
      payments: { canonical: ['settlement'], incremental: true },
      inventoryCounts: { canonical: ['inventoryLevel'], incremental: true },
      payouts: { canonical: ['settlement'], incremental: true },
    },
    entities: {
      inventoryCount: { accepts: ['inventoryLevel'] },
      catalogItem: { accepts: ['product'] },
      itemPrice: { accepts: ['price'] },
    },
    events: {
      'order.created': { stream: 'orders' },
      'order.updated': { stream: 'orders' },
      'refund.created': { stream: 'refunds' },
      'payment.updated': { stream: 'payments' },
      'inventory.count.updated': { stream: 'inventoryCounts' },
    },
  },
  netsuite: {
    type: 'netsuite',
    title: 'Oracle NetSuite (SuiteTalk REST)',
    category: 'erp',
    settings: {
      type: 'object',
      required: ['accountId', 'consumerKey', 'consumerSecret', 'tokenId', 'tokenSecret'],
      properties: {
        accountId: {
          type: 'string',
          pattern: '^[0-9A-Za-z_]+$',
          description: 'NetSuite account id, e.g. 1234567 or 1234567_SB1',
        },
        consumerKey: { ...secretRef, description: 'integration record consumer key (token-based authentication)' },
        consumerSecret: { ...secretRef },
        tokenId: { ...secretRef },
        tokenSecret: { ...secretRef },
        subsidiary: { type: 'string', description: 'internal id of the subsidiary records are posted to' },
      },
      additionalProperties: false,
    },
    streams: {
      items: { canonical: ['product'], incremental: true },
      prices: { canonical: ['price'], incremental: true },
      inventory: { canonical: ['inventoryLevel'], incremental: true },
      customers: { canonical: ['customer'], incremental: true },
      salesOrders: { canonical: ['order'], incremental: true },
    },
    entities: {
      salesOrder: { accepts: ['order'] },
      cashSale: { accepts: ['order'] },
      creditMemo: { accepts: ['refund'] },
      returnAuthorization: { accepts: ['refund'] },
      customer: { accepts: ['customer'] },
      itemFulfillment: { accepts: ['fulfillment'] },
      journalEntry: { accepts: ['journalEntry', 'settlement'] },
      deposit: { accepts: ['settlement'] },
    },
    events: {},
  },
  'business-central': {
    type: 'business-central',
    title: 'Microsoft Dynamics 365 Business Central (API v2.0)',
    category: 'erp',
    settings: {
      type: 'object',
      required: ['tenantId', 'environment', 'companyId', 'clientId', 'clientSecret'],
      properties: {
        tenantId: str('Microsoft Entra tenant id'),
        environment: str('Business Central environment name, e.g. Production'),
        companyId: str('company id (GUID)'),
        clientId: str('app registration client id'),
        clientSecret: { ...secretRef, description: 'app registration client secret (OAuth2 client credentials)' },
      },
      additionalProperties: false,
    },
    streams: {
      items: { canonical: ['product'], incremental: true },
      prices: { canonical: ['price'], incremental: true },
      inventory: { canonical: ['inventoryLevel'], incremental: true },
      customers: { canonical: ['customer'], incremental: true },
    },
    entities: {
      salesOrder: { accepts: ['order'] },
      salesInvoice: { accepts: ['order'] },
      salesCreditMemo: { accepts: ['refund'] },
      customer: { accepts: ['customer'] },
      journal: { accepts: ['journalEntry', 'settlement'] },
    },
    events: {},
  },
  avalara: {
    type: 'avalara',
    title: 'Avalara AvaTax (tax engine)',
    category: 'tax',
    settings: {
      type: 'object',
      required: ['accountId', 'licenseKey', 'companyCode'],
      properties: {
        environment: { enum: ['sandbox', 'production'], default: 'production' },
        accountId: str('AvaTax account id'),
        licenseKey: { ...secretRef, description: 'AvaTax license key' },
        companyCode: str('the company code transactions are recorded under'),
      },
      additionalProperties: false,
    },
    streams: {},
    entities: {
      transaction: { accepts: ['order', 'refund'] },
    },
    events: {},
  },
  stripe: {
    type: 'stripe',
    title: 'Stripe (payments and payouts)',
    category: 'payment',
    settings: {
      type: 'object',
      required: ['apiKey'],
      properties: {
        apiKey: { ...secretRef, description: 'restricted API key (rk_live_…) with read access' },
        webhookSecret: { ...secretRef, description: 'endpoint signing secret (whsec_…)' },
        account: str('connected account id (acct_…), when the retailer is a Connect account'),
      },
      additionalProperties: false,
    },
    streams: {
      payouts: { canonical: ['settlement'], incremental: true },
      balanceTransactions: { canonical: ['settlement'], incremental: true },
      charges: { canonical: ['settlement'], incremental: true },
      refunds: { canonical: ['refund'], incremental: true },
      customers: { canonical: ['customer'], incremental: true },
    },
    entities: {},
    events: {
      'payout.paid': { stream: 'payouts' },
      'charge.succeeded': { stream: 'charges' },
      'charge.refunded': { stream: 'refunds' },
    },
  },
  http: {
    type: 'http',
    title: 'HTTP (declarative REST)',
    category: 'generic',
    dynamic: true,
    settings: {
      type: 'object',
      required: ['baseUrl'],
      properties: {
        baseUrl: { type: 'string', pattern: '^https?://', description: 'the API root (https://…)' },
        auth: {
          type: 'object',
          description: 'bearer, basic, apiKey or oauth2 (client credentials)',
          properties: {
            type: { enum: ['none', 'bearer', 'basic', 'apiKey', 'oauth2'] },
            token: secretRef,
            username: { type: 'string' },
            password: secretRef,
            header: { type: 'string' },
            key: secretRef,
            tokenUrl: { type: 'string', pattern: '^https?://' },
            clientId: { type: 'string' },
            clientSecret: secretRef,
            scope: { type: 'string' },
          },
          required: ['type'],
          additionalProperties: false,
        },
        rateLimit: { type: 'object', properties: { perSecond: { type: 'number', exclusiveMinimum: 0 } } },
        ...dynamicSettings,
      },
      additionalProperties: false,
    },
    streams: {},
    entities: {},
    events: {},
  },
  postgres: {
    type: 'postgres',
    title: 'PostgreSQL tables',
    category: 'generic',
    dynamic: true,
    settings: {
      type: 'object',
      required: ['url'],
      properties: {
        url: { ...secretRef, description: 'connection URL (postgres://…); it carries a password, so by reference' },
        schema: { type: 'string', default: 'public' },
        ...dynamicSettings,
      },
      additionalProperties: false,
    },
    streams: {},
    entities: {},
    events: {},
  },
  file: {
    type: 'file',
    title: 'File drops (CSV, JSON Lines)',
    category: 'generic',
    dynamic: true,
    settings: {
      type: 'object',
      required: ['folder'],
      properties: {
        folder: str('the drop folder'),
        format: { enum: ['csv', 'jsonl'], default: 'csv' },
        ...dynamicSettings,
      },
      additionalProperties: false,
    },
    streams: {},
    entities: {},
    events: {},
  },
  webhook: {
    type: 'webhook',
    title: 'Inbound webhooks (any sender)',
    category: 'generic',
    dynamic: true,
    settings: {
      type: 'object',
      properties: {
        signature: {
          type: 'object',
          properties: {
            header: { type: 'string' },
            algorithm: { enum: ['hmac-sha256', 'hmac-sha1'] },
            encoding: { enum: ['hex', 'base64'] },
            secret: secretRef,
          },
          additionalProperties: false,
        },
        ...dynamicSettings,
      },
      additionalProperties: false,
    },
    streams: {},
    entities: {},
    events: {},
  },
  sandbox: {
    type: 'sandbox',
    title: 'Sandbox (simulated storefront or ERP on PostgreSQL)',
    category: 'sandbox',
    settings: {
      type: 'object',
      required: ['system'],
      properties: {
        system: { enum: ['storefront', 'erp', 'pos'], description: 'which kind of system to simulate' },
        seed: { type: 'integer', description: 'seed for generated data' },
        ordersPerMinute: { type: 'number', minimum: 0 },
      },
      additionalProperties: false,
    },
    streams: {
      orders: { canonical: ['order'], incremental: true },
      refunds: { canonical: ['refund'], incremental: true },
      products: { canonical: ['product'], incremental: true },
      prices: { canonical: ['price'], incremental: true },
      inventory: { canonical: ['inventoryLevel'], incremental: true },
      payouts: { canonical: ['settlement'], incremental: true },
    },
    entities: {
      salesOrder: { accepts: ['order'] },
      creditMemo: { accepts: ['refund'] },
      product: { accepts: ['product'] },
      price: { accepts: ['price'] },
      inventoryLevel: { accepts: ['inventoryLevel'] },
      journalEntry: { accepts: ['journalEntry', 'settlement'] },
      customer: { accepts: ['customer'] },
    },
    events: {
      ...all(['orders/create', 'order.created'], { stream: 'orders' }),
      ...all(['refunds/create', 'refund.created'], { stream: 'refunds' }),
    },
  },
};

/** The catalogue entry of a connector type, or undefined. */
export function connectorSpec(type: string): ConnectorSpec | undefined {
  return Object.hasOwn(CONNECTORS, type) ? CONNECTORS[type] : undefined;
}
