/**
 * The stripe connector: Stripe's REST API (https://docs.stripe.com/api) read with plain `fetch` through the kit's
 * client — no `stripe` SDK, whose own retries, errors and limiter would fight the pipeline's (kit/index.ts), and
 * which the kit's one limiter, one error path and local test servers replace.
 *
 *   Authorization: Bearer <apiKey>      https://docs.stripe.com/api/authentication
 *   Stripe-Version: <apiVersion>        pinned per request, so objects keep the shape the mappings read
 *                                       (https://docs.stripe.com/api/versioning)
 *   Stripe-Account: <account>           a Connect account's data (https://docs.stripe.com/connect/authentication)
 *
 * Reads. Stripe's objects carry no last-modified time, and its lists are newest first by `created`
 * (https://docs.stripe.com/api/pagination). So, as Airbyte's source-stripe does, a stream is read in two modes:
 * - list: the list endpoint (`limit` ≤ 100, `starting_after`, `has_more`) in the kit's slices by `created[gte]`
 *   (`created[lt]` for a backfill window). This is a first sync, a backfill, and the fallback when the events are
 *   gone; `balanceTransactions` is read this way always (Stripe sends no event for them). Newest first within a
 *   slice: each object is read once per walk whatever its order, and the next slice starts at the newest `created`
 *   seen minus the overlap, so an object created during the walk is read by the next one.
 * - events: what changed, from the Events API (https://docs.stripe.com/api/events/list: `types[]`, at most 20, kept
 *   30 days). An event's `data.object` is the object as it was then (in the API version of the event's creation): a
 *   record of the stream, with the event's time as `updated` and `deleted: true` for a deletion (receive.ts
 *   `eventRecord`, the webhook's shape). Events must be applied oldest first (a charge's refund after its capture),
 *   and Stripe lists them newest first with many in one second; so the cursor is the last event delivered, and the
 *   next page is `ending_before=<that id>`: the events just after it, reversed. No timestamp ties, no overlap. The
 *   first page after a list sync (no anchor yet) is the oldest page of the events since the sync began (less the
 *   overlap): found by walking to the end of that list.
 * - Past retention: when the cursor's newest knowledge (its anchor event, or the last poll that found nothing new) is
 *   older than 29 days (30 kept, a day's margin), or Stripe no longer knows the anchor (resource_missing on
 *   ending_before), events may have been lost: the stream falls back to a full sync by its list endpoint. An anchor
 *   that is merely old while the last poll is recent is re-anchored by time instead (a quiet stream is not resynced).
 *
 * Payouts carry their balance transactions (GET /v1/balance_transactions?payout=po_…, every page: only automatic
 * payouts have them; Stripe refuses the filter on a manual one) as the Stripe list object `balance_transactions`, and
 * their failure_balance_transaction expanded: what the payout mappings (templates/payouts-to-erp-journal) read for
 * the fees and the failure date.
 *
 * Errors (https://docs.stripe.com/api/errors: `{ error: { type, code, message, param } }`): 401 and 403 are 'auth';
 * 429 is 'throttled' (Stripe documents no Retry-After: its libraries honour one when sent, else back off from
 * 0.5 s; we pause the shared limiter for Retry-After or 1 s) except an object `lock_timeout`, which is 'transient'
 * like 409 (a request in progress with the same idempotency key), 5xx and dropped connections; `Stripe-Should-Retry`
 * overrides (https://docs.stripe.com/rate-limits, https://github.com/stripe/stripe-php/pull/755). Messages never
 * carry the key: besides `redact`, the masked key Stripe echoes in its own messages ("Invalid API Key provided:
 * sk_test_****1234", "The provided key 'rk_live_…'") is scrubbed, its last characters being the key's.
 *
 * Rate: 80 % of Stripe's documented 100 requests/s live and 25/s in test mode (https://docs.stripe.com/rate-limits),
 * at most 4 in flight per process (Stripe's concurrency limiter has no documented size); `settings.rateLimit`
 * overrides. Stripe reports no headroom (no bucket headers), so a rate-limit 429 also slows the shared limiter
 * (Limiter.slow: half the rate for every worker, climbing back by itself), which keeps a limit lower than ours
 * (another integration sharing the account) from being hit again and again — by each worker in turn, when the pace
 * was each process's own. Writes: the catalogue declares no entity, so the connector writes nothing (a write would be form-encoded
 * with an Idempotency-Key = the write id: see fake.ts for Stripe's semantics).
 */
import { isObject } from '../../util/merge.js';
import {
  type CheckReport,
  ConnectorError,
  ExpiredToken,
  failure,
  type HttpClient,
  httpClient,
  parseRetryAfter,
  type RateLimiter,
  rateLimiter,
  readSlices,
  type Reply,
  type RequestOptions,
  type SliceCursor,
  sliceCursor,
  utc,
} from '../kit/index.js';
import type { ConnectorContext, OpenConnector, Page, ReadRequest } from '../types.js';
import { eventRecord } from './receive.js';
import { DEFAULT_API_VERSION } from './spec.js';

export const STRIPE_API = 'https://api.stripe.com';
/** Stripe keeps events 30 days; a cursor older than this margin falls back to a full sync. */
export const EVENTS_KEPT_MS = 30 * 86_400_000;
const RETENTION_MARGIN_MS = 86_400_000;
/** The overlap of list slices and of the first events page after a list sync. */
export const OVERLAP_MS = 60_000;
/** Stripe's page size cap. */
export const MAX_PAGE = 100;
/** A 429 without Retry-After: how long every caller waits (Stripe's libraries start at 0.5 s and double). */
const THROTTLE_PAUSE_MS = 1_000;

type Json = Record<string, unknown>;

interface StreamDef {
  /** The list endpoint. */
  path: string;
  /** The event types whose data.object is a record of this stream (none: the stream is read by its list only). */
  types: readonly string[];
  /** expand[] on a list page. */
  expand?: readonly string[];
}

/** The streams, their endpoints and their events (https://docs.stripe.com/api/events/types). */
export const STREAMS: Record<string, StreamDef> = {
  payouts: {
    path: '/v1/payouts',
    types: [
      'payout.created',
      'payout.updated',
      'payout.paid',
      'payout.failed',
      'payout.canceled',
      'payout.reconciliation_completed',
    ],
    expand: ['data.failure_balance_transaction'],
  },
  balanceTransactions: { path: '/v1/balance_transactions', types: [] },
  charges: {
    path: '/v1/charges',
    types: [
      'charge.succeeded',
      'charge.failed',
      'charge.captured',
      'charge.refunded',
      'charge.updated',
      'charge.pending',
      'charge.expired',
    ],
  },
  refunds: {
    path: '/v1/refunds',
    types: ['refund.created', 'refund.updated', 'refund.failed', 'charge.refund.updated'],
  },
  disputes: {
    path: '/v1/disputes',
    types: [
      'charge.dispute.created',
      'charge.dispute.updated',
      'charge.dispute.closed',
      'charge.dispute.funds_reinstated',
      'charge.dispute.funds_withdrawn',
    ],
  },
  customers: { path: '/v1/customers', types: ['customer.created', 'customer.updated', 'customer.deleted'] },
};

/** The part of the cursor that is the connector's own (SliceCursor.extra). */
export interface StripeExtra {
  mode: 'list' | 'events';
  /** list: when the full sync began (ms): the events mode starts there, less the overlap. */
  startedAt?: number;
  /** events: the last event delivered, and its `created` (ms). */
  anchor?: string;
  anchorAt?: number;
  /** events without an anchor: the events from this instant (ms). */
  from?: number;
  /** events: when a poll last found nothing newer than the anchor (ms): caught up then. */
  seen?: number;
  /** Why the stream last fell back to a full sync, if it did (for the run log and the tests). */
  fellBack?: string;
}

interface StripeList {
  object: 'list';
  data: Json[];
  has_more: boolean;
  url?: string;
}

export interface StripeOptions {
  /** The clock (tests of the retention). */
  now?: () => number;
  timeoutMs?: number;
}

/** A Stripe key's mode and kind, from its prefix (https://docs.stripe.com/keys). */
export function keyKind(key: string): { live: boolean; restricted: boolean; known: boolean } {
  const m = /^(sk|rk)_(live|test)_/.exec(key);
  return { live: m?.[2] === 'live', restricted: m?.[1] === 'rk', known: m !== null };
}

/** Stripe's messages echo a key masked but for its last characters: those are the key's, so they go too. */
export const scrubKeys = (text: string): string =>
  text.replace(/\b(sk|rk|pk)_(live|test)_[A-Za-z0-9*]+/g, '$1_$2_[redacted]');

export function openStripe(ctx: ConnectorContext, options: StripeOptions = {}): OpenConnector {
  const now = options.now ?? Date.now;
  const s = ctx.settings;
  const baseUrl = typeof s.baseUrl === 'string' && s.baseUrl ? s.baseUrl : STRIPE_API;
  if (!/^https?:\/\//.test(baseUrl)) throw failure.permanent('stripe: settings.baseUrl must be an http(s) URL');
  const apiVersion = typeof s.apiVersion === 'string' && s.apiVersion ? s.apiVersion : DEFAULT_API_VERSION;
  const account = typeof s.account === 'string' && s.account ? s.account : undefined;
  const key = () => {
    const k = ctx.secret(s.apiKey);
    if (!k) throw failure.auth('stripe: settings.apiKey resolves to an empty key');
    return k;
  };
  // The mode decides the default rate; the key is resolved lazily (a missing secret fails the call, not the open).
  let mode: ReturnType<typeof keyKind> | undefined;
  const kindOfKey = () => {
    if (!mode) {
      try {
        mode = keyKind(key());
      } catch {
        return { live: false, restricted: false, known: false };
      }
    }
    return mode;
  };
  let limiter: RateLimiter | undefined;
  const limit = () => (limiter ??= rateLimiter(ctx, 'api', { perSecond: kindOfKey().live ? 80 : 20, concurrency: 4 }));

  let client: HttpClient | undefined;
  const http = () =>
    (client ??= httpClient(ctx, {
      name: 'stripe',
      baseUrl,
      limiter: limit(),
      timeoutMs: options.timeoutMs,
      scrub: scrubKeys,
      headers: () => ({
        authorization: `Bearer ${key()}`,
        'stripe-version': apiVersion,
        ...(account ? { 'stripe-account': account } : {}),
      }),
    }));

  // ---- one call -------------------------------------------------------------------------------------------------

  /** Every status comes back to `call`, which makes Stripe's errors into failures of the right kind. */
  const EVERY_STATUS = Array.from({ length: 300 }, (_, i) => i + 300);

  async function call(path: string, query: Json, signal?: AbortSignal): Promise<Reply> {
    const reply = await send(path, query, signal);
    if (reply.status >= 200 && reply.status < 300) return reply;
    throw await stripeFailure(reply);
  }

  async function send(path: string, query: Json | undefined, signal?: AbortSignal): Promise<Reply> {
    return http().request('GET', path, { query: query as RequestOptions['query'], signal, allow: EVERY_STATUS });
  }

  async function stripeFailure(reply: Reply): Promise<ConnectorError> {
    const status = reply.status;
    let err: { type?: string; code?: string; message?: string; param?: string } = {};
    try {
      const body = reply.json<{ error?: typeof err }>();
      if (isObject(body?.error)) err = body.error;
    } catch {
      // not JSON (a proxy's page): the status decides
    }
    const what = [err.type, err.code].filter(Boolean).join('/');
    const detail = err.message ? `: ${what ? `${what}: ` : ''}${err.message}` : what ? `: ${what}` : '';
    const base = http()
      .failure(reply)
      .message.replace(/: \{.*$/, '');
    const message = http().clean(`${base}${detail}`.slice(0, 400));
    const shouldRetry = reply.headers.get('stripe-should-retry');
    if (status === 401 || status === 403) return failure.auth(message, status);
    if (status === 400 && err.code === 'resource_missing' && /^(starting_after|ending_before)$/.test(err.param ?? ''))
      return failure.expired(message);
    if (status === 429 && err.code !== 'lock_timeout') {
      const ms = parseRetryAfter(reply.headers.get('retry-after')) ?? THROTTLE_PAUSE_MS;
      await limit().slow();
      await limit().pause(ms);
      return failure.throttled(message, ms, status);
    }
    if (shouldRetry === 'false') return failure.permanent(message, status);
    if (shouldRetry === 'true' || status === 409 || status === 429 || status === 408 || status >= 500)
      return failure.transient(message, status);
    return failure.permanent(message, status);
  }

  /** One list page. */
  async function list(path: string, query: Json, signal?: AbortSignal): Promise<StripeList> {
    const body = (await call(path, query, signal)).json<StripeList>();
    if (!body || !Array.isArray(body.data))
      throw failure.permanent(`stripe: GET ${path}: the answer is not a list object`);
    return body;
  }

  // ---- records ----------------------------------------------------------------------------------------------------

  /** A payout with its balance transactions (every page) and its failure_balance_transaction, as the mappings read. */
  async function payoutRecord(p: Json, signal?: AbortSignal): Promise<Json> {
    const out = { ...p };
    if (typeof out.failure_balance_transaction === 'string') {
      out.failure_balance_transaction = (
        await call(`/v1/balance_transactions/${encodeURIComponent(out.failure_balance_transaction)}`, {}, signal)
      ).json();
    }
    if (out.automatic !== false && typeof out.id === 'string') {
      const data: Json[] = [];
      let after: string | undefined;
      for (;;) {
        const page = await list(
          '/v1/balance_transactions',
          { payout: out.id, limit: MAX_PAGE, starting_after: after },
          signal,
        );
        data.push(...page.data);
        if (!page.has_more || !page.data.length) break;
        after = String(page.data[page.data.length - 1].id);
      }
      out.balance_transactions = {
        object: 'list',
        data,
        has_more: false,
        url: `/v1/balance_transactions?payout=${out.id}`,
      };
    }
    return out;
  }

  /** A list object as a record: versioned by its creation (receive.ts `eventRecord` versions an event's by the event). */
  async function listRecord(stream: string, o: Json, signal?: AbortSignal): Promise<Json> {
    const r = o.updated === undefined && typeof o.created === 'number' ? { ...o, updated: o.created } : o;
    return stream === 'payouts' ? payoutRecord(r, signal) : r;
  }

  async function records(stream: string, objects: Json[], signal?: AbortSignal): Promise<Json[]> {
    const out: Json[] = [];
    for (const o of objects) out.push(await listRecord(stream, o, signal));
    return out;
  }

  // ---- read -------------------------------------------------------------------------------------------------------

  const seconds = (iso: string) => Math.floor(Date.parse(iso) / 1000);

  async function readList(req: ReadRequest, def: StreamDef, cursor: SliceCursor): Promise<Page> {
    return readSlices<Json>(
      { ...req, cursor },
      {
        overlapMs: OVERLAP_MS,
        updatedAt: (r) => (typeof r.created === 'number' ? utc(r.created * 1000) : null),
        fetch: async ({ since, until, token, limit, signal }) => {
          const page = await list(
            def.path,
            {
              limit: Math.min(Math.max(limit, 1), MAX_PAGE),
              'created[gte]': since ? seconds(since) : undefined,
              'created[lt]': until ? Math.ceil(Date.parse(until) / 1000) : undefined,
              starting_after: typeof token === 'string' ? token : undefined,
              'expand[]': def.expand,
            },
            signal,
          );
          const last = page.data[page.data.length - 1];
          return {
            records: await records(req.stream, page.data, signal),
            next: page.has_more && last ? String(last.id) : null,
          };
        },
      },
    );
  }

  /** A full sync by the list endpoint, after which the stream reads its events from when it began. */
  function fullSync(req: ReadRequest, since: string | null, fellBack?: string): Promise<Page> {
    const extra: StripeExtra = { mode: 'list', startedAt: now(), ...(fellBack ? { fellBack } : {}) };
    return readListThenEvents(req, { since, extra });
  }

  async function readListThenEvents(req: ReadRequest, cursor: SliceCursor): Promise<Page> {
    const def = STREAMS[req.stream];
    const page = await readList(req, def, cursor);
    const extra = (cursor.extra ?? {}) as StripeExtra;
    if (page.more || !def.types.length || req.until) return page;
    // The full sync is done: what changed since it began comes from the events, oldest first.
    const from = (extra.startedAt ?? now()) - OVERLAP_MS;
    const next: SliceCursor = {
      since: utc(from),
      extra: { mode: 'events', from, ...(extra.fellBack ? { fellBack: extra.fellBack } : {}) } satisfies StripeExtra,
    };
    return { records: page.records, cursor: next, more: true };
  }

  async function read(req: ReadRequest): Promise<Page> {
    const def = STREAMS[req.stream];
    if (!def) throw failure.permanent(`stripe: no stream ${req.stream} (${Object.keys(STREAMS).join(', ')})`);
    const cursor = sliceCursor(req);
    const extra = cursor.extra as StripeExtra | undefined;
    // A backfill window, a stream without events, a first sync, or a list sync under way: the list endpoint.
    if (req.until || !def.types.length) return readList(req, def, cursor);
    if (extra?.mode !== 'events') {
      if (!extra) return fullSync(req, cursor.since);
      return readListThenEvents(req, cursor);
    }
    return readEvents(req, def, extra);
  }

  async function readEvents(req: ReadRequest, def: StreamDef, x: StripeExtra): Promise<Page> {
    const t = now();
    const oldest = t - EVENTS_KEPT_MS + RETENTION_MARGIN_MS;
    const known = Math.max(
      x.anchorAt ?? Number.NEGATIVE_INFINITY,
      x.seen ?? Number.NEGATIVE_INFINITY,
      x.from ?? Number.NEGATIVE_INFINITY,
    );
    if (known < oldest) {
      return fullSync(
        req,
        null,
        `the cursor (${utc(Number.isFinite(known) ? known : 0)}) is older than Stripe's 30 days of events`,
      );
    }
    const limit = Math.min(Math.max(req.limit, 1), MAX_PAGE);
    const types = def.types;
    // An anchor near the end of retention, while a recent poll found nothing newer: re-anchor by time.
    if (x.anchor && (x.anchorAt ?? 0) < oldest && x.seen !== undefined && x.seen >= oldest) {
      return readEvents(req, def, { mode: 'events', from: x.seen - OVERLAP_MS, seen: x.seen });
    }
    let page: StripeList;
    let oldestPageHasNewer = false;
    if (x.anchor) {
      try {
        page = await list('/v1/events', { 'types[]': types, ending_before: x.anchor, limit }, req.signal);
      } catch (e) {
        if (!(e instanceof ExpiredToken)) throw e;
        if (x.seen !== undefined && x.seen >= oldest)
          return readEvents(req, def, { mode: 'events', from: x.seen - OVERLAP_MS, seen: x.seen });
        return fullSync(req, null, `Stripe no longer knows the cursor's event ${x.anchor}`);
      }
    } else {
      // No anchor: the oldest page of the events since `from`, found by walking to the end of the list.
      const from = Math.floor((x.from ?? t - OVERLAP_MS) / 1000);
      let after: string | undefined;
      let pages = 0;
      for (;;) {
        const p = await list(
          '/v1/events',
          { 'types[]': types, 'created[gte]': from, limit, starting_after: after },
          req.signal,
        );
        pages++;
        if (!p.has_more || !p.data.length) {
          page = p;
          oldestPageHasNewer = pages > 1;
          break;
        }
        after = String(p.data[p.data.length - 1].id);
      }
    }
    const events = [...page.data].reverse();
    const out: Json[] = [];
    for (const e of events) {
      const object = isObject(e.data) && isObject(e.data.object) ? e.data.object : undefined;
      if (!object) continue;
      const r = eventRecord(e, object);
      out.push(req.stream === 'payouts' && !r.deleted ? await payoutRecord(r, req.signal) : r);
    }
    const newest = events[events.length - 1];
    const more = x.anchor ? page.has_more : oldestPageHasNewer;
    const next: StripeExtra = newest
      ? {
          mode: 'events',
          anchor: String(newest.id),
          anchorAt: Number(newest.created) * 1000,
          ...(more ? {} : { seen: t }),
        }
      : x.anchor
        ? { ...x, seen: t }
        : // Nothing since `from` as of now: the next poll need not look further back than the overlap.
          { mode: 'events', from: Math.max(x.from ?? 0, t - OVERLAP_MS), seen: t };
    const at = next.anchorAt ?? next.from ?? t;
    return { records: out, cursor: { since: utc(at), extra: next } satisfies SliceCursor, more };
  }

  // ---- lookup, check ----------------------------------------------------------------------------------------------

  /** The record an event names, fetched by its id (a deleted customer comes back as Stripe's deleted object). */
  async function lookup(stream: string, reference: Json, signal?: AbortSignal): Promise<unknown[]> {
    const def = STREAMS[stream];
    if (!def) throw failure.permanent(`stripe: no stream ${stream}`);
    const id = typeof reference.id === 'string' ? reference.id : undefined;
    if (!id) throw failure.permanent(`stripe: a ${stream} reference needs its id`);
    const reply = await send(
      `${def.path}/${encodeURIComponent(id)}`,
      stream === 'payouts' ? { 'expand[]': ['failure_balance_transaction'] } : undefined,
      signal,
    );
    if (reply.status === 404) return [];
    if (reply.status < 200 || reply.status >= 300) throw await stripeFailure(reply);
    return [await listRecord(stream, reply.json<Json>(), signal)];
  }

  async function check(streams: string[], signal?: AbortSignal): Promise<CheckReport> {
    const k = keyKind(key());
    const notes: string[] = [];
    notes.push(
      k.known
        ? `${k.live ? 'live' : 'test'}-mode ${k.restricted ? 'restricted' : 'secret'} key${k.live ? '' : ': test data only'}`
        : 'the key is neither sk_ nor rk_, live nor test: Stripe will refuse it',
    );
    notes.push(
      `Stripe reports no rate-limit headroom: it allows ${k.live ? 100 : 25} requests/s in ${k.live ? 'live' : 'test'} mode; this connection sends at most ${limit().perSecond}/s`,
    );
    let identity: string | undefined;
    const missing = new Set<string>();
    let versionUsed = apiVersion;
    try {
      const reply = await call('/v1/account', {}, signal);
      const a = reply.json<Json>();
      versionUsed = reply.headers.get('stripe-version') ?? apiVersion;
      const profile = isObject(a.business_profile) ? a.business_profile : {};
      const dashboard = isObject(a.settings) && isObject(a.settings.dashboard) ? a.settings.dashboard : {};
      const name = profile.name ?? dashboard.display_name ?? a.email;
      identity = `${typeof name === 'string' && name ? `${name} ` : ''}(${String(a.id)})`;
    } catch (e) {
      // A wrong key is a 401: that is the check's answer. A restricted key may not read the account (403).
      if (!(e instanceof ConnectorError) || e.status !== 403) throw e;
      permissionIn(e.message, missing);
      notes.push('the key may not read the account (GET /v1/account): identity unknown');
    }
    const report: CheckReport['streams'] = [];
    for (const stream of streams) {
      const def = STREAMS[stream];
      if (!def) {
        report.push({ stream, ok: false, error: `no stream ${stream}` });
        continue;
      }
      try {
        const page = await list(def.path, { limit: 10 }, signal);
        if (def.types.length) await list('/v1/events', { 'types[]': def.types, limit: 1 }, signal);
        report.push({ stream, ok: true, records: page.data.length });
      } catch (e) {
        if (!(e instanceof ConnectorError)) throw e;
        if (e.kind === 'transient' || e.kind === 'throttled') throw e;
        if (e.status === 401) throw e;
        permissionIn(e.message, missing);
        report.push({ stream, ok: false, error: e.message });
      }
    }
    return {
      ...(identity ? { identity } : {}),
      apiVersion: {
        version: versionUsed,
        ...(versionUsed !== apiVersion
          ? { warning: `Stripe answered in ${versionUsed}, not the pinned ${apiVersion}` }
          : {}),
      },
      ...(missing.size || !k.restricted
        ? { scopes: { granted: k.restricted ? [] : ['every resource (a secret key)'], missing: [...missing].sort() } }
        : {}),
      streams: report,
      notes,
    };
  }

  return { connector: 'stripe', read, lookup, check };
}

/** The permission a restricted key's 403 names ("Having the 'rak_charge_read' permission would allow…"). */
function permissionIn(message: string, into: Set<string>): void {
  const m = /Having the '([a-z_]+)' permission/.exec(message);
  if (m) into.add(m[1]);
}
