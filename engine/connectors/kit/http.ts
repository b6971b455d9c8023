/**
 * The one HTTP exchange of every vendor connector: a request resolved against the connection's base URL, its auth
 * headers added per request, taken from the rate limiter first, read to the end within its timeout, and any failure
 * turned into a ConnectorError of the right kind (errors.ts) whose message names the method, the path and the
 * status line with a short snippet of the body — never a header, a query string or a secret (`redact` scrubs what
 * the secrets module resolved or remembered, in every encoding).
 *
 * It never sleeps or retries: the pipeline owns back-off, so that a wait is visible in the run's log and bounded by
 * the run's budget. What it does with a 429's or 503's Retry-After is tell the limiter, so that every caller of the
 * connection — on every worker, when the limiter is the shared one — waits it out, not only the one that met it.
 * Redirects are not followed (they would carry our credentials wherever they point), and a full URL given instead
 * of a path (a Link header's next page) must share the base's origin.
 */
import { STATUS_CODES } from 'node:http';
import { parseJsonLossless } from '../../util/json.js';
import { redact } from '../secrets.js';
import { ConnectorError, type ConnectorContext } from '../types.js';
import { networkCode, parseRetryAfter, statusKind } from './errors.js';
import type { RateLimiter } from './limiter.js';

const TIMEOUT_MS = 30_000;
/** How much of an error response body a message keeps: enough for "sku is required", not a whole HTML page. */
const SNIPPET = 200;

export interface HttpClientOptions {
  /** The vendor, which starts every message: "shopify: POST /admin/api/2026-07/graphql.json: HTTP 401 …". */
  name: string;
  /** Origin and base path; a request's path is resolved below it (…/admin/api/2026-07 + /graphql.json). */
  baseUrl: string;
  /** The auth headers of one request (resolved per request, so a rotated secret is picked up). */
  headers?: () => Record<string, string> | Promise<Record<string, string>>;
  limiter?: RateLimiter;
  timeoutMs?: number;
  /** Extra scrubbing of messages, for values the secrets module never saw (an access token fetched at run time). */
  scrub?: (text: string) => string;
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined | null | readonly (string | number)[]>;
  /** A JSON body (sent as application/json). */
  json?: unknown;
  /** A body as it is, with its content type. */
  body?: string;
  contentType?: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Tokens taken from the limiter before sending (default 1). */
  cost?: number;
  /** Statuses returned as replies instead of thrown (a 404 that means "gone", a 422 with per-item errors). */
  allow?: readonly number[];
}

export interface Reply {
  method: string;
  url: URL;
  status: number;
  statusText: string;
  headers: Headers;
  text: string;
  /** The body parsed without losing a 64-bit id (util/json.ts); a body that is not JSON is a permanent failure. */
  json<T = unknown>(): T;
}

export interface HttpClient {
  request(method: string, path: string | URL, o?: RequestOptions): Promise<Reply>;
  /** The URL of `path` below the base, with `query`. */
  url(path: string | URL, query?: RequestOptions['query']): URL;
  /** A message made safe: redacted, and scrubbed of this client's own tokens. */
  clean(text: string): string;
  /** The ConnectorError a non-2xx reply means (what `request` throws for a status not allowed). */
  failure(reply: Reply): ConnectorError;
}

export function httpClient(ctx: Pick<ConnectorContext, 'settings' | 'calls'>, o: HttpClientOptions): HttpClient {
  const base = new URL(o.baseUrl);
  const timeoutMs = o.timeoutMs ?? TIMEOUT_MS;
  const clean = (text: string): string => redact(o.scrub ? o.scrub(text) : text);
  const where = (method: string, url: URL) => `${o.name}: ${method} ${url.pathname}`;

  function url(path: string | URL, query?: RequestOptions['query']): URL {
    let u: URL;
    if (path instanceof URL || /^https?:\/\//.test(path)) {
      u = new URL(path);
    } else {
      u = new URL(base.href);
      const [p, q] = path.split('?');
      u.pathname = `${base.pathname.replace(/\/+$/, '')}/${p.replace(/^\/+/, '')}`;
      if (q) u.search = q;
    }
    for (const [k, v] of Object.entries(query ?? {})) {
      if (v === undefined || v === null) continue;
      if (Array.isArray(v)) for (const item of v) u.searchParams.append(k, String(item));
      else u.searchParams.set(k, String(v));
    }
    return u;
  }

  function failure(reply: Reply): ConnectorError {
    const s = reply.status;
    const kind = statusKind(s);
    const retryAfterMs = s === 429 || s === 503 ? parseRetryAfter(reply.headers.get('retry-after')) : undefined;
    let message = `${where(reply.method, reply.url)}: HTTP ${s} ${reply.statusText}`.trim();
    if (s >= 300 && s < 400) message += ' (redirects are not followed: point the base URL at the final address)';
    // Redact before cutting, so that a secret straddling the cut cannot leave half of itself behind.
    const snippet = clean(reply.text).replace(/\s+/g, ' ').trim().slice(0, SNIPPET);
    if (snippet) message += `: ${snippet}`;
    return new ConnectorError(clean(message), kind === 'transient' || kind === 'throttled', retryAfterMs, s, kind);
  }

  async function exchange(
    method: string,
    target: URL,
    headers: Record<string, string>,
    body: string | undefined,
    signal?: AbortSignal,
  ): Promise<Reply> {
    const timeout = AbortSignal.timeout(timeoutMs);
    try {
      const res = await fetch(target, {
        method,
        headers,
        body,
        signal: signal ? AbortSignal.any([timeout, signal]) : timeout,
        redirect: 'manual',
      });
      const text = await res.text();
      const reply: Reply = {
        method,
        url: target,
        status: res.status,
        statusText: res.statusText || STATUS_CODES[res.status] || '',
        headers: res.headers,
        text,
        json<T>(): T {
          if (!text.trim()) return undefined as T;
          try {
            return parseJsonLossless(text) as T;
          } catch {
            throw new ConnectorError(
              clean(`${where(method, target)}: HTTP ${res.status}, but the body is not JSON`),
              false,
              undefined,
              res.status,
              'permanent',
            );
          }
        },
      };
      return reply;
    } catch (e) {
      if (signal?.aborted) throw signal.reason ?? e;
      const what = timeout.aborted
        ? `no response within ${Math.round(timeoutMs / 1000)} s`
        : `network error (${networkCode(e)})`;
      throw new ConnectorError(clean(`${where(method, target)}: ${what}`), true, undefined, undefined, 'transient');
    }
  }

  async function request(method: string, path: string | URL, r: RequestOptions = {}): Promise<Reply> {
    const target = url(path, r.query);
    if (target.origin !== base.origin) {
      throw new ConnectorError(
        clean(`${where(method, target)}: refusing a URL outside ${base.origin}`),
        false,
        undefined,
        undefined,
        'permanent',
      );
    }
    const body = r.json !== undefined ? JSON.stringify(r.json) : r.body;
    const send = async (): Promise<Reply> => {
      await o.limiter?.take(r.cost ?? 1, r.signal);
      await ctx.calls?.();
      const headers: Record<string, string> = { accept: 'application/json', ...(await o.headers?.()), ...r.headers };
      if (body !== undefined)
        headers['content-type'] = r.contentType ?? (r.json !== undefined ? 'application/json' : 'text/plain');
      return exchange(method, target, headers, body, r.signal);
    };
    const reply = o.limiter ? await o.limiter.slot(send) : await send();
    if ((reply.status >= 200 && reply.status < 300) || r.allow?.includes(reply.status)) return reply;
    const err = failure(reply);
    if (err.retryAfterMs !== undefined) await o.limiter?.pause(err.retryAfterMs);
    throw err;
  }

  return { request, url, clean, failure };
}

/** The rel="next" target of an RFC 8288 Link header, resolved against the request URL. */
export function nextLink(header: string | null, requestUrl: URL): string | null {
  if (!header) return null;
  for (const m of header.matchAll(/<([^>]*)>((?:\s*;\s*[^;,]+)*)/g)) {
    for (const param of m[2].split(';')) {
      const [name, raw] = param.split('=').map((x) => x?.trim());
      if (name?.toLowerCase() !== 'rel' || !raw) continue;
      if (raw.replace(/^"|"$/g, '').toLowerCase().split(/\s+/).includes('next')) return new URL(m[1], requestUrl).href;
    }
  }
  return null;
}
