/* eslint-disable */
/**
 * Generated from schemas/defs.schema.json (https://rsync.dev/schemas/v1/defs.schema.json)
 * by engine/model/gen-types.ts. Do not edit: change the schema and run `npm run gen:types`.
 */

/**
 * A customer's share of the engine, enforced across every worker on the database: how many of its runs may be in flight at once, and how many source records its flows may read per day (UTC). Unset: no limit.
 */
export interface CustomerLimits {
  /**
   * Most runs of this customer's flows in flight at once, across all workers (event, scheduled, manual and backfill runs alike); its other work waits while other customers' goes first.
   */
  concurrency?: number;
  /**
   * Most source records this customer's flows read per day (00:00 to 00:00 UTC). When reached, its runs stop between pages (the cursor stays at the last committed page) and resume at 00:00 UTC, or when an apply raises the limit.
   */
  recordsPerDay?: number;
}

/**
 * The version of the rsync file format this document is written in.
 */
export type ApiVersion = "rsync/v1";

/**
 * A resource name: lower-case kebab-case, starting with a letter, at most 63 characters (e.g. orders-to-erp).
 */
export type ResourceName = string;

/**
 * Key/value labels for selecting and grouping resources (e.g. domain: orders). Values are strings: quote numbers and booleans.
 */
export interface Labels {
  [k: string]: string;
}

/**
 * Free-form key/value notes for tools and people; rsync reads only rsync/acknowledge-impact (a flow's data impact acknowledged by the change that adds it: README, Data impact and blast radius). Values are strings.
 */
export interface Annotations {
  [k: string]: string;
}

/**
 * The identity of a document: its name (unique per kind within a customer), labels and annotations.
 */
export interface Metadata {
  /**
   * The document's name: lower-case kebab-case, unique per kind within a customer (e.g. orders-to-erp).
   */
  name: ResourceName;
  labels?: Labels;
  annotations?: Annotations;
  /**
   * A human-readable description of the document.
   */
  description?: string;
}

/**
 * A duration: an integer and a unit, one of ms, s, m, h, d (e.g. 500ms, 2s, 10m, 1h, 90d).
 */
export type Duration = string;

/**
 * A percentage from 0% to 100%, as a quoted string (e.g. "99.9%").
 */
export type Percentage = string;

/**
 * A secret, by reference only: never the value itself. env:NAME reads the environment variable NAME; file:NAME reads the file NAME inside the workspace's secrets folder (spec.secrets.folder in rsync.yaml); vault:PATH#FIELD, aws:NAME and gcp:NAME fetch it from the secret manager rsync.yaml configures (spec.secrets.vault, .aws, .gcp).
 */
export interface SecretRef {
  /**
   * Where the secret is: env:NAME (an environment variable), file:NAME (a file, relative to the secrets folder, e.g. file:northwind/shopify-token), vault:PATH#FIELD (a field of a Vault KV v2 secret, e.g. vault:customers/northwind/shopify#token), aws:NAME (AWS Secrets Manager) or gcp:NAME (Google Secret Manager).
   */
  secretRef: string;
}

/**
 * A secret on the machine itself, by reference: env:NAME or file:NAME. The credentials of a secret manager are these (a manager's token cannot come from a manager).
 */
export interface LocalSecretRef {
  /**
   * env:NAME (an environment variable, e.g. env:VAULT_TOKEN) or file:NAME (a file, relative to the secrets folder).
   */
  secretRef: string;
}

/**
 * An amount of money as a decimal string (e.g. "409.94", "-5.00"), never a number; its currency is given beside it.
 */
export type Money = string;

/**
 * An ISO 4217 currency code (e.g. USD, EUR).
 */
export type Currency = string;

/**
 * An RFC 3339 date-time with a time zone offset (e.g. 2026-03-14T09:30:00Z or 2026-03-14T04:30:00-05:00).
 */
export type Timestamp = string;

/**
 * An IANA time zone name (e.g. America/Chicago, Europe/Paris, UTC).
 */
export type TimeZone = string;

/**
 * The name of a canonical retail entity (see schemas/canonical/).
 */
export type CanonicalEntityName =
  | "product"
  | "price"
  | "inventoryLevel"
  | "order"
  | "refund"
  | "customer"
  | "fulfillment"
  | "settlement"
  | "journalEntry";

/**
 * Per-environment overlays: environment name → a partial spec, deep-merged into spec when planning or running that environment (--env). The merged spec is validated as a whole.
 */
export interface EnvironmentOverlays {
  /**
   * A partial spec: only the fields that differ in this environment.
   */
  [k: string]: {
    [k: string]: unknown;
  };
}
