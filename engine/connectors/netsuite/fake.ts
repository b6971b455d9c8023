/**
 * A fake NetSuite account's REST web services, on 127.0.0.1, for the connector's tests, the crash run and the
 * benchmark: what the netsuite connector calls, as NetSuite documents it.
 *
 * - Token-based authentication, verified exactly: `Authorization: OAuth realm="<ACCOUNT>", oauth_consumer_key, oauth_token,
 *   oauth_nonce, oauth_timestamp, oauth_signature_method="HMAC-SHA256", oauth_version="1.0", oauth_signature`; the
 *   signature recomputed here over RFC 5849 §3.4.1's base string (method, base URI, the oauth_* and query parameters
 *   percent-encoded and sorted; realm and the JSON body not in it) with key consumerSecret&tokenSecret — an
 *   implementation of its own, not the connector's library. A wrong key, secret, token, signature, realm or method,
 *   a timestamp more than 5 minutes off, or a nonce used before, is 401 INVALID_LOGIN.
 *   https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_1534941295.html (The Authorization Headers),
 *   https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_1530099787.html (RFC 5849 encoding).
 * - OAuth 2.0 client credentials: POST /services/rest/auth/oauth2/v1/token with grant_type=client_credentials,
 *   client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer and a client_assertion JWT whose
 *   header is typ JWT, alg PS256…ES512, kid the certificate id, payload iss the client id, scope with
 *   rest_webservices, aud this token endpoint, exp at most 60 minutes after iat; verified with the certificate's
 *   public key (jose). Answers { access_token, expires_in: "3600", token_type: "bearer" }; a bad assertion is 401
 *   invalid_client. Bearer tokens are checked on every request.
 *   https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_162790605110.html,
 *   https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_162755359851.html.
 * - Upsert: PUT /services/rest/record/v1/<type>/eid:<externalId> creates the record when none of its type has the
 *   external id, else updates it in place; 204 with Location: …/record/v1/<type>/<internal id>. With
 *   `replace=<sublist>` the sublist's lines are replaced; without, the lines sent are added to the record's (this
 *   fake's stand-in for NetSuite merging lines, which never removes them). References must exist (an unknown item
 *   is 400 INVALID_KEY_OR_REF). External ids: letters, digits, _ and -.
 *   https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_156335203191.html (Using the Upsert Operation),
 *   https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_156334828635.html (Using External IDs),
 *   https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_1545141395.html (204 and Location).
 * - GET /services/rest/record/v1/<type>/<id>[?expandSubResources=true]: the record, references as { id, refName },
 *   sublists as { items } when expanded; 404 NONEXISTENT_ID when gone.
 * - SuiteQL: POST /services/rest/query/v1/suiteql?limit&offset, `Prefer: transient` required, `{ q }`; pages of at
 *   most 1,000 rows, at most 100,000 rows a query (offset + limit past it is 400); `{ links, count, hasMore, items,
 *   offset, totalResults }`, values as text, null columns left out. The fake is no SQL engine: it answers the query
 *   shapes the connector sends (its streams, lookups by IN lists, the company's name) and refuses anything else with
 *   400 INVALID_PARAMETER, as NetSuite refuses a query it cannot parse.
 *   https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_157909186990.html,
 *   https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_156414087576.html (Collection Paging).
 * - Concurrency governance: more than `accountLimit` requests in flight at once are refused with 429 and
 *   CONCURRENCY_LIMIT_EXCEEDED (the account's limit, shared by every integration);
 *   https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/subsect_1559222360.html. `throttle(n)` refuses the
 *   next n requests so, with a Retry-After when asked.
 * - Record metadata: GET /services/rest/record/v1/metadata-catalog/<type> with `Accept: application/schema+json`
 *   answers the record type's JSON Schema (draft 06 hyper-schema): `{ type: "object", properties: { <field>: { title,
 *   type, format?, nullable, "x-ns-custom-field"? } } }`, custom fields (`customField`) among the standard ones, as
 *   https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_1545129726.html (Working with JSON Schema
 *   Metadata) and section_1540810174.html (Getting Metadata) show it. Another Accept is 400 (the fake describes no
 *   OpenAPI). A mandatory custom field is shown `nullable: false` — NetSuite documents `nullable` on each field, not
 *   how mandatory fields show, so this is the fake's reading — and a record saved without one is refused with 400
 *   USER_ERROR "Please enter value(s) for: <title>", NetSuite's message for a missing mandatory field.
 * - Errors: `{ type, title, status, "o:errorDetails": [{ detail, "o:errorCode" }] }`,
 *   https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_156570709583.html.
 */
import { createHmac, generateKeyPairSync, randomBytes, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { importSPKI, decodeProtectedHeader, jwtVerify } from 'jose';

// biome-ignore lint/suspicious/noExplicitAny: records as JSON
type Obj = Record<string, any>;

export interface FakeNetSuiteOptions {
  accountId?: string;
  /** Requests in flight at once before 429 CONCURRENCY_LIMIT_EXCEEDED (default 15: a Tier 1 account, no SC+). */
  accountLimit?: number;
  /** How long each request takes (ms), so that requests overlap as they do against NetSuite. */
  latencyMs?: number;
  /** SuiteQL's caps (tests lower the query cap to see windows split below it). */
  pageCap?: number;
  queryCap?: number;
  now?: () => number;
}

export interface FakeNetSuite {
  url: string;
  accountId: string;
  tba: { consumerKey: string; consumerSecret: string; tokenId: string; tokenSecret: string };
  m2m: { clientId: string; certificateId: string; privateKey: string };
  /** Records by type, then internal id. */
  records: Map<string, Map<string, Obj>>;
  /** Records created (not updated) by type: a repeat that created a second record shows here. */
  creates: Map<string, number>;
  updates: Map<string, number>;
  stats: {
    requests: number;
    inFlight: number;
    maxInFlight: number;
    rejected: number;
    unauthorized: number;
    tokens: number;
  };
  /** Items (inventory items, the REST record's shape), created now unless lastModifiedDate is given. */
  seedItems(items: Obj[]): string[];
  seedInventory(
    rows: {
      item: string;
      location: string;
      locationname?: string;
      quantityavailable?: string;
      quantityonhand?: string;
      lastModifiedDate: string;
    }[],
  ): void;
  seedCustomers(customers: Obj[]): string[];
  seedAccounts(accounts: { acctnumber: string }[]): string[];
  /** Change a record behind rsync's back (xref verify's drift). */
  tamper(type: string, id: string, patch: Obj): void;
  /** Delete a record behind rsync's back. */
  remove(type: string, id: string): void;
  /**
   * An account administrator adds (or changes) a custom field of a record type — `custbody_channel` on salesOrder —
   * or removes it (null): the metadata catalogue shows it, and a mandatory one must be given on every save.
   */
  customField(type: string, id: string, field: { title: string; type?: string; mandatory?: boolean } | null): void;
  /** Refuse the next `n` requests with 429 CONCURRENCY_LIMIT_EXCEEDED (Retry-After seconds when given). */
  throttle(n: number, retryAfterS?: number): void;
  /** Every SuiteQL query received, in order. */
  queries: string[];
  close(): Promise<void>;
}

const REFS = new Set(['entity', 'subsidiary', 'location', 'item', 'account', 'class', 'currency', 'weightUnit']);
const TYPES = new Set([
  'salesOrder',
  'cashSale',
  'creditMemo',
  'customer',
  'journalEntry',
  'deposit',
  'customerDeposit',
  'customerRefund',
  'inventoryItem',
]);
const SUBLISTS = ['item', 'line', 'other', 'cashBack'];

/** The standard fields the metadata catalogue lists for every type here (the fake's own subset of NetSuite's). */
const STANDARD: Record<string, { title: string; type: string; format?: string }> = {
  id: { title: 'Internal ID', type: 'string' },
  externalId: { title: 'External ID', type: 'string' },
  createdDate: { title: 'Date Created', type: 'string', format: 'date-time' },
  lastModifiedDate: { title: 'Last Modified', type: 'string', format: 'date-time' },
  entity: { title: 'Customer', type: 'object' },
  customer: { title: 'Customer', type: 'object' },
  tranDate: { title: 'Date', type: 'string', format: 'date' },
  otherRefNum: { title: 'PO/Check Number', type: 'string' },
  memo: { title: 'Memo', type: 'string' },
  subsidiary: { title: 'Subsidiary', type: 'object' },
  location: { title: 'Location', type: 'object' },
  currency: { title: 'Currency', type: 'object' },
  shippingCost: { title: 'Shipping Cost', type: 'number', format: 'double' },
  ...Object.fromEntries(SUBLISTS.map((l) => [l, { title: l, type: 'object' }])),
};

export async function startFakeNetSuite(o: FakeNetSuiteOptions = {}): Promise<FakeNetSuite> {
  const accountId = o.accountId ?? '1234567_SB1';
  const now = o.now ?? Date.now;
  const pageCap = o.pageCap ?? 1000;
  const queryCap = o.queryCap ?? 100_000;
  const accountLimit = o.accountLimit ?? 15;
  const hex = (n: number) => randomBytes(n).toString('hex');
  const tba = { consumerKey: hex(32), consumerSecret: hex(32), tokenId: hex(32), tokenSecret: hex(32) };
  const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const m2m = {
    clientId: hex(32),
    certificateId: `cert-${hex(8)}`,
    privateKey: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
  const publicPem = keys.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const records = new Map<string, Map<string, Obj>>([...TYPES].map((t) => [t, new Map()]));
  const byEid = new Map<string, string>();
  const creates = new Map<string, number>();
  const custom = new Map<string, Map<string, { title: string; type: string; mandatory: boolean }>>();
  const updates = new Map<string, number>();
  const inventory: Obj[] = [];
  const accounts = new Map<string, string>();
  const nonces = new Set<string>();
  const tokens = new Map<string, number>();
  const queries: string[] = [];
  const stats = { requests: 0, inFlight: 0, maxInFlight: 0, rejected: 0, unauthorized: 0, tokens: 0 };
  let throttled = 0;
  let throttleRetry: number | undefined;
  let nextId = 1000;
  let base = '';

  const iso = (t: number) => new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const problem = (status: number, title: string, code: string, detail: string) => ({
    status,
    body: {
      type: `https://www.rfc-editor.org/rfc/rfc9110.html#section-15.${status >= 500 ? 6 : 5}.${status === 429 ? 30 : 1}`,
      title,
      status,
      'o:errorDetails': [{ detail, 'o:errorCode': code }],
    },
  });
  const unauthorized = () => {
    stats.unauthorized++;
    return problem(
      401,
      'Unauthorized',
      'INVALID_LOGIN',
      'Invalid login attempt. For more details, see the Login Audit Trail in the NetSuite UI at Setup > Users/Roles > User Management > View Login Audit Trail.',
    );
  };

  // ---- auth ---------------------------------------------------------------------------------------------------

  /** RFC 3986 percent-encoding, as RFC 5849 §3.6 asks. */
  const enc = (s: string) =>
    encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

  function verifyTba(req: http.IncomingMessage, header: string): boolean {
    const params = new Map<string, string>();
    for (const m of header.slice(6).matchAll(/([A-Za-z_]+)="([^"]*)"/g)) params.set(m[1], decodeURIComponent(m[2]));
    if (params.get('realm') !== accountId) return false;
    if (params.get('oauth_signature_method') !== 'HMAC-SHA256' || params.get('oauth_version') !== '1.0') return false;
    if (params.get('oauth_consumer_key') !== tba.consumerKey || params.get('oauth_token') !== tba.tokenId) return false;
    const ts = Number(params.get('oauth_timestamp'));
    if (!Number.isFinite(ts) || Math.abs(ts * 1000 - now()) > 300_000) return false;
    const nonce = `${ts}:${params.get('oauth_nonce')}`;
    if (!params.get('oauth_nonce') || nonces.has(nonce)) return false;
    const u = new URL(req.url ?? '/', `http://${req.headers.host}`);
    const pairs: [string, string][] = [];
    for (const [k, v] of params) if (k !== 'realm' && k !== 'oauth_signature') pairs.push([enc(k), enc(v)]);
    for (const [k, v] of u.searchParams) pairs.push([enc(k), enc(v)]);
    pairs.sort((a, b) => (a[0] === b[0] ? (a[1] < b[1] ? -1 : 1) : a[0] < b[0] ? -1 : 1));
    const baseUri = `${u.protocol}//${u.host.toLowerCase()}${u.pathname}`;
    const text = [req.method!.toUpperCase(), enc(baseUri), enc(pairs.map(([k, v]) => `${k}=${v}`).join('&'))].join('&');
    const want = createHmac('sha256', `${enc(tba.consumerSecret)}&${enc(tba.tokenSecret)}`)
      .update(text)
      .digest();
    const got = Buffer.from(params.get('oauth_signature') ?? '', 'base64');
    if (got.length !== want.length || !timingSafeEqual(got, want)) return false;
    nonces.add(nonce);
    return true;
  }

  async function token(body: string): Promise<{ status: number; body: Obj }> {
    const f = new URLSearchParams(body);
    const refuse = (error: string) => ({ status: error === 'invalid_client' ? 401 : 400, body: { error } });
    if (f.get('grant_type') !== 'client_credentials') return refuse('unsupported_grant_type');
    if (f.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer')
      return refuse('invalid_request');
    const assertion = f.get('client_assertion') ?? '';
    try {
      const h = decodeProtectedHeader(assertion);
      if (h.typ !== 'JWT' || h.kid !== m2m.certificateId) return refuse('invalid_client');
      const alg = String(h.alg);
      const { payload } = await jwtVerify(assertion, await importSPKI(publicPem, alg), {
        algorithms: ['PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512'],
        issuer: m2m.clientId,
        audience: `${base}/services/rest/auth/oauth2/v1/token`,
        currentDate: new Date(now()),
      });
      if (typeof payload.iat !== 'number' || typeof payload.exp !== 'number' || payload.exp - payload.iat > 3600)
        return refuse('invalid_request');
      const scope = Array.isArray(payload.scope) ? payload.scope : String(payload.scope ?? '').split(',');
      if (!scope.map((s) => String(s).trim()).includes('rest_webservices')) return refuse('invalid_scope');
    } catch {
      return refuse('invalid_client');
    }
    const value = hex(48);
    tokens.set(value, now() + 3_600_000);
    stats.tokens++;
    return { status: 200, body: { access_token: value, expires_in: '3600', token_type: 'bearer' } };
  }

  function authorised(req: http.IncomingMessage): boolean {
    const h = req.headers.authorization ?? '';
    if (h.startsWith('OAuth ')) return verifyTba(req, h);
    if (h.startsWith('Bearer ')) {
      const until = tokens.get(h.slice(7));
      return until !== undefined && until > now();
    }
    return false;
  }

  // ---- records ------------------------------------------------------------------------------------------------

  const store = (type: string) => {
    const m = records.get(type);
    if (!m) throw new Error(`unknown type ${type}`);
    return m;
  };

  function checkRefs(type: string, body: Obj): string | undefined {
    const items = store('inventoryItem');
    for (const sub of SUBLISTS) {
      for (const line of body[sub]?.items ?? []) {
        if (line.item && !items.has(String(line.item.id))) return `Invalid item reference key ${line.item.id}.`;
      }
    }
    // Customer deposits and refunds name their customer in `customer`, sales transactions in `entity`.
    if ((type === 'customerDeposit' || type === 'customerRefund') && !body.customer)
      return 'Please enter value(s) for: Customer';
    if (
      type !== 'customer' &&
      type !== 'inventoryItem' &&
      type !== 'journalEntry' &&
      type !== 'deposit' &&
      type !== 'customerDeposit' &&
      type !== 'customerRefund' &&
      !body.entity
    )
      return 'Please enter value(s) for: Customer';
    return undefined;
  }

  function upsert(
    type: string,
    eid: string,
    body: Obj,
    replace: string[],
  ): { status: number; body?: Obj; id?: string } {
    if (!/^[A-Za-z0-9_-]+$/.test(eid))
      return problem(
        400,
        'Bad Request',
        'INVALID_ID',
        `The external ID ${eid} contains characters that are not allowed.`,
      );
    if (body.externalId !== undefined && body.externalId !== eid)
      return problem(
        400,
        'Bad Request',
        'INVALID_VALUE',
        'The external ID in the request body does not match the URL.',
      );
    const had = byEid.get(`${type}\n${eid}`);
    const before = had === undefined ? undefined : records.get(type)?.get(had);
    const missing = [...(custom.get(type)?.entries() ?? [])].find(
      ([f, c]) => c.mandatory && (body[f] ?? before?.[f]) == null,
    );
    if (missing) return problem(400, 'Bad Request', 'USER_ERROR', `Please enter value(s) for: ${missing[1].title}`);
    const bad = checkRefs(type, body);
    if (bad) return problem(400, 'Bad Request', bad.startsWith('Invalid') ? 'INVALID_KEY_OR_REF' : 'USER_ERROR', bad);
    const m = store(type);
    const k = `${type}\n${eid}`;
    const at = iso(now());
    const existing = byEid.get(k);
    if (existing === undefined || !m.has(existing)) {
      const id = String(nextId++);
      m.set(id, { ...structuredClone(body), id, externalId: eid, createdDate: at, lastModifiedDate: at });
      byEid.set(k, id);
      creates.set(type, (creates.get(type) ?? 0) + 1);
      if (type === 'inventoryItem') m.get(id)!.itemType = { id: 'InvtPart', refName: 'Inventory Item' };
      return { status: 204, id };
    }
    const r = m.get(existing)!;
    for (const [f, v] of Object.entries(structuredClone(body))) {
      if (SUBLISTS.includes(f) && v && typeof v === 'object' && !replace.includes(f))
        r[f] = { items: [...(r[f]?.items ?? []), ...((v as Obj).items ?? [])] };
      else r[f] = v;
    }
    r.lastModifiedDate = at;
    updates.set(type, (updates.get(type) ?? 0) + 1);
    return { status: 204, id: existing };
  }

  const asRef = (v: Obj) => ({ id: String(v.id), ...(v.refName ? { refName: v.refName } : {}), links: [] });

  function shown(type: string, r: Obj, expand: boolean): Obj {
    const out: Obj = { links: [{ rel: 'self', href: `${base}/services/rest/record/v1/${type}/${r.id}` }] };
    for (const [k, v] of Object.entries(r)) {
      if (SUBLISTS.includes(k) && v && typeof v === 'object') {
        const link = [{ rel: 'self', href: `${base}/services/rest/record/v1/${type}/${r.id}/${k}` }];
        out[k] = expand
          ? {
              links: link,
              items: ((v as Obj).items ?? []).map((l: Obj) => {
                const line: Obj = { links: [] };
                for (const [lk, lv] of Object.entries(l))
                  line[lk] = REFS.has(lk) && lv && typeof lv === 'object' ? asRef(lv as Obj) : lv;
                return line;
              }),
            }
          : { links: link };
      } else if (REFS.has(k) && v && typeof v === 'object') out[k] = asRef(v as Obj);
      else out[k] = v;
    }
    return out;
  }

  // ---- SuiteQL ------------------------------------------------------------------------------------------------

  const parseTs = (lit: string) => Date.parse(lit.replace(' ', 'T').replace(/ \+00:00$/, 'Z'));
  const text = (v: unknown) => (v === undefined || v === null || v === '' ? undefined : String(v));
  const tf = (v: unknown) => (v === true ? 'T' : 'F');

  /** The rows a query asks for, or undefined when it is not a shape this fake answers. */
  function rowsOf(q: string): Obj[] | undefined {
    if (/FROM companyinformation/i.test(q)) return [{ companyname: 'Acme Retail (sandbox)' }];
    const lookup = /^SELECT id, (\w+) AS v FROM (\w+) WHERE \1 IN \((.*)\) ORDER BY id$/s.exec(q);
    if (lookup) {
      const wanted = new Set([...lookup[3].matchAll(/'((?:[^']|'')*)'/g)].map((m) => m[1].replace(/''/g, "'")));
      if (lookup[2] === 'item')
        return [...store('inventoryItem').values()]
          .filter((i) => wanted.has(i.itemId))
          .map((i) => ({ id: i.id, v: i.itemId }))
          .sort((a, b) => Number(a.id) - Number(b.id));
      if (lookup[2] === 'account') return [...accounts].filter(([n]) => wanted.has(n)).map(([n, id]) => ({ id, v: n }));
      return undefined;
    }
    let rows: Obj[];
    let keys: string[];
    let dateCol: string;
    if (/ FROM item WHERE| FROM item .* item\.itemtype = 'InvtPart'/s.test(q) && !/inventoryitemlocations/.test(q)) {
      dateCol = 'item.lastmodifieddate';
      keys = ['item.id'];
      rows = [...store('inventoryItem').values()].map((i) => ({
        _t: Date.parse(i.lastModifiedDate),
        'item.id': Number(i.id),
        id: i.id,
        itemid: text(i.itemId),
        displayname: text(i.displayName),
        storedisplayname: text(i.storeDisplayName),
        salesdescription: text(i.salesDescription),
        upccode: text(i.upcCode),
        manufacturer: text(i.manufacturer),
        isinactive: tf(i.isInactive),
        isonline: tf(i.isOnline),
        class: text(i.class?.id),
        classname: text(i.class?.refName),
        weight: text(i.weight),
        weightunit: text(i.weightUnit?.refName),
        baseprice: text(i.basePrice),
        created_utc: i.createdDate,
        lmd_utc: i.lastModifiedDate,
      }));
    } else if (/FROM inventoryitemlocations iil JOIN item/.test(q)) {
      dateCol = 'iil.lastmodifieddate';
      keys = ['iil.item', 'iil.location'];
      const items = store('inventoryItem');
      rows = inventory.map((r) => ({
        _t: Date.parse(r.lastModifiedDate),
        'iil.item': Number(r.item),
        'iil.location': Number(r.location),
        item: r.item,
        sku: text(items.get(r.item)?.itemId),
        location: r.location,
        locationname: text(r.locationname),
        quantityavailable: text(r.quantityavailable),
        quantityonhand: text(r.quantityonhand),
        lmd_utc: iso(Date.parse(r.lastModifiedDate)),
      }));
    } else if (/ FROM customer /.test(q)) {
      dateCol = 'customer.lastmodifieddate';
      keys = ['customer.id'];
      rows = [...store('customer').values()].map((c) => ({
        _t: Date.parse(c.lastModifiedDate),
        'customer.id': Number(c.id),
        id: c.id,
        entityid: text(c.entityId ?? `${c.firstName ?? ''} ${c.lastName ?? ''}`.trim()),
        isperson: tf(c.isPerson !== false),
        firstname: text(c.firstName),
        lastname: text(c.lastName),
        companyname: text(c.companyName),
        email: text(c.email),
        phone: text(c.phone),
        isinactive: tf(c.isInactive),
        created_utc: c.createdDate,
        lmd_utc: c.lastModifiedDate,
      }));
    } else return undefined;
    const esc = dateCol.replace('.', '\\.');
    const since = new RegExp(`${esc} >= TO_TIMESTAMP_TZ\\('([^']+)'`).exec(q);
    const until = new RegExp(`${esc} < TO_TIMESTAMP_TZ\\('([^']+)'`).exec(q);
    const after = new RegExp(`\\(${esc} > TO_TIMESTAMP_TZ\\('([^']+)'`).exec(q);
    if (since) rows = rows.filter((r) => r._t >= parseTs(since[1]));
    if (until) rows = rows.filter((r) => r._t < parseTs(until[1]));
    const cmp = (a: Obj, b: Obj) => {
      if (a._t !== b._t) return a._t - b._t;
      for (const k of keys) if (a[k] !== b[k]) return a[k] - b[k];
      return 0;
    };
    if (after) {
      const t = parseTs(after[1]);
      const mark: Obj = { _t: t };
      for (const k of keys) {
        const m = new RegExp(`${k.replace('.', '\\.')} > '([^']*)'`).exec(q);
        mark[k] = Number(m?.[1]);
      }
      rows = rows.filter((r) => cmp(r, mark) > 0);
    }
    // Without a unique ORDER BY, rows come in no particular order (here: the reverse of the stored one).
    const ordered = new RegExp(`ORDER BY ${esc}, ${keys.map((k) => k.replace('.', '\\.')).join(', ')}$`).test(q);
    rows = ordered ? rows.sort(cmp) : rows.reverse();
    return rows.map((r) => {
      const out: Obj = { links: [] };
      for (const [k, v] of Object.entries(r)) if (!k.startsWith('_') && !k.includes('.') && v !== undefined) out[k] = v;
      return out;
    });
  }

  function suiteql(u: URL, req: http.IncomingMessage, body: string): { status: number; body: Obj } {
    if (
      !String(req.headers.prefer ?? '')
        .split(/[,;]/)
        .map((s) => s.trim())
        .includes('transient')
    )
      return problem(
        400,
        'Bad Request',
        'INVALID_HEADER',
        'The Prefer header must be "transient" for SuiteQL queries.',
      );
    const limit = Number(u.searchParams.get('limit') ?? pageCap);
    const offset = Number(u.searchParams.get('offset') ?? 0);
    if (!Number.isInteger(limit) || limit < 1 || limit > pageCap)
      return problem(400, 'Bad Request', 'INVALID_PARAMETER', `The limit must be between 1 and ${pageCap}.`);
    if (!Number.isInteger(offset) || offset < 0 || offset + limit > queryCap)
      return problem(
        400,
        'Bad Request',
        'INVALID_PARAMETER',
        `Offset and limit exceed the query's ${queryCap} results.`,
      );
    let q: string;
    try {
      q = String(JSON.parse(body).q ?? '');
    } catch {
      return problem(400, 'Bad Request', 'INVALID_CONTENT', 'The request body is not valid JSON.');
    }
    queries.push(q);
    const rows = rowsOf(q);
    if (!rows)
      return problem(
        400,
        'Bad Request',
        'INVALID_PARAMETER',
        'Invalid search query. Detailed unprocessed description follows.',
      );
    const all = rows.slice(0, queryCap);
    const items = all.slice(offset, offset + limit);
    const hasMore = offset + limit < all.length;
    const href = (off: number) => `${base}/services/rest/query/v1/suiteql?limit=${limit}&offset=${off}`;
    return {
      status: 200,
      body: {
        links: [{ rel: 'self', href: href(offset) }, ...(hasMore ? [{ rel: 'next', href: href(offset + limit) }] : [])],
        count: items.length,
        hasMore,
        items,
        offset,
        totalResults: all.length,
      },
    };
  }

  /** A record type's JSON Schema, its custom fields among the standard ones. */
  function metadata(type: string, req: http.IncomingMessage): { status: number; body?: Obj } {
    if (!TYPES.has(type)) return problem(404, 'Not Found', 'NONEXISTENT_ID', `The record type ${type} does not exist.`);
    if (!String(req.headers.accept ?? '').includes('application/schema+json'))
      return problem(
        400,
        'Bad Request',
        'INVALID_HEADER',
        'This fake describes records as application/schema+json only.',
      );
    const properties: Obj = {};
    for (const [f, d] of Object.entries(STANDARD)) properties[f] = { ...d, nullable: true };
    for (const [f, c] of custom.get(type) ?? [])
      properties[f] = { title: c.title, type: c.type, nullable: !c.mandatory, 'x-ns-custom-field': true };
    return {
      status: 200,
      body: { type: 'object', properties, $schema: 'https://json-schema.org/draft-06/hyper-schema#' },
    };
  }

  // ---- the server ---------------------------------------------------------------------------------------------

  async function route(
    req: http.IncomingMessage,
    body: string,
  ): Promise<{ status: number; body?: Obj; headers?: Obj }> {
    const u = new URL(req.url ?? '/', base);
    if (req.method === 'POST' && u.pathname === '/services/rest/auth/oauth2/v1/token') return token(body);
    if (!authorised(req)) return unauthorized();
    if (throttled > 0) {
      throttled--;
      stats.rejected++;
      return {
        ...problem(
          429,
          'Too Many Requests',
          'CONCURRENCY_LIMIT_EXCEEDED',
          'Concurrent request limit exceeded. Request blocked.',
        ),
        headers: throttleRetry !== undefined ? { 'retry-after': String(throttleRetry) } : {},
      };
    }
    if (req.method === 'POST' && u.pathname === '/services/rest/query/v1/suiteql') return suiteql(u, req, body);
    const meta = /^\/services\/rest\/record\/v1\/metadata-catalog\/(\w+)$/.exec(u.pathname);
    if (meta && req.method === 'GET') return metadata(meta[1], req);
    const m = /^\/services\/rest\/record\/v1\/(\w+)\/([^/]+)$/.exec(u.pathname);
    if (!m || !TYPES.has(m[1]))
      return problem(404, 'Not Found', 'NONEXISTENT_ID', `The record type or path ${u.pathname} does not exist.`);
    const [, type, idPart] = m;
    if (req.method === 'PUT' && idPart.startsWith('eid:')) {
      let json: Obj;
      try {
        json = JSON.parse(body);
      } catch {
        return problem(400, 'Bad Request', 'INVALID_CONTENT', 'The request body is not valid JSON.');
      }
      const replace = (u.searchParams.get('replace') ?? '').split(',').filter(Boolean);
      const r = upsert(type, decodeURIComponent(idPart.slice(4)), json, replace);
      if (r.status !== 204) return r;
      return { status: 204, headers: { location: `${base}/services/rest/record/v1/${type}/${r.id}` } };
    }
    if (req.method === 'GET') {
      const id = idPart.startsWith('eid:') ? byEid.get(`${type}\n${idPart.slice(4)}`) : idPart;
      const r = id === undefined ? undefined : store(type).get(id);
      if (!r) return problem(404, 'Not Found', 'NONEXISTENT_ID', `Record ${idPart} of type ${type} was not found.`);
      return { status: 200, body: shown(type, r, u.searchParams.get('expandSubResources') === 'true') };
    }
    return problem(405, 'Method Not Allowed', 'INVALID_REQUEST', `${req.method} is not supported here.`);
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      stats.requests++;
      stats.inFlight++;
      stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
      try {
        let out: { status: number; body?: Obj; headers?: Obj };
        if (stats.inFlight > accountLimit) {
          stats.rejected++;
          out = problem(
            429,
            'Too Many Requests',
            'CONCURRENCY_LIMIT_EXCEEDED',
            'Concurrent request limit exceeded. Request blocked.',
          );
        } else {
          if (o.latencyMs) await new Promise((r) => setTimeout(r, o.latencyMs));
          out = await route(req, Buffer.concat(chunks).toString('utf8'));
        }
        const headers: Obj = { ...(out.headers ?? {}) };
        if (out.body !== undefined)
          headers['content-type'] = 'application/vnd.oracle.resource+json; type=error; charset=UTF-8';
        if (out.status < 300 && out.body !== undefined) headers['content-type'] = 'application/json; charset=UTF-8';
        res.writeHead(out.status, headers).end(out.body === undefined ? undefined : JSON.stringify(out.body));
      } catch (e) {
        res
          .writeHead(500)
          .end(JSON.stringify(problem(500, 'Internal Server Error', 'UNEXPECTED_ERROR', String(e)).body));
      } finally {
        stats.inFlight--;
      }
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const stamp = (r: Obj) => ({
    createdDate: r.createdDate ?? r.lastModifiedDate ?? iso(now()),
    lastModifiedDate: r.lastModifiedDate ?? iso(now()),
  });

  return {
    url: base,
    accountId,
    tba,
    m2m,
    records,
    creates,
    updates,
    stats,
    queries,
    seedItems(items) {
      return items.map((i) => {
        const id = String(i.id ?? nextId++);
        store('inventoryItem').set(id, {
          itemType: { id: 'InvtPart', refName: 'Inventory Item' },
          ...i,
          id,
          ...stamp(i),
        });
        return id;
      });
    },
    seedInventory(rows) {
      inventory.push(...rows.map((r) => ({ ...r })));
    },
    seedCustomers(customers) {
      return customers.map((c) => {
        const id = String(c.id ?? nextId++);
        store('customer').set(id, { isPerson: true, ...c, id, ...stamp(c) });
        return id;
      });
    },
    seedAccounts(list) {
      return list.map((a) => {
        const id = String(nextId++);
        accounts.set(a.acctnumber, id);
        return id;
      });
    },
    tamper(type, id, patch) {
      const r = store(type).get(id);
      if (!r) throw new Error(`no ${type} ${id}`);
      Object.assign(r, structuredClone(patch), { lastModifiedDate: iso(now()) });
    },
    remove(type, id) {
      store(type).delete(id);
    },
    customField(type, id, field) {
      let fields = custom.get(type);
      if (!fields) custom.set(type, (fields = new Map()));
      if (field) fields.set(id, { title: field.title, type: field.type ?? 'string', mandatory: !!field.mandatory });
      else fields.delete(id);
    },
    throttle(n, retryAfterS) {
      throttled = n;
      throttleRetry = retryAfterS;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/**
 * A connection's settings for a fake (in this process or another: its url, account and TBA credentials), with the
 * credentials put in environment variables `<prefix>_CONSUMER_KEY`… and referenced from there, as a workspace does.
 */
export function fakeSettings(
  f: Pick<FakeNetSuite, 'url' | 'accountId' | 'tba'>,
  prefix: string,
): Record<string, unknown> {
  const settings: Record<string, unknown> = { accountId: f.accountId, baseUrl: f.url };
  for (const [k, v] of Object.entries(f.tba)) {
    const name = `${prefix}_${k.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase()}`;
    process.env[name] = v;
    settings[k] = { secretRef: `env:${name}` };
  }
  return settings;
}
