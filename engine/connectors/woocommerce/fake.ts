/**
 * A fake WooCommerce store: a real HTTP server on 127.0.0.1 that answers the REST API v3 as WooCommerce does, for the
 * connector's tests and the demo. It is fed with real payloads (test/fixtures/woocommerce, cloned with `clones`), and
 * it follows the documented behaviour, not the connector's assumptions:
 *
 * - Auth, as WC_REST_Authentication does it: HTTP Basic (key as user, secret as password) or consumer_key /
 *   consumer_secret in the query string; an unknown key is no user at all, so the endpoint's own permission check
 *   answers 401 `woocommerce_rest_cannot_view` ("Sorry, you cannot list resources."), a known key with a wrong secret
 *   401 `woocommerce_rest_authentication_error` ("Consumer secret is invalid.") with a WWW-Authenticate header, and a
 *   read-only key that writes 401 `woocommerce_rest_authentication_error` ("The API key provided does not have write
 *   permissions."). https://woocommerce.github.io/woocommerce-rest-api-docs/#authentication-over-https and
 *   woocommerce/woocommerce plugins/woocommerce/includes/class-wc-rest-authentication.php (perform_basic_authentication,
 *   check_permissions, send_unauthorized_headers). Plain HTTP is served as if TLS ended at a proxy (is_ssl()).
 * - Errors are `{ code, message, data: { status } }`: https://woocommerce.github.io/woocommerce-rest-api-docs/#errors
 * - Pages: `page` (1-based), `per_page` 1..100 (else 400 `rest_invalid_param`), `offset`; `X-WP-Total` and
 *   `X-WP-TotalPages` on every list, a Link header with next/prev; a page past the end is an empty list, not an error.
 *   https://woocommerce.github.io/woocommerce-rest-api-docs/#pagination, and WC_REST_CRUD_Controller::get_items /
 *   get_collection_params (includes/rest-api/Controllers/Version3/class-wc-rest-crud-controller.php).
 * - Order: `orderby` (date, id, modified, include, title, slug; customers: id, include, name, registered_date) and
 *   `order` (default desc; customers asc); date and modified sort by "<column> ID" in the same direction
 *   (class-wc-rest-crud-controller.php prepare_objects_query: "Add ID to orderby for consistency with pagination").
 * - Filters: `after`/`before` (created) and `modified_after`/`modified_before`, EXCLUSIVE (WP_Date_Query's default,
 *   `inclusive` false), on the `_gmt` column when `dates_are_gmt=true`, else on the site's local time. A value that
 *   carries an offset ("…Z") is converted to the site's timezone first and then compared with whichever column, as
 *   WP_Date_Query::build_mysql_datetime does ("Assume local timezone if not provided", WordPress
 *   wp-includes/class-wp-date-query.php) — so with dates_are_gmt a "Z" time is wrong by the site's offset, and the
 *   connector must send bare `YYYY-MM-DDTHH:MM:SS`. `include`, `sku` (comma-separated, and it finds variations too:
 *   class-wc-rest-products-v2-controller.php "post_type product, product_variation" when sku is given), `type`,
 *   `parent` (variations), `email`, `role` (customers), `_fields` (top-level keys).
 * - Customers have no modified filter or order (WC_REST_Customers_V1_Controller::get_items: orderby id, include,
 *   name, registered_date): https://woocommerce.github.io/woocommerce-rest-api-docs/#list-all-customers
 * - Refunds: per order `/orders/<id>/refunds` (the refund names neither its order nor its currency,
 *   https://woocommerce.github.io/woocommerce-rest-api-docs/#order-refund-properties), and all refunds at `/refunds`
 *   with `parent_id` since WooCommerce 9.0 (class-wc-rest-refunds-controller.php, @since 9.0.0); all variations at
 *   `/variations` with `parent_id` since 10.3 (class-wc-rest-variations-controller.php, @since 10.3.0). An older
 *   `version` answers those routes 404 `rest_no_route`.
 * - Batch: POST `<resource>/batch` with create/update/delete, at most 100 objects in all (else 413
 *   `woocommerce_rest_request_entity_too_large`), answered per item — the object, or `{ id, error: { code, message,
 *   data } }` — so one bad item never fails the batch (WC_REST_Controller::batch_items;
 *   https://woocommerce.github.io/woocommerce-rest-api-docs/#batch-update-products). A duplicate SKU is
 *   `product_invalid_sku` "Invalid or duplicated SKU."; an unknown id `woocommerce_rest_product_invalid_id`. There
 *   are no idempotency keys: a repeated create creates again.
 * - Throttling: WooCommerce documents no rate limit; hosts and security plugins answer 429 with Retry-After. The
 *   fake does so when `rateLimit` is given (a token bucket; Retry-After in whole seconds, as hosts send it).
 * - Failures on demand (`fail`): a 500 (`internal_server_error`, WordPress's fatal-error handler), a 503 with
 *   Retry-After (maintenance mode), or a dropped connection (socket destroyed, no answer).
 * - `system_status` (environment.version, settings.currency), `settings/general/woocommerce_currency` and
 *   `/wp-json/` (the site's name, its namespaces), for `check` and the currency of price writes
 *   (https://woocommerce.github.io/woocommerce-rest-api-docs/#system-status, #retrieve-a-setting-option).
 *
 * Records keep their REST shape; the fake keeps each one's modified time (date_modified_gmt, or date_created_gmt for
 * refunds) and a `touch` moves a record to now, as an edit in wp-admin would, mid-read if a test likes.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { compareVersions } from './version.js';

export type WooResource = 'orders' | 'refunds' | 'products' | 'variations' | 'customers';
type Rec = Record<string, unknown> & { id: number };

export interface FakeWooOptions {
  consumerKey?: string;
  consumerSecret?: string;
  /** The key's permission (WooCommerce > Settings > Advanced > REST API). Default read_write. */
  permissions?: 'read' | 'write' | 'read_write';
  /** The WooCommerce version system_status reports; before 9.0 there is no /refunds, before 10.3 no /variations. */
  version?: string;
  /** The site's timezone, minutes east of UTC (default −180, the fixtures' −03:00). */
  siteOffsetMinutes?: number;
  /** The store currency (settings.currency in system_status). */
  currency?: string;
  /** A host's rate limit: past it, 429 with Retry-After. */
  rateLimit?: { perSecond: number; burst?: number };
  /** The batch endpoints' limit (the woocommerce_rest_batch_items_limit filter; default 100). */
  batchLimit?: number;
  /** The clock, for the modified times of writes and touches. */
  now?: () => number;
}

export interface FakeCall {
  method: string;
  path: string;
  query: Record<string, string>;
  status: number;
  /** When it arrived (ms since the epoch). */
  at: number;
  /** Items in a batch request (create + update + delete). */
  items?: number;
}

export type FailMode = 500 | 503 | 'drop';

export interface FakeWoo {
  readonly url: string;
  readonly calls: FakeCall[];
  /** Adds (or replaces, by id) records of a resource, in their REST shape. */
  seed(resource: WooResource, records: Record<string, unknown>[]): void;
  /** A stored record (the live object: tests may read it). */
  get(resource: WooResource, id: number): Rec | undefined;
  all(resource: WooResource): Rec[];
  /** An edit in wp-admin: the record's modified time becomes now (or `at`), with `patch` applied. */
  touch(resource: WooResource, id: number, patch?: Record<string, unknown>, at?: number): void;
  /** Deletes a record for good (force=true). */
  remove(resource: WooResource, id: number): void;
  /** The next `n` requests fail so. */
  fail(n: number, mode: FailMode): void;
  /** Called after each list request is answered (tests change the store mid-read here). */
  onList?: (call: FakeCall) => void;
  close(): Promise<void>;
}

const API = '/wp-json/wc/v3';

export async function startFakeWoo(o: FakeWooOptions = {}): Promise<FakeWoo> {
  const key = o.consumerKey ?? 'ck_fake_0123456789abcdef0123456789abcdef01234567';
  const secret = o.consumerSecret ?? 'cs_fake_76543210fedcba9876543210fedcba9876543210';
  const permissions = o.permissions ?? 'read_write';
  const version = o.version ?? '10.3.0';
  const siteOffsetMs = (o.siteOffsetMinutes ?? -180) * 60_000;
  const batchLimit = o.batchLimit ?? 100;
  const now = o.now ?? Date.now;
  const store: Record<WooResource, Map<number, Rec>> = {
    orders: new Map(),
    refunds: new Map(),
    products: new Map(),
    variations: new Map(),
    customers: new Map(),
  };
  let nextId = 100_000;
  const calls: FakeCall[] = [];
  const failures: FailMode[] = [];
  const sockets = new Set<Socket>();
  let tokens = o.rateLimit ? (o.rateLimit.burst ?? o.rateLimit.perSecond) : 0;
  let refilled = Date.now();

  const atLeast = (v: string) => compareVersions(version, v) >= 0;

  // ---- records ---------------------------------------------------------------------------------------------------

  const modifiedMs = (r: Rec, resource: WooResource): number =>
    gmt(resource === 'refunds' ? r.date_created_gmt : (r.date_modified_gmt ?? r.date_created_gmt));
  const createdMs = (r: Rec): number => gmt(r.date_created_gmt);

  function stamp(r: Rec, at: number, created: boolean): void {
    const g = wooTime(at);
    const local = wooTime(at + siteOffsetMs);
    if (created) Object.assign(r, { date_created: local, date_created_gmt: g });
    if ('date_modified_gmt' in r || created) Object.assign(r, { date_modified: local, date_modified_gmt: g });
  }

  // ---- the server ------------------------------------------------------------------------------------------------

  const server = createServer((req, res) => {
    handle(req, res).catch((e) => {
      if (!res.headersSent)
        send(res, 500, { code: 'internal_server_error', message: String(e), data: { status: 500 } });
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const u = new URL(req.url ?? '/', url);
    const query = Object.fromEntries(u.searchParams);
    const call: FakeCall = { method: req.method ?? 'GET', path: u.pathname, query, status: 0, at: Date.now() };
    calls.push(call);
    const body = await readBody(req);
    const reply = (status: number, json: unknown, headers: Record<string, string> = {}) => {
      call.status = status;
      send(res, status, json, headers);
    };

    const mode = failures.shift();
    if (mode === 'drop') {
      call.status = -1;
      req.socket.destroy();
      return;
    }
    if (mode === 500)
      return reply(500, wpError('internal_server_error', 'There has been a critical error on this website.', 500));
    if (mode === 503)
      return reply(503, wpError('maintenance', 'Briefly unavailable for scheduled maintenance.', 503), {
        'retry-after': '1',
      });

    if (o.rateLimit) {
      const t = Date.now();
      const burst = o.rateLimit.burst ?? o.rateLimit.perSecond;
      tokens = Math.min(burst, tokens + ((t - refilled) / 1000) * o.rateLimit.perSecond);
      refilled = t;
      if (tokens < 1) {
        const wait = Math.max(1, Math.ceil((1 - tokens) / o.rateLimit.perSecond));
        return reply(429, wpError('too_many_requests', 'Too many requests, slow down.', 429), {
          'retry-after': String(wait),
        });
      }
      tokens -= 1;
    }

    if (u.pathname === '/wp-json' || u.pathname === '/wp-json/') {
      return reply(
        200,
        pick(
          {
            name: 'Fake Woo Store',
            description: 'Just another WordPress site',
            url,
            home: url,
            namespaces: ['wp/v2', 'wc/v3'],
          },
          query._fields,
        ),
      );
    }
    if (!u.pathname.startsWith(`${API}/`))
      return reply(404, wpError('rest_no_route', 'No route was found matching the URL and request method.', 404));

    // Authentication (WC_REST_Authentication::perform_basic_authentication): the query string first, then Basic.
    let user: { permissions: string } | undefined;
    let ck = query.consumer_key;
    let cs = query.consumer_secret;
    if (!(ck && cs)) {
      const m = /^Basic\s+(.+)$/i.exec(String(req.headers.authorization ?? ''));
      if (m) {
        const decoded = Buffer.from(m[1], 'base64').toString('utf8');
        const i = decoded.indexOf(':');
        ck = decoded.slice(0, i);
        cs = decoded.slice(i + 1);
      }
    }
    if (ck && cs && ck === key) {
      if (cs !== secret) {
        return reply(401, wpError('woocommerce_rest_authentication_error', 'Consumer secret is invalid.', 401), {
          'www-authenticate':
            'Basic realm="WooCommerce API. Use a consumer key in the username field and a consumer secret in the password field."',
        });
      }
      user = { permissions };
    }
    const method = req.method ?? 'GET';
    if (user) {
      const reading = method === 'GET' || method === 'HEAD';
      if (reading && permissions === 'write')
        return reply(
          401,
          wpError('woocommerce_rest_authentication_error', 'The API key provided does not have read permissions.', 401),
        );
      if (!reading && permissions === 'read')
        return reply(
          401,
          wpError(
            'woocommerce_rest_authentication_error',
            'The API key provided does not have write permissions.',
            401,
          ),
        );
    }

    const route = u.pathname.slice(API.length).replace(/\/+$/, '');
    const parts = route.split('/').filter(Boolean);
    const denied = (what: 'list' | 'view' | 'batch') =>
      reply(
        401,
        what === 'list'
          ? wpError('woocommerce_rest_cannot_view', 'Sorry, you cannot list resources.', 401)
          : what === 'view'
            ? wpError('woocommerce_rest_cannot_view', 'Sorry, you cannot view this resource.', 401)
            : wpError(
                'woocommerce_rest_cannot_batch',
                'Sorry, you are not allowed to batch manipulate this resource.',
                401,
              ),
      );
    const noRoute = () =>
      reply(404, wpError('rest_no_route', 'No route was found matching the URL and request method.', 404));

    if (method === 'GET') {
      if (route === '/system_status') {
        if (!user) return denied('view');
        return reply(
          200,
          pick(
            {
              environment: { home_url: url, site_url: url, version, wp_version: '6.8.1', external_object_cache: false },
              database: {},
              active_plugins: [],
              theme: {},
              settings: { api_enabled: true, currency: o.currency ?? 'USD', currency_symbol: '&#36;', taxonomies: {} },
              security: { secure_connection: true, hide_errors: true },
              pages: [],
            },
            query._fields,
          ),
        );
      }
      if (route === '/settings/general/woocommerce_currency') {
        if (!user) return denied('view');
        const value = o.currency ?? 'USD';
        return reply(200, {
          id: 'woocommerce_currency',
          label: 'Currency',
          description:
            'This controls what currency prices are listed at in the catalog and which currency gateways will take payments in.',
          type: 'select',
          default: 'USD',
          tip: '',
          value,
        });
      }
      // Collections.
      let resource: WooResource | undefined;
      let scope: ((r: Rec) => boolean) | undefined;
      if (parts.length === 1 && ['orders', 'products', 'customers'].includes(parts[0]))
        resource = parts[0] as WooResource;
      else if (route === '/refunds') {
        if (!atLeast('9.0.0')) return noRoute();
        resource = 'refunds';
      } else if (route === '/variations') {
        if (!atLeast('10.3.0')) return noRoute();
        resource = 'variations';
      } else if (parts.length === 3 && parts[0] === 'orders' && parts[2] === 'refunds') {
        const parent = Number(parts[1]);
        if (!store.orders.has(parent))
          return reply(404, wpError('woocommerce_rest_order_invalid_id', 'Invalid order ID.', 404));
        resource = 'refunds';
        scope = (r) => r.parent_id === parent;
      } else if (parts.length === 3 && parts[0] === 'products' && parts[2] === 'variations') {
        const parent = Number(parts[1]);
        resource = 'variations';
        scope = (r) => r.parent_id === parent;
      }
      if (resource) {
        if (!user) return denied('list');
        return list(resource, query, scope, call, reply);
      }
      // One record.
      const one = single(parts);
      if (one) {
        if (!user) return denied('view');
        const r = one.resource ? store[one.resource].get(one.id) : undefined;
        if (!r || !one.resource) return reply(404, wpError(one.invalid, 'Invalid ID.', 404));
        const shown = one.resource === 'variations' && parts[0] === 'products' && parts.length === 2 ? asProduct(r) : r;
        return reply(200, pick(present(one.resource, shown), query._fields));
      }
      return noRoute();
    }

    if ((method === 'POST' || method === 'PUT') && parts[parts.length - 1] === 'batch') {
      let resource: WooResource | undefined;
      let parent: number | undefined;
      if (parts.length === 2 && (parts[0] === 'products' || parts[0] === 'customers'))
        resource = parts[0] as WooResource;
      else if (parts.length === 4 && parts[0] === 'products' && parts[2] === 'variations') {
        resource = 'variations';
        parent = Number(parts[1]);
        if (!store.products.has(parent))
          return reply(404, wpError('woocommerce_rest_product_invalid_id', 'Invalid ID.', 404));
      }
      if (!resource) return noRoute();
      if (!user) return denied('batch');
      let input: { create?: Record<string, unknown>[]; update?: Record<string, unknown>[]; delete?: number[] };
      try {
        input = body.length ? JSON.parse(body.toString('utf8')) : {};
      } catch {
        return reply(400, wpError('rest_invalid_json', 'Invalid JSON body passed.', 400));
      }
      const count = (input.create?.length ?? 0) + (input.update?.length ?? 0) + (input.delete?.length ?? 0);
      call.items = count;
      if (count > batchLimit) {
        return reply(
          413,
          wpError(
            'woocommerce_rest_request_entity_too_large',
            `Unable to accept more than ${batchLimit} items for this request.`,
            413,
          ),
        );
      }
      return reply(200, batch(resource, parent, input));
    }
    return noRoute();
  }

  function single(parts: string[]): { resource?: WooResource; id: number; invalid: string } | undefined {
    const n = (s: string | undefined) => (s && /^\d+$/.test(s) ? Number(s) : undefined);
    if (parts.length === 2 && n(parts[1]) !== undefined) {
      const id = n(parts[1]) as number;
      if (parts[0] === 'orders') return { resource: 'orders', id, invalid: 'woocommerce_rest_shop_order_invalid_id' };
      if (parts[0] === 'customers') return { resource: 'customers', id, invalid: 'woocommerce_rest_invalid_id' };
      if (parts[0] === 'products') {
        // /products/<id> answers a variation's id too (wc_get_product).
        return {
          resource: store.products.has(id) ? 'products' : store.variations.has(id) ? 'variations' : 'products',
          id,
          invalid: 'woocommerce_rest_product_invalid_id',
        };
      }
    }
    if (parts.length === 4 && n(parts[1]) !== undefined && n(parts[3]) !== undefined) {
      if (parts[0] === 'orders' && parts[2] === 'refunds')
        return {
          resource: 'refunds',
          id: n(parts[3]) as number,
          invalid: 'woocommerce_rest_shop_order_refund_invalid_id',
        };
      if (parts[0] === 'products' && parts[2] === 'variations')
        return {
          resource: 'variations',
          id: n(parts[3]) as number,
          invalid: 'woocommerce_rest_product_variation_invalid_id',
        };
    }
    return undefined;
  }

  /** A record as the API answers it: refunds from /orders/<id>/refunds carry no parent_id; the global routes add it. */
  function present(resource: WooResource, r: Rec, global = false): Record<string, unknown> {
    if (resource === 'refunds' && !global) {
      const { parent_id: _, ...rest } = r;
      return rest;
    }
    return r;
  }

  function list(
    resource: WooResource,
    q: Record<string, string>,
    scope: ((r: Rec) => boolean) | undefined,
    call: FakeCall,
    reply: (status: number, json: unknown, headers?: Record<string, string>) => void,
  ): void {
    const invalid = (param: string, why: string) =>
      reply(400, {
        code: 'rest_invalid_param',
        message: `Invalid parameter(s): ${param}`,
        data: { status: 400, params: { [param]: why } },
      });
    const perPage = q.per_page === undefined ? 10 : Number(q.per_page);
    if (!Number.isInteger(perPage) || perPage < 1 || perPage > 100)
      return invalid('per_page', 'per_page must be between 1 (inclusive) and 100 (inclusive)');
    const page = q.page === undefined ? 1 : Number(q.page);
    if (!Number.isInteger(page) || page < 1) return invalid('page', 'page must be greater than or equal to 1');
    const offset = q.offset === undefined ? undefined : Number(q.offset);
    if (offset !== undefined && (!Number.isInteger(offset) || offset < 0))
      return invalid('offset', 'offset is not of type integer.');
    const customers = resource === 'customers';
    const orderbys = customers
      ? ['id', 'include', 'name', 'registered_date']
      : ['date', 'id', 'include', 'title', 'slug', 'modified'];
    const orderby = q.orderby ?? (customers ? 'name' : 'date');
    if (!orderbys.includes(orderby)) return invalid('orderby', `orderby is not one of ${orderbys.join(', ')}.`);
    const order = q.order ?? (customers ? 'asc' : 'desc');
    if (order !== 'asc' && order !== 'desc') return invalid('order', 'order is not one of asc, desc.');

    let rows = [...store[resource].values()];
    if (scope) rows = rows.filter(scope);
    if (!customers) {
      // WP_Date_Query: exclusive comparisons, on the GMT column when dates_are_gmt, else on local time.
      const useGmt = q.dates_are_gmt === 'true' || q.dates_are_gmt === '1';
      const column = (ms: number) => (useGmt ? ms : ms + siteOffsetMs);
      const bound = (name: string) => {
        const v = q[name];
        if (v === undefined) return undefined;
        const ms = wpDateQueryValue(v, siteOffsetMs);
        return ms;
      };
      for (const [name, field, cmp] of [
        ['after', 'created', 1],
        ['before', 'created', -1],
        ['modified_after', 'modified', 1],
        ['modified_before', 'modified', -1],
      ] as const) {
        if (q[name] === undefined) continue;
        const b = bound(name);
        if (b === undefined || Number.isNaN(b)) return invalid(name, `Invalid date.`);
        rows = rows.filter((r) => {
          const t = column(field === 'created' ? createdMs(r) : modifiedMs(r, resource));
          return cmp > 0 ? t > b : t < b;
        });
      }
      if (q.type) rows = rows.filter((r) => r.type === q.type);
      if (q.status && q.status !== 'any') rows = rows.filter((r) => r.status === q.status);
      else if (resource === 'orders' || resource === 'products') rows = rows.filter((r) => r.status !== 'trash');
      if (q.parent) {
        const ps = q.parent.split(',').map(Number);
        rows = rows.filter((r) => ps.includes(Number(r.parent_id)));
      }
    } else {
      if (q.email) rows = rows.filter((r) => String(r.email).toLowerCase() === q.email.toLowerCase());
      const role = q.role ?? 'customer';
      if (role !== 'all') rows = rows.filter((r) => (r.role ?? 'customer') === role);
    }
    if (q.include) {
      const ids = new Set(q.include.split(',').map(Number));
      rows = rows.filter((r) => ids.has(r.id));
    }
    if (q.sku !== undefined && (resource === 'products' || resource === 'variations')) {
      const skus = new Set(q.sku.split(','));
      rows = rows.filter((r) => skus.has(String(r.sku)));
      // /products?sku= finds variations too, answered by the products controller (with type "variation").
      if (resource === 'products')
        rows.push(...[...store.variations.values()].filter((r) => skus.has(String(r.sku))).map(asProduct));
    }
    const dir = order === 'asc' ? 1 : -1;
    const sortKey = (r: Rec): number | string =>
      orderby === 'modified'
        ? modifiedMs(r, resource)
        : orderby === 'date' || orderby === 'registered_date'
          ? createdMs(r)
          : orderby === 'title' || orderby === 'name'
            ? String(r.name ?? `${r.first_name ?? ''} ${r.last_name ?? ''}`)
            : orderby === 'slug'
              ? String(r.slug ?? '')
              : r.id;
    const keyed = rows.map((r) => ({ r, k: sortKey(r) }));
    keyed.sort((a, b) => (a.k !== b.k ? (a.k < b.k ? -1 : 1) * dir : (a.r.id - b.r.id) * dir));
    rows = keyed.map((x) => x.r);
    const total = rows.length;
    const start = offset ?? (page - 1) * perPage;
    const out = rows.slice(start, start + perPage).map((r) => pick(present(resource, r, !scope), q._fields));
    const pages = Math.ceil(total / perPage);
    const headers: Record<string, string> = { 'x-wp-total': String(total), 'x-wp-totalpages': String(pages) };
    const current = Math.floor(start / perPage) + 1;
    const link = (p: number) => {
      const l = new URL(call.path, url);
      for (const [k, v] of Object.entries(q))
        if (k !== 'consumer_key' && k !== 'consumer_secret') l.searchParams.set(k, v);
      l.searchParams.set('page', String(p));
      return l.href;
    };
    const links: string[] = [];
    if (current > 1) links.push(`<${link(Math.min(current - 1, Math.max(pages, 1)))}>; rel="prev"`);
    if (pages > current) links.push(`<${link(current + 1)}>; rel="next"`);
    if (links.length) headers.link = links.join(', ');
    reply(200, out, headers);
    fake.onList?.(call);
  }

  function batch(
    resource: WooResource,
    parent: number | undefined,
    input: { create?: Record<string, unknown>[]; update?: Record<string, unknown>[]; delete?: number[] },
  ): Record<string, unknown[]> {
    const out: Record<string, unknown[]> = {};
    const error = (id: unknown, code: string, message: string, status = 400) => ({
      id: typeof id === 'number' ? id : 0,
      error: { code, message, data: { status } },
    });
    const skuTaken = (sku: unknown, except?: number) =>
      typeof sku === 'string' &&
      sku !== '' &&
      [...store.products.values(), ...store.variations.values()].some((r) => r.sku === sku && r.id !== except);
    const emailTaken = (email: unknown, except?: number) =>
      [...store.customers.values()].some((r) => r.email === email && r.id !== except);
    const t = now();
    if (input.create) {
      out.create = input.create.map((item) => {
        if (resource === 'customers') {
          if (typeof item.email !== 'string' || !item.email.includes('@'))
            return error(0, 'customer_invalid_email', 'Please provide a valid email address.');
          if (emailTaken(item.email))
            return error(
              0,
              'registration-error-email-exists',
              'An account is already registered with your email address. Please log in.',
            );
        } else if (skuTaken(item.sku)) return error(0, 'product_invalid_sku', 'Invalid or duplicated SKU.');
        if (resource === 'products' && typeof item.name !== 'string')
          return error(0, 'woocommerce_rest_product_invalid_name', 'A product needs a name.');
        const r: Rec = { ...defaults(resource), ...item, id: nextId++ };
        if (resource === 'variations') r.parent_id = parent;
        stamp(r, t, true);
        settle(resource, r);
        store[resource].set(r.id, r);
        if (resource === 'variations' && parent !== undefined) addVariation(parent, r.id, t);
        return r;
      });
    }
    if (input.update) {
      out.update = input.update.map((item) => {
        const id = Number(item.id);
        const r = store[resource].get(id);
        if (!r || (resource === 'variations' && r.parent_id !== parent)) {
          return error(
            id,
            resource === 'customers'
              ? 'woocommerce_rest_invalid_id'
              : resource === 'variations'
                ? 'woocommerce_rest_product_variation_invalid_id'
                : 'woocommerce_rest_product_invalid_id',
            'Invalid ID.',
          );
        }
        if (resource !== 'customers' && 'sku' in item && skuTaken(item.sku, id))
          return error(id, 'product_invalid_sku', 'Invalid or duplicated SKU.');
        if (resource === 'customers' && 'email' in item && emailTaken(item.email, id))
          return error(id, 'woocommerce_rest_customer_invalid_email', 'Email address is invalid.');
        for (const [k, v] of Object.entries(item)) {
          if (k === 'id') continue;
          if ((k === 'billing' || k === 'shipping') && isPlain(v) && isPlain(r[k]))
            r[k] = { ...(r[k] as object), ...v };
          else r[k] = v;
        }
        stamp(r, t, false);
        settle(resource, r);
        return r;
      });
    }
    if (input.delete) {
      out.delete = input.delete.map((id) => {
        const r = store[resource].get(Number(id));
        if (!r) return error(id, 'woocommerce_rest_invalid_id', 'Invalid ID.');
        store[resource].delete(r.id);
        return r;
      });
    }
    return out;
  }

  /** What WooCommerce derives on save: the price from regular/sale, the stock status from the quantity. */
  function settle(resource: WooResource, r: Rec): void {
    if (resource === 'customers') return;
    const sale = typeof r.sale_price === 'string' && r.sale_price !== '' ? r.sale_price : undefined;
    if ('regular_price' in r) {
      r.price = sale ?? r.regular_price;
      r.on_sale = sale !== undefined;
    }
    if (r.manage_stock === true && typeof r.stock_quantity === 'number') {
      r.stock_status =
        r.stock_quantity > 0
          ? 'instock'
          : r.backorders === 'no' || r.backorders === undefined
            ? 'outofstock'
            : 'onbackorder';
    }
  }

  function addVariation(parent: number, id: number, t: number): void {
    const p = store.products.get(parent);
    if (!p) return;
    p.variations = [...((p.variations as number[]) ?? []), id];
    stamp(p, t, false);
  }

  function defaults(resource: WooResource): Record<string, unknown> {
    if (resource === 'customers')
      return { role: 'customer', first_name: '', last_name: '', billing: {}, shipping: {}, meta_data: [] };
    const sellable = {
      status: 'publish',
      sku: '',
      regular_price: '',
      sale_price: '',
      manage_stock: false,
      stock_quantity: null,
      stock_status: 'instock',
      attributes: [],
      meta_data: [],
    };
    return resource === 'variations' ? sellable : { type: 'simple', ...sellable, variations: [] };
  }

  const fake: FakeWoo = {
    url,
    calls,
    seed(resource, records) {
      for (const r of records) {
        const rec = structuredClone(r) as Rec;
        store[resource].set(rec.id, rec);
        if (rec.id >= nextId) nextId = rec.id + 1;
      }
    },
    get: (resource, id) => store[resource].get(id),
    all: (resource) => [...store[resource].values()],
    touch(resource, id, patch = {}, at = now()) {
      const r = store[resource].get(id);
      if (!r) throw new Error(`fake woo: no ${resource} ${id}`);
      Object.assign(r, patch);
      if (resource === 'refunds') stamp(r, at, true);
      else stamp(r, at, false);
    },
    remove(resource, id) {
      store[resource].delete(id);
    },
    fail(n, mode) {
      for (let i = 0; i < n; i++) failures.push(mode);
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  return fake;
}

// ---- generating records from a real payload ---------------------------------------------------------------------

export interface CloneOptions {
  /** The first clone's id (then +1 each). */
  firstId: number;
  /** The first clone's modified (and created) time, in ms since the epoch. */
  start: number;
  /** Milliseconds between successive timestamps (whole seconds are kept: WooCommerce's precision). */
  stepMs?: number;
  /** How many clones share each timestamp (default 1). */
  perTimestamp?: number;
  /** The site's offset from UTC in minutes, for the local date fields (default −180). */
  siteOffsetMinutes?: number;
  /** Per clone, anything else to vary (a unique SKU or e-mail, a parent id). */
  vary?: (r: Record<string, unknown>, i: number) => void;
}

/** `n` copies of a real payload with their own ids and times (date_created/_modified, local and _gmt). */
export function clones(template: Record<string, unknown>, n: number, o: CloneOptions): Record<string, unknown>[] {
  const step = o.stepMs ?? 1000;
  const per = o.perTimestamp ?? 1;
  const offset = (o.siteOffsetMinutes ?? -180) * 60_000;
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < n; i++) {
    const r = structuredClone(template);
    const id = o.firstId + i;
    const at = Math.floor((o.start + Math.floor(i / per) * step) / 1000) * 1000;
    r.id = id;
    if ('number' in r) r.number = String(id);
    if ('order_key' in r) r.order_key = `wc_order_${id.toString(36)}`;
    r.date_created = wooTime(at + offset);
    r.date_created_gmt = wooTime(at);
    if ('date_modified_gmt' in r) {
      r.date_modified = wooTime(at + offset);
      r.date_modified_gmt = wooTime(at);
    }
    o.vary?.(r, i);
    out.push(r);
  }
  return out;
}

// ---- helpers ----------------------------------------------------------------------------------------------------

/** WooCommerce's date format: `YYYY-MM-DDTHH:MM:SS`, no offset. */
export const wooTime = (ms: number): string => new Date(ms).toISOString().slice(0, 19);

/** A `_gmt` field as ms (it carries no offset but is UTC); the last few thousand parsed are kept. */
const parsed = new Map<string, number>();
const gmt = (v: unknown): number => {
  if (typeof v !== 'string' || !v) return 0;
  let ms = parsed.get(v);
  if (ms === undefined) {
    ms = Date.parse(`${v.slice(0, 19)}Z`);
    if (parsed.size > 100_000) parsed.clear();
    parsed.set(v, ms);
  }
  return ms;
};

/**
 * A date filter's value as WP_Date_Query reads it, in ms on the scale of the column compared: a bare time is taken
 * as written; one with an offset is converted to the site's local time (then compared with whichever column).
 */
function wpDateQueryValue(v: string, siteOffsetMs: number): number {
  const m = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$/i.exec(v.trim());
  if (!m) return Number.NaN;
  const bare = Date.parse(`${m[1]}T${m[2]}Z`);
  if (!m[4]) return bare;
  const instant = Date.parse(`${m[1]}T${m[2]}${m[4].toUpperCase() === 'Z' ? 'Z' : m[4]}`);
  return instant + siteOffsetMs;
}

const wpError = (code: string, message: string, status: number) => ({ code, message, data: { status } });

/** A variation as the products controller answers it (/products/<id>, /products?sku=): with its type. */
const asProduct = (r: Rec): Rec => ({ ...r, type: 'variation' });

const isPlain = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** WordPress's `_fields`: the top-level members asked for. */
function pick<T>(value: T, fields: string | undefined): T {
  if (!fields || !isPlain(value)) return value;
  const keep = fields.split(',').map((f) => f.trim().split('.')[0]);
  return Object.fromEntries(Object.entries(value).filter(([k]) => keep.includes(k))) as T;
}

function send(res: ServerResponse, status: number, json: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(json);
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', ...headers });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
