/**
 * A fake AvaTax REST v2 on 127.0.0.1: the endpoints the avalara connector calls, behaving as Avalara documents them,
 * so that the connector's tests, its crash test and its benchmark exercise its real HTTP code. It is not a mock: the
 * connector talks HTTP to it, and it refuses what AvaTax refuses.
 *
 *   const fake = await startFakeAvaTax({ accountId: '2000000001', licenseKey: '…', companies: ['ACME'] });
 *   fake.url   fake.transactions()   fake.counts   fake.throttle(2, 3)   fake.tamper(code, { totalTax: 1 })   fake.close()
 *
 * What it does, and where Avalara says so:
 * - Basic auth, `Basic base64(accountId:licenseKey)`, verified exactly: no Authorization header is 401
 *   AuthenticationIncomplete (number 34), a header that is not Basic base64 of "a:b" 401 BasicAuthIncorrect (35),
 *   a wrong account id or license key 401 AuthenticationException — https://developer.avalara.com/avatax/errors/
 *   (AuthenticationIncomplete, BasicAuthIncorrect: "'accountid' + ':' + 'licensekey'") and
 *   https://developer.avalara.com/avatax/authentication-in-avatax/. GET /api/v2/utilities/ping answers 200 either
 *   way, with `authenticated` saying whether the credentials were good (AvaTax's Ping).
 * - Every error body is AvaTax's ErrorResult `{ error: { code, message, target, details: [{ code, number, message,
 *   description, faultCode, helpLink, severity }] } }` — https://developer.avalara.com/avatax/errors/ (e.g.
 *   TransactionIsCommitted, CannotModifyLockedTransaction pages).
 * - POST /api/v2/transactions/createoradjust `{ createTransactionModel }`: "If there exists a transaction identified by
 *   code, the original transaction will be adjusted by using the meta data in the input transaction" — the same code
 *   (and document type, within the company) is the same transaction: an adjustment (counted; the transaction gets a
 *   new id and version, as AvaTax's adjusted documents do), never a second one. A locked transaction is 400
 *   CannotModifyLockedTransaction. Without `type` it is a SalesOrder estimate, answered and not recorded. Required:
 *   companyCode (a company of the account, else 404 EntityNotFoundError), date, customerCode,
 *   lines, and a ShipFrom / ShipTo (or SingleLocation) with a country (400 ValueRequiredError / AddressIncomplete).
 *   `commit: true` records it Committed, else Saved. — avadev/AvaTax-REST-V2-Ruby-SDK lib/avatax/client/transactions.rb
 *   (create_or_adjust_transaction, create_transaction) and
 *   https://developer.avalara.com/api-reference/avatax/rest/v2/methods/Transactions/CreateOrAdjustTransaction/
 * - POST /api/v2/companies/{companyCode}/transactions/{code}/commit `{ commit: true }` and …/void
 *   `{ code: "DocVoided" }` (status becomes Cancelled), `documentType` query (default SalesInvoice); an unknown code
 *   is 404 EntityNotFoundError (number 4) — the same SDK file (commit_transaction, void_transaction: "When you void a
 *   transaction, that transaction's status is recorded as DocVoided") and the VoidTransactionModel schema (code:
 *   Unspecified, PostFailed, DocDeleted, DocVoided, AdjustmentCancelled).
 * - GET /api/v2/companies/{companyCode}/transactions/{code}: the current transaction of that code; SalesInvoice first
 *   when several types share it ("it will default to selecting the SalesInvoices transaction"), `documentType` to
 *   choose — get_transaction_by_code in the same file.
 * - GET /api/v2/companies/{companyCode}/transactions: `$filter` (AvaTax's filter language: field op value, `and`,
 *   `or`, parentheses; ops eq ne gt ge lt le; values quoted), `$top` (at most 1,000: "the maximum number of records
 *   that can be returned from an API call is 1,000 records"), `$skip`, `$orderby` ("(fieldname) [ASC|DESC]", comma
 *   separated), `$include`; "If you do not specify a $filter that includes a date field criteria, the query will
 *   default to looking at only those transactions with date in the past 30 days". Answer `{ "@recordsetCount",
 *   value, "@nextLink" }` — list_transactions_by_company in the same file, and
 *   https://developer.avalara.com/avatax/filtering-in-rest/
 * - Path codes spelled as AvaTax asks (`_-ava2f-_` for "/", `_-ava2b-_` "+", `_-ava3f-_` "?", `_-ava25-_` "%",
 *   `_-ava23-_` "#") are decoded.
 * - Throttling: 429 with Retry-After (AvaTax "returns standard 429 / 503 codes and clients are expected to back off
 *   and retry … honor Retry-After when present" — https://rate-limits.apis.io/rate-limits/avalara/avalara-rate-limits/;
 *   Avalara publishes no numeric limit). `throttle(n, seconds)` answers the next n requests so.
 * - Money: AvaTax's JSON carries amounts as numbers; so does this fake's (written from exact decimals).
 *
 * Tax, deterministically (the fake is no tax engine): a line's tax is its amount × the rate of the ship-to region
 * (RATES: a US state's base rate, rounded to the cent half away from zero; 0 outside the table and for tax code NT).
 * With taxIncluded the amount includes the tax: tax = amount − amount ÷ (1 + rate). Production code (the demo may
 * start it): no test framework here.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

// biome-ignore lint/suspicious/noExplicitAny: AvaTax's models, read field by field
type Obj = Record<string, any>;

/** The ship-to region's rate (a state's base sales tax rate), as a decimal fraction. */
export const RATES: Record<string, string> = {
  CA: '0.0725',
  KY: '0.06',
  NY: '0.04',
  TX: '0.0625',
  WA: '0.065',
  IL: '0.0625',
  FL: '0.06',
  OR: '0',
};

export interface FakeAvaTaxOptions {
  accountId?: string;
  licenseKey?: string;
  /** The account's company codes. */
  companies?: string[];
  /** The clock (modifiedDate, createdDate). */
  now?: () => number;
}

export interface FakeTransaction extends Obj {
  id: number;
  code: string;
  type: string;
  status: string;
  companyCode: string;
}

export interface FakeAvaTax {
  url: string;
  accountId: string;
  licenseKey: string;
  /** What was done: transactions created, adjusted, voided, committed; requests answered; 429s sent. */
  counts: { creates: number; adjustments: number; voids: number; commits: number; requests: number; throttled: number };
  /** The X-Avalara-Client headers seen. */
  clients: Set<string>;
  /** The query strings of the transaction lists answered. */
  queries: string[];
  /** The recorded transactions (current versions). */
  transactions(): FakeTransaction[];
  get(code: string, type?: string, company?: string): FakeTransaction | undefined;
  /** A transaction changed in AvaTax behind rsync's back (someone adjusted it in the console). */
  tamper(code: string, patch: Obj, type?: string): void;
  /** A transaction gone (as if its company were reset). */
  remove(code: string, type?: string): void;
  /** Locks a transaction as if reported on a filing: it can no longer be adjusted or voided. */
  lock(code: string, type?: string): void;
  /** The next `n` requests are answered 429 with Retry-After `seconds`. */
  throttle(n: number, seconds: number): void;
  close(): Promise<void>;
}

const HELP = 'http://developer.avalara.com/avatax/errors/';

/** A warehouse on Bainbridge Island, WA: the ship-from of the tests' and benchmarks' connections. */
export const SHIP_FROM = {
  line1: '100 Ravine Lane NE',
  city: 'Bainbridge Island',
  region: 'WA',
  postalCode: '98110',
  country: 'US',
};

/**
 * The settings of an avalara connection to a fake at `url` (its account, the license key by `env:<keyEnv>`, the
 * company, SHIP_FROM), paced far above what a test sends; `more` adds or overrides.
 */
export function fakeSettings(
  fake: { url: string; accountId: string },
  keyEnv: string,
  companyCode: string,
  more: Obj = {},
): Obj {
  return {
    baseUrl: fake.url,
    accountId: fake.accountId,
    licenseKey: { secretRef: `env:${keyEnv}` },
    companyCode,
    shipFrom: SHIP_FROM,
    rateLimit: { perSecond: 1_000_000, burst: 1_000_000 },
    ...more,
  };
}

/** AvaTax's ErrorResult. */
function errorBody(code: string, number: number, message: string, description: string): Obj {
  return {
    error: {
      code,
      message,
      target: code.startsWith('Authentication') || code === 'BasicAuthIncorrect' ? 'HttpRequestHeaders' : 'Unknown',
      details: [
        {
          code,
          number,
          message,
          description,
          faultCode: 'Client',
          helpLink: `${HELP}${code}`,
          severity: code.startsWith('Auth') || code === 'BasicAuthIncorrect' ? 'Exception' : 'Error',
        },
      ],
    },
  };
}

/** "12.5" → 1250n cents (rounded half away from zero past the cents). */
function cents(v: unknown): bigint {
  const text = typeof v === 'number' ? String(v) : String(v ?? '0');
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text.trim());
  if (!m) throw new BadRequest('ValueRequiredError', 5, `The amount ${text} is not a number.`);
  const f = (m[3] ?? '').padEnd(3, '0');
  let n = BigInt(m[2] + f.slice(0, 2));
  if (Number(f[2]) >= 5) n += 1n;
  return m[1] ? -n : n;
}
/** Cents as a JSON number (exactly the decimal: 1250n → 12.5). */
const amount = (c: bigint): number =>
  Number(`${c < 0n ? '-' : ''}${(c < 0n ? -c : c) / 100n}.${((c < 0n ? -c : c) % 100n).toString().padStart(2, '0')}`);
/** a ÷ b rounded half away from zero. */
function divRound(a: bigint, b: bigint): bigint {
  const neg = a < 0n !== b < 0n;
  const x = a < 0n ? -a : a;
  const y = b < 0n ? -b : b;
  let q = x / y;
  if (2n * (x % y) >= y) q += 1n;
  return neg ? -q : q;
}
/** A rate "0.0725" as a fraction num / 10^6. */
const ratePpm = (r: string): bigint => BigInt(Math.round(Number(r) * 1_000_000));

class BadRequest extends Error {
  constructor(
    readonly code: string,
    readonly number: number,
    message: string,
    readonly status = 400,
    readonly description = message,
  ) {
    super(message);
  }
}

/** A transaction reported on a filing (locked) cannot change. */
const lockedError = (code: string) =>
  new BadRequest(
    'CannotModifyLockedTransaction',
    1100,
    'Modifying a locked document is not allowed.',
    400,
    `Document ${code} is locked. Modification is not allowed.`,
  );

/** AvaTax's filter language, the part the connector and tests use: comparisons joined by and / or, in parentheses. */
type Pred = (t: Obj) => boolean;
export function parseFilter(text: string): Pred {
  const tokens = text.match(/'(?:[^']|'')*'|\(|\)|[^\s()]+/g) ?? [];
  let i = 0;
  const peek = () => tokens[i]?.toLowerCase();
  const value = (raw: string): string => (raw.startsWith("'") ? raw.slice(1, -1).replace(/''/g, "'") : raw);
  const compare = (field: string, op: string, v: string): Pred => {
    const timeField = field === 'date' || field === 'modifiedDate' || field === 'createdDate';
    return (t) => {
      const a = t[field];
      if (a === undefined || a === null) return false;
      const x = timeField ? Date.parse(String(a)) : field === 'id' ? Number(a) : String(a).toLowerCase();
      const y = timeField ? Date.parse(v) : field === 'id' ? Number(v) : v.toLowerCase();
      switch (op) {
        case 'eq':
          return x === y;
        case 'ne':
          return x !== y;
        case 'gt':
          return x > y;
        case 'ge':
          return x >= y;
        case 'lt':
          return x < y;
        case 'le':
          return x <= y;
        default:
          throw new BadRequest('InvalidFilterOperation', 1203, `The filter operation ${op} is not supported.`);
      }
    };
  };
  const primary = (): Pred => {
    if (peek() === '(') {
      i++;
      const p = or();
      if (peek() !== ')') throw new BadRequest('FilterParseError', 1200, `Unbalanced parentheses in $filter: ${text}`);
      i++;
      return p;
    }
    const [field, op, raw] = [tokens[i], tokens[i + 1]?.toLowerCase(), tokens[i + 2]];
    if (!field || !op || raw === undefined)
      throw new BadRequest('FilterParseError', 1200, `The $filter ${text} could not be parsed.`);
    if (!/^[A-Za-z]+$/.test(field))
      throw new BadRequest('FilterParseError', 1200, `The $filter ${text} could not be parsed at ${field}.`);
    i += 3;
    return compare(field, op, value(raw));
  };
  const and = (): Pred => {
    let p = primary();
    while (peek() === 'and') {
      i++;
      const [l, r] = [p, primary()];
      p = (t) => l(t) && r(t);
    }
    return p;
  };
  const or = (): Pred => {
    let p = and();
    while (peek() === 'or') {
      i++;
      const [l, r] = [p, and()];
      p = (t) => l(t) || r(t);
    }
    return p;
  };
  const p = or();
  if (i !== tokens.length) throw new BadRequest('FilterParseError', 1200, `The $filter ${text} could not be parsed.`);
  return p;
}

/** AvaTax's path spelling of a code, undone. */
const unspell = (code: string) =>
  decodeURIComponent(code).replace(/_-ava(2f|2b|3f|25|23)-_/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));

export async function startFakeAvaTax(o: FakeAvaTaxOptions = {}): Promise<FakeAvaTax> {
  const accountId = o.accountId ?? '2000000001';
  const licenseKey = o.licenseKey ?? 'A1B2C3D4E5F6A7B8';
  const companies = new Set((o.companies ?? ['DEFAULT']).map((c) => c.toUpperCase()));
  const now = o.now ?? Date.now;
  const store = new Map<string, FakeTransaction>();
  const keyOf = (company: string, type: string, code: string) =>
    `${company.toUpperCase()}\n${type}\n${code.toLowerCase()}`;
  const counts = { creates: 0, adjustments: 0, voids: 0, commits: 0, requests: 0, throttled: 0 };
  const clients = new Set<string>();
  let nextId = 1_000_001;
  let nextAddress = 1;
  let throttleLeft = 0;
  let throttleSeconds = 1;
  // The clock's millisecond: writes in the same millisecond share a modifiedDate (a reader must order ties by id).
  const stamp = () => new Date(now()).toISOString();
  /** The list queries answered (their query strings), for the tests of paging. */
  const queries: string[] = [];

  const find = (company: string, code: string, type?: string): FakeTransaction | undefined => {
    if (type) return store.get(keyOf(company, type, code));
    return (
      store.get(keyOf(company, 'SalesInvoice', code)) ??
      [...store.values()].find(
        (t) => t.companyCode === company.toUpperCase() && t.code.toLowerCase() === code.toLowerCase(),
      )
    );
  };

  /** The response model of a transaction: lines only when $include asks for them (or by default, with addresses). */
  function shown(t: FakeTransaction, include: string | null): Obj {
    const inc = (include ?? 'Summary,Addresses')
      .toLowerCase()
      .split(',')
      .map((x) => x.trim());
    const withLines = inc.some((x) => ['lines', 'details', 'summary', 'linesonly'].includes(x));
    const withAddresses = inc.includes('addresses') || include === null;
    const out: Obj = { ...t };
    if (!withLines) delete out.lines;
    if (!withAddresses) {
      delete out.addresses;
      delete out.locationTypes;
    }
    return out;
  }

  function addressOf(a: Obj | undefined, which: string): Obj {
    if (!a || typeof a !== 'object')
      throw new BadRequest(
        'AddressIncomplete',
        300,
        `The ${which} address is missing.`,
        400,
        `You must provide a ${which} address.`,
      );
    if (!a.country)
      throw new BadRequest(
        'AddressIncomplete',
        300,
        `The ${which} address has no country.`,
        400,
        'An address needs a country.',
      );
    return {
      id: nextAddress++,
      boundaryLevel: a.line1 ? 'Address' : 'Zip5',
      line1: a.line1 ?? '',
      line2: a.line2 ?? '',
      city: a.city ?? '',
      region: String(a.region ?? '').toUpperCase(),
      postalCode: a.postalCode ?? '',
      country: String(a.country).toUpperCase(),
    };
  }

  /** CreateOrAdjust: the model made a transaction, tax computed. */
  function createOrAdjust(m: Obj): { t: Obj; status: number } {
    if (!m || typeof m !== 'object')
      throw new BadRequest('ValueRequiredError', 5, 'createTransactionModel is required.');
    for (const f of ['companyCode', 'date', 'customerCode'])
      if (m[f] === undefined || m[f] === null || m[f] === '')
        throw new BadRequest(
          'ValueRequiredError',
          5,
          `Field ${f} is required.`,
          400,
          `You must specify a value for ${f}.`,
        );
    const company = String(m.companyCode).toUpperCase();
    if (!companies.has(company))
      throw new BadRequest(
        'EntityNotFoundError',
        4,
        `Company ${m.companyCode} not found.`,
        404,
        'The company code was not found on this account.',
      );
    if (!Array.isArray(m.lines) || m.lines.length === 0)
      throw new BadRequest(
        'ValueRequiredError',
        5,
        'Field lines is required.',
        400,
        'A transaction needs at least one line.',
      );
    if (m.code !== undefined && String(m.code).length > 50)
      throw new BadRequest(
        'StringLengthError',
        13,
        'Field code has an invalid length.',
        400,
        'code is at most 50 characters.',
      );
    const type = String(m.type ?? 'SalesOrder');
    const a = m.addresses ?? {};
    const single = a.singleLocation;
    const from = addressOf(single ?? a.shipFrom, 'ShipFrom');
    const to = single ? from : addressOf(a.shipTo, 'ShipTo');
    const rate = (code?: string) => (code === 'NT' || to.country !== 'US' ? '0' : (RATES[to.region] ?? '0'));
    let totalAmount = 0n;
    let totalTax = 0n;
    let totalTaxable = 0n;
    const lines = m.lines.map((l: Obj, n: number) => {
      if (l.amount === undefined)
        throw new BadRequest('ValueRequiredError', 5, `Field lines[${n}].amount is required.`);
      const gross = cents(l.amount);
      const ppm = ratePpm(rate(l.taxCode));
      const included = l.taxIncluded === true;
      const tax = included ? gross - divRound(gross * 1_000_000n, 1_000_000n + ppm) : divRound(gross * ppm, 1_000_000n);
      const net = included ? gross - tax : gross;
      totalAmount += net;
      totalTax += tax;
      if (ppm > 0n) totalTaxable += net;
      return {
        id: nextId * 100 + n,
        lineNumber: String(l.number ?? n + 1),
        itemCode: l.itemCode ?? '',
        description: l.description ?? '',
        quantity: Number(l.quantity ?? 1),
        lineAmount: amount(net),
        tax: amount(tax),
        taxableAmount: amount(ppm > 0n ? net : 0n),
        taxCode: l.taxCode ?? 'P0000000',
        taxIncluded: included,
      };
    });
    const code = String(m.code ?? `fake-${nextId}`);
    const at = stamp();
    const existing = store.get(keyOf(company, type, code));
    if (existing?.locked) throw lockedError(code);
    const t: FakeTransaction = {
      id: nextId++,
      code,
      companyCode: company,
      companyId: 1,
      date: String(m.date).slice(0, 10),
      taxDate:
        m.taxOverride?.type === 'TaxDate' ? String(m.taxOverride.taxDate).slice(0, 10) : String(m.date).slice(0, 10),
      status: m.commit === true ? 'Committed' : 'Saved',
      type,
      customerCode: String(m.customerCode),
      currencyCode: String(m.currencyCode ?? 'USD'),
      purchaseOrderNo: m.purchaseOrderNo ?? null,
      referenceCode: m.referenceCode ?? null,
      totalAmount: amount(totalAmount),
      totalTax: amount(totalTax),
      totalTaxable: amount(totalTaxable),
      totalTaxCalculated: amount(totalTax),
      adjustmentReason: existing ? 'Other' : 'NotAdjusted',
      version: (existing?.version ?? 0) + 1,
      locked: false,
      createdDate: existing?.createdDate ?? at,
      modifiedDate: at,
      lines,
      addresses: [from, to],
      locationTypes: [
        { documentAddressId: from.id, locationTypeCode: 'ShipFrom' },
        { documentAddressId: to.id, locationTypeCode: 'ShipTo' },
      ],
    };
    // An estimate (SalesOrder, ReturnOrder…) is answered, not recorded.
    if (!type.endsWith('Invoice')) return { t, status: 201 };
    if (existing) counts.adjustments++;
    else counts.creates++;
    store.set(keyOf(company, type, code), t);
    return { t, status: 201 };
  }

  function list(company: string, q: URLSearchParams): Obj {
    const filterText = q.get('$filter');
    const predicate = filterText ? parseFilter(filterText) : () => true;
    // Without a `date` criterion, the last 30 days of `date` only.
    const recent =
      filterText && /\bdate\s+(eq|gt|ge|lt|le|between)\b/i.test(filterText)
        ? () => true
        : (t: Obj) => Date.parse(t.date) >= now() - 30 * 86_400_000;
    const top = Math.min(Number(q.get('$top') ?? MAX_LIST) || MAX_LIST, MAX_LIST);
    const skip = Number(q.get('$skip') ?? 0) || 0;
    const order = (q.get('$orderby') ?? 'id ASC').split(',').map((x) => {
      const [field, dir] = x.trim().split(/\s+/);
      return { field, desc: dir?.toUpperCase() === 'DESC' };
    });
    const all = [...store.values()]
      .filter((t) => t.companyCode === company && recent(t) && predicate(t))
      .sort((a, b) => {
        for (const { field, desc } of order) {
          const x = field.endsWith('Date') ? Date.parse(a[field]) : a[field];
          const y = field.endsWith('Date') ? Date.parse(b[field]) : b[field];
          if (x < y) return desc ? 1 : -1;
          if (x > y) return desc ? -1 : 1;
        }
        return 0;
      });
    const value = all.slice(skip, skip + top).map((t) => shown(t, q.get('$include')));
    const out: Obj = { '@recordsetCount': all.length, value };
    if (skip + top < all.length) {
      const next = new URLSearchParams(q);
      next.set('$skip', String(skip + top));
      next.set('$top', String(top));
      out['@nextLink'] = `${url}/api/v2/companies/${company}/transactions?${next}`;
    }
    return out;
  }

  function authenticated(req: IncomingMessage): true | Obj {
    const h = req.headers.authorization;
    if (!h)
      return errorBody(
        'AuthenticationIncomplete',
        34,
        'Authentication Incomplete.',
        'You must provide an Authorization header of the type Basic or Bearer to authenticate correctly.',
      );
    const m = /^Basic ([A-Za-z0-9+/]+=*)$/.exec(h);
    const decoded = m ? Buffer.from(m[1], 'base64').toString('utf8') : '';
    if (!m || !decoded.includes(':'))
      return errorBody(
        'BasicAuthIncorrect',
        35,
        'Incorrect Base header format.',
        "The Basic header must be in the format 'Basic (Base64Encoded(value))' where Value is either 'username' + ':' + 'password' or 'accountid' + ':' + 'licensekey'.",
      );
    const [user, ...rest] = decoded.split(':');
    if (user !== accountId || rest.join(':') !== licenseKey)
      return errorBody(
        'AuthenticationException',
        33,
        'Authentication failed.',
        'Missing authentication or unable to authenticate the user or the account.',
      );
    return true;
  }

  async function handle(req: IncomingMessage, res: ServerResponse, body: string): Promise<void> {
    const reply = (status: number, value: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
      res.end(JSON.stringify(value));
    };
    counts.requests++;
    const client = req.headers['x-avalara-client'];
    if (typeof client === 'string') clients.add(client);
    if (throttleLeft > 0) {
      throttleLeft--;
      counts.throttled++;
      return reply(
        429,
        errorBody(
          'TooManyRequests',
          429,
          'Too many requests.',
          'The account sent too many requests: retry after the Retry-After time.',
        ),
        { 'retry-after': String(throttleSeconds) },
      );
    }
    const u = new URL(req.url ?? '/', 'http://fake');
    const path = u.pathname;
    const auth = authenticated(req);
    if (path === '/api/v2/utilities/ping' && req.method === 'GET')
      return reply(200, {
        version: '26.6.0',
        authenticated: auth === true,
        authenticationType: auth === true ? 'AccountIdLicenseKey' : 'None',
        ...(auth === true ? { authenticatedUserName: accountId, authenticatedAccountId: Number(accountId) } : {}),
      });
    if (auth !== true) return reply(401, auth);
    const parse = (): Obj => {
      try {
        return body ? JSON.parse(body) : {};
      } catch {
        throw new BadRequest('ModelStateInvalid', 70, 'The request body is not valid JSON.');
      }
    };
    if (path === '/api/v2/transactions/createoradjust' && req.method === 'POST') {
      const { t, status } = createOrAdjust(parse().createTransactionModel);
      return reply(status, shown(t as FakeTransaction, u.searchParams.get('$include')));
    }
    if (path === '/api/v2/companies' && req.method === 'GET') {
      const filter = u.searchParams.get('$filter');
      const all = [...companies].map((c, i) => ({ id: i + 1, companyCode: c, name: `${c} (fake AvaTax company)` }));
      const value = filter ? all.filter(parseFilter(filter)) : all;
      return reply(200, { '@recordsetCount': value.length, value });
    }
    const m = /^\/api\/v2\/companies\/([^/]+)\/transactions(?:\/([^/]+)(?:\/(commit|void))?)?$/.exec(path);
    if (m) {
      const company = unspell(m[1]).toUpperCase();
      if (!companies.has(company))
        throw new BadRequest(
          'EntityNotFoundError',
          4,
          `Company ${company} not found.`,
          404,
          'The company code was not found.',
        );
      if (!m[2] && req.method === 'GET') {
        queries.push(u.search);
        return reply(200, list(company, u.searchParams));
      }
      if (m[2]) {
        const code = unspell(m[2]);
        const type = u.searchParams.get('documentType') ?? undefined;
        const t = find(company, code, req.method === 'POST' ? (type ?? 'SalesInvoice') : type);
        if (!t)
          throw new BadRequest(
            'EntityNotFoundError',
            4,
            `Document with code ${code} not found.`,
            404,
            'The document you requested could not be found.',
          );
        if (!m[3] && req.method === 'GET') return reply(200, shown(t, u.searchParams.get('$include')));
        if (m[3] && req.method === 'POST') {
          const b = parse();
          if (t.locked) throw lockedError(code);
          if (m[3] === 'void') {
            if (!['Unspecified', 'PostFailed', 'DocDeleted', 'DocVoided', 'AdjustmentCancelled'].includes(b.code))
              throw new BadRequest(
                'ValueRequiredError',
                5,
                'Field code is required.',
                400,
                'To void a transaction the code must be set to DocVoided.',
              );
            if (t.status !== 'Cancelled') {
              t.status = 'Cancelled';
              t.modifiedDate = stamp();
              counts.voids++;
            }
          } else {
            if (b.commit !== true) throw new BadRequest('ValueRequiredError', 5, 'Field commit is required.');
            if (t.status === 'Cancelled')
              throw new BadRequest('TransactionIsCancelled', 1314, 'A voided transaction cannot be committed.');
            if (t.status !== 'Committed') {
              t.status = 'Committed';
              t.modifiedDate = stamp();
              counts.commits++;
            }
          }
          return reply(200, shown(t, u.searchParams.get('$include')));
        }
      }
    }
    throw new BadRequest('EntityNotFoundError', 4, `No API at ${req.method} ${path}.`, 404);
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      handle(req, res, Buffer.concat(chunks).toString('utf8')).catch((e: unknown) => {
        const b = e instanceof BadRequest ? e : new BadRequest('ServerConfiguration', 1, String(e), 500);
        res.writeHead(b.status, { 'content-type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify(errorBody(b.code, b.number, b.message, b.description)));
      });
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const must = (code: string, type?: string) => {
    const t = [...companies].map((c) => find(c, code, type)).find(Boolean);
    if (!t) throw new Error(`fake AvaTax: no transaction ${code}`);
    return t;
  };
  return {
    url,
    accountId,
    licenseKey,
    counts,
    clients,
    queries,
    transactions: () => [...store.values()],
    get: (code, type, company) =>
      company ? find(company, code, type) : [...companies].map((c) => find(c, code, type)).find(Boolean),
    tamper(code, patch, type) {
      Object.assign(must(code, type), patch, { modifiedDate: stamp() });
    },
    remove(code, type) {
      const t = must(code, type);
      store.delete(keyOf(t.companyCode, t.type, t.code));
    },
    lock(code, type) {
      must(code, type).locked = true;
    },
    throttle(n, seconds) {
      throttleLeft = n;
      throttleSeconds = seconds;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const MAX_LIST = 1000;
