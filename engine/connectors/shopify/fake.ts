/**
 * A fake Shopify GraphQL Admin API on 127.0.0.1: the queries and mutations the shopify connector sends, answered as
 * Shopify documents them, so that the connector's tests (and a bulk-operations fake mounted on it, and benchmarks)
 * exercise its real HTTP code. It is not a mock: the connector talks HTTP to it, and it refuses what Shopify refuses.
 *
 *   const fake = await startFakeShopify({ maximumAvailable: 2000, restoreRate: 100 });
 *   fake.store.orders.push(…)   fake.seedOrders(20_000, { from, to })   fake.fail('500', 2)   fake.calls   fake.close()
 *
 * What it does, and where Shopify says so:
 * - POST /admin/api/{version}/graphql.json with `X-Shopify-Access-Token`; a wrong or missing token is
 *   `401 {"errors":"[API] Invalid API key or access token (unrecognized login or wrong password)"}` —
 *   https://shopify.dev/docs/api/usage/authentication, https://shopify.dev/docs/api/admin-graphql#authentication.
 *   A version that is not YYYY-01/04/07/10 is 404 — https://shopify.dev/docs/api/usage/versioning.
 * - Cost: a leaky bucket of points (standard plan: 2,000, restored at 100 a second; both configurable), the
 *   requested cost computed by the documented rules (objects 1, connections 2 + first × a node, mutations 10:
 *   graphql.ts queryCost), charged its actual cost (what the reply holds); every reply carries
 *   `extensions.cost { requestedQueryCost, actualQueryCost, throttleStatus { maximumAvailable, currentlyAvailable,
 *   restoreRate } }`; a query whose requested cost exceeds what is available is answered HTTP 200 with
 *   `errors: [{ message: "Throttled", extensions: { code: "THROTTLED" } }]` and no data; one over 1,000 points with
 *   MAX_COST_EXCEEDED — https://shopify.dev/docs/api/usage/limits#graphql-admin-api-rate-limits and
 *   https://shopify.dev/docs/api/usage/limits#cost-calculation.
 * - Pagination: `first` at most 250 (more is an error: "The maximum page size is 250") — opaque cursors
 *   (`pageInfo { hasNextPage endCursor }`, `after`) — https://shopify.dev/docs/api/usage/pagination-graphql.
 * - Search syntax: `updated_at:>='…'`, `updated_at:<'…'` (and <=, >), `AND`, `sku:"…" OR sku:"…"`;
 *   sortKey UPDATED_AT, ties by id — https://shopify.dev/docs/api/usage/search-syntax and
 *   https://shopify.dev/docs/api/admin-graphql/latest/queries/orders (sortKey, query: updated_at).
 * - Access scopes: a root field the token's scopes do not cover is an ACCESS_DENIED error —
 *   https://shopify.dev/docs/api/usage/access-scopes.
 * - deletionEvents(subjectTypes: [PRODUCT]) — https://shopify.dev/docs/api/admin-graphql/latest/objects/DeletionEvent.
 * - inventorySetQuantities: an `@idempotent(key:)` is required as of 2026-04 (the same key answers the first result
 *   again; with other arguments it is refused), each quantity must carry `changeFromQuantity` (null opts out of the
 *   check; a value other than the stored one is the userError CHANGE_FROM_QUANTITY_STALE) —
 *   https://shopify.dev/docs/api/admin-graphql/latest/mutations/inventorySetQuantities,
 *   https://shopify.dev/changelog/posts/compare-and-swap-redesign-for-inventory-set-quantities,
 *   https://shopify.dev/docs/api/usage/idempotent-requests.
 * - productVariantsBulkUpdate and productSet answer `userErrors` for what they refuse (an unknown variant, a negative
 *   price, an empty title) — https://shopify.dev/docs/api/admin-graphql/latest/mutations/productVariantsBulkUpdate,
 *   https://shopify.dev/docs/api/admin-graphql/latest/mutations/productSet.
 * - Injected failures (`fail`): a 5xx, a dropped connection (socket destroyed before any byte, or after the request
 *   was applied: `drop-after`), a 429 with Retry-After.
 *
 * Two hooks let a bulk-operations fake mount on it without editing it: `graphqlHook(query, variables)` is asked first
 * (after auth and throttling); a value it returns is sent as `{ data: value }` with the cost extensions. `routeHook(req,
 * res)` serves any other route (a JSONL download URL), with no token auth; it returns true when it answered.
 *
 * The store (`fake.store`) holds nodes in exactly the shape the connector's selections return (graphql.ts), made from
 * the real REST payloads in test/fixtures/shopify (see SOURCES.md) by `orderNode`, `productNode`, `customerNode`.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import path from 'node:path';
import { projectRoot } from '../../util/paths.js';
import { MAX_FIRST, MAX_QUERY_COST, type Obj, queryCost } from './graphql.js';

export interface ShopifyFakeOptions {
  accessToken?: string;
  /** The bucket: 2,000 points restored at 100 a second (Shopify's standard plan) unless told. */
  maximumAvailable?: number;
  restoreRate?: number;
  scopes?: string[];
  shopName?: string;
  myshopifyDomain?: string;
  now?: () => number;
  graphqlHook?: (query: string, variables: Record<string, unknown>) => unknown | undefined;
  routeHook?: (req: IncomingMessage, res: ServerResponse) => boolean;
}

export interface FakeStore {
  orders: Obj[];
  products: Obj[];
  customers: Obj[];
  locations: Obj[];
  /** InventoryLevel nodes. */
  inventoryLevels: Obj[];
  /** DeletionEvent nodes. */
  deletionEvents: Obj[];
}

export interface FakeCall {
  root: string;
  status: number;
  throttled: boolean;
  requested: number;
  actual: number;
  variables: Record<string, unknown>;
  at: number;
}

export type FakeFailure = '500' | '502' | '503' | 'drop' | 'drop-after' | '429';

export interface FakeShopify {
  url: string;
  accessToken: string;
  store: FakeStore;
  calls: FakeCall[];
  /** Replies that were THROTTLED. */
  readonly throttled: number;
  /** inventorySetQuantities answered from an idempotency key. */
  readonly replays: number;
  /** The next `times` GraphQL requests (to `root` only, when named) fail so. */
  fail(kind: FakeFailure, times?: number, root?: string): void;
  /** Marks the store changed (after editing its arrays in place). */
  touch(): void;
  /** N synthetic orders from the real fixture, distinct ids, `perTimestamp` (default 3) sharing each updatedAt. */
  seedOrders(n: number, o: { from: string | number; to: string | number; perTimestamp?: number }): Obj[];
  /** Deletes a product, leaving its DeletionEvent. */
  deleteProduct(gid: string): void;
  available(): number;
  close(): Promise<void>;
}

export const FAKE_TOKEN = 'shpat_fake0123456789abcdef0123456789ab';
export const ALL_SCOPES = [
  'read_orders',
  'read_products',
  'write_products',
  'read_customers',
  'write_customers',
  'read_inventory',
  'write_inventory',
  'read_locations',
];

// From the project's root, so that the built fake (.build/…) reads the same files.
const FIXTURES = path.join(projectRoot(), 'test/fixtures');
const fixture = (file: string): Obj => JSON.parse(readFileSync(path.join(FIXTURES, file), 'utf8'));

// ---- REST → GraphQL nodes ------------------------------------------------------------------------------------------

const gid = (type: string, id: unknown, given?: unknown) =>
  typeof given === 'string' && given.startsWith('gid://') ? given : `gid://shopify/${type}/${String(id)}`;
/** GraphQL DateTime: UTC, seconds. */
export const dateTime = (t: unknown): string | null =>
  t === null || t === undefined ? null : new Date(t as string).toISOString().replace('.000Z', 'Z');
const upper = (v: unknown) => (typeof v === 'string' ? v.toUpperCase() : null);
const bag = (set: Obj | null | undefined, plain: unknown, currency: string): Obj | null => {
  if (set?.shop_money)
    return {
      shopMoney: { amount: String(set.shop_money.amount), currencyCode: set.shop_money.currency_code },
      presentmentMoney: {
        amount: String((set.presentment_money ?? set.shop_money).amount),
        currencyCode: (set.presentment_money ?? set.shop_money).currency_code,
      },
    };
  if (plain === null || plain === undefined) return null;
  return {
    shopMoney: { amount: String(plain), currencyCode: currency },
    presentmentMoney: { amount: String(plain), currencyCode: currency },
  };
};
const zero = (currency: string) => bag(null, '0.00', currency);
const splitTags = (t: unknown) =>
  typeof t === 'string'
    ? t
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean)
    : [];
const addressNode = (a: Obj | null | undefined): Obj | null =>
  a
    ? {
        firstName: a.first_name ?? null,
        lastName: a.last_name ?? null,
        company: a.company ?? null,
        address1: a.address1 ?? null,
        address2: a.address2 ?? null,
        city: a.city ?? null,
        province: a.province ?? null,
        provinceCode: a.province_code ?? null,
        zip: a.zip ?? null,
        country: a.country ?? null,
        countryCodeV2: a.country_code ?? null,
        phone: a.phone ?? null,
      }
    : null;
const taxLineNodes = (ts: Obj[] | undefined, currency: string) =>
  (ts ?? []).map((t) => ({ title: t.title, rate: t.rate, priceSet: bag(t.price_set, t.price, currency) }));
const allocationNodes = (as: Obj[] | undefined, currency: string) =>
  (as ?? []).map((a) => ({
    allocatedAmountSet: bag(a.amount_set, a.amount, currency),
    discountApplication: { index: a.discount_application_index },
  }));
const TYPENAMES: Record<string, string> = {
  discount_code: 'DiscountCodeApplication',
  manual: 'ManualDiscountApplication',
  automatic: 'AutomaticDiscountApplication',
  script: 'ScriptDiscountApplication',
};
const FULFILLMENT: Record<string, string> = { fulfilled: 'FULFILLED', partial: 'PARTIALLY_FULFILLED' };

/** A REST / webhook order as the Order node the connector's ORDER_FIELDS select (with its refunds in full). */
export function orderNode(o: Obj): Obj {
  const cur: string = o.currency;
  const set = (name: string) => bag(o[`${name}_set`], o[name], cur);
  const current = (name: string) => bag(o[`current_${name}_set`], o[`current_${name}`], cur) ?? set(name);
  return {
    id: gid('Order', o.id, o.admin_graphql_api_id),
    name: o.name ?? null,
    email: o.email ?? null,
    phone: o.phone ?? null,
    createdAt: dateTime(o.created_at),
    updatedAt: dateTime(o.updated_at ?? o.created_at),
    processedAt: dateTime(o.processed_at),
    cancelledAt: dateTime(o.cancelled_at),
    cancelReason: upper(o.cancel_reason),
    closedAt: dateTime(o.closed_at),
    test: o.test === true,
    note: o.note ?? null,
    tags: splitTags(o.tags),
    currencyCode: cur,
    presentmentCurrencyCode: o.presentment_currency ?? cur,
    taxesIncluded: o.taxes_included === true,
    dutiesIncluded: o.duties_included === true,
    sourceName: o.source_name ?? null,
    displayFinancialStatus: upper(o.financial_status),
    displayFulfillmentStatus:
      FULFILLMENT[o.fulfillment_status] ?? (o.fulfillment_status ? upper(o.fulfillment_status) : 'UNFULFILLED'),
    subtotalPriceSet: set('subtotal_price'),
    totalPriceSet: set('total_price'),
    totalTaxSet: set('total_tax'),
    totalDiscountsSet: set('total_discounts'),
    currentSubtotalPriceSet: current('subtotal_price'),
    currentTotalPriceSet: current('total_price'),
    currentTotalTaxSet: current('total_tax'),
    currentTotalDiscountsSet: current('total_discounts'),
    totalShippingPriceSet: bag(o.total_shipping_price_set, null, cur) ?? zero(cur),
    totalTipReceivedSet: bag(null, o.total_tip_received ?? '0.00', cur),
    currentTotalDutiesSet: bag(o.current_total_duties_set, null, cur),
    originalTotalDutiesSet: bag(o.original_total_duties_set, null, cur),
    currentTotalAdditionalFeesSet: bag(o.current_total_additional_fees_set, null, cur),
    originalTotalAdditionalFeesSet: bag(o.original_total_additional_fees_set, null, cur),
    discountCodes: (o.discount_codes ?? []).map((d: Obj) => d.code),
    customer: o.customer
      ? {
          id: gid('Customer', o.customer.id, o.customer.admin_graphql_api_id),
          email: o.customer.email ?? null,
          phone: o.customer.phone ?? null,
          firstName: o.customer.first_name ?? null,
          lastName: o.customer.last_name ?? null,
        }
      : null,
    billingAddress: addressNode(o.billing_address),
    shippingAddress: addressNode(o.shipping_address),
    taxLines: taxLineNodes(o.tax_lines, cur),
    discountApplications: {
      nodes: (o.discount_applications ?? []).map((a: Obj, index: number) => ({
        __typename: TYPENAMES[a.type] ?? 'ManualDiscountApplication',
        index,
        allocationMethod: upper(a.allocation_method),
        targetSelection: upper(a.target_selection),
        targetType: upper(a.target_type),
        value:
          a.value_type === 'percentage'
            ? { __typename: 'PricingPercentageValue', percentage: Number(a.value) }
            : { __typename: 'MoneyV2', amount: String(a.value), currencyCode: cur },
        ...(a.type === 'discount_code' ? { code: a.code } : { title: a.title ?? null }),
        ...(a.type === 'manual' ? { description: a.description ?? null } : {}),
      })),
    },
    lineItems: {
      nodes: (o.line_items ?? []).map((l: Obj) => ({
        id: gid('LineItem', l.id, l.admin_graphql_api_id),
        name: l.name ?? null,
        title: l.title ?? null,
        sku: l.sku ?? null,
        quantity: l.quantity,
        currentQuantity: l.current_quantity ?? l.quantity,
        isGiftCard: l.gift_card === true,
        requiresShipping: l.requires_shipping ?? null,
        vendor: l.vendor ?? null,
        variantTitle: l.variant_title ?? null,
        variant: l.variant_id ? { id: gid('ProductVariant', l.variant_id) } : null,
        originalUnitPriceSet: bag(l.price_set, l.price, cur),
        taxLines: taxLineNodes(l.tax_lines, cur),
        discountAllocations: allocationNodes(l.discount_allocations, cur),
      })),
    },
    shippingLines: {
      nodes: (o.shipping_lines ?? []).map((s: Obj) => ({
        id: gid('ShippingLine', s.id),
        title: s.title ?? null,
        code: s.code ?? null,
        source: s.source ?? null,
        isRemoved: s.is_removed === true,
        originalPriceSet: bag(s.price_set, s.price, cur),
        taxLines: taxLineNodes(s.tax_lines, cur),
        discountAllocations: allocationNodes(s.discount_allocations, cur),
      })),
    },
    refunds: (o.refunds ?? []).map((r: Obj) => refundNode(r, cur)),
    fulfillments: (o.fulfillments ?? []).map((f: Obj) => fulfillmentNode(f)),
    transactions: [],
  };
}

export function refundNode(r: Obj, currency: string): Obj {
  return {
    id: gid('Refund', r.id, r.admin_graphql_api_id),
    createdAt: dateTime(r.created_at),
    note: r.note ?? null,
    totalRefundedSet: bag(null, (r.transactions ?? [])[0]?.amount ?? '0.00', currency),
    refundLineItems: {
      nodes: (r.refund_line_items ?? []).map((l: Obj) => ({
        id: gid('RefundLineItem', l.id),
        quantity: l.quantity,
        restockType: upper(l.restock_type),
        lineItem: l.line_item_id ? { id: gid('LineItem', l.line_item_id), sku: l.line_item?.sku ?? null } : null,
        subtotalSet: bag(l.subtotal_set, l.subtotal, currency),
        totalTaxSet: bag(l.total_tax_set, l.total_tax, currency),
      })),
    },
    transactions: { nodes: (r.transactions ?? []).map((t: Obj) => transactionNode(t, currency)) },
  };
}

export function transactionNode(t: Obj, currency: string): Obj {
  return {
    id: gid('OrderTransaction', t.id, t.admin_graphql_api_id),
    kind: upper(t.kind),
    status: upper(t.status),
    gateway: t.gateway ?? null,
    test: t.test === true,
    createdAt: dateTime(t.created_at),
    processedAt: dateTime(t.processed_at ?? t.created_at),
    authorizationCode: t.authorization ?? null,
    errorCode: upper(t.error_code),
    amountSet: bag(null, t.amount, t.currency ?? currency),
    parentTransaction: t.parent_id ? { id: gid('OrderTransaction', t.parent_id) } : null,
  };
}

export function fulfillmentNode(f: Obj): Obj {
  return {
    id: gid('Fulfillment', f.id, f.admin_graphql_api_id),
    name: f.name ?? null,
    status: upper(f.status),
    createdAt: dateTime(f.created_at),
    updatedAt: dateTime(f.updated_at),
    trackingInfo: (f.tracking_numbers ?? (f.tracking_number ? [f.tracking_number] : [])).map(
      (n: string, i: number) => ({
        company: f.tracking_company ?? null,
        number: n,
        url: (f.tracking_urls ?? [])[i] ?? f.tracking_url ?? null,
      }),
    ),
    fulfillmentLineItems: {
      nodes: (f.line_items ?? []).map((l: Obj) => ({
        id: gid('FulfillmentLineItem', l.id),
        quantity: l.quantity,
        lineItem: { id: gid('LineItem', l.id), sku: l.sku ?? null },
      })),
    },
  };
}

export function productNode(p: Obj): Obj {
  return {
    id: gid('Product', p.id, p.admin_graphql_api_id),
    title: p.title,
    handle: p.handle ?? null,
    descriptionHtml: p.body_html ?? '',
    vendor: p.vendor ?? null,
    productType: p.product_type ?? null,
    status: upper(p.status ?? 'active'),
    tags: splitTags(p.tags),
    createdAt: dateTime(p.created_at),
    updatedAt: dateTime(p.updated_at),
    publishedAt: dateTime(p.published_at),
    variants: {
      nodes: (p.variants ?? []).map((v: Obj) => ({
        id: gid('ProductVariant', v.id, v.admin_graphql_api_id),
        title: v.title ?? null,
        sku: v.sku ?? null,
        barcode: v.barcode ?? null,
        price: v.price ?? null,
        compareAtPrice: v.compare_at_price ?? null,
        position: v.position ?? null,
        taxable: v.taxable ?? null,
        inventoryQuantity: v.inventory_quantity ?? null,
        createdAt: dateTime(v.created_at),
        updatedAt: dateTime(v.updated_at),
        inventoryItem: { id: gid('InventoryItem', v.inventory_item_id ?? v.id) },
      })),
    },
  };
}

export function customerNode(c: Obj): Obj {
  return {
    id: gid('Customer', c.id, c.admin_graphql_api_id),
    email: c.email ?? null,
    phone: c.phone ?? null,
    firstName: c.first_name ?? null,
    lastName: c.last_name ?? null,
    state: upper(c.state),
    note: c.note ?? null,
    tags: splitTags(c.tags),
    verifiedEmail: c.verified_email ?? null,
    taxExempt: c.tax_exempt ?? null,
    createdAt: dateTime(c.created_at),
    updatedAt: dateTime(c.updated_at),
    defaultAddress: c.default_address
      ? { id: gid('MailingAddress', c.default_address.id), ...addressNode(c.default_address) }
      : null,
  };
}

export function inventoryLevelNode(l: Obj, sku: string | null, onHand?: number): Obj {
  return {
    id: `gid://shopify/InventoryLevel/${l.location_id}?inventory_item_id=${l.inventory_item_id}`,
    updatedAt: dateTime(l.updated_at ?? Date.now()),
    location: { id: gid('Location', l.location_id) },
    item: { id: gid('InventoryItem', l.inventory_item_id), sku },
    quantities: [
      { name: 'available', quantity: l.available },
      { name: 'on_hand', quantity: onHand ?? l.available },
    ],
  };
}

/** The store from the fixtures: the REST order, product, customers and inventory levels (test/fixtures/shopify). */
export function fixtureStore(): FakeStore {
  const order = orderNode(fixture('shopify-rest/order.json').order);
  const product = productNode(fixture('shopify/product.json').product);
  const customers = fixture('shopify/customers.json');
  const levels: Obj[] = fixture('shopify/inventory_levels.json').inventory_levels;
  // The fixture's levels name inventory items 39072856 and 808950810: the product's variants' items here.
  const skuOf = new Map<string, string>();
  for (const v of product.variants.nodes) skuOf.set(v.inventoryItem.id, v.sku);
  const at = '2026-07-01T12:00:00Z';
  return {
    orders: [order],
    products: [product],
    customers: (customers.customers ?? [customers.customer]).map(customerNode),
    locations: [...new Set(levels.map((l) => l.location_id))].map((id) => ({ id: gid('Location', id) })),
    inventoryLevels: levels.map((l) =>
      inventoryLevelNode({ ...l, updated_at: at }, skuOf.get(gid('InventoryItem', l.inventory_item_id)) ?? null),
    ),
    deletionEvents: [],
  };
}

// ---- the server ----------------------------------------------------------------------------------------------------

const SCOPE_OF: Record<string, string> = {
  orders: 'read_orders',
  order: 'read_orders',
  products: 'read_products',
  product: 'read_products',
  productVariants: 'read_products',
  deletionEvents: 'read_products',
  customers: 'read_customers',
  customer: 'read_customers',
  locations: 'read_locations',
  location: 'read_inventory',
  inventorySetQuantities: 'write_inventory',
  productVariantsBulkUpdate: 'write_products',
  productSet: 'write_products',
  customerCreate: 'write_customers',
  customerUpdate: 'write_customers',
};

const key = (n: Obj): [number, bigint] => [
  Date.parse(n.updatedAt ?? n.occurredAt),
  BigInt(idDigits(n.id ?? n.subjectId)),
];
const idDigits = (g: string) =>
  (/(\d+)(?:\?|$)/.exec(String(g))?.[1] ?? '0') + (/inventory_item_id=(\d+)/.exec(g)?.[1] ?? '');
const cmp = (a: [number, bigint], b: [number, bigint]) => a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0);

/** Shopify's search syntax, the part the connector sends: field:op'value' clauses joined by AND / OR. */
function parseSearch(q: unknown): { field: string; op: string; value: string }[] {
  if (typeof q !== 'string' || !q.trim()) return [];
  const out: { field: string; op: string; value: string }[] = [];
  for (const m of q.matchAll(/(\w+):(>=|<=|>|<)?(?:'([^']*)'|"((?:[^"\\]|\\.)*)"|(\S+))/g))
    out.push({ field: m[1], op: m[2] ?? '=', value: m[3] ?? (m[4] !== undefined ? JSON.parse(`"${m[4]}"`) : m[5]) });
  return out;
}

function matches(n: Obj, clauses: { field: string; op: string; value: string }[]): boolean {
  for (const c of clauses) {
    if (c.field === 'email' && String(n.email ?? '').toLowerCase() !== c.value.toLowerCase()) return false;
    if (c.field !== 'updated_at' && c.field !== 'occurred_at') continue;
    const t = Date.parse(n.updatedAt ?? n.occurredAt);
    const v = Date.parse(c.value);
    if (c.op === '>=' && !(t >= v)) return false;
    if (c.op === '>' && !(t > v)) return false;
    if (c.op === '<' && !(t < v)) return false;
    if (c.op === '<=' && !(t <= v)) return false;
  }
  return true;
}

/** The root field of a query and its arguments (literals or variables). */
function rootOf(
  query: string,
  variables: Record<string, unknown>,
): { mutation: boolean; root: string; args: Obj; directives: string } {
  const mutation = /^\s*mutation\b/.test(query);
  const body = query.slice(query.indexOf('{') + 1);
  const m = /^\s*(\w+)\s*(\(([^)]*)\))?\s*((?:@\w+\s*(?:\([^)]*\))?\s*)*)/.exec(body);
  const root = m?.[1] ?? '';
  const args: Obj = {};
  for (const a of (m?.[3] ?? '').matchAll(/(\w+)\s*:\s*(\$\w+|"(?:[^"\\]|\\.)*"|-?\d+|\[[^\]]*\]|\w+)/g)) {
    const v = a[2];
    args[a[1]] = v.startsWith('$')
      ? variables[v.slice(1)]
      : v.startsWith('"')
        ? JSON.parse(v)
        : /^-?\d+$/.test(v)
          ? Number(v)
          : v.startsWith('[')
            ? v
                .slice(1, -1)
                .split(',')
                .map((x) => x.trim())
                .filter(Boolean)
            : v;
  }
  return { mutation, root, args, directives: m?.[4] ?? '' };
}

class GqlError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

export async function startFakeShopify(o: ShopifyFakeOptions = {}): Promise<FakeShopify> {
  const accessToken = o.accessToken ?? FAKE_TOKEN;
  const max = o.maximumAvailable ?? 2000;
  const rate = o.restoreRate ?? 100;
  const now = o.now ?? (() => Date.now());
  const scopes = o.scopes ?? ALL_SCOPES;
  const store: FakeStore = fixtureStore();
  const calls: FakeCall[] = [];
  const failures: { kind: FakeFailure; root?: string }[] = [];
  const idempotency = new Map<string, { args: string; data: unknown }>();
  let throttled = 0;
  let replays = 0;
  let points = max;
  let at = now();
  let version = 0;
  const sortedCache = new Map<string, { version: number; list: Obj[]; keys: [number, bigint][] }>();
  let seeded = 0;

  const refill = () => {
    const t = now();
    points = Math.min(max, points + ((t - at) / 1000) * rate);
    at = t;
  };
  const status = () => ({ maximumAvailable: max, currentlyAvailable: Math.floor(points), restoreRate: rate });

  function sorted(name: string, list: Obj[]) {
    const c = sortedCache.get(name);
    if (c && c.version === version && c.list.length === list.length) return c;
    const pairs = list.map((n) => ({ n, k: key(n) })).sort((a, b) => cmp(a.k, b.k));
    const fresh = { version, list: pairs.map((p) => p.n), keys: pairs.map((p) => p.k) };
    sortedCache.set(name, fresh);
    return fresh;
  }

  const cursorOf = (k: [number, bigint]) =>
    Buffer.from(JSON.stringify({ last_id: k[1].toString(), last_value: k[0] })).toString('base64url');
  function parseCursor(c: unknown): [number, bigint] {
    try {
      const j = JSON.parse(Buffer.from(String(c), 'base64url').toString('utf8'));
      if (typeof j.last_value !== 'number' || typeof j.last_id !== 'string') throw new Error();
      return [j.last_value, BigInt(j.last_id)];
    } catch {
      throw new GqlError(`Invalid cursor for current pagination sort.`, 'BAD_REQUEST');
    }
  }

  /** A page of `list` by (updated time, id) after the cursor, filtered by the search. */
  function page(name: string, list: Obj[], args: Obj) {
    const first = Number(args.first ?? 0);
    if (!Number.isInteger(first) || first < 1)
      throw new GqlError('you must provide one of first or last', 'BAD_REQUEST');
    if (first > MAX_FIRST)
      throw new GqlError(`The maximum page size is ${MAX_FIRST}. Requested page size: ${first}`, 'BAD_REQUEST');
    const s = sorted(name, list);
    const clauses = parseSearch(args.query);
    let lo = 0;
    if (args.after) {
      const k = parseCursor(args.after);
      let hi = s.keys.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (cmp(s.keys[mid], k) <= 0) lo = mid + 1;
        else hi = mid;
      }
    }
    const out: Obj[] = [];
    let last: [number, bigint] | undefined;
    let i = lo;
    for (; i < s.list.length && out.length < first; i++) {
      if (!matches(s.list[i], clauses)) continue;
      out.push(s.list[i]);
      last = s.keys[i];
    }
    let more = false;
    for (; i < s.list.length; i++)
      if (matches(s.list[i], clauses)) {
        more = true;
        break;
      }
    return {
      nodes: out,
      pageInfo: { hasNextPage: more, endCursor: last ? cursorOf(last) : null },
    };
  }

  const byId = (list: Obj[], id: unknown) => list.find((n) => n.id === id) ?? null;

  /** A nested connection as the query asks for it: `first` nodes after `after`, with its pageInfo. */
  function nestedPage(conn: Obj, args: Obj): Obj {
    const all: Obj[] = conn?.nodes ?? [];
    const first = Math.min(MAX_FIRST, Number(args.first ?? all.length));
    const from = args.after ? Number(Buffer.from(String(args.after), 'base64url').toString('utf8')) : 0;
    const nodes = all.slice(from, from + first);
    const end = from + nodes.length;
    return {
      nodes,
      pageInfo: { hasNextPage: end < all.length, endCursor: Buffer.from(String(end)).toString('base64url') },
    };
  }
  /** A node with its nested connections (lineItems, discountApplications, shippingLines, variants) cut to what the
   * query's `first` asks for. */
  function shaped(node: Obj | null, query: string, variables: Record<string, unknown>): Obj | null {
    if (!node) return node;
    let out = node;
    for (const conn of [
      'lineItems',
      'discountApplications',
      'shippingLines',
      'variants',
      'refundLineItems',
      'transactions',
      'fulfillmentLineItems',
    ]) {
      // A connection only (an order's `transactions` is a list, a refund's a connection).
      if (!Array.isArray(node[conn]?.nodes)) continue;
      const m = new RegExp(`\\b${conn}\\s*\\(([^)]*)\\)`).exec(query);
      if (!m) continue;
      out = { ...out, [conn]: nestedPage(node[conn], rootOf(`{ x(${m[1]}) }`, variables).args) };
    }
    // An order's refunds and fulfilments are lists whose elements hold connections of their own.
    for (const list of ['refunds', 'fulfillments'])
      if (Array.isArray(node[list]))
        out = { ...out, [list]: (node[list] as Obj[]).map((x) => shaped(x, query, variables)) };
    return out;
  }
  const variants = () => store.products.flatMap((p) => p.variants.nodes.map((v: Obj) => ({ v, p })));

  function execute(
    query: string,
    variables: Record<string, unknown>,
  ): { data: unknown; returned: number; first: number } {
    const { mutation, root, args, directives } = rootOf(query, variables);
    const scope = SCOPE_OF[root];
    if (scope && !scopes.includes(scope) && !scopes.includes(scope.replace(/^read_/, 'write_')))
      throw new GqlError(
        `Access denied for ${root} field. Required access: \`${scope}\` access scope.`,
        'ACCESS_DENIED',
      );
    const first = Number(args.first ?? 1);
    const wrap = (v: Obj, n: number) => ({ data: { [root]: v }, returned: n, first });
    if (!mutation) {
      switch (root) {
        case 'orders':
        case 'products':
        case 'customers':
        case 'deletionEvents': {
          // DeletionEventSortKeys: CREATED_AT, ID (https://shopify.dev/docs/api/admin-graphql/latest/enums/DeletionEventSortKeys).
          const keys = root === 'deletionEvents' ? ['CREATED_AT', 'ID'] : ['UPDATED_AT', 'ID', 'CREATED_AT'];
          if (args.sortKey !== undefined && !keys.includes(String(args.sortKey)))
            throw new GqlError(
              `Argument 'sortKey' on Field '${root}' has an invalid value (${String(args.sortKey)}).`,
              'argumentLiteralsIncompatible',
            );
          const p = page(root, store[root], args);
          return wrap({ ...p, nodes: p.nodes.map((n) => shaped(n, query, variables)) }, p.nodes.length);
        }
        case 'order':
          return wrap(shaped(byId(store.orders, args.id), query, variables) as Obj, 1);
        case 'product':
          return wrap(shaped(byId(store.products, args.id), query, variables) as Obj, 1);
        case 'refund':
        case 'fulfillment': {
          const list = root === 'refund' ? 'refunds' : 'fulfillments';
          const all = store.orders.flatMap((o) => (Array.isArray(o[list]) ? (o[list] as Obj[]) : []));
          return wrap(shaped(byId(all, args.id), query, variables) as Obj, 1);
        }
        case 'customer':
          return wrap(byId(store.customers, args.id) as Obj, 1);
        case 'locations': {
          const p = page(
            'locations',
            store.locations.map((l) => ({ ...l, updatedAt: '2020-01-01T00:00:00Z' })),
            args,
          );
          return wrap({ nodes: p.nodes.map((l) => ({ id: l.id })), pageInfo: p.pageInfo }, p.nodes.length);
        }
        case 'location': {
          const loc = byId(store.locations, args.id);
          if (!loc) return wrap(null as unknown as Obj, 0);
          const inner = /inventoryLevels\s*\(([^)]*)\)/.exec(query)?.[1] ?? '';
          const iargs = rootOf(`{ x(${inner}) }`, variables).args;
          const p = page(
            `levels:${loc.id}`,
            store.inventoryLevels.filter((l) => l.location.id === loc.id),
            iargs,
          );
          return {
            data: { location: { id: loc.id, inventoryLevels: p } },
            returned: p.nodes.length,
            first: Number(iargs.first),
          };
        }
        case 'productVariants': {
          const skus = parseSearch(args.query)
            .filter((c) => c.field === 'sku')
            .map((c) => c.value);
          const location = variables.location as string | undefined;
          const found = variants()
            .filter(({ v }) => skus.includes(v.sku))
            .slice(0, first)
            .map(({ v, p }) => {
              const level = store.inventoryLevels.find(
                (l) => l.item.id === v.inventoryItem.id && l.location.id === location,
              );
              return {
                id: v.id,
                sku: v.sku,
                price: v.price,
                product: { id: p.id },
                inventoryItem: {
                  id: v.inventoryItem.id,
                  ...(location
                    ? {
                        inventoryLevel: level
                          ? { quantities: level.quantities.filter((q: Obj) => q.name === 'available') }
                          : null,
                      }
                    : {}),
                },
              };
            });
          return wrap({ nodes: found }, found.length);
        }
        case 'shop':
          return {
            data: {
              shop: {
                name: o.shopName ?? 'Northwind Outdoor',
                myshopifyDomain: o.myshopifyDomain ?? 'northwind.myshopify.com',
                currencyCode: 'USD',
              },
              currentAppInstallation: { accessScopes: scopes.map((handle) => ({ handle })) },
            },
            returned: 1,
            first: 1,
          };
        default:
          throw new GqlError(`Field '${root}' doesn't exist on type 'QueryRoot'`, 'undefinedField');
      }
    }
    switch (root) {
      case 'inventorySetQuantities': {
        const idem = /@idempotent\s*\(\s*key\s*:\s*"([^"]+)"/.exec(directives)?.[1];
        if (!idem) throw new GqlError('The @idempotent directive is required for this mutation.', 'BAD_REQUEST');
        const input = args.input as Obj;
        const argsText = JSON.stringify(input);
        const seen = idempotency.get(idem);
        if (seen) {
          if (seen.args !== argsText)
            throw new GqlError(
              'The idempotency key was already used with different arguments.',
              'IDEMPOTENCY_CONCURRENT_REQUEST',
            );
          replays++;
          return { data: seen.data, returned: 1, first: 1 };
        }
        const userErrors: Obj[] = [];
        const changes: { level: Obj; quantity: number }[] = [];
        (input?.quantities ?? []).forEach((q: Obj, n: number) => {
          const level = store.inventoryLevels.find(
            (l) => l.item.id === q.inventoryItemId && l.location.id === q.locationId,
          );
          const field = ['input', 'quantities', String(n)];
          if (!level)
            return userErrors.push({
              code: 'ITEM_NOT_STOCKED_AT_LOCATION',
              field,
              message: 'The specified inventory item is not stocked at the location.',
            });
          if (!('changeFromQuantity' in q))
            return userErrors.push({
              code: 'CHANGE_FROM_QUANTITY_REQUIRED',
              field: [...field, 'changeFromQuantity'],
              message: 'changeFromQuantity is required.',
            });
          const current = level.quantities.find((x: Obj) => x.name === input.name)?.quantity;
          if (q.changeFromQuantity !== null && q.changeFromQuantity !== current)
            return userErrors.push({
              code: 'CHANGE_FROM_QUANTITY_STALE',
              field: [...field, 'changeFromQuantity'],
              message: 'The specified compare quantity does not match the current quantity.',
            });
          changes.push({ level, quantity: q.quantity });
        });
        if (!userErrors.length)
          for (const c of changes) {
            for (const x of c.level.quantities)
              if (x.name === input.name || x.name === 'on_hand') x.quantity = c.quantity;
            c.level.updatedAt = dateTime(now());
            version++;
          }
        const data = {
          inventorySetQuantities: {
            inventoryAdjustmentGroup: userErrors.length
              ? null
              : { id: `gid://shopify/InventoryAdjustmentGroup/${idempotency.size + 1}` },
            userErrors,
          },
        };
        idempotency.set(idem, { args: argsText, data });
        return { data, returned: 1, first: 1 };
      }
      case 'productVariantsBulkUpdate': {
        const product = byId(store.products, args.productId);
        const userErrors: Obj[] = [];
        if (!product)
          userErrors.push({ code: 'PRODUCT_DOES_NOT_EXIST', field: ['productId'], message: 'Product does not exist' });
        const updated: Obj[] = [];
        ((args.variants as Obj[]) ?? []).forEach((input, n) => {
          const v = product?.variants.nodes.find((x: Obj) => x.id === input.id);
          if (!v)
            return userErrors.push({
              code: 'PRODUCT_VARIANT_DOES_NOT_EXIST',
              field: ['variants', String(n), 'id'],
              message: 'Product variant does not exist',
            });
          if (input.price !== undefined && !(Number(input.price) >= 0))
            return userErrors.push({
              code: 'GREATER_THAN_OR_EQUAL_TO',
              field: ['variants', String(n), 'price'],
              message: 'Price must be greater than or equal to 0',
            });
          if (input.price !== undefined) v.price = String(input.price);
          if (input.compareAtPrice !== undefined) v.compareAtPrice = input.compareAtPrice;
          v.updatedAt = dateTime(now());
          updated.push({ id: v.id });
        });
        if (product && updated.length) {
          product.updatedAt = dateTime(now());
          version++;
        }
        return { data: { productVariantsBulkUpdate: { productVariants: updated, userErrors } }, returned: 1, first: 1 };
      }
      case 'productSet': {
        const input = args.input as Obj;
        const id = (args.identifier as Obj | undefined)?.id;
        if (!input?.title)
          return {
            data: {
              productSet: {
                product: null,
                userErrors: [{ code: 'BLANK', field: ['input', 'title'], message: "Title can't be blank" }],
              },
            },
            returned: 1,
            first: 1,
          };
        let product = id ? byId(store.products, id) : null;
        if (id && !product)
          return {
            data: {
              productSet: {
                product: null,
                userErrors: [
                  { code: 'PRODUCT_DOES_NOT_EXIST', field: ['identifier', 'id'], message: 'Product does not exist' },
                ],
              },
            },
            returned: 1,
            first: 1,
          };
        const t = dateTime(now());
        if (!product) {
          product = productNode({
            id: 9_000_000 + store.products.length,
            title: input.title,
            created_at: t,
            updated_at: t,
            variants: [],
          });
          store.products.push(product);
        }
        product.title = input.title;
        if (input.descriptionHtml !== undefined) product.descriptionHtml = input.descriptionHtml;
        if (input.vendor !== undefined) product.vendor = input.vendor;
        if (input.productType !== undefined) product.productType = input.productType;
        if (input.status !== undefined) product.status = input.status;
        if (Array.isArray(input.variants)) {
          const old: Obj[] = product.variants.nodes;
          product.variants.nodes = input.variants.map((v: Obj, n: number) => {
            const kept = old.find((x) => x.sku === v.sku);
            return {
              ...(kept ?? {
                id: `gid://shopify/ProductVariant/${8_000_000 + seeded++}`,
                createdAt: t,
                inventoryItem: { id: `gid://shopify/InventoryItem/${7_000_000 + seeded}` },
                taxable: true,
                inventoryQuantity: 0,
                compareAtPrice: null,
              }),
              title: v.optionValues?.[0]?.name ?? v.sku,
              sku: v.sku ?? null,
              barcode: v.barcode ?? kept?.barcode ?? null,
              price: v.price ?? kept?.price ?? '0.00',
              position: n + 1,
              updatedAt: t,
            };
          });
        }
        product.updatedAt = t;
        version++;
        return { data: { productSet: { product: { id: product.id }, userErrors: [] } }, returned: 1, first: 1 };
      }
      case 'customerCreate':
      case 'customerUpdate': {
        const input = (args.input ?? {}) as Obj;
        const t = dateTime(now());
        const done = (customer: Obj | null, userErrors: Obj[]) => ({
          data: { [root]: { customer: customer ? { id: customer.id } : null, userErrors } },
          returned: 1,
          first: 1,
        });
        if (input.email !== undefined && !/^[^@\s]+@[^@\s]+$/.test(String(input.email)))
          return done(null, [{ field: ['email'], message: 'Email is invalid' }]);
        let c = root === 'customerUpdate' ? byId(store.customers, input.id) : null;
        if (root === 'customerUpdate' && !c) return done(null, [{ field: ['id'], message: 'Customer does not exist' }]);
        if (!c) {
          if (input.email && store.customers.some((x) => x.email === input.email))
            return done(null, [{ field: ['email'], message: 'Email has already been taken' }]);
          c = customerNode({ id: 6_000_000 + store.customers.length, created_at: t, state: 'disabled' });
          const a = (input.addresses ?? [])[0];
          if (a)
            c.defaultAddress = {
              id: `gid://shopify/MailingAddress/${6_000_000 + store.customers.length}`,
              ...a,
              countryCodeV2: a.countryCode,
              provinceCode: a.provinceCode ?? null,
            };
          store.customers.push(c);
        }
        for (const k of ['email', 'phone', 'firstName', 'lastName']) if (input[k] !== undefined) c[k] = input[k];
        c.updatedAt = t;
        version++;
        return done(c, []);
      }
      default:
        throw new GqlError(`Field '${root}' doesn't exist on type 'Mutation'`, 'undefinedField');
    }
  }

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
    res.end(JSON.stringify(body));
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const m = /^\/admin\/api\/([^/]+)\/graphql\.json$/.exec(url.pathname);
    if (!m || req.method !== 'POST') {
      if (o.routeHook?.(req, res)) return;
      return send(res, 404, { errors: 'Not Found' });
    }
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (!/^\d{4}-(01|04|07|10)$|^unstable$/.test(m[1])) return send(res, 404, { errors: 'Not Found' });
    if (req.headers['x-shopify-access-token'] !== accessToken)
      return send(res, 401, { errors: '[API] Invalid API key or access token (unrecognized login or wrong password)' });
    let body: Obj;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return send(res, 400, { errors: { query: 'Required parameter missing or invalid' } });
    }
    const query = String(body.query ?? '');
    const variables: Record<string, unknown> = body.variables ?? {};
    const root = rootOf(query, variables).root;
    const f = failures.findIndex((x) => !x.root || x.root === root);
    const injected = f >= 0 ? failures.splice(f, 1)[0].kind : undefined;
    if (injected === 'drop') return void req.socket.destroy();
    if (injected === '429')
      return send(
        res,
        429,
        { errors: 'Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service.' },
        { 'retry-after': '2.0' },
      );
    if (injected === '500' || injected === '502' || injected === '503')
      return send(res, Number(injected), { errors: 'Internal Server Error' });
    const requested = queryCost(query, variables);
    const call: FakeCall = { root, status: 200, throttled: false, requested, actual: 0, variables, at: now() };
    calls.push(call);
    refill();
    const ext = (actual: number | null) => ({
      cost: { requestedQueryCost: requested, actualQueryCost: actual, throttleStatus: status() },
    });
    if (requested > MAX_QUERY_COST)
      return send(res, 200, {
        errors: [
          {
            message: `Query cost is ${requested}, which exceeds the single query max cost limit (${MAX_QUERY_COST}).`,
            extensions: { code: 'MAX_COST_EXCEEDED', cost: requested, maxCost: MAX_QUERY_COST },
          },
        ],
        extensions: ext(null),
      });
    if (requested > points) {
      throttled++;
      call.throttled = true;
      return send(res, 200, {
        errors: [
          {
            message: 'Throttled',
            extensions: { code: 'THROTTLED', documentation: 'https://shopify.dev/api/usage/limits' },
          },
        ],
        extensions: ext(null),
      });
    }
    let data: unknown;
    let actual = requested;
    try {
      const hooked = o.graphqlHook?.(query, variables);
      if (hooked !== undefined) data = hooked;
      else {
        const r = execute(query, variables);
        data = r.data;
        // The actual cost: what was returned (a connection's unused `first` is refunded).
        if (r.first > 1) actual = Math.max(1, Math.ceil(2 + ((requested - 2) * r.returned) / r.first));
      }
    } catch (e) {
      if (!(e instanceof GqlError)) throw e;
      points -= 1;
      return send(res, 200, { errors: [{ message: e.message, extensions: { code: e.code } }], extensions: ext(1) });
    }
    points -= actual;
    call.actual = actual;
    if (injected === 'drop-after') return void req.socket.destroy();
    send(res, 200, { data, extensions: ext(actual) });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  // Seeded orders are Shopify's orders/create sample made consistent (test/fixtures/shopify-variants, SOURCES.md): their
  // lines and totals add up, so a run maps them instead of dead-lettering them on the canonical invariants.
  // Out of test mode too: the order mapping filters test orders.
  const base: Obj = { ...orderNode(fixture('shopify-variants/orders_create.consistent.json').response), test: false };
  return {
    url: `http://127.0.0.1:${port}`,
    accessToken,
    store,
    calls,
    get throttled() {
      return throttled;
    },
    get replays() {
      return replays;
    },
    fail(kind, times = 1, root) {
      for (let i = 0; i < times; i++) failures.push({ kind, root });
    },
    touch() {
      version++;
    },
    seedOrders(n, s) {
      const from = Date.parse(String(typeof s.from === 'number' ? new Date(s.from).toISOString() : s.from));
      const to = Date.parse(String(typeof s.to === 'number' ? new Date(s.to).toISOString() : s.to));
      const per = Math.max(1, s.perTimestamp ?? 3);
      const stamps = Math.max(1, Math.ceil(n / per));
      const step = Math.max(0, Math.floor((to - from) / stamps / 1000)) * 1000;
      const made: Obj[] = [];
      for (let i = 0; i < n; i++) {
        const k = ++seeded;
        const t = dateTime(from + Math.floor(i / per) * step);
        const node = structuredClone(base);
        node.id = `gid://shopify/Order/${5_000_000_000 + k}`;
        node.name = `#${100000 + k}`;
        node.createdAt = t;
        node.updatedAt = t;
        node.processedAt = t;
        node.lineItems.nodes.forEach((l: Obj, j: number) => {
          l.id = `gid://shopify/LineItem/${(5_000_000_000 + k) * 10 + j}`;
        });
        made.push(node);
      }
      // Shuffled in: the store's order is not the read order.
      for (let i = made.length - 1; i > 0; i--) {
        const j = (i * 7919) % (i + 1);
        [made[i], made[j]] = [made[j], made[i]];
      }
      store.orders.push(...made);
      version++;
      return made;
    },
    deleteProduct(id) {
      const i = store.products.findIndex((p) => p.id === id);
      if (i >= 0) store.products.splice(i, 1);
      store.deletionEvents.push({ subjectId: id, subjectType: 'PRODUCT', occurredAt: dateTime(now()) });
      version++;
    },
    available() {
      refill();
      return points;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
