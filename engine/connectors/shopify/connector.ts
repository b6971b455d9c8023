/**
 * The shopify connector: Shopify's GraphQL Admin API (https://shopify.dev/docs/api/admin-graphql) at the connection's
 * pinned `apiVersion`, with plain `fetch` through the kit's client (kit/index.ts says why not the SDK): reads of every
 * stream the catalogue declares, writes of products, variant prices and inventory, lookups of the records a webhook
 * names, and the connection check.
 *
 *   POST {baseUrl}/admin/api/{apiVersion}/graphql.json        https://shopify.dev/docs/api/admin-graphql#endpoints
 *   X-Shopify-Access-Token: <accessToken>                     https://shopify.dev/docs/api/usage/authentication
 *
 * Settings: `shop` (<name>.myshopify.com), `baseUrl` (default https://<shop>: a proxy or a test server), `apiVersion`
 * (default 2026-07), `accessToken`, `locationId` (the inventory location of a record that names none), `rateLimit`.
 *
 * Cost (https://shopify.dev/docs/api/usage/limits): the bucket is in points (standard plan: 2,000, restored at 100 a
 * second); every reply says what is left in `extensions.cost.throttleStatus`, which the shared limiter follows
 * (observe). Before a query the limiter is asked for its cost: the requested cost (graphql.ts queryCost) the first
 * time, then what the same query actually cost last time (Shopify refunds the difference at once, so taking the
 * requested cost every time would starve a bucket that Shopify keeps full). A THROTTLED error in a 200 body is a
 * throttled failure whose wait is (requested − available) ÷ restoreRate, and pauses the limiter for every worker; a
 * 429's Retry-After is honoured by the kit. 5xx and dropped connections are transient; 401, 403 and ACCESS_DENIED
 * auth; other GraphQL errors permanent; a mutation's userErrors fail its item, permanently.
 *
 * Reads are the kit's slices: `query: "updated_at:>='<since>'"` (and `updated_at:<'<until>'` in a backfill
 * window), sortKey UPDATED_AT (Shopify breaks ties by id), `first` as many nodes as 1,000 points allow (≤ 250),
 * `after` the page's endCursor. Refunds, fulfillments and transactions have no top-level query: they are read as the
 * children of the orders updated (a refund or a fulfilment updates its order), the slice following the orders'
 * updated time. Inventory levels are read per location (`location.inventoryLevels(query: "updated_at:>=…")`), the
 * page token naming the location. Records are the REST / webhook JSON the mappings read (graphql.ts `convert`).
 *
 * Deletes are records: `{ id, admin_graphql_api_id, deleted: true, updated_at }` (the convention of the stripe,
 * square and woocommerce connectors). Shopify keeps a trace of deleted products only (`deletionEvents`, subject
 * PRODUCT: https://shopify.dev/docs/api/admin-graphql/latest/objects/DeletionEvent), which the products stream reads
 * after each walk of the products; deleted orders and customers leave nothing to read, so they come from the
 * orders/delete and customers/delete webhooks, whose lookup answers a delete record when the record is gone (as
 * Airbyte's source-shopify, which reads deleted products from the destroy events, does not do for the others either).
 *
 * Writes: inventory by `inventorySetQuantities` (absolute, name "available"), each record with the quantity it was
 * read at just before as `changeFromQuantity` (required as of 2026-04: CHANGE_FROM_QUANTITY_STALE when another
 * process changed it meanwhile, a transient failure: the retry reads again) and an `@idempotent` key made of the write
 * id and that quantity (https://shopify.dev/docs/api/usage/idempotent-requests), so a repeat of the same write is
 * answered with its first result and an absolute set never counts stock twice. Products by `productSet` (found by
 * target id, else by a variant's SKU, else created), variant prices by `productVariantsBulkUpdate` (by SKU),
 * customers by `customerUpdate` (found by target id, else by e-mail) or `customerCreate` (with their addresses).
 *
 * Position within a slice (the page token): `{ p, c, s }` — p the phase (the location's index for inventory levels;
 * 1 for the products' deletions after the products), c Shopify's endCursor, s the since the order children search
 * by, or when the inventory walk began. Neither a deletion nor an inventory level changed during the walk moves the
 * slice past what was walked; the order children keep the newest order read in the cursor's `extra`.
 */
import { createHash } from 'node:crypto';
import type { CheckReport, SliceQuery } from '../kit/index.js';
import {
  ConnectorError,
  DEFAULT_OVERLAP_MS,
  failure,
  httpClient,
  rateLimiter,
  readSlices,
  utc,
  wait,
} from '../kit/index.js';
import type { ConnectorContext, OpenConnector, Page, ReadRequest, WriteItem, WriteResult } from '../types.js';
import { bulkReader, defaultFetchUrl } from './bulk.js';
import { ALL_CHILDREN, withBulk } from './first-sync.js';
import {
  CUSTOMER_FIELDS,
  convert,
  DISCOUNT_APPLICATION_FIELDS,
  FULFILLMENT_LINE_FIELDS,
  REFUND_LINE_FIELDS,
  REFUND_TRANSACTION_FIELDS,
  LINE_ITEM_FIELDS,
  SHIPPING_LINE_FIELDS,
  legacyId,
  MAX_FIRST,
  MAX_QUERY_COST,
  nodeCost,
  type Obj,
  ORDER_FIELDS,
  PRODUCT_FIELDS,
  queryCost,
  SELECTIONS,
  VARIANT_FIELDS,
} from './graphql.js';
import { apiVersionSupport } from './versions.js';

export { convert, SELECTIONS, queryCost } from './graphql.js';
export { apiVersionSupport } from './versions.js';

export const DEFAULT_API_VERSION = '2026-07';
/** Shopify's standard plan: a bucket of 2,000 points restored at 100 a second. */
export const DEFAULT_BUCKET = { maximumAvailable: 2000, restoreRate: 100 };

/** The access scope each stream's read needs (https://shopify.dev/docs/api/usage/access-scopes). */
export const STREAM_SCOPES: Record<string, string[]> = {
  orders: ['read_orders'],
  refunds: ['read_orders'],
  fulfillments: ['read_orders'],
  transactions: ['read_orders'],
  products: ['read_products'],
  customers: ['read_customers'],
  inventoryLevels: ['read_inventory', 'read_locations'],
};

/** One GraphQL call: the `data` of the reply, or a ConnectorError of the right kind. */
export type Gql = <T = Obj>(query: string, variables?: Record<string, unknown>, signal?: AbortSignal) => Promise<T>;

export interface ShopifyOptions {
  timeoutMs?: number;
}

export interface ThrottleStatus {
  maximumAvailable: number;
  currentlyAvailable: number;
  restoreRate: number;
}

/** The GraphQL endpoint of one connection, with its cost budget: what the connector and the bulk reader call. */
export interface ShopifyGraphql {
  gql: Gql;
  apiVersion: string;
  /** The bucket as Shopify last reported it. */
  throttleStatus(): ThrottleStatus | undefined;
}

interface Settings {
  shop?: string;
  baseUrl?: string;
  apiVersion?: string;
  accessToken?: unknown;
  locationId?: string;
  /** A source's location id (an ERP's) → the Shopify location its stock is counted at. */
  stockLocations?: Record<string, string>;
  /** False: first syncs and backfills page through the API like every other read (first-sync.ts). */
  bulk?: boolean;
}

export function shopifyGraphql(ctx: ConnectorContext, options: ShopifyOptions = {}): ShopifyGraphql {
  const settings = ctx.settings as Settings;
  const apiVersion = settings.apiVersion ?? DEFAULT_API_VERSION;
  if (!/^\d{4}-(01|04|07|10)$/.test(apiVersion))
    throw failure.permanent(
      `shopify: settings.apiVersion ${apiVersion} is not a Shopify API version (YYYY-01/04/07/10)`,
    );
  const origin =
    typeof settings.baseUrl === 'string' && settings.baseUrl !== ''
      ? settings.baseUrl
      : typeof settings.shop === 'string' && settings.shop !== ''
        ? `https://${settings.shop}`
        : undefined;
  if (!origin || !/^https?:\/\//.test(origin))
    throw failure.permanent('shopify: settings.shop (or settings.baseUrl, an http(s) URL) is required');
  const limiter = rateLimiter(ctx, 'graphql', {
    perSecond: DEFAULT_BUCKET.restoreRate,
    burst: DEFAULT_BUCKET.maximumAvailable,
  });
  const http = httpClient(ctx, {
    name: 'shopify',
    baseUrl: `${origin.replace(/\/+$/, '')}/admin/api/${apiVersion}`,
    limiter,
    timeoutMs: options.timeoutMs,
    headers: () => ({ 'x-shopify-access-token': ctx.secret(settings.accessToken) }),
  });
  /** What each query actually cost last time (Shopify refunds the unused part of the requested cost at once). */
  const actual = new Map<string, number>();
  let status: ThrottleStatus | undefined;
  let statusAt = 0;
  /** Points requested by this process's calls in flight (not yet in a reported status). */
  let inFlight = 0;

  async function gql<T = Obj>(query: string, variables: Record<string, unknown> = {}, signal?: AbortSignal) {
    const requested = queryCost(query, variables);
    const cost = Math.max(1, actual.get(query) ?? requested);
    // Shopify runs a query only when its whole requested cost is available: wait until the bucket, as last reported
    // and restored since, covers it (its own restore rate, whatever the connection's rateLimit says).
    if (status) {
      const restored = ((Date.now() - statusAt) / 1000) * status.restoreRate;
      const now = Math.min(status.maximumAvailable, status.currentlyAvailable + restored) - inFlight;
      if (now < requested && requested <= status.maximumAvailable)
        await wait(Math.ceil(((requested - now) / status.restoreRate) * 1000), signal);
    }
    inFlight += requested;
    let reply: Awaited<ReturnType<typeof http.request>>;
    try {
      reply = await http.request('POST', '/graphql.json', { json: { query, variables }, signal, cost });
    } finally {
      inFlight -= requested;
    }
    const body = reply.json<Obj>() ?? {};
    const c = body.extensions?.cost;
    const t = c?.throttleStatus;
    if (t && typeof t.currentlyAvailable === 'number') {
      status = {
        maximumAvailable: Number(t.maximumAvailable),
        currentlyAvailable: Number(t.currentlyAvailable),
        restoreRate: Number(t.restoreRate),
      };
      statusAt = Date.now();
      await limiter.observe({
        available: status.currentlyAvailable,
        max: status.maximumAvailable,
        perSecond: status.restoreRate,
      });
    }
    if (typeof c?.actualQueryCost === 'number') actual.set(query, c.actualQueryCost);
    const errors: Obj[] = Array.isArray(body.errors) ? body.errors : [];
    if (errors.length) {
      const codes = errors.map((e) => e.extensions?.code).filter(Boolean) as string[];
      const what = errors
        .map((e) => String(e.message ?? ''))
        .join('; ')
        .slice(0, 300);
      const message = http.clean(
        `shopify: graphql: ${codes.length ? `${[...new Set(codes)].join(', ')}: ` : ''}${what}`,
      );
      if (codes.includes('THROTTLED')) {
        const need = typeof c?.requestedQueryCost === 'number' ? c.requestedQueryCost : requested;
        const rate = status?.restoreRate || DEFAULT_BUCKET.restoreRate;
        const ms = Math.max(100, Math.ceil(((need - (status?.currentlyAvailable ?? 0)) / rate) * 1000));
        await limiter.pause(ms);
        throw failure.throttled(message, ms, reply.status);
      }
      if (codes.includes('ACCESS_DENIED') || codes.includes('UNAUTHORIZED')) throw failure.auth(message, reply.status);
      if (codes.includes('INTERNAL_SERVER_ERROR')) throw failure.transient(message, reply.status);
      if (errors.some((e) => /cursor/i.test(String(e.message)))) throw failure.expired(message);
      throw failure.permanent(message, reply.status);
    }
    if (body.data === undefined || body.data === null)
      throw failure.permanent(`shopify: graphql: a reply with neither data nor errors (HTTP ${reply.status})`);
    return body.data as T;
  }

  return { gql, apiVersion, throttleStatus: () => status };
}

/** A shopify connection: the connector, and its GraphQL endpoint (`graphql`) for the bulk reader. */
export interface ShopifyConnection extends OpenConnector {
  readonly graphql: ShopifyGraphql;
}

/** A delete as a record of its stream (`deleted: true`, as stripe, square and woocommerce make them). */
export const deleteRecord = (gid: string, at?: string | null) => ({
  id: restIdOf(gid),
  admin_graphql_api_id: gid,
  deleted: true,
  ...(at ? { updated_at: at } : {}),
});
const restIdOf = (gid: string) => {
  const id = legacyId(gid) ?? gid;
  return Number.isSafeInteger(Number(id)) ? Number(id) : id;
};

/** gid://shopify/<type>/<id> of an id (a gid already, digits, or a JSON number). */
export function gidOf(type: string, id: unknown): string | undefined {
  if (typeof id === 'string' && id.startsWith('gid://')) return id;
  if ((typeof id === 'number' && Number.isSafeInteger(id)) || (typeof id === 'string' && /^\d+$/.test(id)))
    return `gid://shopify/${type}/${id}`;
  return undefined;
}

/** A page token: the phase of the walk (products, then their deletions; a location of the inventory levels). */
interface Token {
  /** The index of the location (inventoryLevels), or 1 for the deletions after the products. */
  p: number;
  c: string | null;
  /** The order children's walk: the since it searches the orders by (see `childSince`); the inventory levels' walk:
   * when it began. */
  s?: string | null;
}

/** The order children's own position (SliceCursor.extra): the newest order updated time seen. */
interface ChildExtra {
  high?: string;
}

export function openShopify(ctx: ConnectorContext, options: ShopifyOptions = {}): ShopifyConnection {
  const settings = ctx.settings as Settings;
  const graphql = shopifyGraphql(ctx, options);
  const { gql } = graphql;

  /** The search of a slice: its since (inclusive) and until (exclusive), in UTC. */
  const searchOf = (q: SliceQuery, field = 'updated_at') =>
    [q.since ? `${field}:>='${utc(q.since)}'` : null, q.until ? `${field}:<'${utc(q.until)}'` : null]
      .filter(Boolean)
      .join(' AND ') || null;

  const pageSize = (fields: string, limit: number) =>
    Math.max(1, Math.min(MAX_FIRST, limit, Math.floor((MAX_QUERY_COST - 2) / Math.max(1, nodeCost(fields)))));

  /** One page of a root connection, searched by updated time, in UPDATED_AT order. */
  async function search(root: string, fields: string, q: SliceQuery, after: string | null) {
    const query = `query ($first: Int!, $after: String, $query: String) { ${root}(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) { nodes { ${fields} } pageInfo { hasNextPage endCursor } } }`;
    const data = await gql(query, { first: pageSize(fields, q.limit), after, query: searchOf(q) }, q.signal);
    const conn = data[root] ?? {};
    return {
      nodes: (conn.nodes ?? []) as Obj[],
      next: conn.pageInfo?.hasNextPage ? (conn.pageInfo.endCursor as string) : null,
    };
  }

  /** The updated time a child record is read by (its order's): never a field of the record itself. */
  const readAt = new WeakMap<object, string>();

  let locations: Promise<string[]> | undefined;
  function locationIds(signal?: AbortSignal): Promise<string[]> {
    locations ??= (async () => {
      const out: string[] = [];
      let after: string | null = null;
      do {
        const data: Obj = await gql(
          'query ($after: String) { locations(first: 250, after: $after, includeInactive: true) { nodes { id } pageInfo { hasNextPage endCursor } } }',
          { after },
          signal,
        );
        for (const l of data.locations?.nodes ?? []) out.push(l.id);
        after = data.locations?.pageInfo?.hasNextPage ? data.locations.pageInfo.endCursor : null;
      } while (after);
      return out;
    })().catch((e) => {
      locations = undefined;
      throw e;
    });
    return locations;
  }

  /**
   * The since the order children search the orders by. A refund's record carries its order's updated time (readAt),
   * but an order page without refunds gives no record to move the slice on; so the newest order seen is kept in the
   * cursor (extra) and a slice starts there less the overlap, never before its own start.
   */
  function childSince(q: SliceQuery): string | null {
    const high = (q.extra as ChildExtra | undefined)?.high;
    if (!high) return q.since;
    const from = Date.parse(high) - DEFAULT_OVERLAP_MS;
    return q.since && Date.parse(q.since) >= from ? q.since : utc(from);
  }

  async function fetchPage(
    stream: string,
    q: SliceQuery,
  ): Promise<{ records: Obj[]; next: Token | null; extra?: ChildExtra }> {
    const sel = SELECTIONS[stream];
    if (!sel) throw failure.permanent(`shopify: no stream ${stream} (${Object.keys(SELECTIONS).join(', ')})`);
    const t = (q.token as Token | null) ?? { p: 0, c: null };
    if (stream === 'inventoryLevels') {
      const all = await locationIds(q.signal);
      if (t.p >= all.length) return { records: [], next: null };
      const fields = sel.fields;
      const data = await gql(
        `query ($id: ID!, $first: Int!, $after: String, $query: String) { location(id: $id) { inventoryLevels(first: $first, after: $after, query: $query) { nodes { ${fields} } pageInfo { hasNextPage endCursor } } } }`,
        { id: all[t.p], first: pageSize(fields, q.limit), after: t.c, query: searchOf(q) },
        q.signal,
      );
      const conn = data.location?.inventoryLevels ?? {};
      const records = ((conn.nodes ?? []) as Obj[]).flatMap((n) => convert(stream, n));
      // One location after another: a level of a location already walked that changes before the walk ends must
      // not fall before the next slice's start, so no record moves the slice past the walk's own start.
      const began = t.s ?? utc(Date.now());
      for (const r of records)
        if (typeof r.updated_at === 'string' && Date.parse(r.updated_at) > Date.parse(began)) readAt.set(r, began);
      const next = conn.pageInfo?.hasNextPage
        ? { p: t.p, c: conn.pageInfo.endCursor as string, s: began }
        : t.p + 1 < all.length
          ? { p: t.p + 1, c: null, s: began }
          : null;
      return { records, next };
    }
    if (stream === 'products' && t.p === 1) {
      // The products deleted in the slice's window, after its products.
      const data = await gql(
        'query ($first: Int!, $after: String, $query: String) { deletionEvents(first: $first, after: $after, query: $query, subjectTypes: [PRODUCT], sortKey: CREATED_AT) { nodes { subjectId subjectType occurredAt } pageInfo { hasNextPage endCursor } } }',
        { first: Math.min(MAX_FIRST, q.limit), after: t.c, query: searchOf(q, 'occurred_at') },
        q.signal,
      );
      const conn = data.deletionEvents ?? {};
      const records = ((conn.nodes ?? []) as Obj[]).map((e) => deleteRecord(e.subjectId, e.occurredAt));
      // A deletion never moves the slice on: a product updated after its walk but before a newer deletion would
      // fall before the next slice's start. Deletions since the slice's start are read again (the ledger skips them).
      for (const r of records) readAt.set(r, '');
      return { records, next: conn.pageInfo?.hasNextPage ? { p: 1, c: conn.pageInfo.endCursor } : null };
    }
    const children = sel.root === 'orders' && stream !== 'orders';
    const since = children ? (t.s !== undefined ? t.s : childSince(q)) : q.since;
    const got = await search(sel.root, sel.fields, { ...q, since }, t.c);
    for (const n of got.nodes) await complete(stream, n, q.signal);
    const records: Obj[] = [];
    let high = (q.extra as ChildExtra | undefined)?.high;
    for (const n of got.nodes) {
      if (children && (!high || Date.parse(n.updatedAt) > Date.parse(high))) high = n.updatedAt;
      for (const r of convert(stream, n)) {
        if (children) readAt.set(r, n.updatedAt);
        records.push(r);
      }
    }
    const next: Token | null = got.next
      ? { p: 0, c: got.next, ...(children ? { s: since } : {}) }
      : stream === 'products'
        ? { p: 1, c: null }
        : null;
    return { records, next, ...(children && high ? { extra: { high } } : {}) };
  }

  /**
   * The rest of a node's nested connections when their first page said there are more: an order's line items,
   * discount applications and shipping lines, its refunds' lines and transactions, its fulfilments' lines, a product's
   * variants — never a list silently cut at its first page.
   */
  async function complete(stream: string, node: Obj, signal?: AbortSignal): Promise<void> {
    const follow: [root: string, conn: string, args: string, fields: string][] =
      stream === 'orders'
        ? [
            ['order', 'lineItems', 'first: 50', LINE_ITEM_FIELDS],
            ['order', 'discountApplications', 'first: 50', DISCOUNT_APPLICATION_FIELDS],
            ['order', 'shippingLines', 'first: 50, includeRemovals: true', SHIPPING_LINE_FIELDS],
          ]
        : stream === 'products'
          ? [['product', 'variants', 'first: 250', VARIANT_FIELDS]]
          : [];
    // An order's refunds and fulfilments (the children streams): each one's own lists.
    const kids: [list: string, root: string, conn: string, fields: string][] =
      stream === 'refunds'
        ? [
            ['refunds', 'refund', 'refundLineItems', REFUND_LINE_FIELDS],
            ['refunds', 'refund', 'transactions', REFUND_TRANSACTION_FIELDS],
          ]
        : stream === 'fulfillments'
          ? [['fulfillments', 'fulfillment', 'fulfillmentLineItems', FULFILLMENT_LINE_FIELDS]]
          : [];
    for (const [list, root, conn, fields] of kids)
      for (const child of Array.isArray(node[list]) ? (node[list] as Obj[]) : [])
        await more(child, root, conn, 'first: 50', fields, signal);
    for (const [root, conn, args, fields] of follow) await more(node, root, conn, args, fields, signal);
  }

  /** Follows `node`'s connection `conn` page by page until its pageInfo says there is no more. */
  async function more(node: Obj, root: string, conn: string, args: string, fields: string, signal?: AbortSignal) {
    let info = node[conn]?.pageInfo;
    while (info?.hasNextPage) {
      const data = await gql(
        `query ($id: ID!, $after: String) { ${root}(id: $id) { ${conn}(${args}, after: $after) { nodes { ${fields} } pageInfo { hasNextPage endCursor } } } }`,
        { id: node.id, after: info.endCursor },
        signal,
      );
      const next = data[root]?.[conn];
      if (!next) break;
      node[conn] = { nodes: [...node[conn].nodes, ...next.nodes], pageInfo: next.pageInfo };
      info = next.pageInfo;
    }
  }

  async function read(req: ReadRequest): Promise<Page> {
    if (!SELECTIONS[req.stream])
      throw failure.permanent(`shopify: no stream ${req.stream} (${Object.keys(SELECTIONS).join(', ')})`);
    return readSlices<Obj>(req, {
      fetch: (q) => fetchPage(req.stream, q),
      updatedAt: (r) => readAt.get(r) ?? r.updated_at ?? null,
    });
  }

  // ---- lookup ---------------------------------------------------------------------------------------------------

  const LOOKUP: Record<string, { type: string; root: string; fields: string }> = {
    orders: { type: 'Order', root: 'order', fields: ORDER_FIELDS },
    products: { type: 'Product', root: 'product', fields: PRODUCT_FIELDS },
    customers: { type: 'Customer', root: 'customer', fields: CUSTOMER_FIELDS },
  };

  /**
   * The record a reference names: orders/edited's order_edit.order_id, the id of orders/delete, products/delete and
   * customers/delete. A record that is gone is a delete record.
   */
  async function lookup(stream: string, reference: Record<string, unknown>, signal?: AbortSignal): Promise<unknown[]> {
    const l = LOOKUP[stream];
    if (!l) throw failure.permanent(`shopify: no lookup for stream ${stream} (${Object.keys(LOOKUP).join(', ')})`);
    const edit = reference.order_edit as Obj | undefined;
    const raw = edit?.order_id ?? reference.order_id ?? reference.admin_graphql_api_id ?? reference.id;
    const gid = gidOf(l.type, raw);
    if (!gid) throw failure.permanent(`shopify: the ${stream} reference names no id`);
    const data = await gql(`query ($id: ID!) { ${l.root}(id: $id) { ${l.fields} } }`, { id: gid }, signal);
    const node = data[l.root];
    if (!node) return [deleteRecord(gid)];
    await complete(stream, node, signal);
    return convert(stream, node);
  }

  // ---- writes ---------------------------------------------------------------------------------------------------

  const bad = (error: string): WriteResult => ({ ok: false, transient: false, error });

  /** What a write failure is for its item: the call's kind decides, as the pipeline would for the page. */
  const failed = (e: unknown): WriteResult => {
    if (!(e instanceof ConnectorError) || e.kind === 'auth') throw e;
    if (e.kind === 'permanent') return bad(e.message);
    throw e;
  };

  const userErrors = (payload: Obj | undefined): string | undefined => {
    const errs: Obj[] = payload?.userErrors ?? [];
    return errs.length
      ? errs
          .map(
            (e) => `${e.code ? `${e.code}: ` : ''}${e.message}${e.field ? ` (${[].concat(e.field).join('.')})` : ''}`,
          )
          .join('; ')
      : undefined;
  };

  /** The variants with these SKUs, each with its product, inventory item and (at `location`) available stock. */
  async function variantsBySku(skus: string[], location: string | null, signal?: AbortSignal) {
    const found = new Map<string, Obj[]>();
    const unique = [...new Set(skus)];
    // 50 SKUs a query, two variants a SKU (enough to see one on two variants, which is refused below). Shopify runs
    // a query only when its whole requested cost is available, so asking for 100 variants to find one (502 points
    // with the stock, 7 actually spent) waited for a bucket that steady reads never let fill: only a full page,
    // which may have been cut short by a SKU on many variants, is asked again for 100.
    for (let i = 0; i < unique.length; i += 50) {
      const group = unique.slice(i, i + 50);
      const query = group.map((s) => `sku:${JSON.stringify(s)}`).join(' OR ');
      const level = location
        ? 'inventoryLevel(locationId: $location) { quantities(names: ["available"]) { name quantity } }'
        : '';
      const page = async (first: number) =>
        (
          await gql(
            `query ($query: String!${location ? ', $location: ID!' : ''}) { productVariants(first: ${first}, query: $query) { nodes { id sku price product { id } inventoryItem { id ${level} } } } }`,
            { query, ...(location ? { location } : {}) },
            signal,
          )
        ).productVariants?.nodes ?? [];
      const first = 2 * group.length;
      let nodes: Obj[] = await page(first);
      if (nodes.length >= first && first < 100) nodes = await page(100);
      for (const v of nodes) {
        if (!group.includes(v.sku)) continue;
        const list = found.get(v.sku) ?? [];
        list.push(v);
        found.set(v.sku, list);
      }
    }
    return found;
  }

  function one(found: Map<string, Obj[]>, sku: string): Obj | string {
    const m = found.get(sku) ?? [];
    if (m.length === 0) return `no Shopify variant has SKU ${sku}`;
    if (m.length > 1)
      return `SKU ${sku} is on ${m.length} Shopify variants (${m.map((v) => v.id).join(', ')}): make it unique`;
    return m[0];
  }

  const digest = (s: string) => createHash('sha256').update(s).digest('hex');
  const writeKey = (i: WriteItem) => i.writeId ?? `${i.key}:${digest(i.text ?? JSON.stringify(i.record))}`;

  /**
   * The Shopify location a record's `locationId` is counted at: the one settings.stockLocations maps it to (an ERP's
   * location id, as the inventory mappings keep it), a Shopify location gid as it is, else settings.locationId; bare
   * digits are taken for a Shopify location id only when the connection names no location of its own.
   */
  function shopifyLocation(id: unknown): string | undefined {
    const mapped = settings.stockLocations?.[String(id)];
    if (mapped !== undefined) return gidOf('Location', mapped);
    if (typeof id === 'string' && id.startsWith('gid://shopify/Location/')) return id;
    return gidOf('Location', settings.locationId) ?? gidOf('Location', id);
  }

  async function writeInventory(items: WriteItem[], signal?: AbortSignal): Promise<WriteResult[]> {
    const results: WriteResult[] = new Array(items.length);
    const byLocation = new Map<string, number[]>();
    items.forEach((item, index) => {
      const r = item.record as Obj;
      if (typeof r.sku !== 'string' || r.sku === '') return (results[index] = bad('an inventory level needs a sku'));
      if (!Number.isInteger(r.available)) return (results[index] = bad(`sku ${r.sku}: available must be an integer`));
      const location = shopifyLocation(r.locationId);
      if (!location)
        return (results[index] = bad(
          `sku ${r.sku}: location ${String(r.locationId)} is not a Shopify location: name it in settings.stockLocations, or set settings.locationId`,
        ));
      byLocation.set(location, [...(byLocation.get(location) ?? []), index]);
    });
    for (const [location, indexes] of byLocation) {
      const found = await variantsBySku(
        indexes.map((i) => (items[i].record as Obj).sku),
        location,
        signal,
      );
      for (const index of indexes) {
        const item = items[index];
        const r = item.record as Obj;
        const v = one(found, r.sku);
        if (typeof v === 'string') {
          results[index] = bad(v);
          continue;
        }
        const level = v.inventoryItem?.inventoryLevel;
        if (!level) {
          results[index] = bad(`sku ${r.sku} is not stocked at ${location}: activate it there first`);
          continue;
        }
        const from = (level.quantities ?? []).find((q: Obj) => q.name === 'available')?.quantity ?? null;
        const targetId = `${v.inventoryItem.id}@${location}`;
        if (from === r.available) {
          results[index] = { ok: true, targetId };
          continue;
        }
        // The write id and the quantity it was read at: the same write repeated is one request to Shopify.
        const key = digest(`${writeKey(item)}\n${from}`);
        try {
          const data = await gql(
            `mutation ($input: InventorySetQuantitiesInput!) { inventorySetQuantities(input: $input) @idempotent(key: "${key}") { inventoryAdjustmentGroup { id } userErrors { code field message } } }`,
            {
              input: {
                name: 'available',
                reason: 'correction',
                referenceDocumentUri: `rsync://write/${key.slice(0, 32)}`,
                quantities: [
                  {
                    inventoryItemId: v.inventoryItem.id,
                    locationId: location,
                    quantity: r.available,
                    changeFromQuantity: from,
                  },
                ],
              },
            },
            signal,
          );
          const payload = data.inventorySetQuantities;
          const errs: Obj[] = payload?.userErrors ?? [];
          if (errs.some((e) => e.code === 'CHANGE_FROM_QUANTITY_STALE'))
            results[index] = {
              ok: false,
              transient: true,
              error: `shopify: sku ${r.sku} at ${location}: the available stock changed from ${from} since it was read (CHANGE_FROM_QUANTITY_STALE); the retry reads it again`,
            };
          else if (errs.length) results[index] = bad(`shopify: sku ${r.sku}: ${userErrors(payload)}`);
          else results[index] = { ok: true, targetId };
        } catch (e) {
          results[index] = failed(e);
        }
      }
    }
    return results;
  }

  async function writePrices(items: WriteItem[], signal?: AbortSignal): Promise<WriteResult[]> {
    const results: WriteResult[] = new Array(items.length);
    const records = items.map((i) => i.record as Obj);
    const found = await variantsBySku(
      records.map((r) => r.sku).filter((s): s is string => typeof s === 'string' && s !== ''),
      null,
      signal,
    );
    const byProduct = new Map<string, { index: number; input: Obj }[]>();
    records.forEach((r, index) => {
      if (typeof r.sku !== 'string' || r.sku === '') return (results[index] = bad('a price needs a sku'));
      if (typeof r.amount !== 'string' || !/^-?\d+(\.\d+)?$/.test(r.amount))
        return (results[index] = bad(`sku ${r.sku}: amount ${String(r.amount)} is not a decimal`));
      if (r.priceList)
        return (results[index] = bad(
          `sku ${r.sku}: Shopify variants have one price, not price lists (${r.priceList})`,
        ));
      const v = one(found, r.sku);
      if (typeof v === 'string') return (results[index] = bad(v));
      const input: Obj = { id: v.id, price: r.amount };
      if (typeof r.compareAt === 'string') input.compareAtPrice = r.compareAt;
      byProduct.set(v.product.id, [...(byProduct.get(v.product.id) ?? []), { index, input }]);
    });
    for (const [productId, list] of byProduct) {
      try {
        const data = await gql(
          'mutation ($productId: ID!, $variants: [ProductVariantsBulkInput!]!) { productVariantsBulkUpdate(productId: $productId, variants: $variants) { productVariants { id } userErrors { code field message } } }',
          { productId, variants: list.map((l) => l.input) },
          signal,
        );
        const payload = data.productVariantsBulkUpdate;
        const errs: Obj[] = payload?.userErrors ?? [];
        for (const [n, l] of list.entries()) {
          // userErrors name the variant by its index: ["variants", "0", "price"].
          const mine = errs.filter(
            (e) => !Array.isArray(e.field) || e.field[1] === undefined || e.field[1] === String(n),
          );
          results[l.index] = mine.length
            ? bad(`shopify: sku ${records[l.index].sku}: ${userErrors({ userErrors: mine })}`)
            : { ok: true, targetId: l.input.id };
        }
      } catch (e) {
        for (const l of list) results[l.index] = failed(e);
      }
    }
    return results;
  }

  const STATUS: Record<string, string> = { active: 'ACTIVE', draft: 'DRAFT', archived: 'ARCHIVED' };

  async function writeProducts(items: WriteItem[], signal?: AbortSignal): Promise<WriteResult[]> {
    const results: WriteResult[] = new Array(items.length);
    const records = items.map((i) => i.record as Obj);
    const variantsOf = (p: Obj): Obj[] =>
      Array.isArray(p.variants) && p.variants.length ? p.variants : p.sku ? [{ sku: p.sku, price: p.price }] : [];
    const found = await variantsBySku(
      records.flatMap((r) => variantsOf(r).map((v) => v.sku)).filter((s) => typeof s === 'string' && s !== ''),
      null,
      signal,
    );
    for (const [index, r] of records.entries()) {
      const item = items[index];
      if (typeof r.title !== 'string' || r.title === '') {
        results[index] = bad('a product needs a title');
        continue;
      }
      const variants = variantsOf(r);
      let id = gidOf('Product', item.targetId);
      for (const v of variants) id ??= (found.get(v.sku) ?? [])[0]?.product?.id;
      const optionName = 'Title';
      const names = variants.map((v) => (typeof v.title === 'string' && v.title !== '' ? v.title : v.sku));
      const input: Obj = {
        title: r.title,
        ...(r.description !== undefined ? { descriptionHtml: r.description } : {}),
        ...(r.vendor !== undefined ? { vendor: r.vendor } : {}),
        ...(r.productType !== undefined ? { productType: r.productType } : {}),
        ...(r.status && STATUS[r.status] ? { status: STATUS[r.status] } : {}),
        ...(variants.length
          ? {
              productOptions: [{ name: optionName, values: [...new Set(names)].map((name) => ({ name })) }],
              variants: variants.map((v, n) => ({
                optionValues: [{ optionName, name: names[n] }],
                sku: v.sku,
                ...(v.barcode ? { barcode: v.barcode } : {}),
                ...(typeof v.price === 'string' ? { price: v.price } : {}),
              })),
            }
          : {}),
      };
      try {
        const data = await gql(
          `mutation ($input: ProductSetInput!${id ? ', $identifier: ProductSetIdentifiers' : ''}) { productSet(input: $input, synchronous: true${id ? ', identifier: $identifier' : ''}) { product { id } userErrors { code field message } } }`,
          { input, ...(id ? { identifier: { id } } : {}) },
          signal,
        );
        const payload = data.productSet;
        const err = userErrors(payload);
        results[index] = err
          ? bad(`shopify: product ${r.title}: ${err}`)
          : { ok: true, targetId: String(payload?.product?.id ?? id) };
      } catch (e) {
        results[index] = failed(e);
      }
    }
    return results;
  }

  /** A canonical address as Shopify's MailingAddressInput. */
  const mailing = (a: Obj) => ({
    ...(a.firstName ? { firstName: a.firstName } : {}),
    ...(a.lastName ? { lastName: a.lastName } : {}),
    ...(a.company ? { company: a.company } : {}),
    ...(a.line1 ? { address1: a.line1 } : {}),
    ...(a.line2 ? { address2: a.line2 } : {}),
    ...(a.city ? { city: a.city } : {}),
    ...(a.regionCode ? { provinceCode: a.regionCode } : {}),
    ...(a.postalCode ? { zip: a.postalCode } : {}),
    ...(a.country ? { countryCode: a.country } : {}),
    ...(a.phone ? { phone: a.phone } : {}),
  });

  /** customer → customerUpdate of the one found by target id or e-mail, else customerCreate (with its addresses). */
  async function writeCustomers(items: WriteItem[], signal?: AbortSignal): Promise<WriteResult[]> {
    const results: WriteResult[] = [];
    for (const item of items) {
      const r = item.record as Obj;
      try {
        let id = gidOf('Customer', item.targetId);
        if (!id && typeof r.email === 'string' && r.email !== '') {
          const data = await gql(
            'query ($query: String!) { customers(first: 2, query: $query) { nodes { id email } } }',
            { query: `email:${JSON.stringify(r.email)}` },
            signal,
          );
          const found = ((data.customers?.nodes ?? []) as Obj[]).filter(
            (c) => String(c.email).toLowerCase() === r.email.toLowerCase(),
          );
          if (found.length > 1) {
            results.push(bad(`shopify: ${found.length} customers have the e-mail of ${item.key}: merge them first`));
            continue;
          }
          id = found[0]?.id;
        }
        const input: Obj = {
          ...(id ? { id } : {}),
          ...(r.email !== undefined ? { email: r.email } : {}),
          ...(r.phone !== undefined ? { phone: r.phone } : {}),
          ...(r.firstName !== undefined ? { firstName: r.firstName } : {}),
          ...(r.lastName !== undefined ? { lastName: r.lastName } : {}),
          // Addresses only on create: an update would replace the ones the shop keeps.
          ...(!id && Array.isArray(r.addresses) ? { addresses: r.addresses.map(mailing) } : {}),
        };
        const name = id ? 'customerUpdate' : 'customerCreate';
        const data = await gql(
          `mutation ($input: CustomerInput!) { ${name}(input: $input) { customer { id } userErrors { field message } } }`,
          { input },
          signal,
        );
        const payload = data[name];
        const err = userErrors(payload);
        results.push(
          err
            ? bad(`shopify: customer ${item.key}: ${err}`)
            : { ok: true, targetId: String(payload?.customer?.id ?? id) },
        );
      } catch (e) {
        results.push(failed(e));
      }
    }
    return results;
  }

  const WRITERS: Record<string, (items: WriteItem[], signal?: AbortSignal) => Promise<WriteResult[]>> = {
    customer: writeCustomers,
    inventoryLevel: writeInventory,
    variantPrice: writePrices,
    product: writeProducts,
  };

  function write(entity: string, items: WriteItem[], signal?: AbortSignal): Promise<WriteResult[]> {
    const writer = WRITERS[entity];
    if (!writer) throw failure.permanent(`shopify: no entity ${entity} (${Object.keys(WRITERS).join(', ')})`);
    return writer(items, signal);
  }

  // ---- check ----------------------------------------------------------------------------------------------------

  async function check(streams: string[], signal?: AbortSignal): Promise<CheckReport> {
    const data = await gql(
      '{ shop { name myshopifyDomain currencyCode } currentAppInstallation { accessScopes { handle } } }',
      {},
      signal,
    );
    const granted: string[] = (data.currentAppInstallation?.accessScopes ?? []).map((s: Obj) => s.handle);
    // write_x implies read_x (https://shopify.dev/docs/api/usage/access-scopes).
    const has = (s: string) => granted.includes(s) || granted.includes(s.replace(/^read_/, 'write_'));
    const needed = new Set(streams.flatMap((s) => STREAM_SCOPES[s] ?? []));
    const t = graphql.throttleStatus();
    const report: CheckReport = {
      identity: `${data.shop?.name ?? 'Shopify shop'} (${data.shop?.myshopifyDomain ?? settings.shop ?? '?'})`,
      apiVersion: apiVersionSupport(graphql.apiVersion),
      scopes: { granted, missing: [...needed].filter((s) => !has(s)) },
      ...(t ? { rateLimit: { available: t.currentlyAvailable, max: t.maximumAvailable, unit: 'points' } } : {}),
      streams: [],
      notes: t ? [`the bucket restores ${t.restoreRate} points a second`] : [],
    };
    for (const stream of streams) {
      try {
        const page = await read({ stream, cursor: null, limit: 10, signal });
        report.streams.push({ stream, ok: true, records: page.records.length });
      } catch (e) {
        report.streams.push({ stream, ok: false, error: e instanceof Error ? e.message : String(e) });
      }
    }
    return report;
  }

  // First syncs and backfills of orders, products and customers go through bulk operations (first-sync.ts).
  const bulk = bulkReader(gql, defaultFetchUrl(), { children: ALL_CHILDREN });
  return {
    connector: 'shopify',
    graphql,
    read: settings.bulk === false ? read : withBulk(read, bulk),
    lookup,
    write,
    check,
    close: () => bulk.close(),
  };
}
