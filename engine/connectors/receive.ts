/**
 * Webhook receivers: prove that a delivery comes from its sender, then name it (delivery id, topic) and take out
 * its records. One receiver per scheme:
 *
 * | type        | signature header                | signed bytes               | digest                 | delivery id                                   |
 * |-------------|---------------------------------|----------------------------|------------------------|-----------------------------------------------|
 * | shopify     | X-Shopify-Hmac-Sha256           | raw body                   | base64 HMAC-SHA256     | X-Shopify-Webhook-Id, else X-Shopify-Event-Id |
 * | woocommerce | X-WC-Webhook-Signature          | raw body                   | base64 HMAC-SHA256     | X-WC-Webhook-Delivery-ID                      |
 * | square      | x-square-hmacsha256-signature   | notification URL + body    | base64 HMAC-SHA256     | body.event_id                                 |
 * | stripe      | Stripe-Signature (t=…,v1=…)     | `${t}.` + body             | hex HMAC-SHA256        | body.id (the event id)                        |
 * | webhook     | settings.signature.header       | raw body                   | settings (sha256/sha1, hex/base64) | X-Delivery-Id, X-Request-Id, else sha256 of the body |
 * | sandbox     | X-Rsync-Signature               | raw body                   | hex HMAC-SHA256        | as webhook                                    |
 *
 * Signatures are always checked over the raw bytes, before the body is parsed: re-serialised JSON never matches,
 * and an unauthenticated body is not worth parsing. Digests are compared as bytes with `timingSafeEqual`, so the
 * time a refusal takes says nothing about how much of a forged signature was right.
 *
 * Refusals are permanent `ConnectorError`s carrying the HTTP status the endpoint should answer: 401 for a missing
 * or wrong signature (the message names the header, never the secret or the digest we expected), 400 for an
 * authentic body we cannot use, 500 for our own configuration (no signing secret): the sender then retries, and
 * its retries succeed once the secret is set.
 */
import { createHash, createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { isObject } from '../util/merge.js';
import { ConnectorError, type ConnectorContext, type Delivery, type ReceiveConnector, type Received } from './types.js';

/** The sandbox's signing secret when its connection names none: public on purpose, the sandbox guards nothing. */
export const SANDBOX_WEBHOOK_SECRET = 'rsync-sandbox';

/** How far a Stripe signature's timestamp may be from now: Stripe's libraries default to 5 minutes. */
export const STRIPE_TOLERANCE_SECONDS = 300;

export type SignatureAlgorithm = 'hmac-sha256' | 'hmac-sha1';
export type SignatureEncoding = 'hex' | 'base64';

/** A generic webhook connection's `settings.signature`, without the secret. */
export interface SignatureScheme {
  header?: string;
  algorithm?: SignatureAlgorithm;
  encoding?: SignatureEncoding;
}

export interface ReceiverOptions {
  /**
   * Where this server is reached from the internet (`https://hooks.example.com`, or with the path prefix a proxy
   * strips). Square signs the notification URL, so its receiver needs the URL as Square knows it; see `squareUrl`.
   */
  publicUrl?: string;
  /** The clock in milliseconds (tests replace it to check the Stripe tolerance). */
  now?: () => number;
}

export interface SignOptions {
  /** Stripe: the signing time in seconds since the epoch (default now); an old one makes a replayed delivery. */
  timestamp?: number;
  /** Square: the notification URL of the subscription (required: Square signs it with the body). */
  notificationUrl?: string;
  /** Shopify, WooCommerce, webhook, sandbox: the delivery id header (default a random UUID, as each sender does). */
  deliveryId?: string;
  /** Shopify, WooCommerce, webhook, sandbox: the topic header. */
  topic?: string;
  /** webhook: the connection's `settings.signature` (header, algorithm, encoding); the secret is the argument. */
  signature?: SignatureScheme;
}

const GENERIC_DEFAULTS: Required<SignatureScheme> = {
  header: 'X-Signature',
  algorithm: 'hmac-sha256',
  encoding: 'hex',
};
const SANDBOX_SCHEME: Required<SignatureScheme> = {
  header: 'X-Rsync-Signature',
  algorithm: 'hmac-sha256',
  encoding: 'hex',
};
const SHOPIFY_SCHEME: Required<SignatureScheme> = {
  header: 'X-Shopify-Hmac-Sha256',
  algorithm: 'hmac-sha256',
  encoding: 'base64',
};
const WOO_SCHEME: Required<SignatureScheme> = {
  header: 'X-WC-Webhook-Signature',
  algorithm: 'hmac-sha256',
  encoding: 'base64',
};
const SQUARE_SCHEME: Required<SignatureScheme> = {
  header: 'x-square-hmacsha256-signature',
  algorithm: 'hmac-sha256',
  encoding: 'base64',
};
const STRIPE_HEADER = 'Stripe-Signature';

/** The receiver of a connector type, or undefined when the type receives no webhooks. */
export function receiverFor(
  type: string,
  ctx: ConnectorContext,
  opts: ReceiverOptions = {},
): ReceiveConnector | undefined {
  const now = opts.now ?? Date.now;
  switch (type) {
    case 'shopify':
      return {
        receive(d) {
          const secret = signingSecret(type, ctx, 'webhookSecret', ctx.settings.webhookSecret);
          verifyDigest(type, d, SHOPIFY_SCHEME, secret, [d.body]);
          return {
            // The webhook id names one delivery and is kept across its retries; the event id names the event, the
            // same in the delivery of every subscription to it. Dedupe is per delivery, so the event id only stands in.
            deliveryId: header(d, 'x-shopify-webhook-id') ?? header(d, 'x-shopify-event-id') ?? bodyId(d.body),
            topic: header(d, 'x-shopify-topic'),
            records: [payloadObject(type, d.body)],
          };
        },
      };
    case 'woocommerce':
      return {
        receive(d) {
          // WooCommerce pings a new webhook's URL once, unsigned, with the form body `webhook_id=<n>`, and only keeps
          // the webhook if the answer is 200. The ping carries no record, and one constant id makes every ping
          // (genuine or not) the same delivery, so an unsigned caller can neither inject data nor fill the table.
          if (
            header(d, WOO_SCHEME.header) === undefined &&
            d.body.length <= 64 &&
            /^webhook_id=\d+$/.test(d.body.toString('latin1'))
          ) {
            return { deliveryId: 'woocommerce-ping', topic: 'ping', records: [] };
          }
          const secret = signingSecret(type, ctx, 'webhookSecret', ctx.settings.webhookSecret);
          verifyDigest(type, d, WOO_SCHEME, secret, [d.body]);
          return {
            deliveryId: header(d, 'x-wc-webhook-delivery-id') ?? bodyId(d.body),
            topic: header(d, 'x-wc-webhook-topic'),
            records: [payloadObject(type, d.body)],
          };
        },
      };
    case 'square':
      return {
        receive(d) {
          const secret = signingSecret(type, ctx, 'webhookSignatureKey', ctx.settings.webhookSignatureKey);
          const url = squareUrl(ctx, d, opts.publicUrl);
          verifyDigest(type, d, SQUARE_SCHEME, secret, [url, d.body], ` (the signed URL was ${url})`);
          const event = payloadObject(type, d.body);
          return {
            deliveryId: requiredString(type, event, 'event_id'),
            topic: optionalString(event.type),
            records: squareRecords(event),
          };
        },
      };
    case 'stripe':
      return {
        receive(d) {
          const secret = signingSecret(type, ctx, 'webhookSecret', ctx.settings.webhookSecret);
          verifyStripe(d, secret, now());
          const event = payloadObject(type, d.body);
          const data = event.data;
          // Snapshot events carry the object; "thin" events (event destinations) carry only its id, which this
          // receiver cannot sync from: refuse them loudly rather than accept a delivery with nothing in it.
          if (!isObject(data) || !isObject(data.object)) {
            throw new ConnectorError(
              'stripe webhook: the event has no data.object (thin events are not supported: send snapshot events)',
              false,
              undefined,
              400,
            );
          }
          return {
            deliveryId: requiredString(type, event, 'id'),
            topic: optionalString(event.type),
            records: [data.object],
          };
        },
      };
    case 'webhook':
      return {
        receive(d) {
          const sig = ctx.settings.signature;
          // No opt-out: an unsigned endpoint would let anyone on the internet feed records into the flows.
          if (!isObject(sig))
            throw notConfigured(
              type,
              'settings.signature is not set: name the header, algorithm, encoding and secret the sender signs with',
            );
          const scheme = genericScheme(sig);
          const secret = signingSecret(type, ctx, 'signature.secret', sig.secret);
          return receiveGeneric(type, d, scheme, secret);
        },
      };
    case 'sandbox':
      return {
        receive(d) {
          const secret = signingSecret(type, ctx, 'webhookSecret', ctx.settings.webhookSecret, SANDBOX_WEBHOOK_SECRET);
          return receiveGeneric(type, d, SANDBOX_SCHEME, secret);
        },
      };
    default:
      return undefined;
  }
}

/**
 * The headers a sender of `type` sends with `body`, signed with `secret` — for tests, benchmarks and the sandbox's
 * event generator. Header names are lower case, as `Delivery.headers` has them (HTTP ignores their case).
 */
export function signFor(type: string, secret: string, body: Buffer, opts: SignOptions = {}): Record<string, string> {
  const json = { 'content-type': 'application/json' };
  const id = opts.deliveryId ?? randomUUID();
  const topic = (name: string): Record<string, string> => (opts.topic === undefined ? {} : { [name]: opts.topic });
  switch (type) {
    case 'shopify':
      return {
        ...json,
        'x-shopify-hmac-sha256': digest(SHOPIFY_SCHEME, secret, [body]),
        'x-shopify-webhook-id': id,
        ...topic('x-shopify-topic'),
      };
    case 'woocommerce':
      return {
        ...json,
        'x-wc-webhook-signature': digest(WOO_SCHEME, secret, [body]),
        'x-wc-webhook-delivery-id': id,
        ...topic('x-wc-webhook-topic'),
      };
    case 'square':
      if (!opts.notificationUrl)
        throw new TypeError('signFor square: opts.notificationUrl is required (Square signs the URL with the body)');
      return { ...json, 'x-square-hmacsha256-signature': digest(SQUARE_SCHEME, secret, [opts.notificationUrl, body]) };
    case 'stripe': {
      const t = String(Math.floor(opts.timestamp ?? Date.now() / 1000));
      const v1 = hmac('hmac-sha256', secret, [`${t}.`, body]).toString('hex');
      return { ...json, 'stripe-signature': `t=${t},v1=${v1}` };
    }
    case 'webhook':
    case 'sandbox': {
      const scheme = type === 'sandbox' ? SANDBOX_SCHEME : { ...GENERIC_DEFAULTS, ...opts.signature };
      return {
        ...json,
        [scheme.header.toLowerCase()]: digest(scheme, secret, [body]),
        'x-delivery-id': id,
        ...topic('x-topic'),
      };
    }
    default:
      throw new TypeError(`signFor: connector type ${type} receives no webhooks`);
  }
}

/**
 * JSON.parse, except that integers too large for a double are kept as strings: Shopify's 64-bit ids
 * (820982911946154508) would otherwise turn silently into other ids (820982911946154500). Only number tokens
 * outside strings with an unsafe integer value are quoted; everything else parses as JSON.parse would.
 */
export function parseJsonLossless(text: string): unknown {
  // The smallest unsafe integer has 16 digits: without such a run of digits there is nothing to protect.
  if (!/\d{16}/.test(text)) return JSON.parse(text);
  const number = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
  let out = '';
  let copied = 0;
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // A string: skip to its closing quote; a backslash escapes the character after it.
      i++;
      while (i < text.length && text.charCodeAt(i) !== 0x22) i += text.charCodeAt(i) === 0x5c ? 2 : 1;
      i++;
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      number.lastIndex = i;
      const token = number.exec(text)?.[0];
      if (!token) {
        i++;
        continue;
      }
      if (/^-?\d+$/.test(token) && !Number.isSafeInteger(Number(token))) {
        out += `${text.slice(copied, i)}"${token}"`;
        copied = i + token.length;
      }
      i += token.length;
    } else i++;
  }
  return JSON.parse(out + text.slice(copied));
}

// ---------------------------------------------------------------------------------------------------------------

function receiveGeneric(type: string, d: Delivery, scheme: Required<SignatureScheme>, secret: string): Received {
  verifyDigest(type, d, scheme, secret, [d.body]);
  const payload = parseBody(type, d.body);
  // A generic sender may batch: a JSON array is one record per element.
  const records = Array.isArray(payload) ? payload : [payload];
  if (!records.every(isObject))
    throw new ConnectorError(
      `${type} webhook: the body is not a JSON object or an array of objects`,
      false,
      undefined,
      400,
    );
  return {
    deliveryId: header(d, 'x-delivery-id') ?? header(d, 'x-request-id') ?? bodyId(d.body),
    topic: header(d, 'x-topic'),
    records,
  };
}

/** The connection's signature settings with the catalogue's defaults filled in. */
function genericScheme(sig: Record<string, unknown>): Required<SignatureScheme> {
  const header = sig.header ?? GENERIC_DEFAULTS.header;
  const algorithm = sig.algorithm ?? GENERIC_DEFAULTS.algorithm;
  const encoding = sig.encoding ?? GENERIC_DEFAULTS.encoding;
  // Validation checks these against the catalogue; a connection opened without it must still not guess.
  if (typeof header !== 'string' || header === '')
    throw notConfigured('webhook', 'settings.signature.header is not a header name');
  if (algorithm !== 'hmac-sha256' && algorithm !== 'hmac-sha1')
    throw notConfigured('webhook', 'settings.signature.algorithm is not hmac-sha256 or hmac-sha1');
  if (encoding !== 'hex' && encoding !== 'base64')
    throw notConfigured('webhook', 'settings.signature.encoding is not hex or base64');
  return { header, algorithm, encoding };
}

/**
 * The signing secret `ref` (the value of `settings.<setting>`), resolved at each delivery rather than when the
 * connection opens, so that a secret set or rotated later is picked up by the next delivery.
 */
function signingSecret(type: string, ctx: ConnectorContext, setting: string, ref: unknown, fallback?: string): string {
  if (ref === undefined || ref === null || ref === '') {
    if (fallback !== undefined) return fallback;
    throw notConfigured(
      type,
      `settings.${setting} is not set, so deliveries cannot be verified: add the signing secret as { secretRef: "env:NAME" }`,
    );
  }
  let value: unknown;
  try {
    value = ctx.secret(ref);
  } catch (e) {
    // The resolver's own errors name the reference (env:NAME), never its value; anything else is not repeated.
    throw notConfigured(
      type,
      `settings.${setting}: ${e instanceof ConnectorError ? e.message : 'the secret reference cannot be resolved'}`,
    );
  }
  // An empty key would make every signature computable by anyone who knows the scheme.
  if (typeof value !== 'string' || value === '')
    throw notConfigured(type, `settings.${setting} resolves to an empty secret`);
  return value;
}

function notConfigured(type: string, why: string): ConnectorError {
  return new ConnectorError(`${type} webhook: ${why}`, false, undefined, 500);
}

function refused(type: string, why: string): ConnectorError {
  return new ConnectorError(`${type} webhook: ${why}`, false, undefined, 401);
}

/** A header's value; a repeated header counts by its first value. */
function header(d: Delivery, name: string): string | undefined {
  const v = d.headers[name.toLowerCase()];
  const first = Array.isArray(v) ? v[0] : v;
  return first === undefined || first === '' ? undefined : first;
}

function hmac(algorithm: SignatureAlgorithm, secret: string, parts: (string | Buffer)[]): Buffer {
  // The parts are fed as they are, never joined into one string: the body's bytes must stay exactly as received.
  const h = createHmac(algorithm === 'hmac-sha1' ? 'sha1' : 'sha256', secret);
  for (const p of parts) h.update(p);
  return h.digest();
}

function digest(scheme: Required<SignatureScheme>, secret: string, parts: (string | Buffer)[]): string {
  return hmac(scheme.algorithm, secret, parts).toString(scheme.encoding);
}

/** The digest bytes a header value encodes, or undefined when it is not a well-formed encoding. */
function decodeDigest(value: string, encoding: SignatureEncoding): Buffer | undefined {
  if (encoding === 'hex') return /^(?:[0-9a-fA-F]{2})+$/.test(value) ? Buffer.from(value, 'hex') : undefined;
  // Node's base64 decoder skips characters it does not know; checking the alphabet first keeps it strict.
  return /^[A-Za-z0-9+/]+={0,2}$/.test(value) ? Buffer.from(value, 'base64') : undefined;
}

/** Constant-time equality; the length check first is what timingSafeEqual requires, and a length is no secret. */
function sameDigest(expected: Buffer, given: Buffer): boolean {
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Throws unless the scheme's header holds the HMAC of `parts` under `secret`. */
function verifyDigest(
  type: string,
  d: Delivery,
  scheme: Required<SignatureScheme>,
  secret: string,
  parts: (string | Buffer)[],
  hint = '',
): void {
  let value = header(d, scheme.header);
  if (value === undefined) throw refused(type, `the ${scheme.header} header is missing`);
  const algo = scheme.algorithm === 'hmac-sha1' ? 'HMAC-SHA1' : 'HMAC-SHA256';
  // GitHub-style senders prefix the digest with its algorithm (sha256=…); the prefix carries nothing to verify.
  value = value.trim().replace(scheme.algorithm === 'hmac-sha1' ? /^sha1=/i : /^sha256=/i, '');
  const given = decodeDigest(value, scheme.encoding);
  if (!given) throw refused(type, `the ${scheme.header} header is not a ${scheme.encoding} ${algo} digest`);
  if (!sameDigest(hmac(scheme.algorithm, secret, parts), given)) {
    throw refused(
      type,
      `the ${scheme.header} signature does not match the body: the signing secret differs, or the body was altered${hint}`,
    );
  }
}

/**
 * Stripe: `Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>…]` over `${t}.${body}`. Several v1 values are
 * sent while a secret is being rolled; one match is enough. The timestamp is signed, so checking its age stops
 * a captured delivery from being replayed later; it is checked after the signature, as Stripe's libraries do.
 */
function verifyStripe(d: Delivery, secret: string, nowMs: number): void {
  const value = header(d, STRIPE_HEADER);
  if (value === undefined) throw refused('stripe', `the ${STRIPE_HEADER} header is missing`);
  let t: string | undefined;
  const v1: Buffer[] = [];
  for (const part of value.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const key = part.slice(0, eq).trim();
    const val = part.slice(eq + 1).trim();
    if (key === 't') t = val;
    else if (key === 'v1') {
      const bytes = decodeDigest(val, 'hex');
      if (bytes) v1.push(bytes);
    }
  }
  if (t === undefined || !/^\d+$/.test(t) || v1.length === 0)
    throw refused('stripe', `the ${STRIPE_HEADER} header has no t= timestamp or no v1= signature`);
  const expected = hmac('hmac-sha256', secret, [`${t}.`, d.body]);
  if (!v1.some((given) => sameDigest(expected, given))) {
    throw refused(
      'stripe',
      `the ${STRIPE_HEADER} signature does not match the body: the signing secret differs, or the body was altered`,
    );
  }
  // Both ways: a timestamp far in the future is as suspect as an old one (or this server's clock is wrong).
  const age = Math.floor(nowMs / 1000) - Number(t);
  if (Math.abs(age) > STRIPE_TOLERANCE_SECONDS) {
    throw refused(
      'stripe',
      `the ${STRIPE_HEADER} timestamp is ${Math.abs(age)} s ${age > 0 ? 'old' : 'in the future'}, beyond the ${STRIPE_TOLERANCE_SECONDS} s tolerance (a replayed delivery, or a clock is wrong)`,
    );
  }
}

/**
 * The notification URL Square signed: exactly the URL of the webhook subscription. The catalogue has no setting
 * for it yet, so it is, in order: `settings.notificationUrl` when a connection has one (the exact URL, query
 * included); else the public base URL (`opts.publicUrl`, else the RSYNC_PUBLIC_URL environment variable) followed
 * by the path and query as received; else the URL the request itself names (X-Forwarded-Proto / X-Forwarded-Host
 * or Host, https by default since Square only delivers to https). Trusting the Host header is safe here: the URL
 * only has to equal what Square signed, and nobody without the signature key can sign another one. A wrong URL
 * shows in the refusal's message.
 */
function squareUrl(ctx: ConnectorContext, d: Delivery, publicUrl: string | undefined): string {
  const configured = ctx.settings.notificationUrl;
  if (typeof configured === 'string' && configured !== '') return configured;
  const base = publicUrl ?? process.env.RSYNC_PUBLIC_URL;
  if (base) return base.replace(/\/+$/, '') + d.url;
  const host = header(d, 'x-forwarded-host') ?? header(d, 'host');
  if (!host)
    throw notConfigured(
      'square',
      'the notification URL is unknown: set RSYNC_PUBLIC_URL to the public base URL of this server',
    );
  const proto = header(d, 'x-forwarded-proto')?.split(',')[0].trim() ?? 'https';
  return `${proto}://${host.split(',')[0].trim()}${d.url}`;
}

/**
 * A Square event's records. `data.object` wraps the record under its type (`{ refund: {…} }`, `{ payment: {…} }`,
 * `{ order_updated: {…} }`), or a list (`{ inventory_counts: [...] }`): the single inner value is the record, or
 * the list's items are. Anything else is taken whole. Events without an object (webhooks.test_notification) carry
 * no record, and are accepted so that the dashboard's test button succeeds.
 */
function squareRecords(event: Record<string, unknown>): unknown[] {
  const data = event.data;
  if (!isObject(data) || !isObject(data.object)) return [];
  const keys = Object.keys(data.object);
  if (keys.length === 1) {
    const inner = data.object[keys[0]];
    if (Array.isArray(inner)) return inner;
    if (isObject(inner)) return [inner];
  }
  return [data.object];
}

function parseBody(type: string, body: Buffer): unknown {
  try {
    return parseJsonLossless(body.toString('utf8'));
  } catch {
    throw new ConnectorError(`${type} webhook: the body is not JSON`, false, undefined, 400);
  }
}

function payloadObject(type: string, body: Buffer): Record<string, unknown> {
  const payload = parseBody(type, body);
  if (!isObject(payload))
    throw new ConnectorError(`${type} webhook: the body is not a JSON object`, false, undefined, 400);
  return payload;
}

function requiredString(type: string, event: Record<string, unknown>, field: string): string {
  const v = event[field];
  if (typeof v !== 'string' || v === '')
    throw new ConnectorError(`${type} webhook: the event has no ${field}`, false, undefined, 400);
  return v;
}

function optionalString(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** A delivery id for senders that name none: the same body is the same delivery. */
function bodyId(body: Buffer): string {
  return `sha256:${createHash('sha256').update(body).digest('hex')}`;
}
