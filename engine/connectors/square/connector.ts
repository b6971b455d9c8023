/**
 * The square connector: Square's REST API (https://developer.squareup.com/reference/square) — reads of every stream
 * the catalogue declares, writes of inventory counts, catalog items and item prices, lookups of the records a
 * notification names, and the connection check. Plain `fetch` through the kit's client, not Square's SDK: one
 * limiter, one error path and one redaction for every connector, and a fake server that is only a base URL.
 *
 * Settings: `environment` (production → https://connect.squareup.com, sandbox → https://connect.squareupsandbox.com)
 * or `baseUrl`; `accessToken` (Authorization: Bearer); `apiVersion`, sent as Square-Version on every request (the
 * application's pinned version would otherwise apply, and change under us when someone bumps it in the dashboard);
 * `locationIds` (the locations to read; default every location of the seller, from GET /v2/locations);
 * `stockLocations` (an ERP location → the Square location(s) its stock is counted at); `rateLimit`.
 *
 * Reads are slices (kit readSlices): records changed at or after the cursor's `since`, each stream with the filter
 * Square has for it (see STREAMS). Where Square reads per location (payments, payouts: the main location unless one
 * is named) or caps the locations of a call (orders: 10), one slice walks every group of locations in turn; the
 * page token says which group and which Square cursor. An INVALID_CURSOR restarts the slice.
 *
 * Writes carry an `idempotency_key` made from the items' write ids (the write id itself for a one-record request),
 * so a retried or repeated request is answered with Square's first response instead of being applied again. A
 * repeat whose body differs (a catalog version moved, a count stamped with another time) meets
 * IDEMPOTENCY_KEY_REUSED: Square keeps a key only for a request that succeeded, and a write id is never reused for
 * another write, so that answer means "already applied" and the record is reported written.
 *
 * Errors: Square's body `{ errors: [{ category, code, detail }] }` gives the message. 401 and 403 (UNAUTHORIZED,
 * INSUFFICIENT_SCOPES) are auth; 429 RATE_LIMITED is throttled — Square sends no Retry-After and publishes no
 * limit, so the connector backs off exponentially itself (retryAfterMs), pauses the shared limiter, and slows it
 * (Limiter.slow: the rate halves for every worker, and climbs back by itself); 5xx and dropped connections are
 * transient; other 4xx permanent. The pace was once this process's own, halved by its own 429s only: four workers
 * each had to be throttled two or three times before together they went slowly enough (4.5 % of the calls of a
 * steady run throttled, against a limit of 8 a second: the runtime benchmark's throttle part).
 */
import { createHash } from 'node:crypto';
import { minorUnits } from '../../model/currency.js';
import {
  type CheckReport,
  ConnectorError,
  failure,
  httpClient,
  parseRetryAfter,
  type Reply,
  type RequestOptions,
  rateLimiter,
  readSlices,
  type SliceQuery,
  utc,
} from '../kit/index.js';
import type { ConnectorContext, OpenConnector, Page, ReadRequest, WriteItem, WriteResult } from '../types.js';

// biome-ignore lint/suspicious/noExplicitAny: Square's objects, read field by field
type Obj = Record<string, any>;

/** The Square-Version this connector is written against (https://developer.squareup.com/docs/changelog). */
export const DEFAULT_API_VERSION = '2026-07-15';
export const PRODUCTION_URL = 'https://connect.squareup.com';
export const SANDBOX_URL = 'https://connect.squareupsandbox.com';

/** Square's documented page caps. */
const MAX = { orders: 1000, payments: 100, refunds: 100, payouts: 100, catalog: 1000, counts: 1000, customers: 100 };
/** SearchOrders takes at most 10 location_ids. */
const ORDER_LOCATIONS_PER_CALL = 10;
/** BatchChangeInventory: at most 100 changes a request. */
const CHANGES_PER_REQUEST = 100;
/** BatchRetrieveOrders: at most 100 order ids. */
const ORDERS_PER_LOOKUP = 100;
/** SearchCatalogObjects set_query values per call (SKU lookups). */
const SKUS_PER_SEARCH = 100;
/** ListPayments / ListPaymentRefunds filter created_at from a year ago unless told: an early begin_time reads all. */
const BEGINNING = '2013-01-01T00:00:00Z';
/**
 * ListPayouts filters only by created_at; a payout changes status (SENT → PAID, FAILED) after it is created, so each
 * slice also reads the payouts created this long before its start (the ledger skips those that did not change).
 */
const PAYOUT_LOOKBACK_MS = 14 * 86_400_000;
/** Square indexes changes "within seconds" (payments, orders), customers "well under 30 seconds … a minute or longer". */
const OVERLAP_MS: Record<string, number> = { customers: 120_000 };
/** How long the list of the seller's locations is kept. */
const LOCATIONS_TTL_MS = 10 * 60_000;
/** Back-off after a 429 (Square sends no Retry-After): doubling from this, to at most 30 s. */
const BACKOFF_MS = 500;
const BACKOFF_MAX_MS = 30_000;
/** Requests a second when neither Square (it publishes no limits) nor the connection says (settings.rateLimit). */
const DEFAULT_PER_SECOND = 10;

/** The permission each stream's read needs (https://developer.squareup.com/docs/oauth-api/square-permissions). */
export const STREAM_SCOPES: Record<string, string> = {
  orders: 'ORDERS_READ',
  payments: 'PAYMENTS_READ',
  refunds: 'PAYMENTS_READ',
  payouts: 'PAYOUTS_READ',
  catalogItems: 'ITEMS_READ',
  inventoryCounts: 'INVENTORY_READ',
  customers: 'CUSTOMERS_READ',
};
export const ENTITY_SCOPES: Record<string, string[]> = {
  inventoryCount: ['INVENTORY_WRITE', 'ITEMS_READ'],
  catalogItem: ['ITEMS_WRITE', 'ITEMS_READ'],
  itemPrice: ['ITEMS_WRITE', 'ITEMS_READ'],
};

interface Settings {
  environment?: 'production' | 'sandbox';
  baseUrl?: string;
  accessToken?: unknown;
  apiVersion?: string;
  locationIds?: string[];
  stockLocations?: Record<string, string | string[]>;
}

/** A page token within a slice: which group of locations, and Square's cursor within it. */
interface Token {
  g: number;
  c: string | null;
}

export interface SquareOptions {
  timeoutMs?: number;
}

export function openSquare(ctx: ConnectorContext, options: SquareOptions = {}): OpenConnector {
  const settings = ctx.settings as Settings;
  const baseUrl =
    typeof settings.baseUrl === 'string' && settings.baseUrl !== ''
      ? settings.baseUrl
      : settings.environment === 'sandbox'
        ? SANDBOX_URL
        : PRODUCTION_URL;
  if (!/^https?:\/\//.test(baseUrl)) throw failure.permanent('square: settings.baseUrl must be an http(s) URL');
  const apiVersion = settings.apiVersion ?? DEFAULT_API_VERSION;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(apiVersion))
    throw failure.permanent(`square: settings.apiVersion ${apiVersion} is not a Square-Version (YYYY-MM-DD)`);
  const limiter = rateLimiter(ctx, 'api', { perSecond: DEFAULT_PER_SECOND, burst: DEFAULT_PER_SECOND });
  const http = httpClient(ctx, {
    name: 'square',
    baseUrl,
    limiter,
    timeoutMs: options.timeoutMs,
    headers: () => ({
      authorization: `Bearer ${ctx.secret(settings.accessToken)}`,
      'square-version': apiVersion,
    }),
  });
  let backoff = 0;

  // ---- one call, Square's errors made kit failures ----------------------------------------------------------------

  const ALLOW = [400, 401, 403, 404, 409, 422, 429, 500, 502, 503, 504];

  async function call<T = Obj>(method: string, path: string, o: RequestOptions = {}): Promise<T> {
    const reply = await http.request(method, path, { ...o, allow: ALLOW });
    if (reply.status >= 200 && reply.status < 300) {
      backoff = 0;
      return (reply.json<T>() ?? {}) as T;
    }
    throw await squareFailure(reply);
  }

  async function squareFailure(reply: Reply): Promise<ConnectorError> {
    let errors: Obj[] = [];
    try {
      const body = reply.json<Obj>();
      if (Array.isArray(body?.errors)) errors = body.errors;
    } catch {
      // not JSON: the status line says it
    }
    const codes = errors.map((e) => e.code).filter(Boolean);
    const detail = errors
      .map((e) => `${e.detail ?? ''}${e.field ? ` (${e.field})` : ''}`.trim())
      .filter(Boolean)
      .join('; ')
      .slice(0, 300);
    const message = http.clean(
      `square: ${reply.method} ${reply.url.pathname}: HTTP ${reply.status}${codes.length ? ` ${codes.join(', ')}` : ` ${reply.statusText}`}${detail ? `: ${detail}` : ''}`,
    );
    const s = reply.status;
    if (s === 429 || errors.some((e) => e.category === 'RATE_LIMIT_ERROR')) {
      backoff = Math.min(BACKOFF_MAX_MS, backoff ? backoff * 2 : BACKOFF_MS);
      const ms = parseRetryAfter(reply.headers.get('retry-after')) ?? backoff;
      await limiter.slow();
      await limiter.pause(ms);
      return new SquareFailure(message, codes, failure.throttled(message, ms, s));
    }
    if (s === 401 || s === 403) return new SquareFailure(message, codes, failure.auth(message, s));
    if (codes.includes('INVALID_CURSOR')) return failure.expired(message);
    if (s >= 500) {
      const ms = s === 503 ? parseRetryAfter(reply.headers.get('retry-after')) : undefined;
      return new SquareFailure(
        message,
        codes,
        ms === undefined ? failure.transient(message, s) : failure.throttled(message, ms, s),
      );
    }
    if (codes.includes('VERSION_MISMATCH'))
      // Someone changed the catalog object since we read it: read it again and retry.
      return new SquareFailure(message, codes, failure.transient(message, s));
    return new SquareFailure(message, codes, failure.permanent(message, s));
  }

  // ---- locations ------------------------------------------------------------------------------------------------

  /**
   * The seller's locations. Asked again at a slice's start once LOCATIONS_TTL_MS have passed (a new store is read
   * without a restart), never within a slice, whose page token counts groups of this list.
   */
  let locationsCache: Promise<string[]> | undefined;
  let locationsAt = 0;
  function locations(signal?: AbortSignal, sliceStart = false): Promise<string[]> {
    if (Array.isArray(settings.locationIds) && settings.locationIds.length)
      return Promise.resolve(settings.locationIds);
    if (sliceStart && Date.now() - locationsAt > LOCATIONS_TTL_MS) locationsCache = undefined;
    if (!locationsCache) locationsAt = Date.now();
    locationsCache ??= call<Obj>('GET', '/v2/locations', { signal })
      .then((r) => (r.locations ?? []).map((l: Obj) => l.id as string))
      .catch((e) => {
        locationsCache = undefined;
        throw e;
      });
    return locationsCache;
  }

  const groups = <T>(xs: T[], n: number): T[][] => {
    const out: T[][] = [];
    for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
    return out;
  };

  /** A page over groups of locations: the token's group, then the next group, then the end of the slice. */
  async function grouped(
    q: SliceQuery,
    size: number,
    one: (group: string[], cursor: string | null) => Promise<{ records: Obj[]; cursor?: string }>,
  ): Promise<{ records: Obj[]; next: Token | null }> {
    const all = groups(await locations(q.signal, q.token === null), size);
    const t = (q.token as Token | null) ?? { g: 0, c: null };
    if (t.g >= all.length) return { records: [], next: null };
    const got = await one(all[t.g], t.c);
    const next: Token | null = got.cursor
      ? { g: t.g, c: got.cursor }
      : t.g + 1 < all.length
        ? { g: t.g + 1, c: null }
        : null;
    return { records: got.records, next };
  }

  /** `since` for an API whose time filter is exclusive (begin_time, updated_after): a millisecond earlier. */
  const exclusive = (since: string | null) => (since ? utc(Date.parse(since) - 1) : undefined);

  // ---- the streams ----------------------------------------------------------------------------------------------

  type Fetch = (q: SliceQuery) => Promise<{ records: Obj[]; next: unknown | null }>;

  const STREAMS: Record<string, { fetch: Fetch; updatedAt: (r: Obj) => string | undefined }> = {
    // POST /v2/orders/search: updated_at filter, sorted by UPDATED_AT ascending, 10 locations a call.
    orders: {
      updatedAt: (o) => o.updated_at,
      fetch: (q) =>
        grouped(q, ORDER_LOCATIONS_PER_CALL, async (group, cursor) => {
          const updated_at = timeRange(q);
          const r = await call('POST', '/v2/orders/search', {
            signal: q.signal,
            json: {
              location_ids: group,
              limit: Math.min(q.limit, MAX.orders),
              ...(cursor ? { cursor } : {}),
              query: {
                ...(Object.keys(updated_at).length ? { filter: { date_time_filter: { updated_at } } } : {}),
                sort: { sort_field: 'UPDATED_AT', sort_order: 'ASC' },
              },
            },
          });
          return { records: r.orders ?? [], cursor: r.cursor };
        }),
    },
    // GET /v2/payments: updated_at range, sorted by UPDATED_AT; one location a call (the main one is the default).
    payments: {
      updatedAt: (p) => p.updated_at,
      fetch: (q) =>
        grouped(q, 1, async ([location], cursor) => {
          const r = await call('GET', '/v2/payments', {
            signal: q.signal,
            query: listQuery(q, cursor, MAX.payments, { location_id: location }),
          });
          return { records: r.payments ?? [], cursor: r.cursor };
        }),
    },
    // GET /v2/refunds: the same filters; every location by default, so one walk unless locations are named.
    refunds: {
      updatedAt: (r) => r.updated_at,
      fetch: async (q) => {
        const named = Array.isArray(settings.locationIds) && settings.locationIds.length > 0;
        if (named)
          return grouped(q, 1, async ([location], cursor) => {
            const r = await call('GET', '/v2/refunds', {
              signal: q.signal,
              query: listQuery(q, cursor, MAX.refunds, { location_id: location }),
            });
            return { records: r.refunds ?? [], cursor: r.cursor };
          });
        const cursor = (q.token as Token | null)?.c ?? null;
        const r = await call('GET', '/v2/refunds', { signal: q.signal, query: listQuery(q, cursor, MAX.refunds, {}) });
        return { records: r.refunds ?? [], next: r.cursor ? { g: 0, c: r.cursor } : null };
      },
    },
    // GET /v2/payouts: created_at only (begin_time inclusive), so the slice reads back PAYOUT_LOOKBACK_MS.
    payouts: {
      updatedAt: (p) => p.updated_at,
      fetch: (q) =>
        grouped(q, 1, async ([location], cursor) => {
          const r = await call('GET', '/v2/payouts', {
            signal: q.signal,
            query: {
              location_id: location,
              begin_time: q.since ? utc(Date.parse(q.since) - PAYOUT_LOOKBACK_MS) : BEGINNING,
              end_time: q.until ? utc(q.until) : undefined,
              sort_order: 'ASC',
              limit: Math.min(q.limit, MAX.payouts),
              cursor: cursor ?? undefined,
            },
          });
          return { records: r.payouts ?? [], cursor: r.cursor };
        }),
    },
    // POST /v2/catalog/search: items, and variations (whose parent item comes with them), deleted ones included.
    catalogItems: {
      updatedAt: itemUpdatedAt,
      fetch: async (q) => {
        const cursor = (q.token as Token | null)?.c ?? null;
        const r = await catalogSearch(
          q.since ? exclusive(q.since) : undefined,
          cursor,
          Math.min(q.limit, MAX.catalog),
          q.signal,
        );
        const records = q.until
          ? r.items.filter((i) => Date.parse(itemUpdatedAt(i) ?? '') < Date.parse(q.until ?? ''))
          : r.items;
        return { records, next: r.cursor ? { g: 0, c: r.cursor } : null };
      },
    },
    // POST /v2/inventory/counts/batch-retrieve: updated_after (exclusive) on calculated_at.
    inventoryCounts: {
      updatedAt: (c) => c.calculated_at,
      fetch: async (q) => {
        const cursor = (q.token as Token | null)?.c ?? null;
        const named = Array.isArray(settings.locationIds) && settings.locationIds.length > 0;
        const r = await call('POST', '/v2/inventory/counts/batch-retrieve', {
          signal: q.signal,
          json: {
            ...(named ? { location_ids: settings.locationIds } : {}),
            ...(q.since ? { updated_after: exclusive(q.since) } : {}),
            limit: Math.min(q.limit, MAX.counts),
            ...(cursor ? { cursor } : {}),
          },
        });
        const counts: Obj[] = r.counts ?? [];
        const records = q.until
          ? counts.filter((c) => Date.parse(c.calculated_at) < Date.parse(q.until ?? ''))
          : counts;
        return { records, next: r.cursor ? { g: 0, c: r.cursor } : null };
      },
    },
    // POST /v2/customers/search: the updated_at filter; Square sorts only by name or created_at, so a slice is
    // walked whole before the cursor moves past it (readSlices keeps the newest updated_at seen).
    customers: {
      updatedAt: (c) => c.updated_at,
      fetch: async (q) => {
        const cursor = (q.token as Token | null)?.c ?? null;
        const updated_at = timeRange(q);
        const r = await call('POST', '/v2/customers/search', {
          signal: q.signal,
          json: {
            limit: Math.min(q.limit, MAX.customers),
            ...(cursor ? { cursor } : {}),
            query: {
              ...(Object.keys(updated_at).length ? { filter: { updated_at } } : {}),
              sort: { field: 'CREATED_AT', order: 'ASC' },
            },
          },
        });
        return { records: r.customers ?? [], next: r.cursor ? { g: 0, c: r.cursor } : null };
      },
    },
  };

  function listQuery(q: SliceQuery, cursor: string | null, max: number, extra: Record<string, string>) {
    return {
      ...extra,
      begin_time: BEGINNING,
      updated_at_begin_time: q.since ? utc(q.since) : undefined,
      updated_at_end_time: q.until ? utc(q.until) : undefined,
      sort_field: 'UPDATED_AT',
      sort_order: 'ASC',
      limit: Math.min(q.limit, max),
      cursor: cursor ?? undefined,
    };
  }

  /** Catalog objects changed after `begin`: the ITEMs themselves and the parent ITEMs of changed variations. */
  async function catalogSearch(begin: string | undefined, cursor: string | null, limit: number, signal?: AbortSignal) {
    const r = await call('POST', '/v2/catalog/search', {
      signal,
      json: {
        object_types: ['ITEM', 'ITEM_VARIATION'],
        include_deleted_objects: true,
        include_related_objects: true,
        ...(begin ? { begin_time: begin } : {}),
        limit,
        ...(cursor ? { cursor } : {}),
      },
    });
    const byId = new Map<string, Obj>();
    const related = new Map<string, Obj>((r.related_objects ?? []).map((o: Obj) => [o.id, o]));
    for (const o of (r.objects ?? []) as Obj[]) {
      if (o.type === 'ITEM') byId.set(o.id, o);
      else if (o.type === 'ITEM_VARIATION') {
        const parent = related.get(o.item_variation_data?.item_id);
        if (parent && !byId.has(parent.id)) byId.set(parent.id, parent);
        // A deleted variation whose item is gone too: the item's own deletion is in the results.
      }
    }
    return { items: [...byId.values()], cursor: r.cursor as string | undefined };
  }

  // ---- read -----------------------------------------------------------------------------------------------------

  function read(req: ReadRequest): Promise<Page> {
    const s = STREAMS[req.stream];
    if (!s)
      return Promise.reject(
        failure.permanent(`square: no stream ${req.stream} (streams: ${Object.keys(STREAMS).join(', ')})`),
      );
    return readSlices<Obj>(req, { fetch: s.fetch, updatedAt: s.updatedAt, overlapMs: OVERLAP_MS[req.stream] });
  }

  // ---- lookup ---------------------------------------------------------------------------------------------------

  async function lookup(stream: string, reference: Record<string, unknown>, signal?: AbortSignal): Promise<unknown[]> {
    if (stream === 'orders') {
      // order.created / order.updated: data.object.order_created|order_updated = { order_id, version, location_id, state }
      const ids = [reference.order_id ?? reference.id].filter((x): x is string => typeof x === 'string' && x !== '');
      if (!ids.length) throw failure.permanent('square: an order notification without order_id cannot be looked up');
      const out: Obj[] = [];
      for (const g of groups(ids, ORDERS_PER_LOOKUP)) {
        const r = await call('POST', '/v2/orders/batch-retrieve', {
          signal,
          json: {
            ...(typeof reference.location_id === 'string' ? { location_id: reference.location_id } : {}),
            order_ids: g,
          },
        });
        out.push(...(r.orders ?? []));
      }
      const wanted = Number(reference.version);
      for (const o of out)
        if (Number.isFinite(wanted) && Number(o.version) < wanted)
          // Square's read side has not caught up with the notification yet: ask again in a moment.
          throw failure.transient(
            `square: order ${o.id} is at version ${o.version}, the notification named version ${wanted}; not yet readable`,
          );
      return out;
    }
    if (stream === 'catalogItems') {
      // catalog.version.updated: data.object.catalog_version = { updated_at } — what changed around then.
      const at = typeof reference.updated_at === 'string' ? Date.parse(reference.updated_at) : Number.NaN;
      if (Number.isNaN(at)) throw failure.permanent('square: a catalog notification without updated_at');
      const items: Obj[] = [];
      let cursor: string | null = null;
      for (let pages = 0; pages < 20; pages++) {
        const r = await catalogSearch(utc(at - 60_000), cursor, MAX.catalog, signal);
        items.push(...r.items);
        if (!r.cursor) break;
        cursor = r.cursor;
      }
      return items;
    }
    throw failure.permanent(`square: ${stream} notifications carry their record; there is nothing to look up`);
  }

  // ---- write ----------------------------------------------------------------------------------------------------

  let merchantCurrency: Promise<string> | undefined;
  const currencyOf = (signal?: AbortSignal) =>
    (merchantCurrency ??= call('GET', '/v2/merchants/me', { signal })
      .then((r) => String(r.merchant?.currency ?? 'USD'))
      .catch((e) => {
        merchantCurrency = undefined;
        throw e;
      }));

  /** SKU → the variations that have it (with their parent item), one search per 100 SKUs. */
  async function variationsBySku(
    skus: string[],
    signal?: AbortSignal,
  ): Promise<Map<string, { variation: Obj; item?: Obj }[]>> {
    const out = new Map<string, { variation: Obj; item?: Obj }[]>();
    for (const g of groups([...new Set(skus)], SKUS_PER_SEARCH)) {
      let cursor: string | null = null;
      do {
        const r: Obj = await call('POST', '/v2/catalog/search', {
          signal,
          json: {
            object_types: ['ITEM_VARIATION'],
            include_related_objects: true,
            query: { set_query: { attribute_name: 'sku', attribute_values: g } },
            limit: MAX.catalog,
            ...(cursor ? { cursor } : {}),
          },
        });
        const items = new Map<string, Obj>((r.related_objects ?? []).map((o: Obj) => [o.id, o]));
        for (const v of (r.objects ?? []) as Obj[]) {
          const sku = v.item_variation_data?.sku;
          if (typeof sku !== 'string') continue;
          const list = out.get(sku) ?? [];
          list.push({ variation: v, item: items.get(v.item_variation_data?.item_id) });
          out.set(sku, list);
        }
        cursor = r.cursor ?? null;
      } while (cursor);
    }
    return out;
  }

  async function write(entity: string, items: WriteItem[], signal?: AbortSignal): Promise<WriteResult[]> {
    switch (entity) {
      case 'inventoryCount':
        return writeCounts(items, signal);
      case 'catalogItem':
        return writeItems(items, signal);
      case 'itemPrice':
        return writePrices(items, signal);
      default:
        throw failure.permanent(`square: no entity ${entity} (entities: inventoryCount, catalogItem, itemPrice)`);
    }
  }

  const bad = (error: string): WriteResult => ({ ok: false, transient: false, error: `square: ${error}` });

  /** A request's idempotency key: the write id of a one-record request, else a digest of the records' write ids. */
  function keyOf(items: WriteItem[]): string {
    const ids = items.map((i) => i.writeId ?? `${i.key}\n${digest(i.text ?? JSON.stringify(i.record))}`);
    if (ids.length === 1 && items[0].writeId) return items[0].writeId;
    return `rsync-${digest(ids.join('\n')).slice(0, 40)}`;
  }

  /** Runs an idempotent request; IDEMPOTENCY_KEY_REUSED means an earlier attempt of the same writes succeeded. */
  async function idempotent(path: string, json: Obj, signal?: AbortSignal): Promise<Obj | 'applied'> {
    try {
      return await call('POST', path, { json, signal });
    } catch (e) {
      if (e instanceof SquareFailure && e.codes.includes('IDEMPOTENCY_KEY_REUSED')) return 'applied';
      throw e instanceof SquareFailure ? e.error : e;
    }
  }

  /** inventoryLevel → PHYSICAL_COUNT of IN_STOCK at each Square location its location stands for. */
  async function writeCounts(items: WriteItem[], signal?: AbortSignal): Promise<WriteResult[]> {
    const results: WriteResult[] = new Array(items.length);
    const known = new Set(await locations(signal));
    const planned: { index: number; item: WriteItem; changes: Obj[]; targetId: string }[] = [];
    const records = items.map((i) => i.record as Obj);
    const found = await variationsBySku(
      records.map((r) => r.sku).filter((s): s is string => typeof s === 'string' && s !== ''),
      signal,
    );
    items.forEach((item, index) => {
      const r = records[index];
      if (typeof r.sku !== 'string' || r.sku === '') return (results[index] = bad('an inventory level needs a sku'));
      if (!Number.isInteger(r.available)) return (results[index] = bad(`sku ${r.sku}: available must be an integer`));
      const matches = (found.get(r.sku) ?? []).filter((m) => !m.variation.is_deleted);
      if (matches.length === 0) return (results[index] = bad(`no Square item variation has SKU ${r.sku}`));
      if (matches.length > 1)
        return (results[index] = bad(
          `SKU ${r.sku} is on ${matches.length} Square item variations (${matches.map((m) => m.variation.id).join(', ')}): make it unique`,
        ));
      const targets = stockLocationsOf(String(r.locationId), known);
      if (typeof targets === 'string') return (results[index] = bad(targets));
      const variation = matches[0].variation.id as string;
      const occurred = utc(typeof r.updatedAt === 'string' ? r.updatedAt : Date.now());
      const changes = targets.map((location) => ({
        type: 'PHYSICAL_COUNT',
        physical_count: {
          ...(item.writeId ? { reference_id: item.writeId } : {}),
          catalog_object_id: variation,
          state: 'IN_STOCK',
          location_id: location,
          quantity: String(r.available),
          occurred_at: occurred,
        },
      }));
      planned.push({ index, item, changes, targetId: `${variation}@${targets.join(',')}` });
    });

    // Requests of at most 100 changes, a record's changes never split.
    const batches: (typeof planned)[] = [];
    let current: typeof planned = [];
    let size = 0;
    for (const p of planned) {
      if (size + p.changes.length > CHANGES_PER_REQUEST && current.length) {
        batches.push(current);
        current = [];
        size = 0;
      }
      current.push(p);
      size += p.changes.length;
    }
    if (current.length) batches.push(current);

    const send = async (batch: typeof planned): Promise<void> => {
      const json = {
        idempotency_key: keyOf(batch.map((p) => p.item)),
        changes: batch.flatMap((p) => p.changes),
        ignore_unchanged_counts: true,
      };
      try {
        await idempotent('/v2/inventory/changes/batch-create', json, signal);
        for (const p of batch) results[p.index] = { ok: true, targetId: p.targetId };
      } catch (e) {
        if (!(e instanceof ConnectorError) || e.kind !== 'permanent') throw e;
        // One bad record fails Square's whole request: find it by sending each record alone.
        if (batch.length > 1) for (const p of batch) await send([p]);
        else results[batch[0].index] = { ok: false, transient: false, error: e.message };
      }
    };
    for (const b of batches) await send(b);
    return results;
  }

  /** The Square locations an inventory level's location stands for, or why there are none. */
  function stockLocationsOf(location: string, known: Set<string>): string[] | string {
    const mapped = settings.stockLocations?.[location];
    if (mapped !== undefined) return Array.isArray(mapped) ? mapped : [mapped];
    if (known.has(location)) return [location];
    return `location ${location} is not a Square location of this seller: map it in settings.stockLocations (e.g. { "${location}": "<Square location id>" })`;
  }

  /** product → an ITEM with its variations, merged into the existing item (found by the variants' SKUs). */
  async function writeItems(items: WriteItem[], signal?: AbortSignal): Promise<WriteResult[]> {
    const records = items.map((i) => i.record as Obj);
    const variantsOf = (p: Obj): Obj[] =>
      Array.isArray(p.variants) && p.variants.length ? p.variants : p.sku ? [{ sku: p.sku, price: p.price }] : [];
    const found = await variationsBySku(
      records.flatMap((p) => variantsOf(p).map((v) => v.sku)).filter((s): s is string => typeof s === 'string'),
      signal,
    );
    const fallbackCurrency = records.some((p) => !p.currency) ? await currencyOf(signal) : 'USD';
    const results: WriteResult[] = [];
    for (const [index, item] of items.entries()) {
      const p = records[index];
      const variants = variantsOf(p);
      if (variants.length === 0) {
        results.push(bad(`product ${p.id}: Square items need at least one variation (a sku)`));
        continue;
      }
      const currency = String(p.currency ?? fallbackCurrency);
      let existing: Obj | undefined;
      for (const v of variants) existing ??= (found.get(v.sku) ?? []).find((m) => m.item && !m.item.is_deleted)?.item;
      if (!existing && item.targetId) existing = await retrieveObject(item.targetId, signal);
      const itemId = existing?.id ?? `#item-${digest(item.key).slice(0, 16)}`;
      const object: Obj = existing
        ? structuredClone(existing)
        : { type: 'ITEM', id: itemId, present_at_all_locations: true, item_data: {} };
      object.item_data = { ...(object.item_data ?? {}), name: p.title };
      if (typeof p.description === 'string') object.item_data.description = p.description;
      if (p.status) object.item_data.is_archived = p.status === 'archived';
      const kept: Obj[] = [...(object.item_data.variations ?? [])];
      let failed: string | undefined;
      for (const v of variants) {
        const i = kept.findIndex((x) => x.item_variation_data?.sku === v.sku);
        const base: Obj =
          i >= 0 ? kept[i] : { type: 'ITEM_VARIATION', id: `#var-${digest(`${item.key}\n${v.sku}`).slice(0, 16)}` };
        const data: Obj = { ...(base.item_variation_data ?? {}), item_id: itemId, sku: v.sku };
        data.name = v.title ?? data.name ?? 'Regular';
        if (v.barcode) data.upc = v.barcode;
        if (v.price !== undefined) {
          const amount = toMinor(String(v.price), currency);
          if (typeof amount === 'string') {
            failed = `product ${p.id}, sku ${v.sku}: ${amount}`;
            break;
          }
          data.pricing_type = 'FIXED_PRICING';
          data.price_money = { amount, currency };
        } else data.pricing_type ??= 'VARIABLE_PRICING';
        const next = { ...base, item_variation_data: data };
        if (i >= 0) kept[i] = next;
        else kept.push(next);
      }
      if (failed) {
        results.push(bad(failed));
        continue;
      }
      object.item_data.variations = kept;
      results.push(await upsert(item, [object], itemId));
    }
    return results;
  }

  /** price → the variation's price_money (Square has one price per variation: no price lists). */
  async function writePrices(items: WriteItem[], signal?: AbortSignal): Promise<WriteResult[]> {
    const records = items.map((i) => i.record as Obj);
    const found = await variationsBySku(
      records.map((r) => r.sku).filter((s): s is string => typeof s === 'string'),
      signal,
    );
    const results: WriteResult[] = [];
    for (const [index, item] of items.entries()) {
      const r = records[index];
      if (r.priceList) {
        results.push(
          bad(`sku ${r.sku}: Square has no price lists (price list ${r.priceList}); only the base price is written`),
        );
        continue;
      }
      const matches = (found.get(r.sku) ?? []).filter((m) => !m.variation.is_deleted);
      if (matches.length !== 1) {
        results.push(
          bad(
            matches.length
              ? `SKU ${r.sku} is on ${matches.length} Square item variations: make it unique`
              : `no Square item variation has SKU ${r.sku}`,
          ),
        );
        continue;
      }
      const amount = toMinor(String(r.amount), String(r.currency));
      if (typeof amount === 'string') {
        results.push(bad(`sku ${r.sku}: ${amount}`));
        continue;
      }
      const v = structuredClone(matches[0].variation);
      v.item_variation_data = {
        ...v.item_variation_data,
        pricing_type: 'FIXED_PRICING',
        price_money: { amount, currency: r.currency },
      };
      results.push(await upsert(item, [v], v.id));
    }
    return results;
  }

  async function retrieveObject(id: string, signal?: AbortSignal): Promise<Obj | undefined> {
    const r = await call('POST', '/v2/catalog/batch-retrieve', { signal, json: { object_ids: [id] } });
    return (r.objects ?? [])[0];
  }

  /** One record's catalog upsert, keyed by its write id; the id Square gave (or kept) is the target id. */
  async function upsert(item: WriteItem, objects: Obj[], id: string): Promise<WriteResult> {
    const json = { idempotency_key: keyOf([item]), batches: [{ objects }] };
    try {
      const r = await idempotent('/v2/catalog/batch-upsert', json);
      if (r === 'applied') {
        if (!id.startsWith('#')) return { ok: true, targetId: id };
        // Created by the earlier attempt: its id is the one now carrying the SKU.
        const sku = objects[0].item_data?.variations?.[0]?.item_variation_data?.sku;
        const again = sku ? (await variationsBySku([sku])).get(sku)?.[0] : undefined;
        const real = again?.variation.item_variation_data?.item_id;
        return real
          ? { ok: true, targetId: real }
          : bad(`the item was created by an earlier attempt, but cannot be found by SKU ${sku}`);
      }
      const mapped = (r.id_mappings ?? []).find((m: Obj) => m.client_object_id === id)?.object_id;
      return { ok: true, targetId: mapped ?? id };
    } catch (e) {
      if (e instanceof ConnectorError && e.kind === 'permanent')
        return { ok: false, transient: false, error: e.message };
      throw e;
    }
  }

  // ---- check ----------------------------------------------------------------------------------------------------

  async function check(streams: string[], signal?: AbortSignal): Promise<CheckReport> {
    const unwrap = (e: unknown) => (e instanceof SquareFailure ? e.error : e);
    const merchant = await call('GET', '/v2/merchants/me', { signal }).catch((e) => {
      throw unwrap(e);
    });
    const m: Obj = merchant.merchant ?? {};
    const status = await call('POST', '/oauth2/token/status', { signal }).catch((e) => {
      throw unwrap(e);
    });
    const granted: string[] = Array.isArray(status.scopes) ? status.scopes : [];
    const needed = new Set(['MERCHANT_PROFILE_READ', ...streams.map((s) => STREAM_SCOPES[s]).filter(Boolean)]);
    const notes: string[] = [];
    if (baseUrl === SANDBOX_URL) notes.push("Square's sandbox (connect.squareupsandbox.com)");
    if (typeof status.expires_at === 'string') {
      const left = Date.parse(status.expires_at) - Date.now();
      notes.push(
        `the access token expires at ${status.expires_at}${left < 7 * 86_400_000 ? ': renew it (OAuth tokens last 30 days)' : ''}`,
      );
    } else notes.push('the access token does not expire (a personal access token)');
    notes.push(
      'Square publishes no rate-limit headroom; this connection is paced at ' + `${limiter.perSecond} requests/s`,
    );
    const report: CheckReport = {
      identity: `${m.business_name ?? 'Square seller'} (merchant ${m.id ?? status.merchant_id ?? '?'}${m.country ? `, ${m.country}` : ''})`,
      apiVersion: { version: apiVersion, ...versionWarning(apiVersion) },
      scopes: { granted, missing: [...needed].filter((s) => !granted.includes(s)) },
      streams: [],
      notes,
    };
    for (const stream of streams) {
      try {
        const page = await read({ stream, cursor: null, limit: 10, signal });
        report.streams.push({ stream, ok: true, records: page.records.length });
      } catch (e) {
        const err = unwrap(e);
        report.streams.push({ stream, ok: false, error: err instanceof Error ? err.message : String(err) });
      }
    }
    return report;
  }

  return {
    connector: 'square',
    read: (req) => plain(read(req)),
    lookup: (stream, reference, signal) => plain(lookup(stream, reference, signal)),
    write: (entity, items, signal) => plain(write(entity, items, signal)),
    check,
  };
}

/** What leaves the connector is a plain ConnectorError (a SquareFailure's `.error`). */
async function plain<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (e) {
    throw e instanceof SquareFailure ? e.error : e;
  }
}

/**
 * A Square error as the kit's failure, with Square's codes kept for the connector's own decisions (an expired
 * cursor, a reused idempotency key). What leaves the connector is always `.error`, a plain ConnectorError.
 */
class SquareFailure extends ConnectorError {
  constructor(
    message: string,
    readonly codes: string[],
    readonly error: ConnectorError,
  ) {
    super(message, error.transient, error.retryAfterMs, error.status, error.kind);
    this.name = 'ConnectorError';
  }
}

/** Square's TimeRange ({ start_at, end_at }) of a slice, in UTC. */
function timeRange(q: SliceQuery): Obj {
  const range: Obj = {};
  if (q.since) range.start_at = utc(q.since);
  if (q.until) range.end_at = utc(q.until);
  return range;
}

/** An ITEM's updated time: its own, or its newest variation's (a price change touches only the variation). */
function itemUpdatedAt(item: Obj): string | undefined {
  let best: string | undefined = item.updated_at;
  for (const v of item.item_data?.variations ?? [])
    if (typeof v.updated_at === 'string' && (!best || Date.parse(v.updated_at) > Date.parse(best))) best = v.updated_at;
  return best;
}

/** "12.50" in EUR → 1250; more digits than the currency has, or not a decimal: why not. */
export function toMinor(amount: string, currency: string): number | string {
  const digits = minorUnits(currency);
  if (digits === undefined) return `${currency} is not an ISO 4217 currency`;
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(amount.trim());
  if (!m) return `${amount} is not a decimal amount`;
  const fraction = (m[3] ?? '').replace(/0+$/, '');
  if (fraction.length > digits) return `${amount} has more decimals than ${currency} (${digits})`;
  const n = Number(m[2] + fraction.padEnd(digits, '0'));
  if (!Number.isSafeInteger(n)) return `${amount} is too large`;
  return m[1] ? -n : n;
}

/** Square versions are not retired on a schedule; one more than a year behind this connector's is worth a line. */
function versionWarning(version: string): { warning?: string } {
  const behind = Date.parse(DEFAULT_API_VERSION) - Date.parse(version);
  return behind > 365 * 86_400_000
    ? {
        warning: `Square-Version ${version} is more than a year older than ${DEFAULT_API_VERSION}, the version this connector is written against: read the changelog (https://developer.squareup.com/docs/changelog) and raise settings.apiVersion`,
      }
    : {};
}

const digest = (s: string) => createHash('sha256').update(s).digest('hex');
