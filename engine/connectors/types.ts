/**
 * What a connector is, for the engine: a plugin (one folder, engine/connectors/<system>/) that exports its
 * catalogue entry and, when it has them, its runtime capabilities — read (pages of a stream, from a cursor), write
 * (a batch of records upserted by key) and receive (a webhook delivery, verified). What a connector *declares* it
 * can do is its `spec.ts`, checked at validation (catalog.ts); what it *does* is its `connector.ts` and
 * `receive.ts`, opened by registry.ts. plugins.ts lists the plugins; nothing else names one.
 *
 * This folder must not import from plan/, apply/, runtime/ or cli/: the runtime calls connectors, never the reverse.
 *
 * Vocabulary (DESIGN.md): a stream is read, an entity is written, an event is received. A cursor is an opaque
 * JSON value the connector gives back with each page; the pipeline persists it only after the page's records are
 * delivered, and hands it back on the next read. Errors are values where they concern one record (a write result),
 * and `ConnectorError`s where they concern the call (the pipeline retries a transient one).
 */
import type { ConnectorSpec } from './spec.js';

/** A JSON value a connector uses to resume reading: an updated_at + id pair, a page token, a file offset… */
export type Cursor = unknown;

export interface ReadRequest {
  stream: string;
  /** Where the previous page ended (null: from the beginning, or from `since`). */
  cursor: Cursor | null;
  /** At most this many records. */
  limit: number;
  /** A backfill window: records changed at or after `since` and before `until` (ISO-8601). */
  since?: string;
  until?: string;
  signal?: AbortSignal;
}

export interface Page {
  /** The records as the source system gives them (its own shape; the mapping makes them canonical). */
  records: unknown[];
  /** True when each record is a JSON text: the mapping threads parse it, off the main thread. */
  json?: boolean;
  /** Where this page ends: pass it to the next read. */
  cursor: Cursor | null;
  /** False when the stream (or window) has nothing after this page, for now. */
  more: boolean;
  /**
   * Called after the pipeline has committed this page (ledger and cursor): a file drop is consumed (moved aside)
   * only then, so a crash before the commit reads the file again and the ledger makes the re-read harmless.
   */
  commit?: () => Promise<void>;
}

export interface WriteItem {
  /** The idempotency key: the target upserts by it. */
  key: string;
  /** The canonical record. From the pipeline it is parsed from `text` on first use: prefer `text` and `fields`. */
  record: Record<string, unknown>;
  /**
   * The record as canonical JSON text (keys sorted), when the pipeline has it: a connector that sends JSON sends this
   * text (itemText) rather than serialising `record` again, and the record is then never parsed on the main thread.
   */
  text?: string;
  /** The record's top-level member names, sorted, when the pipeline has them (itemFields). */
  fields?: readonly string[];
  /** The target's id of this record when the ledger knows it (an update), else undefined (a create). */
  targetId?: string;
  /**
   * This write's idempotency key (ledger.ts `writeId`): the same for every attempt of this write, across retries
   * and crashes (a page re-read after a crash writes it again with the same id), and new for the key's next write.
   * A target that can remember it makes the repeat harmless: the http connector sends it as Idempotency-Key, the
   * postgres connector records it with the row in the target's own transaction, the file connector puts it on the
   * line. Absent only outside the pipeline (tests, `rsync test`).
   */
  writeId?: string;
}

/** A write item's record as JSON text. */
export const itemText = (i: WriteItem): string => i.text ?? JSON.stringify(i.record);

/**
 * A batch as one JSON array of `{"k": key, "w": writeId, "r": record}`, the records' texts spliced in (nothing
 * serialised again); `w` only for items that have a write id.
 */
export function itemsJson(items: WriteItem[]): string {
  let body = '[';
  for (let n = 0; n < items.length; n++) {
    const i = items[n];
    const w = i.writeId === undefined ? '' : `"w":${JSON.stringify(i.writeId)},`;
    body += `${n ? ',' : ''}{"k":${JSON.stringify(i.key)},${w}"r":${itemText(i)}}`;
  }
  return body + ']';
}

/** A record's top-level member names (those with a value), sorted. */
export const memberNames = (record: Record<string, unknown>): string[] =>
  Object.keys(record)
    .filter((k) => record[k] !== undefined)
    .sort();

/** A write item's top-level member names. */
export const itemFields = (i: WriteItem): readonly string[] => i.fields ?? memberNames(i.record);

/** The outcome of one record of a batch: one bad record never fails its batch. */
export type WriteResult =
  | {
      ok: true;
      targetId: string;
      /**
       * What the target holds of this record after the write, as the connector's `fetch` would give it back (the
       * fields rsync set, in the target's terms: `{ "tranId": "SO-1042", "total": "42.00", "item": [...] }`). The
       * ledger keeps it so that `rsync xref verify` can show, field by field, where the target's record drifted from
       * what rsync wrote. Absent: the connector cannot read its records back, and verify checks existence only.
       */
      view?: Record<string, unknown>;
    }
  | { ok: false; transient: boolean; error: string; retryAfterMs?: number };

export interface Delivery {
  /** The raw body, exactly as received (signatures are computed over it). */
  body: Buffer;
  /** Header names in lower case. */
  headers: Record<string, string | string[] | undefined>;
  /** The URL path and query as received, for senders that sign the URL too (Square). */
  url: string;
}

export interface Received {
  /** The sender's delivery id (dedupe key): X-Shopify-Webhook-Id, X-WC-Webhook-Delivery-ID, Stripe's event id… */
  deliveryId: string;
  /** The topic the sender names, when it names one. */
  topic?: string;
  /** The records the delivery carries (usually one). */
  records: unknown[];
}

export interface SourceConnector {
  read(req: ReadRequest): Promise<Page>;
  /**
   * The records a webhook that only notifies names (its event is `payload: reference` in the catalogue: Square's
   * order.updated, Shopify's orders/delete), fetched from the source: the worker maps these instead of the
   * notification. An empty list: the record is gone (a connector that can say so returns a delete record instead).
   */
  lookup?(stream: string, reference: Record<string, unknown>, signal?: AbortSignal): Promise<unknown[]>;
  /** What `rsync connection check` reports: authentication, permissions, API version, headroom, one page a stream. */
  check?(streams: string[], signal?: AbortSignal): Promise<CheckReport>;
}

/** A connection's health, as `rsync connection check` prints it. Absent parts: the system cannot tell. */
export interface CheckReport {
  /** Who the credentials belong to: "Northwind Outdoor (northwind.myshopify.com)". */
  identity?: string;
  /** The API version in use and how long it remains supported. */
  apiVersion?: { version: string; supportedUntil?: string; warning?: string };
  /** The permissions granted, and those the streams read need but were not granted. */
  scopes?: { granted: string[]; missing: string[] };
  /** The rate limit's headroom now. */
  rateLimit?: { available: number; max: number; unit: string };
  /** One page read of each stream asked for. */
  streams: { stream: string; ok: boolean; records?: number; error?: string }[];
  /** Anything else worth a line (a test-mode key, a sandbox environment). */
  notes?: string[];
}

export interface TargetConnector {
  /**
   * Upsert a batch. `tx` is given to a transactional target (one whose system lives in the state database, as the
   * sandbox does): the write then commits with the ledger and the cursor, so even a crash between the two cannot
   * write a record twice.
   */
  write(entity: string, items: WriteItem[], signal?: AbortSignal, tx?: import('pg').PoolClient): Promise<WriteResult[]>;
  /**
   * True when write() honours `tx`. A function when the connector must look first (the postgres connector is
   * transactional when its database is the state database): the pipeline awaits it before a page's first write.
   */
  readonly transactional?: boolean | (() => Promise<boolean>);
  /**
   * The target's records of `entity` by target id, for `rsync xref verify`: each projected to the same fields as the
   * `view` its write returned (so the two compare field by field), or null where the target no longer has it.
   * Answers in the order of `targetIds`. Absent: the connector cannot read its records back.
   */
  fetch?(entity: string, targetIds: string[], signal?: AbortSignal): Promise<(Record<string, unknown> | null)[]>;
  /**
   * The target's schema of `entity` as it is now (the columns of a table, the fields of an ERP record), for the
   * schema guard (runtime/schema-guard.ts) before a run's first write. Asked once a run, so it must be cheap: one
   * catalogue query or metadata call. Absent: the connector cannot describe its target, and the guard checks nothing.
   */
  describeTarget?(entity: string, signal?: AbortSignal): Promise<TargetSchema>;
}

/** One field of a target's schema (TargetConnector.describeTarget). */
export interface TargetField {
  name: string;
  /** The target's own type name (`text`, `numeric(12,2)`, `integer`…), compared with the type seen before. */
  type: string;
  /** True when a write that leaves it out fails: NOT NULL without a default, a mandatory custom field. */
  required: boolean;
}

export interface TargetSchema {
  /** The target as messages name it: `public.erp_orders`, `salesOrder`. */
  name: string;
  fields: TargetField[];
  /**
   * The target's fields the connector sets, when they are not the records' own member names (an ERP connector builds
   * its own payload); absent: the fields the flow's mapping outputs are the fields written.
   */
  writes?: string[];
  /** Fields the connector itself fills on every write, whatever the record holds (a key column, a document column). */
  filled?: string[];
  /**
   * True when a record's members that have no field of their name are kept anyway (a postgres `document` column
   * holds the whole record): then only a field seen before and gone since is data dropped.
   */
  keepsUnknown?: boolean;
}

export interface ReceiveConnector {
  /** Verify the signature and extract the delivery; throws ConnectorError (permanent) when it is not authentic. */
  receive(delivery: Delivery): Received;
}

/** A connection opened for the runtime: whichever capabilities its connector has. */
export interface OpenConnector extends Partial<SourceConnector>, Partial<TargetConnector>, Partial<ReceiveConnector> {
  /** The connector's name (`connector:` of the connection), or the one the sandbox stands in for. */
  readonly connector: string;
  close?(): Promise<void>;
}

export type SignatureAlgorithm = 'hmac-sha256' | 'hmac-sha1';
export type SignatureEncoding = 'hex' | 'base64';

/** A generic webhook connection's `settings.signature`, without the secret. */
export interface SignatureScheme {
  header?: string;
  algorithm?: SignatureAlgorithm;
  encoding?: SignatureEncoding;
}

export interface ReceiverOptions {
  /**
   * Where this server is reached from the internet (`https://hooks.example.com`, or with the path prefix a proxy
   * strips). Square signs the notification URL, so its receiver needs the URL as Square knows it; see `squareUrl`.
   */
  publicUrl?: string;
  /** The clock in milliseconds (tests replace it to check the Stripe tolerance). */
  now?: () => number;
}

export interface SignOptions {
  /** Stripe: the signing time in seconds since the epoch (default now); an old one makes a replayed delivery. */
  timestamp?: number;
  /** Square: the notification URL of the subscription (required: Square signs it with the body). */
  notificationUrl?: string;
  /** Shopify, WooCommerce, webhook, sandbox: the delivery id header (default a random UUID, as each sender does). */
  deliveryId?: string;
  /** Shopify, WooCommerce, webhook, sandbox: the topic header. */
  topic?: string;
  /** webhook: the connection's `settings.signature` (header, algorithm, encoding); the secret is the argument. */
  signature?: SignatureScheme;
}

/** A sender's webhook scheme, both ways: verifying its deliveries, and signing deliveries as it does. */
export interface Receiver {
  /** The receiver of one connection's deliveries. */
  open(ctx: ConnectorContext, opts: ReceiverOptions): ReceiveConnector;
  /**
   * The headers this sender sends with `body`, signed with `secret` — for tests, benchmarks and the sandbox's
   * event generator. Header names are lower case, as `Delivery.headers` has them (HTTP ignores their case).
   */
  sign(secret: string, body: Buffer, opts: SignOptions): Record<string, string>;
  /**
   * How this sender delivers one record of `topic`, for the sandbox's simulated deliveries: the body (the vendor's
   * event envelope around the record, or the bare record) and the headers it sends besides the signature's. `id`
   * names the delivery (the same for a sender's retry), from which event ids are derived. A connector with an
   * envelope receives in sandbox mode with its own receiver, signed with the sandbox's secret.
   */
  envelope?(record: Record<string, unknown>, e: Envelope): { body: unknown; headers?: Record<string, string> };
}

/** One simulated delivery: its topic, a stable id, and when the sender sent it. */
export interface Envelope {
  topic: string;
  id: string;
  at: Date;
}

/** What the index of a connector's folder exports: everything the engine knows of one system. */
export interface ConnectorPlugin {
  /** Its catalogue entry. */
  readonly spec: ConnectorSpec;
  /**
   * Opens a connection to read and write. Absent: the system is served at run time only by the sandbox
   * (`rsync worker --sandbox`), or through an http connection that describes its API.
   */
  readonly open?: (ctx: ConnectorContext) => OpenConnector;
  /** Present when the system sends webhooks. */
  readonly receiver?: Receiver;
}

/** What kind of failure a call met, which decides what the pipeline does with it. */
export type FailureKind =
  /** a timeout, a reset connection, a 5xx: retried with back-off */
  | 'transient'
  /** the system asked us to slow down (429, Shopify's THROTTLED): retried after its Retry-After */
  | 'throttled'
  /** the credentials were refused or lack a permission (401, 403): not retried; the connection needs fixing */
  | 'auth'
  /** anything else the system refused (4xx, bad settings, a bad signature): not retried */
  | 'permanent';

/**
 * A failed call. `transient` errors (timeouts, connection resets, 5xx, 429) are retried with back-off; the others
 * (4xx, bad settings, a bad signature) are not. `retryAfterMs` carries a 429's or 503's Retry-After; `kind` says
 * which of the four failures it is (derived from the others when not given).
 * The message never carries a secret: connectors build it from status lines and field names, never from headers.
 */
export class ConnectorError extends Error {
  readonly kind: FailureKind;
  constructor(
    message: string,
    readonly transient: boolean,
    readonly retryAfterMs?: number,
    readonly status?: number,
    kind?: FailureKind,
  ) {
    super(message);
    this.name = 'ConnectorError';
    this.kind =
      kind ??
      (status === 429
        ? 'throttled'
        : transient
          ? 'transient'
          : status === 401 || status === 403
            ? 'auth'
            : 'permanent');
  }
}

/**
 * Resolves a `{ secretRef: "env:NAME" | "file:NAME" | "vault:PATH#FIELD" | … }` to its value at run time (never stored,
 * never logged); a secret manager's value is read from the cache that openConnector fills before each call.
 */
export type SecretResolver = (ref: unknown) => string;

/** What a connector's factory receives. */
export interface ConnectorContext {
  /** The connection's resolved settings (after environment overlays), secrets still as references. */
  settings: Record<string, unknown>;
  secret: SecretResolver;
  /** `<customer>/<connection>`: names the system in logs, the sandbox and rate limits. */
  system: string;
  /**
   * A rate limiter shared by every worker (a token bucket in PostgreSQL), named `key` within this connection: the
   * kit's `rateLimiter` uses it when the runtime gives it, and an in-process bucket otherwise.
   */
  limiter?: (key: string, o: LimiterOptions) => Limiter;
  /**
   * A cap on calls in flight shared by every worker (leases in PostgreSQL), named `key` within this connection: the
   * kit's `rateLimiter` uses it for its `concurrency` when the runtime gives it, and a semaphore in this process
   * otherwise. NetSuite's account concurrency limit and Business Central's concurrent requests are such caps.
   */
  slots?: (key: string, limit: number) => SharedSlots;
  /**
   * Counts one API request against the connection's daily quota (runtime/quotas.ts), called by the kit's HTTP client
   * as it sends each request; absent when the connection sets no quota.
   */
  calls?: () => Promise<void>;
  /** The rsync state database (the sandbox's simulated systems live in it). */
  state?: import('pg').Pool;
}

export interface LimiterOptions {
  /** Tokens restored per second. */
  perSecond: number;
  /** The bucket's size (default: one second's worth). */
  burst?: number;
}

/** A concurrency cap across processes (state/slots.ts): at most `limit` holders of the key at once. */
export interface SharedSlots {
  /** Waits for a free slot, then holds it (renewing its lease) until the returned release is called. */
  acquire(signal?: AbortSignal): Promise<() => Promise<void>>;
}

/** A token bucket, as the kit and the runtime share it (kit/limiter.ts). */
export interface Limiter {
  /** Waits until the bucket covers `cost`, then takes it. */
  take(cost?: number, signal?: AbortSignal): Promise<void>;
  /** The system reported its own bucket: ours follows it, its size and rate too from then on (Shopify's throttleStatus). */
  observe(state: { available: number; max?: number; perSecond?: number }): Promise<void>;
  /** The system asked every caller to wait `ms` (Retry-After, THROTTLED): the bucket empties for that long. */
  pause(ms: number): Promise<void>;
  /**
   * The system throttled a call and tells neither its limit nor its headroom (Square's 429, Stripe's): the rate
   * halves for every caller — once for the throttles of one burst — and comes back by itself, linearly, over a few
   * minutes (kit/limiter.ts SLOW). Optional: without it (a limiter made elsewhere) the rate stays as it is.
   */
  slow?(): Promise<void>;
}
