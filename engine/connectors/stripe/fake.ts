/**
 * A fake Stripe API on 127.0.0.1 (node:http, port 0) that behaves as Stripe documents, for the connector's tests and
 * the demo: `const fake = await startFakeStripe({ ... }); fake.url; fake.seed(records); fake.calls; await fake.close()`.
 * Its records are clones of Stripe's own sample objects (test/fixtures/stripe, from stripe/openapi's fixtures3.json)
 * with their ids and times varied. Production code: no test-only imports.
 *
 * What it follows, and where Stripe says so:
 * - Auth: `Authorization: Bearer <secret key>` (or Basic with the key as user); a missing or unknown key is a 401
 *   `{ error: { type: 'invalid_request_error', message: 'Invalid API Key provided: sk_test_****1234' } }` that echoes
 *   the key masked but for its last 4 characters — https://docs.stripe.com/api/authentication,
 *   https://docs.stripe.com/api/errors, and the message as users see it: https://github.com/stripe/stripe-node/issues/2246
 * - A restricted key (rk_…) without a permission: 403 "The provided key 'rk_test_***…' does not have the required
 *   permissions for this endpoint on account 'acct_…'. Having the 'rak_…' permission would allow this request to
 *   continue." — https://github.com/stripe/stripe-node/issues/2246, https://github.com/tylerjrichards/st-paywall/issues/36
 * - Lists: `limit` 1…100 (default 10), `starting_after` / `ending_before` (object ids, mutually exclusive), newest
 *   first, `{ object: 'list', url, has_more, data }` — https://docs.stripe.com/api/pagination; an id that no longer
 *   exists as a cursor is a 400 resource_missing (an "expired" cursor; a deleted customer, an event past retention).
 * - `created[gt|gte|lt|lte]` filters in Unix seconds — https://docs.stripe.com/api/charges/list (every list we serve).
 * - `GET /v1/balance_transactions?payout=po_…`: the transactions an automatic payout settled; a manual payout is refused
 *   ("can only be filtered on automatic transfers") — https://docs.stripe.com/api/balance_transactions/list
 * - `expand[]` of a field holding an id (`data.` prefix inside a list) — https://docs.stripe.com/api/expanding_objects
 * - Events: `GET /v1/events` with `type` or `types[]` (at most 20), `created[…]`, paging as any list; kept 30 days
 *   ("List events, going back up to 30 days") — https://docs.stripe.com/api/events/list; an event's data.object is the
 *   object as it was at the event; customer.deleted carries the deleted customer — https://docs.stripe.com/api/events/types
 * - Rate limits: a token bucket per mode, 100 reads/s live and 25/s test (separately for writes), and a concurrency
 *   limiter; over either, 429 `{ error: { code: 'rate_limit', … } }`. Stripe documents no Retry-After on it (its
 *   libraries honour one, and `Stripe-Should-Retry`, when sent): `retryAfterSeconds` makes the fake send one —
 *   https://docs.stripe.com/rate-limits, https://github.com/stripe/stripe-php/pull/755
 * - Object lock timeouts: 429 with code `lock_timeout` and `Stripe-Should-Retry: true`, safe to retry —
 *   https://docs.stripe.com/rate-limits#object-lock-timeouts, https://github.com/stripe/stripe-php/pull/718
 * - Idempotency: every POST may carry `Idempotency-Key`; Stripe saves the first answer (status and body, errors too,
 *   once the endpoint ran) and replays it for the same key with `Idempotent-Replayed: true`; the same key with other
 *   parameters is a 400 idempotency_error ("Keys for idempotent requests can only be used with the same parameters
 *   they were first used with…"); a key in use by a request still running is a 409; keys are pruned after 24 hours —
 *   https://docs.stripe.com/api/idempotent_requests, https://docs.stripe.com/idempotency
 * - Writes are form-encoded (`application/x-www-form-urlencoded`, `metadata[key]=v`, `list[]=v`) —
 *   https://docs.stripe.com/api (curl -d); the fake writes customers (create, update, delete) to make events with.
 * - `Stripe-Version` pins the version per request; an unknown one is a 400 — https://docs.stripe.com/api/versioning
 * - Failures on demand: a 5xx, a dropped connection (socket destroyed), a lock timeout, a 429 (`fail`).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { projectRoot } from '../../util/paths.js';

export type StripeKind = 'charge' | 'refund' | 'payout' | 'dispute' | 'customer' | 'balance_transaction';

/** The list endpoints the fake serves, by path segment. */
const RESOURCES: Record<string, StripeKind> = {
  charges: 'charge',
  refunds: 'refund',
  payouts: 'payout',
  disputes: 'dispute',
  customers: 'customer',
  balance_transactions: 'balance_transaction',
};

const PREFIX: Record<StripeKind | 'event' | 'req', string> = {
  charge: 'ch',
  refund: 're',
  payout: 'po',
  dispute: 'dp',
  customer: 'cus',
  balance_transaction: 'txn',
  event: 'evt',
  req: 'req',
};

/** The permission a restricted key needs to read each list (the fake's names, in Stripe's rak_ style). */
export const PERMISSION: Record<StripeKind | 'event' | 'account', string> = {
  charge: 'rak_charge_read',
  refund: 'rak_refund_read',
  payout: 'rak_payout_read',
  dispute: 'rak_dispute_read',
  customer: 'rak_customer_read',
  balance_transaction: 'rak_balance_transaction_source_read',
  event: 'rak_event_read',
  account: 'rak_account_read',
};

const DAY = 86_400;
export const EVENT_RETENTION_SECONDS = 30 * DAY;
const IDEMPOTENCY_SECONDS = DAY;

type Json = Record<string, unknown>;

export interface StripeFakeOptions {
  /** The secret key the fake accepts (default a random sk_test_ key: see `fake.apiKey`). */
  apiKey?: string;
  /** Restricted keys it accepts too, each with the permissions it has (PERMISSION's values). */
  restrictedKeys?: Record<string, readonly string[]>;
  /** Requests per second per bucket (reads, writes): default 25 for a test key, 100 for a live key, as Stripe. */
  perSecond?: number;
  /** The bucket's size (default perSecond: one second's worth). */
  burst?: number;
  /** Requests in flight at once before the concurrency limiter answers 429 (default: no limit). */
  concurrency?: number;
  /** Send `Retry-After: <n>` with a rate-limit 429 (Stripe documents none: default not sent). */
  retryAfterSeconds?: number;
  /** The account's default API version, used when a request sends no Stripe-Version. */
  apiVersion?: string;
  /** The clock in milliseconds (default Date.now): event retention and idempotency keys' age follow it. */
  now?: () => number;
  /** Milliseconds each request takes before it is answered (default 0): lets the concurrency limiter bite. */
  latencyMs?: number;
}

export interface StripeCall {
  method: string;
  path: string;
  query: URLSearchParams;
  status: number;
  version?: string;
  idempotencyKey?: string;
  account?: string;
  /** True when the answer was an idempotent replay. */
  replayed?: boolean;
}

/** One injected failure, taken by the next request whose path starts with `path` (default any). */
export interface Failure {
  kind: 'status' | 'drop' | 'lock_timeout' | 'rate_limit';
  /** For kind 'status': the status to answer (500, 502, 503, 409…). */
  status?: number;
  path?: string;
  /** How many requests it takes (default 1). */
  times?: number;
  /** For 'status': a Stripe-Should-Retry header to send. */
  shouldRetry?: boolean;
}

export interface FakeStripe {
  readonly url: string;
  readonly apiKey: string;
  readonly calls: StripeCall[];
  /** Add records (each has `object`: charge, refund, payout, dispute, customer, balance_transaction). */
  seed(records: Json[]): void;
  /** The balance transactions an automatic payout settled (seeded too). */
  settle(payoutId: string, transactions: Json[]): void;
  /** A copy of Stripe's sample object of `kind` with a fresh id, `created` at `created` (Unix s), and `patch`. */
  sample(kind: StripeKind, created: number, patch?: Json): Json;
  /** Record an event about `object` (its snapshot as it is now), at `created` (default now). */
  emit(type: string, object: Json, created?: number): Json;
  /** Change a stored object and record the event (default `<kind>.updated`) with previous_attributes. */
  update(kind: StripeKind, id: string, patch: Json, opts?: { type?: string; created?: number }): Json;
  /** Delete a customer (as DELETE /v1/customers/:id does) and record customer.deleted. */
  remove(kind: 'customer', id: string, created?: number): void;
  get(kind: StripeKind, id: string): Json | undefined;
  events(): Json[];
  /** Queue failures (see Failure). */
  fail(f: Failure): void;
  /** Change the rate limit while running. */
  limit(perSecond: number, burst?: number): void;
  /** Count of calls answered 429 for the rate limit. */
  readonly throttled: number;
  close(): Promise<void>;
}

/** Stripe's sample object of each kind (test/fixtures/stripe), read once. */
const samples = new Map<string, Json>();
export function stripeSample(name: string): Json {
  let s = samples.get(name);
  if (!s) {
    s = JSON.parse(
      readFileSync(path.join(projectRoot(), 'test', 'fixtures', 'stripe', `${name}.json`), 'utf8'),
    ) as Json;
    samples.set(name, s);
  }
  return structuredClone(s);
}

interface Stored {
  obj: Json;
  created: number;
  seq: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

interface SavedAnswer {
  fingerprint: string;
  status: number;
  body: string;
  at: number;
  running: boolean;
}

export async function startFakeStripe(options: StripeFakeOptions = {}): Promise<FakeStripe> {
  const now = options.now ?? Date.now;
  const apiKey = options.apiKey ?? `sk_test_${randomBytes(18).toString('base64url').replace(/[-_]/g, 'x')}`;
  const live = apiKey.includes('_live_');
  let perSecond = options.perSecond ?? (live ? 100 : 25);
  let burst = options.burst ?? perSecond;
  const defaultVersion = options.apiVersion ?? '2024-06-20';
  const account = stripeSample('account');
  const accountId = String(account.id);

  const store = new Map<StripeKind, Map<string, Stored>>();
  for (const k of Object.values(RESOURCES)) store.set(k, new Map());
  const sorted = new Map<StripeKind | 'event', Stored[]>();
  const events = new Map<string, Stored>();
  const settled = new Map<string, string[]>();
  /** Deleted customers: retrieving one answers Stripe's deleted object (https://docs.stripe.com/api/customers/delete). */
  const gone = new Set<string>();
  const saved = new Map<string, SavedAnswer>();
  const failures: Failure[] = [];
  const buckets = { read: { tokens: burst, at: now() } as Bucket, write: { tokens: burst, at: now() } as Bucket };
  const calls: StripeCall[] = [];
  let seq = 0;
  let ids = 0;
  let inFlight = 0;
  let throttled = 0;
  const tag = randomBytes(3).toString('hex');

  const newId = (kind: keyof typeof PREFIX) => `${PREFIX[kind]}_1Fk${tag}${(++ids).toString(36).padStart(10, '0')}`;
  const nowS = () => Math.floor(now() / 1000);

  const kindOf = (o: Json): StripeKind => {
    const k = String(o.object) as StripeKind;
    if (!store.has(k)) throw new Error(`fake stripe: cannot store an object of type ${String(o.object)}`);
    return k;
  };

  function put(o: Json): void {
    const k = kindOf(o);
    const m = store.get(k)!;
    const old = m.get(String(o.id));
    m.set(String(o.id), { obj: o, created: Number(o.created), seq: old?.seq ?? ++seq });
    sorted.delete(k);
  }

  /** Newest first: created descending, then the later stored first (Stripe's order within a second is its own). */
  function list(kind: StripeKind | 'event'): Stored[] {
    let s = sorted.get(kind);
    if (!s) {
      s = [...(kind === 'event' ? events : store.get(kind)!).values()].sort(
        (a, b) => b.created - a.created || b.seq - a.seq,
      );
      sorted.set(kind, s);
    }
    return s;
  }

  function emit(type: string, object: Json, created = nowS()): Json {
    const e: Json = {
      id: newId('event'),
      object: 'event',
      api_version: defaultVersion,
      created,
      data: { object: structuredClone(object) },
      livemode: live,
      pending_webhooks: 0,
      request: { id: null, idempotency_key: null },
      type,
    };
    events.set(String(e.id), { obj: e, created, seq: ++seq });
    sorted.delete('event');
    return e;
  }

  function update(kind: StripeKind, id: string, patch: Json, opts: { type?: string; created?: number } = {}): Json {
    const s = store.get(kind)!.get(id);
    if (!s) throw new Error(`fake stripe: no ${kind} ${id}`);
    const previous: Json = {};
    for (const k of Object.keys(patch)) previous[k] = s.obj[k] ?? null;
    Object.assign(s.obj, patch);
    const e = emit(opts.type ?? `${kind === 'dispute' ? 'charge.dispute' : kind}.updated`, s.obj, opts.created);
    (e.data as Json).previous_attributes = previous;
    return e;
  }

  function remove(kind: 'customer', id: string, created?: number): void {
    const m = store.get(kind)!;
    const s = m.get(id);
    if (!s) return;
    m.delete(id);
    gone.add(id);
    sorted.delete(kind);
    emit('customer.deleted', s.obj, created);
  }

  // ---- answers ----------------------------------------------------------------------------------------------------

  const stripeError = (type: string, message: string, extra: Json = {}): string =>
    JSON.stringify({ error: { type, message, ...extra } }, null, 2);
  const missing = (what: string, id: string, param?: string) =>
    stripeError('invalid_request_error', `No such ${what}: '${id}'`, {
      code: 'resource_missing',
      doc_url: 'https://stripe.com/docs/error-codes/resource-missing',
      ...(param ? { param } : {}),
    });
  const masked = (key: string) => {
    const m = /^([a-z]{2}_(?:test|live)_)/.exec(key);
    const head = m ? m[1] : '';
    return `${head}${'*'.repeat(Math.max(0, key.length - head.length - 4))}${key.slice(-4)}`;
  };

  /** The permissions of the request's key: all for the secret key, the listed ones for a restricted key. */
  function authorise(req: http.IncomingMessage): { ok: true; key: string; perms?: readonly string[] } | { ok: false } {
    const h = req.headers.authorization ?? '';
    let key = '';
    if (/^bearer /i.test(h)) key = h.slice(7).trim();
    else if (/^basic /i.test(h)) key = Buffer.from(h.slice(6).trim(), 'base64').toString('utf8').replace(/:.*$/, '');
    if (key && key === apiKey) return { ok: true, key };
    const perms = options.restrictedKeys?.[key];
    if (key && perms) return { ok: true, key, perms };
    return { ok: false };
  }

  function take(bucket: Bucket): boolean {
    const t = now();
    bucket.tokens = Math.min(burst, bucket.tokens + ((t - bucket.at) / 1000) * perSecond);
    bucket.at = t;
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** The next queued failure this path takes, if any. */
  function failureFor(p: string): Failure | undefined {
    const i = failures.findIndex((f) => !f.path || p.startsWith(f.path));
    if (i < 0) return undefined;
    const f = failures[i];
    f.times = (f.times ?? 1) - 1;
    if (f.times <= 0) failures.splice(i, 1);
    return f;
  }

  function page(
    kind: StripeKind | 'event',
    q: URLSearchParams,
    url: string,
    keep: (s: Stored) => boolean,
  ): { status: number; body: string } {
    const limitText = q.get('limit');
    const limit = limitText === null ? 10 : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
      return {
        status: 400,
        body: stripeError(
          'invalid_request_error',
          `Invalid integer: ${limitText}. This value must be between 1 and 100 (it currently is '${limitText}').`,
          { code: 'parameter_invalid_integer', param: 'limit' },
        ),
      };
    }
    const after = q.get('starting_after');
    const before = q.get('ending_before');
    if (after && before) {
      return {
        status: 400,
        body: stripeError(
          'invalid_request_error',
          'Received both starting_after and ending_before parameters. Please pass in only one.',
        ),
      };
    }
    const range = createdRange(q);
    if (typeof range === 'string') return { status: 400, body: range };
    const all = list(kind).filter((s) => s.created >= range.gte && s.created <= range.lte && keep(s));
    let from = 0;
    let to = all.length;
    const anchorId = after ?? before;
    if (anchorId) {
      const anchor = kind === 'event' ? events.get(anchorId) : store.get(kind)!.get(anchorId);
      const visible = anchor && (kind !== 'event' || anchor.created >= nowS() - EVENT_RETENTION_SECONDS);
      if (!visible)
        return {
          status: 400,
          body: missing(kind === 'event' ? 'event' : kind, anchorId, after ? 'starting_after' : 'ending_before'),
        };
      // Where the anchor is (or would be) in the filtered list, newest first.
      const pos = all.findIndex(
        (s) => s.created < anchor.created || (s.created === anchor.created && s.seq < anchor.seq),
      );
      const at = pos < 0 ? all.length : pos;
      if (after) from = at;
      else {
        // ending_before: the objects just before the anchor (newer), the page nearest to it.
        to = at > 0 && all[at - 1] === anchor ? at - 1 : at;
        from = Math.max(0, to - limit);
      }
    }
    const slice = after || !before ? all.slice(from, from + limit) : all.slice(from, to);
    const hasMore = before ? from > 0 : from + limit < all.length;
    const expand = q.getAll('expand[]').filter((e) => e.startsWith('data.'));
    const data = slice.map((s) =>
      expanded(
        structuredClone(s.obj),
        expand.map((e) => e.slice(5)),
      ),
    );
    if (data.some((d) => d === undefined)) return { status: 400, body: cannotExpand(expand) };
    return { status: 200, body: JSON.stringify({ object: 'list', data, has_more: hasMore, url }, null, 2) };
  }

  const cannotExpand = (paths: string[]) =>
    stripeError('invalid_request_error', `This property cannot be expanded (${paths.join(', ')}).`);

  /** The object with each named field that holds an id replaced by that object; undefined when one cannot be. */
  function expanded(o: Json, paths: string[]): Json {
    for (const p of paths) {
      const v = o[p];
      if (v === null || v === undefined || typeof v === 'object') continue;
      const found = findById(String(v));
      if (!found) return undefined as never;
      o[p] = structuredClone(found);
    }
    return o;
  }

  function findById(id: string): Json | undefined {
    for (const m of store.values()) {
      const s = m.get(id);
      if (s) return s.obj;
    }
    return undefined;
  }

  function createdRange(q: URLSearchParams): { gte: number; lte: number } | string {
    let gte = -Infinity;
    let lte = Infinity;
    for (const [k, v] of q) {
      const m = /^created\[(gt|gte|lt|lte)\]$/.exec(k);
      if (!m && k !== 'created') continue;
      const n = Number(v);
      if (!/^\d+$/.test(v))
        return stripeError('invalid_request_error', `Invalid timestamp: must be an integer Unix timestamp.`, {
          param: k,
        });
      const op = m ? m[1] : 'eq';
      if (op === 'gt') gte = Math.max(gte, n + 1);
      if (op === 'gte') gte = Math.max(gte, n);
      if (op === 'lt') lte = Math.min(lte, n - 1);
      if (op === 'lte') lte = Math.min(lte, n);
      if (op === 'eq') {
        gte = Math.max(gte, n);
        lte = Math.min(lte, n);
      }
    }
    return { gte, lte };
  }

  function listEvents(q: URLSearchParams): { status: number; body: string } {
    const types = q.getAll('types[]');
    const type = q.get('type');
    if (types.length > 20)
      return {
        status: 400,
        body: stripeError('invalid_request_error', 'You may pass at most 20 types.', { param: 'types' }),
      };
    if (type && types.length)
      return {
        status: 400,
        body: stripeError('invalid_request_error', 'You may pass either `type` or `types`, but not both.'),
      };
    const oldest = nowS() - EVENT_RETENTION_SECONDS;
    const matches = (t: string) =>
      types.length ? types.includes(t) : !type || (type.endsWith('*') ? t.startsWith(type.slice(0, -1)) : t === type);
    return page('event', q, '/v1/events', (s) => s.created >= oldest && matches(String(s.obj.type)));
  }

  // ---- writes (customers), form-encoded ---------------------------------------------------------------------------

  function writeCustomer(method: string, id: string | undefined, form: Json): { status: number; body: string } {
    const m = store.get('customer')!;
    if (method === 'DELETE') {
      if (!id || !m.has(id)) return { status: 404, body: missing('customer', id ?? '') };
      remove('customer', id);
      return { status: 200, body: JSON.stringify({ id, object: 'customer', deleted: true }, null, 2) };
    }
    for (const k of Object.keys(form)) {
      if (!['name', 'email', 'description', 'phone', 'metadata', 'address', 'preferred_locales'].includes(k))
        return {
          status: 400,
          body: stripeError('invalid_request_error', `Received unknown parameter: ${k}`, {
            code: 'parameter_unknown',
            param: k,
          }),
        };
    }
    if (id) {
      const s = m.get(id);
      if (!s) return { status: 404, body: missing('customer', id) };
      const patch = { ...form };
      if (form.metadata) patch.metadata = { ...(s.obj.metadata as Json), ...(form.metadata as Json) };
      update('customer', id, patch);
      return { status: 200, body: JSON.stringify(s.obj, null, 2) };
    }
    const c = { ...stripeSample('customer'), id: newId('customer'), created: nowS(), livemode: live, ...form };
    put(c);
    emit('customer.created', c);
    return { status: 200, body: JSON.stringify(c, null, 2) };
  }

  // ---- the server -------------------------------------------------------------------------------------------------

  async function answer(
    req: http.IncomingMessage,
    body: string,
  ): Promise<{ status: number; body: string; headers?: Record<string, string> } | 'dropped'> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = req.method ?? 'GET';
    const p = url.pathname;
    const q = url.searchParams;

    const auth = authorise(req);
    if (!auth.ok) {
      const h = req.headers.authorization ?? '';
      const given = /^bearer /i.test(h) ? h.slice(7).trim() : '';
      return {
        status: 401,
        headers: { 'www-authenticate': 'Bearer realm="Stripe"' },
        body: given
          ? stripeError('invalid_request_error', `Invalid API Key provided: ${masked(given)}`)
          : stripeError(
              'invalid_request_error',
              "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.",
            ),
      };
    }
    const version = req.headers['stripe-version'];
    if (typeof version === 'string' && !/^\d{4}-\d{2}-\d{2}(\.[a-z]+)?$/.test(version)) {
      return { status: 400, body: stripeError('invalid_request_error', `Invalid Stripe API version: ${version}`) };
    }

    const f = failureFor(p);
    if (f?.kind === 'drop') {
      req.socket.destroy();
      return 'dropped';
    }
    if (f?.kind === 'status') {
      const s = f.status ?? 500;
      return {
        status: s,
        headers: f.shouldRetry === undefined ? {} : { 'stripe-should-retry': String(f.shouldRetry) },
        body: stripeError(
          s === 409 ? 'invalid_request_error' : 'api_error',
          s === 409
            ? 'There is currently another in-progress request using this Stripe-Idempotency key (that probably means you submitted twice, and the other request is still going through). Please retry your request later.'
            : 'Sorry, something went wrong. We’ve already been notified of the problem, but if you need any help, you can reach us at support.stripe.com/contact.',
        ),
      };
    }
    if (f?.kind === 'lock_timeout') {
      return {
        status: 429,
        headers: { 'stripe-should-retry': 'true' },
        body: stripeError(
          'invalid_request_error',
          'This object cannot be accessed right now because another API request or Stripe process is currently accessing it. If you see this error intermittently, retry the request. If you see this error frequently and are making multiple concurrent requests to a single object, make your requests serially or at a lower rate.',
          { code: 'lock_timeout', doc_url: 'https://stripe.com/docs/error-codes/lock-timeout' },
        ),
      };
    }
    const write = method !== 'GET';
    if (f?.kind === 'rate_limit' || !take(write ? buckets.write : buckets.read) || overConcurrency()) {
      throttled++;
      return {
        status: 429,
        headers: options.retryAfterSeconds === undefined ? {} : { 'retry-after': String(options.retryAfterSeconds) },
        body: stripeError(
          'invalid_request_error',
          'Request rate limit exceeded. You can learn more about rate limits here https://stripe.com/docs/rate-limits.',
          { code: 'rate_limit', doc_url: 'https://stripe.com/docs/error-codes/rate-limit' },
        ),
      };
    }

    const denied = (perm: string) =>
      auth.perms && !auth.perms.includes(perm)
        ? {
            status: 403,
            body: stripeError(
              'invalid_request_error',
              `The provided key '${masked(auth.key)}' does not have the required permissions for this endpoint on account '${accountId}'. Having the '${perm}' permission would allow this request to continue.`,
            ),
          }
        : undefined;

    if (method === 'GET' && p === '/v1/account') return denied(PERMISSION.account) ?? ok(account);
    if (method === 'GET' && p === '/v1/events') return denied(PERMISSION.event) ?? listEvents(q);
    let m = /^\/v1\/events\/([^/]+)$/.exec(p);
    if (method === 'GET' && m) {
      const e = events.get(m[1]);
      if (!e || e.created < nowS() - EVENT_RETENTION_SECONDS)
        return { status: 404, body: missing('event', m[1], 'id') };
      return denied(PERMISSION.event) ?? ok(e.obj);
    }
    m = /^\/v1\/(charges|refunds|payouts|disputes|customers|balance_transactions)(?:\/([^/]+))?$/.exec(p);
    if (!m)
      return {
        status: 404,
        body: stripeError('invalid_request_error', `Unrecognized request URL (${method}: ${p}).`),
      };
    const kind = RESOURCES[m[1]];
    const id = m[2];
    if (write) {
      if (kind !== 'customer' || (method === 'DELETE' && !id))
        return {
          status: 404,
          body: stripeError('invalid_request_error', `Unrecognized request URL (${method}: ${p}).`),
        };
      return (
        denied('rak_customer_write') ??
        idempotent(req, method, p, body, () => writeCustomer(method, id, parseForm(body)))
      );
    }
    const no = denied(PERMISSION[kind]);
    if (no) return no;
    if (id) {
      const s = store.get(kind)!.get(id);
      if (!s && kind === 'customer' && gone.has(id)) return ok({ id, object: 'customer', deleted: true });
      if (!s) return { status: 404, body: missing(kind, id, 'id') };
      const e = expanded(structuredClone(s.obj), q.getAll('expand[]'));
      return e ? ok(e) : { status: 400, body: cannotExpand(q.getAll('expand[]')) };
    }
    let keep: (s: Stored) => boolean = () => true;
    const payout = q.get('payout');
    if (kind === 'balance_transaction' && payout !== null) {
      const po = store.get('payout')!.get(payout);
      if (!po) return { status: 400, body: missing('payout', payout, 'payout') };
      if (po.obj.automatic === false)
        return {
          status: 400,
          body: stripeError(
            'invalid_request_error',
            'Balance transaction history can only be filtered on automatic transfers, not manual.',
            { param: 'payout' },
          ),
        };
      const mine = new Set(settled.get(payout) ?? []);
      keep = (s) => mine.has(String(s.obj.id));
    }
    return page(kind, q, `/v1/${m[1]}`, keep);
  }

  const ok = (o: Json) => ({ status: 200, body: JSON.stringify(o, null, 2) });

  function overConcurrency(): boolean {
    return options.concurrency !== undefined && inFlight > options.concurrency;
  }

  /** Stripe's idempotency layer: the first answer saved (once the endpoint ran) and replayed for the same key. */
  function idempotent(
    req: http.IncomingMessage,
    method: string,
    p: string,
    body: string,
    run: () => { status: number; body: string },
  ): { status: number; body: string; headers?: Record<string, string> } {
    const key = req.headers['idempotency-key'];
    if (typeof key !== 'string' || !key) return run();
    const t = nowS();
    for (const [k, s] of saved) if (t - s.at > IDEMPOTENCY_SECONDS) saved.delete(k);
    const fingerprint = `${method} ${p} ${canonicalForm(body)}`;
    const s = saved.get(key);
    if (s) {
      if (s.running)
        return {
          status: 409,
          body: stripeError(
            'idempotency_error',
            'There is currently another in-progress request using this Stripe-Idempotency key (that probably means you submitted twice, and the other request is still going through). Please retry your request later.',
          ),
        };
      if (s.fingerprint !== fingerprint)
        return {
          status: 400,
          body: stripeError(
            'idempotency_error',
            `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
          ),
        };
      return { status: s.status, body: s.body, headers: { 'idempotent-replayed': 'true', 'idempotency-key': key } };
    }
    const entry: SavedAnswer = { fingerprint, status: 0, body: '', at: t, running: true };
    saved.set(key, entry);
    const a = run();
    entry.running = false;
    // Parameters that fail validation are not saved: the endpoint never began (Stripe: "You can retry these").
    if (a.status === 400 && /parameter_unknown|parameter_invalid/.test(a.body)) saved.delete(key);
    else Object.assign(entry, { status: a.status, body: a.body });
    return { ...a, headers: { 'idempotency-key': key } };
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      inFlight++;
      const body = Buffer.concat(chunks).toString('utf8');
      const delay = options.latencyMs ?? 0;
      const go = async () => {
        const url = new URL(req.url ?? '/', 'http://127.0.0.1');
        const call: StripeCall = {
          method: req.method ?? 'GET',
          path: url.pathname,
          query: url.searchParams,
          status: 0,
          version: header(req, 'stripe-version'),
          idempotencyKey: header(req, 'idempotency-key'),
          account: header(req, 'stripe-account'),
        };
        calls.push(call);
        try {
          const a = await answer(req, body);
          if (a === 'dropped') {
            call.status = -1;
            return;
          }
          call.status = a.status;
          call.replayed = a.headers?.['idempotent-replayed'] === 'true';
          res.writeHead(a.status, {
            'content-type': 'application/json',
            'request-id': newId('req'),
            'stripe-version': header(req, 'stripe-version') ?? defaultVersion,
            ...a.headers,
          });
          res.end(a.body);
        } catch (e) {
          call.status = 500;
          res.writeHead(500, { 'content-type': 'application/json' });
          res.end(stripeError('api_error', `fake stripe: ${(e as Error).message}`));
        } finally {
          inFlight--;
        }
      };
      if (delay > 0) setTimeout(() => void go(), delay);
      else void go();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    apiKey,
    calls,
    seed(records) {
      for (const r of records) put(r);
    },
    settle(payoutId, transactions) {
      for (const t of transactions) put(t);
      settled.set(payoutId, [...(settled.get(payoutId) ?? []), ...transactions.map((t) => String(t.id))]);
    },
    sample(kind, created, patch = {}) {
      return { ...stripeSample(kind), id: newId(kind), created, livemode: live, ...patch };
    },
    emit,
    update,
    remove,
    get: (kind, id) => store.get(kind)!.get(id)?.obj,
    events: () => list('event').map((s) => s.obj),
    fail(f) {
      failures.push({ times: 1, ...f });
    },
    limit(n, b) {
      perSecond = n;
      burst = b ?? n;
      for (const k of ['read', 'write'] as const)
        buckets[k] = { tokens: Math.min(buckets[k].tokens, burst), at: now() };
    },
    get throttled() {
      return throttled;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === 'string' ? v : undefined;
}

/**
 * A form body with Stripe's bracket notation as an object: `a=1&m[k]=v&l[]=x&l[]=y&n[0]=z` →
 * `{ a: '1', m: { k: 'v' }, l: ['x', 'y'], n: ['z'] }`.
 */
export function parseForm(body: string): Json {
  const out: Json = {};
  for (const [rawKey, value] of new URLSearchParams(body)) {
    const parts = rawKey.split('[').map((s, i) => (i === 0 ? s : s.replace(/\]$/, '')));
    let at: Record<string, unknown> | unknown[] = out;
    for (let i = 0; i < parts.length; i++) {
      const k = parts[i];
      const last = i === parts.length - 1;
      const nextIsList = !last && (parts[i + 1] === '' || /^\d+$/.test(parts[i + 1]));
      if (Array.isArray(at)) {
        if (last) at.push(value);
        else {
          const idx = k === '' ? at.length : Number(k);
          at[idx] ??= nextIsList ? [] : {};
          at = at[idx] as Record<string, unknown> | unknown[];
        }
      } else if (last) at[k] = value;
      else {
        at[k] ??= nextIsList ? [] : {};
        at = at[k] as Record<string, unknown> | unknown[];
      }
    }
  }
  return out;
}

/** A form body with its pairs sorted, so that the same parameters in another order are the same request. */
function canonicalForm(body: string): string {
  return [...new URLSearchParams(body)]
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .sort()
    .join('&');
}
