/**
 * The avalara connector: Avalara AvaTax REST v2 (https://developer.avalara.com/api-reference/avatax/rest/v2/) — orders
 * and refunds recorded as tax transactions, the company's transactions read back incrementally, and the connection
 * check. Plain `fetch` through the kit's client, not the `avatax` SDK: one limiter, one error path and one redaction
 * for every connector, and a fake server that is only a base URL.
 *
 *   Authorization: Basic base64(accountId:licenseKey)    (licenseKey by secretRef)
 *   X-Avalara-Client: <appName>; <version>; rsync-avalara; REST v2; <host>   (what Avalara's SDKs send, so that
 *                                                  Avalara's logs name the integration)
 *   host: settings.baseUrl, else https://rest.avatax.com (production) or https://sandbox-rest.avatax.com (sandbox)
 *
 * Writes (entity `transaction`):
 * - an order → POST /api/v2/transactions/createoradjust, type SalesInvoice, `code` = transactionCode(key): the
 *   transaction code is the idempotency key itself when it is short, lower case and plain, else "~" and 40 hex digits
 *   of its SHA-256 (codes are at most 50 characters, and may be compared without regard to case). CreateOrAdjust
 *   "can help you create an idempotent service": with a code AvaTax already has, it adjusts that transaction instead
 *   of recording another. So a write repeated after a crash (the page read and written again before the ledger
 *   committed) lands on the same transaction, and a later change of the order adjusts it: tax is recorded once per
 *   key. Guarantee: exactly-once effect (AvaTax keeps an adjustment record of the repeat, with the same content).
 *   Ship-from is settings.shipFrom; ship-to the order's shippingAddress: a record without one, or without the
 *   country or a postal code / region in one, is a permanent error naming the field. customerCode is the order's
 *   customer id, else settings.customerCode ("guest"). Lines: the order's lines (extended amount = the line total,
 *   net of its discount), its shipping (settings.shippingTaxCode, FR020100) and its other charges (a tip with tax code
 *   NT: not taxable); taxIncluded per line from the order's taxesIncluded.
 *   Commit (settings.commit): inline → `commit: true` in the same call; endpoint → uncommitted, then POST …/commit;
 *   never → left Saved.
 * - an order whose status is cancelled → POST /api/v2/companies/{companyCode}/transactions/{code}/void
 *   (`code: DocVoided`). A cancelled order AvaTax never had is nothing to void: reported written, without a view.
 *   A void repeated on a transaction already voided is done (status Cancelled), whatever AvaTax answered.
 * - a refund → a ReturnInvoice by CreateOrAdjust, coded from the refund's key: its lines, shipping and adjustment as
 *   negative amounts, its addresses, customer and tax date (taxOverride TaxDate, so the refund is taxed as the sale
 *   was) from the refunded order's transaction, found by the code of settings.refundOrderKey
 *   ("tax-order-{orderExternalId}"). Not there (yet): a transient error — the order's flow may not have recorded it.
 *   A refund that failed or was cancelled voids its return invoice.
 * The result's targetId is the transaction code (AvaTax's transaction id changes with each adjustment; the code does
 * not), and its view what AvaTax holds: code, type, status, date, customerCode, currencyCode, totalAmount, totalTax
 * and each line's lineNumber, itemCode, quantity, lineAmount and tax — money as decimal strings with the currency's
 * digits ("42.00", whatever the JSON number was), so that fetch and view compare equal. `fetch` reads each code back
 * (GET …/transactions/{code}?$include=Lines) and projects it the same way; null when AvaTax has no such code.
 *
 * Reads (stream `transactions`): GET /api/v2/companies/{companyCode}/transactions, `$include=Lines`,
 * `$orderby=modifiedDate ASC, id ASC`, `$top` ≤ 1000 (AvaTax's cap), in the kit's slices by modifiedDate. A page
 * continues after the last (modifiedDate, id) read — keyset, not `$skip`: a transaction adjusted during the walk moves
 * to the end of the order instead of shifting the pages under it. The `$filter` always has a `date` criterion (AvaTax
 * lists only the last 30 days of `date` without one). Records are AvaTax's TransactionModel, money fields as decimal
 * strings (AvaTax sends JSON numbers).
 *
 * Errors: AvaTax's `{ error: { code, message, target, details: [{ code, number, message, description, … }] } }`
 * gives the message. 401 (AuthenticationIncomplete, BasicAuthIncorrect, AuthenticationException) and 403 are auth;
 * 429 is throttled with its Retry-After (every caller of the limiter pauses), 5xx transient; other 4xx permanent. In a
 * write, a permanent or transient failure is that record's result (a bad order never fails its batch); an auth
 * failure fails the call. Rate: AvaTax publishes no numeric limit (throttles per account by subscription): 20
 * requests/s across every worker by default (settings.rateLimit), and no cap on calls in flight unless
 * settings.concurrency sets one (held across workers); a batch sends at most that many (else 8) at a time.
 */
import { createHash } from 'node:crypto';
import os from 'node:os';
import { minorUnits } from '../../model/currency.js';
import {
  failure,
  httpClient,
  parseRetryAfter,
  type RateLimiter,
  type Reply,
  type RequestOptions,
  rateLimiter,
  readSlices,
} from '../kit/index.js';
import {
  type CheckReport,
  type ConnectorContext,
  ConnectorError,
  type OpenConnector,
  type Page,
  type ReadRequest,
  type WriteItem,
  type WriteResult,
} from '../types.js';

// biome-ignore lint/suspicious/noExplicitAny: AvaTax's models and canonical records, read field by field
type Obj = Record<string, any>;

export const PRODUCTION_URL = 'https://rest.avatax.com';
export const SANDBOX_URL = 'https://sandbox-rest.avatax.com';
/** ListTransactionsByCompany returns at most 1,000 records a call. */
export const MAX_TOP = 1000;
/** A `date` criterion that admits every transaction (without one AvaTax lists the last 30 days only). */
const ANY_DATE = '1900-01-01';
const OVERLAP_MS = 60_000;
const DEFAULT_PER_SECOND = 20;
/** Calls of one batch in flight in this process, without a cap in settings. */
const IN_FLIGHT = 8;
const CLIENT_VERSION = '1.0';
/** Freight (shipping by common carrier): AvaTax's tax code for shipping charges. */
const FREIGHT = 'FR020100';
/** Not taxable: a tip is no sale of goods. */
const NOT_TAXABLE = 'NT';
/** The money fields of a TransactionModel and of its lines, given as decimal strings. */
const MONEY = ['totalAmount', 'totalTax', 'totalTaxable', 'totalExempt', 'totalDiscount', 'totalTaxCalculated'];
const LINE_MONEY = ['lineAmount', 'tax', 'taxableAmount', 'exemptAmount', 'discountAmount', 'taxCalculated'];

/**
 * The transaction code of an idempotency key: the key when it is at most 50 characters of [a-z0-9._:-], else "~"
 * and 40 hex digits of its SHA-256 ("~" is never in a plain code, so the two forms cannot meet).
 */
export function transactionCode(key: string): string {
  if (/^[a-z0-9._:-]{1,50}$/.test(key)) return key;
  return `~${createHash('sha256').update(key).digest('hex').slice(0, 40)}`;
}

/** A company or transaction code in a URL path, as AvaTax asks: /, +, ?, %, # spelled _-ava2f-_ …, then encoded. */
export function pathCode(code: string): string {
  const spelled = code.replace(/[/+?%#]/g, (c) => `_-ava${c.charCodeAt(0).toString(16)}-_`);
  return encodeURIComponent(spelled);
}

/**
 * A money value as a decimal string with at least the currency's digits: 42 → "42.00", "6.1" → "6.10", 0.375 (a
 * rounded line tax with more digits) → "0.375". A JSON number that prints back exactly (parseJsonLossless keeps the
 * others as text) is read from its shortest decimal form, never through arithmetic.
 */
export function money(v: unknown, currency = 'USD'): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const text = typeof v === 'number' ? numberText(v) : String(v).trim();
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text);
  if (!m) return text;
  const digits = minorUnits(currency) ?? 2;
  let fraction = (m[3] ?? '').replace(/0+$/, '');
  if (fraction.length < digits) fraction = fraction.padEnd(digits, '0');
  const whole = m[2].replace(/^0+(?=\d)/, '');
  const negative = m[1] === '-' && /[1-9]/.test(whole + fraction);
  return `${negative ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`;
}

/** A double's shortest decimal text without an exponent (1e-7 → "0.0000001"). */
function numberText(n: number): string {
  const s = String(n);
  if (!/e/i.test(s)) return s;
  return n.toFixed(20).replace(/\.?0+$/, '');
}

/** A decimal amount in a JSON body: written into the text as the literal it is (see `json`), never as a double. */
class Decimal {
  constructor(readonly text: string) {}
  toJSON(): string {
    return `\u0000dec:${this.text}\u0000`;
  }
}
const dec = (text: string) => new Decimal(text);
/** JSON text of a body whose Decimals become number literals ("12.50" → 12.50). */
export function json(body: unknown): string {
  return JSON.stringify(body).replace(/"\\u0000dec:(-?\d+(?:\.\d+)?)\\u0000"/g, '$1');
}

/** "12.50" → 1250n in units of 10^-scale, exactly (more digits than the scale: not representable, null). */
function units(amount: string, scale: number): bigint | null {
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(amount.trim());
  if (!m) return null;
  const f = m[3] ?? '';
  if (/[1-9]/.test(f.slice(scale))) return null;
  const n = BigInt(m[2] + f.slice(0, scale).padEnd(scale, '0'));
  return m[1] ? -n : n;
}
function fromUnits(n: bigint, scale: number): string {
  const neg = n < 0n;
  const s = (neg ? -n : n).toString().padStart(scale + 1, '0');
  const text = scale ? `${s.slice(0, s.length - scale)}.${s.slice(s.length - scale)}` : s;
  return neg ? `-${text}` : text;
}
/** −amount, as text. */
const negate = (amount: string) =>
  amount.startsWith('-') ? amount.slice(1) : /[1-9]/.test(amount) ? `-${amount}` : amount;

interface Settings {
  environment?: 'production' | 'sandbox';
  baseUrl?: string;
  accountId?: string;
  licenseKey?: unknown;
  companyCode?: string;
  shipFrom?: Obj;
  commit?: 'inline' | 'endpoint' | 'never';
  customerCode?: string;
  shippingTaxCode?: string;
  refundOrderKey?: string;
  appName?: string;
}

export interface AvalaraOptions {
  timeoutMs?: number;
}

/** `fn` of each of `xs`, at most `n` at a time, the answers in the order of `xs`; the first failure fails it all. */
async function inTurn<X, Y>(xs: readonly X[], n: number, fn: (x: X) => Promise<Y>): Promise<Y[]> {
  const out: Y[] = new Array(xs.length);
  let next = 0;
  const lane = async () => {
    while (next < xs.length) {
      const i = next++;
      out[i] = await fn(xs[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, xs.length) }, lane));
  return out;
}

/** A record's own failure: its WriteResult, not the batch's. */
class RecordError extends Error {}

export function openAvalara(ctx: ConnectorContext, options: AvalaraOptions = {}): OpenConnector {
  const s = ctx.settings as Settings;
  const baseUrl = s.baseUrl ? s.baseUrl : s.environment === 'sandbox' ? SANDBOX_URL : PRODUCTION_URL;
  if (!/^https?:\/\//.test(baseUrl)) throw failure.permanent('avalara: settings.baseUrl must be an http(s) URL');
  if (!s.accountId) throw failure.permanent('avalara: settings.accountId is required');
  if (!s.companyCode) throw failure.permanent('avalara: settings.companyCode is required');
  const company = s.companyCode;
  const commitMode = s.commit ?? 'inline';
  // No cap on calls in flight by default (AvaTax documents none): settings.concurrency makes one, across workers.
  const limiter = rateLimiter(ctx, 'api', { perSecond: DEFAULT_PER_SECOND, burst: DEFAULT_PER_SECOND });
  // This process's calls of one batch in flight: the cap when there is one, so that no more callers wait on its
  // shared slots than can hold them (a waiting caller polls, backing off); else IN_FLIGHT.
  const inFlight = limiter.concurrency ?? IN_FLIGHT;
  // A batch reserves its calls from the shared bucket at once (one PostgreSQL round trip a batch, not one a call:
  // with a call a record, the bucket's row was the bottleneck); each call then draws from what was reserved.
  let reserved = 0;
  const paced: RateLimiter = {
    ...limiter,
    take: async (cost = 1, signal) => {
      if (reserved >= cost) reserved -= cost;
      else await limiter.take(cost, signal);
    },
  };
  const client = `${s.appName ?? 'rsync'}; ${CLIENT_VERSION}; rsync-avalara; REST v2; ${os.hostname()}`;
  const http = httpClient(ctx, {
    name: 'avalara',
    baseUrl,
    limiter: paced,
    timeoutMs: options.timeoutMs,
    headers: () => {
      const key = ctx.secret(s.licenseKey);
      if (!key) throw failure.auth('avalara: settings.licenseKey resolves to an empty key');
      return {
        authorization: `Basic ${Buffer.from(`${s.accountId}:${key}`).toString('base64')}`,
        'x-avalara-client': client,
      };
    },
  });
  const transactionsPath = `/api/v2/companies/${pathCode(company)}/transactions`;
  const transactionPath = (code: string) => `${transactionsPath}/${pathCode(code)}`;

  // ---- one call, AvaTax's errors made kit failures ----------------------------------------------------------------

  const EVERY_STATUS = Array.from({ length: 300 }, (_, i) => i + 300);

  async function call(method: string, path: string, o: RequestOptions = {}): Promise<Obj> {
    const reply = await http.request(method, path, { ...o, allow: EVERY_STATUS });
    if (reply.status >= 200 && reply.status < 300) return reply.json<Obj>() ?? {};
    throw await avataxFailure(reply);
  }

  /** A call whose 404 means "no such transaction": null. */
  async function maybe(method: string, path: string, o: RequestOptions = {}): Promise<Obj | null> {
    try {
      return await call(method, path, o);
    } catch (e) {
      if (e instanceof ConnectorError && e.status === 404) return null;
      throw e;
    }
  }

  async function avataxFailure(reply: Reply): Promise<ConnectorError> {
    let err: Obj = {};
    try {
      const body = reply.json<Obj>();
      if (body && typeof body.error === 'object' && body.error) err = body.error;
    } catch {
      // not JSON (a proxy's page): the status line says it
    }
    const details: Obj[] = Array.isArray(err.details) ? err.details : [];
    const said = [err.message, ...details.map((d) => d.description ?? d.message)]
      .filter((x): x is string => typeof x === 'string' && x !== '')
      .filter((x, i, all) => all.indexOf(x) === i)
      .join(' ')
      .replace(/\s*-0-\s*/g, ' ')
      .trim()
      .slice(0, 300);
    const status = reply.status;
    const message = http.clean(
      `avalara: ${reply.method} ${reply.url.pathname}: HTTP ${status} ${err.code ?? reply.statusText}${said ? `: ${said}` : ''}`,
    );
    if (status === 429) {
      const ms = parseRetryAfter(reply.headers.get('retry-after')) ?? 1_000;
      await limiter.pause(ms);
      return failure.throttled(message, ms, status);
    }
    if (status === 401 || status === 403) return failure.auth(message, status);
    if (status >= 500 || status === 408) {
      const ms = status === 503 ? parseRetryAfter(reply.headers.get('retry-after')) : undefined;
      return ms === undefined ? failure.transient(message, status) : failure.throttled(message, ms, status);
    }
    return failure.permanent(message, status);
  }

  // ---- records to AvaTax's models ---------------------------------------------------------------------------------

  /** A canonical address as AvaTax's AddressInfo, or the record's error naming the missing field. */
  function addressOf(a: Obj | undefined, where: string): Obj {
    if (!a || typeof a !== 'object') throw new RecordError(`${where} is missing: AvaTax needs it to find the tax`);
    if (!a.country) throw new RecordError(`${where}.country is missing`);
    const region = a.regionCode ?? a.region;
    if (!a.postalCode && !region)
      throw new RecordError(`${where}.postalCode is missing (AvaTax needs a postal code or a region)`);
    const out: Obj = { country: a.country };
    if (a.line1) out.line1 = a.line1;
    if (a.line2) out.line2 = a.line2;
    if (a.city) out.city = a.city;
    if (region) out.region = region;
    if (a.postalCode) out.postalCode = a.postalCode;
    return out;
  }

  const shipFrom = (): Obj => addressOf(s.shipFrom, 'settings.shipFrom');
  /** A canonical timestamp's day, in UTC (AvaTax's `date` is a day). */
  const day = (t: unknown) => {
    const ms = typeof t === 'string' ? Date.parse(t) : Number.NaN;
    if (Number.isNaN(ms)) throw new RecordError(`the date ${String(t)} is not a timestamp`);
    return new Date(ms).toISOString().slice(0, 10);
  };

  /** A money field of a record as an amount AvaTax takes, or the record's error. */
  function amountOf(v: unknown, where: string): string {
    const text = typeof v === 'number' ? numberText(v) : typeof v === 'string' ? v.trim() : '';
    if (!/^-?\d+(\.\d+)?$/.test(text)) throw new RecordError(`${where} is not a decimal amount (${String(v)})`);
    return text;
  }

  /** A line's extended amount: its total, else quantity × unitPrice − discount (half-even to the currency's digits). */
  function lineAmount(l: Obj, n: number, currency: string): string {
    if (l.total !== undefined) return amountOf(l.total, `lines[${n}].total`);
    const scale = minorUnits(currency) ?? 2;
    const q = String(l.quantity);
    const qd = q.includes('.') ? q.split('.')[1].length : 0;
    const qty = units(q, qd);
    const price = units(amountOf(l.unitPrice, `lines[${n}].unitPrice`), scale);
    const discount = l.discount === undefined ? 0n : units(amountOf(l.discount, `lines[${n}].discount`), scale);
    if (qty === null || price === null || discount === null)
      throw new RecordError(`lines[${n}]: an amount has more digits than ${currency}'s ${scale}`);
    const raw = qty * price;
    const div = 10n ** BigInt(qd);
    let whole = raw / div;
    const rest = raw % div;
    if (2n * rest > div || (2n * rest === div && whole % 2n !== 0n)) whole += 1n;
    return fromUnits(whole - discount, scale);
  }

  function orderModel(item: WriteItem, o: Obj): Obj {
    const currency = String(o.currency ?? 'USD');
    const taxIncluded = o.taxesIncluded === true;
    const lines: Obj[] = [];
    const add = (line: Obj) => lines.push({ number: String(lines.length + 1), taxIncluded, ...line });
    (Array.isArray(o.lines) ? o.lines : []).forEach((l: Obj, n: number) => {
      if (l.removed || Number(l.quantity) === 0) return;
      const line: Obj = { quantity: Number(l.quantity), amount: dec(lineAmount(l, n, currency)) };
      if (l.sku) line.itemCode = String(l.sku);
      if (l.title) line.description = String(l.title).slice(0, 2048);
      add(line);
    });
    // Shipping and other charges: one line each, of quantity 1 (none for a zero amount).
    const charge = (c: Obj, where: string, line: Obj) => {
      const amount = amountOf(c.amount, where);
      if (/[1-9]/.test(amount)) add({ quantity: 1, amount: dec(amount), ...line });
    };
    (Array.isArray(o.shipping) ? o.shipping : []).forEach((c: Obj, n: number) =>
      charge(c, `shipping[${n}].amount`, {
        itemCode: 'shipping',
        taxCode: s.shippingTaxCode ?? FREIGHT,
        description: c.title ?? 'Shipping',
      }),
    );
    (Array.isArray(o.charges) ? o.charges : []).forEach((c: Obj, n: number) =>
      charge(c, `charges[${n}].amount`, {
        itemCode: c.type ?? 'charge',
        ...(c.type === 'tip' ? { taxCode: NOT_TAXABLE } : {}),
        description: c.title ?? c.type,
      }),
    );
    if (!lines.length) throw new RecordError(`order ${o.externalId} has no line with a quantity`);
    return {
      type: 'SalesInvoice',
      companyCode: company,
      code: transactionCode(item.key),
      date: day(o.createdAt),
      customerCode: String(o.customer?.externalId ?? s.customerCode ?? 'guest'),
      currencyCode: currency,
      ...(o.number ? { purchaseOrderNo: String(o.number).slice(0, 50) } : {}),
      addresses: {
        shipFrom: shipFrom(),
        shipTo: addressOf(o.shippingAddress, `order ${o.externalId}: shippingAddress`),
      },
      lines,
      commit: commitMode === 'inline',
    };
  }

  /** The ship-to of a recorded transaction (its ShipTo location, else its only address). */
  function shipToOf(t: Obj): Obj | undefined {
    const addresses: Obj[] = Array.isArray(t.addresses) ? t.addresses : [];
    const types: Obj[] = Array.isArray(t.locationTypes) ? t.locationTypes : [];
    const id = types.find((x) => x.locationTypeCode === 'ShipTo')?.documentAddressId;
    const a = addresses.find((x) => id !== undefined && String(x.id) === String(id)) ?? addresses[addresses.length - 1];
    if (!a) return undefined;
    const out: Obj = {};
    for (const k of ['line1', 'line2', 'city', 'region', 'postalCode', 'country']) if (a[k]) out[k] = a[k];
    return out;
  }

  function refundModel(item: WriteItem, r: Obj, original: Obj): Obj {
    const currency = String(r.currency ?? original.currencyCode ?? 'USD');
    const taxIncluded = r.taxesIncluded === true;
    const lines: Obj[] = [];
    const add = (line: Obj) => lines.push({ number: String(lines.length + 1), taxIncluded, ...line });
    (Array.isArray(r.lines) ? r.lines : []).forEach((l: Obj, n: number) => {
      const amount = l.amount === undefined ? '0' : amountOf(l.amount, `lines[${n}].amount`);
      add({
        quantity: Number(l.quantity),
        amount: dec(negate(amount)),
        ...(l.sku ? { itemCode: String(l.sku) } : {}),
      });
    });
    if (r.shipping !== undefined && /[1-9]/.test(amountOf(r.shipping, 'shipping')))
      add({
        quantity: 1,
        amount: dec(negate(amountOf(r.shipping, 'shipping'))),
        itemCode: 'shipping',
        taxCode: s.shippingTaxCode ?? FREIGHT,
      });
    if (r.adjustment !== undefined && /[1-9]/.test(amountOf(r.adjustment, 'adjustment')))
      add({ quantity: 1, amount: dec(negate(amountOf(r.adjustment, 'adjustment'))), itemCode: 'adjustment' });
    if (!lines.length) {
      // An amount-only refund: one line of what was refunded before tax.
      const scale = minorUnits(currency) ?? 2;
      const total = units(amountOf(r.total, 'total'), scale);
      const tax = r.tax === undefined || taxIncluded ? 0n : units(amountOf(r.tax, 'tax'), scale);
      if (total === null || tax === null)
        throw new RecordError(`refund ${r.externalId}: an amount has too many digits`);
      add({ quantity: 1, amount: dec(fromUnits(tax - total, scale)), itemCode: 'refund' });
    }
    return {
      type: 'ReturnInvoice',
      companyCode: company,
      code: transactionCode(item.key),
      date: day(r.createdAt),
      customerCode: String(original.customerCode ?? s.customerCode ?? 'guest'),
      currencyCode: currency,
      referenceCode: String(original.code),
      taxOverride: { type: 'TaxDate', taxDate: String(original.date).slice(0, 10), reason: 'Refund' },
      addresses: {
        shipFrom: shipFrom(),
        shipTo: addressOf(shipToOf(original), `the refunded order's transaction ${original.code}: its ship-to`),
      },
      lines,
      commit: commitMode === 'inline',
    };
  }

  /** What the target holds of a transaction, in AvaTax's terms: the fields rsync set, and the tax it computed. */
  function view(t: Obj): Obj {
    const currency = String(t.currencyCode ?? 'USD');
    return {
      code: t.code,
      type: t.type,
      status: t.status,
      date: typeof t.date === 'string' ? t.date.slice(0, 10) : t.date,
      customerCode: t.customerCode,
      currencyCode: t.currencyCode,
      totalAmount: money(t.totalAmount, currency),
      totalTax: money(t.totalTax, currency),
      lines: (Array.isArray(t.lines) ? t.lines : []).map((l: Obj) => ({
        lineNumber: String(l.lineNumber),
        itemCode: l.itemCode ?? null,
        quantity: Number(l.quantity),
        lineAmount: money(l.lineAmount, currency),
        tax: money(l.tax, currency),
      })),
    };
  }

  /** A TransactionModel as a stream record: as AvaTax gives it, money as decimal strings. */
  function record(t: Obj): Obj {
    const currency = String(t.currencyCode ?? 'USD');
    const out: Obj = { ...t };
    for (const k of MONEY) if (k in out) out[k] = money(out[k], currency);
    if (Array.isArray(t.lines))
      out.lines = t.lines.map((l: Obj) => {
        const line: Obj = { ...l };
        for (const k of LINE_MONEY) if (k in line) line[k] = money(line[k], currency);
        return line;
      });
    return out;
  }

  // ---- writes -----------------------------------------------------------------------------------------------------

  const INCLUDE = { $include: 'Lines' };

  async function recordTransaction(model: Obj, signal?: AbortSignal): Promise<Obj> {
    let t = await call('POST', '/api/v2/transactions/createoradjust', {
      query: INCLUDE,
      body: json({ createTransactionModel: model }),
      contentType: 'application/json',
      signal,
    });
    if (commitMode === 'endpoint' && t.status !== 'Committed')
      t = await call('POST', `${transactionPath(model.code)}/commit`, {
        query: { ...INCLUDE, documentType: model.type },
        json: { commit: true },
        signal,
      });
    return t;
  }

  /** Void `code` (of `type`); a repeat on a voided one is done, a code AvaTax never had is nothing to void. */
  async function voidTransaction(code: string, type: string, signal?: AbortSignal): Promise<WriteResult> {
    const query = { ...INCLUDE, documentType: type };
    try {
      const t = await call('POST', `${transactionPath(code)}/void`, { query, json: { code: 'DocVoided' }, signal });
      return { ok: true, targetId: code, view: view(t) };
    } catch (e) {
      if (!(e instanceof ConnectorError) || e.kind !== 'permanent') throw e;
      const t = await maybe('GET', transactionPath(code), { query, signal });
      if (!t) return { ok: true, targetId: code };
      if (t.status === 'Cancelled') return { ok: true, targetId: code, view: view(t) };
      throw e;
    }
  }

  async function writeOne(item: WriteItem, signal?: AbortSignal): Promise<WriteResult> {
    const r = item.record as Obj;
    const code = transactionCode(item.key);
    const isRefund = r.orderExternalId !== undefined;
    if (isRefund) {
      if (r.status === 'failed' || r.status === 'cancelled') return voidTransaction(code, 'ReturnInvoice', signal);
      const orderKey = (s.refundOrderKey ?? 'tax-order-{orderExternalId}').replace(
        '{orderExternalId}',
        String(r.orderExternalId),
      );
      const originalCode = transactionCode(orderKey);
      const original = await maybe('GET', transactionPath(originalCode), {
        query: { $include: 'Addresses', documentType: 'SalesInvoice' },
        signal,
      });
      if (!original)
        return {
          ok: false,
          transient: true,
          error: `avalara: refund ${r.externalId}: the refunded order's transaction ${originalCode} (key ${orderKey}) is not in AvaTax yet`,
        };
      const t = await recordTransaction(refundModel(item, r, original), signal);
      return { ok: true, targetId: code, view: view(t) };
    }
    if (r.status === 'cancelled') return voidTransaction(code, 'SalesInvoice', signal);
    const t = await recordTransaction(orderModel(item, r), signal);
    return { ok: true, targetId: code, view: view(t) };
  }

  async function write(entity: string, items: WriteItem[], signal?: AbortSignal): Promise<WriteResult[]> {
    if (entity !== 'transaction') throw failure.permanent(`avalara: no entity ${entity} (transaction)`);
    await limiter.take(items.length, signal);
    reserved += items.length;
    return inTurn(items, inFlight, async (item): Promise<WriteResult> => {
      try {
        return await writeOne(item, signal);
      } catch (e) {
        if (e instanceof RecordError)
          return { ok: false, transient: false, error: http.clean(`avalara: ${e.message}`) };
        if (!(e instanceof ConnectorError) || e.kind === 'auth') throw e;
        return { ok: false, transient: e.transient, error: e.message, retryAfterMs: e.retryAfterMs };
      }
    });
  }

  async function fetchBack(entity: string, targetIds: string[], signal?: AbortSignal): Promise<(Obj | null)[]> {
    if (entity !== 'transaction') throw failure.permanent(`avalara: no entity ${entity} (transaction)`);
    return inTurn(targetIds, inFlight, async (code) => {
      const t = await maybe('GET', transactionPath(code), { query: INCLUDE, signal });
      return t ? view(t) : null;
    });
  }

  // ---- reads ------------------------------------------------------------------------------------------------------

  const quoted = (v: string) => `'${v.replace(/'/g, "''")}'`;

  async function read(req: ReadRequest): Promise<Page> {
    if (req.stream !== 'transactions') throw failure.permanent(`avalara: no stream ${req.stream} (transactions)`);
    return readSlices<Obj>(req, {
      overlapMs: OVERLAP_MS,
      updatedAt: (t) => t.modifiedDate,
      fetch: async ({ since, until, token, limit, signal }) => {
        const top = Math.min(Math.max(limit, 1), MAX_TOP);
        const after = token as { at: string; id: string } | null;
        const filter = [`date ge ${quoted(ANY_DATE)}`];
        if (after)
          filter.push(
            `(modifiedDate gt ${quoted(after.at)} or (modifiedDate eq ${quoted(after.at)} and id gt ${after.id}))`,
          );
        else if (since) filter.push(`modifiedDate ge ${quoted(since)}`);
        if (until) filter.push(`modifiedDate lt ${quoted(until)}`);
        const page = await call('GET', transactionsPath, {
          query: { $filter: filter.join(' and '), $top: top, $orderby: 'modifiedDate ASC, id ASC', ...INCLUDE },
          signal,
        });
        const value: Obj[] = Array.isArray(page.value) ? page.value : [];
        const last = value[value.length - 1];
        const more = Number(page['@recordsetCount'] ?? 0) > value.length || typeof page['@nextLink'] === 'string';
        return {
          records: value.map(record),
          next: more && last ? { at: String(last.modifiedDate), id: String(last.id) } : null,
        };
      },
    });
  }

  // ---- check ------------------------------------------------------------------------------------------------------

  async function check(streams: string[], signal?: AbortSignal): Promise<CheckReport> {
    const ping = await call('GET', '/api/v2/utilities/ping', { signal });
    if (ping.authenticated !== true)
      throw failure.auth(
        `avalara: GET /api/v2/utilities/ping: not authenticated: check settings.accountId and the license key (${baseUrl === SANDBOX_URL ? 'a sandbox' : baseUrl === PRODUCTION_URL ? 'a production' : 'this server’s'} account)`,
        401,
      );
    const notes: string[] = [];
    if (baseUrl === SANDBOX_URL)
      notes.push("AvaTax's sandbox (sandbox-rest.avatax.com): nothing is reported to a tax authority");
    notes.push(
      commitMode === 'inline'
        ? 'transactions are recorded committed'
        : commitMode === 'endpoint'
          ? 'transactions are recorded uncommitted, then committed (CommitTransaction)'
          : 'transactions are left uncommitted: they are not reported until someone commits them',
    );
    if (!s.shipFrom) notes.push('settings.shipFrom is not set: every transaction will fail until it is');
    notes.push(
      `AvaTax publishes no rate-limit headroom; this connection sends at most ${limiter.perSecond} requests/s`,
    );
    const companies = await call('GET', '/api/v2/companies', {
      query: { $filter: `companyCode eq ${quoted(company)}` },
      signal,
    });
    const found: Obj | undefined = (Array.isArray(companies.value) ? companies.value : [])[0];
    if (!found) notes.push(`the account has no company ${company}: set settings.companyCode to one of its companies`);
    // One page of each stream; a refusal is that stream's answer, a transient failure the check's.
    const pageOf = (stream: string): Promise<CheckReport['streams'][number]> =>
      read({ stream, cursor: null, limit: 10, signal }).then(
        (page) => ({ stream, ok: true, records: page.records.length }),
        (e: unknown) => {
          if (!(e instanceof ConnectorError) || e.kind === 'transient' || e.kind === 'throttled') throw e;
          return { stream, ok: false, error: e.message };
        },
      );
    return {
      identity: `${found?.name ?? company} (company ${company}, account ${ping.authenticatedAccountId ?? s.accountId}${ping.authenticatedUserName ? `, user ${ping.authenticatedUserName}` : ''})`,
      apiVersion: { version: `REST v2 (${ping.version ?? 'version unknown'})` },
      streams: await Promise.all(streams.map(pageOf)),
      notes,
    };
  }

  return { connector: 'avalara', read, write, fetch: fetchBack, check };
}
