/**
 * A fake Microsoft Dynamics 365 Business Central (API v2.0) with its Microsoft Entra ID token endpoint, on
 * 127.0.0.1: the endpoints the business-central connector calls, behaving as Microsoft documents them, so that the
 * connector's tests, the crash test and the benchmark exercise its real HTTP code. It is not a mock: the connector
 * talks HTTP to it, and it refuses what Business Central refuses.
 *
 *   const bc = await startFakeBusinessCentral({ clientSecret: '…' });
 *   bc.seed({ items: [...], customers: [...] });  bc.url  bc.calls  bc.fail(2, 503)  bc.tamper(…)  bc.remove(…)
 *
 * What it does, and where Microsoft says so:
 * - Token endpoint POST /<tenant>/oauth2/v2.0/token, a form of grant_type=client_credentials, client_id,
 *   client_secret and scope=https://api.businesscentral.dynamics.com/.default; answers { token_type: "Bearer",
 *   expires_in, ext_expires_in, access_token }, and refuses with { error, error_description: "AADSTS…", error_codes }
 *   — invalid_client (AADSTS7000215, a wrong secret: 401), unauthorized_client (AADSTS700016, an unknown app),
 *   invalid_scope, unsupported_grant_type, an unknown tenant (AADSTS90002) —
 *   https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-client-creds-grant-flow ("Get a token",
 *   "Successful response", "Error response") and the AADSTS codes of
 *   https://learn.microsoft.com/en-us/entra/identity-platform/reference-error-codes.
 * - The API accepts only a bearer token this endpoint issued, unexpired: else 401 with
 *   { error: { code: "Authentication_InvalidCredentials", message } } — error bodies are OData's
 *   { error: { code, message } } with Business Central's code categories (BadRequest_*, Authentication_*,
 *   Authorization_*, Internal_*, Application_*) —
 *   https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/api-reference/v1.0/dynamics_error_codes
 * - Base …/v2.0/<tenant>/<environment>/api/v2.0/companies(<id>)/<entity set>; the company, items, customers,
 *   salesOrders (+ salesOrderLines), salesInvoices (+ salesInvoiceLines), salesCreditMemos (+ salesCreditMemoLines),
 *   journals (+ journalLines) — https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/api-reference/v2.0/
 *   (resource types and "Create salesOrders": POST answers 201 with the entity, number assigned, externalDocumentNumber
 *   kept). A document's lines come in one POST with the header (deep insert) and are returned with $expand —
 *   https://learn.microsoft.com/en-us/training/modules/work-with-api/4-limits/ ("deep inserts … all sales order lines
 *   in the same POST request").
 * - Every entity carries @odata.etag (W/"…"), new at each change; PATCH and DELETE need If-Match (an ETag or *), and a
 *   stale one is 412 Request_EntityChanged — https://learn.microsoft.com/en-gb/training/modules/work-with-web-services/9-update-records
 *   ("PATCH requests require the If-Match header to be set, either with a retrieved etag or with *") and the
 *   If-Match rows of "Create salesOrderLines" (…/api/v2.0/api/dynamics_salesorderline_create).
 * - Queries: $filter (eq ne gt ge lt le, and, or, parentheses, strings in quotes with '' escaped, datetimes, numbers,
 *   booleans), $orderby (fields, asc/desc), $expand of lines, $top; server-driven paging with @odata.nextLink and
 *   Prefer: odata.maxpagesize, at most 20,000 entities a page (operational limits, below).
 * - JSON $batch POST …/api/v2.0/$batch: { requests: [{ id, method, url, headers, body }] } → { responses: [{ id,
 *   status, headers, body }] }, at most 100 operations; with `Isolation: snapshot` the batch is one transaction — one
 *   failed operation reverts every change of the batch "as if the batch request never happened"; the answer then
 *   holds the responses up to the failed one (those before it describe changes that were reverted) —
 *   https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/webservices/use-odata-batch.
 *   Without the header each operation stands alone.
 * - Limits: 6,000 requests per 5-minute sliding window per user (here: per client id), 5 requests processed at once
 *   with up to 95 more queued, a 429 { error: { code: "Application_TooManyRequests" } } with Retry-After past that —
 *   https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/administration/operational-limits-online
 *   (OData request limits) and https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/api-reference/v2.0/dynamics-rate-limits
 *   ("HTTP Status Code 429 - Too Many Requests … retry logic while providing a cool off period"). `window` and
 *   `latencyMs` make them small enough for a test to meet.
 *
 * For tests: `creates` counts the documents and entities created (after commit: a rolled-back batch creates
 * nothing) by externalDocumentNumber / number, `peakProcessing` the most requests processed at once; `tamper` and
 * `remove` change or delete a record behind rsync's back; `fail(n, status)` makes the next n calls fail. Production
 * code (the benchmark runs it in a process of its own): no test framework here.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

// biome-ignore lint/suspicious/noExplicitAny: Business Central's entities, read field by field
type Obj = Record<string, any>;

export const FAKE_TENANT = '2f5c8e61-0a4b-4d8f-9a51-3c0f1b7e9d22';
export const FAKE_COMPANY = '8c1b5a7e-2d3f-ef11-9f8a-6045bde9c3a1';
export const FAKE_CLIENT_ID = '0d9e7c3b-5a41-4f2e-8b6d-1c2a3e4f5a6b';
export const FAKE_CLIENT_SECRET = 'Xq8~fake.bc-client-secret_0123456789abcdefgh';
export const FAKE_ENVIRONMENT = 'Production';
const SCOPE = 'https://api.businesscentral.dynamics.com/.default';
const PAGE_MAX = 20_000;
const BATCH_MAX = 100;

/** The customer documents are sold to in the tests and the benchmark (settings.customerNumber WEB). */
export const WEB_CUSTOMER = { number: 'WEB', displayName: 'Web customer', type: 'Company' };

/**
 * A business-central connection's settings for a fake at `url` (token endpoint and API alike), the client secret a
 * reference to the environment variable `secretEnv`; documents sold to WEB_CUSTOMER, shipping and charges posted to
 * accounts of the fake's chart.
 */
export function fakeSettings(url: string, secretEnv: string): Record<string, unknown> {
  return {
    tenantId: FAKE_TENANT,
    environment: FAKE_ENVIRONMENT,
    companyId: FAKE_COMPANY,
    clientId: FAKE_CLIENT_ID,
    clientSecret: { secretRef: `env:${secretEnv}` },
    baseUrl: url,
    authorityUrl: url,
    customerNumber: WEB_CUSTOMER.number,
    shippingAccount: '6110',
    chargesAccount: '6120',
  };
}

export interface FakeBusinessCentralOptions {
  tenantId?: string;
  environment?: string;
  companyId?: string;
  clientId?: string;
  clientSecret?: string;
  /** Requests allowed per sliding window (default 6,000 per 300,000 ms). */
  window?: { requests: number; ms: number };
  /** Requests processed at once, and queued beyond that (default 5 and 95). */
  processing?: number;
  queue?: number;
  /** Each request's processing time (default 0): lets the concurrency limit be met. */
  latencyMs?: number;
  /** The token's lifetime, in seconds (default 3599). */
  tokenTtl?: number;
  /** G/L account numbers that exist (Account lines and journal lines name one). Default: a small chart. */
  accounts?: string[];
  /** Journal batch codes that exist (default GENERAL). */
  journals?: string[];
  now?: () => number;
}

export interface FakeCall {
  method: string;
  path: string;
  status: number;
  at: number;
  query?: Record<string, string>;
  headers?: Record<string, string | string[] | undefined>;
  body?: string;
  /** A collection read: how many entities its page held. */
  returned?: number;
}

export interface FakeBusinessCentral {
  url: string;
  /** The API's base for connector settings: baseUrl and authorityUrl are both `url`. */
  calls: FakeCall[];
  tokensIssued: number;
  /** Creations committed, by entity set, by externalDocumentNumber (documents) or number (customers, items). */
  creates: Map<string, Map<string, number>>;
  peakProcessing: number;
  seed(s: { items?: Obj[]; customers?: Obj[] }): void;
  /** The records of an entity set (lines expanded), in id order. */
  records(set: string): Obj[];
  /** Change a record behind rsync's back (a new ETag and lastModifiedDateTime). */
  tamper(set: string, id: string, change: (r: Obj) => void): void;
  remove(set: string, id: string): void;
  /** The next `n` calls (matching `path`, when given) answer `status`, or drop their connection. */
  fail(n: number, status: number | 'drop', path?: RegExp): void;
  /** Called as each API request arrives, before it is processed (a test changes a record there, to race rsync). */
  before?: (method: string, path: string) => void;
  /** Invalidate every token issued (a revoked app secret, an early expiry). */
  revokeTokens(): void;
  close(): Promise<void>;
}

const LINES: Record<string, string> = {
  salesOrders: 'salesOrderLines',
  salesInvoices: 'salesInvoiceLines',
  salesCreditMemos: 'salesCreditMemoLines',
};
const NUMBER_PREFIX: Record<string, string> = {
  salesOrders: 'S-ORD',
  salesInvoices: 'S-INV',
  salesCreditMemos: 'S-CR',
};
const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

class BcError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export async function startFakeBusinessCentral(o: FakeBusinessCentralOptions = {}): Promise<FakeBusinessCentral> {
  const tenant = o.tenantId ?? FAKE_TENANT;
  const environment = o.environment ?? FAKE_ENVIRONMENT;
  const companyId = o.companyId ?? FAKE_COMPANY;
  const clientId = o.clientId ?? FAKE_CLIENT_ID;
  const clientSecret = o.clientSecret ?? FAKE_CLIENT_SECRET;
  const windowLimit = o.window ?? { requests: 6000, ms: 300_000 };
  const processing = o.processing ?? 5;
  const queueMax = o.queue ?? 95;
  const now = o.now ?? Date.now;
  const accounts = new Set(o.accounts ?? ['10100', '40100', '40200', '6110', '6120', '8450']);

  const tokens = new Map<string, number>();
  const calls: FakeCall[] = [];
  const creates = new Map<string, Map<string, number>>();
  const failures: { n: number; status: number | 'drop'; path?: RegExp }[] = [];
  const stamps: number[] = [];
  let inFlight = 0;
  let active = 0;
  const waiting: (() => void)[] = [];
  const fake = { tokensIssued: 0, peakProcessing: 0 };
  let version = 0;
  let serial = 101000;

  // ---- the store: entity sets by id, every change through `mutate` (which an atomic batch can undo) -----------------
  const sets = new Map<string, Map<string, Obj>>();
  for (const s of [
    'items',
    'customers',
    'salesOrders',
    'salesInvoices',
    'salesCreditMemos',
    'journals',
    'journalLines',
  ])
    sets.set(s, new Map());
  let undo: (() => void)[] | null = null;

  // ETags and ids from counters: unique within the fake, and cheap (the crash test and the benchmark create 10⁴–10⁵).
  const etag = () => `W/"JzQ0O${Buffer.from(`${++version};00;`).toString('base64')}Oyc="`;
  const idBase = randomBytes(4).toString('hex');
  let ids = 0;
  const newId = () => {
    const n = (++ids).toString(16).padStart(12, '0');
    return `${idBase}-${n.slice(0, 4)}-4${n.slice(4, 7)}-8${n.slice(7, 10)}-${n.slice(10).padStart(12, '0')}`;
  };
  const stampTime = () => new Date(now()).toISOString();

  // Lines are one set of their own, by id, each with its documentId; `byDocument` indexes them.
  sets.set('lines', new Map());
  const byDocument = new Map<string, Set<string>>();
  function rawSet(set: string, r: Obj): void {
    sets.get(set)!.set(r.id, r);
    if (set === 'lines') {
      const ids = byDocument.get(r.documentId) ?? new Set<string>();
      byDocument.set(r.documentId, ids.add(r.id));
    }
  }
  function rawDelete(set: string, id: string): void {
    const m = sets.get(set)!;
    const before = m.get(id);
    m.delete(id);
    if (set === 'lines' && before) byDocument.get(before.documentId)?.delete(id);
  }
  function put(set: string, r: Obj): void {
    const before = sets.get(set)!.get(r.id);
    rawSet(set, r);
    undo?.push(() => (before ? rawSet(set, before) : rawDelete(set, r.id)));
  }
  function del(set: string, id: string): void {
    const before = sets.get(set)!.get(id);
    rawDelete(set, id);
    if (before) undo?.push(() => rawSet(set, before));
  }
  function countCreate(set: string, key: string): void {
    const m = creates.get(set) ?? new Map<string, number>();
    creates.set(set, m);
    m.set(key, (m.get(key) ?? 0) + 1);
    undo?.push(() => m.set(key, (m.get(key) ?? 1) - 1));
  }
  const touched = (r: Obj): Obj => ({ ...r, '@odata.etag': etag(), lastModifiedDateTime: stampTime() });

  for (const code of o.journals ?? ['GENERAL'])
    put('journals', touched({ id: newId(), code, displayName: `${code} journal` }));

  // ---- the HTTP server ------------------------------------------------------------------------------------------
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void handle(req, res, Buffer.concat(chunks).toString('utf8'));
    });
  });

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    const text = body === undefined ? '' : JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json; odata.metadata=minimal', ...headers });
    res.end(text);
  };
  const errorBody = (e: BcError) => ({ error: { code: e.code, message: e.message } });

  async function handle(req: IncomingMessage, res: ServerResponse, body: string): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const call: FakeCall = {
      method: req.method ?? 'GET',
      path: url.pathname,
      status: 0,
      at: now(),
      query: Object.fromEntries(url.searchParams),
      headers: req.headers,
      body,
    };
    calls.push(call);
    const answer = (status: number, value: unknown, headers?: Record<string, string>) => {
      call.status = status;
      send(res, status, value, headers);
    };
    const f = failures.find((x) => x.n > 0 && (!x.path || x.path.test(url.pathname)));
    if (f) {
      f.n--;
      if (f.status === 'drop') {
        call.status = -1;
        req.socket.destroy();
        return;
      }
      return answer(
        f.status,
        { error: { code: 'Internal_ServerError', message: 'injected failure' } },
        f.status === 503 || f.status === 429 ? { 'retry-after': '1' } : {},
      );
    }
    try {
      if (url.pathname === `/${tenant}/oauth2/v2.0/token` || url.pathname.endsWith('/oauth2/v2.0/token'))
        return tokenEndpoint(url, body, answer);
      const prefix = `/v2.0/${tenant}/${environment}/api/v2.0`;
      authenticate(req);
      throttle();
      api.before?.(call.method, url.pathname);
      if (!url.pathname.startsWith(`${prefix}/`))
        throw new BcError(
          404,
          'BadRequest_NotFound',
          `No environment ${url.pathname.split('/')[3] ?? ''} or API at ${url.pathname}`,
        );
      inFlight++;
      try {
        if (inFlight > processing + queueMax)
          throw new BcError(429, 'Application_TooManyRequests', 'Too many requests in the queue.', {
            'retry-after': '1',
          });
        await slot();
        try {
          if (o.latencyMs) await new Promise((r) => setTimeout(r, o.latencyMs));
          const path = url.pathname.slice(prefix.length + 1);
          if (path === '$batch' && req.method === 'POST') {
            const r = runBatch(body, String(req.headers.isolation ?? '').toLowerCase() === 'snapshot');
            return answer(200, r);
          }
          const r = route(req.method ?? 'GET', path, url.searchParams, headerMap(req.headers), body);
          const value = (r.body as Obj | undefined)?.value;
          if (Array.isArray(value)) call.returned = value.length;
          return answer(r.status, r.body, r.headers);
        } finally {
          release();
        }
      } finally {
        inFlight--;
      }
    } catch (e) {
      if (e instanceof BcError) return answer(e.status, errorBody(e), e.headers);
      return answer(500, { error: { code: 'Internal_ServerError', message: String(e) } });
    }
  }

  function slot(): Promise<void> {
    if (active < processing) {
      active++;
      fake.peakProcessing = Math.max(fake.peakProcessing, active);
      return Promise.resolve();
    }
    return new Promise((r) =>
      waiting.push(() => {
        fake.peakProcessing = Math.max(fake.peakProcessing, active);
        r();
      }),
    );
  }
  function release(): void {
    const next = waiting.shift();
    if (next) next();
    else active--;
  }

  const headerMap = (h: IncomingMessage['headers']): Record<string, string> =>
    Object.fromEntries(
      Object.entries(h).map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v.join(',') : String(v ?? '')]),
    );

  function tokenEndpoint(url: URL, body: string, answer: (s: number, v: unknown) => void): void {
    const entra = (status: number, error: string, code: number, description: string) =>
      answer(status, {
        error,
        error_description: `AADSTS${code}: ${description}\r\nTrace ID: ${randomUUID()}\r\nCorrelation ID: ${randomUUID()}\r\nTimestamp: ${new Date(now()).toISOString().replace('T', ' ').slice(0, 19)}Z`,
        error_codes: [code],
        timestamp: new Date(now()).toISOString(),
        error_uri: `https://login.microsoftonline.com/error?code=${code}`,
      });
    if (url.pathname !== `/${tenant}/oauth2/v2.0/token`)
      return entra(400, 'invalid_request', 90002, `Tenant '${url.pathname.split('/')[1]}' not found.`);
    const form = new URLSearchParams(body);
    if (form.get('grant_type') !== 'client_credentials')
      return entra(400, 'unsupported_grant_type', 70003, 'The app requested an unsupported grant type.');
    if (form.get('client_id') !== clientId)
      return entra(
        400,
        'unauthorized_client',
        700016,
        `Application with identifier '${form.get('client_id')}' was not found in the directory.`,
      );
    if (!form.get('client_secret'))
      return entra(
        401,
        'invalid_client',
        7000218,
        "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
      );
    if (form.get('client_secret') !== clientSecret)
      return entra(
        401,
        'invalid_client',
        7000215,
        'Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.',
      );
    if (form.get('scope') !== SCOPE)
      return entra(
        400,
        'invalid_scope',
        70011,
        `The provided value for the input parameter 'scope' is not valid. The scope ${form.get('scope')} is not valid.`,
      );
    const ttl = o.tokenTtl ?? 3599;
    const token = `eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.${randomBytes(24).toString('base64url')}.${randomBytes(32).toString('base64url')}`;
    tokens.set(token, now() + ttl * 1000);
    fake.tokensIssued++;
    answer(200, { token_type: 'Bearer', expires_in: ttl, ext_expires_in: ttl, access_token: token });
  }

  function authenticate(req: IncomingMessage): void {
    const m = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''));
    const until = m ? tokens.get(m[1]) : undefined;
    if (!until || until <= now())
      throw new BcError(401, 'Authentication_InvalidCredentials', 'The server has rejected the client credentials.', {
        'www-authenticate': `Bearer authorization_uri="https://login.microsoftonline.com/${tenant}/oauth2/authorize"`,
      });
  }

  /** 6,000 requests per 5-minute sliding window: past it, 429 with the seconds until the oldest leaves it. */
  function throttle(): void {
    const t = now();
    while (stamps.length && stamps[0] <= t - windowLimit.ms) stamps.shift();
    if (stamps.length >= windowLimit.requests) {
      const wait = Math.max(1, Math.ceil((stamps[0] + windowLimit.ms - t) / 1000));
      throw new BcError(429, 'Application_TooManyRequests', 'Too many requests reached. Please try again later.', {
        'retry-after': String(wait),
      });
    }
    stamps.push(t);
  }

  // ---- routes -----------------------------------------------------------------------------------------------------

  interface Out {
    status: number;
    body?: unknown;
    headers?: Record<string, string>;
  }

  function route(method: string, path: string, q: URLSearchParams, headers: Record<string, string>, body: string): Out {
    const segs = segments(path);
    if (segs.length === 0 || segs[0].name !== 'companies')
      throw new BcError(404, 'BadRequest_NotFound', `The request URI is not valid: ${path}`);
    if (segs[0].key !== companyId)
      throw new BcError(404, 'BadRequest_NotFound', `The company ${segs[0].key} does not exist.`);
    if (segs.length === 1) {
      if (method !== 'GET')
        throw new BcError(405, 'BadRequest_MethodNotAllowed', `${method} is not allowed on a company.`);
      return {
        status: 200,
        body: {
          id: companyId,
          systemVersion: '25.0.23364.24876',
          name: 'CRONUS IE',
          displayName: 'Contoso Home & Living',
          businessProfileId: '',
        },
      };
    }
    const [top, sub] = [segs[1], segs[2]];
    if (!sets.has(top.name))
      throw new BcError(404, 'BadRequest_NotFound', `Resource not found for the segment '${top.name}'.`);
    if (segs.length > 3) throw new BcError(404, 'BadRequest_NotFound', `The request URI is not valid: ${path}`);
    // journals(id)/journalLines and <document>(id)/<lines>
    if (sub) {
      const parent = sets.get(top.name)!.get(top.key ?? '');
      if (!parent)
        throw new BcError(404, 'Internal_RecordNotFound', `The ${top.name} record ${top.key} does not exist.`);
      if (top.name === 'journals' && sub.name === 'journalLines')
        return journalLines(method, parent, sub.key, q, headers, body);
      if (LINES[top.name] === sub.name) return documentLines(method, top.name, parent, sub.key, headers, body);
      throw new BcError(404, 'BadRequest_NotFound', `Resource not found for the segment '${sub.name}'.`);
    }
    const set = top.name;
    if (top.key === undefined) {
      if (method === 'GET') return { status: 200, body: list(set, [...sets.get(set)!.values()], q, headers, path) };
      if (method === 'POST') return { status: 201, body: shown(set, create(set, parseBody(body)), q) };
      throw new BcError(405, 'BadRequest_MethodNotAllowed', `${method} is not allowed on ${set}.`);
    }
    const r = sets.get(set)!.get(top.key);
    if (!r)
      throw new BcError(
        404,
        'Internal_RecordNotFound',
        `The ${set} record ${top.key} does not exist. Identification fields and values: Id='${top.key}'`,
      );
    if (method === 'GET') return { status: 200, body: shown(set, r, q) };
    ifMatch(headers, r);
    if (method === 'PATCH') return { status: 200, body: shown(set, update(set, r, parseBody(body)), q) };
    if (method === 'DELETE') {
      del(set, r.id);
      for (const l of linesOf(set, r.id)) del('lines', l.id);
      return { status: 204 };
    }
    throw new BcError(405, 'BadRequest_MethodNotAllowed', `${method} is not allowed.`);
  }

  function ifMatch(headers: Record<string, string>, r: Obj): void {
    const m = headers['if-match'];
    if (!m)
      throw new BcError(
        400,
        'BadRequest_InvalidRequestUrl',
        'Could not save changes. The request must carry an If-Match header (an ETag, or *).',
      );
    if (m !== '*' && m !== r['@odata.etag'])
      throw new BcError(
        412,
        'Request_EntityChanged',
        'Could not save changes. Another user has already changed the record.',
      );
  }

  const parseBody = (text: string): Obj => {
    try {
      const v = JSON.parse(text);
      if (v && typeof v === 'object' && !Array.isArray(v)) return v;
    } catch {
      // refused below
    }
    throw new BcError(400, 'BadRequest', 'The request body is not a valid JSON object.');
  };

  const linesOf = (set: string, id: string): Obj[] => {
    const all = sets.get('lines')!;
    return [...(byDocument.get(id) ?? [])]
      .map((l) => all.get(l) as Obj)
      .filter((l) => l && l.set === set)
      .sort((a, b) => a.sequence - b.sequence);
  };

  const strip = (l: Obj): Obj => {
    const { set: _set, ...rest } = l;
    return rest;
  };

  function shown(set: string, r: Obj, q?: URLSearchParams): Obj {
    const expand = q?.get('$expand');
    if (
      expand &&
      LINES[set] &&
      expand
        .split(',')
        .map((x) => x.trim())
        .includes(LINES[set])
    )
      return { ...r, [LINES[set]]: linesOf(set, r.id).map(strip) };
    if (expand && expand !== LINES[set])
      throw new BcError(400, 'BadRequest_InvalidQuery', `Could not find a property named '${expand}' on ${set}.`);
    return r;
  }

  function list(set: string, all: Obj[], q: URLSearchParams, headers: Record<string, string>, path: string): Obj {
    let rows = all;
    const filter = q.get('$filter');
    if (filter) {
      const test = compileFilter(filter);
      rows = rows.filter(test);
    }
    const order = (q.get('$orderby') ?? 'id asc')
      .split(',')
      .map((x) => x.trim().split(/\s+/))
      .map(([f, d]) => ({ f, desc: (d ?? 'asc').toLowerCase() === 'desc' }));
    const cmp = (a: Obj, b: Obj) => {
      for (const { f, desc } of order) {
        const c = compare(a[f], b[f]);
        if (c) return desc ? -c : c;
      }
      return compare(a.id, b.id);
    };
    rows = [...rows].sort(cmp);
    const skip = q.get('$skiptoken');
    if (skip) {
      const after = JSON.parse(Buffer.from(skip, 'base64url').toString('utf8')) as Obj;
      rows = rows.filter((r) => cmp(r, after) > 0);
    }
    const top = q.get('$top');
    if (top) rows = rows.slice(0, Number(top));
    const m = /odata\.maxpagesize=(\d+)/.exec(headers.prefer ?? '');
    const size = Math.min(PAGE_MAX, m ? Math.max(1, Number(m[1])) : PAGE_MAX);
    const pageRows = rows.slice(0, size);
    const out: Obj = {
      '@odata.context': `${address()}/v2.0/${tenant}/${environment}/api/v2.0/$metadata#companies(${companyId})/${set}`,
      value: pageRows.map((r) => shown(set, r, q)),
    };
    if (rows.length > size && !top) {
      const last = pageRows[pageRows.length - 1];
      const next = new URLSearchParams(q);
      const keyOf: Obj = { id: last.id };
      for (const { f } of order) keyOf[f] = last[f];
      next.set('$skiptoken', Buffer.from(JSON.stringify(keyOf)).toString('base64url'));
      out['@odata.nextLink'] = `${address()}/v2.0/${tenant}/${environment}/api/v2.0/${path}?${next.toString()}`;
    }
    return out;
  }

  // ---- writes ---------------------------------------------------------------------------------------------------

  const READ_ONLY = ['id', 'number', '@odata.etag', 'lastModifiedDateTime', 'customerId', 'customerName', 'status'];

  function create(set: string, body: Obj): Obj {
    if (set === 'journals')
      throw new BcError(405, 'BadRequest_MethodNotAllowed', 'Journals are created in the client.');
    if (LINES[set]) return createDocument(set, body);
    if (set === 'customers' || set === 'items') {
      const number = String(body.number ?? '');
      if (!number)
        throw new BcError(
          400,
          'Application_FieldValidationException',
          `${set === 'items' ? 'Item' : 'Customer'} No. must have a value (no number series in this fake).`,
        );
      if (number.length > 20)
        throw new BcError(
          400,
          'Application_StringExceededLength',
          `The length of the string is ${number.length}, but it must be less than or equal to 20 characters. Value: ${number}`,
        );
      if ([...sets.get(set)!.values()].some((r) => r.number === number))
        throw new BcError(
          400,
          'Internal_EntityWithSameKeyExists',
          `The record already exists. Identification fields and values: No.='${number}'`,
        );
      const r = touched({ ...body, id: newId(), number: number.toUpperCase() });
      put(set, r);
      countCreate(set, r.number);
      return r;
    }
    throw new BcError(405, 'BadRequest_MethodNotAllowed', `POST is not allowed on ${set}.`);
  }

  function update(set: string, r: Obj, body: Obj): Obj {
    const next = { ...r };
    for (const [k, v] of Object.entries(body)) {
      if (k.startsWith('@odata') || READ_ONLY.includes(k)) {
        if (k === 'number' && v === r.number) continue;
        if (k.startsWith('@odata')) continue;
        throw new BcError(400, 'BadRequest_PropertyNotEditable', `The property '${k}' is read-only.`);
      }
      if (LINES[set] && k === LINES[set])
        throw new BcError(400, 'BadRequest', 'Lines are changed through their own entity set.');
      next[k] = v;
    }
    if (LINES[set]) validateHeader(next);
    const t = touched(next);
    put(set, t);
    return t;
  }

  function validateHeader(h: Obj): void {
    const customer = [...sets.get('customers')!.values()].find((c) => c.number === h.customerNumber);
    if (!customer)
      throw new BcError(
        400,
        'Internal_RecordNotFound',
        `The Customer does not exist. Identification fields and values: No.='${h.customerNumber ?? ''}'`,
      );
    const ext = String(h.externalDocumentNumber ?? '');
    if (ext.length > 35)
      throw new BcError(
        400,
        'Application_StringExceededLength',
        `The length of the string is ${ext.length}, but it must be less than or equal to 35 characters. Value: ${ext}`,
      );
    h.customerId = customer.id;
    h.customerName = customer.displayName;
  }

  function createDocument(set: string, body: Obj): Obj {
    const { [LINES[set]]: lines, ...header } = body;
    for (const k of Object.keys(header))
      if (READ_ONLY.includes(k))
        throw new BcError(400, 'BadRequest_PropertyNotEditable', `The property '${k}' is read-only.`);
    const h: Obj = { ...header, id: newId(), number: `${NUMBER_PREFIX[set]}${++serial}`, status: 'Draft' };
    h.externalDocumentNumber ??= '';
    validateHeader(h);
    const doc = touched(h);
    put(set, doc);
    for (const [n, l] of (Array.isArray(lines) ? lines : []).entries()) addLine(set, doc.id, l, (n + 1) * 10000);
    countCreate(set, doc.externalDocumentNumber);
    return doc;
  }

  function addLine(set: string, documentId: string, l: Obj, sequence: number): Obj {
    if (l.lineType === 'Item') {
      const item = [...sets.get('items')!.values()].find((i) => i.number === l.lineObjectNumber);
      if (!item)
        throw new BcError(
          400,
          'Internal_RecordNotFound',
          `The Item does not exist. Identification fields and values: No.='${l.lineObjectNumber ?? ''}'`,
        );
      l = { ...l, itemId: item.id, description: l.description ?? item.displayName };
    } else if (l.lineType === 'Account') {
      if (!accounts.has(String(l.lineObjectNumber)))
        throw new BcError(
          400,
          'Internal_RecordNotFound',
          `The G/L Account does not exist. Identification fields and values: No.='${l.lineObjectNumber ?? ''}'`,
        );
    } else if (l.lineType !== 'Comment') {
      throw new BcError(
        400,
        'BadRequest_InvalidToken',
        `Cannot convert the literal '${l.lineType}' to the expected type 'Microsoft.NAV.salesLineType'.`,
      );
    }
    for (const k of ['quantity', 'unitPrice', 'discountAmount'])
      if (l[k] !== undefined && typeof l[k] !== 'number')
        throw new BcError(
          400,
          'BadRequest_InvalidToken',
          `Cannot convert the literal '${l[k]}' to the expected type 'Edm.Decimal'.`,
        );
    const line = { '@odata.etag': etag(), id: newId(), documentId, sequence, discountAmount: 0, ...l, set };
    put('lines', line);
    return line;
  }

  function documentLines(
    method: string,
    set: string,
    doc: Obj,
    key: string | undefined,
    headers: Record<string, string>,
    body: string,
  ): Out {
    if (key === undefined) {
      if (method === 'GET') return { status: 200, body: { value: linesOf(set, doc.id).map(strip) } };
      if (method === 'POST') {
        const seq = (linesOf(set, doc.id).at(-1)?.sequence ?? 0) + 10000;
        const line = addLine(set, doc.id, parseBody(body), seq);
        put(set, touched(doc));
        return { status: 201, body: strip(line) };
      }
    } else {
      const line = sets.get('lines')!.get(key);
      if (!line || line.documentId !== doc.id)
        throw new BcError(404, 'Internal_RecordNotFound', `The line ${key} does not exist.`);
      if (method === 'GET') return { status: 200, body: strip(line) };
      ifMatch(headers, line);
      if (method === 'DELETE') {
        del('lines', key);
        put(set, touched(doc));
        return { status: 204 };
      }
      if (method === 'PATCH') {
        const next = { ...line, ...parseBody(body), '@odata.etag': etag() };
        put('lines', next);
        put(set, touched(doc));
        return { status: 200, body: strip(next) };
      }
    }
    throw new BcError(405, 'BadRequest_MethodNotAllowed', `${method} is not allowed on lines.`);
  }

  function journalLines(
    method: string,
    journal: Obj,
    key: string | undefined,
    q: URLSearchParams,
    headers: Record<string, string>,
    body: string,
  ): Out {
    const mine = () => [...sets.get('journalLines')!.values()].filter((l) => l.journalId === journal.id);
    if (key === undefined) {
      if (method === 'GET')
        return {
          status: 200,
          body: list(
            'journalLines',
            mine(),
            q,
            headers,
            `companies(${companyId})/journals(${journal.id})/journalLines`,
          ),
        };
      if (method === 'POST') {
        const l = parseBody(body);
        if (!accounts.has(String(l.accountNumber)))
          throw new BcError(
            400,
            'Internal_RecordNotFound',
            `The G/L Account does not exist. Identification fields and values: No.='${l.accountNumber ?? ''}'`,
          );
        if (typeof l.amount !== 'number')
          throw new BcError(
            400,
            'BadRequest_InvalidToken',
            `Cannot convert the literal '${l.amount}' to the expected type 'Edm.Decimal'.`,
          );
        const lineNumber = Math.max(0, ...mine().map((x) => x.lineNumber)) + 10000;
        const r = touched({
          ...l,
          id: newId(),
          journalId: journal.id,
          journalDisplayName: journal.code,
          lineNumber,
        });
        put('journalLines', r);
        countCreate('journalLines', String(r.documentNumber ?? ''));
        return { status: 201, body: r };
      }
    } else {
      const r = sets.get('journalLines')!.get(key);
      if (!r || r.journalId !== journal.id)
        throw new BcError(404, 'Internal_RecordNotFound', `The journal line ${key} does not exist.`);
      if (method === 'GET') return { status: 200, body: r };
      ifMatch(headers, r);
      if (method === 'DELETE') {
        del('journalLines', key);
        return { status: 204 };
      }
      if (method === 'PATCH') {
        const t = touched({ ...r, ...parseBody(body) });
        put('journalLines', t);
        return { status: 200, body: t };
      }
    }
    throw new BcError(405, 'BadRequest_MethodNotAllowed', `${method} is not allowed on journal lines.`);
  }

  // ---- $batch -----------------------------------------------------------------------------------------------------

  function runBatch(text: string, atomic: boolean): Obj {
    const b = parseBody(text);
    const requests: Obj[] = Array.isArray(b.requests) ? b.requests : [];
    if (requests.length === 0) throw new BcError(400, 'BadRequest', 'The batch request holds no requests.');
    if (requests.length > BATCH_MAX)
      throw new BcError(
        400,
        'BadRequest',
        `The batch request holds ${requests.length} operations; at most ${BATCH_MAX} are allowed.`,
      );
    const responses: Obj[] = [];
    const log: (() => void)[] = [];
    undo = atomic ? log : null;
    try {
      for (const r of requests) {
        const u = new URL(String(r.url ?? ''), `http://127.0.0.1/v2.0/${tenant}/${environment}/api/v2.0/`);
        const path = u.pathname.replace(`/v2.0/${tenant}/${environment}/api/v2.0/`, '');
        const headers = Object.fromEntries(
          Object.entries(r.headers ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)]),
        );
        try {
          const body = r.body === undefined ? '' : JSON.stringify(r.body);
          const out = route(String(r.method ?? 'GET').toUpperCase(), path, u.searchParams, headers, body);
          responses.push({
            id: r.id,
            status: out.status,
            headers: { 'content-type': 'application/json' },
            ...(out.body !== undefined ? { body: out.body } : {}),
          });
        } catch (e) {
          if (!(e instanceof BcError)) throw e;
          responses.push({
            id: r.id,
            status: e.status,
            headers: { 'content-type': 'application/json' },
            body: errorBody(e),
          });
          if (atomic) {
            // One transaction: every change of the batch is reverted, as if it never happened.
            for (const u of log.reverse()) u();
            return { responses };
          }
        }
      }
      return { responses };
    } finally {
      undo = null;
    }
  }

  let base = '';
  const address = () => base;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const api: FakeBusinessCentral = {
    url: base,
    calls,
    get tokensIssued() {
      return fake.tokensIssued;
    },
    creates,
    get peakProcessing() {
      return fake.peakProcessing;
    },
    seed(x) {
      for (const i of x.items ?? [])
        put('items', { '@odata.etag': etag(), lastModifiedDateTime: stampTime(), id: newId(), ...i });
      for (const c of x.customers ?? [])
        put('customers', { '@odata.etag': etag(), lastModifiedDateTime: stampTime(), id: newId(), ...c });
    },
    records(set) {
      return [...sets.get(set)!.values()]
        .sort((a, b) => compare(a.id, b.id))
        .map((r) => shown(set, r, new URLSearchParams(LINES[set] ? { $expand: LINES[set] } : {})));
    },
    tamper(set, id, change) {
      const target = set === 'lines' ? sets.get('lines')!.get(id) : sets.get(set)?.get(id);
      if (!target) throw new Error(`no ${set} ${id}`);
      const next = structuredClone(target);
      change(next);
      put(set === 'lines' ? 'lines' : set, set === 'lines' ? { ...next, '@odata.etag': etag() } : touched(next));
    },
    remove(set, id) {
      del(set, id);
      for (const l of linesOf(set, id)) del('lines', l.id);
    },
    fail(n, status, path) {
      failures.push({ n, status, path });
    },
    revokeTokens() {
      tokens.clear();
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
  return api;
}

/** companies(x)/salesOrders(y)/salesOrderLines → [{ name, key }] (keys unquoted). */
function segments(path: string): { name: string; key?: string }[] {
  return path
    .split('/')
    .filter(Boolean)
    .map((seg) => {
      const m = /^([A-Za-z]+)(?:\((.*)\))?$/.exec(decodeURIComponent(seg));
      if (!m) throw new BcError(404, 'BadRequest_NotFound', `The request URI is not valid: ${seg}`);
      return { name: m[1], key: m[2]?.replace(/^'(.*)'$/, '$1') };
    });
}

function compare(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === undefined || a === null) return -1;
  if (b === undefined || b === null) return 1;
  if (typeof a === 'string' && typeof b === 'string' && DATETIME.test(a) && DATETIME.test(b))
    return Date.parse(a) - Date.parse(b) || (a < b ? -1 : 1);
  return a < b ? -1 : 1;
}

// ---- $filter: a small OData expression parser ------------------------------------------------------------------------

type Pred = (r: Obj) => boolean;

/** Compiles a $filter; an `or` of equalities on one field (the key lookups) becomes a set. */
export function compileFilter(text: string): Pred {
  const tokens = [
    ...text.matchAll(
      /\s*('(?:[^']|'')*'|\(|\)|[A-Za-z_][\w.@]*|-?\d{4}-\d{2}-\d{2}T[\d:.]+(?:Z|[+-]\d{2}:\d{2})|-?\d+(?:\.\d+)?|[0-9a-fA-F-]{36})/gy,
    ),
  ].map((m) => m[1]);
  const rebuilt = tokens.join('').replace(/\s/g, '');
  if (rebuilt !== text.replace(/\s/g, ''))
    throw new BcError(400, 'BadRequest_InvalidQuery', `Syntax error in $filter: ${text}`);
  let i = 0;
  const peek = () => tokens[i];
  const next = () => tokens[i++];
  type Node = { op: 'and' | 'or'; kids: Node[] } | { field: string; cmp: string; value: unknown };
  function expr(): Node {
    const kids = [conj()];
    while (peek()?.toLowerCase() === 'or') {
      next();
      kids.push(conj());
    }
    return kids.length === 1 ? kids[0] : { op: 'or', kids };
  }
  function conj(): Node {
    const kids = [term()];
    while (peek()?.toLowerCase() === 'and') {
      next();
      kids.push(term());
    }
    return kids.length === 1 ? kids[0] : { op: 'and', kids };
  }
  function term(): Node {
    if (peek() === '(') {
      next();
      const e = expr();
      if (next() !== ')')
        throw new BcError(400, 'BadRequest_InvalidQuery', `Syntax error in $filter: ')' expected: ${text}`);
      return e;
    }
    const field = next();
    const cmp = next()?.toLowerCase();
    const lit = next();
    if (!field || !cmp || lit === undefined || !['eq', 'ne', 'gt', 'ge', 'lt', 'le'].includes(cmp))
      throw new BcError(400, 'BadRequest_InvalidQuery', `Syntax error in $filter: ${text}`);
    let value: unknown;
    if (lit.startsWith("'")) value = lit.slice(1, -1).replace(/''/g, "'");
    else if (lit === 'true' || lit === 'false') value = lit === 'true';
    else if (DATETIME.test(lit)) value = lit;
    else if (/^-?\d+(\.\d+)?$/.test(lit)) value = Number(lit);
    else if (/^[0-9a-fA-F-]{36}$/.test(lit)) value = lit;
    else throw new BcError(400, 'BadRequest_InvalidQuery', `Syntax error in $filter: unknown literal ${lit}`);
    return { field, cmp, value };
  }
  const tree = expr();
  if (i !== tokens.length) throw new BcError(400, 'BadRequest_InvalidQuery', `Syntax error in $filter: ${text}`);
  function build(n: Node): Pred {
    if ('op' in n) {
      if (
        n.op === 'or' &&
        n.kids.every((k) => 'cmp' in k && k.cmp === 'eq' && k.field === (n.kids[0] as { field: string }).field)
      ) {
        const field = (n.kids[0] as { field: string }).field;
        const values = new Set(n.kids.map((k) => (k as { value: unknown }).value));
        return (r) => values.has(r[field]);
      }
      const kids = n.kids.map(build);
      return n.op === 'and' ? (r) => kids.every((k) => k(r)) : (r) => kids.some((k) => k(r));
    }
    const { field, cmp, value } = n;
    return (r) => {
      const c = compare(r[field], value);
      switch (cmp) {
        case 'eq':
          return r[field] === value || (c === 0 && r[field] !== undefined);
        case 'ne':
          return !(r[field] === value || c === 0);
        case 'gt':
          return c > 0;
        case 'ge':
          return c >= 0;
        case 'lt':
          return c < 0;
        default:
          return c <= 0;
      }
    };
  }
  return build(tree);
}
