/**
 * The `http` connector: any REST API, declared in a connection's settings instead of coded.
 *
 *   settings:
 *     baseUrl: https://api.example.com/v1
 *     auth: { type: oauth2, tokenUrl: https://…/token, clientId: abc, clientSecret: { secretRef: "env:X" } }
 *     streams:
 *       orders:
 *         path: /orders
 *         records: data                       # JSONata over the response body (default: see `selectRecords`)
 *         pagination: { type: cursor, param: cursor, next: meta.next_cursor }   # or { type: link } / { type: offset }
 *         since: { param: updated_since, field: updated_at }   # field: read incrementally (see `read`)
 *     entities:
 *       order: { path: /orders, method: PUT, keyIn: path, idField: id }   # keyIn: header → no key in the path
 *
 * Writes carry their write id (`WriteItem.writeId`) as an `Idempotency-Key` header (draft-ietf-httpapi-idempotency-
 * key-header; Stripe's and Square's APIs keep them for 24 hours or more): the same for a write's retries and for its
 * repeat after a crash, new for the key's next write. An API that keeps them applies each write once; one that
 * ignores them gets an upsert by key again, harmless for a PUT. A batch sends one per item (`idempotencyKey`) and
 * one for the request.
 *
 * Every request goes through the connector kit (kit/http.ts): its timeouts, no redirects, same-origin Link URLs,
 * lossless JSON and failures of four kinds — 429 throttled; 408 and 5xx transient; 401 and 403 auth; other 4xx
 * permanent — each message built from the method, the URL path and the status line (plus a short, redacted snippet
 * of the body), never from headers or the query string. Reads throw that `ConnectorError`; writes return one result
 * per record. The connector never sleeps or retries itself: the pipeline owns back-off, so that a wait is visible in
 * the run log and bounded by the run's budget. The one retry it makes is an oauth2 401, which is not a failure of
 * the system but an access token it revoked or expired early.
 *
 * `rateLimit: { perSecond, burst? }` is the kit's limiter (bucket `requests`, shared by every worker through the
 * state database), taken before each request, token requests included; a 429's or 503's Retry-After pauses it, so
 * every worker of the connection waits it out. Without `rateLimit` no limit applies.
 *
 * Secrets: `redact` scrubs what the secrets module resolved (and a basic credential's base64, remembered where it
 * is built); this connection's oauth2 access tokens, never resolved as secrets, are scrubbed by the client's own
 * `scrub`. Both scrub every encoding.
 */
import { STATUS_CODES } from 'node:http';
import { compile, type Expression } from '../../jsonata/index.js';
import { sha256 } from '../../util/hash.js';
import { isObject } from '../../util/merge.js';
import {
  ConnectorError,
  failure,
  httpClient,
  nextLink,
  parseRetryAfter,
  rateLimiter,
  readSlices,
  type Reply,
  type RequestOptions,
  statusKind,
} from '../kit/index.js';
import { rememberSecret, SecretSet } from '../secrets.js';
import type * as io from '../types.js';

/** An oauth2 token is renewed this long before it expires, so no request leaves with a token about to lapse. */
const TOKEN_MARGIN_MS = 30_000;
/** How much of a batch item's error a result keeps. */
const SNIPPET = 200;
/** A batch endpoint's 4xx may say which items failed; a 408 or 429 is about the call, and goes to the kit. */
const VERDICTS = Array.from({ length: 100 }, (_, i) => 400 + i).filter((s) => s !== 408 && s !== 429);

type Method = 'POST' | 'PUT' | 'PATCH';

interface AuthSettings {
  type: 'none' | 'bearer' | 'basic' | 'apiKey' | 'oauth2';
  token?: unknown;
  username?: string;
  password?: unknown;
  header?: string;
  key?: unknown;
  tokenUrl?: string;
  clientId?: string;
  clientSecret?: unknown;
  scope?: string;
}

type Pagination =
  | { type: 'cursor'; param?: string; next: string }
  | { type: 'link' }
  | { type: 'offset'; param?: string; limitParam?: string };

interface StreamSettings {
  path: string;
  records?: string;
  pagination?: Pagination;
  /** The query parameter that carries the page size; false: the API takes none (some reject unknown parameters). */
  limitParam?: string | false;
  /** `field`: the records' updated time (a dotted path), which makes the stream's reads incremental slices. */
  since?: { param: string; field?: string };
  until?: { param: string };
}

interface EntitySettings {
  path: string;
  method?: Method;
  keyIn?: 'path' | 'header';
  batch?: { path: string; method?: Method };
  idField?: string;
}

/** A stream's settings with its JSONata selectors compiled (once per connection and stream). */
interface Stream {
  name: string;
  settings: StreamSettings;
  records?: Expression;
  next?: Expression;
}

export interface HttpOptions {
  /** Per-request timeout; 30 s unless a test needs a shorter one. */
  timeoutMs?: number;
}

export function openHttp(ctx: io.ConnectorContext, options: HttpOptions = {}): io.OpenConnector {
  const settings = ctx.settings;
  if (typeof settings.baseUrl !== 'string' || !/^https?:\/\//.test(settings.baseUrl)) {
    throw failure.permanent('http: settings.baseUrl must be an http(s) URL');
  }
  const auth = (settings.auth ?? { type: 'none' }) as AuthSettings;
  const streamSettings = (settings.streams ?? {}) as Record<string, StreamSettings>;
  const entitySettings = (settings.entities ?? {}) as Record<string, EntitySettings>;

  /** This connection's oauth2 access tokens (not resolved by ctx.secret), scrubbed from messages alongside `redact`. */
  const derived = new SecretSet();
  const perSecond = isObject(settings.rateLimit) ? settings.rateLimit.perSecond : undefined;
  const limiter =
    typeof perSecond === 'number' && perSecond > 0 ? rateLimiter(ctx, 'requests', { perSecond }) : undefined;
  const client = (name: string, baseUrl: string) =>
    httpClient(ctx, { name, baseUrl, limiter, timeoutMs: options.timeoutMs, scrub: (t) => derived.redact(t) });
  const api = client('http', settings.baseUrl);

  /** Authenticated; an oauth2 401 renews the token and tries once more. */
  async function request(method: string, path: string | URL, o: RequestOptions = {}): Promise<Reply> {
    for (let attempt = 0; ; attempt++) {
      const { headers, token } = await authenticate();
      const renew = auth.type === 'oauth2' && attempt === 0;
      const reply = await api.request(method, path, {
        ...o,
        headers: { ...headers, ...o.headers },
        allow: renew ? [...(o.allow ?? []), 401] : o.allow,
      });
      if (!(renew && reply.status === 401)) return reply;
      // Drop the token only if no concurrent request has renewed it meanwhile.
      if (cached?.value === token) cached = undefined;
    }
  }

  // ---- auth -----------------------------------------------------------------------------------------------------

  let cached: { value: string; expiresAt: number } | undefined;
  let renewing: Promise<string> | undefined;

  /** The auth headers for one request, and the oauth2 token they carry (to tell a stale token from a fresh one). */
  async function authenticate(): Promise<{ headers: Record<string, string>; token?: string }> {
    switch (auth.type) {
      case undefined:
      case 'none':
        return { headers: {} };
      case 'bearer':
        return { headers: { authorization: `Bearer ${ctx.secret(auth.token)}` } };
      case 'basic': {
        const credential = Buffer.from(`${auth.username ?? ''}:${ctx.secret(auth.password)}`).toString('base64');
        rememberSecret(credential);
        return { headers: { authorization: `Basic ${credential}` } };
      }
      case 'apiKey':
        return { headers: { [auth.header ?? 'X-API-Key']: ctx.secret(auth.key) } };
      case 'oauth2': {
        const token = await accessToken();
        return { headers: { authorization: `Bearer ${token}` }, token };
      }
      default:
        throw failure.permanent(
          `http: auth.type ${String((auth as { type: unknown }).type)} is not none, bearer, basic, apiKey or oauth2`,
        );
    }
  }

  /** The cached client-credentials token, renewed by one request however many callers are waiting for it. */
  function accessToken(): Promise<string> {
    if (cached && Date.now() < cached.expiresAt) return Promise.resolve(cached.value);
    renewing ??= fetchToken().finally(() => (renewing = undefined));
    return renewing;
  }

  async function fetchToken(): Promise<string> {
    if (!auth.tokenUrl || !auth.clientId) throw failure.permanent('http: oauth2 needs auth.tokenUrl and auth.clientId');
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: auth.clientId,
      client_secret: ctx.secret(auth.clientSecret),
    });
    if (auth.scope) form.set('scope', auth.scope);
    // Not the caller's signal: the renewal is shared, and one caller giving up must not fail the others.
    const reply = await client('http: oauth2 token request', auth.tokenUrl).request('POST', auth.tokenUrl, {
      body: form.toString(),
      contentType: 'application/x-www-form-urlencoded',
    });
    const body = reply.json<{ access_token?: unknown; expires_in?: unknown } | undefined>();
    if (typeof body?.access_token !== 'string' || !body.access_token) {
      throw failure.permanent(`http: oauth2 token request ${reply.url.pathname}: the response has no access_token`);
    }
    derived.add(body.access_token);
    const expiresIn = Number(body.expires_in);
    // Without expires_in the token is kept until the API answers 401 (then renewed, see `request`).
    const expiresAt =
      Number.isFinite(expiresIn) && expiresIn > 0 ? Date.now() + expiresIn * 1000 - TOKEN_MARGIN_MS : Infinity;
    cached = { value: body.access_token, expiresAt };
    return body.access_token;
  }

  // ---- read -----------------------------------------------------------------------------------------------------

  const streams = new Map<string, Stream>();

  function stream(name: string): Stream {
    let s = streams.get(name);
    if (s) return s;
    const st = streamSettings[name];
    if (!st || typeof st.path !== 'string')
      throw failure.permanent(`http: stream ${name} is not declared under settings.streams (with a path)`);
    s = { name, settings: st, records: st.records ? selector(st.records, `streams.${name}.records`) : undefined };
    const p = st.pagination;
    if (p && p.type !== 'cursor' && p.type !== 'link' && p.type !== 'offset') {
      throw failure.permanent(`http: streams.${name}.pagination.type must be cursor, link or offset`);
    }
    if (p?.type === 'cursor') {
      if (typeof p.next !== 'string')
        throw failure.permanent(`http: streams.${name}.pagination.next (JSONata giving the next cursor) is required`);
      s.next = selector(p.next, `streams.${name}.pagination.next`);
    }
    streams.set(name, s);
    return s;
  }

  /**
   * A stream whose `since` names its records' updated-time `field` is read in slices (kit/cursor.ts): the cursor is
   * `{ since, token, high }`, and a finished walk hands the next read the newest time seen less an overlap, so an
   * incremental run asks only for what changed. Without `field`, each walk ends with a null cursor (below).
   */
  async function read(req: io.ReadRequest): Promise<io.Page> {
    const s = stream(req.stream);
    const field = s.settings.since?.field;
    if (!field) return readPage(s, req);
    return readSlices(req, {
      fetch: async (q) => {
        const since = q.since ?? undefined;
        const page = await readPage(s, { ...req, since, until: q.until, cursor: q.token as io.Cursor, limit: q.limit });
        return { records: page.records, next: page.more ? page.cursor : null };
      },
      updatedAt: (r) => idAt(r, field),
    });
  }

  async function readPage(s: Stream, req: io.ReadRequest): Promise<io.Page> {
    const st = s.settings;
    const p = st.pagination;
    let url: URL;
    if (p?.type === 'link' && typeof req.cursor === 'string') {
      // The API's own next-page URL, as given: Shopify rejects any filter beside page_info on it.
      url = new URL(req.cursor);
    } else {
      const limitParam = p?.type === 'offset' ? (p.limitParam ?? st.limitParam ?? 'limit') : (st.limitParam ?? 'limit');
      // A stream without since/until params reads everything in any window; the ledger makes the excess "unchanged".
      url = api.url(st.path, {
        ...(limitParam ? { [limitParam]: req.limit } : {}),
        ...(st.since?.param ? { [st.since.param]: req.since } : {}),
        ...(st.until?.param ? { [st.until.param]: req.until } : {}),
        ...(p?.type === 'cursor' ? { [p.param ?? 'cursor']: req.cursor as string | number | null } : {}),
        ...(p?.type === 'offset' ? { [p.param ?? 'offset']: offsetOf(req.cursor) } : {}),
      });
    }

    const reply = await request('GET', url, { signal: req.signal });
    const body = reply.json();
    const records = await selectRecords(s, body, url);

    // On the last page the cursor is null: the next read starts over (or from `since`), as a generic API gives
    // no position that is safe to keep (Shopify's page_info, for one, expires) — with one exception below.
    let next: io.Cursor | null = null;
    if (p?.type === 'link') {
      next = nextLink(reply.headers.get('link'), url);
    } else if (p?.type === 'cursor') {
      const value = await evaluate(s.next!, body, `streams.${s.name}.pagination.next`);
      const token = typeof value === 'string' || typeof value === 'number' ? value : null;
      // An API that hands back the cursor it was given has nothing newer: reading on would fetch this page forever.
      // Such a cursor is a durable sync token, so it is kept for the next read rather than dropped.
      if (token !== null && token !== '' && req.cursor != null && String(token) === String(req.cursor)) {
        return { records, cursor: token, more: false };
      }
      next = token === '' ? null : token;
    } else if (p?.type === 'offset') {
      // Ends on an empty page, not a short one: an API that caps the page size below `limit` would look finished.
      next = records.length ? offsetOf(req.cursor) + records.length : null;
    }
    return { records, cursor: next, more: next !== null };
  }

  /**
   * The records of a response: the `records` selector's result, or by default the body itself when it is an
   * array, else the first of body.data / .items / .records / .results that is one.
   */
  async function selectRecords(s: Stream, body: unknown, url: URL): Promise<unknown[]> {
    if (body === undefined) return [];
    if (s.records) {
      const value = await evaluate(s.records, body, `streams.${s.name}.records`);
      // JSONata unwraps a one-item sequence; an absent result is no records.
      return value === undefined || value === null ? [] : Array.isArray(value) ? value : [value];
    }
    if (Array.isArray(body)) return body;
    if (typeof body === 'object' && body !== null) {
      for (const field of ['data', 'items', 'records', 'results']) {
        const v = (body as Record<string, unknown>)[field];
        if (Array.isArray(v)) return v;
      }
    }
    throw failure.permanent(
      api.clean(
        `http: GET ${url.pathname}: the response has no array of records (data, items, records, results): set streams.${s.name}.records`,
      ),
    );
  }

  async function evaluate(expr: Expression, body: unknown, where: string): Promise<unknown> {
    try {
      return await expr.evaluate(body);
    } catch (e) {
      throw failure.permanent(`http: ${where} failed on the response: ${(e as Error).message ?? String(e)}`);
    }
  }

  // ---- write ----------------------------------------------------------------------------------------------------

  function entity(name: string): EntitySettings {
    const e = entitySettings[name];
    if (!e || typeof e.path !== 'string')
      throw failure.permanent(`http: entity ${name} is not declared under settings.entities (with a path)`);
    return e;
  }

  /** A call failure as the result of one record; a cancellation still throws. */
  const asResult = (e: unknown): io.WriteResult => {
    if (e instanceof ConnectorError)
      return { ok: false, transient: e.transient, error: e.message, retryAfterMs: e.retryAfterMs };
    throw e;
  };

  /** The body of a write's answer, or nothing: a body we cannot read must not turn a success into a failure. */
  const bodyOf = (reply: Reply): unknown => {
    try {
      return reply.json();
    } catch {
      return undefined;
    }
  };

  async function writeOne(e: EntitySettings, item: io.WriteItem, signal?: AbortSignal): Promise<io.WriteResult> {
    const byHeader = e.keyIn === 'header';
    // The write's id, the same for its retries and its repeat after a crash: an API that keeps idempotency keys
    // answers the repeat with the first answer instead of applying it again.
    const id = item.writeId ?? (byHeader ? item.key : undefined);
    try {
      const reply = await request(
        e.method ?? 'PUT',
        byHeader ? e.path : `${e.path.replace(/\/+$/, '')}/${encodeURIComponent(item.key)}`,
        { json: item.record, headers: id === undefined ? undefined : { 'idempotency-key': id }, signal },
      );
      return { ok: true, targetId: (e.idField && idAt(bodyOf(reply), e.idField)) || item.key };
    } catch (err) {
      return asResult(err);
    }
  }

  /**
   * One request for the whole batch, answered with one result per item in order. A call that fails as a whole
   * fails every item the same way; per-item results are trusted on a 2xx or 4xx (a 207, or a 422 that says which).
   */
  async function writeBatch(e: EntitySettings, items: io.WriteItem[], signal?: AbortSignal): Promise<io.WriteResult[]> {
    if (!items.length) return [];
    const batch = e.batch!;
    let reply: Reply;
    try {
      // Each item carries its write id, and the request the ids of all: a batch repeated whole is answered from the
      // API's idempotency keys, one re-read in other batches from its items' ids (the API's to honour).
      const ids = items.map((i) => i.writeId);
      reply = await request(batch.method ?? 'POST', batch.path, {
        json: items.map((i) =>
          i.writeId === undefined
            ? { key: i.key, record: i.record }
            : { key: i.key, idempotencyKey: i.writeId, record: i.record },
        ),
        headers: ids.every((i) => i !== undefined)
          ? { 'idempotency-key': sha256(ids.join('\n')).slice(0, 40) }
          : undefined,
        signal,
        allow: VERDICTS,
      });
    } catch (err) {
      const r = asResult(err);
      return items.map(() => r);
    }
    const body = bodyOf(reply);
    const perItem =
      Array.isArray(body) &&
      body.length === items.length &&
      body.every((r) => typeof r === 'object' && r !== null && typeof (r as { ok?: unknown }).ok === 'boolean');
    if (!perItem) {
      const r: io.WriteResult =
        reply.status < 300
          ? {
              ok: false,
              transient: false,
              error: api.clean(
                `http: ${reply.method} ${reply.url.pathname}: HTTP ${reply.status}, but the body is not an array of ${items.length} results { ok, id?, error? }`,
              ),
            }
          : asResult(api.failure(reply));
      return items.map(() => r);
    }
    return (body as BatchItemResult[]).map((r, i): io.WriteResult => {
      if (r.ok)
        return { ok: true, targetId: r.id !== undefined && r.id !== null && r.id !== '' ? String(r.id) : items[i].key };
      const status = typeof r.status === 'number' ? r.status : undefined;
      const kind = status === undefined ? 'permanent' : statusKind(status);
      const transient = r.transient === true || kind === 'transient' || kind === 'throttled';
      const line = status !== undefined ? `HTTP ${status} ${STATUS_CODES[status] ?? ''}`.trim() : 'rejected';
      const detail = typeof r.error === 'string' ? r.error : r.error !== undefined ? JSON.stringify(r.error) : '';
      const error = api.clean(detail ? `${line}: ${api.clean(detail).slice(0, SNIPPET)}` : line);
      return { ok: false, transient, error };
    });
  }

  async function write(name: string, items: io.WriteItem[], signal?: AbortSignal): Promise<io.WriteResult[]> {
    const e = entity(name);
    if (e.batch) return writeBatch(e, items, signal);
    // One at a time: the rate limit spaces them anyway, and the target sees the batch's order.
    const results: io.WriteResult[] = [];
    for (const item of items) results.push(await writeOne(e, item, signal));
    return results;
  }

  return { connector: 'http', read, write };
}

/** One entry of a batch endpoint's answer. `status` and `transient` are optional refinements of `ok: false`. */
interface BatchItemResult {
  ok: boolean;
  id?: unknown;
  error?: unknown;
  status?: unknown;
  transient?: unknown;
}

function selector(text: string, where: string): Expression {
  const c = compile(text);
  if (!c.ok) throw failure.permanent(`http: ${where} is not valid JSONata: ${c.problem.message}`);
  return c.expr;
}

function offsetOf(cursor: io.Cursor | null): number {
  const n = Number(cursor ?? 0);
  return Number.isInteger(n) && n >= 0 ? n : 0;
}

/** The value at a dotted path (`id`, `data.id`) of a response body or record, as a string. */
function idAt(body: unknown, path: string): string | undefined {
  let v: unknown = body;
  for (const part of path.split('.'))
    v = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[part] : undefined;
  return typeof v === 'string' || typeof v === 'number' ? String(v) : undefined;
}

// Shared with every vendor connector (the kit); exported here too, where the http connector's tests find them.
export { nextLink, parseRetryAfter };
