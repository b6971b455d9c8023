/**
 * The netsuite connector: Oracle NetSuite's SuiteTalk REST web services — writes by external-id upsert, reads by
 * SuiteQL, read-backs for `rsync xref verify`, and the connection check. Plain `fetch` through the kit's client, not
 * a NetSuite SDK: one limiter, one error path and one redaction for every connector.
 *
 * Settings: `accountId` (1234567, or 1234567_SB1 for a sandbox: host 1234567-sb1.suitetalk.api.netsuite.com, realm
 * 1234567_SB1) or `baseUrl`; the credentials of token-based authentication (consumerKey, consumerSecret, tokenId,
 * tokenSecret) or of OAuth 2.0 client credentials (clientId, certificateId, privateKey; auth.ts); the references
 * NetSuite needs and a canonical record has not (subsidiary, customer, location, items, discountItem, customItem,
 * refundItem, accounts, depositAccount, clearingAccount, feeAccount, paymentAccount, orderKey, refundKey);
 * `concurrency`; `rateLimit`.
 *
 * Entities: salesOrder, cashSale and creditMemo (item lines), customer, journalEntry, deposit (a payout into the bank),
 * customerDeposit (an order paid before it ships, linked to its sales order by orderKey) and customerRefund (money
 * paid back, applying the refund's credit memo by refundKey), inventoryItem.
 *
 * Writes: every record is `PUT /services/rest/record/v1/<type>/eid:<external id>`, NetSuite's upsert — create when no
 * record of the type has the external id, else update that record in place — answered 204 with the record's URL in
 * Location, whose last segment is the internal id the ledger keeps. The external id is the idempotency key itself
 * (hashed when it has characters NetSuite does not allow in one), so the guarantee is exactly-once *effect* per key
 * whatever the pipeline repeats: a write retried after a timeout, or repeated after a crash between NetSuite's commit
 * and the ledger's, meets the record it created and updates it with the same values — it cannot create a second one.
 * Sublists are sent with `replace=<sublist>` so that an update replaces the lines rather than adding them again.
 * https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_156335203191.html (Using the Upsert Operation)
 *
 * Reads: `POST /services/rest/query/v1/suiteql` with `Prefer: transient`, pages of at most 1,000 rows by limit and
 * offset, a query of at most 100,000 rows
 * (https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_157909186990.html). Each stream is
 * incremental by lastmodifieddate, compared in UTC, with a unique ORDER BY (the date, then the record's key), as
 * NetSuite requires for paging without duplicates or gaps
 * (https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_158394344595.html). A slice is walked in
 * windows: when the next page would pass the query's row cap, the window ends and the next starts after the last
 * row read (keyset: a later date, or the same date and a greater key) at offset 0, so no query ever meets the cap.
 *
 * Concurrency: NetSuite limits the requests in flight per account, for every integration of the customer together
 * (https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/subsect_1559222360.html). Every request holds one
 * of this connection's slots (kit rateLimiter; across every worker when the runtime gives ctx.slots), DEFAULT
 * below the smallest account limit so the customer's other integrations keep theirs; `settings.concurrency` sets
 * it. A 429, or an error whose code is CONCURRENCY_LIMIT_EXCEEDED / a request-limit code, is throttled: retried
 * after its Retry-After, or after a back-off doubling from 1 s to 30 s, and the whole connection pauses for it.
 *
 * Errors: NetSuite's body `{ type, title, status, "o:errorDetails": [{ detail, "o:errorCode" }] }`
 * (https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_156570709583.html). 401 and 403 are auth
 * failures (a 401 with an OAuth 2.0 token fetches a new token once first); 5xx and dropped connections transient;
 * other 4xx permanent — for a write, that record's WriteResult, never its batch's.
 */
import { createHash } from 'node:crypto';
import {
  type CheckReport,
  ConnectorError,
  failure,
  httpClient,
  parseRetryAfter,
  type Reply,
  rateLimiter,
  readSlices,
  type SliceQuery,
  semaphore,
  utc,
} from '../kit/index.js';
import type {
  ConnectorContext,
  OpenConnector,
  Page,
  ReadRequest,
  TargetSchema,
  WriteItem,
  WriteResult,
} from '../types.js';
import {
  accountHost,
  clientAssertion,
  JWT_ALGORITHMS,
  type JwtAlgorithm,
  realmOf,
  tbaHeader,
  tokenRequestBody,
} from './auth.js';

// biome-ignore lint/suspicious/noExplicitAny: NetSuite's records, read field by field
type Obj = Record<string, any>;

/** SuiteQL's documented caps: rows a page, rows a query. */
export const PAGE_CAP = 1000;
export const QUERY_CAP = 100_000;
/** Requests in flight per connection unless settings.concurrency says: below the smallest account limit (5). */
export const DEFAULT_CONCURRENCY = 4;
/** NetSuite publishes no per-second limit for REST web services; this only smooths bursts (settings.rateLimit). */
const DEFAULT_PER_SECOND = 50;
/** Back-off after a concurrency rejection without Retry-After: doubling from this, to at most 30 s. */
const BACKOFF_MS = 1_000;
const BACKOFF_MAX_MS = 30_000;
/** An OAuth 2.0 access token is valid 60 minutes; a new one is fetched this long before it expires. */
const TOKEN_MARGIN_MS = 5 * 60_000;
/** Lookups (items by SKU, accounts by number) are kept this long. */
const LOOKUP_TTL_MS = 10 * 60_000;
/** Error codes that mean "too many requests in flight for the account". */
const CONCURRENCY_CODES = new Set([
  'CONCURRENCY_LIMIT_EXCEEDED',
  'SSS_REQUEST_LIMIT_EXCEEDED',
  'WS_REQUEST_BLOCKED',
  'WS_CONCUR_SESSION_DISALLWD',
]);

/** The NetSuite record type each entity writes, and the canonical entity it accepts. */
export const ENTITIES: Record<string, { type: string; sublist?: string }> = {
  salesOrder: { type: 'salesOrder', sublist: 'item' },
  cashSale: { type: 'cashSale', sublist: 'item' },
  creditMemo: { type: 'creditMemo', sublist: 'item' },
  customer: { type: 'customer' },
  journalEntry: { type: 'journalEntry', sublist: 'line' },
  deposit: { type: 'deposit', sublist: 'other' },
  customerDeposit: { type: 'customerDeposit' },
  customerRefund: { type: 'customerRefund' },
  inventoryItem: { type: 'inventoryItem' },
};

interface Settings {
  accountId?: string;
  baseUrl?: string;
  consumerKey?: unknown;
  consumerSecret?: unknown;
  tokenId?: unknown;
  tokenSecret?: unknown;
  clientId?: unknown;
  certificateId?: string;
  privateKey?: unknown;
  algorithm?: JwtAlgorithm;
  subsidiary?: string;
  customer?: string;
  location?: string;
  items?: Record<string, string>;
  discountItem?: string;
  customItem?: string;
  refundItem?: string;
  accounts?: Record<string, string>;
  depositAccount?: string;
  clearingAccount?: string;
  feeAccount?: string;
  /** The bank account customer deposits and refunds go through (absent: undeposited funds). */
  paymentAccount?: string;
  /** The key of an order's sales order (`shopify-order-{externalId}`): a deposit is linked to it when set. */
  orderKey?: string;
  /** The key of a refund's credit memo (`shopify-refund-{externalId}`): a customer refund applies it when set. */
  refundKey?: string;
}

export interface NetSuiteOptions {
  timeoutMs?: number;
  /** SuiteQL's rows a query (tests lower it, with the fake's, to see windows split under it). */
  queryCap?: number;
}

export function openNetSuite(ctx: ConnectorContext, options: NetSuiteOptions = {}): OpenConnector {
  const settings = ctx.settings as Settings;
  const accountId = settings.accountId;
  if (typeof accountId !== 'string' || !/^[0-9A-Za-z_]+$/.test(accountId))
    throw failure.permanent('netsuite: settings.accountId is required (e.g. 1234567, or 1234567_SB1 for a sandbox)');
  const baseUrl = (
    typeof settings.baseUrl === 'string' && settings.baseUrl ? settings.baseUrl : `https://${accountHost(accountId)}`
  ).replace(/\/+$/, '');
  if (!/^https?:\/\//.test(baseUrl)) throw failure.permanent('netsuite: settings.baseUrl must be an http(s) URL');
  const realm = realmOf(accountId);
  const tba = [settings.consumerKey, settings.consumerSecret, settings.tokenId, settings.tokenSecret];
  const m2m = settings.clientId !== undefined || settings.privateKey !== undefined;
  if (m2m && (settings.clientId === undefined || settings.privateKey === undefined || !settings.certificateId))
    throw failure.permanent(
      'netsuite: OAuth 2.0 client credentials need settings.clientId, settings.certificateId and settings.privateKey',
    );
  if (!m2m && tba.some((x) => x === undefined))
    throw failure.permanent(
      'netsuite: set the token-based authentication credentials (consumerKey, consumerSecret, tokenId, tokenSecret) or the OAuth 2.0 client credentials (clientId, certificateId, privateKey)',
    );
  const algorithm = settings.algorithm ?? 'PS256';
  if (!JWT_ALGORITHMS.includes(algorithm))
    throw failure.permanent(`netsuite: settings.algorithm must be one of ${JWT_ALGORITHMS.join(', ')}`);

  const limiter = rateLimiter(ctx, 'rest', {
    perSecond: DEFAULT_PER_SECOND,
    burst: DEFAULT_PER_SECOND,
    concurrency: DEFAULT_CONCURRENCY,
  });
  // Callers of this process queue here, first come first served, before they ask for one of the connection's
  // shared slots: the slots (PostgreSQL leases) are polled when all are taken, and a batch of hundreds of records
  // polling them would take turns by luck and back-off rather than in order.
  const local = semaphore(limiter.concurrency ?? DEFAULT_CONCURRENCY);
  let accessToken: { value: string; until: number } | undefined;
  const http = httpClient(ctx, {
    name: 'netsuite',
    baseUrl,
    timeoutMs: options.timeoutMs,
    scrub: (t) => (accessToken ? t.split(accessToken.value).join('[redacted]') : t),
  });
  const tokenUrl = `${baseUrl}/services/rest/auth/oauth2/v1/token`;
  const queryCap = options.queryCap ?? QUERY_CAP;
  let backoff = 0;
  let backoffAt = 0;

  // ---- auth -----------------------------------------------------------------------------------------------------

  let tokenPending: Promise<string> | undefined;
  async function bearer(signal?: AbortSignal): Promise<string> {
    if (accessToken && accessToken.until > Date.now()) return accessToken.value;
    tokenPending ??= (async () => {
      const assertion = await clientAssertion(
        {
          clientId: ctx.secret(settings.clientId),
          certificateId: String(settings.certificateId),
          privateKey: ctx.secret(settings.privateKey),
          algorithm,
          scope: ['rest_webservices'],
        },
        tokenUrl,
      );
      const reply = await send('POST', tokenUrl, {
        body: tokenRequestBody(assertion),
        contentType: 'application/x-www-form-urlencoded',
        signal,
        authorize: false,
      });
      const r = reply.json<Obj>();
      if (typeof r?.access_token !== 'string')
        throw failure.permanent('netsuite: the token endpoint gave no access_token');
      const life = Number(r.expires_in ?? 3600) * 1000;
      accessToken = { value: r.access_token, until: Date.now() + Math.max(0, life - TOKEN_MARGIN_MS) };
      return r.access_token;
    })().finally(() => {
      tokenPending = undefined;
    });
    return tokenPending;
  }

  async function authorization(method: string, url: string, signal?: AbortSignal): Promise<string> {
    if (m2m) return `Bearer ${await bearer(signal)}`;
    return tbaHeader(
      realm,
      {
        consumerKey: ctx.secret(settings.consumerKey),
        consumerSecret: ctx.secret(settings.consumerSecret),
        tokenId: ctx.secret(settings.tokenId),
        tokenSecret: ctx.secret(settings.tokenSecret),
      },
      method,
      url,
    );
  }

  // ---- one request ----------------------------------------------------------------------------------------------

  interface SendOptions {
    json?: unknown;
    body?: string;
    contentType?: string;
    headers?: Record<string, string>;
    signal?: AbortSignal;
    /** Statuses returned instead of thrown. */
    allow?: number[];
    /** False for the token request itself. */
    authorize?: boolean;
  }

  /**
   * One request within a slot of the account's concurrency, signed inside the slot (a TBA timestamp must not age
   * in the queue for a slot), NetSuite's errors made kit failures.
   */
  async function send(method: string, path: string, o: SendOptions = {}, retried = false): Promise<Reply> {
    const url = http.url(path);
    const body = o.json !== undefined ? serialise(o.json) : o.body;
    const reply = await local(() =>
      limiter.slot(async () => {
        await limiter.take(1, o.signal);
        const auth = o.authorize === false ? undefined : await authorization(method, url.href, o.signal);
        return http.request(method, url, {
          body,
          contentType: o.json !== undefined ? 'application/json' : o.contentType,
          headers: { ...(auth ? { authorization: auth } : {}), ...o.headers },
          signal: o.signal,
          allow: [400, 401, 403, 404, 405, 409, 429, 500, 502, 503, 504],
        });
      }),
    );
    if (reply.status >= 200 && reply.status < 300) {
      backoff = 0;
      return reply;
    }
    if (o.allow?.includes(reply.status)) return reply;
    if (reply.status === 401 && m2m && o.authorize !== false && !retried) {
      // The token was revoked or expired early: one new token, then the same request.
      accessToken = undefined;
      return send(method, path, o, true);
    }
    throw await netsuiteFailure(reply);
  }

  async function netsuiteFailure(reply: Reply): Promise<ConnectorError> {
    let details: Obj[] = [];
    let title = '';
    try {
      const b = reply.json<Obj>();
      if (Array.isArray(b?.['o:errorDetails'])) details = b['o:errorDetails'];
      if (typeof b?.title === 'string') title = b.title;
      // The token endpoint answers as OAuth 2.0 does: { error, error_description }.
      if (typeof b?.error === 'string') details = [{ 'o:errorCode': b.error, detail: b.error_description ?? '' }];
    } catch {
      // not JSON: the status line says it
    }
    const codes = details.map((d) => d['o:errorCode']).filter((c): c is string => typeof c === 'string');
    const detail = details
      .map((d) => String(d.detail ?? ''))
      .filter(Boolean)
      .join('; ')
      .slice(0, 300);
    const s = reply.status;
    const message = http.clean(
      `netsuite: ${reply.method} ${reply.url.pathname}: HTTP ${s}${codes.length ? ` ${codes.join(', ')}` : ` ${reply.statusText}`}${detail ? `: ${detail}` : title ? `: ${title}` : ''}`,
    );
    if (s === 429 || codes.some((c) => CONCURRENCY_CODES.has(c))) {
      // Requests refused together (one burst over the limit) back off once, not once each.
      if (Date.now() - backoffAt > backoff) {
        backoff = Math.min(BACKOFF_MAX_MS, backoff ? backoff * 2 : BACKOFF_MS);
        backoffAt = Date.now();
      }
      const ms = parseRetryAfter(reply.headers.get('retry-after')) ?? backoff;
      await limiter.pause(ms);
      return failure.throttled(message, ms, s);
    }
    if (s === 401 || s === 403) return failure.auth(message, s);
    if (s >= 500) {
      const ms = s === 503 ? parseRetryAfter(reply.headers.get('retry-after')) : undefined;
      return ms === undefined ? failure.transient(message, s) : failure.throttled(message, ms, s);
    }
    return failure.permanent(message, s);
  }

  // ---- SuiteQL --------------------------------------------------------------------------------------------------

  async function suiteql(q: string, limit: number, offset: number, signal?: AbortSignal): Promise<Obj> {
    const r = await send('POST', `/services/rest/query/v1/suiteql?limit=${limit}&offset=${offset}`, {
      json: { q },
      headers: { prefer: 'transient' },
      signal,
    });
    return r.json<Obj>() ?? {};
  }

  /** Internal ids by a column's value (items by itemid, accounts by acctnumber), cached; absent: not found. */
  const lookups = new Map<string, { id: string; at: number }>();
  async function idsOf(table: string, column: string, values: string[], signal?: AbortSignal) {
    const out = new Map<string, string>();
    const wanted: string[] = [];
    for (const v of new Set(values)) {
      const hit = lookups.get(`${table}\n${v}`);
      if (hit && Date.now() - hit.at < LOOKUP_TTL_MS) out.set(v, hit.id);
      else wanted.push(v);
    }
    for (let i = 0; i < wanted.length; i += 500) {
      const part = wanted.slice(i, i + 500);
      const q = `SELECT id, ${column} AS v FROM ${table} WHERE ${column} IN (${part.map(literal).join(', ')}) ORDER BY id`;
      const r = await suiteql(q, PAGE_CAP, 0, signal);
      for (const row of r.items ?? []) {
        const v = String(row.v);
        if (out.has(v)) continue; // the lowest id, if a value is not unique
        out.set(v, String(row.id));
        lookups.set(`${table}\n${v}`, { id: String(row.id), at: Date.now() });
      }
    }
    return out;
  }

  // ---- reads ----------------------------------------------------------------------------------------------------

  /** Where a slice is: the window's keyset start (the last row of the previous window) and the offset within it. */
  interface Token {
    after?: { t: string; k: string[] };
    offset: number;
  }

  async function fetchPage(stream: StreamDef, q: SliceQuery) {
    const t = (q.token as Token | null) ?? { offset: 0 };
    const limit = Math.max(1, Math.min(q.limit, PAGE_CAP));
    const r = await suiteql(stream.query(window(stream, q, t.after)), limit, t.offset, q.signal);
    const rows: Obj[] = r.items ?? [];
    const records = rows.map(stream.record);
    let next: Token | null = null;
    if (r.hasMore === true && rows.length) {
      const offset = t.offset + rows.length;
      // The next page would pass the query's cap: a new window after the last row, at offset 0.
      if (offset + limit > queryCap) {
        const last = rows[rows.length - 1];
        next = { after: { t: String(last.lmd_utc), k: stream.key.map((k) => String(last[k.alias])) }, offset: 0 };
      } else next = { ...t, offset };
    }
    return { records, next };
  }

  async function read(req: ReadRequest): Promise<Page> {
    const stream = STREAMS[req.stream];
    if (!stream)
      throw failure.permanent(`netsuite: no stream ${req.stream} (streams: ${Object.keys(STREAMS).join(', ')})`);
    return readSlices<Obj>(req, {
      fetch: (q) => fetchPage(stream, q),
      updatedAt: (r) => r[stream.updated] as string | undefined,
    });
  }

  // ---- writes ---------------------------------------------------------------------------------------------------

  const bad = (error: string): WriteResult => ({ ok: false, transient: false, error: `netsuite: ${error}` });
  const ref = (id: string | undefined) => (id ? { id } : undefined);

  /** Each record's payload, or why it cannot be written (a permanent WriteResult). */
  async function payloads(entity: string, records: Obj[], signal?: AbortSignal): Promise<(Obj | string)[]> {
    // A record that is not what its builder expects (an amount that is not a decimal) is that record's failure.
    const each = (build: (r: Obj) => Obj | string) =>
      records.map((r) => {
        try {
          return build(r);
        } catch (e) {
          return e instanceof Error ? e.message.replace(/^netsuite: /, '') : String(e);
        }
      });
    const column = (field: string) => records.flatMap((r) => (r.lines ?? []).map((l: Obj) => l[field]));
    switch (entity) {
      case 'salesOrder':
      case 'cashSale':
      case 'creditMemo': {
        const items = await idsFor('item', 'itemid', settings.items, column('sku'), signal);
        return each((r) => (entity === 'creditMemo' ? creditMemoPayload(r, items) : orderPayload(r, items)));
      }
      case 'journalEntry': {
        const accounts = await idsFor('account', 'acctnumber', settings.accounts, column('account'), signal);
        return each((j) => journalPayload(j, accounts));
      }
      case 'customer':
        return each(customerPayload);
      case 'deposit':
        return each(depositPayload);
      case 'customerDeposit':
        return each(customerDepositPayload);
      case 'customerRefund':
        return each(customerRefundPayload);
      case 'inventoryItem':
        return each(itemPayload);
      default:
        throw failure.permanent(`netsuite: no entity ${entity} (entities: ${Object.keys(ENTITIES).join(', ')})`);
    }
  }

  /** Internal ids by value: the connection's own map first (settings.items, settings.accounts), then a lookup. */
  async function idsFor(
    table: string,
    col: string,
    own: Record<string, string> = {},
    values: unknown[],
    signal?: AbortSignal,
  ): Promise<Map<string, string>> {
    const wanted = values.filter((s): s is string => typeof s === 'string' && s !== '' && !(s in own));
    const found = wanted.length ? await idsOf(table, col, wanted, signal) : new Map<string, string>();
    for (const [k, id] of Object.entries(own)) found.set(k, id);
    return found;
  }

  /** An order's lines as the item sublist: its items by SKU, a discount line after a discounted one. */
  function lineItems(lines: Obj[], items: Map<string, string>, what: string): Obj[] | string {
    const out: Obj[] = [];
    for (const [n, l] of lines.entries()) {
      const item = typeof l.sku === 'string' && l.sku ? items.get(l.sku) : settings.customItem;
      if (!item)
        return l.sku
          ? `${what}, line ${n + 1}: no NetSuite item has itemId ${l.sku} (create it, or map it in settings.items)`
          : `${what}, line ${n + 1} has no SKU: set settings.customItem to the internal id of the item such lines are posted to`;
      out.push({
        item: { id: item },
        quantity: l.quantity,
        rate: dec(l.unitPrice),
        ...(l.title ? { description: String(l.title).slice(0, 4000) } : {}),
      });
      if (l.discount !== undefined && Number(l.discount) !== 0) {
        if (!settings.discountItem)
          return `${what}, line ${n + 1} has a discount of ${l.discount}: set settings.discountItem to the internal id of the discount item it is posted to`;
        out.push({ item: { id: settings.discountItem }, rate: dec(negate(String(l.discount))) });
      }
    }
    return out;
  }

  function orderPayload(o: Obj, items: Map<string, string>): Obj | string {
    const what = `order ${o.externalId}`;
    if (!settings.customer)
      return `${what}: set settings.customer to the internal id of the customer web orders are posted to`;
    const lines = lineItems(o.lines ?? [], items, what);
    if (typeof lines === 'string') return lines;
    return transaction(o.createdAt, o.number, o.note, lines, {
      shippingCost: o.shippingTotal !== undefined ? dec(o.shippingTotal) : undefined,
    });
  }

  /** A sale's or a credit's body: the customer, date, reference, memo, subsidiary, location and item lines. */
  function transaction(date: unknown, otherRefNum: unknown, memo: unknown, lines: Obj[], more: Obj = {}): Obj {
    return compact({
      entity: { id: settings.customer },
      tranDate: dateOf(date),
      otherRefNum,
      memo: memo ? String(memo).slice(0, 999) : undefined,
      subsidiary: ref(settings.subsidiary),
      location: ref(settings.location),
      ...more,
      item: { items: lines },
    });
  }

  function creditMemoPayload(r: Obj, items: Map<string, string>): Obj | string {
    const what = `refund ${r.externalId}`;
    if (!settings.customer)
      return `${what}: set settings.customer to the internal id of the customer web refunds are credited to`;
    let lines: Obj[] | string;
    if (Array.isArray(r.lines) && r.lines.length) {
      lines = [];
      for (const [n, l] of r.lines.entries()) {
        const item = typeof l.sku === 'string' ? items.get(l.sku) : settings.customItem;
        if (!item) return `${what}, line ${n + 1}: no NetSuite item has itemId ${l.sku ?? '(none)'}`;
        lines.push({ item: { id: item }, quantity: l.quantity, amount: dec(l.subtotal ?? l.amount ?? l.total ?? '0') });
      }
    } else {
      if (!settings.refundItem)
        return `${what} has no lines: set settings.refundItem to the internal id of the item amount-only refunds are credited to`;
      lines = [{ item: { id: settings.refundItem }, amount: dec(r.total) }];
    }
    return transaction(r.createdAt, r.orderExternalId, r.reason, lines);
  }

  function customerPayload(c: Obj): Obj | string {
    if (!c.firstName && !c.lastName && !c.email)
      return `customer ${c.externalId}: a name or an e-mail address is needed`;
    return compact({
      isPerson: true,
      firstName: c.firstName ?? (c.lastName ? undefined : String(c.email).split('@')[0]),
      lastName: c.lastName ?? '-',
      email: c.email,
      phone: c.phone,
      subsidiary: ref(settings.subsidiary),
    });
  }

  /** A settlement (a payout) as a journal entry: net into the bank, fees to their account, gross out of clearing. */
  function settlementJournal(st: Obj): Obj | string {
    const what = `settlement ${st.externalId}`;
    if (!settings.depositAccount || !settings.clearingAccount)
      return `${what}: set settings.depositAccount (the bank account) and settings.clearingAccount (where the payouts' sales were held)`;
    const fees = st.fees !== undefined && Number(st.fees) !== 0;
    if (fees && !settings.feeAccount) return `${what} has fees of ${st.fees}: set settings.feeAccount`;
    return compact({
      tranDate: dateOf(st.arrivalDate),
      memo: `${st.source ?? 'payout'} ${st.externalId}`.slice(0, 999),
      subsidiary: ref(settings.subsidiary),
      line: {
        items: [
          { account: { id: settings.depositAccount }, debit: dec(st.netAmount) },
          ...(fees ? [{ account: { id: settings.feeAccount }, debit: dec(st.fees) }] : []),
          {
            account: { id: settings.clearingAccount },
            credit: dec(fees ? (st.grossAmount ?? st.netAmount) : st.netAmount),
          },
        ],
      },
    });
  }

  function journalPayload(j: Obj, accounts: Map<string, string>): Obj | string {
    if (!Array.isArray(j.lines) && j.netAmount !== undefined) return settlementJournal(j);
    const lines: Obj[] = [];
    for (const [n, l] of (j.lines ?? []).entries()) {
      const account = accounts.get(String(l.account));
      if (!account)
        return `journal entry ${j.externalId}, line ${n + 1}: no NetSuite account has number ${l.account} (map it in settings.accounts)`;
      lines.push(
        compact({
          account: { id: account },
          debit: l.debit !== undefined && Number(l.debit) !== 0 ? dec(l.debit) : undefined,
          credit: l.credit !== undefined && Number(l.credit) !== 0 ? dec(l.credit) : undefined,
          memo: l.memo,
        }),
      );
    }
    return compact({
      tranDate: j.date,
      memo: j.memo,
      subsidiary: ref(settings.subsidiary),
      line: { items: lines },
    });
  }

  function depositPayload(s: Obj): Obj | string {
    const what = `settlement ${s.externalId}`;
    if (!settings.depositAccount || !settings.clearingAccount)
      return `${what}: set settings.depositAccount (the bank account) and settings.clearingAccount (where the payouts' sales were held)`;
    const fees = s.fees !== undefined && Number(s.fees) !== 0;
    if (fees && !settings.feeAccount) return `${what} has fees of ${s.fees}: set settings.feeAccount`;
    return compact({
      account: { id: settings.depositAccount },
      tranDate: s.arrivalDate,
      memo: `${s.source ?? 'payout'} ${s.externalId}`.slice(0, 999),
      subsidiary: ref(settings.subsidiary),
      other: {
        items: [
          {
            account: { id: settings.clearingAccount },
            amount: dec(fees ? (s.grossAmount ?? s.netAmount) : s.netAmount),
          },
        ],
      },
      cashBack: fees ? { items: [{ account: { id: settings.feeAccount }, amount: dec(s.fees) }] } : undefined,
    });
  }

  /** Another flow's record by its key template (`shopify-order-{externalId}`), as a reference by external id. */
  function keyed(template: string | undefined, id: unknown): Obj | undefined {
    return template && id !== undefined && id !== null
      ? { externalId: externalIdOf(template.replaceAll('{externalId}', String(id))) }
      : undefined;
  }

  /** An order paid before it is fulfilled: a customer deposit of its total, linked to its sales order. */
  function customerDepositPayload(o: Obj): Obj | string {
    const what = `order ${o.externalId}`;
    if (!settings.customer)
      return `${what}: set settings.customer to the internal id of the customer web orders' deposits are taken from`;
    if (o.total === undefined || Number(o.total) <= 0) return `${what}: a customer deposit needs a total above zero`;
    return compact({
      customer: { id: settings.customer },
      salesOrder: keyed(settings.orderKey, o.externalId),
      payment: dec(o.total),
      tranDate: dateOf(o.createdAt),
      memo: `deposit for order ${o.number ?? o.externalId}`.slice(0, 999),
      subsidiary: ref(settings.subsidiary),
      ...(settings.paymentAccount ? { account: { id: settings.paymentAccount } } : { undepFunds: true }),
    });
  }

  /** Money paid back to the customer for a refund, applying its credit memo when settings.refundKey names it. */
  function customerRefundPayload(r: Obj): Obj | string {
    const what = `refund ${r.externalId}`;
    if (!settings.customer)
      return `${what}: set settings.customer to the internal id of the customer web refunds are paid to`;
    if (!settings.paymentAccount)
      return `${what}: set settings.paymentAccount to the internal id of the bank account refunds are paid from`;
    const memo = keyed(settings.refundKey, r.externalId);
    return compact({
      customer: { id: settings.customer },
      account: { id: settings.paymentAccount },
      tranDate: dateOf(r.createdAt),
      memo: `refund ${r.externalId} of order ${r.orderExternalId}`.slice(0, 999),
      subsidiary: ref(settings.subsidiary),
      total: dec(r.total),
      apply: memo ? { items: [{ doc: memo, apply: true, amount: dec(r.total) }] } : undefined,
    });
  }

  function itemPayload(p: Obj): Obj | string {
    if (!p.sku) return `product ${p.id}: NetSuite items need an itemId (the product's sku)`;
    return compact({
      itemId: p.sku,
      displayName: p.title,
      upcCode: p.variants?.[0]?.barcode,
      salesDescription: p.description,
      isInactive: p.status === 'archived',
      subsidiary: ref(settings.subsidiary),
    });
  }

  async function write(entity: string, items: WriteItem[], signal?: AbortSignal): Promise<WriteResult[]> {
    const def = ENTITIES[entity];
    if (!def) throw failure.permanent(`netsuite: no entity ${entity} (entities: ${Object.keys(ENTITIES).join(', ')})`);
    const built = await payloads(
      entity,
      items.map((i) => i.record as Obj),
      signal,
    );
    // Every record at once: the slots hold the account's concurrency, whatever the batch's size.
    return Promise.all(
      items.map(async (item, n): Promise<WriteResult> => {
        const body = built[n];
        if (typeof body === 'string') return bad(body);
        const eid = externalIdOf(item.key);
        const replace = def.sublist ? `?replace=${def.sublist}` : '';
        try {
          const reply = await send('PUT', `/services/rest/record/v1/${def.type}/eid:${eid}${replace}`, {
            json: { externalId: eid, ...body },
            signal,
          });
          const id = /\/([^/?]+)\/?$/.exec(reply.headers.get('location') ?? '')?.[1];
          if (!id) return bad(`PUT ${def.type} eid:${eid}: HTTP ${reply.status} without a Location header`);
          return { ok: true, targetId: id, view: project(entity, { externalId: eid, ...body }) };
        } catch (err) {
          // An auth failure is the connection's, not the record's: the whole write stops for it.
          if (!(err instanceof ConnectorError) || err.kind === 'auth') throw err;
          return { ok: false, transient: err.transient, error: err.message, retryAfterMs: err.retryAfterMs };
        }
      }),
    );
  }

  async function fetchRecords(entity: string, ids: string[], signal?: AbortSignal) {
    const def = ENTITIES[entity];
    if (!def) throw failure.permanent(`netsuite: no entity ${entity}`);
    return Promise.all(
      ids.map(async (id) => {
        const r = await send(
          'GET',
          `/services/rest/record/v1/${def.type}/${encodeURIComponent(id)}?expandSubResources=true`,
          {
            signal,
            allow: [404],
          },
        );
        return r.status === 404 ? null : project(entity, r.json<Obj>() ?? {});
      }),
    );
  }

  // ---- check ----------------------------------------------------------------------------------------------------

  async function check(streams: string[], signal?: AbortSignal): Promise<CheckReport> {
    const notes: string[] = [];
    if (/_SB\d*$/i.test(accountId as string)) notes.push(`a sandbox account (${realm})`);
    notes.push(
      `${m2m ? 'OAuth 2.0 client credentials' : 'token-based authentication (HMAC-SHA256)'}; at most ${limiter.concurrency} requests in flight for this connection (settings.concurrency), shared with nothing else of the account's limit`,
    );
    // Identity: the company's name, which any role with REST web services can query; a refusal here is the
    // credentials' (401) or the role's (403), and says which.
    let identity = `NetSuite account ${realm}`;
    try {
      const r = await suiteql('SELECT companyname FROM companyinformation', 1, 0, signal);
      const name = r.items?.[0]?.companyname;
      if (name) identity = `${name} (NetSuite account ${realm})`;
    } catch (err) {
      if (err instanceof ConnectorError && err.kind === 'auth') throw err;
      notes.push(`the company's name could not be read: ${err instanceof Error ? err.message : String(err)}`);
    }
    const report: CheckReport = {
      identity,
      apiVersion: { version: 'record/v1, query/v1 (SuiteQL)' },
      streams: [],
      notes,
    };
    // One page of each stream, side by side: the connection's slots keep them within its share of the account.
    report.streams = await Promise.all(
      streams.map((stream) =>
        read({ stream, cursor: null, limit: 10, signal }).then(
          (page) => ({ stream, ok: true, records: page.records.length }),
          (err: unknown) => ({ stream, ok: false, error: err instanceof Error ? err.message : String(err) }),
        ),
      ),
    );
    return report;
  }

  /**
   * A record type as the account's metadata catalogue describes it now (GET /record/v1/metadata-catalog/<type>,
   * JSON Schema): its fields and their types, a mandatory custom field as required (shown `nullable: false`). The
   * connector sets only standard fields, which no account can remove, so what an administrator's change can break is
   * a custom field made mandatory: `writes` is empty, and every required field is one the flow does not fill.
   */
  async function describeTarget(entity: string, signal?: AbortSignal): Promise<TargetSchema> {
    const e = ENTITIES[entity];
    if (!e) throw failure.permanent(`netsuite: no entity ${entity} (entities: ${Object.keys(ENTITIES).join(', ')})`);
    const reply = await send('GET', `/services/rest/record/v1/metadata-catalog/${e.type}`, {
      headers: { accept: 'application/schema+json' },
      signal,
    });
    const props = reply.json<Obj>()?.properties;
    const fields = Object.entries(props && typeof props === 'object' ? (props as Record<string, Obj>) : {}).map(
      ([name, p]) => ({
        name,
        type: [p.type, p.format].filter((t) => typeof t === 'string').join(':') || 'object',
        required: p['x-ns-custom-field'] === true && p.nullable === false,
      }),
    );
    return { name: e.type, fields, writes: [] };
  }

  return {
    connector: 'netsuite',
    read,
    write,
    fetch: fetchRecords,
    describeTarget,
    check,
  };
}

// ---- streams ------------------------------------------------------------------------------------------------------

interface StreamDef {
  /** The SuiteQL of one window (the WHERE clause's time and keyset bounds come from `window`). */
  query: (where: string) => string;
  /** The columns of the unique order after the date, with the alias each has in the SELECT. */
  key: { column: string; alias: string }[];
  /** The date column (qualified), compared in UTC. */
  date: string;
  /** A row as the stream's record. */
  record: (row: Obj) => Obj;
  /** The record's member holding its last-modified time (ISO-8601 UTC). */
  updated: string;
}

/** A UTC instant as a SuiteQL timestamp literal (the offset explicit: never the account's or the role's time zone). */
export const tsLiteral = (iso: string): string =>
  `TO_TIMESTAMP_TZ('${utc(iso).replace('T', ' ').replace('Z', ' +00:00')}', 'YYYY-MM-DD HH24:MI:SS.FF3 TZH:TZM')`;

/** A date column as ISO-8601 UTC text. */
const utcText = (column: string) =>
  `TO_CHAR(SYS_EXTRACT_UTC(CAST(${column} AS TIMESTAMP WITH TIME ZONE)), 'YYYY-MM-DD"T"HH24:MI:SS"Z"')`;

/** The WHERE clause of a slice's window: since ≤ date < until, and after the previous window's last row. */
function window(s: StreamDef, q: SliceQuery, after?: { t: string; k: string[] }): string {
  const parts: string[] = [];
  if (q.since) parts.push(`${s.date} >= ${tsLiteral(q.since)}`);
  if (q.until) parts.push(`${s.date} < ${tsLiteral(q.until)}`);
  if (after) {
    // (date, k1, k2…) > (t, v1, v2…), spelled out: SuiteQL has no row comparison.
    const keyAfter = (i: number): string => {
      const { column } = s.key[i];
      const v = literal(after.k[i]);
      return i === s.key.length - 1
        ? `${column} > ${v}`
        : `(${column} > ${v} OR (${column} = ${v} AND ${keyAfter(i + 1)}))`;
    };
    parts.push(`(${s.date} > ${tsLiteral(after.t)} OR (${s.date} = ${tsLiteral(after.t)} AND ${keyAfter(0)}))`);
  }
  return parts.length ? `WHERE ${parts.join(' AND ')}` : '';
}

const bool = (v: unknown) => v === 'T' || v === true;
const num = (v: unknown) => (v === undefined || v === null || v === '' ? undefined : Number(v));
const refOf = (id: unknown, name: unknown) =>
  id === undefined || id === null ? undefined : { id: String(id), ...(name ? { refName: String(name) } : {}) };

/**
 * items and prices: inventory items as the REST record inventoryItem has them (test/fixtures/netsuite/inventoryItem.json,
 * what templates/erp-catalog-to-storefront's netsuite mappings read). basePrice is the item's price at the Base
 * Price level (internal id 1), a JSON number as the record gives it: SuiteQL's text has at most
 * the currency's digits, which a double holds exactly.
 */
const ITEM_QUERY = (where: string) =>
  `SELECT item.id AS id, item.itemid AS itemid, item.displayname AS displayname, item.storedisplayname AS storedisplayname, item.salesdescription AS salesdescription, item.upccode AS upccode, item.manufacturer AS manufacturer, item.isinactive AS isinactive, item.isonline AS isonline, item.class AS class, BUILTIN.DF(item.class) AS classname, item.weight AS weight, BUILTIN.DF(item.weightunit) AS weightunit, (SELECT MAX(p.unitprice) FROM pricing p WHERE p.item = item.id AND p.pricelevel = 1) AS baseprice, ${utcText('item.createddate')} AS created_utc, ${utcText('item.lastmodifieddate')} AS lmd_utc FROM item ${where ? `${where} AND` : 'WHERE'} item.itemtype = 'InvtPart' ORDER BY item.lastmodifieddate, item.id`;

const itemRecord = (r: Obj): Obj =>
  compact({
    id: String(r.id),
    itemId: r.itemid,
    displayName: r.displayname,
    storeDisplayName: r.storedisplayname,
    salesDescription: r.salesdescription,
    upcCode: r.upccode,
    manufacturer: r.manufacturer,
    basePrice: num(r.baseprice),
    weight: num(r.weight),
    weightUnit: r.weightunit ? { refName: r.weightunit } : undefined,
    isInactive: bool(r.isinactive),
    isOnline: bool(r.isonline),
    itemType: { id: 'InvtPart', refName: 'Inventory Item' },
    class: refOf(r.class, r.classname),
    createdDate: r.created_utc,
    lastModifiedDate: r.lmd_utc,
  });

const ITEMS: StreamDef = {
  query: ITEM_QUERY,
  key: [{ column: 'item.id', alias: 'id' }],
  date: 'item.lastmodifieddate',
  record: itemRecord,
  updated: 'lastModifiedDate',
};

export const STREAMS: Record<string, StreamDef> = {
  items: ITEMS,
  prices: ITEMS,
  // inventory: one row per item and location (test/fixtures/netsuite/inventory.suiteql.json, what
  // templates/erp-inventory-to-channel's netsuite mapping reads), as SuiteQL gives it: values as text.
  inventory: {
    query: (where) =>
      `SELECT iil.item AS item, item.itemid AS sku, iil.location AS location, BUILTIN.DF(iil.location) AS locationname, iil.quantityavailable AS quantityavailable, iil.quantityonhand AS quantityonhand, ${utcText('iil.lastmodifieddate')} AS lmd_utc FROM inventoryitemlocations iil JOIN item ON item.id = iil.item ${where} ORDER BY iil.lastmodifieddate, iil.item, iil.location`,
    key: [
      { column: 'iil.item', alias: 'item' },
      { column: 'iil.location', alias: 'location' },
    ],
    date: 'iil.lastmodifieddate',
    record: (r) => {
      const { links: _links, ...row } = r;
      return row;
    },
    updated: 'lmd_utc',
  },
  customers: {
    query: (where) =>
      `SELECT customer.id AS id, customer.entityid AS entityid, customer.isperson AS isperson, customer.firstname AS firstname, customer.lastname AS lastname, customer.companyname AS companyname, customer.email AS email, customer.phone AS phone, customer.isinactive AS isinactive, ${utcText('customer.datecreated')} AS created_utc, ${utcText('customer.lastmodifieddate')} AS lmd_utc FROM customer ${where} ORDER BY customer.lastmodifieddate, customer.id`,
    key: [{ column: 'customer.id', alias: 'id' }],
    date: 'customer.lastmodifieddate',
    record: (r) =>
      compact({
        id: String(r.id),
        entityId: r.entityid,
        isPerson: bool(r.isperson),
        firstName: r.firstname,
        lastName: r.lastname,
        companyName: r.companyname,
        email: r.email,
        phone: r.phone,
        isInactive: bool(r.isinactive),
        dateCreated: r.created_utc,
        lastModifiedDate: r.lmd_utc,
      }),
    updated: 'lastModifiedDate',
  },
};

// ---- views --------------------------------------------------------------------------------------------------------

/**
 * A record of `entity` projected to the fields rsync sets, in NetSuite's terms: used on the payload a write sent
 * (its `view`) and on the record `fetch` reads back, so the two compare field by field. References are their ids,
 * money normalised (money()), sublists their lines' fields.
 */
export function project(entity: string, r: Obj): Record<string, unknown> {
  const id = (v: unknown) => (v && typeof v === 'object' ? ((v as Obj).id ?? null) : (v ?? null));
  const lines = (sub: unknown): Obj[] => {
    const items = sub && typeof sub === 'object' ? (sub as Obj).items : undefined;
    return Array.isArray(items) ? items : [];
  };
  const txt = (v: unknown) => (v === undefined || v === null || v === '' ? null : String(v));
  switch (entity) {
    case 'salesOrder':
    case 'cashSale':
    case 'creditMemo':
      return {
        externalId: txt(r.externalId),
        entity: id(r.entity),
        tranDate: txt(r.tranDate),
        otherRefNum: txt(r.otherRefNum),
        ...(entity === 'creditMemo' ? {} : { shippingCost: money(r.shippingCost) }),
        item: lines(r.item).map((l) => ({
          item: id(l.item),
          quantity: l.quantity === undefined || l.quantity === null ? null : Number(l.quantity),
          ...(entity === 'creditMemo' ? { amount: money(l.amount) } : { rate: money(l.rate) }),
        })),
      };
    case 'customer':
      return {
        externalId: txt(r.externalId),
        firstName: txt(r.firstName),
        lastName: txt(r.lastName),
        email: txt(r.email),
        phone: txt(r.phone),
      };
    case 'journalEntry':
      return {
        externalId: txt(r.externalId),
        tranDate: txt(r.tranDate),
        memo: txt(r.memo),
        line: lines(r.line).map((l) => ({ account: id(l.account), debit: money(l.debit), credit: money(l.credit) })),
      };
    case 'deposit':
      return {
        externalId: txt(r.externalId),
        account: id(r.account),
        tranDate: txt(r.tranDate),
        other: lines(r.other).map((l) => ({ account: id(l.account), amount: money(l.amount) })),
        cashBack: lines(r.cashBack).map((l) => ({ account: id(l.account), amount: money(l.amount) })),
      };
    case 'customerDeposit':
      return {
        externalId: txt(r.externalId),
        customer: id(r.customer),
        // Sent by external id, read back as { id, refName }: compared as linked or not.
        salesOrder: Boolean(r.salesOrder),
        payment: money(r.payment),
        tranDate: txt(r.tranDate),
      };
    case 'customerRefund':
      return {
        externalId: txt(r.externalId),
        customer: id(r.customer),
        account: id(r.account),
        total: money(r.total),
        tranDate: txt(r.tranDate),
      };
    case 'inventoryItem':
      return {
        externalId: txt(r.externalId),
        itemId: txt(r.itemId),
        displayName: txt(r.displayName),
        upcCode: txt(r.upcCode),
        isInactive: r.isInactive === true,
      };
    default:
      return {};
  }
}

// ---- values -------------------------------------------------------------------------------------------------------

/**
 * A money value normalised for comparison: decimal text with at least two decimals and no trailing zeros past
 * them ("42" and 42 and "42.00" → "42.00", "0.125" stays), from a decimal string or the JSON number NetSuite
 * answers with. Null when absent.
 */
export function money(v: unknown): string | null {
  if (v === undefined || v === null || v === '') return null;
  const s = typeof v === 'object' && v instanceof Dec ? v.text : String(v);
  const m = /^(-?)(\d*)(?:\.(\d*))?$/.exec(s.trim());
  if (!m) return s;
  const int = (m[2] || '0').replace(/^0+(?=\d)/, '');
  const frac = (m[3] ?? '').replace(/0+$/, '').padEnd(2, '0');
  const neg = m[1] && /[1-9]/.test(int + frac) ? '-' : '';
  return `${neg}${int}.${frac}`;
}

/** A decimal amount sent as a JSON number without passing through a binary float (serialise()). */
class Dec {
  constructor(readonly text: string) {}
  toJSON(): string {
    return `\u0000dec:${this.text}\u0000`;
  }
}

/** A canonical decimal string as a NetSuite amount. */
function dec(v: unknown): Dec {
  const s = String(v).trim();
  if (!/^-?\d+(\.\d+)?$/.test(s)) throw failure.permanent(`netsuite: ${s} is not a decimal amount`);
  return new Dec(s);
}

const negate = (s: string) => (s.startsWith('-') ? s.slice(1) : `-${s}`);

/** JSON with the Dec amounts as number tokens, digit for digit. */
export function serialise(v: unknown): string {
  return JSON.stringify(v).replace(/"\\u0000dec:(-?\d+(?:\.\d+)?)\\u0000"/g, '$1');
}

/** A JSON value without its undefined members (they would otherwise reach NetSuite as nothing, but views as keys). */
function compact<T extends Obj>(o: T): T {
  for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
  return o;
}

/** A SuiteQL string literal. */
export const literal = (v: string) => `'${String(v).replace(/'/g, "''")}'`;

/** A timestamp's calendar date in UTC, as NetSuite's date fields take it. */
function dateOf(v: unknown): string | undefined {
  if (typeof v !== 'string' || !v) return undefined;
  if (/^\d{4}-\d{2}-\d{2}$/.test(v)) return v;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : utc(t).slice(0, 10);
}

/**
 * The external id of an idempotency key: the key itself when NetSuite takes it as one (letters, digits, _ and -,
 * https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_156334828635.html), else a digest of it —
 * the same key always the same external id, so the upsert finds its record again.
 */
export function externalIdOf(key: string): string {
  if (/^[A-Za-z0-9_-]{1,200}$/.test(key)) return key;
  return `rsync-${createHash('sha256').update(key).digest('hex').slice(0, 40)}`;
}
