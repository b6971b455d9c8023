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
 *         since: { param: updated_since }
 *     entities:
 *       order: { path: /orders, method: PUT, keyIn: path, idField: id }   # keyIn: header → no key in the path
 *
 * Writes carry their write id (`WriteItem.writeId`) as an `Idempotency-Key` header (draft-ietf-httpapi-idempotency-
 * key-header; Stripe's and Square's APIs keep them for 24 hours or more): the same for a write's retries and for its
 * repeat after a crash, new for the key's next write. An API that keeps them applies each write once; one that
 * ignores them gets an upsert by key again, harmless for a PUT. A batch sends one per item (`idempotencyKey`) and
 * one for the request.
 *
 * Reads throw a `ConnectorError` for a failed call; writes return one result per record. The connector reports
 * 429s and 5xx with their Retry-After and never sleeps or retries itself: the pipeline owns back-off, so that a
 * wait is visible in the run log and bounded by the run's budget. The one retry it makes is an oauth2 401, which
 * is not a failure of the system but an access token it revoked or expired early.
 *
 * Secrets: every error message is built from the method, the URL path and the status line (plus a short, redacted
 * snippet of the response body), never from headers or the query string, and passes through `redact` (which also
 * knows a basic credential's base64, remembered where it is built) and a local scrub of this connection's oauth2
 * access tokens, which `redact` cannot know because they were never resolved as secrets; both scrub every encoding.
 */
import { STATUS_CODES } from 'node:http';
import { compile, type Expression } from '../../jsonata/index.js';
import { sha256 } from '../../util/hash.js';
import { parseJsonLossless } from '../../util/json.js';
import { networkCode, nextLink, parseRetryAfter } from '../kit/index.js';
import { redact, rememberSecret, SecretSet } from '../secrets.js';
import { ConnectorError } from '../types.js';
import type * as io from '../types.js';

/** Per request, including reading the body. */
const TIMEOUT_MS = 30_000;
/** An oauth2 token is renewed this long before it expires, so no request leaves with a token about to lapse. */
const TOKEN_MARGIN_MS = 30_000;
/** How much of an error response body a message keeps: enough for "sku is required", not a whole HTML page. */
const SNIPPET = 200;

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
  since?: { param: string };
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

/** A response, read to the end while the timeout still guards it. */
interface Reply {
  method: string;
  url: URL;
  status: number;
  statusText: string;
  headers: Headers;
  text: string;
}

export interface HttpOptions {
  /** Per-request timeout; 30 s unless a test needs a shorter one. */
  timeoutMs?: number;
}

export function openHttp(ctx: io.ConnectorContext, options: HttpOptions = {}): io.OpenConnector {
  const timeoutMs = options.timeoutMs ?? TIMEOUT_MS;
  const settings = ctx.settings;
  if (typeof settings.baseUrl !== 'string' || !/^https?:\/\//.test(settings.baseUrl)) {
    throw new ConnectorError('http: settings.baseUrl must be an http(s) URL', false);
  }
  const base = new URL(settings.baseUrl);
  const auth = (settings.auth ?? { type: 'none' }) as AuthSettings;
  const streamSettings = (settings.streams ?? {}) as Record<string, StreamSettings>;
  const entitySettings = (settings.entities ?? {}) as Record<string, EntitySettings>;

  /** This connection's oauth2 access tokens (not resolved by ctx.secret), scrubbed from messages alongside `redact`. */
  const derived = new SecretSet();
  const clean = (text: string): string => redact(derived.redact(text));

  // ---- requests -------------------------------------------------------------------------------------------------

  /** `{baseUrl}{path}`, keeping the base's own path (https://api.example.com/v1 + /orders → …/v1/orders). */
  const endpoint = (path: string): URL => {
    const url = new URL(base.href);
    url.pathname = `${base.pathname.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
    return url;
  };

  /**
   * One exchange with the network, the body read within the same timeout. Network failures and timeouts become
   * transient `ConnectorError`s; a cancellation by the caller is rethrown as it is (nothing failed).
   */
  async function exchange(
    method: string,
    url: URL,
    headers: Record<string, string>,
    body: string | undefined,
    signal?: AbortSignal,
  ): Promise<Reply> {
    const timeout = AbortSignal.timeout(timeoutMs);
    try {
      const res = await fetch(url, {
        method,
        headers,
        body,
        signal: signal ? AbortSignal.any([timeout, signal]) : timeout,
        // Following a redirect would send our auth headers wherever it points (fetch strips Authorization on a
        // cross-origin hop, but not an API-key header); a 3xx is reported instead, see `failure`.
        redirect: 'manual',
      });
      const text = await res.text();
      return {
        method,
        url,
        status: res.status,
        statusText: res.statusText || STATUS_CODES[res.status] || '',
        headers: res.headers,
        text,
      };
    } catch (e) {
      if (signal?.aborted) throw signal.reason ?? e;
      const what = timeout.aborted
        ? `no response within ${Math.round(timeoutMs / 1000)} s`
        : `network error (${networkCode(e)})`;
      throw new ConnectorError(clean(`${method} ${url.pathname}: ${what}`), true);
    }
  }

  /** Throttled, authenticated; an oauth2 401 renews the token and tries once more. */
  async function request(
    method: string,
    url: URL,
    init: { json?: unknown; headers?: Record<string, string>; signal?: AbortSignal } = {},
  ): Promise<Reply> {
    // Link pagination hands us URLs from a response header: never send credentials to another origin.
    if (url.origin !== base.origin) {
      throw new ConnectorError(
        clean(`${method} ${url.pathname}: refusing a URL outside ${base.origin} (from a Link header?)`),
        false,
      );
    }
    const body = init.json === undefined ? undefined : JSON.stringify(init.json);
    for (let attempt = 0; ; attempt++) {
      await ctx.throttle?.(1);
      const { headers: authHeaders, token } = await authenticate();
      const headers: Record<string, string> = { accept: 'application/json', ...authHeaders, ...init.headers };
      if (body !== undefined) headers['content-type'] = 'application/json';
      const reply = await exchange(method, url, headers, body, init.signal);
      if (reply.status === 401 && auth.type === 'oauth2' && attempt === 0) {
        // Drop the token only if no concurrent request has renewed it meanwhile.
        if (cached?.value === token) cached = undefined;
        continue;
      }
      return reply;
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
        throw new ConnectorError(
          `http: auth.type ${String((auth as { type: unknown }).type)} is not none, bearer, basic, apiKey or oauth2`,
          false,
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
    if (!auth.tokenUrl || !auth.clientId)
      throw new ConnectorError('http: oauth2 needs auth.tokenUrl and auth.clientId', false);
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: auth.clientId,
      client_secret: ctx.secret(auth.clientSecret),
    });
    if (auth.scope) form.set('scope', auth.scope);
    await ctx.throttle?.(1);
    // Not the caller's signal: the renewal is shared, and one caller giving up must not fail the others.
    const reply = await exchange(
      'POST',
      new URL(auth.tokenUrl),
      { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      form.toString(),
    );
    if (!ok(reply.status)) {
      const f = failure(reply);
      throw new ConnectorError(
        `oauth2 token request ${reply.url.pathname}: ${f.message}`,
        f.transient,
        f.retryAfterMs,
        reply.status,
      );
    }
    const body = parseJson(reply) as { access_token?: unknown; expires_in?: unknown } | undefined;
    if (typeof body?.access_token !== 'string' || !body.access_token) {
      throw new ConnectorError(`oauth2 token request ${reply.url.pathname}: the response has no access_token`, false);
    }
    derived.add(body.access_token);
    const expiresIn = Number(body.expires_in);
    // Without expires_in the token is kept until the API answers 401 (then renewed, see `request`).
    const expiresAt =
      Number.isFinite(expiresIn) && expiresIn > 0 ? Date.now() + expiresIn * 1000 - TOKEN_MARGIN_MS : Infinity;
    cached = { value: body.access_token, expiresAt };
    return body.access_token;
  }

  // ---- responses ------------------------------------------------------------------------------------------------

  /** "HTTP 422 Unprocessable Entity: <body snippet>", whether to retry, and a 429's or 503's Retry-After. */
  function failure(reply: Reply): { message: string; transient: boolean; retryAfterMs?: number } {
    const s = reply.status;
    const transient = s === 408 || s === 429 || s >= 500;
    const retryAfter = s === 429 || s === 503 ? parseRetryAfter(reply.headers.get('retry-after')) : undefined;
    let message = `HTTP ${s} ${reply.statusText}`.trim();
    if (s >= 300 && s < 400) message += ' (redirects are not followed: point baseUrl or the path at the final URL)';
    // Redact before cutting, so that a secret straddling the cut cannot leave half of itself behind.
    const snippet = clean(reply.text).replace(/\s+/g, ' ').trim().slice(0, SNIPPET);
    if (snippet) message += `: ${snippet}`;
    return { message: clean(message), transient, retryAfterMs: retryAfter };
  }

  function parseJson(reply: Reply): unknown {
    if (!reply.text.trim()) return undefined;
    try {
      return parseJsonLossless(reply.text);
    } catch {
      throw new ConnectorError(
        clean(`${reply.method} ${reply.url.pathname}: HTTP ${reply.status}, but the body is not JSON`),
        false,
        undefined,
        reply.status,
      );
    }
  }

  // ---- read -----------------------------------------------------------------------------------------------------

  const streams = new Map<string, Stream>();

  function stream(name: string): Stream {
    let s = streams.get(name);
    if (s) return s;
    const st = streamSettings[name];
    if (!st || typeof st.path !== 'string')
      throw new ConnectorError(`http: stream ${name} is not declared under settings.streams (with a path)`, false);
    s = { name, settings: st, records: st.records ? selector(st.records, `streams.${name}.records`) : undefined };
    const p = st.pagination;
    if (p && p.type !== 'cursor' && p.type !== 'link' && p.type !== 'offset') {
      throw new ConnectorError(`http: streams.${name}.pagination.type must be cursor, link or offset`, false);
    }
    if (p?.type === 'cursor') {
      if (typeof p.next !== 'string')
        throw new ConnectorError(
          `http: streams.${name}.pagination.next (JSONata giving the next cursor) is required`,
          false,
        );
      s.next = selector(p.next, `streams.${name}.pagination.next`);
    }
    streams.set(name, s);
    return s;
  }

  async function read(req: io.ReadRequest): Promise<io.Page> {
    const s = stream(req.stream);
    const st = s.settings;
    const p = st.pagination;
    let url: URL;
    if (p?.type === 'link' && typeof req.cursor === 'string') {
      // The API's own next-page URL, as given: Shopify rejects any filter beside page_info on it.
      url = new URL(req.cursor);
    } else {
      url = endpoint(st.path);
      const limitParam = p?.type === 'offset' ? (p.limitParam ?? st.limitParam ?? 'limit') : (st.limitParam ?? 'limit');
      if (limitParam) url.searchParams.set(limitParam, String(req.limit));
      // A stream without since/until params reads everything in any window; the ledger makes the excess "unchanged".
      if (req.since && st.since?.param) url.searchParams.set(st.since.param, req.since);
      if (req.until && st.until?.param) url.searchParams.set(st.until.param, req.until);
      if (p?.type === 'cursor' && req.cursor != null) url.searchParams.set(p.param ?? 'cursor', String(req.cursor));
      if (p?.type === 'offset') url.searchParams.set(p.param ?? 'offset', String(offsetOf(req.cursor)));
    }

    const reply = await request('GET', url, { signal: req.signal });
    if (!ok(reply.status)) {
      const f = failure(reply);
      throw new ConnectorError(clean(`GET ${url.pathname}: ${f.message}`), f.transient, f.retryAfterMs, reply.status);
    }
    const body = parseJson(reply);
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
    throw new ConnectorError(
      clean(
        `GET ${url.pathname}: the response has no array of records (data, items, records, results): set streams.${s.name}.records`,
      ),
      false,
    );
  }

  async function evaluate(expr: Expression, body: unknown, where: string): Promise<unknown> {
    try {
      return await expr.evaluate(body);
    } catch (e) {
      throw new ConnectorError(`http: ${where} failed on the response: ${(e as Error).message ?? String(e)}`, false);
    }
  }

  // ---- write ----------------------------------------------------------------------------------------------------

  function entity(name: string): EntitySettings {
    const e = entitySettings[name];
    if (!e || typeof e.path !== 'string')
      throw new ConnectorError(`http: entity ${name} is not declared under settings.entities (with a path)`, false);
    return e;
  }

  /** A thrown call failure as the result of one record; a cancellation still throws. */
  const asResult = (e: unknown): io.WriteResult => {
    if (e instanceof ConnectorError)
      return { ok: false, transient: e.transient, error: e.message, retryAfterMs: e.retryAfterMs };
    throw e;
  };

  const rejected = (reply: Reply): io.WriteResult => {
    const f = failure(reply);
    return { ok: false, transient: f.transient, error: f.message, retryAfterMs: f.retryAfterMs };
  };

  async function writeOne(e: EntitySettings, item: io.WriteItem, signal?: AbortSignal): Promise<io.WriteResult> {
    const byHeader = e.keyIn === 'header';
    const url = endpoint(byHeader ? e.path : `${e.path.replace(/\/+$/, '')}/${encodeURIComponent(item.key)}`);
    let reply: Reply;
    try {
      // The write's id, the same for its retries and its repeat after a crash: an API that keeps idempotency keys
      // answers the repeat with the first answer instead of applying it again.
      const id = item.writeId ?? (byHeader ? item.key : undefined);
      reply = await request(e.method ?? 'PUT', url, {
        json: item.record,
        headers: id === undefined ? undefined : { 'idempotency-key': id },
        signal,
      });
    } catch (err) {
      return asResult(err);
    }
    if (!ok(reply.status)) return rejected(reply);
    let body: unknown;
    try {
      body = parseJson(reply);
    } catch {
      body = undefined; // written all the same: a body we cannot read must not turn a success into a failure
    }
    return { ok: true, targetId: (e.idField && idAt(body, e.idField)) || item.key };
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
      reply = await request(batch.method ?? 'POST', endpoint(batch.path), {
        json: items.map((i) =>
          i.writeId === undefined
            ? { key: i.key, record: i.record }
            : { key: i.key, idempotencyKey: i.writeId, record: i.record },
        ),
        headers: ids.every((i) => i !== undefined)
          ? { 'idempotency-key': sha256(ids.join('\n')).slice(0, 40) }
          : undefined,
        signal,
      });
    } catch (err) {
      const r = asResult(err);
      return items.map(() => r);
    }
    let body: unknown;
    try {
      body = parseJson(reply);
    } catch {
      body = undefined;
    }
    const perItem =
      reply.status < 500 &&
      Array.isArray(body) &&
      body.length === items.length &&
      body.every((r) => typeof r === 'object' && r !== null && typeof (r as { ok?: unknown }).ok === 'boolean');
    if (!perItem) {
      const r: io.WriteResult = ok(reply.status)
        ? {
            ok: false,
            transient: false,
            error: clean(
              `${reply.method} ${reply.url.pathname}: HTTP ${reply.status}, but the body is not an array of ${items.length} results { ok, id?, error? }`,
            ),
          }
        : rejected(reply);
      return items.map(() => r);
    }
    return (body as BatchItemResult[]).map((r, i): io.WriteResult => {
      if (r.ok)
        return { ok: true, targetId: r.id !== undefined && r.id !== null && r.id !== '' ? String(r.id) : items[i].key };
      const status = typeof r.status === 'number' ? r.status : undefined;
      const transient =
        r.transient === true || (status !== undefined && (status === 408 || status === 429 || status >= 500));
      const line = status !== undefined ? `HTTP ${status} ${STATUS_CODES[status] ?? ''}`.trim() : 'rejected';
      const detail = typeof r.error === 'string' ? r.error : r.error !== undefined ? JSON.stringify(r.error) : '';
      const error = clean(detail ? `${line}: ${clean(detail).slice(0, SNIPPET)}` : line);
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

const ok = (status: number): boolean => status >= 200 && status < 300;

function selector(text: string, where: string): Expression {
  const c = compile(text);
  if (!c.ok) throw new ConnectorError(`http: ${where} is not valid JSONata: ${c.problem.message}`, false);
  return c.expr;
}

function offsetOf(cursor: io.Cursor | null): number {
  const n = Number(cursor ?? 0);
  return Number.isInteger(n) && n >= 0 ? n : 0;
}

/** The target id at a dotted path of the response body (`id`, `data.id`), as a string. */
function idAt(body: unknown, path: string): string | undefined {
  let v: unknown = body;
  for (const part of path.split('.'))
    v = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[part] : undefined;
  return typeof v === 'string' || typeof v === 'number' ? String(v) : undefined;
}

// Shared with every vendor connector (the kit); exported here too, where the http connector's tests find them.
export { nextLink, parseRetryAfter };
