/**
 * A fake Square API on 127.0.0.1: the endpoints the square connector calls, behaving as Square documents them, so
 * that the connector's tests (and the demo's staging environment) exercise its real HTTP code. It is not a mock:
 * the connector talks HTTP to it, and it refuses what Square refuses.
 *
 *   const fake = await startFakeSquare({ accessToken: 'EAAA…' });
 *   fake.seed({ orders: [...], customers: [...] });   fake.url   fake.calls   fake.fail(2, 500)   await fake.close()
 *
 * What it does, and where Square says so (one line per behaviour):
 * - Bearer token in Authorization; anything else is 401 AUTHENTICATION_ERROR / UNAUTHORIZED, and a token without the
 *   endpoint's permission 403 INSUFFICIENT_SCOPES — https://developer.squareup.com/docs/build-basics/access-tokens
 *   and the ErrorCode enum (square/square-python-sdk doc/models/error-code.md: UNAUTHORIZED 401, INSUFFICIENT_SCOPES
 *   403, INVALID_CURSOR, IDEMPOTENCY_KEY_REUSED, RATE_LIMITED, VALUE_TOO_LOW/HIGH, INVALID_SQUARE_VERSION_FORMAT).
 * - Every error body is `{ errors: [{ category, code, detail, field? }] }` (ErrorCategory: API_ERROR,
 *   AUTHENTICATION_ERROR, INVALID_REQUEST_ERROR, RATE_LIMIT_ERROR — square/square-ruby-sdk
 *   lib/square/types/error_category.rb).
 * - Square-Version: YYYY-MM-DD or 400 INVALID_SQUARE_VERSION_FORMAT; absent, the application's pinned version —
 *   https://developer.squareup.com/docs/build-basics/versioning-overview. The response echoes it.
 * - Throttling: 429 RATE_LIMITED with no Retry-After (Square publishes no limits and no header; clients are told to
 *   back off exponentially — https://community.squareup.com/t5/Archived-Discussions-Read-Only/What-are-the-Rate-
 *   Limits-for-API-calls-for-Square/td-p/617469). Here a token bucket (`rate`) decides; `retryAfter: true` adds the
 *   header to test that path too.
 * - Cursors: "include the cursor along with the same original request body"; the last page has none; pages "have a
 *   limited lifespan" — https://developer.squareup.com/docs/working-with-apis/pagination. A cursor used with another
 *   query, after `expireCursors()` or after `cursorTtlMs` is 400 INVALID_CURSOR.
 * - POST /v2/orders/search: location_ids 1..10 ("Cannot provide more than 10 location_ids."), limit default 500, max
 *   1000, date_time_filter with sort_field on the same field, sort_order default DESC —
 *   https://developer.squareup.com/reference/square/orders-api/search-orders and
 *   https://developer.squareup.com/forums/t/receiving-400-errors-cannot-provide-more-than-10-location-ids-for-post-orders-search/18478
 * - POST /v2/orders/batch-retrieve: up to 100 order_ids; unknown ids are left out —
 *   https://developer.squareup.com/reference/square/orders-api/batch-retrieve-orders
 * - GET /v2/payments: begin_time/end_time on created_at (begin default: a year ago, inclusive), updated_at_begin_time
 *   / updated_at_end_time on updated_at, sort_field CREATED_AT (default) | UPDATED_AT, sort_order DESC by default,
 *   location_id default the MAIN location only, limit > 100 ignored (100) —
 *   https://developer.squareup.com/reference/square/payments-api/list-payments (square-rust-sdk docs/PaymentsApi.md).
 * - GET /v2/refunds: the same filters, but all locations by default —
 *   https://developer.squareup.com/reference/square/refunds-api/list-payment-refunds (square-ruby-sdk doc/api/refunds.md).
 * - GET /v2/payouts: begin_time on created_at (a year ago by default, inclusive), the main location by default, limit
 *   ≤ 100 — https://developer.squareup.com/reference/square/payouts-api/list-payouts
 * - POST /v2/catalog/search: object_types (variations are not a default type), include_deleted_objects (is_deleted),
 *   include_related_objects (a variation's parent item), begin_time EXCLUSIVE on updated_at, exact_query and
 *   set_query, latest_time — https://developer.squareup.com/reference/square/catalog-api/search-catalog-objects and
 *   square/connect-javascript-sdk docs/SearchCatalogObjectsRequest.md ("objects with a timestamp equal to
 *   begin_time will not be included").
 * - POST /v2/catalog/batch-retrieve: object_ids, deleted objects left out —
 *   https://developer.squareup.com/reference/square/catalog-api/batch-retrieve-catalog-objects
 * - POST /v2/catalog/batch-upsert: idempotency_key required, ≤ 1,000 objects a batch and 10,000 a request, `#temp`
 *   ids mapped to new ids (id_mappings), a stale `version` refused (VERSION_MISMATCH) —
 *   https://developer.squareup.com/reference/square/catalog-api/batch-upsert-catalog-objects
 * - POST /v2/inventory/counts/batch-retrieve: updated_after (after, on calculated_at), location_ids,
 *   catalog_object_ids, states, cursor, limit ≤ 1000 —
 *   https://developer.squareup.com/reference/square/inventory-api/batch-retrieve-inventory-counts
 * - POST /v2/inventory/changes/batch-create: idempotency_key required, at most 100 changes, PHYSICAL_COUNT sets the
 *   state's quantity, ADJUSTMENT moves quantity between states, "changes are applied based on the client-supplied
 *   timestamp and may be sent out of order" (an older physical count does not overwrite a newer one) —
 *   square/connect-python-sdk docs/BatchChangeInventoryRequest.md and
 *   https://developer.squareup.com/reference/square/inventory-api/batch-change-inventory
 * - POST /v2/customers/search: limit 1..100 or 400 VALUE_TOO_LOW / VALUE_TOO_HIGH, filter.created_at / updated_at,
 *   sort field DEFAULT (given_name, family_name) | CREATED_AT, a created_at filter needs the CREATED_AT sort —
 *   https://developer.squareup.com/explorer/square/customers-api/SearchCustomers and
 *   https://developer.squareup.com/docs/customers-api/use-the-api/search-customers
 * - Idempotency: the same key with the same body returns the first (successful) response and applies nothing; the
 *   same key with another body is 400 IDEMPOTENCY_KEY_REUSED —
 *   https://developer.squareup.com/docs/working-with-apis/idempotency and
 *   https://developer.squareup.com/forums/t/if-i-delete-a-customer-profile-can-i-not-reuse-the-same-idempotency-key/8276
 *   ("The idempotency key can only be retried with the same request data.").
 * - GET /v2/locations, GET /v2/merchants/me (MERCHANT_PROFILE_READ) and POST /oauth2/token/status (scopes,
 *   expires_at, client_id, merchant_id; personal access tokens too) —
 *   https://developer.squareup.com/docs/oauth-api/token-introspection
 *
 * Failure injection: `fail(n, kind, path?)` makes the next n matching calls answer 500 / 503 / 429, drop the
 * connection (socket destroyed before any byte), or refuse their cursor. Production code (the demo starts it): no
 * test framework here.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { canonicalJson, sha256 } from '../../util/hash.js';

// biome-ignore lint/suspicious/noExplicitAny: Square's objects, read field by field
type Obj = Record<string, any>;

export const FAKE_SQUARE_TOKEN = 'EAAAl-fake-square-access-token-0123456789';
export const FAKE_MERCHANT_ID = 'MLFAKE0RSYNC1';

/** Every permission the connector's reads and writes need (and a few it never asks for). */
export const ALL_SCOPES = [
  'MERCHANT_PROFILE_READ',
  'ORDERS_READ',
  'PAYMENTS_READ',
  'PAYOUTS_READ',
  'ITEMS_READ',
  'ITEMS_WRITE',
  'INVENTORY_READ',
  'INVENTORY_WRITE',
  'CUSTOMERS_READ',
];

export type FailureKind = 500 | 503 | 429 | 'drop' | 'cursor';

export interface FakeSquareOptions {
  accessToken?: string;
  /** The token's permissions (token status, and 403 INSUFFICIENT_SCOPES). Default: ALL_SCOPES. */
  scopes?: string[];
  /** The seller's locations; the first is the main location. Default: three. */
  locations?: Obj[];
  /** A token bucket over every call: perSecond refill, burst capacity. Absent: no throttling. */
  rate?: { perSecond: number; burst: number };
  /** Send Retry-After (seconds) with a 429 (Square documents none). */
  retryAfter?: boolean;
  /** Cursors older than this are refused (INVALID_CURSOR). */
  cursorTtlMs?: number;
  /** The token's expires_at in token status (absent: a personal access token, which never expires). */
  tokenExpiresAt?: string;
  now?: () => number;
}

export interface FakeCall {
  method: string;
  path: string;
  status: number;
  at: number;
  squareVersion?: string;
  body?: Obj;
  query?: Record<string, string>;
}

export interface FakeSeed {
  orders?: Obj[];
  payments?: Obj[];
  refunds?: Obj[];
  payouts?: Obj[];
  /** Catalog objects: ITEMs with their variations nested in item_data.variations. */
  catalog?: Obj[];
  counts?: Obj[];
  customers?: Obj[];
}

export interface FakeSquare {
  url: string;
  calls: FakeCall[];
  /** Calls answered 429. */
  throttled: number;
  seed(s: FakeSeed): void;
  /** The stored records, as Square holds them now. */
  state: {
    orders: Map<string, Obj>;
    payments: Map<string, Obj>;
    refunds: Map<string, Obj>;
    payouts: Map<string, Obj>;
    catalog: Map<string, Obj>;
    counts: Map<string, Obj>;
    customers: Map<string, Obj>;
    /** Inventory changes applied (replays excluded). */
    changes: Obj[];
  };
  fail(n: number, kind: FailureKind, pathPrefix?: string): void;
  /** Every cursor handed out so far becomes invalid. */
  expireCursors(): void;
  /** Change the bucket (tests tighten it mid-run). */
  setRate(rate: { perSecond: number; burst: number } | undefined): void;
  close(): Promise<void>;
}

const DEFAULT_LOCATIONS: Obj[] = [
  { id: 'LFAKEMAIN0001', name: 'Main store', status: 'ACTIVE', merchant_id: FAKE_MERCHANT_ID, currency: 'USD' },
  { id: 'LFAKESHOP0002', name: 'Second store', status: 'ACTIVE', merchant_id: FAKE_MERCHANT_ID, currency: 'USD' },
  { id: 'LFAKEPOPU0003', name: 'Pop-up', status: 'INACTIVE', merchant_id: FAKE_MERCHANT_ID, currency: 'USD' },
];

class SquareError extends Error {
  constructor(
    readonly status: number,
    readonly category: string,
    readonly code: string,
    detail: string,
    readonly field?: string,
  ) {
    super(detail);
  }
}

const invalid = (code: string, detail: string, field?: string) =>
  new SquareError(400, 'INVALID_REQUEST_ERROR', code, detail, field);

const ms = (t: unknown): number => (typeof t === 'string' ? Date.parse(t) : Number.NaN);

function time(v: unknown, field: string): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const t = ms(v);
  if (Number.isNaN(t)) throw invalid('INVALID_TIME', `Invalid RFC 3339 timestamp for ${field}.`, field);
  return t;
}

/** Deep copy (records are handed out and stored by value, as over the wire). */
const copy = <T>(v: T): T => structuredClone(v);

export async function startFakeSquare(options: FakeSquareOptions = {}): Promise<FakeSquare> {
  const token = options.accessToken ?? FAKE_SQUARE_TOKEN;
  const scopes = new Set(options.scopes ?? ALL_SCOPES);
  const locations = options.locations ?? DEFAULT_LOCATIONS;
  const now = options.now ?? Date.now;
  let rate = options.rate;
  let tokens = rate?.burst ?? 0;
  let refilled = now();
  let generation = 0;
  let versionClock = 1_000_000;
  const failures: { n: number; kind: FailureKind; prefix?: string }[] = [];
  const idempotency = new Map<string, { hash: string; body: Obj }>();

  const state: FakeSquare['state'] = {
    orders: new Map(),
    payments: new Map(),
    refunds: new Map(),
    payouts: new Map(),
    catalog: new Map(),
    counts: new Map(),
    customers: new Map(),
    changes: [],
  };
  const calls: FakeCall[] = [];
  const fake = { throttled: 0 };

  const countKey = (c: Obj) => `${c.catalog_object_id}|${c.location_id}|${c.state}`;
  const locationIds = new Set(locations.map((l) => l.id as string));
  const mainLocation = locations[0].id as string;

  function seed(s: FakeSeed): void {
    for (const o of s.orders ?? []) state.orders.set(o.id, copy(o));
    for (const p of s.payments ?? []) state.payments.set(p.id, copy(p));
    for (const r of s.refunds ?? []) state.refunds.set(r.id, copy(r));
    for (const p of s.payouts ?? []) state.payouts.set(p.id, copy(p));
    for (const c of s.catalog ?? []) state.catalog.set(c.id, copy(c));
    for (const c of s.counts ?? []) state.counts.set(countKey(c), copy(c));
    for (const c of s.customers ?? []) state.customers.set(c.id, copy(c));
  }

  // ---- throttling and failures ----------------------------------------------------------------------------------

  function take(): boolean {
    if (!rate) return true;
    const t = now();
    tokens = Math.min(rate.burst, tokens + ((t - refilled) / 1000) * rate.perSecond);
    refilled = t;
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  }

  function injected(path: string): FailureKind | undefined {
    const f = failures.find((x) => x.n > 0 && (!x.prefix || path.startsWith(x.prefix)));
    if (!f) return undefined;
    f.n--;
    return f.kind;
  }

  // ---- cursors: keyset (the last row's sort key), bound to the query that made them ---------------------------

  interface CursorState {
    q: string;
    after: unknown[];
    g: number;
    t: number;
  }

  const queryHash = (endpoint: string, query: unknown) => sha256(`${endpoint}\n${canonicalJson(query)}`).slice(0, 16);

  function makeCursor(endpoint: string, query: unknown, after: unknown[]): string {
    const c: CursorState = { q: queryHash(endpoint, query), after, g: generation, t: now() };
    return Buffer.from(JSON.stringify(c)).toString('base64url');
  }

  function readCursor(endpoint: string, query: unknown, cursor: unknown): unknown[] | undefined {
    if (cursor === undefined || cursor === null || cursor === '') return undefined;
    const bad = () => invalid('INVALID_CURSOR', 'The pagination cursor included in the request is invalid.', 'cursor');
    let c: CursorState;
    try {
      c = JSON.parse(Buffer.from(String(cursor), 'base64url').toString('utf8'));
    } catch {
      throw bad();
    }
    if (!c || c.q !== queryHash(endpoint, query) || c.g !== generation) throw bad();
    if (options.cursorTtlMs !== undefined && now() - c.t > options.cursorTtlMs) throw bad();
    return c.after;
  }

  /** A page of `rows` (sorted by `key`), after the cursor's key. */
  function page<T>(
    endpoint: string,
    query: unknown,
    cursor: unknown,
    rows: T[],
    key: (r: T) => unknown[],
    limit: number,
    order = 'ASC',
  ): { rows: T[]; cursor?: string } {
    const after = readCursor(endpoint, query, cursor);
    const sign = order === 'DESC' ? -1 : 1;
    let start = 0;
    if (after) {
      start = rows.findIndex((r) => sign * compareKeys(key(r), after) > 0);
      if (start < 0) start = rows.length;
    }
    const slice = rows.slice(start, start + limit);
    const more = start + limit < rows.length;
    return { rows: slice, cursor: more ? makeCursor(endpoint, query, key(slice[slice.length - 1])) : undefined };
  }

  // ---- idempotent writes ----------------------------------------------------------------------------------------

  function idempotent(endpoint: string, body: Obj, apply: () => Obj): Obj {
    const key = body.idempotency_key;
    if (typeof key !== 'string' || key === '')
      throw invalid('MISSING_REQUIRED_PARAMETER', 'Field must be set', 'idempotency_key');
    const id = `${endpoint}\n${key}`;
    const hash = sha256(canonicalJson(body));
    const seen = idempotency.get(id);
    if (seen) {
      if (seen.hash !== hash)
        throw invalid(
          'IDEMPOTENCY_KEY_REUSED',
          'The idempotency key can only be retried with the same request data.',
          'idempotency_key',
        );
      return copy(seen.body);
    }
    const result = apply();
    // Only a successful response is remembered (a failed request may be corrected and retried with its key).
    idempotency.set(id, { hash, body: copy(result) });
    return result;
  }

  // ---- endpoints ------------------------------------------------------------------------------------------------

  const needs = (scope: string) => {
    if (!scopes.has(scope))
      throw new SquareError(
        403,
        'AUTHENTICATION_ERROR',
        'INSUFFICIENT_SCOPES',
        `The merchant has not given your application sufficient permissions to do that. The app must request the ${scope} scope.`,
      );
  };

  function within(t: number, start?: number, end?: number): boolean {
    return (start === undefined || t >= start) && (end === undefined || t < end);
  }

  function searchOrders(body: Obj): Obj {
    needs('ORDERS_READ');
    const ids: unknown = body.location_ids;
    if (!Array.isArray(ids) || ids.length === 0)
      throw invalid('MISSING_REQUIRED_PARAMETER', 'Must provide at least 1 location_id.', 'location_ids');
    if (ids.length > 10)
      throw invalid('ARRAY_LENGTH_TOO_LONG', 'Cannot provide more than 10 location_ids.', 'location_ids');
    for (const id of ids)
      if (!locationIds.has(id as string))
        throw invalid('INVALID_VALUE', `Location \`${id}\` does not belong to this merchant.`, 'location_ids');
    const limit = body.limit ?? 500;
    if (!Number.isInteger(limit) || limit < 1) throw invalid('VALUE_TOO_LOW', 'limit must be at least 1', 'limit');
    if (limit > 1000) throw invalid('VALUE_TOO_HIGH', 'limit must be at most 1000', 'limit');
    const q: Obj = body.query ?? {};
    const dtf: Obj = q.filter?.date_time_filter ?? {};
    const fields = Object.keys(dtf);
    const sortField: string = q.sort?.sort_field ?? 'CREATED_AT';
    const sortOrder: string = q.sort?.sort_order ?? 'DESC';
    if (fields.length > 1)
      throw invalid('INVALID_VALUE', 'Only one date_time_filter field may be set.', 'query.filter');
    if (fields.length === 1 && fields[0].toUpperCase() !== sortField)
      throw invalid(
        'INVALID_VALUE',
        `When filtering by ${fields[0]}, the sort_field must be ${fields[0].toUpperCase()}.`,
        'query.sort.sort_field',
      );
    const field = sortField.toLowerCase();
    const range: Obj = fields.length ? dtf[fields[0]] : {};
    const start = time(range.start_at, 'start_at');
    const end = time(range.end_at, 'end_at');
    const states: string[] | undefined = q.filter?.state_filter?.states;
    const rows = [...state.orders.values()]
      .filter((o) => ids.includes(o.location_id))
      .filter((o) => !states || states.includes(o.state))
      .filter((o) => within(ms(o[field]), start, end))
      .sort(byKeys((o) => [ms(o[field]), o.id], sortOrder));
    const p = page(
      'orders',
      { location_ids: ids, query: q, limit },
      body.cursor,
      rows,
      (o) => [ms(o[field]), o.id],
      limit,
      sortOrder,
    );
    return { orders: copy(p.rows), ...(p.cursor ? { cursor: p.cursor } : {}) };
  }

  function batchRetrieveOrders(body: Obj): Obj {
    needs('ORDERS_READ');
    const ids: unknown = body.order_ids;
    if (!Array.isArray(ids) || ids.length === 0)
      throw invalid('MISSING_REQUIRED_PARAMETER', 'Must provide at least 1 order_id.', 'order_ids');
    if (ids.length > 100)
      throw invalid('ARRAY_LENGTH_TOO_LONG', 'Cannot provide more than 100 order_ids.', 'order_ids');
    const orders = ids
      .map((id) => state.orders.get(id as string))
      .filter((o): o is Obj => o !== undefined && (!body.location_id || o.location_id === body.location_id));
    return { orders: copy(orders) };
  }

  /** GET /v2/payments, /v2/refunds and /v2/payouts: the same parameters, each with its own defaults. */
  function list(
    endpoint: 'payments' | 'refunds' | 'payouts',
    q: Record<string, string>,
    rows: Obj[],
    allLocations: boolean,
  ): Obj {
    const t = now();
    const begin = time(q.begin_time, 'begin_time') ?? t - 365 * 86_400_000;
    const end = time(q.end_time, 'end_time') ?? t;
    const uBegin = time(q.updated_at_begin_time, 'updated_at_begin_time');
    const uEnd = time(q.updated_at_end_time, 'updated_at_end_time');
    const sortField = q.sort_field ?? 'CREATED_AT';
    if (!['CREATED_AT', 'UPDATED_AT'].includes(sortField) || (endpoint === 'payouts' && q.sort_field !== undefined))
      throw invalid('INVALID_ENUM_VALUE', `Invalid sort_field ${sortField}`, 'sort_field');
    const order = q.sort_order ?? 'DESC';
    if (order !== 'ASC' && order !== 'DESC')
      throw invalid('INVALID_SORT_ORDER', 'sort_order must be ASC or DESC', 'sort_order');
    let limit = q.limit === undefined ? 100 : Number(q.limit);
    if (!Number.isInteger(limit) || limit < 1) throw invalid('VALUE_TOO_LOW', 'limit must be at least 1', 'limit');
    if (limit > 100) limit = 100; // "If the provided value is greater than 100, it is ignored"
    const location = q.location_id ?? (allLocations ? undefined : mainLocation);
    const field = sortField === 'UPDATED_AT' ? 'updated_at' : 'created_at';
    const selected = rows
      .filter((r) => !location || r.location_id === location)
      .filter((r) => within(ms(r.created_at), begin, end + 1))
      .filter((r) => within(ms(r.updated_at), uBegin, uEnd))
      .filter((r) => !q.status || r.status === q.status)
      .sort(byKeys((r) => [ms(r[field]), r.id], order));
    const { cursor, ...query } = q;
    const p = page(endpoint, query, cursor, selected, (r) => [ms(r[field]), r.id], limit, order);
    return { [endpoint]: copy(p.rows), ...(p.cursor ? { cursor: p.cursor } : {}) };
  }

  /** The catalog as SearchCatalogObjects sees it: items, and their variations as objects of their own. */
  function catalogObjects(): Obj[] {
    const out: Obj[] = [];
    for (const o of state.catalog.values()) {
      out.push(o);
      if (o.type === 'ITEM') for (const v of o.item_data?.variations ?? []) out.push(v);
    }
    return out;
  }

  function attribute(o: Obj, name: string): unknown {
    const data = o.type === 'ITEM' ? o.item_data : o.type === 'ITEM_VARIATION' ? o.item_variation_data : {};
    return data?.[name];
  }

  function searchCatalog(body: Obj): Obj {
    needs('ITEMS_READ');
    let limit = body.limit ?? 100;
    if (!Number.isInteger(limit) || limit < 1) throw invalid('VALUE_TOO_LOW', 'limit must be at least 1', 'limit');
    if (limit > 1000) limit = 1000;
    const types: string[] = body.object_types ?? ['ITEM', 'CATEGORY', 'TAX', 'DISCOUNT', 'MODIFIER_LIST'];
    const begin = time(body.begin_time, 'begin_time');
    const exact: Obj | undefined = body.query?.exact_query;
    const set: Obj | undefined = body.query?.set_query;
    const rows = catalogObjects()
      .filter((o) => types.includes(o.type))
      .filter((o) => body.include_deleted_objects === true || o.is_deleted !== true)
      .filter((o) => begin === undefined || ms(o.updated_at) > begin) // exclusive
      .filter((o) => !exact || attribute(o, exact.attribute_name) === exact.attribute_value)
      .filter((o) => !set || (set.attribute_values ?? []).includes(attribute(o, set.attribute_name)))
      .sort(byKeys((o) => [ms(o.updated_at), o.id], 'ASC'));
    const { cursor, ...query } = body;
    const p = page('catalog', query, cursor, rows, (o) => [ms(o.updated_at), o.id], limit);
    const related: Obj[] = [];
    if (body.include_related_objects === true) {
      const seen = new Set(p.rows.map((o) => o.id));
      for (const o of p.rows) {
        const parent = o.type === 'ITEM_VARIATION' ? state.catalog.get(o.item_variation_data?.item_id) : undefined;
        if (parent && !seen.has(parent.id)) {
          seen.add(parent.id);
          related.push(parent);
        }
      }
    }
    return {
      objects: copy(p.rows),
      ...(related.length ? { related_objects: copy(related) } : {}),
      ...(p.cursor ? { cursor: p.cursor } : {}),
      latest_time: new Date(latestCatalog()).toISOString(),
    };
  }

  function retrieveCatalog(body: Obj): Obj {
    needs('ITEMS_READ');
    const ids: unknown = body.object_ids;
    if (!Array.isArray(ids) || ids.length === 0)
      throw invalid('MISSING_REQUIRED_PARAMETER', 'Field must be set', 'object_ids');
    const all = new Map(catalogObjects().map((o) => [o.id, o]));
    const objects = ids.map((id) => all.get(id as string)).filter((o): o is Obj => o !== undefined && !o.is_deleted);
    return { objects: copy(objects) };
  }

  const latestCatalog = () => Math.max(0, ...catalogObjects().map((o) => ms(o.updated_at)));

  function upsertCatalog(body: Obj): Obj {
    needs('ITEMS_WRITE');
    const batches: Obj[] = body.batches ?? [];
    if (!Array.isArray(batches) || batches.length === 0)
      throw invalid('MISSING_REQUIRED_PARAMETER', 'Field must be set', 'batches');
    let total = 0;
    for (const b of batches) {
      const n = b.objects?.length ?? 0;
      if (n > 1000) throw invalid('ARRAY_LENGTH_TOO_LONG', 'A batch may hold at most 1000 objects.', 'batches.objects');
      total += n;
    }
    if (total > 10_000) throw invalid('ARRAY_LENGTH_TOO_LONG', 'A request may hold at most 10000 objects.', 'batches');
    return idempotent('catalog/batch-upsert', body, () => {
      const at = new Date(now()).toISOString();
      const mappings: Obj[] = [];
      const ids = new Map<string, string>();
      const realId = (id: string) => {
        if (!id.startsWith('#')) return id;
        let real = ids.get(id);
        if (!real) {
          real = `FAKE${sha256(`${id}\n${at}\n${ids.size}\n${state.catalog.size}`).slice(0, 20).toUpperCase()}`;
          ids.set(id, real);
          mappings.push({ client_object_id: id, object_id: real });
        }
        return real;
      };
      const variationsById = new Map(
        catalogObjects()
          .filter((o) => o.type === 'ITEM_VARIATION')
          .map((v) => [v.id, v]),
      );
      // Validate everything first: a batch is applied whole or not at all.
      for (const b of batches)
        for (const o of b.objects ?? []) {
          if (o.type !== 'ITEM' && o.type !== 'ITEM_VARIATION')
            throw invalid('INVALID_VALUE', `The fake catalog holds items and variations, not ${o.type}.`, 'type');
          const existing = o.type === 'ITEM' ? state.catalog.get(o.id) : variationsById.get(o.id);
          if (!o.id.startsWith('#') && !existing)
            throw invalid('INVALID_VALUE', `Object \`${o.id}\` not found.`, 'object.id');
          if (existing && o.version !== undefined && Number(o.version) !== Number(existing.version))
            throw invalid('VERSION_MISMATCH', 'Object version does not match latest database version.', 'version');
          if (o.type === 'ITEM_VARIATION') {
            const itemId = o.item_variation_data?.item_id;
            if (typeof itemId !== 'string' || (!itemId.startsWith('#') && !state.catalog.has(itemId)))
              throw invalid('INVALID_VALUE', 'item_variation_data.item_id must name an item.', 'item_id');
          }
        }
      const objects: Obj[] = [];
      for (const b of batches)
        for (const o of b.objects ?? []) {
          const version = ++versionClock;
          if (o.type === 'ITEM') {
            const id = realId(o.id);
            const item: Obj = { ...copy(o), id, version, updated_at: at, is_deleted: false };
            item.item_data = { ...(item.item_data ?? {}) };
            item.item_data.variations = (item.item_data.variations ?? []).map((v: Obj) => ({
              ...v,
              type: 'ITEM_VARIATION',
              id: realId(v.id),
              version: ++versionClock,
              updated_at: at,
              is_deleted: false,
              item_variation_data: { ...(v.item_variation_data ?? {}), item_id: id },
            }));
            state.catalog.set(id, item);
            objects.push(copy(item));
          } else {
            const id = realId(o.id);
            const itemId = realId(o.item_variation_data.item_id);
            const item = state.catalog.get(itemId);
            if (!item) continue;
            const v: Obj = {
              ...copy(o),
              id,
              version,
              updated_at: at,
              is_deleted: false,
              item_variation_data: { ...o.item_variation_data, item_id: itemId },
            };
            const list: Obj[] = item.item_data.variations ?? [];
            const i = list.findIndex((x) => x.id === id);
            if (i >= 0) list[i] = v;
            else list.push(v);
            item.item_data.variations = list;
            objects.push(copy(v));
          }
        }
      return { objects, updated_at: at, id_mappings: mappings };
    });
  }

  function retrieveCounts(body: Obj): Obj {
    needs('INVENTORY_READ');
    let limit = body.limit ?? 1000;
    if (!Number.isInteger(limit) || limit < 1) throw invalid('VALUE_TOO_LOW', 'limit must be at least 1', 'limit');
    if (limit > 1000) throw invalid('VALUE_TOO_HIGH', 'limit must be at most 1000', 'limit');
    const after = time(body.updated_after, 'updated_after') ?? 0;
    const objects: string[] | undefined = body.catalog_object_ids;
    const locs: string[] | undefined = body.location_ids;
    const states: string[] | undefined = body.states;
    const rows = [...state.counts.values()]
      .filter((c) => ms(c.calculated_at) > after)
      .filter((c) => !objects || objects.includes(c.catalog_object_id))
      .filter((c) => !locs || locs.includes(c.location_id))
      .filter((c) => !states || states.includes(c.state))
      .sort(byKeys((c) => [ms(c.calculated_at), countKey(c)], 'ASC'));
    const { cursor, ...query } = body;
    limit = Math.min(limit, 1000);
    const p = page('counts', query, cursor, rows, (c) => [ms(c.calculated_at), countKey(c)], limit);
    return { counts: p.rows.map(publicCount), ...(p.cursor ? { cursor: p.cursor } : {}) };
  }

  function changeInventory(body: Obj): Obj {
    needs('INVENTORY_WRITE');
    const changes: Obj[] = body.changes ?? [];
    if (!Array.isArray(changes) || changes.length === 0)
      throw invalid('MISSING_REQUIRED_PARAMETER', 'Field must be set', 'changes');
    if (changes.length > 100) throw invalid('ARRAY_LENGTH_TOO_LONG', 'Max size is 100 changes.', 'changes');
    const variations = new Set(
      catalogObjects()
        .filter((o) => o.type === 'ITEM_VARIATION' && !o.is_deleted)
        .map((o) => o.id),
    );
    changes.forEach((c, i) => {
      const d = c.type === 'PHYSICAL_COUNT' ? c.physical_count : c.type === 'ADJUSTMENT' ? c.adjustment : undefined;
      const where = `changes[${i}]`;
      if (!d)
        throw invalid('INVALID_ENUM_VALUE', `${where}.type must be PHYSICAL_COUNT or ADJUSTMENT.`, `${where}.type`);
      if (!variations.has(d.catalog_object_id))
        throw invalid(
          'INVALID_VALUE',
          `Catalog object \`${d.catalog_object_id}\` not found.`,
          `${where}.catalog_object_id`,
        );
      if (!locationIds.has(d.location_id))
        throw invalid('INVALID_VALUE', `Location \`${d.location_id}\` not found.`, `${where}.location_id`);
      if (!/^-?\d+(\.\d+)?$/.test(String(d.quantity ?? '')))
        throw invalid('INVALID_VALUE', 'quantity must be a decimal string.', `${where}.quantity`);
      time(d.occurred_at, `${where}.occurred_at`);
      if (d.occurred_at === undefined)
        throw invalid('MISSING_REQUIRED_PARAMETER', 'Field must be set', `${where}.occurred_at`);
    });
    return idempotent('inventory/changes/batch-create', body, () => {
      const at = new Date(now()).toISOString();
      const touched = new Map<string, Obj>();
      const count = (objectId: string, location: string, st: string): Obj => {
        const key = `${objectId}|${location}|${st}`;
        let c = state.counts.get(key);
        if (!c) {
          c = {
            catalog_object_id: objectId,
            catalog_object_type: 'ITEM_VARIATION',
            state: st,
            location_id: location,
            quantity: '0',
          };
          state.counts.set(key, c);
        }
        touched.set(key, c);
        return c;
      };
      const applied: Obj[] = [];
      for (const c of changes) {
        if (c.type === 'PHYSICAL_COUNT') {
          const d = c.physical_count;
          const target = count(d.catalog_object_id, d.location_id, d.state ?? 'IN_STOCK');
          const last = target._counted_at === undefined ? -Infinity : ms(target._counted_at);
          const unchanged = target.quantity === String(d.quantity);
          if (ms(d.occurred_at) >= last && !(unchanged && body.ignore_unchanged_counts !== false)) {
            target.quantity = String(d.quantity);
            target._counted_at = d.occurred_at;
            target.calculated_at = at;
          }
        } else {
          const d = c.adjustment;
          const q = Number(d.quantity);
          if (d.from_state && d.from_state !== 'NONE') {
            const from = count(d.catalog_object_id, d.location_id, d.from_state);
            from.quantity = String(Number(from.quantity) - q);
            from.calculated_at = at;
          }
          if (d.to_state && d.to_state !== 'NONE') {
            const to = count(d.catalog_object_id, d.location_id, d.to_state);
            to.quantity = String(Number(to.quantity) + q);
            to.calculated_at = at;
          }
        }
        const change = { ...copy(c), id: `FAKECHG${state.changes.length + 1}` };
        state.changes.push(change);
        applied.push(change);
      }
      return { counts: [...touched.values()].map(publicCount), changes: applied };
    });
  }

  function searchCustomers(body: Obj): Obj {
    needs('CUSTOMERS_READ');
    const limit = body.limit ?? 100;
    if (!Number.isInteger(limit) || limit < 1) throw invalid('VALUE_TOO_LOW', 'limit must be at least 1', 'limit');
    if (limit > 100) throw invalid('VALUE_TOO_HIGH', 'limit must be at most 100', 'limit');
    const filter: Obj = body.query?.filter ?? {};
    const sort: Obj = body.query?.sort ?? {};
    const field = sort.field ?? 'DEFAULT';
    if (filter.created_at && field !== 'CREATED_AT')
      throw invalid('INVALID_VALUE', 'A created_at filter needs the CREATED_AT sort field.', 'query.sort.field');
    const c = time(filter.created_at?.start_at, 'created_at.start_at');
    const ce = time(filter.created_at?.end_at, 'created_at.end_at');
    const u = time(filter.updated_at?.start_at, 'updated_at.start_at');
    const ue = time(filter.updated_at?.end_at, 'updated_at.end_at');
    const key = (r: Obj) =>
      field === 'CREATED_AT' ? [ms(r.created_at), r.id] : [r.given_name ?? '', r.family_name ?? '', r.id];
    const rows = [...state.customers.values()]
      .filter((r) => within(ms(r.created_at), c, ce))
      .filter((r) => within(ms(r.updated_at), u, ue))
      .sort(byKeys(key, sort.order ?? 'ASC'));
    const { cursor, ...query } = body;
    const p = page('customers', query, cursor, rows, key, limit, sort.order ?? 'ASC');
    return { customers: copy(p.rows), ...(p.cursor ? { cursor: p.cursor } : {}) };
  }

  // ---- the server -----------------------------------------------------------------------------------------------

  async function route(method: string, path: string, q: Record<string, string>, body: Obj): Promise<Obj> {
    const at = `${method} ${path}`;
    switch (at) {
      case 'GET /v2/locations':
        needs('MERCHANT_PROFILE_READ');
        return { locations: copy(locations) };
      case 'GET /v2/merchants/me':
        needs('MERCHANT_PROFILE_READ');
        return {
          merchant: {
            id: FAKE_MERCHANT_ID,
            business_name: 'Fake Square Seller',
            country: 'US',
            language_code: 'en-US',
            currency: 'USD',
            status: 'ACTIVE',
            main_location_id: mainLocation,
            created_at: '2021-01-01T00:00:00Z',
          },
        };
      case 'POST /oauth2/token/status':
        return {
          scopes: [...scopes],
          ...(options.tokenExpiresAt ? { expires_at: options.tokenExpiresAt } : {}),
          client_id: 'sq0idp-fake-client',
          merchant_id: FAKE_MERCHANT_ID,
        };
      case 'POST /v2/orders/search':
        return searchOrders(body);
      case 'POST /v2/orders/batch-retrieve':
        return batchRetrieveOrders(body);
      case 'GET /v2/payments':
        needs('PAYMENTS_READ');
        return list('payments', q, [...state.payments.values()], false);
      case 'GET /v2/refunds':
        needs('PAYMENTS_READ');
        return list('refunds', q, [...state.refunds.values()], true);
      case 'GET /v2/payouts':
        needs('PAYOUTS_READ');
        return list('payouts', q, [...state.payouts.values()], false);
      case 'POST /v2/catalog/search':
        return searchCatalog(body);
      case 'POST /v2/catalog/batch-retrieve':
        return retrieveCatalog(body);
      case 'POST /v2/catalog/batch-upsert':
        return upsertCatalog(body);
      case 'POST /v2/inventory/counts/batch-retrieve':
        return retrieveCounts(body);
      case 'POST /v2/inventory/changes/batch-create':
        return changeInventory(body);
      case 'POST /v2/customers/search':
        return searchCustomers(body);
      default:
        throw new SquareError(404, 'INVALID_REQUEST_ERROR', 'NOT_FOUND', `Resource not found: ${at}`);
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const query = Object.fromEntries(url.searchParams);
    const version = header(req, 'square-version');
    const call: FakeCall = {
      method: req.method ?? 'GET',
      path: url.pathname,
      status: 0,
      at: now(),
      squareVersion: version,
    };
    if (Object.keys(query).length) call.query = query;
    calls.push(call);
    const send = (status: number, body: Obj, headers: Record<string, string> = {}) => {
      call.status = status;
      res.writeHead(status, {
        'content-type': 'application/json',
        'square-version': version ?? '2026-07-15',
        ...headers,
      });
      res.end(JSON.stringify(body));
    };
    const error = (e: SquareError, headers?: Record<string, string>) =>
      send(
        e.status,
        { errors: [{ category: e.category, code: e.code, detail: e.message, ...(e.field ? { field: e.field } : {}) }] },
        headers,
      );

    const auth = header(req, 'authorization');
    if (auth !== `Bearer ${token}`)
      return error(
        new SquareError(
          401,
          'AUTHENTICATION_ERROR',
          'UNAUTHORIZED',
          auth?.startsWith('Bearer ')
            ? 'This request could not be authorized.'
            : 'The `Authorization` http header of your request was incorrectly formatted.',
        ),
      );
    if (version !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(version))
      return error(invalid('INVALID_SQUARE_VERSION_FORMAT', 'The provided Square-Version is incorrectly formatted.'));

    const failure = injected(url.pathname);
    if (failure === 'drop') {
      call.status = -1;
      req.socket.destroy();
      return;
    }
    const rateLimited = failure === 429 || !take();
    if (rateLimited) {
      fake.throttled++;
      return error(
        new SquareError(429, 'RATE_LIMIT_ERROR', 'RATE_LIMITED', 'Rate limit exceeded. Please retry later.'),
        options.retryAfter ? { 'retry-after': '1' } : {},
      );
    }
    if (failure === 500)
      return error(new SquareError(500, 'API_ERROR', 'INTERNAL_SERVER_ERROR', 'An internal error has occurred.'));
    if (failure === 503) return error(new SquareError(503, 'API_ERROR', 'SERVICE_UNAVAILABLE', 'Service unavailable.'));

    let body: Obj = {};
    if (req.method === 'POST' && text !== '') {
      try {
        body = JSON.parse(text);
      } catch {
        return error(invalid('EXPECTED_JSON_BODY', 'The request body is not a JSON object.'));
      }
    }
    if (failure === 'cursor' && (body.cursor || query.cursor))
      return error(invalid('INVALID_CURSOR', 'The pagination cursor included in the request is invalid.', 'cursor'));
    if (req.method === 'POST') call.body = body;
    try {
      send(200, await route(req.method ?? 'GET', url.pathname, query, body));
    } catch (e) {
      if (e instanceof SquareError) return error(e);
      send(500, { errors: [{ category: 'API_ERROR', code: 'INTERNAL_SERVER_ERROR', detail: String(e) }] });
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    get throttled() {
      return fake.throttled;
    },
    seed,
    state,
    fail: (n, kind, prefix) => failures.push({ n, kind, prefix }),
    expireCursors: () => {
      generation++;
    },
    setRate: (r) => {
      rate = r;
      tokens = r?.burst ?? 0;
      refilled = now();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** An inventory count as Square returns it (without the fake's bookkeeping). */
function publicCount(c: Obj): Obj {
  const { _counted_at, ...rest } = c;
  return copy(rest);
}

function compareKeys(a: unknown[], b: unknown[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] as string | number;
    const y = b[i] as string | number;
    if (x < y) return -1;
    if (x > y) return 1;
  }
  return 0;
}

function byKeys<T>(key: (r: T) => unknown[], order: string): (a: T, b: T) => number {
  const sign = order === 'DESC' ? -1 : 1;
  return (a, b) => sign * compareKeys(key(a), key(b));
}

/**
 * A copy of one of Square's sample records with the given fields replaced: tests and the demo make many records
 * from the real payloads (test/fixtures/square) by varying ids and times.
 */
export function variant(template: Obj, fields: Obj): Obj {
  return { ...copy(template), ...fields };
}
