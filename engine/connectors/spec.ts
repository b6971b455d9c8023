/**
 * What a catalogue entry is: the shape of a connector's `spec.ts`, and the pieces of settings schema that several
 * entries share. An entry is data — what validation checks connections and flows against before anything runs,
 * and what `rsync init` writes for a new connection — so this module, and every `<system>/spec.ts`, imports no
 * runtime code.
 *
 * Vocabulary: a *stream* is something a connector can read (in pages, optionally incrementally by a cursor);
 * an *entity* is something it can write (upsert by key) and the canonical entities it accepts; an *event* is a
 * webhook topic it can receive, whose payload is one record of a stream or a reference to one. A vendor's events
 * are only topics the vendor documents: each vendor folder's `topics.ts` keeps that list with its sources, and
 * registry.test.ts checks the entry against it.
 *
 * Generic connectors (http, postgres, file, webhook) have no fixed streams or entities: a connection declares its
 * own under `settings.streams` and `settings.entities` (see `dynamic`).
 */
import type { CanonicalEntity } from '../model/canonical.js';

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

/**
 * What a delivery of a webhook topic carries, as the vendor documents its payload:
 * - `record`: the record itself, the same shape a read of its stream returns (a Shopify `orders/create` body is
 *   the order; a Stripe event's `data.object` is the object);
 * - `reference`: only ids, and perhaps a state or a timestamp: the record has to be fetched by them (a Square
 *   `order.updated` carries `order_updated` — order id, state, version — not the order), or it no longer exists
 *   (a deletion's body is the deleted record's id).
 */
export type EventPayload = 'record' | 'reference';

export interface EventSpec {
  /** The stream whose record a delivery of this topic carries, or refers to. */
  readonly stream: string;
  /** Whether a delivery carries that record itself or only a reference to it (see `EventPayload`). */
  readonly payload: EventPayload;
}

/** A JSON Schema (draft 2020-12) for a connection's `settings`; `x-secret: true` marks a property that must be a secretRef. */
export interface SettingsSchema {
  readonly type: 'object';
  readonly required?: readonly string[];
  readonly properties: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  readonly additionalProperties?: boolean;
  /**
   * Alternative sets of settings, one of which must be complete (NetSuite: token-based authentication's four
   * secrets, or OAuth 2.0 client credentials'). `rsync init` writes the first alternative's secrets. Each names
   * its required properties under `properties` too (`{}`: defined above), as Ajv's strict mode asks.
   */
  readonly anyOf?: readonly {
    readonly required: readonly string[];
    readonly properties: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  }[];
}

export interface ConnectorSpec {
  /** The connector's name, as a connection's `connector:` names it; its folder under engine/connectors/ too. */
  readonly name: string;
  readonly title: string;
  readonly category: ConnectorCategory;
  readonly settings: SettingsSchema;
  readonly streams: Readonly<Record<string, StreamSpec>>;
  readonly entities: Readonly<Record<string, EntitySpec>>;
  readonly events: Readonly<Record<string, EventSpec>>;
  /**
   * The connector's reader fetches the record a `payload: reference` event names (OpenConnector.lookup), so the
   * worker maps that record, not the notification. Absent: a reference event's mapping sees the summary.
   */
  readonly lookup?: boolean;
  /**
   * Generic connectors: streams, entities and events are declared by each connection under
   * `settings.streams.<name>: { canonical?, incremental? }`, `settings.entities.<name>: { accepts: [...] }` and
   * `settings.events.<topic>: { stream }`.
   */
  readonly dynamic?: boolean;
  /**
   * What a write's effect is when a worker dies between the target's commit and the ledger's (the page is read
   * again and written again): `exactly-once`, or `at-least-once` (the repeat lands again), and how. Every connector
   * that writes at run time says it (README, "What each target guarantees"; test/connectors/catalog.test.ts).
   */
  readonly writes?: { readonly effect: 'exactly-once' | 'at-least-once'; readonly how: string };
  /**
   * The connector describes its targets' schemas (TargetConnector.describeTarget): the schema guard checks a flow's
   * writes against them before a run's first write (README, "What each target guarantees").
   */
  readonly describesTarget?: boolean;
  /**
   * Warnings of settings that fit the schema (validate reports them at the setting, code connection-warning): an API
   * version past its vendor's support window. `now` is the validating machine's clock.
   */
  readonly warnings?: (settings: Record<string, unknown>, now: Date) => readonly SettingsWarning[];
  /** What `rsync init` writes into a new connection of this connector; absent, placeholders from the schema. */
  readonly sample?: (c: SampleFor) => ConnectionSample;
}

export interface SettingsWarning {
  /** The setting, below `spec.settings` (["apiVersion"]). */
  readonly path: readonly string[];
  readonly summary: string;
  readonly detail: string;
}

/** The new connection a sample is for. */
export interface SampleFor {
  /** The customer's name (a folder name: lower case, dashes). */
  customer: string;
  /** The customer's display name, possessive: "Northwind's". */
  who: string;
  role: 'source' | 'target';
}

/** Non-secret settings of a new connection (secrets are added as references), and what staging changes. */
export interface ConnectionSample {
  settings: Record<string, unknown>;
  staging?: Record<string, unknown>;
  description: string;
}

/** A setting that holds a secret: only ever `{ secretRef: … }` in Git. */
export const secretRef = { 'x-secret': true, $ref: 'https://rsync.dev/schemas/v1/defs.schema.json#/$defs/secretRef' };

/** A string setting that may not be empty. */
export const str = (description: string) => ({ type: 'string', minLength: 1, description });

/**
 * A vendor connection's `rateLimit` setting: what the kit's rateLimiter (kit/limiter.ts) reads over the vendor's
 * default, a rate and a bucket size. `description` says the default and why.
 */
export const rateLimit = (description: string) => ({
  type: 'object',
  description,
  properties: {
    perSecond: { type: 'number', exclusiveMinimum: 0, description: 'requests (or cost points) per second' },
    burst: { type: 'number', minimum: 1, description: "the bucket's size: how many may go at once" },
  },
  additionalProperties: false,
});

/**
 * The master data every ERP connector reads, each stream incrementally (by last-modified): items, their prices,
 * inventory levels and customers. An ERP entry spreads it into its `streams` and adds what is its own.
 */
export const erpMasterDataStreams = {
  items: { canonical: ['product'], incremental: true },
  prices: { canonical: ['price'], incremental: true },
  inventory: { canonical: ['inventoryLevel'], incremental: true },
  customers: { canonical: ['customer'], incremental: true },
} as const satisfies Record<string, StreamSpec>;

/** The settings by which a generic connector's connection declares its own streams, entities and events. */
export const dynamicSettings = {
  streams: { type: 'object', description: 'streams this connection can read, by name' },
  entities: { type: 'object', description: 'entities this connection can write, by name' },
  events: { type: 'object', description: 'webhook topics this connection receives, by name' },
};
