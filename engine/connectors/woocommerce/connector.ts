/**
 * WooCommerce's REST API v3, read and written: https://woocommerce.github.io/woocommerce-rest-api-docs/
 *
 * Plain `fetch` through the kit's HTTP client, not WooCommerce's JavaScript library (@woocommerce/woocommerce-rest-api,
 * an axios wrapper): we need one limiter, one error path and local test servers, and the library brings its own
 * retries and errors and nothing we would use beyond a Basic header.
 *
 * Auth: the consumer key and secret as HTTP Basic over HTTPS (the documented way), or — `queryStringAuth: true`,
 * the documented fallback for servers that drop the Authorization header ("Consumer key is missing") — as
 * consumer_key/consumer_secret in the query string. Over plain HTTP WooCommerce wants OAuth 1.0a signatures, which
 * this connector does not make: an http:// store URL is refused, except on loopback (a test server or a tunnel).
 *
 * Reads, by (modified time, id), in slices (kit/cursor.ts). WooCommerce pages by number (`page`, `per_page` ≤ 100,
 * `X-WP-Total`, `X-WP-TotalPages`), and walking page numbers over a set that changes while it is read loses
 * records: an order edited mid-read moves to the end, every later one moves up a place, and the one that crosses a
 * page boundary is never seen. So a read never walks page numbers. Each request asks again for everything modified
 * at or after the newest time read so far (`orderby=modified&order=asc&modified_after=…&dates_are_gmt=true`;
 * WooCommerce sorts by "post_modified ID", so ties are by id), and within that second skips the records already
 * read by `offset` — minus a few, so the answer must begin with one it has seen. If it does not (records of that
 * second were edited away and the offsets moved) the second is read again from its start. A record edited during the
 * read is read again at its new time, never lost; what moved cannot shift what is left. The cost is one request per
 * page, as page walking.
 *
 * Times: `modified_after` is exclusive and has whole seconds, so a slice from T asks for "after T − 1 s". They go as
 * bare `YYYY-MM-DDTHH:MM:SS` with `dates_are_gmt=true` (UTC): WordPress's date query converts a value that carries an
 * offset into the site's timezone and would then compare that local time with the _gmt column
 * (wp-includes/class-wp-date-query.php, build_mysql_datetime). Record times are the `_gmt` fields (UTC, no offset).
 *
 * Streams, aligned with what the API can read:
 * - orders, products: `/orders`, `/products` by modified time. Trashed records are not listed; their webhooks
 *   (order.deleted, product.deleted: `{ id }` only) are looked up (`lookup`): a trashed record comes back with status
 *   `trash`, one deleted for good as nothing.
 * - variations: `/variations` (WooCommerce 10.3+), each with its `parent_id`. `/products` lists no variations, and a
 *   variation's price and stock are its own, so a catalogue sync needs this stream.
 * - refunds: `/refunds` (WooCommerce 9.0+, all refunds with their `parent_id`), by creation time (a refund is never
 *   edited). Before 9.0 (the route answers rest_no_route), order by order: the orders modified in the slice — a
 *   refund saves its order with a new modified time (wc_create_refund, includes/wc-order-functions.php) — and each
 *   one's `/orders/<id>/refunds` when its `refunds` summary is not empty. A refund names neither its order nor its currency: each record gets `order_id` (the parent) and its
 *   order's `currency` (one `/orders?include=…&_fields=id,currency` per page, cached), which the refund mapping reads
 *   before the template's `currency` parameter.
 * - customers: `/customers` has no modified filter or order (only id, name, registered_date), so each slice walks
 *   them by id (by `offset`, overlapping, as above) and keeps those modified in the slice's window.
 *
 * Writes, through the batch endpoints (`POST /products/batch`, `/products/<id>/variations/batch`,
 * `/customers/batch`, at most 100 objects a request), answered per item: one bad item fails alone. WooCommerce has no
 * idempotency keys, so every write is an upsert by id — the ledger's target id, else the record found by SKU
 * (`/products?sku=a,b` finds products and variations) or e-mail — and a retried create finds what the first attempt
 * made instead of making a second product. A product (or customer) with neither a target id nor a SKU (e-mail) is
 * refused rather than created blind. Stock is set, not adjusted (stock_quantity), so a repeat sets the same number.
 *
 * Rate limits: WooCommerce documents none; hosts and security plugins answer 429 with Retry-After, which the kit's
 * client turns into a pause of the shared limiter. Default 10 requests a second (settings.rateLimit overrides).
 */
import { rememberSecret } from '../secrets.js';
import { compareVersions } from './version.js';
import type { ConnectorContext, OpenConnector, Page, ReadRequest, WriteItem, WriteResult } from '../types.js';
import {
  type CheckReport,
  ConnectorError,
  failure,
  httpClient,
  rateLimiter,
  readSlices,
  type Reply,
  type RequestOptions,
} from '../kit/index.js';

const NAME = 'woocommerce';
/** per_page's maximum. */
const PER_PAGE = 100;
/** The batch endpoints' default limit (woocommerce_rest_batch_items_limit). */
const BATCH = 100;
/** How many records an offset steps back, so that the answer must begin with one already read. */
const OVERLAP_ROWS = 5;
/** The next slice starts this long before the newest record read: one saved a moment late is read again. */
const OVERLAP_MS = 60_000;

type Rec = Record<string, unknown>;

/** The routes the streams need, and the version that added them. */
const ROUTES: Record<string, { stream: string; path: string; by: 'modified' | 'date'; since?: string }> = {
  orders: { stream: 'orders', path: '/wc/v3/orders', by: 'modified' },
  products: { stream: 'products', path: '/wc/v3/products', by: 'modified' },
  variations: { stream: 'variations', path: '/wc/v3/variations', by: 'modified', since: '10.3' },
  refunds: { stream: 'refunds', path: '/wc/v3/refunds', by: 'date', since: '9.0' },
};
const STREAMS = ['orders', 'refunds', 'products', 'variations', 'customers'];

export interface WooOptions {
  /** Per-request timeout (default 30 s). */
  timeoutMs?: number;
}

export function openWooCommerce(ctx: ConnectorContext, options: WooOptions = {}): OpenConnector {
  const s = ctx.settings;
  if (typeof s.url !== 'string' || !/^https?:\/\//i.test(s.url))
    throw failure.permanent('woocommerce: settings.url must be the store URL (https://…)');
  const store = new URL(s.url);
  if (store.protocol === 'http:' && !isLoopback(store.hostname)) {
    throw failure.permanent(
      `woocommerce: settings.url is http://${store.host}: WooCommerce takes consumer keys over plain HTTP only with OAuth 1.0a signatures, which this connector does not make; use the store's https:// URL`,
    );
  }
  const queryAuth = s.queryStringAuth === true;
  const credentials = () => {
    const key = ctx.secret(s.consumerKey);
    const secret = ctx.secret(s.consumerSecret);
    return { key, secret };
  };
  const limiter = rateLimiter(ctx, 'rest', { perSecond: 10, burst: 10, concurrency: 4 });
  const http = httpClient(ctx, {
    name: NAME,
    // The REST API lives below the WordPress site (a store in a subfolder: https://example.com/shop/wp-json/).
    baseUrl: `${store.origin}${store.pathname.replace(/\/+$/, '')}/wp-json`,
    limiter,
    timeoutMs: options.timeoutMs,
    headers: (): Record<string, string> => {
      if (queryAuth) return {};
      const { key, secret } = credentials();
      const basic = Buffer.from(`${key}:${secret}`).toString('base64');
      rememberSecret(basic);
      return { authorization: `Basic ${basic}` };
    },
  });

  /** One request; with query-string auth the key and secret ride along (messages never show a query string). */
  function call(method: string, path: string, o: RequestOptions = {}): Promise<Reply> {
    if (!queryAuth) return http.request(method, path, o);
    const { key, secret } = credentials();
    return http.request(method, path, { ...o, query: { ...o.query, consumer_key: key, consumer_secret: secret } });
  }

  async function list(path: string, query: RequestOptions['query'], signal?: AbortSignal) {
    const reply = await call('GET', path, { query, signal });
    const rows = reply.json<unknown>();
    if (!Array.isArray(rows)) throw failure.permanent(`woocommerce: GET ${path}: the answer is not a list`);
    const total = Number(reply.headers.get('x-wp-total'));
    return { rows: rows as Rec[], total: Number.isFinite(total) ? total : undefined };
  }

  // ---- reads ------------------------------------------------------------------------------------------------------

  /** Set once /refunds answered rest_no_route (WooCommerce before 9.0): refunds are then read order by order. */
  let perOrder = false;

  async function read(req: ReadRequest): Promise<Page> {
    if (req.stream === 'customers') return readCustomers(req);
    if (!ROUTES[req.stream])
      throw failure.permanent(`woocommerce: no stream ${req.stream} (streams: ${STREAMS.join(', ')})`);
    if (req.stream !== 'refunds') return readModified(req, ROUTES[req.stream]);
    if (!perOrder) {
      try {
        const page = await readModified(req, ROUTES.refunds);
        return { ...page, records: await withOrders(page.records as Rec[], req.signal) };
      } catch (e) {
        if (!(e instanceof ConnectorError && e.status === 404 && e.message.includes('/wc/v3/refunds'))) throw e;
        perOrder = true;
      }
    }
    return refundsPerOrder(req);
  }

  /**
   * Refunds before WooCommerce 9.0: the orders modified in the slice (a refund saves its order with a new modified
   * time: wc_create_refund, includes/wc-order-functions.php), and each one's `/orders/<id>/refunds` when it has any.
   */
  async function refundsPerOrder(req: ReadRequest): Promise<Page> {
    const page = await readModified(req, ROUTES.orders, 'id,currency,refunds,date_modified_gmt,date_created_gmt');
    const out: Rec[] = [];
    for (const o of page.records as Rec[]) {
      if (!Array.isArray(o.refunds) || o.refunds.length === 0) continue;
      for (let p = 1; ; p++) {
        const { rows, total } = await list(
          `/wc/v3/orders/${Number(o.id)}/refunds`,
          { per_page: PER_PAGE, page: p },
          req.signal,
        );
        for (const r of rows)
          out.push({
            ...r,
            order_id: Number(o.id),
            ...(typeof o.currency === 'string' ? { currency: o.currency } : {}),
          });
        if (rows.length < PER_PAGE || (total !== undefined && p * PER_PAGE >= total)) break;
      }
    }
    return { ...page, records: out };
  }

  function readModified(req: ReadRequest, route: (typeof ROUTES)[string], fields?: string): Promise<Page> {
    const timeOf = (r: Rec) => (route.by === 'date' ? r.date_created_gmt : (r.date_modified_gmt ?? r.date_created_gmt));
    const [after, before] = route.by === 'date' ? ['after', 'before'] : ['modified_after', 'modified_before'];
    return readSlices<Rec>(req, {
      overlapMs: OVERLAP_MS,
      updatedAt: (r) => isoGmt(timeOf(r)),
      fetch: async ({ since, until, token, limit, signal }) => {
        const pos = token === null || token === undefined ? null : position(token);
        const from = pos ? pos.t : since ? Math.floor(Date.parse(since) / 1000) * 1000 : null;
        const per = Math.max(1, Math.min(PER_PAGE, limit));
        const query = (offset: number) => ({
          orderby: route.by,
          order: 'asc',
          per_page: per,
          offset: offset || undefined,
          dates_are_gmt: 'true',
          _fields: fields,
          [after]: from === null ? undefined : wooTime(from - 1000),
          [before]: until ? wooTime(Math.ceil(Date.parse(until) / 1000) * 1000) : undefined,
        });
        // Fewer than a page back, or a page of them would be all there is to read.
        let offset = pos ? Math.max(0, pos.n - Math.min(OVERLAP_ROWS, per - 1)) : 0;
        let got = await listRoute(route, query(offset), signal);
        if (
          pos &&
          offset > 0 &&
          offset < pos.n &&
          !(got.rows[0] && compare(timeOf(got.rows[0]), got.rows[0].id, pos) <= 0)
        ) {
          // Records of that second that were read are no longer where they were (edited since): the offsets moved.
          offset = 0;
          got = await listRoute(route, query(0), signal);
        }
        const { rows, total } = got;
        const last = rows[rows.length - 1];
        const fresh = pos ? rows.filter((r) => compare(timeOf(r), r.id, pos) > 0) : rows;
        const records = fresh;
        const end = !last || rows.length < per || (total !== undefined && offset + rows.length >= total);
        if (end) return { records, next: null };
        const lt = gmtMs(timeOf(last));
        let n = 0;
        for (let i = rows.length - 1; i >= 0 && gmtMs(timeOf(rows[i])) === lt; i--) n++;
        if (pos && lt === pos.t && n === rows.length) n += offset;
        return { records, next: `${wooTime(lt)}|${Number(last.id)}|${n}` };
      },
    });
  }

  async function listRoute(route: (typeof ROUTES)[string], query: RequestOptions['query'], signal?: AbortSignal) {
    try {
      return await list(route.path, query, signal);
    } catch (e) {
      if (e instanceof ConnectorError && e.status === 404 && route.since && /rest_no_route/.test(e.message)) {
        throw failure.permanent(
          `woocommerce: GET ${route.path}: no such route: the ${route.stream} stream needs WooCommerce ${route.since} or later, which added it; update WooCommerce`,
          404,
        );
      }
      throw e;
    }
  }

  /** Customers: no modified filter, so a slice walks them all by id and keeps what changed in its window. */
  function readCustomers(req: ReadRequest): Promise<Page> {
    const timeOf = (r: Rec) => r.date_modified_gmt ?? r.date_created_gmt;
    return readSlices<Rec>(req, {
      overlapMs: OVERLAP_MS,
      updatedAt: (r) => isoGmt(timeOf(r)),
      fetch: async ({ since, until, token, limit, signal }) => {
        let seen = 0;
        let lastId = 0;
        if (token !== null && token !== undefined) {
          const m = /^c\|(\d+)\|(\d+)$/.exec(String(token));
          if (!m)
            throw failure.expired(
              `woocommerce: customers: a page position this connector did not write (${String(token).slice(0, 40)})`,
            );
          seen = Number(m[1]);
          lastId = Number(m[2]);
        }
        const per = Math.max(1, Math.min(PER_PAGE, limit));
        let offset = Math.max(0, seen - Math.min(OVERLAP_ROWS, per - 1));
        let got = await list(
          '/wc/v3/customers',
          { orderby: 'id', order: 'asc', per_page: per, offset: offset || undefined },
          signal,
        );
        // Customers deleted behind the position moved the offsets: step back until the answer starts with one read.
        const back = offset < seen;
        while (back && lastId && offset > 0 && !(got.rows[0] && Number(got.rows[0].id) <= lastId)) {
          offset = Math.max(0, offset - per);
          got = await list(
            '/wc/v3/customers',
            { orderby: 'id', order: 'asc', per_page: per, offset: offset || undefined },
            signal,
          );
        }
        const { rows, total } = got;
        const lo = since ? Date.parse(since) : Number.NEGATIVE_INFINITY;
        const hi = until ? Date.parse(until) : Number.POSITIVE_INFINITY;
        const records = rows.filter((r) => {
          if (Number(r.id) <= lastId) return false;
          const t = gmtMs(timeOf(r));
          return t >= lo && t < hi;
        });
        const last = rows[rows.length - 1];
        const end = !last || rows.length < per || (total !== undefined && offset + rows.length >= total);
        return { records, next: end ? null : `c|${offset + rows.length}|${Number(last.id)}` };
      },
    });
  }

  /** Refunds with their order's id and currency (the order's, cached: an order's currency never changes). */
  const currencies = new Map<number, string>();
  async function withOrders(refunds: Rec[], signal?: AbortSignal): Promise<Rec[]> {
    const orderOf = (r: Rec) => Number(r.parent_id ?? r.order_id ?? upLink(r));
    const missing = [...new Set(refunds.map(orderOf).filter((id) => id > 0 && !currencies.has(id)))];
    for (let i = 0; i < missing.length; i += PER_PAGE) {
      const ids = missing.slice(i, i + PER_PAGE);
      const { rows } = await list(
        '/wc/v3/orders',
        { include: ids.join(','), per_page: PER_PAGE, status: 'any', _fields: 'id,currency' },
        signal,
      );
      for (const o of rows) if (typeof o.currency === 'string') currencies.set(Number(o.id), o.currency);
    }
    if (currencies.size > 50_000) currencies.clear();
    return refunds.map((r) => {
      const order = orderOf(r);
      const currency = currencies.get(order);
      return { ...r, order_id: order > 0 ? order : undefined, ...(currency ? { currency } : {}) };
    });
  }

  // ---- lookup -----------------------------------------------------------------------------------------------------

  /** A deletion's webhook carries `{ id }`: the record as it is now (trashed: status "trash"), or none (deleted for good). */
  async function lookup(stream: string, reference: Rec, signal?: AbortSignal): Promise<unknown[]> {
    const id = Number(reference.id);
    if (!Number.isInteger(id) || id <= 0) throw failure.permanent(`woocommerce: ${stream}: the reference has no id`);
    const path =
      stream === 'orders'
        ? `/wc/v3/orders/${id}`
        : stream === 'products' || stream === 'variations'
          ? `/wc/v3/products/${id}`
          : stream === 'customers'
            ? `/wc/v3/customers/${id}`
            : undefined;
    if (!path) throw failure.permanent(`woocommerce: no lookup for stream ${stream}`);
    const reply = await call('GET', path, { signal, allow: [404, 410] });
    if (reply.status !== 200) return [];
    return [reply.json()];
  }

  // ---- writes -----------------------------------------------------------------------------------------------------

  async function write(entity: string, items: WriteItem[], signal?: AbortSignal): Promise<WriteResult[]> {
    const results: WriteResult[] = [];
    for (let i = 0; i < items.length; i += BATCH) {
      const chunk = items.slice(i, i + BATCH);
      if (entity === 'product') results.push(...(await writeProducts(chunk, signal)));
      else if (entity === 'price' || entity === 'stock') results.push(...(await writeBySku(entity, chunk, signal)));
      else if (entity === 'customer') results.push(...(await writeCustomers(chunk, signal)));
      else throw failure.permanent(`woocommerce: no entity ${entity} (entities: product, price, stock, customer)`);
    }
    return results;
  }

  /** The products and variations with these SKUs (`/products?sku=` finds both), by SKU. */
  async function bySku(skus: string[], signal?: AbortSignal): Promise<Map<string, Rec>> {
    const found = new Map<string, Rec>();
    const unique = [...new Set(skus.filter((x) => x))];
    // A comma-separated list: SKUs with a comma in them are looked up one by one.
    const plain = unique.filter((x) => !x.includes(','));
    const lists = [...chunks(plain, PER_PAGE).map((c) => c.join(',')), ...unique.filter((x) => x.includes(','))];
    for (const sku of lists) {
      const { rows } = await list(
        '/wc/v3/products',
        { sku, per_page: PER_PAGE, status: 'any', _fields: 'id,sku,type,parent_id,status,variations' },
        signal,
      );
      for (const r of rows) if (typeof r.sku === 'string' && r.sku) found.set(r.sku, r);
    }
    return found;
  }

  /** Prices and stock: each SKU's product or variation updated in place. */
  async function writeBySku(
    entity: 'price' | 'stock',
    items: WriteItem[],
    signal?: AbortSignal,
  ): Promise<WriteResult[]> {
    const results: (WriteResult | undefined)[] = items.map(() => undefined);
    const currency = entity === 'price' ? await storeCurrency(signal) : undefined;
    const wanted: { i: number; sku: string; body: Rec }[] = [];
    items.forEach((item, i) => {
      const r = item.record;
      const sku = typeof r.sku === 'string' ? r.sku : '';
      if (!sku) return void (results[i] = refused(`a ${entity} needs a sku`));
      if (entity === 'price') {
        if (r.priceList !== undefined && r.priceList !== null)
          return void (results[i] = refused(
            `WooCommerce keeps one price per product: price list ${String(r.priceList)} cannot be written`,
          ));
        if (currency && r.currency !== currency)
          return void (results[i] = refused(`the price is in ${String(r.currency)}, the store sells in ${currency}`));
        wanted.push({ i, sku, body: prices(String(r.amount), r.compareAt) });
      } else {
        if (typeof s.locationId === 'string' && r.locationId !== s.locationId)
          return void (results[i] = refused(
            `location ${String(r.locationId)} is not the store's stock location (settings.locationId ${s.locationId})`,
          ));
        if (!Number.isInteger(r.available)) return void (results[i] = refused('available must be a whole number'));
        wanted.push({ i, sku, body: { manage_stock: true, stock_quantity: r.available } });
      }
    });
    const found = await bySku(
      wanted.map((w) => w.sku),
      signal,
    );
    const groups = new Map<string, { i: number; body: Rec }[]>();
    for (const w of wanted) {
      const target = found.get(w.sku);
      if (!target) {
        results[w.i] = refused(`no product or variation has SKU ${w.sku}`);
        continue;
      }
      const parent = Number(target.parent_id ?? 0);
      const path =
        target.type === 'variation' && parent > 0
          ? `/wc/v3/products/${parent}/variations/batch`
          : '/wc/v3/products/batch';
      const g = groups.get(path) ?? [];
      g.push({ i: w.i, body: { id: Number(target.id), ...w.body } });
      groups.set(path, g);
    }
    for (const [path, g] of groups) {
      const out = await batch(path, { update: g.map((x) => x.body) }, signal);
      g.forEach((x, k) => {
        results[x.i] = outcome(out.update?.[k]);
      });
    }
    return results.map((r) => r ?? refused('not written'));
  }

  let sells: string | null | undefined;
  /** The store's currency (null when the key may not read settings: the check is then left to WooCommerce). */
  async function storeCurrency(signal?: AbortSignal): Promise<string | null> {
    if (sells !== undefined) return sells;
    const reply = await call('GET', '/wc/v3/settings/general/woocommerce_currency', { signal, allow: [401, 403, 404] });
    const v = reply.status === 200 ? reply.json<Rec>()?.value : undefined;
    sells = typeof v === 'string' && v ? v : null;
    return sells;
  }

  /** Products: a simple product, or a variable one with a variation per variant, upserted by target id or SKU. */
  async function writeProducts(items: WriteItem[], signal?: AbortSignal): Promise<WriteResult[]> {
    const results: (WriteResult | undefined)[] = items.map(() => undefined);
    const skusOf = (r: Rec) =>
      [r.sku, ...variantsOf(r).map((v) => v.sku)].filter((x): x is string => typeof x === 'string' && x !== '');
    const found = await bySku(
      items.flatMap((i) => skusOf(i.record)),
      signal,
    );
    const create: { i: number; body: Rec }[] = [];
    const update: { i: number; body: Rec }[] = [];
    const plans: { i: number; variants: Rec[] }[] = [];
    items.forEach((item, i) => {
      const p = item.record;
      const variants = variantsOf(p);
      const variable = variants.length > 1;
      const sku =
        typeof p.sku === 'string' && p.sku ? p.sku : !variable ? (variants[0]?.sku as string | undefined) : undefined;
      let id = item.targetId && /^\d+$/.test(item.targetId) ? Number(item.targetId) : undefined;
      if (id === undefined && sku) {
        const hit = found.get(sku);
        if (hit?.type === 'variation')
          return void (results[i] = refused(
            `SKU ${sku} is a variation's (of product ${String(hit.parent_id)}), not a product's`,
          ));
        if (hit) id = Number(hit.id);
      }
      if (id === undefined && variable) {
        // A retried create: the first attempt's variations name their parent.
        const hit = variants.map((v) => found.get(String(v.sku ?? ''))).find((h) => h?.type === 'variation');
        if (hit) id = Number(hit.parent_id);
      }
      if (id === undefined && !sku && !(variable && variants.some((v) => v.sku))) {
        return void (results[i] = refused(
          'a product needs a SKU (or a known id) to be written: WooCommerce has no idempotency keys, and a retry would create it twice',
        ));
      }
      const body = productBody(p, variants, variable, sku);
      if (id === undefined) create.push({ i, body });
      else update.push({ i, body: { id, ...body } });
      if (variable) plans.push({ i, variants });
    });
    const ids = new Map<number, number>();
    await upsert('/wc/v3/products/batch', create, update, results, signal);
    for (const [i, r] of results.entries()) if (r?.ok) ids.set(i, Number(r.targetId));
    // Variations, for the variable products saved: each variant upserted under its parent by SKU.
    for (const plan of plans) {
      const parent = ids.get(plan.i);
      if (parent === undefined) continue;
      const c: Rec[] = [];
      const u: Rec[] = [];
      for (const v of plan.variants) {
        const body = variationBody(v);
        const hit = found.get(String(v.sku ?? ''));
        if (hit && hit.type === 'variation' && Number(hit.parent_id) === parent)
          u.push({ id: Number(hit.id), ...body });
        else c.push(body);
      }
      const problems: WriteResult[] = [];
      for (let k = 0; k < Math.max(c.length, u.length); k += BATCH / 2) {
        const out = await batch(
          `/wc/v3/products/${parent}/variations/batch`,
          { create: c.slice(k, k + BATCH / 2), update: u.slice(k, k + BATCH / 2) },
          signal,
        );
        for (const e of [...(out.create ?? []), ...(out.update ?? [])]) {
          const r = outcome(e);
          if (!r.ok) problems.push(r);
        }
      }
      if (problems.length) {
        const p = problems[0] as Extract<WriteResult, { ok: false }>;
        results[plan.i] = {
          ok: false,
          transient: p.transient,
          error: `product ${parent} saved, a variation not: ${p.error}`,
        };
      }
    }
    return results.map((r) => r ?? refused('not written'));
  }

  /** Customers, upserted by target id or e-mail. */
  async function writeCustomers(items: WriteItem[], signal?: AbortSignal): Promise<WriteResult[]> {
    const results: (WriteResult | undefined)[] = items.map(() => undefined);
    const create: { i: number; body: Rec }[] = [];
    const update: { i: number; body: Rec }[] = [];
    for (const [i, item] of items.entries()) {
      const c = item.record;
      const email = typeof c.email === 'string' ? c.email : undefined;
      let id = item.targetId && /^\d+$/.test(item.targetId) ? Number(item.targetId) : undefined;
      if (id === undefined && email) {
        const { rows } = await list(
          '/wc/v3/customers',
          { email, role: 'all', per_page: 1, _fields: 'id,email' },
          signal,
        );
        if (rows[0]) id = Number(rows[0].id);
      }
      if (id === undefined && !email) {
        results[i] = refused(
          'a customer needs an e-mail (or a known id) to be written: WooCommerce creates customers by e-mail',
        );
        continue;
      }
      const body = customerBody(c);
      if (id === undefined) create.push({ i, body });
      else update.push({ i, body: { id, ...body } });
    }
    await upsert('/wc/v3/customers/batch', create, update, results, signal);
    return results.map((r) => r ?? refused('not written'));
  }

  /** Creates and updates through a batch endpoint, 100 objects a request, each item's result in its place. */
  async function upsert(
    path: string,
    create: { i: number; body: Rec }[],
    update: { i: number; body: Rec }[],
    results: (WriteResult | undefined)[],
    signal?: AbortSignal,
  ): Promise<void> {
    for (let k = 0; k < Math.max(create.length, update.length); k += BATCH / 2) {
      const c = create.slice(k, k + BATCH / 2);
      const u = update.slice(k, k + BATCH / 2);
      const out = await batch(path, { create: c.map((x) => x.body), update: u.map((x) => x.body) }, signal);
      c.forEach((x, n) => {
        results[x.i] = outcome(out.create?.[n]);
      });
      u.forEach((x, n) => {
        results[x.i] = outcome(out.update?.[n]);
      });
    }
  }

  /**
   * One batch request. A failure of the whole call (auth, a 5xx, a dropped connection, throttling) is thrown, so
   * the pipeline retries or stops the run instead of dead-lettering each record for the call's fault.
   */
  async function batch(
    path: string,
    body: { create?: Rec[]; update?: Rec[] },
    signal?: AbortSignal,
  ): Promise<BatchAnswer> {
    const json: Rec = {};
    if (body.create?.length) json.create = body.create;
    if (body.update?.length) json.update = body.update;
    if (!json.create && !json.update) return {};
    const reply = await call('POST', path, { json, signal });
    const out = reply.json<BatchAnswer>();
    if (!out || typeof out !== 'object')
      throw failure.permanent(`woocommerce: POST ${path}: the answer is not a batch result`);
    return out;
  }

  // ---- check ------------------------------------------------------------------------------------------------------

  async function check(streams: string[], signal?: AbortSignal): Promise<CheckReport> {
    const report: CheckReport = { streams: [], notes: [] };
    const notes = report.notes as string[];
    // The site (public): is it WordPress, with WooCommerce's REST API?
    const root = await http.request('GET', '/', {
      query: { _fields: 'name,url,home,namespaces' },
      signal,
      allow: [404],
    });
    const site = root.status === 200 ? root.json<Rec>() : undefined;
    if (!site || !Array.isArray(site.namespaces))
      throw failure.permanent(
        `woocommerce: ${store.origin}${store.pathname.replace(/\/+$/, '')}/wp-json/ is not a WordPress REST API (is the URL the store's, and are permalinks other than Plain?)`,
      );
    if (!site.namespaces.includes('wc/v3'))
      throw failure.permanent(
        'woocommerce: the site has no WooCommerce REST API v3 (wc/v3): is WooCommerce 3.5 or later active?',
      );
    report.identity = `${typeof site.name === 'string' && site.name ? decodeEntities(site.name) : store.host} (${store.host}${store.pathname.replace(/\/+$/, '')})`;

    // Version and currency (system_status needs a key of a user who manages WooCommerce).
    const status = await call('GET', '/wc/v3/system_status', {
      query: { _fields: 'environment,settings' },
      signal,
      allow: [401, 403],
    });
    let version: string | undefined;
    if (status.status === 200) {
      const st = status.json<{ environment?: Rec; settings?: Rec }>();
      version = typeof st.environment?.version === 'string' ? st.environment.version : undefined;
      if (typeof st.settings?.currency === 'string') notes.push(`store currency ${st.settings.currency}`);
    } else if (/woocommerce_rest_authentication_error/.test(status.text)) {
      throw http.failure(status);
    } else {
      notes.push('system_status is not readable with this key (its user cannot manage WooCommerce): version unknown');
    }
    const wanted = streams.length ? streams : STREAMS;
    const old = version
      ? wanted.filter((x) => ROUTES[x]?.since && compareVersions(version as string, ROUTES[x].since as string) < 0)
      : [];
    report.apiVersion = {
      version: version ? `wc/v3 (WooCommerce ${version})` : 'wc/v3',
      ...(old.length
        ? {
            warning: `WooCommerce ${version} cannot list ${old.map((x) => `${x} (needs ${ROUTES[x].since})`).join(', ')}`,
          }
        : {}),
    };

    // One page of each stream; the totals come from X-WP-Total.
    let refusedAll = wanted.length > 0;
    let refusal: ConnectorError | undefined;
    for (const stream of wanted) {
      const path = stream === 'customers' ? '/wc/v3/customers' : ROUTES[stream]?.path;
      if (!path) {
        report.streams.push({ stream, ok: false, error: `no stream ${stream}` });
        refusedAll = false;
        continue;
      }
      try {
        let reply = await call('GET', path, {
          query: { per_page: 1 },
          signal,
          allow: stream === 'refunds' ? [404] : [],
        });
        if (reply.status === 404) {
          // Before WooCommerce 9.0: refunds are read order by order (read, refundsPerOrder).
          notes.push('refunds are read order by order: this WooCommerce predates /refunds (9.0)');
          reply = await call('GET', '/wc/v3/orders', { query: { per_page: 1, _fields: 'id' }, signal });
          report.streams.push({ stream, ok: true });
          refusedAll = false;
          continue;
        }
        const total = Number(reply.headers.get('x-wp-total'));
        report.streams.push({
          stream,
          ok: true,
          records: Number.isFinite(total) ? total : reply.json<unknown[]>().length,
        });
        refusedAll = false;
      } catch (e) {
        if (!(e instanceof ConnectorError)) throw e;
        if (e.kind === 'transient' || e.kind === 'throttled') throw e;
        if (e.kind === 'auth') refusal ??= e;
        else refusedAll = false;
        report.streams.push({ stream, ok: false, error: e.message });
      }
    }
    if (refusedAll && refusal) throw refusal;

    // Read or read/write: an empty batch is refused by a read-only key before anything is done.
    const probe = await call('POST', '/wc/v3/products/batch', { json: {}, signal, allow: [401, 403] });
    const granted = [...(report.streams.some((x) => x.ok) ? ['read'] : []), ...(probe.status === 200 ? ['write'] : [])];
    report.scopes = { granted, missing: granted.includes('read') ? [] : ['read'] };
    if (probe.status !== 200)
      notes.push('the key cannot write (Read permission): flows writing to this store will fail');
    return report;
  }

  return { connector: NAME, read, lookup, check, write };
}

// ---- records → WooCommerce ----------------------------------------------------------------------------------------

interface BatchAnswer {
  create?: unknown[];
  update?: unknown[];
}

const variantsOf = (p: Rec): Rec[] => (Array.isArray(p.variants) ? (p.variants as Rec[]) : []);

const STATUS: Record<string, string> = { active: 'publish', draft: 'draft', archived: 'private' };

/** A selling price and, when higher, the price before markdown: WooCommerce's regular and sale prices. */
function prices(amount: string | undefined, compareAt: unknown): Rec {
  if (amount === undefined || amount === 'undefined') return {};
  const was = typeof compareAt === 'string' || typeof compareAt === 'number' ? String(compareAt) : undefined;
  if (was !== undefined && Number(was) > Number(amount)) return { regular_price: was, sale_price: amount };
  return { regular_price: amount, sale_price: '' };
}

function productBody(p: Rec, variants: Rec[], variable: boolean, sku: string | undefined): Rec {
  const body: Rec = { name: p.title, type: variable ? 'variable' : 'simple' };
  if (sku) body.sku = sku;
  if (typeof p.description === 'string') body.description = p.description;
  if (typeof p.status === 'string' && STATUS[p.status]) body.status = STATUS[p.status];
  if (!variable) {
    const v = variants[0];
    if (v) Object.assign(body, v.price === undefined ? {} : prices(String(v.price), v.compareAtPrice), weightOf(v));
    return body;
  }
  // The attributes the variations choose from: each option name with every value a variant has.
  const options = new Map<string, Set<string>>();
  for (const v of variants)
    for (const [name, value] of Object.entries((v.options ?? {}) as Record<string, string>)) {
      const set = options.get(name) ?? new Set<string>();
      set.add(value);
      options.set(name, set);
    }
  body.attributes = [...options].map(([name, values]) => ({
    name,
    options: [...values],
    visible: true,
    variation: true,
  }));
  return body;
}

function variationBody(v: Rec): Rec {
  const body: Rec = { sku: v.sku };
  if (v.price !== undefined) Object.assign(body, prices(String(v.price), v.compareAtPrice));
  Object.assign(body, weightOf(v));
  body.attributes = Object.entries((v.options ?? {}) as Record<string, string>).map(([name, option]) => ({
    name,
    option,
  }));
  return body;
}

const weightOf = (v: Rec): Rec => (typeof v.weight === 'number' ? { weight: String(v.weight) } : {});

function customerBody(c: Rec): Rec {
  const addresses = Array.isArray(c.addresses) ? (c.addresses as Rec[]) : [];
  const address = (a: Rec | undefined): Rec =>
    a
      ? {
          first_name: a.firstName ?? c.firstName ?? '',
          last_name: a.lastName ?? c.lastName ?? '',
          company: a.company ?? '',
          address_1: a.line1 ?? '',
          address_2: a.line2 ?? '',
          city: a.city ?? '',
          state: a.regionCode ?? a.region ?? '',
          postcode: a.postalCode ?? '',
          country: a.country ?? '',
        }
      : {};
  const body: Rec = {};
  if (typeof c.email === 'string') body.email = c.email;
  if (typeof c.firstName === 'string') body.first_name = c.firstName;
  if (typeof c.lastName === 'string') body.last_name = c.lastName;
  const billing = address(addresses[0]);
  if (typeof c.email === 'string') billing.email = c.email;
  const phone = c.phone ?? addresses[0]?.phone;
  if (typeof phone === 'string') billing.phone = phone;
  if (Object.keys(billing).length) body.billing = billing;
  const shipping = address(addresses[1] ?? addresses[0]);
  if (Object.keys(shipping).length) body.shipping = shipping;
  return body;
}

/** A batch answer's entry as a write result: the object saved, or `{ id, error: { code, message, data: { status } } }`. */
function outcome(entry: unknown): WriteResult {
  if (!entry || typeof entry !== 'object')
    return { ok: false, transient: true, error: 'woocommerce: the batch answer has no entry for this item' };
  const e = entry as { id?: unknown; error?: { code?: unknown; message?: unknown; data?: { status?: unknown } } };
  if (e.error) {
    const status = Number(e.error.data?.status);
    const transient = status === 408 || status === 429 || status >= 500;
    return {
      ok: false,
      transient,
      error: `woocommerce: ${String(e.error.code ?? 'error')}: ${String(e.error.message ?? '').slice(0, 200)}`,
    };
  }
  if (e.id === undefined || e.id === null || Number(e.id) <= 0)
    return { ok: false, transient: false, error: 'woocommerce: the batch answer has no id for this item' };
  return { ok: true, targetId: String(e.id) };
}

const refused = (why: string): WriteResult => ({ ok: false, transient: false, error: `woocommerce: ${why}` });

// ---- helpers ----------------------------------------------------------------------------------------------------

/** A position within a slice: the last record read (its second and id) and how many of that second were read. */
interface Position {
  t: number;
  id: number;
  n: number;
}

function position(token: unknown): Position {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\|(\d+)\|(\d+)$/.exec(String(token));
  if (!m)
    throw failure.expired(`woocommerce: a page position this connector did not write (${String(token).slice(0, 40)})`);
  return { t: Date.parse(`${m[1]}Z`), id: Number(m[2]), n: Number(m[3]) };
}

/** (time, id) against a position. */
function compare(time: unknown, id: unknown, p: Position): number {
  const t = gmtMs(time);
  return t !== p.t ? t - p.t : Number(id) - p.id;
}

/** WooCommerce's date format, `YYYY-MM-DDTHH:MM:SS` (UTC with dates_are_gmt). */
const wooTime = (ms: number): string => new Date(ms).toISOString().slice(0, 19);

/** A `_gmt` field (UTC without an offset) as ms. */
const gmtMs = (v: unknown): number => (typeof v === 'string' && v ? Date.parse(`${v.slice(0, 19)}Z`) : Number.NaN);

/** A `_gmt` field as ISO-8601 UTC, for the cursor. */
const isoGmt = (v: unknown): string | null => {
  const ms = gmtMs(v);
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
};

const upLink = (r: Rec): number | undefined => {
  const href = (r._links as { up?: { href?: string }[] } | undefined)?.up?.[0]?.href;
  const m = href ? /\/orders\/(\d+)\/?$/.exec(href) : null;
  return m ? Number(m[1]) : undefined;
};

const isLoopback = (host: string): boolean => host === 'localhost' || host === '[::1]' || /^127\./.test(host);

function chunks<T>(xs: T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}

const decodeEntities = (t: string): string =>
  t
    .replace(/&amp;/g, '&')
    .replace(/&#0?39;|&#x27;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>');
