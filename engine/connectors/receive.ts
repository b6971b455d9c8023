/**
 * What every webhook receiver shares (each sender's own scheme is its folder's receive.ts): proving that a delivery
 * comes from its sender, then naming it (delivery id, topic) and taking out its records.
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
import { parseJsonLossless } from '../util/json.js';
import { isObject } from '../util/merge.js';
import {
  ConnectorError,
  type ConnectorContext,
  type Delivery,
  type Received,
  type SignatureAlgorithm,
  type SignatureEncoding,
  type SignatureScheme,
  type SignOptions,
} from './types.js';

/**
 * A generic sender's delivery (the webhook connector's, and the sandbox's): the scheme's digest of the raw body;
 * the delivery id from X-Delivery-Id or X-Request-Id, else the body's hash; the topic from X-Topic.
 */
export function receiveGeneric(
  connector: string,
  d: Delivery,
  scheme: Required<SignatureScheme>,
  secret: string,
): Received {
  verifyDigest(connector, d, scheme, secret, [d.body]);
  const payload = parseBody(connector, d.body);
  // A generic sender may batch: a JSON array is one record per element.
  const records = Array.isArray(payload) ? payload : [payload];
  if (!records.every(isObject))
    throw new ConnectorError(
      `${connector} webhook: the body is not a JSON object or an array of objects`,
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

/** The headers a generic sender sends: the scheme's digest of the body, a delivery id and the topic. */
export function signGeneric(
  scheme: Required<SignatureScheme>,
  secret: string,
  body: Buffer,
  opts: SignOptions,
): Record<string, string> {
  return {
    'content-type': 'application/json',
    [scheme.header.toLowerCase()]: digest(scheme, secret, [body]),
    'x-delivery-id': opts.deliveryId ?? randomUUID(),
    ...topicHeader('x-topic', opts),
  };
}

/** The topic header `name`, when the delivery being signed names a topic. */
export const topicHeader = (name: string, opts: SignOptions): Record<string, string> =>
  opts.topic === undefined ? {} : { [name]: opts.topic };

/**
 * The signing secret `ref` (the value of `settings.<setting>`), resolved at each delivery rather than when the
 * connection opens, so that a secret set or rotated later is picked up by the next delivery.
 */
export function signingSecret(
  connector: string,
  ctx: ConnectorContext,
  setting: string,
  ref: unknown,
  fallback?: string,
): string {
  if (ref === undefined || ref === null || ref === '') {
    if (fallback !== undefined) return fallback;
    throw notConfigured(
      connector,
      `settings.${setting} is not set, so deliveries cannot be verified: add the signing secret as { secretRef: "env:NAME" }`,
    );
  }
  let value: unknown;
  try {
    value = ctx.secret(ref);
  } catch (e) {
    // The resolver's own errors name the reference (env:NAME), never its value; anything else is not repeated.
    throw notConfigured(
      connector,
      `settings.${setting}: ${e instanceof ConnectorError ? e.message : 'the secret reference cannot be resolved'}`,
    );
  }
  // An empty key would make every signature computable by anyone who knows the scheme.
  if (typeof value !== 'string' || value === '')
    throw notConfigured(connector, `settings.${setting} resolves to an empty secret`);
  return value;
}

export function notConfigured(connector: string, why: string): ConnectorError {
  return new ConnectorError(`${connector} webhook: ${why}`, false, undefined, 500);
}

export function refused(connector: string, why: string): ConnectorError {
  return new ConnectorError(`${connector} webhook: ${why}`, false, undefined, 401);
}

/** A header's value; a repeated header counts by its first value. */
export function header(d: Delivery, name: string): string | undefined {
  const v = d.headers[name.toLowerCase()];
  const first = Array.isArray(v) ? v[0] : v;
  return first === undefined || first === '' ? undefined : first;
}

export function hmac(algorithm: SignatureAlgorithm, secret: string, parts: (string | Buffer)[]): Buffer {
  // The parts are fed as they are, never joined into one string: the body's bytes must stay exactly as received.
  const h = createHmac(algorithm === 'hmac-sha1' ? 'sha1' : 'sha256', secret);
  for (const p of parts) h.update(p);
  return h.digest();
}

export function digest(scheme: Required<SignatureScheme>, secret: string, parts: (string | Buffer)[]): string {
  return hmac(scheme.algorithm, secret, parts).toString(scheme.encoding);
}

/** The digest bytes a header value encodes, or undefined when it is not a well-formed encoding. */
export function decodeDigest(value: string, encoding: SignatureEncoding): Buffer | undefined {
  if (encoding === 'hex') return /^(?:[0-9a-fA-F]{2})+$/.test(value) ? Buffer.from(value, 'hex') : undefined;
  // Node's base64 decoder skips characters it does not know; checking the alphabet first keeps it strict.
  return /^[A-Za-z0-9+/]+={0,2}$/.test(value) ? Buffer.from(value, 'base64') : undefined;
}

/** Constant-time equality; the length check first is what timingSafeEqual requires, and a length is no secret. */
export function sameDigest(expected: Buffer, given: Buffer): boolean {
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Throws unless the scheme's header holds the HMAC of `parts` under `secret`. */
export function verifyDigest(
  connector: string,
  d: Delivery,
  scheme: Required<SignatureScheme>,
  secret: string,
  parts: (string | Buffer)[],
  hint = '',
): void {
  let value = header(d, scheme.header);
  if (value === undefined) throw refused(connector, `the ${scheme.header} header is missing`);
  const algo = scheme.algorithm === 'hmac-sha1' ? 'HMAC-SHA1' : 'HMAC-SHA256';
  // GitHub-style senders prefix the digest with its algorithm (sha256=…); the prefix carries nothing to verify.
  value = value.trim().replace(scheme.algorithm === 'hmac-sha1' ? /^sha1=/i : /^sha256=/i, '');
  const given = decodeDigest(value, scheme.encoding);
  if (!given) throw refused(connector, `the ${scheme.header} header is not a ${scheme.encoding} ${algo} digest`);
  if (!sameDigest(hmac(scheme.algorithm, secret, parts), given)) {
    throw refused(
      connector,
      `the ${scheme.header} signature does not match the body: the signing secret differs, or the body was altered${hint}`,
    );
  }
}

function parseBody(connector: string, body: Buffer): unknown {
  try {
    return parseJsonLossless(body.toString('utf8'));
  } catch {
    throw new ConnectorError(`${connector} webhook: the body is not JSON`, false, undefined, 400);
  }
}

export function payloadObject(connector: string, body: Buffer): Record<string, unknown> {
  const payload = parseBody(connector, body);
  if (!isObject(payload))
    throw new ConnectorError(`${connector} webhook: the body is not a JSON object`, false, undefined, 400);
  return payload;
}

export function requiredString(connector: string, event: Record<string, unknown>, field: string): string {
  const v = event[field];
  if (typeof v !== 'string' || v === '')
    throw new ConnectorError(`${connector} webhook: the event has no ${field}`, false, undefined, 400);
  return v;
}

export function optionalString(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** A delivery id for senders that name none: the same body is the same delivery. */
export function bodyId(body: Buffer): string {
  return `sha256:${createHash('sha256').update(body).digest('hex')}`;
}

/** A UUID (v4 layout) derived from `seed`: an event id that is the same each time one delivery is simulated. */
export function stableUuid(seed: string): string {
  const h = createHash('sha256').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${((Number.parseInt(h[16], 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
