/**
 * The business-central connector: Microsoft Dynamics 365 Business Central's standard API v2.0
 * (https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/api-reference/v2.0/) — reads of items
 * (the items, prices and inventory streams all read the items entity: the templates' business-central mappings take
 * number, unitPrice and inventory from it) and customers; writes of sales orders, sales invoices and sales credit
 * memos with their lines (deep insert), customers, items and general journal lines; `fetch` for `rsync xref
 * verify`; and the connection check. Plain `fetch` through the kit's client, as every vendor connector.
 *
 * Auth: OAuth 2.0 client credentials against Microsoft Entra ID — a form POST of client_id, client_secret and the
 * scope https://api.businesscentral.dynamics.com/.default to <authorityUrl>/<tenant>/oauth2/v2.0/token. The token is
 * kept until a minute before its expires_in runs out, and dropped (fetched again once) when the API answers 401.
 * The token is remembered by the secrets module, so no message can quote it.
 *
 * Base URL: <baseUrl>/v2.0/<tenantId>/<environment>/api/v2.0/companies(<companyId>); `baseUrl` and `authorityUrl`
 * point a test (or a proxy) elsewhere.
 *
 * Limits (https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/administration/operational-limits-online,
 * OData section): 6,000 requests per user per 5-minute sliding window in production (20 a second on average, the
 * bucket's default rate), 5 requests processed at once per user with the rest queued (the default concurrency cap,
 * held across workers by ctx.slots), $batch at most 100 operations. A 429's Retry-After pauses every caller of the
 * connection (the kit's limiter).
 *
 * Writes, and what a repeat does (promise 4). Business Central has no upsert by key and no idempotency key, so every
 * record carries rsync's key into the target — documents in externalDocumentNumber (Text[35]), customers in number
 * (Code[20]), journal lines in documentNumber (Code[20]); a key longer than the field is stamped with a digest of
 * it — and a write first looks the keys up (`$filter` on that field, 50 keys a request), or the ledger's target id
 * when the record no longer carries its stamp. Found: the record is compared with what rsync would write, left alone
 * when equal, else PATCHed with If-Match and its ETag (a 412 re-reads it and tries once more), its lines replaced in
 * one atomic $batch. Not found: created — up to 100 records in one `$batch` with `Isolation: snapshot`, so that the
 * batch is all or nothing; when one of them is refused, the whole batch rolled back and each record is sent alone,
 * to give the refused one its own permanent result. A worker killed after Business Central committed and before the
 * ledger did re-reads the page, finds every record by its stamp, and writes nothing twice: effectively exactly once.
 * The one window left is two writers of the same key at the same instant, which the pipeline never runs (a key's
 * records are written by one job at a time).
 *
 * Money goes to Business Central as JSON numbers spelled with the canonical decimal string's own digits (never
 * through a binary double), and comes back in views as normalised decimal strings ("42" and "42.00" are one value).
 */
import { createHash, randomBytes } from 'node:crypto';
import { rememberSecret } from '../secrets.js';
import {
  type CheckReport,
  ConnectorError,
  failure,
  type HttpClient,
  httpClient,
  type Reply,
  type RequestOptions,
  rateLimiter,
  readSlices,
  type SliceQuery,
  utc,
} from '../kit/index.js';
import type { ConnectorContext, OpenConnector, Page, ReadRequest, WriteItem, WriteResult } from '../types.js';

// biome-ignore lint/suspicious/noExplicitAny: Business Central's entities, read field by field
type Obj = Record<string, any>;

export const DEFAULT_BASE_URL = 'https://api.businesscentral.dynamics.com';
export const DEFAULT_AUTHORITY_URL = 'https://login.microsoftonline.com';
export const SCOPE = 'https://api.businesscentral.dynamics.com/.default';
export const API_VERSION = 'v2.0';
/** 6,000 requests per 5 minutes (production), per user or service principal. */
const PER_SECOND = 6000 / 300;
const BURST = 100;
/** Requests processed at once per user (more are queued by Business Central, then refused). */
const CONCURRENCY = 5;
/** A $batch holds at most 100 operations. */
export const BATCH_MAX = 100;
/** Keys looked up by one `$filter` (an `or` of equalities: the URL stays a few kB). */
const KEYS_PER_LOOKUP = 50;
/** A page holds at most 20,000 entities. */
const PAGE_MAX = 20_000;
/** A token is renewed this long before it expires. */
const TOKEN_MARGIN_MS = 60_000;
/** Business Central stamps lastModifiedDateTime as the write commits; a minute of overlap covers a slow commit. */
const OVERLAP_MS = 60_000;

interface Settings {
  tenantId?: string;
  environment?: string;
  companyId?: string;
  clientId?: string;
  clientSecret?: unknown;
  baseUrl?: string;
  authorityUrl?: string;
  /** Orders and credit memos: the customer number documents are sold to (web orders have no BC customer). */
  customerNumber?: string;
  /** Account lines: the G/L accounts of shipping, other charges, and lines without a SKU. */
  shippingAccount?: string;
  chargesAccount?: string;
  /** Journal lines: the general journal batch (its code) lines are written to. */
  journal?: string;
  /** Settlements as journal lines: the G/L accounts of the bank, the clearing account the sales were held in, fees. */
  bankAccount?: string;
  clearingAccount?: string;
  feeAccount?: string;
}

/** A document entity: its entity set, its lines' navigation property, its date field. */
interface DocKind {
  set: string;
  lines: string;
  date: string;
}

export const DOCUMENTS: Record<string, DocKind> = {
  salesOrder: { set: 'salesOrders', lines: 'salesOrderLines', date: 'orderDate' },
  salesInvoice: { set: 'salesInvoices', lines: 'salesInvoiceLines', date: 'invoiceDate' },
  salesCreditMemo: { set: 'salesCreditMemos', lines: 'salesCreditMemoLines', date: 'creditMemoDate' },
};

/** The streams: every one reads a Business Central entity by lastModifiedDateTime. */
const STREAMS: Record<string, string> = { items: 'items', prices: 'items', inventory: 'items', customers: 'customers' };

// ---- decimals: canonical strings out, normalised strings back ------------------------------------------------------

const NONCE = randomBytes(6).toString('hex');
const RAW = new RegExp(`"\\\\u0000${NONCE}:(-?\\d+(?:\\.\\d+)?)"`, 'g');

/** A decimal string to send as a JSON number with exactly its digits; anything else is refused. */
function num(v: unknown, what: string): string {
  const s = typeof v === 'number' ? String(v) : typeof v === 'string' ? v.trim() : '';
  if (!/^-?\d+(\.\d+)?$/.test(s)) throw new BadRecord(`${what} ${JSON.stringify(v)} is not a decimal amount`);
  return `\u0000${NONCE}:${s}`;
}

/** JSON text of a payload whose num() values become bare numbers. */
export function payloadJson(value: unknown): string {
  return JSON.stringify(value).replace(RAW, '$1');
}

/** A decimal as views hold it: at least two decimals, no other trailing zeros ("42" → "42.00", "1.2500" → "1.25"). */
export function decimal(v: unknown): string | null {
  if (v === null || v === undefined || v === '') return null;
  const s = String(v).trim();
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(s);
  if (!m) return s;
  const int = m[2].replace(/^0+(?=\d)/, '');
  let frac = (m[3] ?? '').replace(/0+$/, '');
  if (frac.length < 2) frac = frac.padEnd(2, '0');
  const out = `${int}.${frac}`;
  return m[1] && /[1-9]/.test(out) ? `-${out}` : out;
}

// ---- keys in the target ---------------------------------------------------------------------------------------------

const digest = (s: string) => createHash('sha256').update(s).digest('base64url').replace(/[-_]/g, 'X');

/** rsync's key as a Text[n] value: itself when it fits, else a prefix and a digest of it (stable, unique). */
export function stamp(key: string, max = 35): string {
  return key.length <= max ? key : `RS-${digest(key).slice(0, max - 3)}`;
}

/** rsync's key as a Code[n] value (upper case, as Business Central stores codes). */
export const codeStamp = (key: string, max = 20): string => stamp(key.toUpperCase(), max).toUpperCase();

const quote = (s: string) => `'${s.replace(/'/g, "''")}'`;
const guid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A record that cannot be written as it is: a permanent result for it alone. */
class BadRecord extends Error {}

const bad = (error: string): WriteResult => ({ ok: false, transient: false, error });

/** A write's outcome for a record: permanent failures are results, the others fail the call (the batch is retried). */
function resultOf(e: unknown): WriteResult {
  if (e instanceof BadRecord) return bad(e.message);
  if (e instanceof ConnectorError && e.kind === 'permanent') return bad(e.message);
  throw e;
}

export interface BusinessCentralOptions {
  timeoutMs?: number;
}

export function openBusinessCentral(ctx: ConnectorContext, options: BusinessCentralOptions = {}): OpenConnector {
  const s = ctx.settings as Settings;
  for (const k of ['tenantId', 'environment', 'companyId', 'clientId'] as const)
    if (typeof s[k] !== 'string' || s[k] === '') throw failure.permanent(`business-central: settings.${k} is required`);
  const origin = (s.baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, '');
  const authority = (s.authorityUrl ?? DEFAULT_AUTHORITY_URL).replace(/\/+$/, '');
  for (const u of [origin, authority])
    if (!/^https?:\/\//.test(u))
      throw failure.permanent('business-central: baseUrl and authorityUrl must be http(s) URLs');
  const tenant = encodeURIComponent(s.tenantId as string);
  const company = s.companyId as string;
  const apiRoot = `${origin}/v2.0/${tenant}/${encodeURIComponent(s.environment as string)}/api/v2.0`;
  const companyPath = `/companies(${company})`;
  const rootPath = new URL(apiRoot).pathname;

  const limiter = rateLimiter(ctx, 'api', { perSecond: PER_SECOND, burst: BURST, concurrency: CONCURRENCY });
  let token: { value: string; until: number } | undefined;
  let pending: Promise<string> | undefined;

  // The token endpoint is another origin, so another client; it has no rate limit of the API's.
  const login = httpClient(ctx, {
    name: 'business-central',
    baseUrl: `${authority}/${tenant}/oauth2/v2.0`,
    ...options,
  });
  const http: HttpClient = httpClient(ctx, {
    name: 'business-central',
    baseUrl: apiRoot,
    limiter,
    timeoutMs: options.timeoutMs,
    headers: async () => ({ authorization: `Bearer ${await accessToken()}` }),
  });

  async function fetchToken(): Promise<string> {
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: s.clientId as string,
      client_secret: ctx.secret(s.clientSecret),
      scope: SCOPE,
    });
    const reply = await login.request('POST', '/token', {
      body: form.toString(),
      contentType: 'application/x-www-form-urlencoded',
      allow: [400, 401],
    });
    const body = reply.json<Obj>() ?? {};
    if (reply.status !== 200 || typeof body.access_token !== 'string') {
      // Entra's error body: { error, error_description: "AADSTS7000215: Invalid client secret provided…", … }.
      const why = `${body.error ?? `HTTP ${reply.status}`}${body.error_description ? `: ${String(body.error_description).split(/\r?\n/)[0]}` : ''}`;
      throw failure.auth(
        `business-central: the token request for client ${s.clientId} was refused: ${why}`,
        reply.status,
      );
    }
    rememberSecret(body.access_token);
    const ttl = Number(body.expires_in ?? 3599) * 1000;
    token = { value: body.access_token, until: Date.now() + Math.max(ttl - TOKEN_MARGIN_MS, ttl / 2) };
    return body.access_token;
  }

  function accessToken(): Promise<string> {
    if (token && Date.now() < token.until) return Promise.resolve(token.value);
    pending ??= fetchToken().finally(() => {
      pending = undefined;
    });
    return pending;
  }

  // ---- one call, Business Central's errors made kit failures --------------------------------------------------

  const ALLOW = [400, 401, 403, 404, 409, 412, 429, 500, 502, 503, 504];

  async function call(method: string, path: string, o: RequestOptions = {}): Promise<Reply> {
    for (let attempt = 0; ; attempt++) {
      const reply = await http.request(method, path, { ...o, allow: [...ALLOW, ...(o.allow ?? [])] });
      if (reply.status === 401 && attempt === 0) {
        // A token revoked or expired early: one more try with a new one.
        token = undefined;
        continue;
      }
      if ((reply.status >= 200 && reply.status < 300) || o.allow?.includes(reply.status)) return reply;
      throw await bcFailure(reply);
    }
  }

  /** Business Central's `{ error: { code, message } }` as the kit's failure. */
  async function bcFailure(reply: Reply): Promise<ConnectorError> {
    const e = errorOf(reply.text);
    const message = http.clean(
      `business-central: ${reply.method} ${reply.url.pathname.replace(rootPath, '')}: HTTP ${reply.status}${e.code ? ` ${e.code}` : ` ${reply.statusText}`}${e.message ? `: ${e.message.slice(0, 300)}` : ''}`,
    );
    const err = http.failure(reply);
    if (err.retryAfterMs !== undefined) await limiter.pause(err.retryAfterMs);
    return new ConnectorError(message, err.transient, err.retryAfterMs, reply.status, err.kind);
  }

  const json = (r: Reply): Obj => r.json<Obj>() ?? {};

  // ---- reads ----------------------------------------------------------------------------------------------------

  async function read(req: ReadRequest): Promise<Page> {
    const set = STREAMS[req.stream];
    if (!set)
      throw failure.permanent(
        `business-central: no stream ${req.stream} (streams: ${Object.keys(STREAMS).join(', ')})`,
      );
    return readSlices<Obj>(req, {
      updatedAt: (r) => r.lastModifiedDateTime,
      overlapMs: OVERLAP_MS,
      fetch: (q) => page(set, q),
    });
  }

  /** One page of `set` changed at or after the slice's start, by (lastModifiedDateTime, id), @odata.nextLink paged. */
  async function page(set: string, q: SliceQuery): Promise<{ records: Obj[]; next: string | null }> {
    const headers = { prefer: `odata.maxpagesize=${Math.min(Math.max(1, q.limit), PAGE_MAX)}` };
    let reply: Reply;
    if (typeof q.token === 'string') {
      reply = await call('GET', q.token, { headers, signal: q.signal });
    } else {
      const filter = [
        q.since ? `lastModifiedDateTime ge ${utc(q.since)}` : '',
        q.until ? `lastModifiedDateTime lt ${utc(q.until)}` : '',
      ]
        .filter(Boolean)
        .join(' and ');
      reply = await call('GET', `${companyPath}/${set}`, {
        headers,
        signal: q.signal,
        query: { $filter: filter || undefined, $orderby: 'lastModifiedDateTime asc,id asc' },
      });
    }
    const body = json(reply);
    return { records: body.value ?? [], next: body['@odata.nextLink'] ?? null };
  }

  // ---- lookups by key -------------------------------------------------------------------------------------------

  /** The records of `set` whose `field` is one of `values`, by that value (lines expanded when asked). */
  async function findBy(
    set: string,
    field: string,
    values: string[],
    expand?: string,
    signal?: AbortSignal,
  ): Promise<Map<string, Obj[]>> {
    const out = new Map<string, Obj[]>();
    const distinct = [...new Set(values)];
    for (let i = 0; i < distinct.length; i += KEYS_PER_LOOKUP) {
      const part = distinct.slice(i, i + KEYS_PER_LOOKUP);
      let url: string | null = `${companyPath}/${set}`;
      let query: RequestOptions['query'] = {
        $filter: part.map((v) => `${field} eq ${quote(v)}`).join(' or '),
        $expand: expand,
      };
      while (url) {
        const body = json(await call('GET', url, { query, signal }));
        for (const r of body.value ?? []) {
          const k = String(r[field] ?? '');
          out.set(k, [...(out.get(k) ?? []), r]);
        }
        url = body['@odata.nextLink'] ?? null;
        query = undefined;
      }
    }
    return out;
  }

  /** One record by id, or null when it is gone. */
  async function byId(set: string, id: string, expand?: string, signal?: AbortSignal): Promise<Obj | null> {
    if (!guid.test(id)) return null;
    const r = await call('GET', `${companyPath}/${set}(${id})`, { query: { $expand: expand }, signal, allow: [404] });
    return r.status === 404 ? null : json(r);
  }

  // ---- $batch -----------------------------------------------------------------------------------------------------

  interface Op {
    method: string;
    url: string;
    body?: string;
    etag?: string;
  }
  interface OpResult {
    status: number;
    body: Obj;
  }

  /**
   * One JSON $batch of at most 100 operations. `atomic`: with `Isolation: snapshot`, one failed operation rolls back
   * every other, and the batch's failure is thrown as the first failed operation's (nothing was written).
   */
  async function batch(ops: Op[], atomic: boolean, signal?: AbortSignal): Promise<OpResult[]> {
    // URLs relative to the service root (…/api/v2.0/), as the $batch examples write them.
    const requests = ops.map(
      (o, i) =>
        `{"id":"${i + 1}","method":"${o.method}","url":${JSON.stringify(o.url.replace(/^\//, ''))},"headers":{"content-type":"application/json"${o.etag ? `,"if-match":${JSON.stringify(o.etag)}` : ''}}${o.body !== undefined ? `,"body":${o.body}` : ''}}`,
    );
    const reply = await call('POST', '/$batch', {
      body: `{"requests":[${requests.join(',')}]}`,
      contentType: 'application/json',
      headers: atomic ? { isolation: 'snapshot' } : {},
      signal,
    });
    const byId = new Map<string, OpResult>();
    for (const r of json(reply).responses ?? [])
      byId.set(String(r.id), { status: Number(r.status), body: r.body ?? {} });
    const results = ops.map((_, i) => byId.get(String(i + 1)) ?? { status: 0, body: {} });
    if (atomic) {
      const failed = results.find((r) => r.status < 200 || r.status >= 300);
      if (failed) throw new BatchRolledBack(opFailure(failed, ops[results.indexOf(failed)]));
    }
    return results;
  }

  function opFailure(r: OpResult, op: Op): ConnectorError {
    const e = r.body?.error ?? {};
    const kind =
      r.status === 429
        ? 'throttled'
        : r.status >= 500 || r.status === 0
          ? 'transient'
          : r.status === 401 || r.status === 403
            ? 'auth'
            : 'permanent';
    const message = http.clean(
      `business-central: ${op.method} ${op.url.split('?')[0]} (in $batch): HTTP ${r.status || 'no answer'}${e.code ? ` ${e.code}` : ''}${e.message ? `: ${String(e.message).slice(0, 300)}` : ''}`,
    );
    return new ConnectorError(message, kind === 'transient' || kind === 'throttled', undefined, r.status, kind);
  }

  /**
   * Creates records in atomic $batch requests of at most 100. When Business Central refuses one, the whole batch
   * was rolled back (nothing of it written), and its records are sent again one by one, so that the refused one gets
   * its own permanent result and the others are written.
   */
  async function createAll<P extends { i: number }>(
    all: P[],
    op: (p: P) => Op,
    created: (body: Obj) => WriteResult,
    results: WriteResult[],
    signal?: AbortSignal,
  ): Promise<void> {
    const send = async (group: P[]): Promise<void> => {
      try {
        const answers = await batch(group.map(op), true, signal);
        for (const [j, p] of group.entries()) results[p.i] = created(answers[j].body);
      } catch (e) {
        if (!(e instanceof BatchRolledBack) || e.error.kind !== 'permanent')
          throw e instanceof BatchRolledBack ? e.error : e;
        if (group.length === 1) results[group[0].i] = bad(e.error.message);
        else for (const p of group) await send([p]);
      }
    };
    for (let i = 0; i < all.length; i += BATCH_MAX) await send(all.slice(i, i + BATCH_MAX));
  }

  // ---- document writes (sales orders, invoices, credit memos) -------------------------------------------------------

  /** The lines of a document from an order or a refund, in Business Central's terms. */
  function documentLines(entity: string, r: Obj): Obj[] {
    const lines: Obj[] = [];
    const account = (acct: string | undefined, what: string) => {
      if (!acct)
        throw new BadRecord(
          `${what}: set settings.${what === 'shipping' ? 'shippingAccount' : 'chargesAccount'} (the G/L account it is posted to)`,
        );
      return acct;
    };
    if (entity === 'salesCreditMemo') {
      for (const [i, l] of (r.lines ?? []).entries()) {
        if (!l.sku) throw new BadRecord(`refund line ${i + 1} has no sku: credit memo lines are items`);
        if (Number(l.quantity) === 0) continue;
        const unit = l.amount !== undefined ? divide(String(l.amount), String(l.quantity)) : undefined;
        lines.push({
          lineType: 'Item',
          lineObjectNumber: l.sku,
          quantity: num(l.quantity, 'quantity'),
          ...(unit ? { unitPrice: num(unit, 'amount') } : {}),
        });
      }
      if (r.shipping !== undefined && Number(r.shipping) !== 0)
        lines.push({
          lineType: 'Account',
          lineObjectNumber: account(s.shippingAccount, 'shipping'),
          description: 'Shipping',
          quantity: num('1', 'q'),
          unitPrice: num(r.shipping, 'shipping'),
        });
      if (lines.length === 0) {
        // A refund of an amount only (no lines): one account line for its total.
        lines.push({
          lineType: 'Account',
          lineObjectNumber: account(s.chargesAccount, 'charges'),
          description: 'Refund',
          quantity: num('1', 'q'),
          unitPrice: num(r.total, 'total'),
        });
      }
      return lines;
    }
    for (const [i, l] of (r.lines ?? []).entries()) {
      if (l.removed || Number(l.quantity) === 0) continue;
      const line: Obj = l.sku
        ? { lineType: 'Item', lineObjectNumber: l.sku }
        : { lineType: 'Account', lineObjectNumber: account(s.chargesAccount, 'charges') };
      if (l.title) line.description = String(l.title).slice(0, 100);
      line.quantity = num(l.quantity, `line ${i + 1} quantity`);
      line.unitPrice = num(l.unitPrice, `line ${i + 1} unitPrice`);
      if (l.discount !== undefined && Number(l.discount) !== 0)
        line.discountAmount = num(l.discount, `line ${i + 1} discount`);
      lines.push(line);
    }
    for (const sh of r.shipping ?? []) {
      if (Number(sh.amount) === 0) continue;
      lines.push({
        lineType: 'Account',
        lineObjectNumber: account(s.shippingAccount, 'shipping'),
        description: String(sh.title ?? 'Shipping').slice(0, 100),
        quantity: num('1', 'q'),
        unitPrice: num(sh.amount, 'shipping amount'),
      });
    }
    for (const c of r.charges ?? []) {
      if (Number(c.amount) === 0) continue;
      lines.push({
        lineType: 'Account',
        lineObjectNumber: account(s.chargesAccount, 'charges'),
        description: String(c.title ?? c.type).slice(0, 100),
        quantity: num('1', 'q'),
        unitPrice: num(c.amount, 'charge amount'),
      });
    }
    if (lines.length === 0) throw new BadRecord('the order has no line to write (every line removed or of quantity 0)');
    return lines;
  }

  /** The header and lines rsync writes for one record. */
  function documentPayload(entity: string, item: WriteItem): { header: Obj; lines: Obj[] } {
    const kind = DOCUMENTS[entity];
    const r = item.record as Obj;
    if (!s.customerNumber)
      throw new BadRecord(
        'settings.customerNumber is not set: Business Central documents need a customer (e.g. the number of a "Web customer")',
      );
    const date = String(r.createdAt ?? '').slice(0, 10);
    if (!/^\d{4}-\d{2}-\d{2}$/.test(date))
      throw new BadRecord(`createdAt ${JSON.stringify(r.createdAt)} is not a date`);
    const header: Obj = {
      externalDocumentNumber: stamp(item.key),
      [kind.date]: date,
      customerNumber: s.customerNumber,
      currencyCode: String(r.currency ?? ''),
      pricesIncludeTax: r.taxesIncluded === true,
    };
    return { header, lines: documentLines(entity, r) };
  }

  /** What rsync set of a document, as `fetch` gives it back (and as views are stored). */
  function documentView(entity: string, header: Obj, lines: Obj[]): Obj {
    const kind = DOCUMENTS[entity];
    return {
      externalDocumentNumber: header.externalDocumentNumber ?? null,
      [kind.date]: header[kind.date] ?? null,
      customerNumber: header.customerNumber ?? null,
      currencyCode: header.currencyCode ?? null,
      pricesIncludeTax: header.pricesIncludeTax === true,
      [kind.lines]: lines.map((l) => ({
        lineType: l.lineType ?? null,
        lineObjectNumber: l.lineObjectNumber ?? null,
        quantity: decimal(raw(l.quantity)),
        unitPrice: decimal(raw(l.unitPrice)),
        discountAmount: decimal(raw(l.discountAmount) ?? '0'),
      })),
    };
  }

  /** What a document as Business Central returns it (its lines by sequence) shows of rsync's fields. */
  function storedDocumentView(entity: string, doc: Obj): Obj {
    const lines = [...(doc[DOCUMENTS[entity].lines] ?? [])].sort(
      (a, b) => Number(a.sequence ?? 0) - Number(b.sequence ?? 0),
    );
    return documentView(entity, doc, lines);
  }

  async function writeDocuments(entity: string, items: WriteItem[], signal?: AbortSignal): Promise<WriteResult[]> {
    const kind = DOCUMENTS[entity];
    const results: WriteResult[] = new Array(items.length);
    const planned: { i: number; item: WriteItem; header: Obj; lines: Obj[]; view: Obj }[] = [];
    for (const [i, item] of items.entries()) {
      try {
        const { header, lines } = documentPayload(entity, item);
        planned.push({ i, item, header, lines, view: documentView(entity, header, lines) });
      } catch (e) {
        results[i] = resultOf(e);
      }
    }
    const found = await findBy(
      kind.set,
      'externalDocumentNumber',
      planned.map((p) => p.header.externalDocumentNumber),
      kind.lines,
      signal,
    );
    const creates: typeof planned = [];
    for (const p of planned) {
      let existing = found.get(p.header.externalDocumentNumber)?.[0];
      if (!existing && p.item.targetId)
        existing = (await byId(kind.set, p.item.targetId, kind.lines, signal)) ?? undefined;
      if (!existing) {
        creates.push(p);
        continue;
      }
      try {
        results[p.i] = await updateDocument(entity, existing, p, signal);
      } catch (e) {
        results[p.i] = resultOf(e);
      }
    }
    await createAll(
      creates,
      (p) => ({
        method: 'POST',
        url: `${companyPath}/${kind.set}?$expand=${kind.lines}`,
        body: payloadJson({ ...p.header, [kind.lines]: p.lines }),
      }),
      (doc) => ({ ok: true, targetId: String(doc.id), view: storedDocumentView(entity, doc) }),
      results,
      signal,
    );
    return results;
  }

  /**
   * An existing document made what rsync would write: nothing when it already is; else its header PATCHed with
   * If-Match and its lines replaced, all in one atomic $batch — a 412 (someone changed it since we read it) re-reads
   * it and tries once more.
   */
  async function updateDocument(
    entity: string,
    existing: Obj,
    p: { header: Obj; lines: Obj[]; view: Obj },
    signal?: AbortSignal,
    retried = false,
  ): Promise<WriteResult> {
    const kind = DOCUMENTS[entity];
    const current = storedDocumentView(entity, existing);
    if (same(current, p.view)) return { ok: true, targetId: String(existing.id), view: current };
    const base = `${companyPath}/${kind.set}(${existing.id})`;
    const ops: Op[] = [{ method: 'PATCH', url: base, body: payloadJson(p.header), etag: existing['@odata.etag'] }];
    for (const l of existing[kind.lines] ?? [])
      ops.push({ method: 'DELETE', url: `${base}/${kind.lines}(${l.id})`, etag: l['@odata.etag'] ?? '*' });
    for (const l of p.lines) ops.push({ method: 'POST', url: `${base}/${kind.lines}`, body: payloadJson(l) });
    if (ops.length > BATCH_MAX)
      throw new BadRecord(
        `the document has too many lines to replace in one $batch (${ops.length} operations, at most ${BATCH_MAX})`,
      );
    try {
      await batch(ops, true, signal);
    } catch (e) {
      if (e instanceof BatchRolledBack && e.error.status === 412 && !retried) {
        const again = await byId(kind.set, String(existing.id), kind.lines, signal);
        if (!again)
          throw failure.transient(`business-central: ${kind.set}(${existing.id}) was deleted while it was updated`);
        return updateDocument(entity, again, p, signal, true);
      }
      throw e instanceof BatchRolledBack ? e.error : e;
    }
    const after = await byId(kind.set, String(existing.id), kind.lines, signal);
    return { ok: true, targetId: String(existing.id), view: after ? storedDocumentView(entity, after) : p.view };
  }

  // ---- customers and items: one entity, a key field ------------------------------------------------------------------

  interface Simple {
    set: string;
    /** The field the key is found by, and its value for a record. */
    keyField: string;
    keyOf(item: WriteItem): string;
    payload(item: WriteItem): Obj;
    /** The fields rsync sets, normalised (what views hold). */
    view(entity: Obj): Obj;
  }

  const SIMPLE: Record<string, Simple> = {
    customer: {
      set: 'customers',
      keyField: 'number',
      keyOf: (i) => codeStamp(i.key),
      payload(i) {
        const r = i.record as Obj;
        const name = [r.firstName, r.lastName].filter(Boolean).join(' ') || r.email || String(r.externalId);
        const a = (r.addresses ?? [])[0] ?? {};
        const out: Obj = { number: codeStamp(i.key), displayName: String(name).slice(0, 100), type: 'Person' };
        if (r.email) out.email = String(r.email).slice(0, 80);
        if (r.phone) out.phoneNumber = String(r.phone).slice(0, 30);
        if (a.address1) out.addressLine1 = String(a.address1).slice(0, 100);
        if (a.address2) out.addressLine2 = String(a.address2).slice(0, 50);
        if (a.city) out.city = String(a.city).slice(0, 30);
        if (a.province ?? a.provinceCode) out.state = String(a.provinceCode ?? a.province).slice(0, 30);
        if (a.country ?? a.countryCode) out.country = String(a.countryCode ?? a.country).slice(0, 10);
        if (a.zip ?? a.postalCode) out.postalCode = String(a.zip ?? a.postalCode).slice(0, 20);
        return out;
      },
      view: (c) =>
        pick(c, [
          'number',
          'displayName',
          'type',
          'email',
          'phoneNumber',
          'addressLine1',
          'addressLine2',
          'city',
          'state',
          'country',
          'postalCode',
        ]),
    },
    item: {
      set: 'items',
      keyField: 'number',
      keyOf: (i) => String((i.record as Obj).sku ?? (i.record as Obj).variants?.[0]?.sku ?? ''),
      payload(i) {
        const r = i.record as Obj;
        const v = (r.variants ?? [])[0] ?? {};
        const number = String(r.sku ?? v.sku ?? '');
        if (!number) throw new BadRecord(`product ${r.id}: no sku (the item number)`);
        if (number.length > 20) throw new BadRecord(`sku ${number} is longer than an item number (Code[20])`);
        const out: Obj = {
          number,
          displayName: String(r.title).slice(0, 100),
          type: v.requiresShipping === false ? 'Service' : 'Inventory',
          blocked: r.status === 'archived',
        };
        const price = v.price ?? r.price;
        if (price !== undefined) out.unitPrice = num(price, 'price');
        if (v.barcode) out.gtin = String(v.barcode).slice(0, 14);
        return out;
      },
      view: (it) => ({
        ...pick(it, ['number', 'displayName', 'type']),
        blocked: it.blocked === true,
        unitPrice: decimal(raw(it.unitPrice)),
        gtin: it.gtin || null,
      }),
    },
  };

  async function writeSimple(entity: string, items: WriteItem[], signal?: AbortSignal): Promise<WriteResult[]> {
    const e = SIMPLE[entity];
    const results: WriteResult[] = new Array(items.length);
    const planned: { i: number; item: WriteItem; key: string; body: Obj }[] = [];
    for (const [i, item] of items.entries()) {
      try {
        planned.push({ i, item, key: e.keyOf(item), body: e.payload(item) });
      } catch (err) {
        results[i] = resultOf(err);
      }
    }
    const found = await findBy(e.set, e.keyField, planned.map((p) => p.key).filter(Boolean), undefined, signal);
    const creates: typeof planned = [];
    for (const p of planned) {
      let existing = found.get(p.key)?.[0];
      if (!existing && p.item.targetId) existing = (await byId(e.set, p.item.targetId, undefined, signal)) ?? undefined;
      if (!existing) {
        creates.push(p);
        continue;
      }
      try {
        results[p.i] = await patch(e, existing, p.body, signal);
      } catch (err) {
        results[p.i] = resultOf(err);
      }
    }
    await createAll(
      creates,
      (p) => ({ method: 'POST', url: `${companyPath}/${e.set}`, body: payloadJson(p.body) }),
      (body) => ({ ok: true, targetId: String(body.id), view: e.view(body) }),
      results,
      signal,
    );
    return results;
  }

  /** PATCH with If-Match when what rsync sets differs; a 412 re-reads the record and tries once more. */
  async function patch(e: Simple, existing: Obj, body: Obj, signal?: AbortSignal): Promise<WriteResult> {
    const want = e.view(JSON.parse(payloadJson(body)));
    let current = existing;
    for (let attempt = 0; ; attempt++) {
      if (same(e.view(current), want)) return { ok: true, targetId: String(current.id), view: e.view(current) };
      const r = await call('PATCH', `${companyPath}/${e.set}(${current.id})`, {
        body: payloadJson(body),
        contentType: 'application/json',
        headers: { 'if-match': current['@odata.etag'] ?? '*' },
        signal,
        allow: [412],
      });
      if (r.status !== 412) {
        const after = json(r);
        return { ok: true, targetId: String(after.id ?? current.id), view: e.view(after) };
      }
      if (attempt > 0) throw await bcFailure(r);
      const again = await byId(e.set, String(current.id), undefined, signal);
      if (!again) throw failure.transient(`business-central: ${e.set}(${current.id}) was deleted while it was updated`);
      current = again;
    }
  }

  // ---- general journal lines ------------------------------------------------------------------------------------

  let journalId: Promise<string> | undefined;
  function journal(signal?: AbortSignal): Promise<string> {
    const code = (s.journal ?? 'GENERAL').toUpperCase();
    journalId ??= findBy('journals', 'code', [code], undefined, signal)
      .then((m) => {
        const j = m.get(code)?.[0];
        if (!j)
          throw failure.permanent(
            `business-central: no general journal batch ${code} in the company: create it, or name another in settings.journal`,
          );
        return String(j.id);
      })
      .catch((e) => {
        journalId = undefined;
        throw e;
      });
    return journalId;
  }

  /**
   * A settlement (a payout) as a journal entry: the net amount into the bank, the fees to their account, the gross
   * out of the clearing account the payout's sales were held in — debits equal credits by the settlement's own
   * invariant (net + fees = gross).
   */
  function settlementEntry(r: Obj): Obj {
    if (!s.bankAccount || !s.clearingAccount)
      throw new BadRecord(
        'a settlement is written as journal lines: set settings.bankAccount and settings.clearingAccount (G/L account numbers)',
      );
    const fees = r.fees !== undefined && Number(r.fees) !== 0;
    if (fees && !s.feeAccount) throw new BadRecord(`the settlement has fees of ${r.fees}: set settings.feeAccount`);
    const memo = `${r.source ?? 'payout'} ${r.externalId}`;
    return {
      date: r.arrivalDate ?? r.date,
      memo,
      lines: [
        { account: s.bankAccount, debit: r.netAmount },
        ...(fees ? [{ account: s.feeAccount, debit: r.fees }] : []),
        { account: s.clearingAccount, credit: fees ? (r.grossAmount ?? r.netAmount) : r.netAmount },
      ],
    };
  }

  function journalLines(item: WriteItem, doc: string): Obj[] {
    const given = item.record as Obj;
    const r = Array.isArray(given.lines) || given.netAmount === undefined ? given : settlementEntry(given);
    const date = String(r.date ?? '').slice(0, 10);
    if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) throw new BadRecord(`date ${JSON.stringify(r.date)} is not a date`);
    return (r.lines ?? []).map((l: Obj, n: number) => {
      const debit = l.debit !== undefined && Number(l.debit) !== 0;
      const credit = l.credit !== undefined && Number(l.credit) !== 0;
      if (debit === credit) throw new BadRecord(`journal line ${n + 1} needs exactly one of debit and credit`);
      const amount = debit ? String(l.debit) : `-${String(l.credit).replace(/^-/, '')}`;
      return {
        accountType: 'G/L Account',
        accountNumber: String(l.account),
        postingDate: date,
        documentNumber: doc,
        externalDocumentNumber: stamp(item.key),
        amount: num(amount, `line ${n + 1} amount`),
        description: String(l.memo ?? r.memo ?? '').slice(0, 100),
      };
    });
  }

  const journalView = (lines: Obj[]): Obj => ({
    lines: [...lines]
      .sort((a, b) => Number(a.lineNumber ?? 0) - Number(b.lineNumber ?? 0))
      .map((l) => ({
        accountNumber: l.accountNumber,
        postingDate: l.postingDate,
        amount: decimal(raw(l.amount)),
        description: l.description ?? '',
      })),
  });

  /** A journal entry is the lines sharing its documentNumber (rsync's key as a Code[20]); its target id is that. */
  async function writeJournal(items: WriteItem[], signal?: AbortSignal): Promise<WriteResult[]> {
    const id = await journal(signal);
    const set = `journals(${id})/journalLines`;
    const results: WriteResult[] = new Array(items.length);
    const docs = items.map((i) => codeStamp(i.key));
    const found = await findBy(set, 'documentNumber', docs, undefined, signal);
    for (const [i, item] of items.entries()) {
      try {
        const lines = journalLines(item, docs[i]);
        const want = journalView(JSON.parse(payloadJson(lines)));
        const existing = found.get(docs[i]) ?? [];
        if (existing.length && same(journalView(existing), want)) {
          results[i] = { ok: true, targetId: docs[i], view: journalView(existing) };
          continue;
        }
        // The entry's lines replaced together, or not at all.
        const ops: Op[] = [
          ...existing.map((l) => ({
            method: 'DELETE',
            url: `${companyPath}/${set}(${l.id})`,
            etag: l['@odata.etag'] ?? '*',
          })),
          ...lines.map((l) => ({ method: 'POST', url: `${companyPath}/${set}`, body: payloadJson(l) })),
        ];
        if (ops.length > BATCH_MAX)
          throw new BadRecord(`the journal entry has too many lines for one $batch (${ops.length})`);
        try {
          const answers = await batch(ops, true, signal);
          results[i] = {
            ok: true,
            targetId: docs[i],
            view: journalView(answers.slice(existing.length).map((a) => a.body)),
          };
        } catch (e) {
          throw e instanceof BatchRolledBack ? e.error : e;
        }
      } catch (e) {
        results[i] = resultOf(e);
      }
    }
    return results;
  }

  // ---- write, fetch ---------------------------------------------------------------------------------------------

  async function write(entity: string, items: WriteItem[], signal?: AbortSignal): Promise<WriteResult[]> {
    if (items.length === 0) return [];
    if (DOCUMENTS[entity]) return writeDocuments(entity, items, signal);
    if (SIMPLE[entity]) return writeSimple(entity, items, signal);
    if (entity === 'journal') return writeJournal(items, signal);
    throw failure.permanent(
      `business-central: no entity ${entity} (entities: ${[...Object.keys(DOCUMENTS), ...Object.keys(SIMPLE), 'journal'].join(', ')})`,
    );
  }

  async function fetchRecords(entity: string, targetIds: string[], signal?: AbortSignal): Promise<(Obj | null)[]> {
    const out: (Obj | null)[] = [];
    if (entity === 'journal') {
      const id = await journal(signal);
      const found = await findBy(`journals(${id})/journalLines`, 'documentNumber', targetIds, undefined, signal);
      return targetIds.map((t) => (found.get(t)?.length ? journalView(found.get(t) ?? []) : null));
    }
    const kind = DOCUMENTS[entity];
    const simple = SIMPLE[entity];
    if (!kind && !simple) throw failure.permanent(`business-central: no entity ${entity}`);
    for (const id of targetIds) {
      const r = await byId(kind ? kind.set : simple.set, id, kind?.lines, signal);
      out.push(r === null ? null : kind ? storedDocumentView(entity, r) : simple.view(r));
    }
    return out;
  }

  // ---- check ----------------------------------------------------------------------------------------------------

  async function check(streams: string[], signal?: AbortSignal): Promise<CheckReport> {
    const c = json(await call('GET', companyPath, { signal }));
    const report: CheckReport = {
      identity: `${c.displayName || c.name || 'company'} (company ${c.id ?? company}, environment ${s.environment}, tenant ${s.tenantId})`,
      apiVersion: { version: API_VERSION },
      streams: [],
      notes: [
        `paced at ${limiter.perSecond} requests/s and ${limiter.concurrency} at once (Business Central: 6,000 requests per 5 minutes and 5 processed at once per user)`,
      ],
    };
    if (/sandbox/i.test(String(s.environment))) report.notes?.push(`${s.environment} is a sandbox environment`);
    for (const stream of streams) {
      try {
        const p = await read({ stream, cursor: null, limit: 10, signal });
        report.streams.push({ stream, ok: true, records: p.records.length });
      } catch (e) {
        report.streams.push({ stream, ok: false, error: e instanceof Error ? e.message : String(e) });
      }
    }
    return report;
  }

  return { connector: 'business-central', read, write, fetch: fetchRecords, check };
}

/** An atomic $batch that Business Central rolled back: `error` is its failed operation's. */
class BatchRolledBack extends Error {
  constructor(readonly error: ConnectorError) {
    super(error.message);
  }
}

/** Business Central's error body `{ "error": { "code", "message" } }`, when the text is one. */
function errorOf(text: string): { code?: string; message?: string } {
  try {
    const e = JSON.parse(text)?.error;
    return {
      code: typeof e?.code === 'string' ? e.code : undefined,
      message: typeof e?.message === 'string' ? e.message : undefined,
    };
  } catch {
    return {};
  }
}

/** A payload value as it reads back: num()'s marker unwrapped. */
function raw(v: unknown): unknown {
  if (typeof v === 'string' && v.startsWith('\u0000')) return v.slice(v.indexOf(':') + 1);
  return v;
}

function pick(o: Obj, keys: string[]): Obj {
  const out: Obj = {};
  for (const k of keys) out[k] = o[k] === undefined || o[k] === '' ? null : o[k];
  return out;
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** amount ÷ quantity as a decimal string with at most 5 decimals (Business Central's unit price precision), exactly. */
function divide(amount: string, quantity: string): string | undefined {
  const q = Number(quantity);
  if (!Number.isInteger(q) || q <= 0) return undefined;
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(amount.trim());
  if (!m) return undefined;
  const scale = 5;
  const units = BigInt(m[2] + (m[3] ?? '').padEnd(scale, '0').slice(0, scale));
  const per = units / BigInt(q);
  const str = per.toString().padStart(scale + 1, '0');
  return `${m[1]}${str.slice(0, -scale)}.${str.slice(-scale)}`;
}
